"""Spaces of hub models, kept beside the library's own, and search inside them.

A library always holds its own space (the offline tier's, where every record carries facts and
keywords). ``sensorium index --model openclip:ViT-B-32`` adds the space that model writes
(``clip``): its vectors go in a store of their own, ``<library>/spaces/<name>/``, with its own
files table, so each space knows what it has embedded, from which content, with which weights.
Embedding a space is incremental: only files whose content or model changed, or that the space
has not seen, are read again; files the library forgot are dropped from it.

Search in a space embeds the query with that space's text encoder. An example file the space's
model cannot read (a sound for CLIP) is embedded in a space that can (CLAP, or the library's own)
and carried over by a map fitted through text (:mod:`sensorium.binding`). Files the space has
not embedded yet are answered from the library's own space, and every hit says which space
answered it.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sensorium.binding import Binding, fit, sentence_names
from sensorium.errors import LibraryError, MediaError, QueryError, SensoriumError
from sensorium.media.audio import stream_audio
from sensorium.media.image import image_segments
from sensorium.media.probe import probe
from sensorium.media.video import video_or_sound
from sensorium.models import hub
from sensorium.models.base import Encoded, EncoderInfo, l2_normalise
from sensorium.models.files import cache_dir
from sensorium.store.base import Filter, Store
from sensorium.store.registry import open_store
from sensorium.types import SOUND_INDEX_BASE, Facts, Hit, Segment, track_of

if TYPE_CHECKING:
    from sensorium.library import Library

log = logging.getLogger(__name__)
SPACES_DIR = "spaces"
BINDINGS_DIR = "bindings"
BATCH_PIXELS = 48_000_000  # decoded photos held for one batch: about 150 MB, four 12-megapixel photos
WINDOW_HOP = 0.5  # sound windows of a space overlap by half the model's clip length
MIN_WINDOW_S = 1.0  # a last, shorter window is kept only if at least this long
Progress = Callable[[int, int, str], None]


class SpaceEncoder:
    """One hub model as an encoder of segments, of whole sound files, and of words."""

    def __init__(self, lib: Library, model: hub.InstalledModel) -> None:
        self.record = model
        self.model = hub.load(model, threads=lib.settings.threads, onnx=lib.settings.hub_onnx)
        self.settings = lib.settings
        self.max_side = 512
        self.info = EncoderInfo(
            id=model.id,
            space=model.space,
            dim=model.dim,
            modalities=frozenset(model.modalities) | {"text"},
            weights_sha256=model.version_key.rpartition("@")[2],
            licence=model.licence,
        )

    @property
    def version_key(self) -> str:
        return self.record.version_key

    def reads(self, modality: str) -> bool:
        """Whether this model embeds files of ``modality`` (a video through its pictures or its sound)."""
        mods = set(self.record.modalities)
        return modality == "text" or modality in mods or (modality == "video" and bool(mods & {"image", "audio"}))

    def encode_text(self, texts: Sequence[str], *, query: bool = True) -> np.ndarray:
        return self.model.encode_text(list(texts))

    def encode(self, segments: Sequence[Segment]) -> Encoded:
        """Pictures and text chunks (the video encoder sends its shot pictures here)."""
        if not segments:
            return Encoded(np.zeros((0, self.info.dim), np.float32), None, [])
        if segments[0].modality == "text":
            vecs = self.model.encode_text([s.payload for s in segments])
        else:
            vecs = self.model.encode_images([s.payload for s in segments])
        return Encoded(vecs, None, [Facts() for _ in segments])

    def encode_file(self, path: Path, emit: Callable[[list[Segment], Encoded], None]) -> Any:
        """A sound file in overlapping windows of the model's clip length, emitted a block at a time."""
        for segs in _sound_windows(path, self.model.audio_rate, self._window_s, self.settings.max_audio_seconds):
            emit(segs, Encoded(self.model.encode_audio([s.payload for s in segs]), None, [Facts() for _ in segs]))
        return None

    @property
    def _window_s(self) -> float:
        return float(getattr(self.model, "clip_seconds", 10.0))


def _sound_windows(path: Path, rate: int, window_s: float, max_seconds: float) -> Iterator[list[Segment]]:
    """Windows of ``window_s`` every ``window_s * WINDOW_HOP`` seconds, in lists of up to 16."""
    win, hop = round(window_s * rate), max(1, round(window_s * WINDOW_HOP * rate))
    buf = np.zeros(0, np.float32)
    offset = 0  # samples dropped from the front of buf
    index = 0
    out: list[Segment] = []
    for block in stream_audio(path, [rate], block_s=60.0, max_seconds=max_seconds):
        buf = np.concatenate([buf, block.samples[rate]])
        while len(buf) >= win:
            out.append(_window(path, index, buf[:win], offset, rate))
            index += 1
            buf, offset = buf[hop:], offset + hop
            if len(out) == 16:
                yield out
                out = []
    uncovered = len(buf) if index == 0 else len(buf) - (win - hop)  # samples after the last window's end
    if uncovered > 0 and (index == 0 or uncovered >= MIN_WINDOW_S * rate):
        out.append(_window(path, index, buf, offset, rate))
    if out:
        yield out


def _window(path: Path, index: int, samples: np.ndarray, offset: int, rate: int) -> Segment:
    start = offset / rate
    return Segment(str(path), "audio", index, samples.copy(), start, start + len(samples) / rate)


# -- the library's spaces ---------------------------------------------------------------------


def space_names(lib: Library) -> list[str]:
    return list((lib.manifest.get("spaces") or {}).keys())


def main_space(lib: Library) -> str:
    return lib.manifest.get("space") or lib.text_encoder.info.space


def add_space(lib: Library, model_key: str) -> str:
    """Make the installed model ``model_key`` write its space in this library; returns the space name.

    A space that another model (or other weights) wrote before is switched to this one: its old
    vectors are dropped, since a query embedded by the new model cannot be compared with them.
    Until the files are embedded again, the library's own space answers for them.
    """
    model = hub.find_installed(lib.settings.hub_dir, model_key)
    if not model.dim:
        raise LibraryError(f"model {model.id}: it makes no embeddings (a speech model); use it with --whisper-model")
    if model.space == main_space(lib):
        raise LibraryError(f"model {model.id}: space name {model.space!r} is the library's own; add it with --space")
    lib.store(create=True)
    spaces = dict(lib.manifest.get("spaces") or {})
    before = spaces.get(model.space)
    if before and before["version"] != model.version_key:
        lib.__dict__.get("_space_stores", {}).pop(model.space, None)
        shutil.rmtree(lib.path / SPACES_DIR / model.space, ignore_errors=True)
    spaces[model.space] = {
        "model": model.id,
        "version": model.version_key,
        "dim": model.dim,
        "modalities": model.modalities,
        "added": spaces.get(model.space, {}).get("added", time.time()),
    }
    lib.manifest["spaces"] = spaces
    lib._write_manifest()
    return model.space


def space_encoder(lib: Library, name: str) -> SpaceEncoder:
    cache = lib.__dict__.setdefault("_space_encoders", {})
    entry = _entry(lib, name)
    if name not in cache or cache[name].record.id != entry["model"]:
        cache[name] = SpaceEncoder(lib, hub.find_installed(lib.settings.hub_dir, entry["model"]))
    return cache[name]


def _entry(lib: Library, name: str) -> dict[str, Any]:
    spaces = lib.manifest.get("spaces") or {}
    if name not in spaces:
        have = ", ".join([main_space(lib), *spaces]) or "none"
        raise QueryError(f"space {name!r}: not in library {lib.path} (its spaces: {have}); add it with --model")
    return spaces[name]


def space_store(lib: Library, name: str) -> Store:
    stores = lib.__dict__.setdefault("_space_stores", {})
    if name not in stores:
        entry = _entry(lib, name)
        opts = getattr(lib.settings.store, lib.manifest["store"], None)
        folder = lib.path / SPACES_DIR / name
        stores[name] = open_store(lib.manifest["store"], folder, dim=entry["dim"], perceptual_dim=1, options=opts)
    return stores[name]


def sync_space(lib: Library, name: str, *, on_progress: Progress | None = None) -> dict[str, int]:
    """Embed in space ``name`` every indexed file it has not embedded with its current model.

    Returns counts: ``embedded``, ``unchanged``, ``dropped`` (forgotten by the library),
    ``failed`` (with the reason kept in the space's files table), ``records``. A file moved or
    copied takes the vectors of an identical file the space holds (``embedded`` counts it).
    """
    from sensorium.ingest import _file_row, record_rows

    enc = space_encoder(lib, name)
    store = space_store(lib, name)
    lib.__dict__.get("_space_pending", {}).pop(name, None)
    done = {p: r for p, r in lib.store().files().items() if r.get("status") == "done"}
    have = store.files()
    counts = {"embedded": 0, "unchanged": 0, "dropped": 0, "failed": 0, "records": 0}
    todo = []
    for path, row in done.items():
        old = have.get(path)
        fresh = old and old.get("content_hash") == row.get("content_hash") and old.get("encoder") == enc.version_key
        if fresh and old.get("status") in ("done", "failed"):
            counts["unchanged"] += 1
        else:
            todo.append(row)
    copied, todo = _copies_of_twins(store, todo, have, enc.version_key)  # read before the moved-from paths go
    gone = [p for p in have if p not in done]
    if gone:
        store.delete_paths(gone)
        store.delete_files(gone)
        counts["dropped"] = len(gone)
    if copied:
        rows, files = copied
        store.delete_paths([f["path"] for f in files])
        store.upsert_records(rows)
        store.upsert_files(files)
        counts["embedded"] += len(files)
        counts["records"] += len(rows)
    photos: list[tuple[_Item, list[Segment]]] = []  # decoded photos waiting for a full batch
    batch = int(getattr(enc.model, "batch_size", 1) or 1)

    def embed_file(item: _Item, modality: str | None = None) -> None:
        try:
            store.delete_paths([item.path])
            rows = []
            for segs, encoded in _encode_file(lib, enc, Path(item.path), modality):
                rows += record_rows(
                    segs, encoded, {item.path: item.content_hash}, enc.version_key, 1, {item.path: item.taken}
                )
                if len(rows) >= 256:
                    store.upsert_records(rows)
                    counts["records"] += len(rows)
                    rows = []
            store.upsert_records(rows)
            counts["records"] += len(rows)
            store.upsert_files([_file_row(item, "done", enc.version_key)])  # type: ignore[arg-type]
            counts["embedded"] += 1
        except (MediaError, OSError) as exc:
            fail(item, exc.detail if isinstance(exc, MediaError) else str(exc))
        except SensoriumError:
            raise
        except Exception as exc:  # a model crash on one file must not stop the rest
            log.warning("space %s: embedding %s failed", name, item.path, exc_info=True)
            fail(item, f"encoder failed ({type(exc).__name__}: {exc})")

    def fail(item: _Item, reason: str) -> None:
        store.delete_paths([item.path])
        store.upsert_files([_file_row(item, "failed", enc.version_key, error=reason)])  # type: ignore[arg-type]
        counts["failed"] += 1

    def embed_photos() -> None:
        """The waiting photos in one batch: a model runs far faster on 32 pictures than on 32 single ones."""
        if not photos:
            return
        waiting = photos[:]
        photos.clear()
        segs = [seg for _, file_segs in waiting for seg in file_segs]
        try:
            encoded = enc.encode(segs)
        except SensoriumError:
            raise
        except Exception:  # find the file that breaks the batch: one at a time, each with its own error
            for item, _ in waiting:
                embed_file(item)
            return
        hashes = {item.path: item.content_hash for item, _ in waiting}
        store.delete_paths(list(hashes))
        rows = record_rows(segs, encoded, hashes, enc.version_key, 1, {item.path: item.taken for item, _ in waiting})
        store.upsert_records(rows)
        counts["records"] += len(rows)
        store.upsert_files([_file_row(item, "done", enc.version_key) for item, _ in waiting])  # type: ignore[misc]
        counts["embedded"] += len(waiting)

    for i, row in enumerate(sorted(todo, key=lambda r: r["path"]), start=1):
        item = _Item(row["path"], row)
        modality = _probed(item.path)
        if modality == "image" and enc.reads("image"):
            try:
                photos.append((item, image_segments(Path(item.path), max_pixels=lib.settings.max_image_pixels)))
            except (MediaError, OSError) as exc:
                fail(item, exc.detail if isinstance(exc, MediaError) else str(exc))
            pixels = sum(seg.payload.width * seg.payload.height for _, segs in photos for seg in segs)
            if len(photos) >= batch or pixels >= BATCH_PIXELS:
                embed_photos()
        else:
            embed_file(item, modality)
        if on_progress:
            on_progress(i, len(todo), f"{name}: {item.path}")
    embed_photos()
    store.optimize()
    lib.__dict__.get("_space_pending", {}).pop(name, None)
    return counts


def _copies_of_twins(
    store: Any, todo: list[dict[str, Any]], have: dict[str, dict[str, Any]], version: str
) -> tuple[tuple[list[dict[str, Any]], list[dict[str, Any]]] | None, list[dict[str, Any]]]:
    """The space's records and files rows for the files of ``todo`` identical to one it holds
    (moved, renamed, copied), and what is left to embed. A CLIP tower re-embedded 3,000 moved photos
    at 11 a second."""
    from sensorium.ingest import _file_row, twin_records

    twins = {
        r["content_hash"]: p
        for p, r in have.items()
        if r.get("status") == "done" and r.get("encoder") == version and r.get("content_hash")
    }
    wanted = [row for row in todo if twins.get(row.get("content_hash") or "") not in (None, row["path"])]
    if not wanted:
        return None, todo
    found = twin_records(store, [(r["path"], twins[r["content_hash"]], r["content_hash"], version) for r in wanted])
    rows = [record for path in found for record in found[path]]
    files = [_file_row(_Item(r["path"], r), "done", version) for r in wanted if r["path"] in found]  # type: ignore[arg-type]
    left = [row for row in todo if row["path"] not in found]
    return ((rows, files) if files else None), left


def _probed(path: str) -> str | None:
    """The file's kind by content, or None when it cannot be read (embed_file then reports why)."""
    try:
        return probe(Path(path))
    except (MediaError, OSError):
        return None


class _Item:
    """What :func:`sensorium.ingest._file_row` reads of a file."""

    def __init__(self, path: str, row: dict[str, Any]) -> None:
        self.path = path
        self.content_hash = row.get("content_hash", "")
        self.size = row.get("size", 0)
        self.mtime = row.get("mtime", 0.0)
        self.taken = row.get("taken")


def _encode_file(
    lib: Library, enc: SpaceEncoder, path: Path, modality: str | None = None
) -> Iterator[tuple[list[Segment], Encoded]]:
    """(segments, vectors) of one file in a space, in the order the file is read (``modality``: its probe)."""
    s = lib.settings
    modality = modality or probe(path)
    if modality == "video":
        modality = video_or_sound(path)
    if not enc.reads(modality):
        return
    if modality == "image":
        segs = image_segments(path, max_pixels=s.max_image_pixels)
        yield segs, enc.encode(segs)
    elif modality == "text":
        segs = lib.note_segments(path)
        for i in range(0, len(segs), 64):
            yield segs[i : i + 64], enc.encode(segs[i : i + 64])
    elif modality == "audio":
        yield from _collect(lambda emit: enc.encode_file(path, emit))
    elif modality == "video":
        yield from _video(lib, enc, path)


def _collect(run: Callable[[Callable[[list[Segment], Encoded], None]], Any]) -> Iterator[tuple[list[Segment], Encoded]]:
    got: list[tuple[list[Segment], Encoded]] = []
    run(lambda segs, encoded: got.append((segs, encoded)))
    yield from got


def _video(lib: Library, enc: SpaceEncoder, path: Path) -> Iterator[tuple[list[Segment], Encoded]]:
    """A video's shot pictures (image models), or its sound track's windows (sound models)."""
    from sensorium.models.offline_video import OfflineVideoEncoder

    if "image" in enc.record.modalities:
        got: list[tuple[list[Segment], Encoded]] = []
        OfflineVideoEncoder(lib.settings, enc, None).encode_file(path, lambda s, e: got.append((s, e)))
        yield from got
    if "audio" in enc.record.modalities:
        try:
            for segs, encoded in _collect(lambda emit: enc.encode_file(path, emit)):
                moved = [replace(x, modality="video", index=SOUND_INDEX_BASE + x.index) for x in segs]
                yield moved, encoded
        except MediaError as exc:
            log.info("%s: no sound track for space %s (%s)", path, enc.record.space, exc.reason)


PENDING_TTL_S = 10.0  # a search reuses the pending set this long (another process may be indexing)


def pending_paths(lib: Library, name: str, *, max_age: float = 0.0) -> set[str]:
    """Files the library holds that space ``name`` has not embedded with its current model.

    Reading both files tables costs a query's worth of time on a big library, so searches pass
    ``max_age`` and reuse a recent answer; :func:`sync_space` forgets it.
    """
    cache = lib.__dict__.setdefault("_space_pending", {})
    hit = cache.get(name)
    if max_age > 0 and hit is not None and time.monotonic() - hit[0] < max_age:
        return hit[1]
    out = _pending_now(lib, name)
    cache[name] = (time.monotonic(), out)
    return out


def _pending_now(lib: Library, name: str) -> set[str]:
    enc_version = _entry(lib, name)["version"]
    have = space_store(lib, name).files()
    out = set()
    for path, row in lib.store().files().items():
        if row.get("status") != "done":
            continue
        old = have.get(path)
        if not old or old.get("content_hash") != row.get("content_hash") or old.get("encoder") != enc_version:
            out.add(path)
    return out


def describe_spaces(lib: Library) -> list[dict[str, Any]]:
    """One row per space: model, dimension, files embedded and waiting, records, bindings on disk."""
    rows = [
        {
            "space": main_space(lib),
            "model": "offline tier",
            "dim": lib.manifest.get("dim"),
            "files": sum(1 for r in lib.store().files().values() if r.get("status") == "done") if lib.exists else 0,
            "pending": 0,
            "records": lib.store().count() if lib.exists else 0,
            "own": True,
        }
    ]
    for name, entry in (lib.manifest.get("spaces") or {}).items():
        store = space_store(lib, name)
        rows.append(
            {
                "space": name,
                "model": entry["model"],
                "dim": entry["dim"],
                "files": sum(1 for r in store.files().values() if r.get("status") == "done"),
                "pending": len(pending_paths(lib, name)),
                "records": store.count(),
                "own": False,
            }
        )
    for row in rows:
        row["bindings"] = [b.summary() for b in _saved_bindings(lib) if b.source == row["space"]]
    return rows


# -- binding ----------------------------------------------------------------------------------


def _embedder(lib: Library, name: str) -> tuple[Callable[[Sequence[str]], np.ndarray], str]:
    """(text → vectors in space ``name``, the model version behind it)."""
    if name == main_space(lib):
        return (lambda texts: lib.text_vectors(list(texts))), lib.version_key("image")
    enc = space_encoder(lib, name)
    return (lambda texts: enc.encode_text(texts)), enc.version_key


def _cached_embedder(lib: Library, name: str) -> tuple[Callable[[Sequence[str]], np.ndarray], str]:
    embed, version = _embedder(lib, name)
    folder = cache_dir(lib.settings.models, lib.settings.cache, "binding")

    def cached(texts: Sequence[str]) -> np.ndarray:
        key = hashlib.sha1(("\n".join(texts) + version).encode()).hexdigest()[:20]
        path = folder / f"sentences-{key}.npy"
        if path.is_file():
            return np.load(path)
        vecs = np.asarray(embed(texts), dtype=np.float32)
        np.save(path, vecs)
        return vecs

    return cached, version


def binding(lib: Library, source: str, target: str) -> Binding:
    """The map from space ``source`` to space ``target``, fitted on first use and kept in the library."""
    embed_src, v_src = _cached_embedder(lib, source)
    embed_dst, v_dst = _cached_embedder(lib, target)
    names = sentence_names(lib.settings.models)
    key = hashlib.sha1(f"{v_src}|{v_dst}|{len(names)}".encode()).hexdigest()[:16]
    path = lib.path / BINDINGS_DIR / f"{source}__{target}.npz"
    if path.is_file():
        try:
            found = Binding.load(path)
            if found.key == key:
                return found
        except (OSError, ValueError, KeyError) as exc:
            log.warning("%s: unreadable binding (%s); fitting it again", path, exc)
    made = fit(source, target, embed_src, embed_dst, names, key=key)
    made.save(path)
    return made


def _saved_bindings(lib: Library) -> list[Binding]:
    out = []
    for path in sorted((lib.path / BINDINGS_DIR).glob("*.npz")):
        try:
            out.append(Binding.load(path))
        except (OSError, ValueError, KeyError):
            continue
    return out


# -- search -----------------------------------------------------------------------------------


def target_space(lib: Library, space: str | None, modality: str | None) -> str | None:
    """The space a search runs in: the one asked for, else a hub space that reads the wanted modality.

    ``None`` means the library's own space (and its full pipeline of facts and keywords).
    """
    if space:
        if space in ("offline", main_space(lib)):
            return None
        _entry(lib, space)
        return space
    if modality in ("image", "audio", "video"):
        want = {"image": "image", "audio": "audio", "video": "image"}[modality]
        for name, entry in (lib.manifest.get("spaces") or {}).items():
            if want in entry["modalities"]:
                return name
    return None


def example_vector(lib: Library, target: str, path: Path) -> tuple[np.ndarray, str]:
    """An example file as a vector of space ``target``, and the space that read it.

    The target's own model reads it when it can; otherwise another space of the library that
    reads this kind of file does (a hub space first, then the library's own), and the vector is
    carried over by a binding.
    """
    try:
        modality = probe(path)
        if modality == "video":
            modality = video_or_sound(path)
    except MediaError as exc:
        from sensorium.query import example_problem

        raise QueryError(f"example {path}: {example_problem(exc)}") from exc
    candidates = [target] + [n for n in space_names(lib) if n != target]
    for name in candidates:
        enc = space_encoder(lib, name)
        if enc.reads(modality):
            vec = _pooled(lib, enc, path)
            if vec is not None:
                return (vec, name) if name == target else (binding(lib, name, target).apply(vec)[0], name)
    from sensorium.query import encode_example

    own = encode_example(lib, path).semantic
    return binding(lib, main_space(lib), target).apply(own)[0], main_space(lib)


def _pooled(lib: Library, enc: SpaceEncoder, path: Path) -> np.ndarray | None:
    vecs, weights = [], []
    try:
        for segs, encoded in _encode_file(lib, enc, path):
            vecs.append(encoded.semantic)
            weights += [max((s.end_s or 1.0) - (s.start_s or 0.0), 1e-3) for s in segs]
    except MediaError as exc:
        from sensorium.query import example_problem

        raise QueryError(f"example {path}: {example_problem(exc)}") from exc
    if not vecs:
        return None
    w = np.asarray(weights, dtype=np.float32)[:, None]
    return l2_normalise((np.concatenate(vecs) * w).sum(0))


def calibrator(lib: Library, name: str) -> Any:
    """Scores of space ``name`` on the library's calibrated 0..1 scale (see :mod:`sensorium.scoring`)."""
    from sensorium.scoring import Calibrator, background_texts

    cache = lib.__dict__.setdefault("_space_calibrators", {})
    if name not in cache:
        embed, _ = _cached_embedder(lib, name)
        texts = [f"a photo of a {t}" for t in background_texts()]
        cache[name] = Calibrator(space_encoder(lib, name), embed(texts))
    return cache[name]


def search_space(
    lib: Library,
    name: str,
    text: str | None,
    *,
    like: Path | Sequence[Path] | None = None,
    like_weight: float = 0.5,
    negative: str | None = None,
    limit: int = 10,
    modality: str | None = None,
    path_glob: str | None = None,
    min_score: float | None = None,
    taken: tuple[float | None, float | None] | None = None,
) -> list[Hit]:
    """Hits of space ``name``, joined by what files say of themselves (their tags, scored in the library's
    own space), plus the library's own answers for files the space has not embedded yet.

    Several examples (``like``) are averaged, each read as :func:`example_vector` reads it.
    """
    from sensorium.media.places import places_asked
    from sensorium.query import (
        DEFAULT_MIN_SCORE,
        _combine,
        combine_tracks,
        keep_to_named_places,
        merge_moments,
        search,
        tagged_hits,
    )

    enc = space_encoder(lib, name)
    cal = calibrator(lib, name)
    qvec = enc.encode_text([text])[0] if text else None
    likes = [Path(like)] if isinstance(like, (str, Path)) else [Path(x) for x in like or ()]
    read = [example_vector(lib, name, p) for p in likes]
    evec = l2_normalise(np.mean([v for v, _ in read], axis=0)) if read else None
    read_by = "/".join(dict.fromkeys(r for _, r in read))
    sem = _combine(qvec, evec, like_weight)
    if negative:
        sem = l2_normalise(sem - 0.5 * enc.encode_text([negative])[0])
    floor = DEFAULT_MIN_SCORE if min_score is None else min_score
    rows = space_store(lib, name).search_vectors(
        sem, limit=max(limit * 5, 50), where=Filter(modality=modality, path_glob=path_glob, taken=taken)
    )
    hits = []
    if rows:
        cos = np.asarray([r["_score"] for r in rows], dtype=np.float32)
        scores = cal.scores(cos[:, None], sem[None, :])[:, 0] if text else (cos + 1) / 2
        why = f"{name} space" + (
            f" (example read in {read_by}, carried over by binding)" if read_by not in ("", name) else ""
        )
        for r, s in zip(rows, scores, strict=True):
            if s < floor:
                continue
            hits.append(
                Hit(
                    path=r["path"],
                    score=float(s),
                    modality=r["modality"],
                    start=r.get("start"),
                    end=r.get("end"),
                    why=f"{why}: cosine {r['_score']:.3f}",
                    id=r["id"],
                    track=track_of(r["modality"], int(r.get("seg_index") or 0)),
                    space=name,
                    taken=r.get("taken"),
                )
            )
    pending = pending_paths(lib, name, max_age=PENDING_TTL_S)
    if text:  # what files say of themselves (a caption, where a phone took it): the space's model reads none of it
        found = tagged_hits(
            lib, text, negative=negative, modality=modality, path_glob=path_glob, taken=taken, limit=limit
        )
        hits += [h for h in found if h.path not in pending]
        words = {w for w in re.findall(r"\w+", text.lower()) if len(w) > 2}
        hits = keep_to_named_places(lib.store(), places_asked(text), hits, words)
        hits = [h for h in hits if h.score >= floor]
    moments = combine_tracks(merge_moments(hits, gap=1.0))
    if pending:  # not embedded in this space yet: the library's own space answers for them
        own = search(
            lib,
            text,
            like=like,
            like_weight=like_weight,
            negative=negative,
            limit=limit * 3,
            modality=modality,
            path_glob=path_glob,
            min_score=min_score,
            space=main_space(lib),
            taken=taken,
        )
        moments += [h for h in own if h.path in pending]
    moments.sort(key=lambda h: (-h.score, h.path, h.start or 0.0))
    return [_thumb(lib, h) for h in moments[:limit]]


def _thumb(lib: Library, hit: Hit) -> Hit:
    from sensorium.query import _with_thumbnail

    return _with_thumbnail(lib, hit) if hit.thumbnail is None else hit
