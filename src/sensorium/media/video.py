"""Read a video a few frames per shot, never every frame: keyframes, a few fills, cuts found exactly.

Decoding every frame of 1080p H.264 runs at about 8x real time on two cores; decoding only the
keyframes runs at about 100x (``make bench``). So :class:`VideoReader` works in two layers:

1. **Samples.** The demuxer reads every packet (cheap) but only keyframes are decoded
   (``skip_frame=NONKEY``), at most one per :attr:`SampleSpec.min_gap_s`. Where keyframes are
   further apart than :attr:`SampleSpec.max_gap_s` and the two look different (a long GOP
   with motion; a static shot or a slide needs nothing more), a second handle seeks to the
   keyframe and decodes the reference frames of that GOP to add a frame every ``max_gap_s / 2``.
2. **Cuts.** :func:`shots` compares consecutive samples (colour histogram and a tiny grey
   thumbnail). Where they differ and x264/x265 placed a keyframe there by its own scene-cut
   detection (read from the settings they write into the stream), the cut is that keyframe.
   Otherwise the frames between the two are decoded (reference frames
   only: a few per 0.1 s) and the largest frame-to-frame jump is the cut, so a cut is placed
   within a frame or two whether or not the encoder started the shot with a keyframe. Packet
   sizes were tried as a shortcut and rejected: on x264 output a cut's P-frame is often no
   larger than a fast pan's. A difference with no jump (a pan, a dissolve) is a cut only when
   the two pictures share almost nothing.

Times are seconds from the container's start, on the frames' own timestamps, so variable frame
rates need no special care. Rotated phone videos are turned upright (display matrix).
"""

from __future__ import annotations

import bisect
import logging
import math
import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np
from PIL import Image

from sensorium.errors import MediaError
from sensorium.media.audio import audio_info, has_audio_track
from sensorium.media.probe import MISSING_INDEX, image_format, mp4_without_index, open_regular, sniff
from sensorium.media.tags import FileTags, container_tags
from sensorium.media.walk import display_path, os_reason

log = logging.getLogger(__name__)

MAX_FRAME_PIXELS = 8192 * 8192  # above 8K in both directions: a corrupt header, or nothing a CPU should decode
THUMB = (32, 18)  # grey thumbnail compared between samples
SIGNATURE_SIDE = 64  # decoded frames are kept at this size to be compared
_HIST_BINS = (8, 4, 4)  # hue, saturation, value
BAR_LEVEL = 24  # a row or column of a signature no brighter than this (of 255) at an edge is a black bar
MIN_PICTURE = 0.04  # a picture inside bars smaller than this share of the frame is not compared alone
_MAX_READ_ERRORS = 8


PICTURE_GRID_S = 0.4  # decoded frames keep a full picture at most this often (fills, shot middles)
KEEP_DECODED_S = 60.0  # decoded frames older than this behind the reading point are forgotten
TRUNCATED_SLACK_S = 1.0  # packets ending this much before the header's duration: a truncated file


class PacketLog:
    """``(time, size, keyframe)`` of every packet read, about 17 bytes each (tuples would take 130:
    a 12-hour 60 fps video has 2.6 million packets)."""

    def __init__(self) -> None:
        self._times = array("d")
        self._sizes = array("q")
        self._keys = array("b")

    def append(self, time_s: float, size: int, key: bool) -> None:
        self._times.append(time_s)
        self._sizes.append(size)
        self._keys.append(key)

    def __len__(self) -> int:
        return len(self._times)

    def __iter__(self) -> Iterator[tuple[float, int, bool]]:
        return zip(self._times, self._sizes, map(bool, self._keys), strict=True)

    def last_time(self, n: int = 64) -> float:
        """The latest time among the last ``n`` packets (decode order is not time order)."""
        return max(self._times[-n:], default=0.0)


@dataclass(frozen=True)
class VideoInfo:
    """What the header says about the video track :class:`VideoReader` reads."""

    path: str
    duration_s: float
    width: int  # stored frame size, pixel aspect applied (a rotated phone video is turned frame by frame)
    height: int
    fps: float
    codec: str
    container: str
    has_audio: bool
    streams: int
    # its title, description..., its date (:func:`sensorium.media.tags.container_tags`)
    tags: FileTags = field(default_factory=FileTags)


@dataclass(frozen=True)
class SampleSpec:
    """How densely to sample.

    Attributes:
        max_side: longest side of the pictures handed to the image encoder.
        min_gap_s: keyframes closer than this to the last sample are not decoded (intra-only codecs).
        max_gap_s: GOPs longer than this get extra frames, every ``max_gap_s / 2``...
        fill_change: ...unless the keyframes either side look alike (a static shot, a slide).
    """

    max_side: int = 512
    min_gap_s: float = 0.25
    max_gap_s: float = 4.0
    fill_change: float = 0.1  # ...and only when the pictures either side differ this much (0..1)


@dataclass
class Sample:
    """One decoded frame: its time, its picture for the encoder and its signature for cut detection."""

    time_s: float
    key: bool
    image: Image.Image
    hist: np.ndarray = field(repr=False)
    thumb: np.ndarray = field(repr=False)
    box: tuple[int, int, int, int] | None = None  # the picture inside black bars, in signature pixels
    inner_hist: np.ndarray | None = field(default=None, repr=False)  # the signature of that picture alone
    inner_thumb: np.ndarray | None = field(default=None, repr=False)


@dataclass
class _Seen:
    """A frame the second handle decoded: its signature always, its picture when on the grid."""

    time_s: float
    small: Sample
    picture: Image.Image | None

    def sample(self) -> Sample:
        assert self.picture is not None
        s = self.small
        return Sample(self.time_s, False, self.picture, s.hist, s.thumb, s.box, s.inner_hist, s.inner_thumb)


@dataclass
class _Run:
    """One sequential decode from a seek: where it has got to, and the last frame not yet kept."""

    packets: Iterator[av.Packet]
    start_s: float
    end_s: float
    held: av.VideoFrame | None = None
    done: bool = False


def signature(
    image: Image.Image,
) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int] | None, np.ndarray | None, np.ndarray | None]:
    """(normalised HSV histogram, grey 32x18 thumbnail in 0..1) of a picture, then the box of the
    picture inside black bars at its edges and the same two of that box alone (None without bars).

    Bars hide cuts: a film small in a black frame changed a tenth as much as the frame, and bikes.mp4
    pillarboxed into 1280x720 lost all five of its cuts.
    """
    small = image.resize((64, 36), Image.Resampling.BILINEAR)
    hist, thumb = _hist_and_thumb(small)
    box = _picture_box(np.asarray(small.convert("L")))
    if box is None:
        return hist, thumb, None, None, None
    top, bottom, left, right = box
    return (hist, thumb, box, *_hist_and_thumb(small.crop((left, top, right, bottom))))


def _hist_and_thumb(small: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    hsv = np.asarray(small.convert("HSV"), dtype=np.int32)
    h = hsv[..., 0] * _HIST_BINS[0] // 256
    s = hsv[..., 1] * _HIST_BINS[1] // 256
    v = hsv[..., 2] * _HIST_BINS[2] // 256
    idx = (h * _HIST_BINS[1] + s) * _HIST_BINS[2] + v
    hist = np.bincount(idx.ravel(), minlength=int(np.prod(_HIST_BINS))).astype(np.float32)
    hist /= max(float(hist.sum()), 1.0)
    thumb = np.asarray(small.convert("L").resize(THUMB, Image.Resampling.BOX), dtype=np.float32) / 255.0
    return hist, thumb


def inside_bars(sample: Sample) -> Image.Image:
    """The sample's picture without the black bars around it (the whole picture when it has none):
    what the image encoder and the hits' thumbnails should see."""
    if sample.box is None:
        return sample.image
    top, bottom, left, right = sample.box
    w, h = sample.image.size
    crop = (left * w // 64, top * h // 36, -(-right * w // 64), -(-bottom * h // 36))
    return sample.image.crop(crop)


def _picture_box(grey: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of what lies inside black bars at the edges; None when there are no
    bars, or the picture left is too small to compare (a fade to black, a dark frame)."""
    rows, cols = grey.max(axis=1) > BAR_LEVEL, grey.max(axis=0) > BAR_LEVEL
    if not rows.any():
        return None
    top, bottom = int(rows.argmax()), len(rows) - int(rows[::-1].argmax())
    left, right = int(cols.argmax()), len(cols) - int(cols[::-1].argmax())
    if (top, bottom, left, right) == (0, len(rows), 0, len(cols)):
        return None
    if (bottom - top) * (right - left) < MIN_PICTURE * grey.size:
        return None
    return top, bottom, left, right


def distance(a: Sample, b: Sample) -> float:
    """How different two frames look, 0..1: half colour-histogram change, half pixel change.

    Two frames with the same black bars are compared by the pictures inside them; frames whose bars
    differ (a letterboxed shot cut to a full one, a dark frame) are compared whole.
    """
    if a.box is not None and b.box is not None and max(abs(x - y) for x, y in zip(a.box, b.box, strict=True)) <= 1:
        assert a.inner_hist is not None and b.inner_hist is not None
        assert a.inner_thumb is not None and b.inner_thumb is not None
        return _distance(a.inner_hist, b.inner_hist, a.inner_thumb, b.inner_thumb)
    return _distance(a.hist, b.hist, a.thumb, b.thumb)


def _distance(hist_a: np.ndarray, hist_b: np.ndarray, thumb_a: np.ndarray, thumb_b: np.ndarray) -> float:
    hist = 0.5 * float(np.abs(hist_a - hist_b).sum())
    pixels = float(np.abs(thumb_a - thumb_b).mean())
    return 0.5 * hist + 0.5 * min(1.0, 2.5 * pixels)


class VideoReader:
    """An open video file. Use as a context manager; it owns two file handles.

    Raises:
        MediaError: unreadable, not a video, no video track, no decoder, absurd frame size.
    """

    def __init__(self, path: Path, spec: SampleSpec | None = None) -> None:
        self.name = display_path(path)
        self.path = Path(path)
        self.spec = spec or SampleSpec()
        self._fp, self._container, self.stream = _open(self.path, self.name)
        self._seek_fp: BinaryIO | None = None
        self._seeker: av.container.InputContainer | None = None
        try:
            self.info = self._info()
        except BaseException:
            self.close()
            raise
        self.packets = PacketLog()  # (time, size, keyframe) of every video packet, in decode order
        self._scenecut_gop_s: float | None = None  # x264/x265's keyint in seconds, when scene cuts are on
        self._seen: list[_Seen] = []  # frames decoded by the second handle, in time order
        self._covered: list[tuple[float, float]] = []  # spans of time whose reference frames are all in _seen
        self._run: _Run | None = None
        self._runs_started = 0
        self._settings_read = False
        self.keyframes: list[float] = []
        self.decoded_frames = 0

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for handle in (self._container, self._seeker, self._fp, self._seek_fp):
            if handle is not None:
                handle.close()

    # -- header --------------------------------------------------------------------------------
    def _info(self) -> VideoInfo:
        st, c = self.stream, self._container
        ctx = st.codec_context
        width, height = int(ctx.width or 0), int(ctx.height or 0)
        if width <= 0 or height <= 0:
            raise MediaError(self.name, "the video track has no frame size", "the file is corrupt or truncated")
        if width * height > MAX_FRAME_PIXELS:
            raise MediaError(self.name, f"frames of {width}x{height} are larger than 8K", "downscale it first")
        self.origin_s = (c.start_time / av.time_base) if c.start_time is not None else 0.0
        self.time_base = float(st.time_base or 1 / 90000)
        duration = 0.0
        if c.duration and c.duration > 0:
            duration = c.duration / av.time_base
        elif st.duration:
            duration = st.duration * self.time_base
        sar = st.sample_aspect_ratio
        if sar and float(sar) > 0 and abs(float(sar) - 1.0) > 1e-3:
            width = round(width * float(sar))
        self.display_size = (width, height)
        rate = st.average_rate or st.guessed_rate or st.base_rate
        return VideoInfo(
            path=self.name,
            duration_s=duration,
            width=width,
            height=height,
            fps=float(rate) if rate else 0.0,
            codec=ctx.name,
            container=c.format.name,
            has_audio=bool(c.streams.audio),
            streams=len(c.streams),
            tags=container_tags(c),
        )

    # -- samples -------------------------------------------------------------------------------
    def samples(self) -> Iterator[Sample]:
        """Keyframes (and fills in long GOPs) in time order; records every packet in :attr:`packets`."""
        last: Sample | None = None
        for frame in self._keyframes():
            sample = self._sample(frame, key=True)
            if sample is not None and (last is None or sample.time_s > last.time_s):
                yield from self._between(last, sample)
                last = sample
                yield sample
        if last is None:
            raise MediaError(self.name, "no video frame could be decoded", "check that the file plays")
        end = max(self.end_s(), last.time_s)
        if end - last.time_s > self.spec.max_gap_s / 4:  # a cut in the last GOP would go unseen: look at its end
            yield from self._fill(last.time_s, end, tail=True)

    def end_s(self) -> float:
        """Where the pictures end, once read: the header's duration, unless the packets stop well
        before it (a truncated file, whose shots and moments must not run past what plays)."""
        last = self.packets.last_time()
        frame = 1.0 / self.info.fps if self.info.fps > 0 else 0.0
        if self.info.duration_s <= 0 or last + frame + TRUNCATED_SLACK_S < self.info.duration_s:
            return last + frame if last > 0 else self.info.duration_s
        return max(self.info.duration_s, last)

    def _keyframes(self) -> Iterator[av.VideoFrame]:
        """Decoded keyframes, then what the decoder still holds; logs every packet on the way."""
        st = self.stream
        st.thread_type = "AUTO"
        st.codec_context.skip_frame = "NONKEY"
        pending_key = -math.inf
        for packet in self._demux(self._container, st):
            t = self._time(packet.pts if packet.pts is not None else packet.dts)
            if t is None:
                continue
            self.packets.append(t, packet.size, packet.is_keyframe)
            if not packet.is_keyframe:
                continue
            self.keyframes.append(t)
            # Spaced from the last keyframe *sent*, not the last frame out: a frame-threaded decoder
            # holds its first frames back, and ``last is None`` let every keyframe through until then.
            if t - pending_key < self.spec.min_gap_s:
                continue  # intra-only or very short GOPs: no need for every keyframe
            pending_key = t
            yield from self._decode(packet)
        yield from self._decode(None)

    def _between(self, last: Sample | None, sample: Sample) -> Iterator[Sample]:
        """Fills between two samples far apart whose pictures differ (a static shot needs none)."""
        if last is None or sample.time_s - last.time_s <= self.spec.max_gap_s:
            return
        if distance(last, sample) >= self.spec.fill_change:
            yield from self._fill(last.time_s, sample.time_s)

    def _fill(self, start_s: float, end_s: float, *, tail: bool = False) -> Iterator[Sample]:
        """Frames every ``max_gap_s / 2`` strictly between two samples, decoding reference frames only.

        With ``tail`` (the last GOP, which no later keyframe closes) the stretch is decoded to its
        end, the fills are kept only if the last frame differs from ``start_s``'s, and the last
        frame is a sample too.
        """
        step = self.spec.max_gap_s / 2
        wanted = [start_s + step * k for k in range(1, math.ceil((end_s - start_s) / step))]
        wanted = [t for t in wanted if t < end_s - step / 2] if end_s - start_s > self.spec.max_gap_s else []
        if not wanted and not tail:
            return
        stop = end_s + 1.0 if tail else min(end_s, wanted[-1] + 2 * PICTURE_GRID_S)  # no further than needed
        seen = self._decoded(start_s - 1e-3, stop)
        pictured = [d for d in seen if d.picture is not None]
        fills: list[Sample] = []
        for w in wanted:
            after = [d for d in pictured if d.time_s >= w and start_s < d.time_s < end_s]
            if after and (not fills or after[0].time_s > fills[-1].time_s):
                fills.append(after[0].sample())
        if not tail:
            yield from fills
            return
        inside = [d for d in pictured if d.time_s > start_s + 1e-6]
        if not seen or not inside:
            return
        first, last = seen[0], inside[-1]
        if distance(first.small, last.small) >= self.spec.fill_change:
            yield from (f for f in fills if f.time_s < last.time_s)
        yield last.sample()

    def _scene_keyframe(self, t: float) -> bool:
        """Whether the keyframe at ``t`` was placed by the encoder's scene-cut detection.

        x264 and x265 write their settings into the stream; with ``scenecut`` on, a keyframe
        that comes sooner than ``keyint`` after the previous one starts a new scene, so the cut
        is at that keyframe and nothing needs decoding to find it.
        """
        if self._scenecut_gop_s is None:
            return False
        i = bisect.bisect_left(self.keyframes, t - 1e-3)  # keyframes come in time order
        return i > 0 and t - self.keyframes[i - 1] < 0.95 * self._scenecut_gop_s

    def _read_encoder_settings(self, frame: av.VideoFrame) -> None:
        """Find x264/x265's own settings (an unregistered SEI message) in the first keyframe."""
        self._settings_read = True
        try:
            text = b"".join(bytes(d) for d in frame.side_data if "SEI_UNREGISTERED" in str(d.type))
        except Exception:  # side data this PyAV cannot read: no shortcut, just decoding
            return
        scenecut = re.search(rb"\bscenecut=(\d+)", text)
        keyint = re.search(rb"\bkeyint=(\d+)", text)
        if re.search(rb"\bx26[45]\b", text) and scenecut and keyint and int(scenecut[1]) > 0 and self.info.fps > 0:
            self._scenecut_gop_s = int(keyint[1]) / self.info.fps

    def _decoded(self, start_s: float, end_s: float) -> list[_Seen]:
        """The reference frames with ``start_s < time < end_s``, each decoded once per file.

        Filling a GOP, finding a cut in it and picking a shot's middle picture all read the same
        stretches; a stretch decoded before is served from :attr:`_seen`, and a stretch starting
        at or just after where the last decode stopped continues it instead of seeking again.
        """
        for lo, hi in self._covered:
            if lo <= start_s + 1e-6 and end_s <= hi:
                return [d for d in self._seen if start_s < d.time_s < end_s]
        run = self._run
        # Go on from where the last decode stopped unless a keyframe lies between: seeking to it is cheaper.
        ahead = run is not None and not run.done and run.start_s - 1e-6 <= start_s < run.end_s + self.spec.max_gap_s
        if ahead and any(run.end_s < k <= start_s + 2e-3 for k in self.keyframes[-64:]):  # type: ignore[union-attr]
            ahead = False
        if not ahead:
            run = self._start_run(max(start_s + 2e-3, 0.0))  # a keyframe at start_s is where to begin
        while run.end_s < end_s - 1e-6 and not run.done:
            self._advance(run)
        self._prune(start_s)
        return [d for d in self._seen if start_s < d.time_s < end_s]

    def _start_run(self, at_s: float) -> _Run:
        seeker = self._seek_handle()
        st = seeker.streams[self.stream.index]
        st.codec_context.skip_frame = "NONREF"
        try:
            seeker.seek(int((at_s + self.origin_s) / self.time_base), stream=st, backward=True)
        except av.FFmpegError as exc:
            log.debug("%s: seek failed (%s); decoding from the start", self.name, exc)
            seeker.seek(0)
        st.codec_context.flush_buffers()
        run = _Run(self._demux(seeker, st), start_s=math.inf, end_s=-math.inf)
        self._runs_started += 1
        self._run = run
        return run

    def _advance(self, run: _Run) -> None:
        """Decode the run's next packet into :attr:`_seen`; the run ends with the stream."""
        try:
            packet = next(run.packets)
        except StopIteration:
            run.done = True
            if run.held is not None:  # the stream's last frame: keep its picture (the tail sample)
                self._keep(run.held, picture=True)
            self._cover(run)
            return
        try:
            frames = packet.decode()
        except av.FFmpegError:
            return
        for frame in frames:
            self.decoded_frames += 1
            t = self._time(frame.pts)
            if t is None:
                continue
            run.start_s = min(run.start_s, t)
            if run.held is not None:
                self._keep(run.held, picture=False)
            run.held = frame
            run.end_s = max(run.end_s, t)
        if run.held is not None and run.end_s >= run.start_s:
            self._keep(run.held, picture=False)
            self._cover(run)

    def _keep(self, frame: av.VideoFrame, *, picture: bool) -> None:
        """Remember a decoded frame: its 64-px signature always, its picture on a grid."""
        t = self._time(frame.pts)
        if t is None:
            return
        i = bisect.bisect_left(self._seen, t - 1e-6, key=lambda d: d.time_s)
        if i < len(self._seen) and abs(self._seen[i].time_s - t) < 1e-6:
            found = self._seen[i]
        else:
            small = self.picture(frame, max_side=SIGNATURE_SIDE)
            found = _Seen(t, Sample(t, False, small, *signature(small)), None)
            self._seen.insert(i, found)
        near = self._seen[max(0, i - 12) : i + 12]
        gridded = any(d.picture is not None and abs(d.time_s - t) < PICTURE_GRID_S for d in near)
        if found.picture is None and (picture or not gridded):
            found.picture = self.picture(frame)

    def _cover(self, run: _Run) -> None:
        span = (run.start_s, math.inf if run.done else run.end_s)
        merged = [c for c in self._covered if c[1] < span[0] - 1e-6 or c[0] > span[1] + 1e-6]
        for c in self._covered:
            if c not in merged:
                span = (min(span[0], c[0]), max(span[1], c[1]))
        self._covered = [*merged, span]

    def _prune(self, now_s: float) -> None:
        """Forget frames long past (memory stays bounded whatever the video's length)."""
        horizon = now_s - KEEP_DECODED_S
        if self._seen and self._seen[0].time_s < horizon:
            self._seen = [d for d in self._seen if d.time_s >= horizon]
            self._covered = [(max(lo, horizon), hi) for lo, hi in self._covered if hi >= horizon]

    def frame_at(self, time_s: float, lo: float = -math.inf, hi: float = math.inf) -> Sample | None:
        """The decoded picture nearest ``time_s`` within ``lo < t < hi`` (a shot's middle), reference frames only."""
        a, b = max(time_s - PICTURE_GRID_S, lo), min(time_s + PICTURE_GRID_S, hi)
        near = [d for d in self._decoded(a, b) if d.picture is not None]
        if not near:
            near = [d for d in self._decoded(max(time_s - 1e-3, lo), min(time_s + 2.0, hi)) if d.picture is not None]
        if not near:
            return None
        return min(near, key=lambda d: abs(d.time_s - time_s)).sample()

    def _seek_handle(self) -> av.container.InputContainer:
        if self._seeker is None:
            self._seek_fp = open_regular(self.path)
            self._seeker = av.open(self._seek_fp, mode="r", metadata_errors="ignore")
            st = self._seeker.streams[self.stream.index]
            st.thread_type = "AUTO"
            # Frames decoded here are compared at 64 px or shrunk to 512: skipping the deblocking
            # filter and taking ffmpeg's non-spec-compliant shortcuts decodes about 1.5x faster.
            st.codec_context.options = {"skip_loop_filter": "all", "flags2": "+fast"}
        return self._seeker

    def _decode(self, packet: av.Packet | None) -> list[av.VideoFrame]:
        try:
            frames = self.stream.codec_context.decode(packet)
        except av.FFmpegError as exc:
            log.debug("%s: undecodable video packet (%s)", self.name, exc)
            return []
        self.decoded_frames += len(frames)
        return frames

    def _demux(self, container: av.container.InputContainer, stream: av.VideoStream) -> Iterator[av.Packet]:
        errors = 0
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.FFmpegError as exc:
                errors += 1
                if errors > _MAX_READ_ERRORS:
                    log.warning("%s: stopped reading after %d read errors (%s)", self.name, errors, exc)
                    return
                packets = container.demux(stream)
                continue
            except OSError as exc:
                raise MediaError(self.name, f"cannot read: {os_reason(exc)}", "check the file and the disk") from exc
            if packet.size:
                yield packet

    def _time(self, pts: int | None) -> float | None:
        return None if pts is None else pts * self.time_base - self.origin_s

    def _sample(self, frame: av.VideoFrame, *, key: bool) -> Sample | None:
        if key and not self._settings_read:
            self._read_encoder_settings(frame)
        t = self._time(frame.pts)
        if t is None:
            return None
        image = self.picture(frame)
        return Sample(t, key, image, *signature(image))

    def picture(self, frame: av.VideoFrame, max_side: int | None = None) -> Image.Image:
        """The frame upright, as displayed, with its longest side at most ``max_side`` (``spec.max_side``)."""
        w, h = self.display_size
        scale = min(1.0, (max_side or self.spec.max_side) / max(w, h))
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        # A signature's 64 px come from averaging whole areas of the frame: swscale's AREA does that in
        # half the time of its bilinear filter, which weighs every source pixel at such a scale anyway.
        method = "AREA" if max(size) <= SIGNATURE_SIDE else None
        image = frame.reformat(width=size[0], height=size[1], format="rgb24", interpolation=method).to_image()
        rotation = round(frame.rotation or 0) % 360  # the display matrix, degrees counter-clockwise
        return image.rotate(rotation, expand=True) if rotation else image

    # -- cuts ----------------------------------------------------------------------------------
    def locate_cuts(self, a: Sample, b: Sample, tolerance_s: float = 0.2, frame_cut: float = 0.3) -> list[float]:
        """Times of the first frames of new shots between samples ``a`` and ``b`` (none: no cut).

        The frames between are decoded (reference frames only, a few per 0.1 s) and compared
        one to the next: every jump of at least ``frame_cut`` is a cut (two cuts can fall
        between two samples), else the largest jump is, if it holds half the change. A change
        spread over many frames (a pan, a dissolve) is a cut only when ``a`` and ``b`` share
        almost nothing.
        """
        if b.time_s - a.time_s <= tolerance_s or (b.key and self._scene_keyframe(b.time_s)):
            return [b.time_s]
        jumps: list[tuple[float, float]] = []  # (time of the frame after the jump, jump)
        prev = a
        for d in self._decoded(a.time_s, b.time_s):
            jumps.append((d.time_s, distance(prev, d.small)))
            prev = d.small
        jumps.append((b.time_s, distance(prev, b)))
        cuts = [t for t, jump in jumps if jump >= frame_cut]
        if cuts:
            return cuts
        best_t, best = max(jumps, key=lambda tj: tj[1])
        whole = distance(a, b)
        return [best_t] if best >= 0.5 * whole or whole >= 0.6 else []


def _open(path: Path, name: str) -> tuple[BinaryIO, av.container.InputContainer, av.VideoStream]:
    try:
        fp = open_regular(path)
    except OSError as exc:
        raise MediaError(name, f"cannot read: {os_reason(exc)}", "check the file and the disk") from exc
    try:
        head = fp.read(4096)
        fp.seek(0)
        if not head:
            raise MediaError(name, "the file is empty", "skip it or re-export it")
        try:
            container = av.open(fp, mode="r", metadata_errors="ignore")
        except av.FFmpegError as exc:
            detail = " ".join(str(getattr(exc, "strerror", None) or exc).split()).lower()
            kind = sniff(head)
            if kind in ("audio", "video") and mp4_without_index(fp):
                raise MediaError(name, *MISSING_INDEX) from exc
            if kind in ("audio", "video"):
                raise MediaError(
                    name, f"corrupt or unsupported {kind} file (ffmpeg: {detail})", "re-export it"
                ) from exc
            raise MediaError(name, "not a video file", "skip it") from exc
        try:
            stream = _pick_stream(container, name, head)
        except BaseException:
            container.close()
            raise
        return fp, container, stream
    except BaseException:
        fp.close()
        raise


def video_or_sound(path: Path) -> str:
    """``"video"``, or ``"audio"`` for a video container holding only sound (an .mp4 of a podcast).

    Raises:
        MediaError: neither a picture nor a sound track can be read (the reason is the video's).
    """
    try:
        with VideoReader(path):
            return "video"
    except MediaError:
        if has_audio_track(path):
            return "audio"
        raise


def media_header(path: Path) -> tuple[float | None, FileTags]:
    """How long a video or recording plays (None when its header does not say), and what it says
    about itself (:func:`sensorium.media.tags.container_tags`)."""
    try:
        with VideoReader(path) as reader:
            if reader.info.duration_s > 0:
                return reader.info.duration_s, reader.info.tags
    except MediaError:
        pass
    try:
        info = audio_info(path)
        return info.duration_s, info.tags
    except MediaError:
        return None, FileTags()


def has_video_track(path: Path) -> bool:
    """Whether the file holds a moving-picture track (album art does not count)."""
    try:
        with VideoReader(path):
            return True
    except MediaError:
        return False


def _pick_stream(container: av.container.InputContainer, name: str, head: bytes) -> av.VideoStream:
    movies = [s for s in container.streams.video if not (s.disposition & av.stream.Disposition.attached_pic)]
    best = container.streams.best("video")
    stream = best if best in movies else (movies[0] if movies else None)
    if stream is None:
        fmt = image_format(head)
        kinds = sorted({s.type for s in container.streams})
        what = f"it is a {fmt.upper()} image" if fmt else f"the file holds only {' and '.join(kinds) or 'no streams'}"
        raise MediaError(name, f"no video track ({what})", "index it as audio or an image")
    if stream.codec_context is None:
        raise MediaError(name, "unsupported video codec (ffmpeg has no decoder for it)", "convert it to H.264")
    return stream


@dataclass
class Shot:
    """A run of frames between two cuts, and the samples that fell inside it (time order)."""

    index: int
    start_s: float
    end_s: float
    samples: list[Sample]


def shots(reader: VideoReader, *, cut_threshold: float = 0.3, max_piece_s: float = 10.0) -> Iterator[Shot]:
    """The shots of a video in time order, streaming; memory is bounded by ``max_piece_s``.

    A shot longer than ``2 * max_piece_s`` is handed over in pieces (same ``index``) as it
    is read, each with its samples, so an hour-long static shot never piles up pictures.
    """
    index, start, prev = 0, 0.0, None
    held: list[Sample] = []
    for sample in reader.samples():
        if prev is not None and distance(prev, sample) >= cut_threshold:
            for cut in reader.locate_cuts(prev, sample):
                if cut > start:
                    yield Shot(index, start, cut, [s for s in held if s.time_s < cut])
                    held = [s for s in held if s.time_s >= cut]
                    index, start = index + 1, cut
        held.append(sample)
        prev = sample
        while sample.time_s - start > 2 * max_piece_s:  # keyframes far apart: several pieces at once
            piece_end = start + max_piece_s
            yield Shot(index, start, piece_end, [s for s in held if s.time_s < piece_end])
            held = [s for s in held if s.time_s >= piece_end]
            start = piece_end
    end = max(reader.end_s(), prev.time_s if prev is not None else 0.0)
    if end > start or held:
        yield Shot(index, start, max(end, start), held)
