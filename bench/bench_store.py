"""Latency and recall of the LanceDB store on synthetic clustered vectors.

For each size: load a fresh ``LanceStore`` in a temp folder, ``optimize()`` it (which trains the ANN index), then
time ``search_vectors(limit=10)`` and compare its hits with exact search (recall@10; a matrix product, which is
what ``MemoryStore`` does, without building a million row dicts). The baseline is LanceDB's own brute-force scan
of the same table, returning the same full rows.

The vectors imitate real embeddings rather than uniform noise: a common offset (embeddings share a mean
direction), sqrt(rows) clusters of skewed (Zipf) popularity, spread along a shared 48-dim subspace with a
decaying spectrum, plus a little isotropic noise. Queries are fresh draws from the same mixture, not table rows.

Run: ``PYTHONPATH=src python bench/bench_store.py [sizes...]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.config import LanceSettings
from sensorium.media.dates import parse_span
from sensorium.store.base import Filter
from sensorium.store.lancedb import LanceStore

LOAD_BATCH = 50_000
DAYS_FROM = 1420070400.0  # 2015-01-01, wall-clock seconds
LATENT_DIM = 48


class Mixture:
    """A seeded Gaussian mixture on the unit sphere (see the module docstring)."""

    def __init__(self, dim: int, clusters: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.centers = _unit(rng.standard_normal((clusters, dim)))
        self.offset = _unit(rng.standard_normal((1, dim)))[0] * 0.5
        self.basis = np.linalg.qr(rng.standard_normal((dim, LATENT_DIM)))[0].T.astype(np.float32)
        self.spectrum = (1.0 / np.sqrt(np.arange(1, LATENT_DIM + 1))).astype(np.float32)
        weights = np.minimum(rng.zipf(1.5, clusters), 50).astype(np.float64)
        self.weights = weights / weights.sum()

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        which = rng.choice(len(self.centers), n, p=self.weights)
        latent = rng.standard_normal((n, LATENT_DIM)).astype(np.float32) * self.spectrum
        noise = rng.standard_normal((n, self.centers.shape[1])).astype(np.float32)
        return _unit(self.offset + self.centers[which] + 0.5 * latent @ self.basis + 0.02 * noise)


def _unit(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _rows(vectors: np.ndarray, first: int, taken: np.ndarray) -> Iterator[dict[str, Any]]:
    for i, vec in enumerate(vectors, start=first):
        path = f"bench/{i // 1000:04d}/{i}.jpg"
        yield {
            "id": f"{path}:0",
            "path": path,
            "modality": "image",
            "seg_index": 0,
            "vector": vec,
            "keywords": "",
            "taken": float(taken[i]),
        }


def _dates(size: int) -> np.ndarray:
    """A photo archive's capture times: ten years, 2015 to 2024, more photos in later years."""
    rng = np.random.default_rng(3)
    return DAYS_FROM + np.sqrt(rng.random(size)) * 3653 * 86400.0


def exact_top(table: np.ndarray, queries: np.ndarray, k: int = 10) -> np.ndarray:
    """Row numbers of the k most cosine-similar rows for each query (inputs are unit length)."""
    out = np.empty((len(queries), k), np.int64)
    for start in range(0, len(queries), 50):
        scores = queries[start : start + 50] @ table.T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, 1), axis=1)
        out[start : start + 50] = np.take_along_axis(top, order, 1)
    return out


def _timed(
    store: LanceStore, queries: np.ndarray, exact: bool = False, where: Filter | None = None
) -> tuple[np.ndarray, list[list[int]]]:
    """Latencies (ms) and hit row numbers of ``queries``."""
    latencies, hits = [], []
    for query in queries:
        start = time.perf_counter()
        if exact:  # LanceDB's brute-force scan of the same table; the baseline (private handle on purpose)
            table = store._records.search(query, vector_column_name="vector").distance_type("cosine")
            found = table.bypass_vector_index().limit(10).to_list()
        else:
            found = store.search_vectors(query, limit=10, where=where)
        latencies.append((time.perf_counter() - start) * 1000)
        hits.append([int(row["path"].rsplit("/", 1)[1][:-4]) for row in found])
    return np.array(latencies), hits


def _recall(hits: list[list[int]], truth: np.ndarray) -> float:
    return float(np.mean([len(set(h) & set(t.tolist())) / truth.shape[1] for h, t in zip(hits, truth, strict=True)]))


def run_one(size: int, dim: int, queries: int, options: LanceSettings, exact_queries: int) -> dict[str, Any]:
    mixture = Mixture(dim, clusters=max(16, int(np.sqrt(size))))
    rng = np.random.default_rng(1)
    table = np.concatenate([mixture.sample(min(LOAD_BATCH, size - s), rng) for s in range(0, size, LOAD_BATCH)])
    probes = mixture.sample(queries, np.random.default_rng(2))
    truth = exact_top(table, probes)
    taken = _dates(size)
    spans = {"year": parse_span("2023"), "day": parse_span("2023-06-14")}
    within = {name: np.flatnonzero((taken >= a) & (taken < b)) for name, (a, b) in spans.items()}
    with tempfile.TemporaryDirectory(prefix="sensorium-bench-") as folder:
        store = LanceStore(Path(folder), dim=dim, perceptual_dim=0, options=options)
        start = time.perf_counter()
        for first in range(0, size, LOAD_BATCH):
            store.upsert_records(list(_rows(table[first : first + LOAD_BATCH], first, taken)))
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        store.optimize()
        optimize_s = time.perf_counter() - start
        store.search_vectors(probes[0])  # first query opens index files; not what a warm server sees
        ann_ms, ann_hits = _timed(store, probes)
        exact_ms, exact_hits = _timed(store, probes[:exact_queries], exact=True)
        dated = {}
        for name, span in spans.items():  # searches kept to a span of days (search --taken)
            ms, found = _timed(store, probes, where=Filter(taken=span))
            rows = within[name]
            best = rows[exact_top(table[rows], probes, k=min(10, len(rows)))]
            dated[name] = (ms, _recall(found, best), len(rows))
        index = store._vector_index()
    return {
        "rows": size,
        "index": index or "none (exact)",
        "load_s": round(load_s, 1),
        "optimize_s": round(optimize_s, 1),
        "p50_ms": round(float(np.percentile(ann_ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ann_ms, 95)), 2),
        "recall@10": round(_recall(ann_hits, truth), 3),
        "exact_p50_ms": round(float(np.percentile(exact_ms, 50)), 1),
        "exact_recall@10": round(_recall(exact_hits, truth[:exact_queries]), 3),
        "speedup": round(float(np.percentile(exact_ms, 50) / np.percentile(ann_ms, 50)), 1),
        **{
            key: value
            for name, (ms, recall, rows) in dated.items()
            for key, value in (
                (f"{name}_rows", int(rows)),
                (f"{name}_p50_ms", round(float(np.percentile(ms, 50)), 2)),
                (f"{name}_recall@10", round(recall, 3)),
            )
        },
    }


def run(
    sizes: Sequence[int] = (100_000, 1_000_000),
    dim: int = 384,
    queries: int = 200,
    *,
    options: LanceSettings | None = None,
    exact_queries: int = 20,
) -> list[dict[str, Any]]:
    """One result row per size; ``exact_queries`` bounds the slow brute-force baseline.

    Loading does not optimize on the way (``optimize_every_rows=0``), so ``optimize_s`` is the time of a
    complete build: compaction, keyword and scalar indexes, and training the ANN index on every row.
    """
    options = (options or LanceSettings()).model_copy(update={"optimize_every_rows": 0})
    return [run_one(size, dim, queries, options, min(exact_queries, queries)) for size in sizes]


def _table(results: list[dict[str, Any]]) -> str:
    headers = list(results[0])
    cells = [[str(r[h]) for h in headers] for r in results]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


if __name__ == "__main__":
    chosen = [int(a.replace("_", "")) for a in sys.argv[1:]] or [100_000, 1_000_000]
    settings = LanceSettings()
    print(
        f"{settings.index_type}: rows/partition={settings.rows_per_partition} nprobes={settings.nprobes} "
        f"refine_factor={settings.refine_factor} index_min_rows={settings.index_min_rows}"
    )
    print(_table(run(chosen, options=settings)))
