"""How long an index run has left, with files weighed by what they are likely to cost.

Counting files alone, a run with a film at the end of a folder of photos promises seconds and
takes minutes, and one that starts with the film promises hours for the photos behind it. Each
file here gets a prior cost in seconds from its kind and size (a photo about a sixtieth of a
second, a minute of sound about a second, a minute of video a few seconds, an unchanged file
almost nothing), and each kind's prior is scaled by what that kind has cost in this run so far,
its last minute of work counting most (so a model loaded on the first file is soon forgotten).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sensorium.media.probe import RAW_SUFFIXES, TEXT_SUFFIXES

MEMORY_S = 60.0  # a kind's seconds of work older than this count for less (exponential)
PSEUDO_S = 0.5  # prior seconds of work a kind's own rate must outweigh before it is believed

# Bytes per second of media, by name, to turn a recording's or video's size into a duration
# (the median encodings: 16-bit WAV between mono 16 kHz and CD stereo, 160 kb/s MP3, 4 Mb/s video).
_AUDIO_BYTES_PER_S = {
    **dict.fromkeys((".wav", ".aif", ".aiff"), 100_000),
    ".flac": 80_000,
    **dict.fromkeys((".mp3", ".m4a", ".m4b", ".aac", ".wma", ".mka", ".weba"), 20_000),
    **dict.fromkeys((".ogg", ".oga", ".opus"), 14_000),
}
_VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".3gp", ".ogv"}
_VIDEO_SUFFIXES |= {".wmv", ".flv"}
_VIDEO_BYTES_PER_S = 500_000
_SLOW_PHOTOS = {".heic": 0.4, ".heif": 0.4, ".hif": 0.4, ".avif": 0.15}  # no reduced-size decoding
_OFFICE = {".docx", ".docm", ".odt", ".epub"}


def prior_cost(path: str | Path, size: int) -> tuple[str, float]:
    """A file's kind and the seconds it is likely to take on two cores (from ``make bench``)."""
    suffix = Path(path).suffix.lower()
    if suffix in _AUDIO_BYTES_PER_S:  # sound events at ~140x real time, speech at ~40x on its share
        return "sound", 0.02 + size / _AUDIO_BYTES_PER_S[suffix] / 60
    if suffix in _VIDEO_SUFFIXES:  # ~18x real time with its sound and speech
        return "video", 0.1 + size / _VIDEO_BYTES_PER_S / 18
    if suffix in RAW_SUFFIXES:
        return "raw photo", 0.15
    if suffix in _SLOW_PHOTOS:
        return "photo", _SLOW_PHOTOS[suffix]
    if suffix == ".pdf":  # from a text layer's tenth of a second a page to OCR's ten seconds a scan
        return "pdf", 0.05 + size * 1e-5
    if suffix in _OFFICE:
        return "document", 0.05 + size * 2e-6
    if suffix in TEXT_SUFFIXES or suffix in {".html", ".htm", ".xhtml"}:
        return "text", 0.005 + size * 5e-6
    if suffix in {".jpg", ".jpeg", ".jpe", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"}:
        return "photo", 0.017 + size * 2e-9
    return "other", 0.002


@dataclass(frozen=True)
class Estimate:
    """What a progress callback is told besides the file count."""

    share: float  # of the run's estimated work done, 0 to 1
    seconds_left: float | None  # None until there is time measured to go by


class Eta:
    """Estimates the time left in a run over ``files``, fed the progress as files are done.

    Args:
        files: the run's files, in the order they are indexed.
        unchanged: says whether a file (path, size, modification time) will be skipped as unchanged.
        clock: seconds, monotonic (tests pass their own).
    """

    def __init__(
        self,
        files: Sequence[str | Path],
        unchanged: Callable[[str, int, float], bool] = lambda *_: False,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.kinds: list[str] = []
        self.priors: list[float] = []
        for f in files:
            try:
                st = Path(f).stat()
                size, mtime = st.st_size, st.st_mtime
            except OSError:  # reported when its turn comes; it costs nothing
                self.kinds.append("other")
                self.priors.append(0.002)
                continue
            kind, cost = ("unchanged", 0.001) if unchanged(str(f), size, mtime) else prior_cost(f, size)
            self.kinds.append(kind)
            self.priors.append(cost)
        self.left: dict[str, float] = {}
        for kind, cost in zip(self.kinds, self.priors, strict=True):
            self.left[kind] = self.left.get(kind, 0.0) + cost
        self.total = sum(self.priors)
        self.spent: dict[str, float] = {}  # decayed seconds measured per kind
        self.worked: dict[str, float] = {}  # decayed prior seconds of work done per kind
        self._clock = clock
        self._last = clock()
        self._measured = 0.0
        self._full = 0  # files wholly credited
        self._partial = 0.0  # share of file ``_full`` credited
        self._done_work = 0.0

    def advance(self, done: float) -> Estimate:
        """Credit progress up to ``done`` files (a fraction: that share of the next file read)."""
        now = self._clock()
        dt, self._last = max(0.0, now - self._last), now
        n = len(self.priors)
        done = min(max(done, 0.0), float(n))
        current = min(n - 1, math.ceil(done) - 1 if done > int(done) else int(done) - 1)
        if current >= 0:
            kind = self.kinds[current]
            decay = math.exp(-dt / MEMORY_S)
            self.spent[kind] = self.spent.get(kind, 0.0) * decay + dt
            self.worked[kind] = self.worked.get(kind, 0.0) * decay
            self._measured += dt
        full, frac = int(done), done - int(done)
        while self._full < min(full, n):
            self._credit(self._full, 1.0 - self._partial)
            self._full, self._partial = self._full + 1, 0.0
        if full < n and frac > self._partial:
            self._credit(full, frac - self._partial)
            self._partial = frac
        return Estimate(share=self._done_work / self.total if self.total else 1.0, seconds_left=self._left())

    def _credit(self, i: int, share: float) -> None:
        kind, work = self.kinds[i], self.priors[i] * share
        self.worked[kind] = self.worked.get(kind, 0.0) + work
        self.left[kind] = max(0.0, self.left[kind] - work)
        self._done_work += work

    def _left(self) -> float | None:
        if self._full >= len(self.priors):
            return 0.0
        if self._measured < 1.0 or not self.worked:
            return None
        overall = sum(self.spent.values()) / max(sum(self.worked.values()), 1e-9)
        seconds = 0.0
        for kind, work in self.left.items():
            if work > 0:
                rate = (self.spent.get(kind, 0.0) + PSEUDO_S * overall) / (self.worked.get(kind, 0.0) + PSEUDO_S)
                seconds += work * rate
        return seconds
