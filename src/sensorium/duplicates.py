"""Near-duplicate photos (`sensorium duplicates`): the same picture resized, recompressed, lightly
cropped or edited, found by the perceptual vectors indexing already keeps.

Every photo is compared with every other (exact cosines, a block of rows at a time: 100k photos
take 79 s on two cores); pairs at or above ``threshold`` link, and linked photos are grouped so
that every file of a group reaches ``threshold`` with its first, the largest file (likely the
original); each file's similarity to it is listed.

The default threshold comes from the dev-set photos and six edits of each (`bench/eval_duplicates.py`):
at 0.85, 93% of the pairs of a photo and its resized, recompressed, cropped (5% a side), brightened
or mirrored copy are found, and none of the 228,144 pairs of different photos is.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sensorium.errors import QueryError
from sensorium.store.base import Filter

if TYPE_CHECKING:
    from sensorium.library import Library

DUPLICATE_SIMILARITY = 0.85
BLOCK_ROWS = 512  # rows compared at a time: 512 x 100k cosines are 200 MB


@dataclass(frozen=True)
class DuplicateFile:
    path: str
    size: int
    similarity: float  # cosine of its perceptual vector with the group's first file's (1.0 for that one)


@dataclass(frozen=True)
class DuplicateGroup:
    """Photos that show the same picture; the largest file first."""

    files: tuple[DuplicateFile, ...]

    def to_json(self) -> dict[str, Any]:
        """The stable ``duplicates --json`` schema (one object per group)."""
        return {"files": [{"path": f.path, "size": f.size, "similarity": round(f.similarity, 4)} for f in self.files]}


def find_duplicates(
    lib: Library,
    *,
    threshold: float = DUPLICATE_SIMILARITY,
    path_glob: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[DuplicateGroup]:
    """Groups of near-duplicate photos in ``lib``, largest groups first; files gone from disk left out.

    Raises:
        QueryError: a threshold outside (0, 1].
    """
    if not 0.0 < threshold <= 1.0:
        raise QueryError(
            f"threshold {threshold}: give a similarity above 0 and at most 1 (default {DUPLICATE_SIMILARITY})"
        )
    if not lib.exists:
        return []
    store = lib.store()
    rows, seen = [], set()
    for r in store.scan(["path", "perceptual"], Filter(modality="image", path_glob=path_glob, track="picture")):
        if r["path"] not in seen and len(r["perceptual"]) and os.path.lexists(r["path"]):
            seen.add(r["path"])  # one vector a photo (an animated GIF's first frame)
            rows.append(r)
    if len(rows) < 2:
        return []
    vectors = np.stack([r["perceptual"] for r in rows]).astype(np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors /= np.maximum(norms, 1e-12)
    parent = list(range(len(rows)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    n = len(rows)
    for start in range(0, n, BLOCK_ROWS):
        block = vectors[start : start + BLOCK_ROWS] @ vectors[start:].T  # only pairs (i, j) with j >= i
        for a, b in zip(*np.nonzero(block >= threshold), strict=True):
            i, j = start + int(a), start + int(b)
            if i != j:
                parent[root(i)] = root(j)
        if on_progress is not None:
            on_progress(min(start + BLOCK_ROWS, n), n)
    members: dict[int, list[int]] = {}
    for i in range(n):
        members.setdefault(root(i), []).append(i)
    files = store.files()
    sizes = [int(files.get(r["path"], {}).get("size") or 0) for r in rows]
    groups = []
    for linked in members.values():
        linked.sort(key=lambda i: (-sizes[i], rows[i]["path"]))
        for idx in split_chains(vectors, linked, threshold):
            if len(idx) < 2:
                continue
            sims = np.clip(vectors[idx] @ vectors[idx[0]], -1.0, 1.0)
            sims[0] = 1.0
            groups.append(
                DuplicateGroup(
                    tuple(DuplicateFile(rows[i]["path"], sizes[i], float(s)) for i, s in zip(idx, sims, strict=True))
                )
            )
    groups.sort(key=lambda g: (-len(g.files), g.files[0].path))
    return groups


def split_chains(vectors: np.ndarray, linked: list[int], threshold: float) -> list[list[int]]:
    """Split photos linked pair by pair into groups whose every file is like the group's first.

    Pairs chain: a burst of shots, each a step from the last, links its first and last frames,
    which look nothing alike. Taken in order (largest file first), each photo joins the first
    group whose first photo it reaches ``threshold`` with, or starts a group of its own.
    """
    leaders: list[int] = []
    groups: list[list[int]] = []
    for i in linked:
        near = np.flatnonzero(vectors[leaders] @ vectors[i] >= threshold) if leaders else ()
        if len(near):
            groups[near[0]].append(i)
            continue
        leaders.append(i)
        groups.append([i])
    return groups
