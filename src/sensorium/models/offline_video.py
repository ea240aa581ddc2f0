"""``offline-video-v1``: a video's shots, sounds and speech, each through the model made for it.

Nothing here is a new model: a video is split by :mod:`sensorium.media.video` into shots, a
picture from each shot (one per :data:`PIECE_S` of a long shot) goes through the library's
image encoder, and the sound track goes through its sound encoder unchanged (sound-event
windows and transcribed utterances). All records carry modality ``video``; their segment index
says which track made them (:func:`sensorium.types.track_of`): pictures count from 0, speech
from :data:`~sensorium.types.SPEECH_INDEX_BASE`, sound windows from
:data:`~sensorium.types.SOUND_INDEX_BASE`. A picture record's segment carries the picture, so the
indexer can keep a thumbnail of it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from sensorium.config import Settings
from sensorium.errors import MediaError
from sensorium.media.video import Sample, SampleSpec, Shot, VideoReader, inside_bars, shots
from sensorium.models.base import Encoded, Encoder, EncoderInfo
from sensorium.types import SOUND_INDEX_BASE, SPEECH_INDEX_BASE, Segment

log = logging.getLogger(__name__)

ENCODER_ID = "offline-video-v1"
RECIPE_VERSION = "2"  # bump when sampling, cut detection or the record layout changes
PIECE_S = 6.0  # a shot gets one picture record per this many seconds; shots over 4x this are split in 2x parts
CUT_THRESHOLD = 0.3  # sample distance (0..1) that sends the reader looking for a cut
PICTURE_BATCH = 16  # pictures per image-encoder call

Emit = Callable[[list[Segment], Encoded], None]


@dataclass
class VideoSummary:
    """What encoding one video produced."""

    duration_s: float = 0.0
    shots: int = 0
    pictures: int = 0
    windows: int = 0
    utterances: int = 0
    decoded_frames: int = 0
    sound_error: str = ""  # why the sound track was left out, if it was
    truncated: bool = False

    @property
    def note(self) -> str:
        return f"sound track not indexed: {self.sound_error}" if self.sound_error else ""


class OfflineVideoEncoder:
    """Videos → picture records per shot plus the sound encoder's records of the sound track.

    Args:
        settings: ``video_max_gap_s``, ``max_audio_seconds``.
        image_encoder: encodes the pictures (its ``max_side`` sizes them).
        audio_encoder: encodes the sound track, or ``None`` to leave sound out.
    """

    def __init__(self, settings: Settings, image_encoder: Encoder, audio_encoder: Encoder | None) -> None:
        self.settings = settings
        self.image_encoder = image_encoder
        self.audio_encoder = audio_encoder
        self.spec = SampleSpec(
            max_side=getattr(image_encoder, "max_side", 512),
            max_gap_s=settings.video_max_gap_s,
        )
        img = image_encoder.info
        parts = [f"{ENCODER_ID}/{RECIPE_VERSION}", img.version_key, repr(self.spec), str(PIECE_S), str(CUT_THRESHOLD)]
        parts.append(settings.video_pictures)
        parts.append(audio_encoder.info.version_key if audio_encoder is not None else "no-sound")
        self.info = EncoderInfo(
            id=ENCODER_ID,
            space=img.space,
            dim=img.dim,
            modalities=frozenset({"video"}),
            weights_sha256=hashlib.sha256("\n".join(parts).encode()).hexdigest(),
            perceptual_dim=img.perceptual_dim,
            licence="pictures: "
            + img.licence
            + ("; sound: " + audio_encoder.info.licence if audio_encoder is not None else ""),
        )

    def encode_file(self, path: Path, emit: Emit, *, max_seconds: float | None = None) -> VideoSummary:
        """Encode one video, handing records to ``emit`` shot by shot (bounded memory).

        Raises:
            MediaError: no video track, an unreadable or corrupt file, no decodable frame.
        """
        source = str(path)
        summary = VideoSummary()
        limit = max_seconds if max_seconds is not None else self.settings.max_audio_seconds
        batch: list[tuple[float, float, Sample]] = []
        lock = threading.Lock()

        def emit_one(segs: list[Segment], encoded: Encoded) -> None:
            with lock:  # the sound track is encoded beside the pictures; the store takes one batch at a time
                emit(segs, encoded)

        sound: threading.Thread | None = None
        failure: list[BaseException] = []
        with VideoReader(path, self.spec) as reader:
            summary.duration_s = reader.info.duration_s
            if reader.info.has_audio and self.audio_encoder is not None and self.settings.video_sound_beside:
                sound = threading.Thread(
                    target=self._sound_thread, args=(path, source, summary, emit_one, failure), daemon=True
                )
                sound.start()
            try:
                for picture in self._sampled(reader, summary, limit):
                    batch.append(picture)
                    if len(batch) >= PICTURE_BATCH:
                        self._emit_pictures(source, batch, summary, emit_one)
                        batch = []
                if batch:
                    self._emit_pictures(source, batch, summary, emit_one)
            finally:
                if sound is not None:
                    sound.join()
            if not summary.truncated:  # a file cut short ends where its pictures do, not where its header says
                summary.duration_s = min(summary.duration_s, reader.end_s()) if summary.duration_s else reader.end_s()
            summary.decoded_frames = reader.decoded_frames
            has_audio = reader.info.has_audio
        if failure:
            raise failure[0]
        if has_audio and self.audio_encoder is not None and sound is None:
            self._sound(path, source, summary, emit_one)
        return summary

    def pictures(self, path: Path) -> Iterator[tuple[float, float, Image.Image]]:
        """The pictures :meth:`encode_file` reads of a video, unencoded: each shot's span and picture
        (inside any black bars), for a caller that looks at them another way (``ask``'s counting).

        Raises:
            MediaError: as :meth:`encode_file`.
        """
        with VideoReader(path, self.spec) as reader:
            for start, end, sample in self._sampled(reader, VideoSummary(), self.settings.max_audio_seconds):
                yield start, end, inside_bars(sample)

    def _sampled(
        self, reader: VideoReader, summary: VideoSummary, limit: float
    ) -> Iterator[tuple[float, float, Sample]]:
        """Each shot's sampled pictures with their spans, shot by shot, up to ``limit`` seconds."""
        for shot in shots(reader, cut_threshold=CUT_THRESHOLD, max_piece_s=PIECE_S * 2):
            if shot.start_s >= limit:
                summary.truncated = True
                return
            summary.shots = max(summary.shots, shot.index + 1)
            yield from _pictures(reader, shot, middle=self.settings.video_pictures == "middle")

    def _sound_thread(self, path: Path, source: str, summary: VideoSummary, emit: Emit, failure: list) -> None:
        try:
            self._sound(path, source, summary, emit)
        except BaseException as exc:  # re-raised in the caller's thread once the pictures are done
            failure.append(exc)

    def _emit_pictures(self, source: str, batch: list[tuple[float, float, Sample]], summary, emit: Emit) -> None:
        segs = [
            Segment(source, "video", summary.pictures + i, inside_bars(sample), round(start, 3), round(end, 3))
            for i, (start, end, sample) in enumerate(batch)
        ]
        encoded = self.image_encoder.encode(segs)
        emit(segs, encoded)
        summary.pictures += len(segs)

    def _sound(self, path: Path, source: str, summary: VideoSummary, emit: Emit) -> None:
        """The sound encoder's records, renumbered into the video's tracks."""

        def renumber(segs: list[Segment], encoded: Encoded) -> None:
            out = []
            for s in segs:
                speech = s.index >= SPEECH_INDEX_BASE
                index = s.index if speech else SOUND_INDEX_BASE + s.index
                out.append(Segment(source, "video", index, None, s.start_s, s.end_s))
                if speech:
                    summary.utterances += 1
                else:
                    summary.windows += 1
            emit(out, encoded)

        try:
            self.audio_encoder.encode_file(path, renumber)  # type: ignore[union-attr]
        except MediaError as exc:  # the pictures stand on their own
            summary.sound_error = exc.reason
            log.warning("%s: sound track left out: %s", source, exc.reason)


def _pictures(reader: VideoReader, shot: Shot, *, middle: bool) -> list[tuple[float, float, Sample]]:
    """One picture per ``PIECE_S`` of the shot, each spanning the whole shot (a hit on any is a hit on it).

    A piece takes a sample from the middle half of its stretch when there is one. Otherwise,
    with ``middle`` (``video_pictures = "middle"``), the frame at its middle is decoded: the
    first frame of a shot, where its keyframe usually is, is a poorer picture of it (blurred by
    the cut, a fade, the motion that starts it); on the package videos the middle found 5 of 10
    hand-described shots first against 4 of 10 with YOLOX at 256 px, and 4 of 10 like the
    keyframes at 192 px (``python -m bench.eval_video_shots``), but costs
    decoding half of every shot, about 3x the picture pass on 1080p. Without it, the piece takes
    the nearest sample already decoded (another piece's leaves it out: one picture says a static
    stretch), and only a shot with no sample at all decodes a frame.
    """
    length = max(shot.end_s - shot.start_s, 1e-3)
    pieces = max(1, math.ceil(length / PIECE_S - 0.25))
    step = length / pieces
    out: list[tuple[float, float, Sample]] = []
    used: set[int] = set()
    for k in range(pieces):
        start, end = shot.start_s + k * step, shot.start_s + (k + 1) * step
        mid = (start + end) / 2
        lo, hi = (start + step / 4, end - step / 4) if middle else (start, end)
        near = [i for i, s in enumerate(shot.samples) if lo <= s.time_s <= hi and i not in used]
        if not near and not middle and out:
            continue
        if not near and not middle:
            near = [i for i in range(len(shot.samples)) if i not in used]
        if near:
            i = min(near, key=lambda i: abs(shot.samples[i].time_s - mid))
            used.add(i)
            out.append((shot.start_s, shot.end_s, shot.samples[i]))
            continue
        sample = reader.frame_at(mid, lo=shot.start_s, hi=shot.end_s)
        if sample is not None:
            out.append((shot.start_s, shot.end_s, sample))
    return out
