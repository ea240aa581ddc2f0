"""Sensorium: put text, images, sound and speech (and later video) in one vector space, offline.

>>> import sensorium
>>> lib = sensorium.open("my-library")
>>> lib.index(["~/Pictures"])
>>> lib.search("a cat sleeping on a sofa")
>>> sensorium.classify(["shoes.jpg"], ["shoes", "shirts", "hats"])
>>> sensorium.describe("talk.mp3").events      # sound events and speech, with times
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


def describe(path: str | Path, *, library: str | Path | None = None, **kwargs: Any):  # -> Description
    """A recording's timeline of sound events and speech (``.to_json()``; ``sensorium.timeline.to_srt/to_vtt``)."""
    return open_library(library).describe(path, **kwargs)


def search(text: str | None = None, *, library: str | Path | None = None, **kwargs: Any) -> list[Hit]:
    """Search a library (the default one unless ``library`` is given)."""
    return open_library(library).search(text, **kwargs)
