"""One library folder: its settings, manifest, encoders and store.

``open_library()`` is the entry point of the Python API; the CLI and the server call it too.
Encoders load lazily, so commands that only read the store (``errors``, ``stats``) start fast.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

try:
    import fcntl
except ImportError:  # not POSIX: runs are not serialised
    fcntl = None  # type: ignore[assignment]

from sensorium.config import Settings, load_settings
from sensorium.errors import LibraryError, QueryError
from sensorium.media.dates import format_date
from sensorium.models.base import Encoder, TextEncoder
from sensorium.models.registry import Registry
from sensorium.store.base import SCHEMA_VERSION, Store
from sensorium.store.registry import open_store
from sensorium.types import (
    CLASSIFY_MARGIN,
    DESCRIBE_MIN_SCORE,
    KEYWORD_WEIGHT,
    LIKE_WEIGHT,
    PICTURES_MARK,
    Classification,
    Hit,
    Segment,
)

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"
LOCK = "index.lock"


def _not_writable(folder: Path, exc: OSError) -> LibraryError:
    reason = exc.strerror.lower() if exc.strerror else str(exc)
    return LibraryError(f"{folder}: cannot write the library ({reason}); give a writable --library")


Progress = Callable[[int, int, str], None]


class Library:
    """A collection of indexed media in one folder."""

    def __init__(self, settings: Settings, registry: Registry | None = None) -> None:
        self.settings = settings
        self.path = settings.library_path
        self.registry = registry or Registry.default()
        self._text: TextEncoder | None = None
        self._image: Encoder | None = None
        self._audio: Encoder | None = None
        self._video: Encoder | None = None
        self._page_reader: Callable[[Any], str] | None = None
        self._page_reader_lock = threading.Lock()
        self._store: Store | None = None
        self.manifest = self._read_manifest()

    # -- manifest ---------------------------------------------------------------------------
    def _read_manifest(self) -> dict[str, Any]:
        path = self.path / MANIFEST
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise LibraryError(f"{path}: unreadable manifest ({exc}); restore it or index into a new library") from exc
        schema = data.get("schema", 0)
        if schema > SCHEMA_VERSION:
            raise LibraryError(
                f"{self.path}: library schema {schema} is newer than this Sensorium supports ({SCHEMA_VERSION}); "
                "upgrade Sensorium to open it"
            )
        return data

    def _write_manifest(self) -> None:
        text = json.dumps(self.manifest, indent=2, sort_keys=True)
        target = self.path / MANIFEST
        try:
            if target.is_file() and target.read_text(encoding="utf-8") == text:
                return  # unchanged: an index run that stored nothing writes nothing
            self.path.mkdir(parents=True, exist_ok=True)
            tmp = self.path / (MANIFEST + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, target)
        except OSError as exc:
            raise _not_writable(self.path, exc) from exc

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the library's write lock: one index run at a time, from any process.

        Two runs side by side each saw a file as new and stored it twice. The lock is an
        ``flock`` on ``index.lock`` in the library, so it goes with the process that held it.

        Raises:
            LibraryError: the folder cannot be written, or another process is indexing it.
        """
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as exc:
            raise _not_writable(self.path, exc) from exc
        held = False
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
                    raise LibraryError(
                        f"{self.path}: another process (pid {holder}) is indexing this library; "
                        "wait for it to finish, or give another --library"
                    ) from None
                held = True
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            if held:  # an empty lock file is a free one: no pid of a process long gone is left in it
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
            os.close(fd)  # releases the lock

    # -- parts ------------------------------------------------------------------------------
    @property
    def text_encoder(self) -> TextEncoder:
        if self._text is None:
            self._text = self.registry.text_encoder(self.settings.text_encoder, self.settings)
        return self._text

    @property
    def image_encoder(self) -> Encoder:
        if self._image is None:
            self._image = self.registry.encoder(self.settings.image_encoder, self.settings, self.text_encoder)
        return self._image

    @property
    def audio_encoder(self) -> Encoder:
        """Sound and speech, in the image encoder's centred space (built on first use)."""
        if self._audio is None:
            space = getattr(self.image_encoder, "space", None)
            self._audio = self.registry.encoder(
                self.settings.audio_encoder, self.settings, self.text_encoder, space=space
            )
        return self._audio

    @property
    def audio_loaded(self) -> bool:
        """Whether the sound encoder is built (the server lets searches run unlocked only then)."""
        return self._audio is not None

    @property
    def video_encoder(self) -> Encoder:
        """Pictures of shots through the image encoder, the sound track through the sound encoder."""
        if self._video is None:
            from sensorium.models.offline_video import OfflineVideoEncoder

            sound = self.audio_encoder if self.settings.video_sound else None
            self._video = OfflineVideoEncoder(self.settings, self.image_encoder, sound)
        return self._video

    def note_segments(self, path: Path, on_page: Callable[[int, int], Any] | None = None) -> list[Segment]:
        """The passages of a note or a PDF (a PDF's scanned pages read by OCR unless ``ocr = "never"``).

        ``on_page(page, pages)`` is called as each page of a PDF is read.
        """
        from sensorium.media.pdf import pdf_segments
        from sensorium.media.probe import HEAD_BYTES, is_pdf, office_kind, read_head
        from sensorium.media.text import chunk_text, text_segments

        s = self.settings
        head = read_head(path, HEAD_BYTES)
        kind = office_kind(head, path.suffix)
        if kind is not None:  # DOCX, ODT, EPUB
            from sensorium.media.office import office_text

            chunks = chunk_text(office_text(path, kind, max_chars=s.max_text_bytes))
            return [Segment(source=str(path), modality="text", index=i, payload=c) for i, c in enumerate(chunks)]
        if not is_pdf(head):
            return text_segments(path, max_bytes=s.max_text_bytes)
        return pdf_segments(
            path,
            max_pages=s.max_pdf_pages,
            max_chars=s.max_text_bytes,
            read_page=self._read_page(),
            on_page=on_page,
            read_picture=self._read_picture() if s.pdf_pictures else None,
            max_pixels=s.max_image_pixels,
        )

    def _read_picture(self) -> Callable[[Any], str]:
        """Words for a photo or figure inside a document (:func:`sensorium.pictures.picture_caption`)."""
        from sensorium.pictures import picture_caption

        return picture_caption(self)

    def _read_page(self) -> Callable[[Any], str] | None:
        """OCR for a scanned page (longer side :data:`~sensorium.media.pdf.OCR_SIDE`), built once, on first use."""
        if self.settings.ocr == "never":
            return None
        with self._page_reader_lock:  # indexing prepares files in several threads
            if self._page_reader is None:
                from sensorium.media.pdf import OCR_SIDE
                from sensorium.models.ocr import TextReader

                self._page_reader = TextReader(self.settings, max_side=OCR_SIDE).read
        return self._page_reader

    def text_vectors(self, texts: list[str]) -> np.ndarray:
        """Documents in the shared space, centred as image vectors are so that both rank together."""
        vecs = self.text_encoder.encode_text(texts, query=False)
        space = getattr(self.image_encoder, "space", None)
        return space.project(vecs) if space is not None else vecs

    def encoder_for(self, modality: str) -> Encoder | None:
        """The encoder of a modality (``None`` for text: text goes through the text encoder)."""
        if modality == "image":
            return self.image_encoder
        if modality == "audio":
            return self.audio_encoder
        if modality == "video":
            return self.video_encoder
        return None

    def version_key(self, modality: str) -> str:
        """The model version a record of ``modality`` must carry to count as fresh."""
        enc = self.encoder_for(modality)
        return enc.info.version_key if enc is not None else self.text_encoder.info.version_key

    def document_version_key(self) -> str:
        """What a PDF's files row carries to count as fresh: its passages' text model and, with
        ``pdf_pictures``, the image model that described its photos (``<text key>+pictures:<image key>``).

        A PDF indexed before pictures were described (or with them turned off since) carries the
        plain text key, and is read again: its photos become passages."""
        text = self.version_key("text")
        return f"{text}{PICTURES_MARK}{self.version_key('image')}" if self.settings.pdf_pictures else text

    @property
    def exists(self) -> bool:
        return bool(self.manifest)

    def check_space(self) -> None:
        """Refuse to query vectors made in another space than the configured text encoder's."""
        space = self.manifest.get("space")
        if space and space != self.text_encoder.info.space:
            raise LibraryError(
                f"{self.path}: library vectors are in space '{space}' but the text encoder is "
                f"'{self.settings.text_encoder}'; pass --text-encoder {space}, or run `sensorium index` to re-embed"
            )

    def store(self, *, create: bool = False) -> Store:
        """The vector store, created with the encoders' dimensions on first index."""
        if self._store is not None:
            return self._store
        if not self.manifest:
            if not create:
                raise LibraryError(f"{self.path}: no library here yet; run `sensorium index PATH` first")
            img = self.image_encoder.info
            self.manifest = {
                "schema": SCHEMA_VERSION,
                "space": self.text_encoder.info.space,
                "dim": img.dim,
                "perceptual_dim": img.perceptual_dim,
                "store": self.settings.store.backend,
                "created": time.time(),
                "encoders": {},
                "dates": 1,  # its files' dates are read as they are indexed (sensorium.redate)
            }
            self._write_manifest()
        opts = getattr(self.settings.store, self.manifest["store"], None)
        self._store = open_store(
            self.manifest["store"],
            self.path,
            dim=self.manifest["dim"],
            perceptual_dim=self.manifest["perceptual_dim"],
            options=opts,
        )
        return self._store

    def record_encoders(self) -> None:
        """Remember which models made the library's vectors (after an index run)."""
        self.manifest["space"] = self.text_encoder.info.space
        encoders = dict(self.manifest.get("encoders") or {})
        encoders["text"] = self.text_encoder.info.version_key
        encoders["image"] = self.image_encoder.info.version_key
        if self._audio is not None:
            encoders["audio"] = self._audio.info.version_key
        if self._video is not None:
            encoders["video"] = self._video.info.version_key
        self.manifest["encoders"] = encoders
        self._write_manifest()

    # -- verbs (thin: the work is in ingest/query/classify) -------------------------------------
    def index(
        self, paths: str | Path | Sequence[str | Path], *, models: Sequence[str] = (), **kwargs: Any
    ):  # -> IndexReport
        """Index ``paths`` in the library's own space, then bring every hub space up to date.

        ``models`` are installed hub models (``openclip:ViT-B-32``) whose spaces this library
        should hold from now on; each embeds only what it has not seen (see :mod:`sensorium.spaces`).
        """
        from sensorium import redate, spaces
        from sensorium.ingest import IndexReport, index_paths

        found = as_paths(paths)
        with self.writing():
            for model in models:
                spaces.add_space(self, model)
            redated = redate.date_old_files(self, kwargs.get("on_progress")) if redate.needs_dates(self) else 0
            if found:
                found = self._whole_library_if_space_changed(found)
            report = index_paths(self, found, **kwargs) if found else IndexReport()
            report.redated = redated
            progress = kwargs.get("on_progress")
            for name in spaces.space_names(self):
                report.spaces[name] = spaces.sync_space(self, name, on_progress=progress)
        return report

    def _whole_library_if_space_changed(self, found: list[Path]) -> list[Path]:
        """Every file the library holds joins a run whose text encoder has another space.

        Vectors of two spaces cannot be ranked together, and the run moves the library to the new
        one: re-embedding only the paths given left every other file's vectors meaningless (a cat
        photo scored 0.01 for "a cat"). Files gone from disk lose their records, which could no
        longer be compared with anything.
        """
        old, new = self.manifest.get("space"), self.text_encoder.info.space
        if not old or old == new:
            return found
        held = sorted(self.store().files())
        gone = [p for p in held if not os.path.lexists(p)]
        log.warning(
            "library %s: its vectors are in space '%s', this run's text encoder is in '%s': re-embedding all %d files",
            self.path,
            old,
            new,
            len(held) - len(gone),
        )
        if gone:
            self.store().delete_paths(gone)
            self.store().delete_files(gone)
        given = {str(p) for p in found}
        return found + [Path(p) for p in held if p not in given and p not in gone]

    def search(
        self,
        text: str | None = None,
        *,
        like: str | Path | Sequence[str | Path] | None = None,
        like_weight: float = LIKE_WEIGHT,
        negative: str | None = None,
        limit: int = 10,
        modality: str | None = None,
        path_glob: str | None = None,
        min_score: float | None = None,
        keyword_weight: float = KEYWORD_WEIGHT,
        space: str | None = None,
        taken: str | tuple[float | None, float | None] | None = None,
        read_dates: bool = True,
    ) -> list[Hit]:
        """Ranked hits, best first: words, an example file (``like``), or both; as ``sensorium search``.

        Args:
            text: what to look for, in words.
            like: an example file (image, sound, video, note), or a list of them of one kind ("more like
                these": averaged); mixed with ``text`` by ``like_weight``.
            negative: words to steer away from (``--not``).
            limit: how many results; a moment of a recording or video counts as one.
            modality: only ``image``, ``audio``, ``video`` or ``text`` hits.
            path_glob: only files matching this glob (``"photos/*"`` matches below any folder).
            min_score: drop hits under this calibrated score (default 0.5; 0 keeps everything).
            keyword_weight: weight of the keyword match against the meaning.
            space: a hub model's space (``sensorium spaces`` lists them).
            taken: only files their own dates place in this span of days: ``"2023"``, ``"2023-06"``,
                ``"2021..2023-03"``, ``"..2019"`` (see :func:`sensorium.query.search`); alone, the files
                made in those days, in the order they were made (:func:`sensorium.query.made_in`).
            read_dates: without ``taken``, days said in the words ("a beach in summer 2019", "photos from
                last year") are read as ``taken`` and the rest of the words searched; False: as written.
        """
        from sensorium.query import search

        return search(
            self,
            text,
            like=like,
            like_weight=like_weight,
            negative=negative,
            limit=limit,
            modality=modality,
            path_glob=path_glob,
            min_score=min_score,
            keyword_weight=keyword_weight,
            space=space,
            taken=taken,
            read_dates=read_dates,
        )

    def teach(
        self, name: str, files: str | Path | Sequence[str | Path], *, keep_in: Path | None = None
    ) -> Any:  # -> sensorium.names.TaughtName
        """Teach the library a name by example files (``sensorium names add``): afterwards a search whose
        words hold the name searches by those examples in its place ("Rex on the beach")."""
        from sensorium import names

        return names.teach(self, name, [files] if isinstance(files, (str, Path)) else list(files), keep_in=keep_in)

    def names(self) -> list[Any]:  # -> list[sensorium.names.TaughtName]
        """The names taught to the library (``sensorium names``)."""
        from sensorium import names

        return names.taught(self)

    def forget_name(self, name: str) -> None:
        """Drop a taught name (``sensorium names remove``); its example files are not touched."""
        from sensorium import names

        names.forget(self, name)

    def embed(
        self,
        files: str | Path | Sequence[str | Path] = (),
        *,
        texts: str | Sequence[str] = (),
        space: str | None = None,
        document: bool = False,
        stored: bool = False,
    ) -> list:  # -> list[sensorium.embed.Embedded]
        """Vectors out, as ``sensorium embed``: ``texts`` (as a search reads words; ``document``: as a
        note's passage is stored) then ``files`` (as a search by example reads them), in ``space``
        (default the library's own); ``stored``: what the library holds for indexed ``files``, one
        per record. An input that cannot be embedded has its ``error`` and no vector."""
        from sensorium import embed

        paths = [Path(files)] if isinstance(files, (str, Path)) else [Path(f) for f in files]
        words = [texts] if isinstance(texts, str) else list(texts)
        if stored:
            return embed.stored(self, paths)
        out = embed.embed_texts(self, words, space=space, document=document) if words else []
        return out + (embed.embed_files(self, paths, space=space) if paths else [])

    def classify(
        self,
        paths: str | Path | Sequence[str | Path],
        labels: str | Sequence[str],
        *,
        multi_label: bool = False,
        threshold: float = 0.5,
        margin: float = CLASSIFY_MARGIN,
        top: int | None = None,
        examples: str | Path | None = None,
    ) -> list[Classification]:
        """Zero-shot labels for files (indexed or not), as ``sensorium classify``.

        Args:
            labels: a list, or one string: comma-separated (``"cat, dog"``) or one label per line
                (the text of a labels file: ``#`` comments and blank lines are skipped).
            multi_label: each label scored on its own, kept at or above ``threshold``.
            margin: abstain when the best two labels are closer than this (single-label).
            top: at most this many labels per file.
            examples: a folder of ``<label>/<files>``, a few of your own per label, counted beside the
                words (few-shot, :mod:`sensorium.adapt`); its labels join ``labels``, which may be empty.
        """
        from sensorium.zero_shot import classify_files, parse_labels

        names = (parse_labels(labels) if labels else []) if isinstance(labels, str) else list(labels)
        return classify_files(
            self,
            as_paths(paths),
            names,
            multi_label=multi_label,
            threshold=threshold,
            margin=margin,
            top=top,
            examples=Path(examples) if examples is not None else None,
        )

    def watch(self, paths: str | Path | Sequence[str | Path], **kwargs: Any) -> None:
        """Index ``paths`` again every few seconds until stopped, as ``sensorium watch`` (:func:`sensorium.watch.watch`:
        ``every``, ``prune``, ``include``, ``exclude``, ``on_change``, ``stop``, ``rounds``)."""
        from sensorium.watch import watch

        watch(self, as_paths(paths), **kwargs)

    def ask(self, paths: str | Path | Sequence[str | Path], question: str) -> list:  # -> list[sensorium.ask.Answer]
        """A closed question about each file (indexed or not), as ``sensorium ask``: yes or no, how many,
        what it says, what it shows (:mod:`sensorium.ask`)."""
        from sensorium.ask import ask

        return ask(self, as_paths(paths), question)

    def describe(  # -> Description (sensorium.timeline, imported when used)
        self, path: str | Path, *, min_score: float = DESCRIBE_MIN_SCORE, speech: bool = True
    ):
        """The timeline of a recording or video: shots, sound events (at least ``min_score``) and speech;
        a picture's tags, alt-text and OCR text (:mod:`sensorium.pictures`).

        ``.to_json()`` gives ``describe --json``; ``sensorium.timeline.to_srt``/``to_vtt`` give captions.
        """
        from sensorium.timeline import describe_file

        return describe_file(self, Path(path).expanduser(), min_score=min_score, speech=speech)

    def duplicates(
        self, *, threshold: float | None = None, path_glob: str | None = None, on_progress: Any = None
    ) -> list[Any]:  # -> list[DuplicateGroup]
        """Groups of near-duplicate photos (resized, recompressed, lightly cropped or edited copies).

        ``threshold`` is the perceptual similarity at which two photos are one (default 0.85);
        each group lists its largest file first. See :mod:`sensorium.duplicates`.
        """
        from sensorium.duplicates import DUPLICATE_SIMILARITY, find_duplicates

        t = DUPLICATE_SIMILARITY if threshold is None else threshold
        return find_duplicates(self, threshold=t, path_glob=path_glob, on_progress=on_progress)

    def errors(self) -> list[dict[str, Any]]:
        """Files whose last indexing failed, with the reason."""
        if not self.exists:
            return []
        rows = [r for r in self.store().files().values() if r.get("status") == "failed"]
        return sorted(rows, key=lambda r: r["path"])

    def clear_errors(self) -> int:
        """Forget the recorded failures (a mistyped path, a folder since fixed); returns how many.

        A file that still fails is recorded again by the next index run that reaches it; a
        failed file's earlier records, if any, stay searchable as before.
        """
        if not self.exists:
            return 0
        with self.writing():
            failed = [r["path"] for r in self.errors()]
            if failed:
                self.store().delete_files(failed)
        return len(failed)

    def forget(self, paths: str | Path | Sequence[str | Path]) -> list[str]:
        """Drop files, and everything under folders, from the library and its hub spaces; returns the files.

        The files need not exist: this is how a folder moved or deleted for good leaves the library
        when ``index --prune`` holds it (every one of its files missing looks like a drive not mounted).
        Nothing on disk is touched.
        """
        from sensorium import spaces, thumbnails, timeline
        from sensorium.ingest import under_root
        from sensorium.media.walk import canonical

        given = as_paths(paths)  # a folder's name through a link, as older versions stored it, and its own
        roots = list(dict.fromkeys([*(os.path.abspath(p) for p in given), *(str(canonical(p)) for p in given)]))
        if not self.exists or not roots:
            return []
        with self.writing():
            store = self.store()
            known = store.files()
            held = sorted(p for p in known if any(under_root(p, r) for r in roots))
            if held:
                store.delete_paths(held)
                store.delete_files(held)
                thumbnails.forget(self.path, held)
                timeline.forget_kept(self.path, held, known)
                for name in spaces.space_names(self):
                    space = spaces.space_store(self, name)
                    space.delete_paths(held)
                    space.delete_files(held)
        return held

    def stats(self) -> dict[str, Any]:
        if not self.exists:
            return {"library": str(self.path), "records": 0, "files": 0, "failed": 0, "partial": 0}
        files = self.store().files().values()
        dates = sorted(f["taken"] for f in files if f.get("status") == "done" and f.get("taken") is not None)
        return {
            "library": str(self.path),
            "space": self.manifest.get("space"),
            "records": self.store().count(),
            "files": sum(1 for f in files if f.get("status") == "done"),
            "failed": sum(1 for f in files if f.get("status") == "failed"),
            "partial": sum(1 for f in files if f.get("status") == "partial"),  # cut short: the next index redoes them
            "dated": len(dates),  # files that say when they were made (search --taken)
            "first_taken": format_date(dates[0]) if dates else None,
            "last_taken": format_date(dates[-1]) if dates else None,
        }


def as_paths(paths: str | Path | Sequence[str | Path]) -> list[Path]:
    """Paths as the API takes them: one path or a list of them, ``~`` expanded.

    A lone string is one path, never a sequence of one-letter paths (that walked from ``/``).

    Raises:
        QueryError: an item that is not a path.
    """
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    for item in items:
        if not isinstance(item, (str, Path)):
            raise QueryError(f"{item!r}: not a path; give file or folder paths as str or pathlib.Path")
    return [Path(p).expanduser() for p in items]


def open_library(path: str | Path | None = None, *, registry: Registry | None = None, **overrides: Any) -> Library:
    """Open (or prepare to create) the library at ``path``.

    ``path`` defaults to ``SENSORIUM_LIBRARY``, then a library in the user's data folder;
    ``overrides`` are settings given explicitly (they win over the environment and the
    library's ``sensorium.toml``).
    """
    settings = load_settings(library=Path(path) if path is not None else None, **overrides)
    folder = settings.library_path
    if folder.exists() and not folder.is_dir():
        raise LibraryError(f"{folder}: is a file, not a library folder; give a folder (new or existing)")
    return Library(settings, registry)
