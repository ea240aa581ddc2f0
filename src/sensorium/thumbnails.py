"""Small JPEGs of video shots, kept in the library so hits can show a picture without decoding.

One folder per video (named by a hash of its path) under ``<library>/thumbs``; one file per
picture record, named by the millisecond its span starts (then its index: the pictures of one
shot share its span), so the picture of any moment is the first file of the last span that
starts at or before it. Written atomically; removed with the video's records.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

SIDE = 320  # longest side of a thumbnail
QUALITY = 80
FOLDER = "thumbs"


def folder(library: Path, source: str) -> Path:
    key = hashlib.blake2b(source.encode("utf-8", "surrogateescape"), digest_size=12).hexdigest()
    return Path(library) / FOLDER / key[:2] / key


def save(library: Path, source: str, start_s: float, index: int, image: Image.Image) -> Path:
    """Write the thumbnail of picture record ``index``, whose span starts at ``start_s``."""
    out_dir = folder(library, source)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{max(0, round(start_s * 1000)):010d}-{index:07d}.jpg"
    small = image.copy()
    small.thumbnail((SIDE, SIDE))
    tmp = path.with_suffix(".tmp")
    small.convert("RGB").save(tmp, "JPEG", quality=QUALITY)
    os.replace(tmp, path)
    return path


def find(library: Path, source: str, time_s: float) -> Path | None:
    """The thumbnail showing ``time_s`` of ``source``: the last one starting at or before it."""
    try:
        names = sorted(n for n in os.listdir(folder(library, source)) if n.endswith(".jpg"))
    except OSError:
        return None
    if not names:
        return None
    wanted = max(0, round(time_s * 1000))
    best = names[0]
    for name in names:
        start = int(name.split("-", 1)[0])
        if start > wanted:
            break
        if start != int(best.split("-", 1)[0]):
            best = name
    return folder(library, source) / best


def copy(library: Path, source: str, to: str) -> None:
    """Give ``to`` the thumbnails of ``source`` (an identical file: same pictures at the same times)."""
    src = folder(library, source)
    if src.is_dir():
        shutil.copytree(src, folder(library, to), dirs_exist_ok=True)


def forget(library: Path, sources: Iterable[str]) -> None:
    """Remove the thumbnails of ``sources`` (files re-indexed or gone)."""
    for source in sources:
        shutil.rmtree(folder(library, source), ignore_errors=True)
