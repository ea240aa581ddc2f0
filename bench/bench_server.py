"""``sensorium serve`` under load on loopback: throughput, latency and errors on a 100k-record library.

* **library**: the package sample photos (and the sample note) indexed for real, so the library has its
  manifest, its encoders' version keys and real rows; then ``BENCH_SERVER_RECORDS`` (100k) synthetic image
  records written straight to the store (``upsert_records``, with a files-table row each, as indexing
  writes): each one a real photo's row with its vectors moved by noise (cosine 0.6-0.9 to the photo, unit
  length again), its concepts and objects, its keywords plus one scene word, and a path and id of its own.
  ``optimize()`` then builds the keyword index and trains the ANN index on every row. The library is kept
  in ``~/.cache/sensorium/bench/server-lib-100k-<recipe>`` (bump ``RECIPE`` when the way it is made changes);
* **server**: ``python -m sensorium.cli serve`` in a subprocess on a free loopback port, as a user runs it
  (uvicorn, one process, access log on); its token is the library's ``server-token``;
* **single client**: ``POST /api/search`` round trips one after another on an idle, warm server (keep-alive
  connection), each a text query from :data:`QUERIES`; the target is p50 <= 50 ms. Also range requests of
  ``GET /api/media`` for a real photo;
* **load**: ``BENCH_SERVER_CLIENTS`` (50) concurrent clients for ``BENCH_SERVER_SECONDS`` (60 s), each
  looping: a text search, and every :data:`MEDIA_EVERY`-th request a ``Range`` request of a photo instead.
  Every request's latency and status is kept; an error is an exception (timeout, reset) or a status other
  than the expected one (200 for searches, 206 for ranges) or a body that does not match (a 206 of the wrong
  length). Latency is measured by the client, so under load it includes the wait in the server's queue.

The clients run in this process (``httpx.AsyncClient``) on the same cores as the server.

Run: ``python -c "from bench.bench_server import run; print(run())"``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np

if TYPE_CHECKING:
    from sensorium.library import Library

CACHE = Path.home() / ".cache/sensorium/bench"
RECIPE = "v3"  # bump when the way the library is made changes (v2: the 4-bit ANN index; v3: facts jittered)
BATCH = 10_000  # synthetic rows per upsert
MEDIA_EVERY = 10  # under load, one request in this many is a media range request
RANGE_BYTES = 64 * 1024
REQUEST_TIMEOUT_S = 60.0
SINGLE_SEARCHES = 100
SINGLE_MEDIA = 20
SCENES = (
    "kitchen", "garden", "beach", "street", "office", "forest", "snow", "night", "party", "museum",
    "harbour", "desert", "market", "studio", "classroom", "mountain", "river", "airport", "stadium", "farm",
)  # fmt: skip
QUERIES = (
    "a cat", "a cup of coffee", "a rocket launch", "an astronaut", "a motorcycle", "coins on a table",
    "a man with a camera", "galaxies in deep space", "a scanned page of text", "a woman in uniform",
    "a sleeping cat", "hot drink on a saucer", "spaceship taking off", "red motorbike", "old black and white photo",
    "stars at night", "a newspaper", "portrait of a scientist", "money", "a dog in the park", "people at the beach",
    "a city street at night", "a bowl of soup", "a tripod", "a flag", "smoke and fire", "a kitten with green eyes",
    "handwritten notes", "the night sky", "a vintage vehicle",
)  # fmt: skip


# -- the library -----------------------------------------------------------------------------------------------


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.where(norm > 0, x / np.maximum(norm, 1e-12), x)


def _noisy(base: np.ndarray, cosine: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors at about ``cosine`` to the unit vectors ``base`` (rows of zeros stay zeros)."""
    dim = base.shape[1]
    sigma = np.sqrt((1.0 / cosine**2 - 1.0) / dim)[:, None].astype(np.float32)
    moved = _unit(base + sigma * rng.standard_normal(base.shape, dtype=np.float32))
    return np.where(np.any(base != 0, axis=1, keepdims=True), moved, base)


def _jittered(facts: str, rng: np.random.Generator) -> str:
    """A photo's (name, probability) facts with each probability scaled by 0.5-1: another photo of the kind.

    Rows that keep the very facts of one photo are identical copies to a search (``query.fold_copies``),
    which folds them into one hit and widens its candidates to find others: a library of copies.
    """
    pairs = json.loads(facts or "[]")
    return json.dumps([[name, round(p * float(rng.uniform(0.5, 1.0)), 4)] for name, p in pairs])


def _synthetic(
    real: list[dict[str, Any]], first: int, count: int, root: Path, rng: np.random.Generator
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Record rows and files-table rows of synthetic photos ``first .. first + count``."""
    from sensorium.ingest import record_id

    which = rng.integers(0, len(real), count)
    base = np.stack([real[i]["vector"] for i in which])
    vectors = _noisy(base, rng.uniform(0.6, 0.9, count), rng)
    pbase = np.stack([real[i]["perceptual"] for i in which])
    perceptual = _noisy(pbase, rng.uniform(0.6, 0.9, count), rng) if pbase.shape[1] else pbase
    now = time.time()
    records, files = [], []
    for j in range(count):
        n = first + j
        src = real[which[j]]
        stem = Path(src["path"]).stem
        path = str(root / f"{n // 1000:03d}" / f"{stem}-{n:06d}.jpg")
        digest = hashlib.blake2b(path.encode(), digest_size=20).hexdigest()
        scene = SCENES[int(rng.integers(len(SCENES)))]
        records.append(
            {
                **{k: src[k] for k in ("ocr_text", "text", "encoder")},
                "concepts": _jittered(src["concepts"], rng),
                "objects": _jittered(src["objects"], rng),
                "id": record_id(path, 0),
                "path": path,
                "content_hash": digest,
                "modality": "image",
                "seg_index": 0,
                "start": None,
                "end": None,
                "vector": vectors[j],
                "perceptual": perceptual[j],
                "keywords": f"{src['keywords']} {scene}".strip(),
            }
        )
        files.append(
            {
                "path": path,
                "content_hash": digest,
                "size": int(rng.integers(200_000, 4_000_000)),
                "mtime": now - float(rng.uniform(0, 3e7)),
                "status": "done",
                "error": "",
                "encoder": src["encoder"],
                "updated_at": now,
            }
        )
    return records, files


def library_folder(records: int) -> Path:
    return CACHE / f"server-lib-{records // 1000}k-{RECIPE}"


def build_library(records: int = 100_000) -> tuple[Path, Path, float | None]:
    """(library, photos folder, seconds spent building or None when cached) for ``records`` synthetic rows."""
    from sensorium.config import LanceSettings, StoreSettings, load_settings
    from sensorium.library import open_library
    from sensorium.samples import collect_samples

    folder = library_folder(records)
    lib_dir, photos = folder / "library", folder / "photos"
    settings = load_settings(library=lib_dir)
    meta = {"recipe": RECIPE, "records": records, "text": settings.text_encoder, "image": settings.image_encoder}
    marker = folder / "complete.json"
    if marker.is_file() and json.loads(marker.read_text()) == meta:
        return lib_dir, photos, None
    shutil.rmtree(folder, ignore_errors=True)
    t0 = time.perf_counter()
    files = collect_samples(photos)
    # Optimize once at the end, so the ANN index is trained on every row (as a first index run leaves it), and
    # drop the versions it replaces at once (no reader can be using them), which halves the folder (0.7 GB).
    options = LanceSettings(optimize_every_rows=0, keep_versions_s=0)
    lib = open_library(lib_dir, store=StoreSettings(lancedb=options))
    with warnings.catch_warnings():  # the warning that old versions go at once: what is wanted here
        warnings.filterwarnings("ignore", r"optimize\(cleanup_older_than=0\)")
        _fill(lib, photos, files, folder, records)
    marker.write_text(json.dumps(meta))
    return lib_dir, photos, time.perf_counter() - t0


def _fill(lib: Library, photos: Path, files: list[Path], folder: Path, records: int) -> None:
    """Index the sample photos, then add ``records`` synthetic ones and optimize."""
    from sensorium.ingest import record_id

    report = lib.index([photos])
    if report.failed:
        raise SystemExit(f"bench server: indexing the sample photos failed: {report.failures}")
    store = lib.store()
    images = [f for f in files if f.suffix in (".png", ".jpg")]
    real = [r for r in store.get_records([record_id(str(f), 0) for f in images]) if r["modality"] == "image"]
    if not real:
        raise SystemExit("bench server: no sample photos indexed; install scikit-image and matplotlib")
    rng = np.random.default_rng(0)
    for first in range(0, records, BATCH):
        rows, file_rows = _synthetic(real, first, min(BATCH, records - first), folder / "synthetic", rng)
        store.upsert_records(rows)
        store.upsert_files(file_rows)
    store.optimize()


# -- the server ------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C does: uvicorn shuts down gracefully
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_healthy(base: str, proc: subprocess.Popen, log: Path, timeout: float = 180.0) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"bench server: `sensorium serve` exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/api/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"bench server: no answer from {base}/api/health in {timeout:.0f} s:\n{log.read_text()[-3000:]}")


# -- the clients -----------------------------------------------------------------------------------------------


def _percentiles(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {"n": 0}
    a = np.asarray(ms)
    return {
        "n": len(ms),
        "p50_ms": round(float(np.percentile(a, 50)), 1),
        "p95_ms": round(float(np.percentile(a, 95)), 1),
        "p99_ms": round(float(np.percentile(a, 99)), 1),
        "max_ms": round(float(a.max()), 1),
    }


def _range(rng: random.Random, size: int) -> tuple[str, int]:
    """A ``Range`` header for part of a ``size``-byte file (sometimes open-ended) and the bytes it asks for."""
    start = rng.randrange(max(1, size - RANGE_BYTES))
    if rng.random() < 0.25:
        return f"bytes={start}-", size - start
    end = min(size - 1, start + RANGE_BYTES - 1)
    return f"bytes={start}-{end}", end - start + 1


def _check(kind: str, resp: httpx.Response, want_bytes: int) -> str | None:
    """Why ``resp`` is an error, or None."""
    if kind == "search":
        if resp.status_code != 200:
            return f"search {resp.status_code}: {resp.text[:200]}"
        return None
    if resp.status_code != 206:
        return f"media {resp.status_code}: {resp.text[:200]}"
    if len(resp.content) != want_bytes:
        return f"media 206 with {len(resp.content)} bytes, asked for {want_bytes}"
    return None


def single_client(base: str, token: str, media: Path) -> dict[str, Any]:
    """Round trips one after another on an idle server: searches, then media ranges."""
    rng = random.Random(1)
    searches, ranges, errors, hits = [], [], [], []
    slowest: dict[str, float] = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=REQUEST_TIMEOUT_S) as c:
        for i in range(SINGLE_SEARCHES):
            t0 = time.perf_counter()
            query = QUERIES[i % len(QUERIES)]
            resp = c.post("/api/search", json={"text": query})
            searches.append((time.perf_counter() - t0) * 1000)
            slowest[query] = max(slowest.get(query, 0.0), searches[-1])
            if (why := _check("search", resp, 0)) is not None:
                errors.append(why)
            else:
                hits.append(len(resp.json()["hits"]))
        size = media.stat().st_size
        for _ in range(SINGLE_MEDIA):
            header, want = _range(rng, size)
            t0 = time.perf_counter()
            resp = c.get("/api/media", params={"path": str(media)}, headers={"Range": header})
            ranges.append((time.perf_counter() - t0) * 1000)
            if (why := _check("media", resp, want)) is not None:
                errors.append(why)
    return {
        "search": _percentiles(searches),
        "media": _percentiles(ranges),
        "errors": len(errors),
        "error_samples": list(dict.fromkeys(errors))[:5],
        "hits_mean": round(float(np.mean(hits)), 1) if hits else 0.0,
        "slowest_queries": {q: round(ms) for q, ms in sorted(slowest.items(), key=lambda kv: -kv[1])[:3]},
    }


async def _load(base: str, token: str, media: Path, clients: int, seconds: float) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {"search": [], "media": []}
    errors: Counter[str] = Counter()
    size = media.stat().st_size
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=REQUEST_TIMEOUT_S, limits=limits) as c:

        async def client(n: int) -> None:
            rng = random.Random(100 + n)
            i = rng.randrange(MEDIA_EVERY)  # spread the media requests over time
            while time.perf_counter() < stop:
                i += 1
                want = 0
                if i % MEDIA_EVERY == 0:
                    kind = "media"
                    header, want = _range(rng, size)
                    call = c.get("/api/media", params={"path": str(media)}, headers={"Range": header})
                else:
                    kind = "search"
                    call = c.post("/api/search", json={"text": rng.choice(QUERIES)})
                t0 = time.perf_counter()
                try:
                    why = _check(kind, await call, want)
                except httpx.HTTPError as exc:
                    why = f"{kind}: {type(exc).__name__} {exc}"[:200]
                latencies[kind].append((time.perf_counter() - t0) * 1000)
                if why is not None:
                    errors[why] += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(clients)))
        wall = time.perf_counter() - t0
    done = sum(len(v) for v in latencies.values())
    return {
        "wall_s": round(wall, 1),
        "requests": done,
        "rps": round(done / wall, 1),
        "search_rps": round(len(latencies["search"]) / wall, 1),
        "media_rps": round(len(latencies["media"]) / wall, 1),
        "search": _percentiles(latencies["search"]),
        "media": _percentiles(latencies["media"]),
        "errors": sum(errors.values()),
        "error_samples": [f"{n}x {why}" for why, n in errors.most_common(5)],
    }


def run(seconds: float | None = None, clients: int | None = None, records: int | None = None) -> dict[str, Any]:
    """All figures; the library is built first (cached), and the server warmed up, outside every timing."""
    seconds = float(seconds if seconds is not None else os.environ.get("BENCH_SERVER_SECONDS", "60"))
    clients = int(clients if clients is not None else os.environ.get("BENCH_SERVER_CLIENTS", "50"))
    records = int(records if records is not None else os.environ.get("BENCH_SERVER_RECORDS", "100000"))
    from sensorium.server.auth import load_token

    lib_dir, photos, built_s = build_library(records)
    token = load_token(lib_dir)
    media = max((p for p in photos.iterdir() if p.suffix in (".png", ".jpg")), key=lambda p: p.stat().st_size)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="sensorium-bench-serve-") as tmp:
        log = Path(tmp) / "serve.log"
        with log.open("wb") as log_fp:
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", "sensorium.cli", "serve", "--library", str(lib_dir), "--port", str(port)],
                stdout=log_fp,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            try:
                _wait_healthy(base, proc, log)
                startup_s = time.perf_counter() - t0
                auth = {"Authorization": f"Bearer {token}"}
                t0 = time.perf_counter()  # the first search loads the models
                first = httpx.post(f"{base}/api/search", json={"text": QUERIES[0]}, headers=auth, timeout=300.0)
                first_s = time.perf_counter() - t0
                if first.status_code != 200:
                    raise SystemExit(f"bench server: first search answered {first.status_code}: {first.text[:500]}")
                for q in QUERIES[1:6]:
                    httpx.post(f"{base}/api/search", json={"text": q}, headers=auth, timeout=60.0)
                stats = httpx.get(f"{base}/api/stats", headers=auth, timeout=60.0).json()
                single = single_client(base, token, media)
                load = asyncio.run(_load(base, token, media, clients, seconds))
                rss = _peak_rss_mb(proc.pid)
            finally:
                _stop(proc)
        server_errors = sum(line.startswith("ERROR") or '" 5' in line for line in log.read_text().splitlines())
    return {
        "records": stats.get("records"),
        "files": stats.get("files"),
        "library": str(lib_dir),
        "built_s": None if built_s is None else round(built_s, 1),
        "startup_s": round(startup_s, 1),
        "first_search_s": round(first_s, 2),
        "hits": len(first.json()["hits"]),
        "media_file": media.name,
        "media_bytes": media.stat().st_size,
        "clients": clients,
        "seconds": seconds,
        "single": single,
        "load": load,
        "server_peak_rss_mb": None if rss is None else round(rss),
        "server_log_errors": server_errors,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
