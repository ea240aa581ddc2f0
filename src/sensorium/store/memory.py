"""An in-memory store: exact numpy search and a plain BM25, persisted nowhere.

It exists for tests, and as the exact reference that approximate backends are measured against, so it favours
obviously-correct code over speed: every search scans every row.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.errors import LibraryError
from sensorium.store.base import (
    FILE_FIELDS,
    RECORD_FIELDS,
    VECTOR_COLUMNS,
    Filter,
    check_vector_query,
    search_fields,
    within,
)
from sensorium.types import track_of

PERCEPTUAL_MODALITIES = frozenset({"image", "audio", "video"})
_TOKEN = re.compile(r"\w+")
_BM25_K1 = 1.2
_BM25_B = 0.75


def glob_regex(glob: str) -> re.Pattern[str]:
    """Shell glob with ``*`` and ``?`` only (everything else literal), matched against the whole path."""
    parts = [".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in glob]
    return re.compile("".join(parts), re.DOTALL)


def tokens(text: str | None) -> list[str]:
    return _TOKEN.findall(text.lower()) if text else []


class MemoryStore:
    """Holds rows in dicts. ``path`` and ``options`` are accepted for the common signature and ignored."""

    def __init__(self, path: Path, *, dim: int, perceptual_dim: int, options: Any = None) -> None:
        self.path = Path(path)
        self.dim = dim
        self.perceptual_dim = perceptual_dim
        self._records: dict[str, dict[str, Any]] = {}
        self._files: dict[str, dict[str, Any]] = {}

    # -- writing ---------------------------------------------------------------------------------------

    def _vector(self, name: str, value: Any) -> np.ndarray:
        size = self.dim if name == "vector" else self.perceptual_dim
        if value is None or size == 0:
            return np.zeros(size, np.float32)
        vec = np.array(value, np.float32).reshape(-1)
        if vec.shape[0] != size:
            raise LibraryError(
                f"{self.path}: a '{name}' vector has {vec.shape[0]} values, the store expects {size}; "
                "re-index into a new library or choose the matching model"
            )
        return vec

    def upsert_records(self, rows: Sequence[dict[str, Any]], *, new: bool = False) -> None:
        """Insert or replace rows by ``id`` (``new`` changes nothing here: a dict has no join to skip)."""
        for row in rows:
            stored = {name: row.get(name) for name in RECORD_FIELDS}
            for name in VECTOR_COLUMNS:
                stored[name] = self._vector(name, row.get(name))
            self._records[row["id"]] = stored

    def upsert_files(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            self._files[row["path"]] = {name: row.get(name) for name in FILE_FIELDS}

    def has_records(self, path: str) -> bool:
        return any(r["path"] == path for r in self._records.values())

    def delete_paths(self, paths: Sequence[str], *, keep_encoder: str | None = None) -> None:
        gone = set(paths)
        self._records = {
            k: r
            for k, r in self._records.items()
            if r["path"] not in gone or (keep_encoder is not None and r["encoder"] == keep_encoder)
        }

    def delete_files(self, paths: Sequence[str]) -> None:
        for path in paths:
            self._files.pop(path, None)

    # -- reading ---------------------------------------------------------------------------------------

    def _matching(self, where: Filter | None) -> list[dict[str, Any]]:
        rows = list(self._records.values())
        if where is None:
            return rows
        if where.modality is not None:
            rows = [r for r in rows if r["modality"] == where.modality]
        if where.only_perceptual:
            rows = [r for r in rows if r["modality"] in PERCEPTUAL_MODALITIES]
        if where.track is not None:
            rows = [r for r in rows if track_of(r["modality"], int(r["seg_index"])) == where.track]
        if where.taken is not None:
            rows = [r for r in rows if within(r.get("taken"), where.taken)]
        if where.path_glob is not None:
            pattern = glob_regex(where.path_glob)
            rows = [r for r in rows if r["path"] is not None and pattern.fullmatch(r["path"])]
        return rows

    @staticmethod
    def _ranked(
        rows: list[dict[str, Any]], scores: np.ndarray, limit: int, column: str = "vector"
    ) -> list[dict[str, Any]]:
        order = np.argsort(-scores, kind="stable")[:limit]
        fields = search_fields(column)
        return [_copy({f: rows[i][f] for f in fields}) | {"_score": float(scores[i])} for i in order]

    def search_vectors(
        self, vector: np.ndarray, *, column: str = "vector", limit: int = 10, where: Filter | None = None
    ) -> list[dict[str, Any]]:
        """Exact cosine search; see ``LanceStore.search_vectors`` for the shared semantics."""
        checked = check_vector_query(vector, column, where, dim=self.dim, perceptual_dim=self.perceptual_dim)
        if checked is None:
            return []
        query, where = checked
        rows = self._matching(where)
        if not rows:
            return []
        matrix = np.stack([r[column] for r in rows])
        norms = np.linalg.norm(matrix, axis=1) * np.linalg.norm(query)
        scores = np.divide(matrix @ query, norms, out=np.zeros(len(rows), np.float32), where=norms > 0)
        return self._ranked(rows, scores, limit, column)

    def search_keywords(self, query: str, *, limit: int = 10, where: Filter | None = None) -> list[dict[str, Any]]:
        """BM25 over lower-cased word tokens of ``keywords``; rows matching no query word are left out."""
        terms = set(tokens(query))
        everything = list(self._records.values())
        if not terms or not everything:
            return []
        docs = {id(r): Counter(tokens(r["keywords"])) for r in everything}
        avg_len = sum(sum(c.values()) for c in docs.values()) / len(docs) or 1.0
        df = {t: sum(1 for c in docs.values() if t in c) for t in terms}
        idf = {t: math.log(1 + (len(docs) - n + 0.5) / (n + 0.5)) for t, n in df.items()}
        rows, scores = [], []
        for row in self._matching(where):
            counts = docs[id(row)]
            norm = _BM25_K1 * (1 - _BM25_B + _BM25_B * sum(counts.values()) / avg_len)
            score = sum(idf[t] * counts[t] * (_BM25_K1 + 1) / (counts[t] + norm) for t in terms if counts[t])
            if score > 0:
                rows.append(row)
                scores.append(score)
        return self._ranked(rows, np.array(scores), limit) if rows else []

    def get_records(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        return [_copy(self._records[i]) for i in dict.fromkeys(ids) if i in self._records]

    def records_of(self, paths: Sequence[str]) -> list[dict[str, Any]]:
        wanted = set(paths)
        rows = [_copy(r) for r in self._records.values() if r["path"] in wanted]
        return sorted(rows, key=lambda r: (r["path"], r["seg_index"]))

    def scan(self, columns: Sequence[str], where: Filter | None = None) -> list[dict[str, Any]]:
        return [_copy({c: r[c] for c in columns}) for r in self._matching(where)]

    def count(self, where: Filter | None = None) -> int:
        return len(self._matching(where))

    def files(self) -> dict[str, dict[str, Any]]:
        return {path: dict(row) for path, row in self._files.items()}

    def optimize(self) -> None:
        """Nothing to do: every search is exact."""


def _copy(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in row.items()}
