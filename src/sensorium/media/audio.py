"""Decode any audio ffmpeg reads into mono float32 at the rates the models want, in blocks.

A file is never held whole: :func:`stream_audio` decodes with PyAV, downmixes each frame to
mono (the mean of its channels), resamples with one streaming soxr filter per requested rate
and yields fixed-length blocks, so a three-hour recording costs the memory of one block.

Times are seconds on the file's own timeline, zero being the container's start time (what a
player shows as 0:00; an MP3's encoder delay or a video's late-starting audio is not 0).
Blocks are sample-exact: at rate ``r``, block ``k`` holds samples
``round(k * block_s * r)`` to ``round((k + 1) * block_s * r)`` counted from ``start_s``, so a
sample's time follows from its offset alone. To keep that true on broken timelines, a jump
forward in the stream's timestamps of more than 50 ms (a dropout in a capture, audio that
starts after the video) is filled with silence; smaller jitter, overlaps and jumps over ten
minutes (a timestamp reset) are concatenated as decoded.

Damage is tolerated where ffmpeg can: a truncated file yields what is there (with a warning)
and a packet that does not decode is skipped; a file with no decodable audio at all raises.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np
import soxr

from sensorium.errors import MediaError
from sensorium.media.probe import MISSING_INDEX, describe, image_format, mp4_without_index, open_regular, sniff
from sensorium.media.tags import FileTags, container_tags
from sensorium.media.walk import display_path, os_reason

log = logging.getLogger(__name__)

MAX_SAMPLE_RATE_HZ = 1_536_000  # above DSD decoded to PCM; anything higher is a corrupt header
MIN_SAMPLE_RATE_HZ = 1_000  # below this a header is corrupt: 1 Hz made 24 KB last 3 hours, decoded in 6.5 GB
MAX_CHANNELS = 256
QUALITY = "HQ"  # soxr's 20-bit-accurate sinc filter; "VHQ" measured ~1.5x slower for no audible gain

_CHUNK_SAMPLES = 1 << 16  # native samples per resampler call; frames are ~1k samples, too small to feed alone
_SILENCE_CHUNK = 1 << 20
_DECODER_PREROLL_S = 0.5  # decoded before a seek target and dropped: MP3 bit reservoir, Opus/AAC priming
# Nearer the start than this, decoding from the beginning (~0.1 s of CPU) beats trusting a
# demuxer's post-seek timestamps (Matroska rounds to 1 ms, MS-ADPCM WAV is a sample off).
_SEEK_MIN_S = 30.0
_FILTER_MARGIN_S = 0.1  # native audio fed past each end so the filter edges match a whole-file decode
_GAP_TOLERANCE_S = 0.05
_MAX_GAP_S = 600.0
_MAX_READ_ERRORS = 8
_LOAD_BLOCK_S = 600.0
_TRUNCATION_WARN_S = 0.5

# sample format (without the planar "p") -> (offset, scale) to float in [-1, 1]
_TO_FLOAT: dict[str, tuple[float, float]] = {
    "u8": (128.0, 1.0 / 128),
    "s16": (0.0, 1.0 / 32768),
    "s32": (0.0, 2.0**-31),
    "flt": (0.0, 1.0),
    "s64": (0.0, 2.0**-63),
    "dbl": (0.0, 1.0),
}
_DTYPES = {"u8": np.uint8, "s16": np.int16, "s32": np.int32, "s64": np.int64, "flt": np.float32, "dbl": np.float64}


@dataclass(frozen=True)
class AudioInfo:
    """What the container header says about the audio track that :func:`stream_audio` decodes."""

    path: str
    duration_s: float | None  # None when the header does not say (raw streams, some live captures)
    sample_rate: int
    channels: int
    codec: str
    container: str
    stream_index: int
    # its title, artist, comment..., its date (:func:`sensorium.media.tags.container_tags`)
    tags: FileTags = field(default_factory=FileTags)


@dataclass(frozen=True)
class AudioBlock:
    """Consecutive mono audio at each requested rate."""

    start_s: float  # time of the block's first sample in the source
    samples: dict[int, np.ndarray]  # rate -> mono float32 in [-1, 1], one entry per requested rate


def audio_info(path: Path) -> AudioInfo:
    """Describe the audio track of ``path`` from its header; no sample is decoded.

    Raises:
        MediaError: unreadable, not a media file, no audio track, or an implausible header.
    """
    with _Source.open(path) as src:
        return src.info()


def has_audio_track(path: Path) -> bool:
    """Whether ``path`` holds a sound track this module can decode (album-art-only files do not)."""
    try:
        audio_info(path)
        return True
    except MediaError:
        return False


def stream_audio(
    path: Path,
    rates: Sequence[int],
    *,
    block_s: float = 60.0,
    start_s: float = 0.0,
    end_s: float | None = None,
    max_seconds: float | None = None,
) -> Iterator[AudioBlock]:
    """Decode ``path`` as mono float32 at each rate in ``rates``, ``block_s`` seconds at a time.

    Args:
        rates: output sample rates in Hz, each resampled from the file's native rate.
        block_s: block length in seconds; the last block holds what remains.
        start_s: first time to decode (the container is seeked, then cut sample-exactly).
        end_s: time to stop at (exclusive); ``None`` for the end of the file.
        max_seconds: decode at most this many seconds from ``start_s`` (the caller notes the cut).

    The header is read at once, so a missing or audio-less file raises here; decoding
    problems (no decodable sample, ``start_s`` past the end) raise while iterating.

    Raises:
        MediaError: see :func:`audio_info`, plus no decodable audio and ``start_s`` past the end.
        ValueError: rates, block length or times out of range (a caller's bug).
    """
    rates = _check_rates(rates)
    if not block_s > 0:
        raise ValueError(f"block_s must be positive, got {block_s}")
    stop_s = _stop(start_s, end_s, max_seconds)
    src = _Source.open(path)
    return _blocks(src, rates, block_s, start_s, stop_s)


def load_audio(
    path: Path, rate: int, *, start_s: float = 0.0, end_s: float | None = None, max_seconds: float | None = None
) -> np.ndarray:
    """The whole (or the selected part of the) audio of ``path`` as mono float32 at ``rate``.

    Holds the result in memory; use :func:`stream_audio` or ``max_seconds`` for long files.
    Raises as :func:`stream_audio`.
    """
    blocks = stream_audio(path, [rate], block_s=_LOAD_BLOCK_S, start_s=start_s, end_s=end_s, max_seconds=max_seconds)
    parts = [block.samples[rate] for block in blocks]
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def resample(x: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Resample ``x`` (samples along the first axis) from ``src_rate`` to ``dst_rate`` Hz, as float32.

    A band-limited sinc filter (soxr, quality :data:`QUALITY`); the output has
    ``round(len(x) * dst_rate / src_rate)`` samples and no delay.
    """
    _check_rates([src_rate, dst_rate])
    x = np.asarray(x, dtype=np.float32)
    if src_rate == dst_rate:
        return x.copy()
    if x.shape[0] == 0:
        return np.zeros((0, *x.shape[1:]), np.float32)
    return soxr.resample(x, src_rate, dst_rate, quality=QUALITY)


def block_bound(k: int, block_s: float, rate: int) -> int:
    """Offset, in samples at ``rate``, of the first sample of block ``k`` from the start."""
    return round(k * block_s * rate)


def frame_to_mono(frame: av.AudioFrame) -> np.ndarray:
    """A decoded frame as mono float32 (the mean of its channels) on the [-1, 1] scale, not clipped."""
    base, dtype, n, channels = _frame_layout(frame)
    planes = frame.planes
    if frame.format.is_planar or channels == 1:
        mono = np.frombuffer(planes[0], dtype, count=n).astype(np.float32)
        for plane in planes[1:channels]:
            mono += np.frombuffer(plane, dtype, count=n)
    else:
        mono = np.frombuffer(planes[0], dtype, count=n * channels).reshape(n, channels).sum(axis=1, dtype=np.float32)
    offset, scale = _TO_FLOAT[base]
    if offset:
        mono -= offset * channels
    scale /= channels
    if scale != 1.0:
        mono *= scale
    return mono


def frame_to_float(frame: av.AudioFrame) -> np.ndarray:
    """A decoded frame as float32 of shape (samples, channels) on the [-1, 1] scale, not clipped."""
    base, dtype, n, channels = _frame_layout(frame)
    if frame.format.is_planar:
        out = np.empty((n, channels), np.float32)
        for i, plane in enumerate(frame.planes[:channels]):
            out[:, i] = np.frombuffer(plane, dtype, count=n)
    else:
        out = np.frombuffer(frame.planes[0], dtype, count=n * channels).reshape(n, channels).astype(np.float32)
    offset, scale = _TO_FLOAT[base]
    if offset:
        out -= offset
    if scale != 1.0:
        out *= scale
    return out


def _frame_layout(frame: av.AudioFrame) -> tuple[str, type[np.generic], int, int]:
    # Views on the planes rather than to_ndarray(), which copies every plane into a stack and
    # (PyAV 18) lists more planes than channels for planar audio with 8 or more channels,
    # reading past the frame: only the first ``channels`` planes are ever touched here.
    base = frame.format.name.rstrip("p")
    return base, _DTYPES[base], frame.samples, frame.layout.nb_channels


# ---------------------------------------------------------------- arguments


def _check_rates(rates: Sequence[int]) -> list[int]:
    out = [int(r) for r in rates]
    if not out:
        raise ValueError("at least one output rate is needed")
    if len(set(out)) != len(out):
        raise ValueError(f"output rates repeat: {out}")
    for rate, given in zip(out, rates, strict=True):
        if rate != given or not 1 <= rate <= MAX_SAMPLE_RATE_HZ:
            raise ValueError(f"sample rates must be whole numbers from 1 to {MAX_SAMPLE_RATE_HZ} Hz, got {given!r}")
    return out


def _stop(start_s: float, end_s: float | None, max_seconds: float | None) -> float | None:
    if not (math.isfinite(start_s) and start_s >= 0):
        raise ValueError(f"start_s must be a finite time >= 0, got {start_s}")
    if end_s is not None and not end_s > start_s:
        raise ValueError(f"end_s ({end_s}) must be after start_s ({start_s})")
    if max_seconds is not None:
        if not max_seconds > 0:
            raise ValueError(f"max_seconds must be positive, got {max_seconds}")
        cap = start_s + max_seconds
        end_s = cap if end_s is None else min(end_s, cap)
    return end_s


# ---------------------------------------------------------------- the source file


class _Source:
    """An open container and its chosen audio stream; closes the file it owns."""

    def __init__(self, name: str, fp: BinaryIO, container: av.container.InputContainer, head: bytes) -> None:
        self.name = name
        self.fp = fp
        self.container = container
        self.stream = _pick_stream(container, name, head)
        ctx = self.stream.codec_context
        self.rate = int(ctx.sample_rate)
        self.channels = int(ctx.channels)
        if not MIN_SAMPLE_RATE_HZ <= self.rate <= MAX_SAMPLE_RATE_HZ:
            raise MediaError(
                name,
                f"implausible sample rate {self.rate} Hz in the header (sound is {MIN_SAMPLE_RATE_HZ} to "
                f"{MAX_SAMPLE_RATE_HZ} Hz)",
                "the file is corrupt",
            )
        if not 1 <= self.channels <= MAX_CHANNELS:
            raise MediaError(name, f"implausible channel count {self.channels} in the header", "the file is corrupt")
        self.time_base = float(self.stream.time_base) if self.stream.time_base else 1.0 / self.rate
        if container.start_time is not None:
            self.origin_s = container.start_time / av.time_base
        elif self.stream.start_time is not None:
            self.origin_s = self.stream.start_time * self.time_base
        else:
            self.origin_s = 0.0
        if container.duration is not None and container.duration > 0:
            self.duration_s: float | None = container.duration / av.time_base
        elif self.stream.duration:
            self.duration_s = self.stream.duration * self.time_base
        else:
            self.duration_s = None
        self.last_error = ""
        self._warned_rate = False

    @classmethod
    def open(cls, path: Path) -> _Source:
        name = display_path(path)
        fp = open_regular(path)
        try:
            head = fp.read(4096)
            fp.seek(0)
            try:
                container = av.open(fp, mode="r", metadata_errors="ignore")
            except av.FFmpegError as exc:
                if mp4_without_index(fp):
                    raise MediaError(name, *MISSING_INDEX) from exc
                raise _open_error(name, head, exc) from exc
            try:
                return cls(name, fp, container, head)
            except BaseException:
                container.close()
                raise
        except OSError as exc:
            fp.close()
            raise MediaError(name, f"cannot read: {os_reason(exc)}", "check the file and the disk") from exc
        except BaseException:
            fp.close()
            raise

    def __enter__(self) -> _Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.container.close()
        self.fp.close()

    def info(self) -> AudioInfo:
        return AudioInfo(
            path=self.name,
            duration_s=self.duration_s,
            sample_rate=self.rate,
            channels=self.channels,
            codec=self.stream.codec_context.name,
            container=self.container.format.name,
            stream_index=self.stream.index,
            tags=container_tags(self.container),
        )

    def seek(self, time_s: float) -> None:
        """Seek to at or before ``time_s``; on failure decoding simply starts at the beginning."""
        target = int((max(0.0, time_s) + self.origin_s) / self.time_base)
        try:
            self.container.seek(target, stream=self.stream, backward=True)
        except av.FFmpegError as exc:
            log.debug("%s: seek failed (%s); decoding from the start", self.name, exc)

    def position(self, frame: av.AudioFrame) -> int | None:
        """Native-rate sample index of the frame's first sample, from its timestamp."""
        pts = frame.pts
        if pts is None:
            return None
        # Decoded frames carry the stream's time base (PyAV sets it on every demuxed packet).
        return round((pts * self.time_base - self.origin_s) * self.rate)

    def frames(self) -> Iterator[av.AudioFrame]:
        """Decoded frames; undecodable packets are skipped, a failing read ends the stream."""
        bad, read_errors, last = 0, 0, ""
        packets = self.container.demux(self.stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.FFmpegError as exc:
                read_errors += 1
                last = _ffmpeg_reason(exc)
                if read_errors > _MAX_READ_ERRORS:
                    log.warning("%s: stopped reading after %d read errors (%s)", self.name, read_errors, last)
                    break
                packets = self.container.demux(self.stream)
                continue
            except OSError as exc:
                raise MediaError(self.name, f"cannot read: {os_reason(exc)}", "check the file and the disk") from exc
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:
                bad += 1
                last = _ffmpeg_reason(exc)
                continue
            yield from frames
        if bad:
            log.warning("%s: skipped %d undecodable audio packet(s) (%s)", self.name, bad, last)
        self.last_error = last

    def native_mono(self, frame: av.AudioFrame) -> np.ndarray:
        """:func:`frame_to_mono` at the stream's rate, for the rare stream whose rate changes midway."""
        x = frame_to_mono(frame)
        if frame.sample_rate != self.rate and x.size:
            if not self._warned_rate:
                log.warning("%s: sample rate changes mid-stream (%d Hz)", self.name, frame.sample_rate)
                self._warned_rate = True
            if not MIN_SAMPLE_RATE_HZ <= frame.sample_rate <= MAX_SAMPLE_RATE_HZ:
                return np.zeros(0, np.float32)  # a corrupt frame: at 1 Hz its 1024 samples would last 17 min
            x = resample(x, frame.sample_rate, self.rate)
        return x


def _pick_stream(container: av.container.InputContainer, name: str, head: bytes) -> av.AudioStream:
    """ffmpeg's pick (default disposition, most channels); else the first audio stream, to name its fault."""
    stream = container.streams.best("audio") or next(iter(container.streams.audio), None)
    if stream is None:
        fmt = image_format(head)
        kinds = sorted({s.type for s in container.streams})
        if fmt:
            what = f"it is a {fmt.upper()} image"
        elif kinds:
            what = f"the file holds only {' and '.join(kinds)}"
        else:
            what = "the container holds no streams"
        raise MediaError(name, f"no audio track ({what})", "index it as an image or video, or skip it")
    if stream.codec_context is None:
        raise MediaError(name, "unsupported audio codec (ffmpeg has no decoder for it)", "convert it to WAV or FLAC")
    others = len(container.streams.audio) - 1
    if others and name not in _TRACKS_TOLD:  # a second language, a commentary: not heard, and the user should know
        _TRACKS_TOLD.add(name)
        log.warning("%s: %d other audio track%s left out; only the main one is read", name, others, "s"[: others > 1])
    return stream


_TRACKS_TOLD: set[str] = set()  # files already warned about in this process (a file is opened more than once)


def _open_error(name: str, head: bytes, exc: av.FFmpegError) -> MediaError:
    detail = _ffmpeg_reason(exc)
    if isinstance(exc, av.error.DecoderNotFoundError | av.error.DemuxerNotFoundError):
        return MediaError(name, f"unsupported audio format ({detail})", "convert it to WAV or FLAC")
    kind = sniff(head)
    if kind in ("audio", "video"):
        return MediaError(name, f"corrupt or unsupported {kind} file header ({detail})", "re-export or re-download it")
    looks = "text" if kind == "text" else describe(head)
    return MediaError(name, f"not an audio or video file (content looks like {looks})", "skip it")


def _ffmpeg_reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return f"ffmpeg: {' '.join(str(text).split()).lower()}"


# ---------------------------------------------------------------- native samples on the timeline


def _placed(src: _Source, first: int, stop: int | None) -> Iterator[np.ndarray]:
    """Mono native-rate samples from global index ``first`` up to ``stop``, contiguous, gaps filled.

    Raises:
        MediaError: nothing decodable in the whole track.
    """
    if first / src.rate - _DECODER_PREROLL_S > _SEEK_MIN_S:
        src.seek(first / src.rate - _DECODER_PREROLL_S)
    line = _Timeline(src.name, src.rate, first, stop)
    for frame in src.frames():
        x = src.native_mono(frame)
        if x.size:
            yield from line.place(x, src.position(frame))
            if line.done:
                return
    if line.cursor is None:
        if src.last_error:
            raise MediaError(src.name, f"no decodable audio samples ({src.last_error})", "re-export or re-download it")
        raise MediaError(src.name, "no audio samples (the audio track is empty)", "re-export or re-download it")
    end_s, declared = line.cursor / src.rate, src.duration_s
    if first == 0 and declared and end_s < declared - max(_TRUNCATION_WARN_S, 0.05 * declared):
        # 5%: an MP3 without a Xing header only has a bitrate estimate of its length
        log.warning(
            "%s: decoded %.2f s of the %.2f s the header declares; the file looks truncated", src.name, end_s, declared
        )


class _Timeline:
    """Places decoded frames on the file's sample grid and keeps the samples in ``[first, stop)``."""

    def __init__(self, name: str, rate: int, first: int, stop: int | None) -> None:
        self.name, self.rate, self.first, self.stop = name, rate, first, stop
        self.cursor: int | None = None  # grid index of the next sample
        self.tolerance = round(_GAP_TOLERANCE_S * rate)
        self.max_gap = round(_MAX_GAP_S * rate)

    @property
    def done(self) -> bool:
        return self.stop is not None and self.cursor is not None and self.cursor >= self.stop

    def place(self, x: np.ndarray, pos: int | None) -> Iterator[np.ndarray]:
        """``x`` decoded with its first sample at grid index ``pos`` (``None``: right after the last)."""
        if self.cursor is None:  # the first frame is placed exactly, after silence if it starts late
            self.cursor = self.first if pos is None else min(pos, self.first)
            tolerance = 0
        else:
            tolerance = self.tolerance
        if pos is not None and pos - self.cursor > tolerance:
            if pos - self.cursor <= self.max_gap:
                yield from _silence(self.cursor, pos, self.first, self.stop)
                self.cursor = pos
            else:
                jump = (pos - self.cursor) / self.rate
                log.warning("%s: timestamps jump by %.1f s; joining the audio across it", self.name, jump)
        lo = max(self.first - self.cursor, 0)
        hi = len(x) if self.stop is None else min(len(x), self.stop - self.cursor)
        if hi > lo:
            yield x[lo:hi]
        self.cursor += len(x)


def _silence(lo: int, hi: int, first: int, stop: int | None) -> Iterator[np.ndarray]:
    lo = max(lo, first)
    if stop is not None:
        hi = min(hi, stop)
    while lo < hi:
        n = min(hi - lo, _SILENCE_CHUNK)
        yield np.zeros(n, np.float32)
        lo += n


def _batched(chunks: Iterator[np.ndarray], size: int) -> Iterator[np.ndarray]:
    parts: list[np.ndarray] = []
    count = 0
    for x in chunks:
        parts.append(x)
        count += len(x)
        if count >= size:
            yield np.concatenate(parts) if len(parts) > 1 else parts[0]
            parts, count = [], 0
    if parts:
        yield np.concatenate(parts)


# ---------------------------------------------------------------- per-rate output and blocks


class _RateOut:
    """One output rate: a streaming resampler, samples to drop at the start, a queue of output."""

    def __init__(self, rate: int, native: int, skip: int, total: int | None) -> None:
        self.rate = rate
        self.stream = None if rate == native else soxr.ResampleStream(native, rate, 1, dtype="float32", quality=QUALITY)
        self.skip = skip
        self.left = total
        self.parts: deque[np.ndarray] = deque()
        self.count = 0

    def push(self, x: np.ndarray, *, last: bool = False) -> None:
        y = x if self.stream is None else self.stream.resample_chunk(x, last=last)
        if self.skip:
            drop = min(self.skip, len(y))
            y = y[drop:]
            self.skip -= drop
        if self.left is not None:
            y = y[: self.left]
            self.left -= len(y)
        if len(y):
            self.parts.append(y)
            self.count += len(y)

    def take(self, n: int) -> np.ndarray:
        out = np.empty(n, np.float32)
        filled = 0
        while filled < n:
            part = self.parts.popleft()
            use = min(len(part), n - filled)
            out[filled : filled + use] = part[:use]
            if use < len(part):
                self.parts.appendleft(part[use:])
            filled += use
        self.count -= n
        np.clip(out, -1.0, 1.0, out=out)  # decoders and the filter's ringing overshoot full scale slightly
        return out


def _blocks(
    src: _Source, rates: list[int], block_s: float, start_s: float, stop_s: float | None
) -> Iterator[AudioBlock]:
    with src:
        native = src.rate
        # Start the filters on a native sample that falls on every output grid, so a slice
        # decodes to the same samples as the whole file does.
        step = math.lcm(*(native // math.gcd(native, r) for r in rates))
        margin = round(_FILTER_MARGIN_S * native)
        first = max(0, (round(start_s * native) - margin) // step * step)
        stop = None if stop_s is None else math.ceil(stop_s * native) + margin
        outs = [
            _RateOut(
                r,
                native,
                skip=round(start_s * r) - first * r // native,
                total=None if stop_s is None else round((stop_s - start_s) * r),
            )
            for r in rates
        ]
        k = 0
        for chunk in _batched(_placed(src, first, stop), _CHUNK_SAMPLES):
            for out in outs:
                out.push(chunk)
            while _full(outs, k, block_s):
                yield _take(outs, k, block_s, start_s)
                k += 1
        for out in outs:
            out.push(np.zeros(0, np.float32), last=True)
        while _full(outs, k, block_s):
            yield _take(outs, k, block_s, start_s)
            k += 1
        if any(out.count for out in outs):
            sizes = [min(out.count, _need(k, block_s, out.rate)) for out in outs]
            yield AudioBlock(start_s + k * block_s, {o.rate: o.take(n) for o, n in zip(outs, sizes, strict=True)})
            k += 1
        if k == 0:
            duration = f"{src.duration_s:.3f} s" if src.duration_s is not None else "unknown length"
            raise MediaError(
                src.name,
                f"start {start_s:.3f} s is at or past the end of the audio ({duration})",
                "pick an earlier start",
            )


def _need(k: int, block_s: float, rate: int) -> int:
    return block_bound(k + 1, block_s, rate) - block_bound(k, block_s, rate)


def _full(outs: list[_RateOut], k: int, block_s: float) -> bool:
    return all(out.count >= _need(k, block_s, out.rate) for out in outs) and any(out.count for out in outs)


def _take(outs: list[_RateOut], k: int, block_s: float, start_s: float) -> AudioBlock:
    return AudioBlock(start_s + k * block_s, {out.rate: out.take(_need(k, block_s, out.rate)) for out in outs})
