"""The narrow interface every vector store implements, and the rows it holds.

A store receives plain rows (dicts of str/float/ndarray), never encoder objects. Two tables:

* **records** — one row per segment: where it came from, its vectors and facts.
* **files** — one row per source file: content hash, status (``done``/``failed``), reason.

Writes of records are upserts keyed by ``id`` so that a batch replayed after a crash
neither loses nor duplicates anything. A file's first records may be appended instead
(``upsert_records(rows, new=True)``): the caller has checked :meth:`Store.has_records`, and a
long recording's hundreds of batches then skip the key join, which grew the process by
60 MB an hour of sound in LanceDB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

SCHEMA_VERSION = 1

RECORD_FIELDS: tuple[str, ...] = (
    "id",  # f"{path_key}:{seg_index}", stable for a (path, segment) pair
    "path",
    "content_hash",
    "modality",
    "seg_index",
    "start",  # float seconds or None
    "end",
    "vector",  # float32 (dim,), semantic, unit length
    "perceptual",  # float32 (perceptual_dim,), unit length, zeros when the modality has none
    "concepts",  # JSON list of [name, score]
    "objects",  # JSON list of [name, score]: objects seen (image), or the likely tags heard (audio)
    "ocr_text",
    "text",
    "keywords",  # what the full-text index reads
    "encoder",  # EncoderInfo.version_key of the model that made the vectors
    "taken",  # when its file says it was made: wall-clock seconds (sensorium.media.dates), or None
)

FILE_FIELDS: tuple[str, ...] = (
    "path",
    "content_hash",
    "size",
    "mtime",
    "status",
    "error",
    "encoder",
    "updated_at",
    "taken",  # as the file's records
)


@dataclass(frozen=True)
class Filter:
    """Restricts a search. ``path_glob`` uses shell wildcards (``*``, ``?``) on the full path."""

    modality: str | None = None
    path_glob: str | None = None
    only_perceptual: bool = False
    track: str | None = None  # "picture", "sound", "speech", "text" or "tags": see :func:`sensorium.types.track_of`
    taken: tuple[float | None, float | None] | None = None  # wall-clock seconds, from (inclusive) to (exclusive)


VECTOR_COLUMNS: tuple[str, ...] = ("vector", "perceptual")


def within(taken: float | None, span: tuple[float | None, float | None]) -> bool:
    """Whether a record's ``taken`` lies in ``span`` (:attr:`Filter.taken`); a record with no date never does."""
    start, end = span
    return taken is not None and (start is None or taken >= start) and (end is None or taken < end)


def pad_perceptual(vectors: np.ndarray, width: int) -> np.ndarray | None:
    """Rows zero-padded to the perceptual column's ``width`` (cosines unchanged); ``None`` if wider.

    The column is as wide as the library's image features; sounds (384) are stored padded and
    compared only with rows of their own modality.
    """
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    if vectors.shape[1] > width:
        return None
    out = np.zeros((vectors.shape[0], width), dtype=np.float32)
    out[:, : vectors.shape[1]] = vectors
    return out


def check_vector_query(
    vector: np.ndarray, column: str, where: Filter | None, *, dim: int, perceptual_dim: int
) -> tuple[np.ndarray, Filter | None] | None:
    """The query as a flat float32 vector and the filter to apply; ``None`` when nothing can match.

    Searching ``perceptual`` only looks at rows of modalities that have perceptual vectors.

    Raises:
        QueryError: unknown column, or a query vector of the wrong length.
    """
    from sensorium.errors import QueryError

    if column not in VECTOR_COLUMNS:
        raise QueryError(f"search column '{column}': not a vector column; use one of: {', '.join(VECTOR_COLUMNS)}")
    if column == "perceptual":
        if perceptual_dim == 0:
            return None
        where = Filter(
            modality=where.modality if where else None,
            path_glob=where.path_glob if where else None,
            only_perceptual=True,
            track=where.track if where else None,
            taken=where.taken if where else None,
        )
    size = dim if column == "vector" else perceptual_dim
    query = np.asarray(vector, np.float32).reshape(-1)
    if query.shape[0] != size:
        raise QueryError(f"query vector has {query.shape[0]} values; '{column}' holds {size}")
    return query, where


_BOOKKEEPING = ("perceptual", "content_hash", "keywords", "encoder")  # what search rows leave out (see Store)
SEARCH_FIELDS: tuple[str, ...] = tuple(f for f in RECORD_FIELDS if f not in _BOOKKEEPING)


def search_fields(column: str) -> list[str]:
    """The record fields a search of ``column`` returns (see :class:`Store`)."""
    return [*SEARCH_FIELDS, "perceptual"] if column == "perceptual" else list(SEARCH_FIELDS)


@runtime_checkable
class Store(Protocol):
    """A vector store for one library folder.

    Scores returned by searches are in ``row["_score"]``: cosine similarity for vector
    search (higher is better), BM25 for keyword search. Search rows carry what a hit is made of
    (:data:`SEARCH_FIELDS`); ``perceptual`` only from a search of that column: it is the widest
    column, and reading it for every candidate was most of a query's time on 100k rows. Each
    column read costs each candidate a random access, so bookkeeping columns (``content_hash``,
    ``keywords``, ``encoder``) stay behind too: :meth:`get_records` returns them.
    """

    def upsert_records(self, rows: Sequence[dict[str, Any]], *, new: bool = False) -> None: ...

    def has_records(self, path: str) -> bool: ...

    def delete_paths(self, paths: Sequence[str], *, keep_encoder: str | None = None) -> None: ...

    def search_vectors(
        self, vector: np.ndarray, *, column: str = "vector", limit: int = 10, where: Filter | None = None
    ) -> list[dict[str, Any]]: ...

    def search_keywords(self, query: str, *, limit: int = 10, where: Filter | None = None) -> list[dict[str, Any]]: ...

    def get_records(self, ids: Sequence[str]) -> list[dict[str, Any]]: ...

    def records_of(self, paths: Sequence[str]) -> list[dict[str, Any]]:
        """Every record of ``paths``, all columns, by path and segment index (to copy identical files')."""
        ...

    def scan(self, columns: Sequence[str], where: Filter | None = None) -> list[dict[str, Any]]:
        """Every record matching ``where``, with only ``columns``: a pass over the whole library."""
        ...

    def count(self, where: Filter | None = None) -> int: ...

    def upsert_files(self, rows: Sequence[dict[str, Any]]) -> None: ...

    def files(self) -> dict[str, dict[str, Any]]: ...

    def delete_files(self, paths: Sequence[str]) -> None: ...

    def optimize(self) -> None: ...
