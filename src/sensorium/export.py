"""Search hits written out as files: each moment cut from its recording or video, each photo or document copied.

``sensorium search "glass breaking" --json | sensorium export - -o moments/`` turns a ranked list
into a folder a user can play, share or hand to an editor, in the search's order: the rank leads
each name, then the source's name and, for a moment, its times. Moments go through
:func:`~sensorium.media.clip.export_clip` (a stream copy where the container allows), in the
source's own format where a clip can be written in it. A hit that fails (its file gone, a time past
the end, an output already there) is reported with its reason; the others are still written.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sensorium.errors import MediaError, QueryError
from sensorium.media.clip import SOUND_OUTPUTS, VIDEO_OUTPUTS, export_clip
from sensorium.media.walk import display_path


@dataclass(frozen=True)
class Exported:
    """One hit written out (``path``), or the reason it was not (``error``)."""

    rank: int  # from 1, the hit's place in the list given
    source: str
    start: float | None
    end: float | None
    path: str | None = None
    copied: bool = False  # a stream copy or the whole file, nothing re-encoded
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "source": self.source,
            "start": None if self.start is None else round(self.start, 3),
            "end": None if self.end is None else round(self.end, 3),
            "path": self.path,
            "copied": self.copied,
            "error": self.error,
        }


def output_suffix(source: str, modality: str) -> str:
    """The suffix a moment of ``source`` is written with: its own where a clip can take it, else the usual
    one of its kind (.mp4 for a video, .m4a for a sound)."""
    suffix = Path(source).suffix.lower()
    if modality == "video":
        return suffix if suffix in VIDEO_OUTPUTS else ".mp4"
    if suffix == ".oga":
        return ".ogg"
    return suffix if suffix in SOUND_OUTPUTS or suffix in VIDEO_OUTPUTS else ".m4a"


def read_hits(data: Any, name: str = "hits") -> list[dict[str, Any]]:
    """The hits of a ``search --json`` document (a list of objects with ``path``, ``start``, ``end``).

    Raises:
        QueryError: ``data`` is not such a list (an entry that is not is reported by :func:`export_hits`).
    """
    if isinstance(data, dict) and isinstance(data.get("hits"), list):  # an HTTP /api/search answer
        data = data["hits"]
    if not isinstance(data, list):
        kind = type(data).__name__
        raise QueryError(f"{name}: expected a list of hits as `search --json` prints, got a JSON {kind}")
    return data


def export_hits(
    hits: Iterable[Any],
    folder: Path,
    *,
    pad: float = 0.0,
    overwrite: bool = False,
    reencode: bool | None = None,
) -> list[Exported]:
    """Write each hit into ``folder`` (created if missing), in order; returns what became of each.

    Args:
        pad: seconds added before and after each moment (not before the file's start or past its end).
        overwrite: replace files already in ``folder`` with the same names.
        reencode: as :func:`~sensorium.media.clip.export_clip`: ``None`` copies where it can.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise QueryError(f"{folder}: is a file; give a folder to write the hits into") from None
    except OSError as exc:
        raise QueryError(f"{folder}: cannot create the folder ({exc.strerror or exc})") from None
    out: list[Exported] = []
    written: dict[str, str] = {}  # a whole file already copied -> where (several passages of one PDF)
    for rank, hit in enumerate(hits, start=1):
        try:
            source, start, end, modality = _fields(hit)
        except ValueError as exc:
            src = hit.get("path") if isinstance(hit, dict) and isinstance(hit.get("path"), str) else ""
            out.append(Exported(rank, src, None, None, error=str(exc)))
            continue
        try:
            if start is None or end is None:
                if source in written:
                    out.append(Exported(rank, source, None, None, written[source], copied=True))
                    continue
                target = folder / f"{rank:03d}-{Path(source).name}"
                _copy_whole(Path(source), target, overwrite)
                written[source] = str(target)
                out.append(Exported(rank, source, None, None, str(target), copied=True))
                continue
            lo, hi = max(0.0, start - pad), end + pad
            lead, suffix = f"{rank:03d}-{Path(source).stem}", output_suffix(source, modality)
            asked = folder / f"{lead}-{_secs(lo)}-{_secs(hi)}{suffix}"
            result = export_clip(source, lo, hi, asked, reencode=reencode, overwrite=overwrite)
            path = Path(result.path)
            exact = folder / f"{lead}-{_secs(result.start_s)}-{_secs(result.end_s)}{suffix}"  # a keyframe, the end
            if exact != path and (overwrite or not exact.exists()):
                path = path.replace(exact)
            out.append(Exported(rank, source, result.start_s, result.end_s, str(path), copied=result.copied))
        except MediaError as exc:
            reason = exc.detail if exc.path in (source, display_path(source)) else str(exc)
            out.append(Exported(rank, source, start, end, error=reason))
        except OSError as exc:
            out.append(Exported(rank, source, start, end, error=f"cannot write ({exc.strerror or exc})"))
    return out


def _fields(hit: Any) -> tuple[str, float | None, float | None, str]:
    if not isinstance(hit, dict):
        raise ValueError(f"not a hit (a JSON {type(hit).__name__}, not an object with a path)")
    source = hit.get("path")
    if not isinstance(source, str) or not source:
        raise ValueError("a hit without a path")
    times = []
    for key in ("start", "end"):
        t = hit.get(key)
        if t is not None and (isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t < 0):
            raise ValueError(f"{key} {t!r} is not a number of seconds")
        times.append(None if t is None else float(t))
    start, end = times
    if start is not None and end is not None and not start < end:
        raise ValueError(f"start {start:g} is not before end {end:g}")
    modality = hit.get("modality") if isinstance(hit.get("modality"), str) else ""
    return source, start, end, modality or ("video" if Path(source).suffix.lower() in VIDEO_OUTPUTS else "audio")


def _copy_whole(src: Path, target: Path, overwrite: bool) -> None:
    if not src.is_file():
        what = "no such file" if not src.exists() else "not a file"
        raise MediaError(str(src), what, "index again, or re-run the search")
    if target.exists() and not overwrite:
        raise MediaError(str(src), f"{display_path(target)} exists", "--overwrite replaces it")
    tmp = target.with_name(f".{target.name}.part")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _secs(t: float) -> str:
    """Seconds in a file name, to the hundredth (a clip's own times are in the JSON report)."""
    return f"{t:.2f}"
