"""Sensorium: put text, images, sound and speech (and later video) in one vector space, offline.

>>> import sensorium
>>> lib = sensorium.open("my-library")
>>> lib.index(["~/Pictures"])
>>> lib.search("a cat sleeping on a sofa")
>>> sensorium.classify(["shoes.jpg"], ["shoes", "shirts", "hats"])
>>> sensorium.describe("talk.mp3").events      # sound events and speech, with times
>>> sensorium.clip("talk.mp3", 61.2, 64.0, "laugh.wav")
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sensorium.errors import (
    ConfigError,
    LibraryError,
    MediaError,
    ModelMissing,
    QueryError,
    SensoriumError,
    UnknownBackend,
)
from sensorium.library import Library, open_library
from sensorium.types import Classification, Hit, LabelScore

if TYPE_CHECKING:
    from sensorium.media.clip import ClipResult

open = open_library

__version__ = "0.4.0"
__all__ = [
    "Classification",
    "ConfigError",
    "Hit",
    "LabelScore",
    "Library",
    "LibraryError",
    "MediaError",
    "ModelMissing",
    "QueryError",
    "SensoriumError",
    "UnknownBackend",
    "classify",
    "clip",
    "describe",
    "open",
    "open_library",
    "search",
]


def classify(
    paths: str | Path | Sequence[str | Path],
    labels: str | Sequence[str],
    *,
    library: str | Path | None = None,
    **kwargs: Any,
) -> list[Classification]:
    """Classify files zero-shot, without indexing them."""
    return open_library(library).classify(paths, labels, **kwargs)


def clip(
    src: str | Path,
    start: float,
    end: float,
    out: str | Path,
    *,
    reencode: bool | None = None,
    overwrite: bool = False,
) -> ClipResult:
    """Cut ``src`` from ``start`` to ``end`` seconds into ``out`` (its suffix names the format), as ``sensorium clip``.

    ``reencode=None`` copies the streams where the cut points allow and re-encodes otherwise;
    ``False`` fails rather than re-encode (``--copy``); ``True`` always re-encodes. The result
    gives the times the clip really covers (a copy starts on a keyframe).

    Raises:
        MediaError: bad times, an unusable output (exists without ``overwrite``, is the source),
            an unreadable source, or a copy that is not possible with ``reencode=False``.
    """
    from sensorium.media.clip import export_clip

    return export_clip(src, start, end, out, reencode=reencode, overwrite=overwrite)


def describe(path: str | Path, *, library: str | Path | None = None, **kwargs: Any):  # -> Description
    """A recording's timeline of sound events and speech (``.to_json()``; ``sensorium.timeline.to_srt/to_vtt``)."""
    return open_library(library).describe(path, **kwargs)


def search(text: str | None = None, *, library: str | Path | None = None, **kwargs: Any) -> list[Hit]:
    """Search a library (the default one unless ``library`` is given)."""
    return open_library(library).search(text, **kwargs)
