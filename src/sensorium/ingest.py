"""Indexing: walk → probe → decode → encode → write, in small committed batches.

A file counts as done only after its records are written; a restart skips what is done
(same size and mtime, or same content hash, and same model) and redoes the rest. Record ids
are stable per (path, segment), so a replayed batch overwrites instead of duplicating. A
file that fails is recorded with its reason and the run goes on.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from sensorium import thumbnails, timeline
from sensorium.errors import MediaError, SensoriumError
from sensorium.eta import Eta
from sensorium.media.audio import audio_info, has_audio_track
from sensorium.media.image import image_segments
from sensorium.media.probe import NotMedia, is_pdf, probe, read_head
from sensorium.media.tags import FileTags, document_tags, picture_tags, sidecar, with_sidecar
from sensorium.media.video import media_header, video_or_sound
from sensorium.media.walk import canonical, display_path, skipped_by, walk
from sensorium.models.base import Encoded
from sensorium.models.offline_video import ENCODER_ID as VIDEO_ID
from sensorium.store.base import pad_perceptual
from sensorium.types import PICTURES_MARK, TAGS_INDEX, Facts, Segment, track_of

if TYPE_CHECKING:
    from sensorium.library import Library

log = logging.getLogger(__name__)
INDEXED_MODALITIES = ("image", "text", "audio", "video")
STREAMED_MODALITIES = ("audio", "video")  # encoded file by file as they decode, never held whole


@dataclass
class IndexReport:
    """What an index run did. ``failures`` holds (path, reason) pairs."""

    indexed: int = 0
    reused: int = 0  # of those indexed, files whose records were copied from an identical file's (no decoding)
    skipped: int = 0
    failed: int = 0
    not_media: int = 0  # files that neither are nor claim to be media (PDFs, archives): passed over
    pruned: int = 0
    gone: int = 0  # indexed files under the given paths that no longer exist, kept without --prune
    held: list[str] = field(default_factory=list)  # folders given whose every indexed file is missing: not pruned
    records: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)
    spaces: dict[str, dict[str, int]] = field(default_factory=dict)  # per hub space: embedded, unchanged...
    redated: int = 0  # files indexed before 0.4 whose dates this run read (sensorium.redate), once

    def to_json(self) -> dict[str, Any]:
        return {
            "spaces": self.spaces,
            "indexed": self.indexed,
            "reused": self.reused,
            "skipped": self.skipped,
            "failed": self.failed,
            "not_media": self.not_media,
            "pruned": self.pruned,
            "gone": self.gone,
            "held": self.held,
            "records": self.records,
            "seconds": round(self.seconds, 3),
            "failures": [{"path": p, "error": r} for p, r in self.failures],
            "redated": self.redated,
        }


@dataclass
class Prepared:
    """A file read and segmented, ready to encode (or skipped, or failed)."""

    path: str
    size: int = 0
    mtime: float = 0.0
    content_hash: str = ""
    modality: str = ""
    segments: list[Segment] = field(default_factory=list)
    error: str | None = None
    skip: bool = False
    not_media: bool = False
    reencoded: bool = False  # indexed before by another model version: its old records are still stored
    twin: str | None = None  # a file already indexed with the same content and model: copy its records
    seconds: float | None = None  # how long a recording or video plays (for progress within it)
    document: bool = False  # a PDF: read page by page when its turn comes (OCR can take minutes)
    tags: str = ""  # the words the file carries about itself (media.tags): one record of their own
    taken: float | None = None  # when the file says it was made (media.dates): on its every record


def record_id(path: str, seg_index: int) -> str:
    key = hashlib.blake2b(path.encode("utf-8", "surrogateescape"), digest_size=10).hexdigest()
    return f"{key}:{seg_index}"


def content_hash(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=20)).hexdigest()


def _sidecar_mtime(side: Path) -> float | None:
    """An XMP sidecar's modification time; None when it went away meanwhile (the file is then indexed
    by itself)."""
    try:
        return side.stat().st_mtime
    except OSError:
        return None


def _with_sidecar_hash(digest: str, side: Path) -> str:
    """A file's content hash joined with its sidecar's: editing either one changes the file as indexed."""
    try:
        both = f"{digest}+{content_hash(side)}".encode()
    except OSError:
        return digest
    return hashlib.blake2b(both, digest_size=20).hexdigest()


class _Preparer:
    """Reads and segments one file; runs in worker threads (decoders release the GIL)."""

    def __init__(self, lib: Library, known: dict[str, dict[str, Any]], *, rehash: bool = False) -> None:
        self.lib = lib
        self.known = known
        self.rehash = rehash  # read every file for its hash, whatever its size and modification time say
        self.twins: dict[str, str] = {}  # content hash -> a path indexed with it (a moved or copied file reuses it)
        for path, row in known.items():
            if row.get("status") == "done" and row.get("content_hash"):
                self.twins.setdefault(row["content_hash"], path)
        self._fresh: dict[str, bool] = {}
        self._lock = threading.Lock()
        self.max_side = getattr(lib.image_encoder, "max_side", 512)

    def likely_unchanged(self, path: str, size: int, mtime: float) -> bool:
        """Whether ``path`` will be skipped, judged by its size and time alone (as a run without --rehash)."""
        old = self.known.get(os.path.abspath(path))
        if old is not None and old.get("mtime") != mtime and self.lib.settings.file_tags:
            side = sidecar(Path(path))  # a file with an XMP sidecar was stamped with the later of their times
            mtime = max(mtime, (_sidecar_mtime(side) or 0.0) if side is not None else 0.0)
        return not self.rehash and self._unchanged(old, Prepared(path, size, mtime), fast=True)

    def is_fresh(self, version: str) -> bool:
        """Whether a file indexed by model ``version`` needs no re-encoding (builds that model's encoder once)."""
        with self._lock:
            if version not in self._fresh:
                s = self.lib.settings
                if PICTURES_MARK in version:  # a PDF whose photos were described
                    self._fresh[version] = version == self.lib.document_version_key()
                    return self._fresh[version]
                model = version.split("@", 1)[0]
                modality = {s.image_encoder: "image", s.audio_encoder: "audio", VIDEO_ID: "video"}.get(model, "text")
                self._fresh[version] = version == self.lib.version_key(modality)
            return self._fresh[version]

    def __call__(self, path: Path, *, reuse: bool = True) -> Prepared:
        key = os.path.abspath(path)
        path = Path(key)  # segments name their source by the same absolute path as the files table
        item = Prepared(path=key)
        try:
            st = path.stat()
            item.size, item.mtime = st.st_size, st.st_mtime
            side = sidecar(path) if self.lib.settings.file_tags else None
            side_mtime = _sidecar_mtime(side) if side is not None else None
            if side_mtime is not None:  # an XMP sidecar edited (a keyword added) changes the file as indexed
                item.mtime = max(item.mtime, side_mtime)
            old = self.known.get(key)
            if not self.rehash and self._unchanged(old, item, fast=True):
                item.skip = True
                return item
            item.content_hash = content_hash(path)
            if side is not None and side_mtime is not None:
                item.content_hash = _with_sidecar_hash(item.content_hash, side)
            if self._unchanged(old, item, fast=False):
                item.skip = True
                return item
            twin = self.twins.get(item.content_hash) if reuse else None
            if twin is not None and twin != key and self._current(self.known[twin]):
                item.twin = twin  # moved, renamed or copied: its records are already made
                return item
            item.modality = probe(path)
            if item.modality == "video":  # fails early on a file with no picture; decoding streams later
                item.modality = video_or_sound(path)  # a sound in a video container is indexed as sound
            self._read(path, item)
        except NotMedia:
            item.not_media = True
        except MediaError as exc:
            item.error = exc.detail if exc.path == str(path) else str(exc)
        except PermissionError as exc:
            item.error = f"permission denied ({exc.strerror})"
        except OSError as exc:
            item.error = f"cannot read file ({exc.strerror or exc})"
        return item

    def _unchanged(self, old: dict[str, Any] | None, item: Prepared, *, fast: bool) -> bool:
        if not old or old.get("status") != "done" or not self._current(old):
            return False
        if fast:
            return old.get("size") == item.size and old.get("mtime") == item.mtime
        return old.get("content_hash") == item.content_hash

    def _current(self, row: dict[str, Any]) -> bool:
        """Whether a file's row says it was indexed as this run would index it (its content aside)."""
        return self.is_fresh(row.get("encoder") or "") and not self._pictures_missing(row)

    def _pictures_missing(self, old: dict[str, Any]) -> bool:
        """A PDF indexed by its words alone (before photos were described, or with them turned off)
        while ``pdf_pictures`` is on: its photos are still to be described."""
        if not self.lib.settings.pdf_pictures or old.get("encoder") != self.lib.version_key("text"):
            return False
        try:
            return is_pdf(read_head(Path(old["path"]), 8))
        except OSError:
            return False

    def _read(self, path: Path, item: Prepared) -> None:
        """A photo's or note's segments; a recording's or video's length (they are decoded as they stream)."""
        s = self.lib.settings
        own = FileTags()
        if item.modality == "image":
            item.segments = image_segments(path, max_pixels=s.max_image_pixels, max_side=self.max_side)
            own = picture_tags(path)
        elif item.modality == "text" and is_pdf(read_head(path, 8)):
            item.document = True  # read in the indexing loop, where its pages show as progress
            own = document_tags(path)
        elif item.modality == "text":
            item.segments = self.lib.note_segments(path)
            own = document_tags(path)  # a DOCX's, ODT's or EPUB's title and author; a note's: none
        elif item.modality == "audio":
            info = audio_info(path)  # fails early and clearly on a file with no audio
            item.seconds, own = info.duration_s, info.tags
        elif item.modality == "video":
            item.seconds, own = media_header(path)  # its picture track was checked by video_or_sound
        else:
            raise MediaError(str(path), f"{item.modality} files are not indexed", "skip them with --exclude")
        own = with_sidecar(path, own)
        item.tags, item.taken = own.words if s.file_tags else "", own.taken


def _read_document(lib: Library, item: Prepared, tick: Callable[[float, str], Any]) -> None:
    """A PDF's passages, saying which page it is on; a failure becomes the item's error."""

    def on_page(page: int, pages: int) -> None:
        tick(page / pages, f"{display_path(item.path)}: page {page} of {pages}")

    try:
        item.segments = lib.note_segments(Path(item.path), on_page=on_page)
    except MediaError as exc:
        item.error = exc.detail if exc.path == item.path else str(exc)


def _rows_for(lib: Library, items: list[Prepared]) -> list[dict[str, Any]]:
    """Encode the segments of ``items`` (images and text) and build store rows."""
    rows: list[dict[str, Any]] = []
    hashes = {it.path: it.content_hash for it in items}
    taken = {it.path: it.taken for it in items}
    for modality in ("image", "text"):
        segs = [s for it in items if it.modality == modality for s in it.segments]
        if not segs:
            continue
        if modality == "text":
            encoded = Encoded(lib.text_vectors([s.payload for s in segs]), None, [Facts(text=s.payload) for s in segs])
        else:
            encoded = lib.encoder_for(modality).encode(segs)
        rows += record_rows(segs, encoded, hashes, lib.version_key(modality), lib.manifest["perceptual_dim"], taken)
    for modality in ("image", "text"):  # photos' captions and keywords; documents' titles and authors
        tagged = [it for it in items if it.tags and it.modality == modality and it.segments]
        if tagged:
            rows += tags_rows(lib, tagged, lib.version_key(modality))
    documents = {it.path: _version_of(lib, it) for it in items if it.document}
    for row in rows:  # a PDF's passages carry its row's version, so a re-read drops those it no longer makes
        row["encoder"] = documents.get(row["path"], row["encoder"])
    return rows


def tags_rows(lib: Library, items: Sequence[Prepared], version: str) -> list[dict[str, Any]]:
    """The records of the words each item carries about itself, spanning the whole of a timed file.

    Records of their own, not mixed into the picture's or sound's vectors: a caption ranks as words
    do (a note's scale), and :func:`sensorium.query.combine_tracks` joins it to what is seen or heard.
    """
    segs = []
    for it in items:
        end = it.seconds if it.modality != "image" else None
        segs.append(Segment(it.path, it.modality, TAGS_INDEX, it.tags, 0.0 if end is not None else None, end))
    texts = [it.tags for it in items]
    encoded = Encoded(lib.text_vectors(texts), None, [Facts(text=t) for t in texts])
    hashes = {it.path: it.content_hash for it in items}
    taken = {it.path: it.taken for it in items}
    return record_rows(segs, encoded, hashes, version, lib.manifest["perceptual_dim"], taken)


def record_rows(
    segs: Sequence[Segment],
    encoded: Encoded,
    hashes: dict[str, str],
    version: str,
    perceptual_dim: int,
    taken: dict[str, float | None] | None = None,
) -> list[dict[str, Any]]:
    """Store rows for encoded segments (perceptual vectors padded by :func:`pad_perceptual`; zeros if none);
    ``hashes`` and ``taken`` (when each file was made) by path."""
    taken = taken or {}
    width = max(perceptual_dim, 1)
    padded = pad_perceptual(encoded.perceptual, width) if encoded.perceptual is not None else None
    perceptual = padded if padded is not None else np.zeros((len(segs), width), dtype=np.float32)
    rows = []
    for seg, vec, pvec, fact in zip(segs, encoded.semantic, perceptual, encoded.facts, strict=True):
        rows.append(
            {
                "id": record_id(seg.source, seg.index),
                "path": seg.source,
                "content_hash": hashes[seg.source],
                "modality": seg.modality,
                "seg_index": seg.index,
                "start": seg.start_s,
                "end": seg.end_s,
                "vector": vec,
                "perceptual": pvec,
                "concepts": json.dumps([[c.name, round(c.score, 4)] for c in fact.concepts]),
                "objects": json.dumps([[o.name, round(o.score, 4)] for o in fact.objects or fact.heard]),
                "ocr_text": fact.ocr_text,
                "text": fact.text,
                "keywords": fact.keywords(),
                "encoder": version,
                "taken": taken.get(seg.source),
            }
        )
    return rows


def _file_row(item: Prepared, status: str, encoder: str = "", error: str = "") -> dict[str, Any]:
    return {
        "path": item.path,
        "content_hash": item.content_hash,
        "size": item.size,
        "mtime": item.mtime,
        "status": status,
        "error": error,
        "encoder": encoder,
        "updated_at": time.time(),
        "taken": item.taken,
    }


def _prepared_stream(prep: _Preparer, files: list[Path], workers: int) -> Iterator[Prepared]:
    """Prepare files in worker threads, in order, with a bounded look-ahead."""
    ahead = max(8, workers * 8)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sensorium-decode") as pool:
        futures = [pool.submit(prep, p) for p in files[:ahead]]
        nxt = len(futures)
        for i in range(len(files)):
            item = futures[i].result()
            futures[i] = None  # type: ignore[call-overload]  # free decoded pixels early
            if nxt < len(files):
                futures.append(pool.submit(prep, files[nxt]))
                nxt += 1
            yield item


def index_paths(
    lib: Library,
    paths: Sequence[Path],
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    prune: bool = False,
    on_progress: Callable[[float, int, str], None] | None = None,
    batch_size: int | None = None,
    rehash: bool = False,
) -> IndexReport:
    """Index files and folders into ``lib``.

    Args:
        prune: also forget files under ``paths`` that no longer exist.
        on_progress: called as ``(done, total, path)`` after each file, and within a long recording
            or video as it is read, ``done`` then counting the share of that file read. A callback
            with an ``estimate`` parameter also gets an :class:`~sensorium.eta.Estimate`: the share
            of the run's work done and the seconds left, files weighed by kind and size.
        batch_size: segments per encoder batch and committed write (default from settings).
        rehash: compare every file's content hash, even where size and modification time are unchanged
            (files restored or edited with their old times).
    """
    t0 = time.perf_counter()
    store = lib.store(create=True)
    report = IndexReport()
    known = store.files()
    given, paths = paths, [canonical(p) for p in paths]
    walk_errors: list[tuple[str, str]] = []
    files = list(
        walk(
            paths,
            include=include,
            exclude=exclude,
            skip_dirs=[lib.path],
            on_error=lambda p, r: walk_errors.append((p, r)),
        )
    )
    for p, reason in walk_errors:
        if _gone(p):  # a mistyped path, or a file deleted mid-walk: this run's failure, not the library's
            report.failed += 1
            report.failures.append((display_path(os.path.abspath(p)), reason))
        else:
            _record_failure(store, report, Prepared(path=os.path.abspath(p)), reason)
    _forget_mended_folders(store, known, paths, {os.path.abspath(p) for p, _ in walk_errors})
    _forget_skipped_failures(store, known, paths, include, exclude)
    batch: list[Prepared] = []
    twins: list[Prepared] = []  # files whose records are copied from an identical one's, a batch at a time
    limit = batch_size or lib.settings.batch_size
    total = len(files)
    prep = _Preparer(lib, known, rehash=rehash)
    on_progress = _with_estimate(on_progress, files, prep)
    workers = max(1, min(4, (os.cpu_count() or 2)))

    writer = _Writer()

    def place(item: Prepared, done: int) -> None:
        """Count, record, stream or batch one prepared file."""
        if item.skip:
            report.skipped += 1
            return
        if item.document:
            _read_document(lib, item, lambda part, label: on_progress and on_progress(done - 1 + part, total, label))
        if item.not_media:
            report.not_media += 1
            if item.path in known:  # a failure of an older version, or media once: it leaves the library
                writer.settle()  # every other write waits for the batch being written
                store.delete_paths([item.path])
                store.delete_files([item.path])
        elif item.error:
            writer.settle()
            if known.get(item.path, {}).get("content_hash") not in (None, "", item.content_hash) and item.content_hash:
                store.delete_paths([item.path])  # rewritten into something unreadable: what it held is gone
                thumbnails.forget(lib.path, [item.path])
            _record_failure(store, report, item, item.error)
        else:
            if known.get(item.path, {}).get("content_hash") not in (None, "", item.content_hash):
                writer.settle()
                store.delete_paths([item.path])  # changed file: its old segments must not linger
                thumbnails.forget(lib.path, [item.path])
            else:
                item.reencoded = item.path in known
            if item.modality in STREAMED_MODALITIES:

                def tick(part: float, label: str, done: int = done, item: Prepared = item) -> None:
                    if on_progress:  # long recordings and videos: how far into the file, and how fast
                        on_progress(done - 1 + part, total, f"{display_path(item.path)}: {label}")

                writer.settle()
                _index_stream(lib, store, item, report, tick, listed=item.path in known)
            else:
                batch.append(item)
            if sum(len(b.segments) for b in batch) >= limit:
                _commit(lib, store, list(batch), report, writer)
                batch.clear()

    def copy_twins(done: int) -> None:
        writer.settle()
        for again in _copy_twins(lib, store, twins, known, report):
            place(prep(Path(again.path), reuse=False), done)  # the twin changed or left during this run: encode
        twins.clear()

    try:
        for done, item in enumerate(_prepared_stream(prep, files, workers), start=1):
            if item.twin is not None:
                twins.append(item)
                if len(twins) >= limit:
                    copy_twins(done)
            else:
                place(item, done)
            if on_progress:
                on_progress(done, total, display_path(item.path))
        if twins:
            copy_twins(total)
        if batch:
            _commit(lib, store, batch, report, writer)
    finally:
        writer.close()  # an interrupted run still finishes the batch being written: it is kept
    walked = {os.path.abspath(f) for f in files}
    _forget_linked_names(lib, store, known, given, walked)
    gone = _gone_under(paths, known, walked)
    report.held = _all_missing(paths, gone, known, walked)
    gone = [p for p in gone if not any(under_root(p, r) for r in report.held)]
    if prune:
        report.pruned = _prune(store, gone, known, lib.path)
    else:
        report.gone = len(gone)
    store.optimize()
    lib.record_encoders()
    report.seconds = time.perf_counter() - t0
    return report


def _with_estimate(
    on_progress: Callable[..., None] | None, files: list[Path], prep: _Preparer
) -> Callable[[float, int, str], None] | None:
    """``on_progress``, told the run's estimated share done and time left where it asks for them."""
    if on_progress is None:
        return None
    try:
        wants = "estimate" in inspect.signature(on_progress).parameters
    except (TypeError, ValueError):  # a builtin or an odd callable: it gets the counts alone
        wants = False
    if not wants:
        return on_progress
    eta = Eta(files, prep.likely_unchanged)

    def report(done: float, total: int, path: str) -> None:
        on_progress(done, total, path, estimate=eta.advance(done))

    return report


def _copy_twins(
    lib: Library, store: Any, items: list[Prepared], known: dict[str, dict[str, Any]], report: IndexReport
) -> list[Prepared]:
    """Index ``items`` with copies of the records of their identical twins; returns those it could not.

    A moved, renamed or copied file then costs a read of its bytes (for the hash) instead of
    decoding and encoding it again. A twin's records must still hold the content they held when the
    run began (it may have changed on disk meanwhile); one read and one write serve the whole batch.
    """
    found = twin_records(
        store, [(it.path, it.twin or "", it.content_hash, known[it.twin or ""]["encoder"]) for it in items]
    )
    copied, rows, missed = [], [], []
    for item in items:
        if item.path not in found:
            missed.append(item)
            continue
        rows += found[item.path]
        item.modality, item.taken = found[item.path][0]["modality"], found[item.path][0].get("taken")
        copied.append(item)
    replaced = [it.path for it in copied if it.path in known]  # an older version of this path, or part of one
    if replaced:
        store.delete_paths(replaced)
        thumbnails.forget(lib.path, replaced)
    if rows:  # merged on id, not appended: a run killed before the files rows below replays this batch
        store.upsert_records(rows)
    for item in copied:
        thumbnails.copy(lib.path, item.twin or "", item.path)
    twin_files = [known[it.twin or ""] for it in copied]
    if copied:
        store.upsert_files(
            [
                _file_row(it, "done", t["encoder"], error=t.get("error") or "")
                for it, t in zip(copied, twin_files, strict=True)
            ]
        )
    report.indexed += len(copied)
    report.reused += len(copied)
    report.records += len(rows)
    return missed


def twin_records(store: Any, wanted: Sequence[tuple[str, str, str, str]]) -> dict[str, list[dict[str, Any]]]:
    """For each ``(path, twin, content_hash, encoder)``, the twin's records renamed to ``path``, read at once.

    A path is left out when its twin's records no longer hold that content from that model (the twin
    changed or left since its files row was read): it is to be encoded instead.
    """
    by_twin: dict[str, list[dict[str, Any]]] = {}
    for row in store.records_of([twin for _, twin, _, _ in wanted]):
        by_twin.setdefault(row["path"], []).append(row)
    out: dict[str, list[dict[str, Any]]] = {}
    for path, twin, digest, encoder in wanted:
        rows = by_twin.get(twin, [])
        if rows and all(r["content_hash"] == digest and r["encoder"] == encoder for r in rows):
            out[path] = [{**r, "id": record_id(path, r["seg_index"]), "path": path} for r in rows]
    return out


def _record_failure(store: Any, report: IndexReport, item: Prepared, reason: str) -> None:
    log.info("failed: %s: %s", display_path(item.path), reason)
    report.failed += 1
    report.failures.append((display_path(item.path), reason))
    store.upsert_files([_file_row(item, "failed", error=reason)])


class _Writer:
    """Writes one encoded batch on a thread of its own while the next batch is encoded.

    Writing took a third of the time of indexing photos (LanceDB merges and commits, with the
    models idle); now they overlap. One batch at a time: a new one, and every other write to the
    store, first waits for the one in flight (:meth:`settle`), so writes keep their order. A write
    that failed raises where the next one waits.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="sensorium-write")
        self._pending: Future[None] | None = None

    def submit(self, write: Callable[[], None]) -> None:
        self.settle()
        self._pending = self._pool.submit(write)

    def settle(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        try:
            self.settle()
        finally:
            self._pool.shutdown(wait=True)


def _commit(
    lib: Library, store: Any, batch: list[Prepared], report: IndexReport, writer: _Writer | None = None
) -> None:
    """Encode one batch, then write it (on ``writer``'s thread when given): records, then the files rows
    that mark them done."""
    try:
        rows = _rows_for(lib, batch)
    except SensoriumError:
        raise
    except Exception as exc:  # an encoder crash on one batch: retry file by file to isolate the culprit
        if writer is not None:
            writer.settle()
        if len(batch) == 1:
            _record_failure(store, report, batch[0], f"encoder failed ({type(exc).__name__}: {exc})")
            return
        log.warning("batch failed (%s); retrying file by file", exc, exc_info=True)
        for item in batch:
            _commit(lib, store, [item], report)
        return
    if writer is None:
        _write_batch(lib, store, batch, rows, report)
    else:
        writer.submit(lambda: _write_batch(lib, store, batch, rows, report))


def _write_batch(
    lib: Library, store: Any, batch: list[Prepared], rows: list[dict[str, Any]], report: IndexReport
) -> None:
    store.upsert_records(rows)
    again: dict[str, list[str]] = {}  # drop what the new model no longer makes
    for it in batch:
        if it.reencoded:
            again.setdefault(_version_of(lib, it), []).append(it.path)
    for version, paths in again.items():
        store.delete_paths(paths, keep_encoder=version)
    store.upsert_files([_file_row(it, "done", _version_of(lib, it)) for it in batch])
    report.indexed += len(batch)
    report.records += len(rows)


def _version_of(lib: Library, item: Prepared) -> str:
    """The version a file's row carries: its model's, or for a PDF its text and picture models'."""
    return lib.document_version_key() if item.document else lib.version_key(item.modality)


def _index_stream(
    lib: Library,
    store: Any,
    item: Prepared,
    report: IndexReport,
    tick: Callable[[float, str], None] | None = None,  # (share of the file done, what is being done)
    *,
    listed: bool = True,
) -> None:
    """Encode one long-form file block by block, writing its records as they come, then mark it done.

    A crash part-way leaves records but no ``done`` row: the next run encodes the file again and
    its upserts (same ids) overwrite them. Once it is encoded, records of the file that another
    model version wrote and this one did not (a recipe that merges windows makes fewer) are
    deleted. A failure removes what was written for the file. A file with no records yet has
    them appended, without the upsert's join on ``id``. A file not ``listed`` in the files table
    gets a ``partial`` row first, so that records left by a run killed part-way belong to a row
    that ``--prune`` can forget.
    """
    encoder = lib.encoder_for(item.modality)
    version = encoder.info.version_key
    hashes = {item.path: item.content_hash}
    pdim = lib.manifest["perceptual_dim"]
    fresh = not store.has_records(item.path)
    if not listed:
        store.upsert_files([_file_row(item, "partial", version, error="indexing did not finish")])
    written = 0
    passes: dict[str, Any] = {"track": None, "start": time.perf_counter(), "last": time.perf_counter()}
    # a video's pictures take about 60% of its time when its sound track is read after them
    sound_after = item.modality == "video" and lib.settings.video_sound and has_audio_track(Path(item.path))
    shares = {"pictures": (0.0, 0.6 if sound_after else 1.0), "sound and speech": (0.6 if sound_after else 0.0, 1.0)}

    def emit(segs: list[Segment], encoded: Encoded) -> None:
        nonlocal written
        for seg in segs:  # a video's shot pictures: keep a thumbnail for the hits
            if isinstance(seg.payload, Image.Image):
                thumbnails.save(lib.path, seg.source, seg.start_s or 0.0, seg.index, seg.payload)
        rows = record_rows(segs, encoded, hashes, version, pdim, {item.path: item.taken})
        store.upsert_records(rows, new=fresh)
        written += len(rows)
        if tick is not None and segs:
            kind = track_of(segs[0].modality, segs[0].index)
            track = "pictures" if kind == "picture" else "sound and speech"
            now = time.perf_counter()
            if track != passes["track"]:  # a video reads its pictures, then its sound track
                passes.update(track=track, start=passes["last"], at=0.0)
            passes["last"] = now
            # speech comes a few seconds behind the sound windows: progress never steps back
            at = passes["at"] = max(passes["at"], *(s.end_s or 0.0 for s in segs))
            speed = at / max(now - passes["start"], 1e-3)
            low, high = shares[track]
            part = low + (high - low) * min(at / item.seconds, 1.0) if item.seconds else low
            tick(min(part, 0.999), f"{track} @ {at / 60:.1f} min, {speed:.0f}x real time")

    try:
        summary = encoder.encode_file(Path(item.path), emit)
    except MediaError as exc:
        store.delete_paths([item.path])
        thumbnails.forget(lib.path, [item.path])
        _record_failure(store, report, item, exc.detail if exc.path == item.path else str(exc))
        return
    except SensoriumError:
        raise
    except Exception as exc:  # a model crash on one file must not stop the batch
        log.warning("encoding %s failed", item.path, exc_info=True)
        store.delete_paths([item.path])
        thumbnails.forget(lib.path, [item.path])
        _record_failure(store, report, item, f"encoder failed ({type(exc).__name__}: {exc})")
        return
    if item.tags:
        rows = tags_rows(lib, [item], version)
        store.upsert_records(rows, new=fresh)
        written += len(rows)
    if not fresh:
        store.delete_paths([item.path], keep_encoder=version)
    notes = [getattr(summary, "note", "")]
    if getattr(summary, "truncated", False):
        notes.insert(0, "indexed up to max_audio_seconds")
    note = "; ".join(n for n in notes if n)
    store.upsert_files([_file_row(item, "done", version, error=note)])
    report.indexed += 1
    report.records += written


def _forget_linked_names(
    lib: Library, store: Any, known: dict[str, dict[str, Any]], given: Sequence[Path], walked: set[str]
) -> None:
    """Drop the files that an older version stored under a symlinked folder's name when this run
    indexed them under the folder's own (:func:`canonical`); their records were copied, not re-made."""
    moved: list[str] = []
    for root in given:
        link, real = os.path.abspath(root), str(canonical(root))
        if link == real:
            continue
        moved += [p for p in known if under_root(p, link) and real + p[len(link) :] in walked]
    if moved:
        store.delete_paths(moved)
        store.delete_files(moved)
        thumbnails.forget(lib.path, moved)


def _forget_mended_folders(
    store: Any, known: dict[str, dict[str, Any]], roots: Sequence[Path], failed_now: set[str]
) -> None:
    """Drop the failures of folders under ``roots`` that were walked without error this time.

    A folder that could not be listed is recorded as failed; once it lists, its files are
    indexed and the old failure must not stay in ``sensorium errors``.
    """
    tops = [os.path.abspath(r) for r in roots]
    mended = [
        p
        for p, row in known.items()
        if row.get("status") == "failed"
        and p not in failed_now
        and any(under_root(p, r) for r in tops)
        and os.path.isdir(p)
    ]
    if mended:
        store.delete_files(mended)


def _forget_skipped_failures(
    store: Any, known: dict[str, dict[str, Any]], roots: Sequence[Path], include: Sequence[str], exclude: Sequence[str]
) -> None:
    """Drop the recorded failures of files that ``--include``/``--exclude`` now leave out: the advice
    for a damaged file is to exclude it, and its failure stayed in ``sensorium errors`` after."""
    if not (include or exclude):
        return
    tops = [Path(os.path.abspath(r)) for r in roots]
    skipped = [
        p
        for p, row in known.items()
        if row.get("status") == "failed"
        and any(under_root(p, str(t)) and skipped_by(p, t, include, exclude) for t in tops)
    ]
    if skipped:
        store.delete_files(skipped)


def _gone(path: str) -> bool:
    """Whether ``path`` no longer exists; a path that cannot be looked at (a folder now unreadable) is kept."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def _gone_under(roots: Sequence[Path], known: dict[str, dict[str, Any]], walked: set[str]) -> list[str]:
    """Known paths under ``roots`` that the walk did not meet and that no longer exist."""
    tops = [os.path.abspath(r) for r in roots]
    return [p for p in known if p not in walked and any(under_root(p, r) for r in tops) and _gone(p)]


def under_root(path: str, root: str) -> bool:
    """Whether ``path`` is ``root`` or lies in the folder ``root`` (both absolute, as stored)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _all_missing(
    roots: Sequence[Path], gone: list[str], known: dict[str, dict[str, Any]], walked: set[str]
) -> list[str]:
    """Folders given, missing or empty, whose indexed files (two or more) are all missing: a drive not
    mounted, or a folder moved.

    Pruning them would throw away everything embedded from there (hub spaces included) for a
    mount that failed; they are held until ``sensorium forget FOLDER`` says they are gone for good.
    """
    missing = set(gone)
    held = []
    for root in dict.fromkeys(os.path.abspath(r) for r in roots):
        if any(under_root(p, root) for p in walked):
            continue  # it lists files: a folder in use, whatever went from it
        under = [p for p, row in known.items() if under_root(p, root) and row.get("status") != "failed"]
        # a folder of several files (the last file of a folder deleted is pruned), every one missing
        if len(under) > 1 and all(p in missing for p in under):
            held.append(root)
    return held


def _prune(store: Any, gone: list[str], known: dict[str, dict[str, Any]], lib_path: Path) -> int:
    """Forget ``gone`` files, and the recorded failures of any path that no longer exists."""
    stale = [p for p, row in known.items() if row.get("status") == "failed" and p not in gone and _gone(p)]
    if gone or stale:
        store.delete_paths(gone)
        store.delete_files(gone + stale)
        thumbnails.forget(lib_path, gone)
        timeline.forget_kept(lib_path, gone, known)
    return len(gone)
