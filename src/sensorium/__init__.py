"""Sensorium: put text and images (and later sound and video) in one vector space, offline.

>>> import sensorium
>>> lib = sensorium.open("my-library")
>>> lib.index(["~/Pictures"])
>>> lib.search("a cat sleeping on a sofa")
>>> sensorium.classify(["shoes.jpg"], ["shoes", "shirts", "hats"])
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

__version__ = "0.1.0"
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
    "open",
    "open_library",
    "search",
]


def classify(
    paths: Sequence[str | Path], labels: Sequence[str], *, library: str | Path | None = None, **kwargs: Any
) -> list[Classification]:
    """Classify files zero-shot, without indexing them."""
    return open_library(library).classify(paths, labels, **kwargs)


def search(text: str | None = None, *, library: str | Path | None = None, **kwargs: Any) -> list[Hit]:
    """Search a library (the default one unless ``library`` is given)."""
    return open_library(library).search(text, **kwargs)
