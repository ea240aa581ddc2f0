"""Export a moment of an audio or video file to a new file, copying rather than re-encoding.

Three ways, tried in this order (``reencode=None``):

1. PCM and FLAC sources written to .wav/.flac/.aiff: samples are copied through soundfile,
   sample-exact (bit-identical when the output keeps the source's format and sample type).
2. Stream copy: the source's packets go into the output container unchanged when it can hold
   the codec (mp3 in .mp3, AAC in .m4a/.mp4, Opus/Vorbis in .ogg, H.264 in .mkv...). Cuts
   fall on packet boundaries; a video cut starts at the keyframe at or before the requested
   start, so :class:`ClipResult` reports the real start and end. Without a keyframe within
   :data:`KEYFRAME_SLACK_S` before the start, a video is re-encoded instead (unless told to copy).
3. Re-encode to the usual codec of the output's suffix (see ``_OUTPUTS``).

Times are seconds on the source's timeline, as in :mod:`sensorium.media.audio`. The output is
written to a hidden temporary file beside ``out`` and renamed into place at the end, so a
failure never leaves a half-written clip.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np
import soundfile as sf

from sensorium.errors import MediaError
from sensorium.media.audio import frame_to_float
from sensorium.media.probe import MISSING_INDEX, image_format, mp4_without_index, open_regular
from sensorium.media.walk import display_path, os_reason

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Output:
    muxer: str
    audio: tuple[str, ...]  # encoders to re-encode with, first available wins
    video: tuple[str, ...] = ()  # empty: an audio-only container, video is left out
    soundfile: str | None = None  # soundfile major format for the sample-exact PCM path
    # codecs a stream copy may put in; None asks ffmpeg, whose answer is too wide for WAV (it
    # would wrap Vorbis in RIFF) and too narrow for Ogg (no codec tag table). "pcm_*" is a prefix.
    copy: tuple[str, ...] | None = None


_WAV_COPY = ("pcm_*", "adpcm_ms", "adpcm_ima_wav")
_OUTPUTS: dict[str, _Output] = {
    ".wav": _Output("wav", ("pcm_s16le",), soundfile="WAV", copy=_WAV_COPY),
    ".flac": _Output("flac", ("flac",), soundfile="FLAC"),
    ".aiff": _Output("aiff", ("pcm_s16be",), soundfile="AIFF", copy=("pcm_*",)),
    ".aif": _Output("aiff", ("pcm_s16be",), soundfile="AIFF", copy=("pcm_*",)),
    ".mp3": _Output("mp3", ("libmp3lame",)),
    # FLAC in Ogg is legal, but libsndfile and most players cannot open it and its frames (4096
    # samples) overshoot the cut: an .ogg of a FLAC source is re-encoded (Vorbis, else Opus)
    ".ogg": _Output("ogg", ("libvorbis", "libopus"), copy=("vorbis", "opus", "speex")),
    ".opus": _Output("opus", ("libopus",), copy=("opus",)),
    ".m4a": _Output("ipod", ("aac",)),
    ".mp4": _Output("mp4", ("aac",), ("libx264", "mpeg4")),
    ".mov": _Output("mov", ("aac",), ("libx264", "mpeg4")),
    ".mkv": _Output("matroska", ("libopus", "aac"), ("libx264", "mpeg4")),
    ".webm": _Output("webm", ("libopus",), ("libvpx-vp9", "libvpx")),
}
SOUND_OUTPUTS = frozenset(k for k, v in _OUTPUTS.items() if not v.video)  # suffixes a sound clip can take
VIDEO_OUTPUTS = frozenset(k for k, v in _OUTPUTS.items() if v.video)  # ...and a video clip (with its sound)
# soundfile formats whose samples can be copied losslessly, and the sample types that are plain PCM
_LOSSLESS_SF = frozenset({"WAV", "WAVEX", "RF64", "W64", "AIFF", "FLAC", "CAF"})
_PCM_SUBTYPES = frozenset({"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"})
_SF_CHUNK = 1 << 18
_VIDEO_OPTIONS = {
    "libx264": {"crf": "20", "preset": "veryfast"},
    # cpu-used 6 and row threading: 5.3 s of 720p in 1.5 s instead of 22.8 s, for a file 20% larger
    "libvpx-vp9": {"crf": "32", "b": "0", "deadline": "realtime", "cpu-used": "6", "row-mt": "1"},
}
_VIDEO_BIT_RATE = {"mpeg4": 4_000_000, "libvpx": 2_000_000}
_VIDEO_TICKS = {"libx264": 90_000, "libvpx-vp9": 1000, "libvpx": 1000, "mpeg4": 1000}  # time base 1/ticks
_SEEK_PREROLL_S = 1.0
_FOREVER_S = 1e9  # an end past any file: clamped to its duration
KEYFRAME_SLACK_S = 0.25  # copy a video only when it then starts at most this much before the asked start


@dataclass(frozen=True)
class ClipResult:
    """Where the clip went and what it holds, in seconds on the source's timeline."""

    path: str
    start_s: float
    end_s: float
    copied: bool  # True: stream copy or bit-exact PCM copy, no re-encode

    @classmethod
    def of(cls, out: Path, start_s: float, end_s: float, copied: bool) -> ClipResult:
        """Times never before the source's start (an MP3's first packet can carry a negative
        time for its encoder delay); the path as on disk."""
        return cls(str(out), max(0.0, start_s), max(0.0, end_s), copied)


def export_clip(
    src: str | Path,
    start_s: float,
    end_s: float,
    out: str | Path,
    *,
    reencode: bool | None = None,
    overwrite: bool = False,
) -> ClipResult:
    """Write ``src`` from ``start_s`` to ``end_s`` into ``out``, in the format its suffix names.

    Args:
        end_s: clamped to the source's duration.
        reencode: ``None`` copies where possible and re-encodes otherwise; ``True`` always
            re-encodes; ``False`` fails rather than re-encode.
        overwrite: replace an existing ``out``.

    Raises:
        MediaError: bad times, ``start_s`` past the end, an unusable ``out`` (exists, is the
            source, folder missing, unknown suffix), an unreadable source, a codec the output
            cannot hold without re-encoding when ``reencode=False``, or no encoder available.
    """
    src, out = Path(src).expanduser(), Path(out).expanduser()
    name = display_path(src)
    if not math.isfinite(start_s) or math.isnan(end_s) or start_s < 0:
        raise MediaError(name, f"clip times must be finite and >= 0 (got {start_s} to {end_s})", "give valid times")
    if not start_s < end_s:
        raise MediaError(
            name, f"clip start {_secs(start_s)} s is not before its end {_secs(end_s)} s", "give an end after the start"
        )
    end_s = min(end_s, max(_FOREVER_S, start_s + 1.0))  # "to the end" (inf, 1e308): a range sample counts survive
    spec = _check_out(src, out, overwrite)
    with open_regular(src) as fp:
        fmt = image_format(fp.read(64))
        if fmt:
            raise MediaError(
                name, f"it is a {fmt.upper()} image, not audio or video", "export clips from audio or video"
            )
        fp.seek(0)
        damage = _pcm_damage(fp, start_s, end_s)
        fp.seek(0)
        if damage is None:
            done = _pcm_clip(fp, name, start_s, end_s, out, spec, reencode, overwrite)
            if done is not None:
                return done
        elif reencode is False:
            raise MediaError(name, f"is damaged ({damage})", "drop --copy: re-encoding keeps what decodes")
        else:  # a copy would carry the header's full length and the cut-off last frame
            log.warning("%s: damaged (%s); re-encoding what decodes", name, damage)
            reencode = True
        fp.seek(0)
        with _open_input(fp, name) as inp:
            return _av_clip(inp, name, start_s, end_s, out, spec, reencode, overwrite)


# ---------------------------------------------------------------- checks and the output file


def _check_out(src: Path, out: Path, overwrite: bool) -> _Output:
    oname = display_path(out)
    spec = _OUTPUTS.get(out.suffix.lower())
    if spec is None:
        kinds = ", ".join(sorted(_OUTPUTS))
        raise MediaError(oname, f"unsupported clip type {out.suffix or '(no suffix)'!r}", f"name the output {kinds}")
    parent = out.parent
    if not parent.exists():
        raise MediaError(
            oname, f"folder {display_path(parent)} does not exist", "create it first or pick another folder"
        )
    if not parent.is_dir():
        raise MediaError(oname, f"{display_path(parent)} is not a folder", "pick an output inside a folder")
    if out.is_dir():
        raise MediaError(oname, "is a directory", "give a file name for the clip")
    same = os.path.realpath(out) == os.path.realpath(src)  # realpath, unlike resolve(), survives symlink loops
    if same or (out.exists() and src.exists() and os.path.samefile(out, src)):
        raise MediaError(oname, "is the source file itself", "write the clip to another path")
    if out.exists() and not overwrite:
        raise _exists(oname)
    return spec


@contextlib.contextmanager
def _temp_output(out: Path, overwrite: bool) -> Iterator[BinaryIO]:
    """A new hidden file beside ``out``, renamed to ``out`` on success and removed on failure."""
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.part")
    try:
        fp = open(tmp, "xb")  # noqa: SIM115 - closed below, before the rename
    except OSError as exc:
        raise MediaError(
            display_path(out), f"cannot write: {os_reason(exc)}", "pick a folder you can write to"
        ) from exc
    try:
        with fp:
            yield fp
        if out.exists() and not overwrite:
            raise _exists(display_path(out))
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _write_error(out: Path, exc: BaseException, hint: str = "try another output type, e.g. .mkv or .wav") -> MediaError:
    detail = " ".join(str(getattr(exc, "strerror", None) or exc).split()).lower()
    return MediaError(display_path(out), f"cannot write the clip (ffmpeg: {detail})", hint)


# ---------------------------------------------------------------- 1. sample-exact PCM


def _pcm_clip(
    fp: BinaryIO,
    name: str,
    start_s: float,
    end_s: float,
    out: Path,
    spec: _Output,
    reencode: bool | None,
    overwrite: bool,
) -> ClipResult | None:
    """Copy samples through soundfile, or ``None`` when this path does not apply."""
    if spec.soundfile is None or reencode is True:
        return None
    try:
        reader = sf.SoundFile(fp)
    except (sf.LibsndfileError, RuntimeError, TypeError):  # not a format libsndfile reads
        return None
    with reader:
        if reader.format not in _LOSSLESS_SF or reader.subtype not in _PCM_SUBTYPES or reader.frames <= 0:
            return None
        same = reader.format == spec.soundfile or (spec.soundfile == "WAV" and reader.format in ("WAVEX", "RF64"))
        subtype = reader.subtype if sf.check_format(spec.soundfile, reader.subtype) else "PCM_16"
        copied = same and subtype == reader.subtype
        if reencode is False and not copied:
            return None
        rate, total = reader.samplerate, reader.frames
        if start_s * rate >= total or round(start_s * rate) >= total:  # the first test spares round(inf)
            raise _past_end(name, start_s, total / rate)
        first, last = round(start_s * rate), min(total, round(end_s * rate))  # end_s is at most _FOREVER_S
        dtype = "float64" if subtype in ("FLOAT", "DOUBLE") else "int32"
        reader.seek(first)  # _pcm_damage has seeked there already
        try:
            return _copy_samples(reader, name, out, spec, subtype, dtype, first, last, copied, overwrite)
        except _Undecodable:  # a damaged file libsndfile gives up on: PyAV decodes what it can
            return None


def _pcm_damage(fp: BinaryIO, start_s: float, end_s: float) -> str | None:
    """Why libsndfile cannot read both ends of the range of a WAV/FLAC/AIFF source, or ``None``.

    A truncated FLAC keeps its header's length: seeking or reading near the cut fails. Other
    formats, and files libsndfile does not open, are ``None`` (PyAV reads them as they are).
    """
    try:
        reader = sf.SoundFile(fp)
    except (sf.LibsndfileError, RuntimeError, TypeError):
        return None
    with reader:
        rate, total = reader.samplerate, reader.frames
        if total <= 0 or start_s * rate >= total:
            return None
        first = round(start_s * rate)
        last = total if end_s * rate >= total else max(first + 1, round(end_s * rate))
        try:
            for at in (first, max(first, last - 1024)):
                reader.seek(at)
                reader.read(1024)
        except sf.LibsndfileError as exc:
            return " ".join(str(exc).split()).lower().removeprefix("error : ")
    return None


class _Undecodable(Exception):
    """libsndfile read no sample of the range (the partial output is removed)."""


def _copy_samples(
    reader: sf.SoundFile,
    name: str,
    out: Path,
    spec: _Output,
    subtype: str,
    dtype: str,
    first: int,
    last: int,
    copied: bool,
    overwrite: bool,
) -> ClipResult:
    rate = reader.samplerate
    with _temp_output(out, overwrite) as ofp:
        fmt = "WAV" if spec.soundfile == "WAV" and reader.format != "RF64" else spec.soundfile
        with sf.SoundFile(ofp, "w", rate, reader.channels, subtype=subtype, format=fmt) as writer:
            left = last - first
            while left > 0:
                try:
                    block = reader.read(min(left, _SF_CHUNK), dtype=dtype, always_2d=True)
                except sf.LibsndfileError as exc:  # a truncated FLAC: keep what decodes, as for the end
                    if left < last - first:
                        log.warning("%s: decoding stopped at %.3f s (%s)", name, (last - left) / rate, exc)
                    break
                if not len(block):
                    break
                writer.write(block)
                left -= len(block)
        if left == last - first:  # raised inside: the empty output is removed
            raise _Undecodable(name)
    return ClipResult.of(out, first / rate, (last - left) / rate, copied)


def _exists(name: str) -> MediaError:
    return MediaError(name, "already exists", "pass --overwrite (overwrite=True in Python) or pick another name")


def _past_end(name: str, start_s: float, duration_s: float) -> MediaError:
    return MediaError(
        name, f"clip start {_secs(start_s)} s is past the end ({duration_s:.3f} s)", "pick an earlier start"
    )


def _secs(t: float) -> str:
    """Seconds to the millisecond, or in scientific notation when that would run to hundreds of digits."""
    return f"{t:.3f}" if abs(t) < 1e9 else f"{t:.4g}"


# ---------------------------------------------------------------- the source through PyAV


@dataclass
class _Input:
    container: av.container.InputContainer
    audio: av.AudioStream | None
    video: av.VideoStream | None
    origin_s: float
    duration_s: float | None

    def __enter__(self) -> _Input:
        return self

    def __exit__(self, *exc: object) -> None:
        self.container.close()


def _open_input(fp: BinaryIO, name: str) -> _Input:
    try:
        container = av.open(fp, mode="r", metadata_errors="ignore")
    except av.FFmpegError as exc:
        if mp4_without_index(fp):
            raise MediaError(name, *MISSING_INDEX) from exc
        detail = " ".join(str(getattr(exc, "strerror", None) or exc).split()).lower()
        raise MediaError(name, f"cannot read as audio or video (ffmpeg: {detail})", "check the file") from exc
    audio = container.streams.best("audio")
    movies = [s for s in container.streams.video if not _is_cover(s)]
    best = container.streams.best("video")
    video = best if best in movies else (movies[0] if movies else None)
    if audio is None and video is None:
        container.close()
        raise MediaError(name, "no audio or video track", "export clips from audio or video files")
    others = len(container.streams.audio) - 1 if audio is not None else 0
    if others:
        log.warning(
            "%s: %d other audio track%s left out of the clip; only the main one is cut", name, others, "s"[: others > 1]
        )
    origin = container.start_time / av.time_base if container.start_time is not None else 0.0
    duration = container.duration / av.time_base if container.duration else None
    return _Input(container, audio, video, origin, duration)


def _is_cover(stream: av.VideoStream) -> bool:
    """Album art attached to an mp3/m4a is a one-picture 'video' stream; it is not a video."""
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _av_clip(
    inp: _Input,
    name: str,
    start_s: float,
    end_s: float,
    out: Path,
    spec: _Output,
    reencode: bool | None,
    overwrite: bool,
) -> ClipResult:
    if inp.duration_s is not None:
        if start_s >= inp.duration_s:
            raise _past_end(name, start_s, inp.duration_s)
        end_s = min(end_s, inp.duration_s)
    audio = inp.audio if spec.audio else None
    video = inp.video if spec.video else None
    if audio is None and video is None:
        raise MediaError(name, f"no audio track to write into {out.suffix}", "pick a video output such as .mp4")
    if reencode is not True:
        blocked = _uncopyable(spec, [s for s in (audio, video) if s is not None])
        late = (
            video is not None
            and reencode is None
            and start_s - _keyframe_at_or_before(inp, video, start_s) > KEYFRAME_SLACK_S
        )
        if late:  # a copy would start at the keyframe, well before the moment: re-encode to start on time
            log.info("%s: no keyframe within %.2f s before %.3f s; re-encoding", name, KEYFRAME_SLACK_S, start_s)
        if not blocked and not late:
            try:
                with _temp_output(out, overwrite) as ofp:
                    real = _copy_streams(inp, audio, video, ofp, spec, start_s, end_s)
                return ClipResult.of(out, real[0], real[1], True)
            except (av.FFmpegError, ValueError) as exc:
                if reencode is False:
                    hint = "drop --copy (reencode=False in Python) to re-encode it, or try another output type"
                    raise _write_error(out, exc, hint) from exc
                log.info("%s: stream copy into %s failed (%s); re-encoding", name, out.suffix, exc)
        elif reencode is False:
            raise MediaError(
                name,
                f"{' and '.join(blocked)} cannot go into {out.suffix} without re-encoding",
                "drop --copy (reencode=False in Python) or pick another output type",
            )
    try:
        with _temp_output(out, overwrite) as ofp:
            real = _reencode(inp, audio, video, ofp, spec, start_s, end_s, out, name)
    except av.FFmpegError as exc:
        raise _write_error(out, exc) from exc
    return ClipResult.of(out, real[0], real[1], False)


def _uncopyable(spec: _Output, streams: list[av.stream.Stream]) -> list[str]:
    """Names of the codecs among ``streams`` that ``spec``'s container cannot hold as they are."""
    if spec.copy is None:
        with av.open(os.devnull, "w", format=spec.muxer) as probe_out:
            supported = set(probe_out.supported_codecs) - {"vorbis"}  # Vorbis in MP4 is experimental
        if spec.muxer in ("mp4", "ipod", "mov"):  # ffmpeg muxes PCM and MPEG-1/2 video into MP4, but few
            # players (no browser) play them: AAC and H.264 instead
            supported = {c for c in supported if not c.startswith("pcm_") and c not in ("mpeg1video", "mpeg2video")}
    blocked = []
    for stream in streams:
        codec = stream.codec_context.name if stream.codec_context is not None else "an unknown codec"
        if spec.copy is None:
            ok = codec in supported
        else:
            ok = any(codec == c or (c.endswith("*") and codec.startswith(c[:-1])) for c in spec.copy)
        if not ok:  # named as users know it: "mp3", not its decoder "mp3float"
            blocked.append(
                getattr(stream.codec_context.codec, "canonical_name", codec) if stream.codec_context else codec
            )
    return blocked


def _time(pts: int | None, stream: av.stream.Stream, origin_s: float) -> float | None:
    return None if pts is None else float(pts * stream.time_base) - origin_s


def _seek(inp: _Input, stream: av.stream.Stream, time_s: float) -> None:
    """Seek so that demuxing ``stream`` starts at or before ``time_s``.

    Containers without an index (MPEG program streams) seek by bytes and can land after the time
    asked for: then the seek goes back further (1, 2, 4 ... s before it), at last to the start.
    """
    back = 0.0
    while True:
        target = max(time_s - back, 0.0)
        _seek_once(inp, stream, target)
        if target <= 0.0:
            return
        first = next((t for t in _packet_times(inp, stream, 64) if t is not None), None)
        _seek_once(inp, stream, target)
        if first is None or first <= time_s + 1e-6:
            return
        back = max(2 * back, 1.0)


def _packet_times(inp: _Input, stream: av.stream.Stream, n: int) -> Iterator[float | None]:
    for i, packet in enumerate(inp.container.demux(stream)):
        if i >= n:
            return
        yield _time(packet.pts, stream, inp.origin_s)


def _seek_once(inp: _Input, stream: av.stream.Stream, time_s: float) -> None:
    try:
        inp.container.seek(int((max(time_s, 0.0) + inp.origin_s) / stream.time_base), stream=stream, backward=True)
    except av.FFmpegError as exc:
        log.debug("seek failed (%s); reading from the start", exc)
        inp.container.seek(0)


# ---------------------------------------------------------------- 2. stream copy


def _keyframe_at_or_before(inp: _Input, video: av.VideoStream, start_s: float) -> float:
    """The last keyframe at or before ``start_s``: further back when the seek lands past the GOP's keyframe."""
    back = 0.0
    while True:
        target = max(start_s - back, 0.0)
        _seek(inp, video, target)
        best: float | None = None
        for packet in inp.container.demux(video):
            t = _time(packet.pts, video, inp.origin_s)
            if t is None:
                continue
            if t > start_s + 1e-6:
                break
            if packet.is_keyframe:
                best = t
        if best is not None or target <= 0.0:
            return max(best if best is not None else 0.0, 0.0)
        back = max(2 * back, 1.0)


def _copy_streams(
    inp: _Input,
    audio: av.AudioStream | None,
    video: av.VideoStream | None,
    ofp: BinaryIO,
    spec: _Output,
    start_s: float,
    end_s: float,
) -> tuple[float, float]:
    cut = _keyframe_at_or_before(inp, video, start_s) if video is not None else start_s
    sources = [s for s in (video, audio) if s is not None]
    window = _CopyWindow(start_s, end_s, cut, video, inp.origin_s)
    with av.open(ofp, "w", format=spec.muxer) as oc:
        targets = {s.index: oc.add_stream_from_template(s) for s in sources}
        _seek(inp, sources[0], cut - _SEEK_PREROLL_S)
        for packet in inp.container.demux(sources):
            keep = window.keep(packet)
            if keep is None:
                break
            if keep:
                packet.stream = targets[packet.stream.index]
                oc.mux(packet)
        if window.first_s == math.inf:
            raise ValueError("no packet falls inside the clip")
    return window.first_s, window.last_s


class _CopyWindow:
    """Chooses the packets of a stream copy and restamps them to start at zero.

    Video starts at the keyframe ``cut``; audio beside it starts there too (so no timestamp
    goes negative); audio alone starts with the packet that holds ``start_s``.
    """

    def __init__(self, start_s: float, end_s: float, cut: float, video: av.VideoStream | None, origin_s: float) -> None:
        self.start_s, self.end_s, self.cut, self.video, self.origin_s = start_s, end_s, cut, video, origin_s
        self.offset: float | None = cut if video is not None else None
        self.started = video is None
        self.first_s, self.last_s = math.inf, -math.inf

    def keep(self, packet: av.Packet) -> bool | None:
        """Whether to mux ``packet`` (restamped in place); ``None`` once the demuxer is past the end."""
        stream = packet.stream
        t = _time(packet.pts, stream, self.origin_s)
        if t is None or not packet.size:
            return False
        if t >= self.end_s + 2.0:  # interleaving never lags this far
            return None
        dur = float(packet.duration * stream.time_base) if packet.duration else 0.0
        if stream is self.video:
            self.started = self.started or (packet.is_keyframe and abs(t - self.cut) < 1e-3)
            inside = self.started and t < self.end_s
        elif self.video is not None:
            inside = self.cut - 1e-6 <= t < self.end_s
        else:
            inside = t + dur > self.start_s + 1e-9 and t < self.end_s
        if not inside:
            return False
        if self.offset is None:
            self.offset = t
        shift = round((self.offset + self.origin_s) / stream.time_base)
        packet.pts -= shift
        if packet.dts is not None:
            packet.dts -= shift
        self.first_s, self.last_s = min(self.first_s, t), max(self.last_s, t + dur)
        return True


# ---------------------------------------------------------------- 3. re-encode


def _encoder(names: tuple[str, ...], out: Path) -> str:
    for codec in names:
        if codec in av.codecs_available:
            with contextlib.suppress(av.FFmpegError, ValueError):
                av.Codec(codec, "w")
                return codec
    raise MediaError(
        display_path(out), f"no {' or '.join(names)} encoder in this ffmpeg build", "export to .wav or .flac instead"
    )


def _audio_out(oc: av.container.OutputContainer, codec: str, src: av.AudioStream) -> av.AudioStream:
    info = av.Codec(codec, "w")
    rate = src.codec_context.sample_rate
    rates = info.audio_rates
    if rates and rate not in rates:
        higher = [r for r in rates if r >= rate]
        rate = min(higher) if higher else max(rates)
    layout = "mono" if _piece_layout(src.codec_context.layout) == "mono" else "stereo"
    stream = oc.add_stream(codec, rate=rate, layout=layout)
    if info.audio_formats:
        stream.format = info.audio_formats[0].name
    if codec == "libmp3lame" or codec == "aac":
        stream.bit_rate = 192_000
    return stream


def _video_out(oc: av.container.OutputContainer, codec: str, src: av.VideoStream, rotation: int = 0) -> av.VideoStream:
    """An encoder stream for ``src``'s pictures, turned upright by ``rotation`` (degrees counter-clockwise).

    Frames are stamped in :data:`_VIDEO_TICKS` ticks a second, not in frames: a variable frame
    rate keeps every frame at its own time (at the average rate, frames 20 ms apart fell on one tick).
    """
    rate = src.average_rate or src.guessed_rate or Fraction(25)
    rate = Fraction(rate).limit_denominator(1001) if rate else Fraction(25)
    stream = oc.add_stream(codec, rate=rate, options=_VIDEO_OPTIONS.get(codec, {}))
    stream.codec_context.time_base = Fraction(1, _VIDEO_TICKS[codec])
    width, height = src.codec_context.width, src.codec_context.height
    if rotation in (90, 270):
        width, height = height, width
    stream.width = max(2, width // 2 * 2)
    stream.height = max(2, height // 2 * 2)
    stream.pix_fmt = "yuv420p"
    if codec in _VIDEO_BIT_RATE:
        stream.bit_rate = _VIDEO_BIT_RATE[codec]
    return stream


def _reencode(
    inp: _Input,
    audio: av.AudioStream | None,
    video: av.VideoStream | None,
    ofp: BinaryIO,
    spec: _Output,
    start_s: float,
    end_s: float,
    out: Path,
    name: str,
) -> tuple[float, float]:
    acodec = _encoder(spec.audio, out) if audio is not None else None
    vcodec = _encoder(spec.video, out) if video is not None else None
    sources = [s for s in (video, audio) if s is not None]
    rotation = _rotation(inp, video, start_s) if video is not None and vcodec else 0
    with av.open(ofp, "w", format=spec.muxer) as oc:
        aout = _audio_out(oc, acodec, audio) if audio is not None and acodec else None
        vout = _video_out(oc, vcodec, video, rotation) if video is not None and vcodec else None
        _seek(inp, sources[0], start_s - _SEEK_PREROLL_S)
        cuts = _Cuts(start_s, end_s, inp.origin_s, rotation)
        for packet in inp.container.demux(sources):
            t = _time(packet.dts if packet.dts is not None else packet.pts, packet.stream, inp.origin_s)
            if t is not None and t >= end_s + 2.0:
                break
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:
                log.debug("skipping an undecodable packet (%s)", exc)
                continue
            for frame in frames:
                if packet.stream is audio and aout is not None:
                    for piece in cuts.audio(frame, audio):
                        oc.mux(aout.encode(piece))
                elif packet.stream is video and vout is not None:
                    piece = cuts.video(frame, video, vout)
                    if piece is not None:
                        oc.mux(vout.encode(piece))
        for stream in (aout, vout):
            if stream is not None:
                oc.mux(stream.encode(None))
        if cuts.first_s == math.inf:
            raise MediaError(
                name,
                f"nothing decodes between {start_s:.3f} and {end_s:.3f} s",
                "the file may be truncated or damaged there: `sensorium describe` shows where it ends",
            )
        if vout is not None and cuts.first_video_s is None:  # never an audio-only "video" clip, in silence
            raise MediaError(
                name,
                f"no picture of the video falls between {start_s:.3f} and {end_s:.3f} s (its frames' times"
                " are missing or wrong there)",
                "name an audio output such as .wav for the sound alone, or re-mux the file with ffmpeg",
            )
    return max(cuts.first_s, start_s), cuts.last_s


def _rotation(inp: _Input, video: av.VideoStream, start_s: float) -> int:
    """The display rotation of the first picture at ``start_s`` (0, 90, 180 or 270), from its display matrix."""
    _seek(inp, video, start_s - _SEEK_PREROLL_S)
    with contextlib.suppress(av.FFmpegError):
        for packet in inp.container.demux(video):
            for frame in packet.decode():
                return round((frame.rotation or 0) / 90) * 90 % 360
    return 0


def _piece_layout(layout: av.AudioLayout) -> str:
    """The layout decoded audio is handed to the encoder in.

    Only named layouts: encoders refuse an unordered "2 channels", and ffmpeg cannot downmix
    "6 channels" without knowing which is which. Unordered audio of 3 to 8 channels is taken
    in the usual order for its count (6 as 5.1, as ffmpeg guesses for a WAV without a channel
    mask) and downmixed to stereo by ffmpeg like a named surround layout; averaging it to mono
    lost the stereo image. More than 8 unordered channels are averaged to mono.
    """
    channels = layout.nb_channels
    if channels == 1:
        return "mono"
    if channels == 2:
        return "stereo"
    if not layout.name.endswith("channels"):
        return layout.name
    return _USUAL_LAYOUTS.get(channels, "mono")


_USUAL_LAYOUTS = {3: "3.0", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


class _Cuts:
    """Trims decoded frames to [start, end) and restamps them from zero."""

    def __init__(self, start_s: float, end_s: float, origin_s: float, rotation: int = 0) -> None:
        self.start_s, self.end_s, self.origin_s = start_s, end_s, origin_s
        self.rotation = rotation
        self.first_s, self.last_s = math.inf, -math.inf
        self.next_audio_s: float | None = None
        self.last_video_pts = -1
        self.first_video_s: float | None = None
        self.first_video_pts = 0

    def audio(self, frame: av.AudioFrame, stream: av.AudioStream) -> list[av.AudioFrame]:
        rate = frame.sample_rate
        t = _time(frame.pts, stream, self.origin_s)
        t = self.next_audio_s if t is None else t
        if t is None:
            return []
        self.next_audio_s = t + frame.samples / rate
        lo = max(0, round((self.start_s - t) * rate))
        hi = min(frame.samples, round((self.end_s - t) * rate))
        if hi <= lo:
            return []
        samples = frame_to_float(frame)[lo:hi]
        layout = _piece_layout(frame.layout)
        if layout == "mono" and samples.shape[1] > 1:
            samples = samples.mean(axis=1, keepdims=True)
        piece = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples).reshape(1, -1), format="flt", layout=layout)
        piece.sample_rate = rate
        piece.time_base = Fraction(1, rate)
        piece.pts = round((t - self.start_s) * rate) + lo
        self.first_s = min(self.first_s, t + lo / rate)
        self.last_s = max(self.last_s, t + hi / rate)
        return [piece]

    def video(self, frame: av.VideoFrame, stream: av.VideoStream, out: av.VideoStream) -> av.VideoFrame | None:
        t = _time(frame.pts, stream, self.origin_s)
        if t is None or not self.start_s - 1e-6 <= t < self.end_s:
            return None
        ticks = out.codec_context.time_base.denominator
        if self.first_video_s is None:
            self.first_video_s, self.first_video_pts = t, round((t - self.start_s) * ticks)
        pts = self.first_video_pts + round((t - self.first_video_s) * ticks)  # counted from the first frame
        if pts <= self.last_video_pts:
            return None
        self.last_video_pts = pts
        if self.rotation:  # turned upright in pixels: every player shows it so, whatever the container
            upright = np.rot90(frame.to_ndarray(format="rgb24"), k=self.rotation // 90)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(upright), format="rgb24")
        piece = frame.reformat(width=out.width, height=out.height, format="yuv420p")
        piece.pts = pts
        piece.time_base = Fraction(1, ticks)
        rate = out.average_rate or Fraction(25)
        self.first_s = min(self.first_s, t)
        self.last_s = max(self.last_s, t + float(1 / Fraction(rate)))
        return piece
