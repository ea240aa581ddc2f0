"""The HTTP API of ``sensorium serve`` (contract: docs/http-api.md).

One :class:`~sensorium.library.Library` per process, opened once, so models load on first
use and stay loaded. Endpoints are plain ``def`` functions: FastAPI runs them in its thread
pool, which keeps the event loop free while a model or the disk works.

Locking: ``models`` serialises every first use of an encoder or the store, so two requests
never build the same model twice or race on the store's creation, and the queries that may
load one (classify, search by example or in a hub space). Word searches run without it once the
first one has loaded what they use. Long work runs outside it once its models are loaded: index jobs (minutes to
hours) and ``describe`` (a long recording), relying on the encoders' thread-safe inference
(ONNX Runtime sessions; the tokenizers and Whisper take their own locks) and on LanceDB's
concurrent readers, so a search stays fast while a job writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Sequence
from email.utils import formatdate
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import FastAPI, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException

from sensorium import __version__
from sensorium.errors import MediaError, QueryError, SensoriumError
from sensorium.library import Library
from sensorium.media.days_asked import as_taken, days_asked, taken_in_words
from sensorium.media.probe import HEAD_BYTES, OFFICE_SUFFIXES, probe_bytes
from sensorium.query import has_sound
from sensorium.server import media
from sensorium.server.auth import FORM_SLACK, Guard
from sensorium.server.jobs import JobBusy, Jobs
from sensorium.types import Classification, Hit, Modality

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
MAX_OFFSET = 10_000  # the library is asked for offset + limit hits: keep that bounded
MAX_CLIP_S = 600.0  # /api/clip: a moment, cut (maybe re-encoded) while the request waits
_CLIP_TYPES = {
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".aiff": "audio/aiff",
    ".aif": "audio/aiff",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".m4a": "audio/mp4",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
}
_SUFFIX = {"image": ".img", "text": ".txt", "audio": ".audio", "video": ".video"}
_SANE_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}")


class SearchBody(BaseModel):
    """``POST /api/search``; also the form fields of ``/api/search/example`` (where "" means absent)."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key ("limt") is refused, not quietly ignored

    text: str | None = None
    negative: str | None = None
    limit: int = Field(20, ge=1, le=200)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    modality: Modality | None = None
    path: str | None = None
    min_score: float | None = Field(None, ge=0.0, le=1.0)
    space: str | None = Field(None, max_length=64)  # a hub model's space ("clip", "clap"); default the library's
    taken: str | None = Field(None, max_length=64)  # a span of days: "2023", "2023-06", "2021..2023-03"
    read_dates: bool = True  # without taken: days said in the words ("a beach in 2019") are read as taken

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: None if v == "" else v for k, v in data.items()}
        return data


class ExampleForm(SearchBody):
    model_config = ConfigDict(extra="ignore")  # a form carries its file beside these fields
    like_weight: float = Field(0.5, ge=0.0, le=1.0)


class IndexBody(BaseModel):
    paths: list[str] = Field(min_length=1)
    prune: bool = False


MAX_LABELS = 1000  # labels one classify request may give (5000 held the models for 100 s)
SEARCHES_AT_ONCE = 2  # word searches run side by side, this many at a time (more only share the cores)


def create_app(
    lib: Library,
    *,
    token: str,
    read_only: bool = False,
    cors_origins: Sequence[str] = (),
    max_upload_mb: int = 64,
    watch: Sequence[str] = (),
    watch_every: float = 60.0,
) -> FastAPI:
    """The API over ``lib``, guarded by ``token``; ``sensorium serve`` runs it with uvicorn.

    ``watch``: folders kept indexed, an index job (with prune) every ``watch_every`` seconds
    while no other job runs (``serve --watch``: the operator's, so a read-only server does it too).
    """
    app = FastAPI(
        title="Sensorium", version=__version__, docs_url=None, redoc_url=None, openapi_url="/api/openapi.json"
    )
    models = threading.Lock()
    opening = threading.Lock()  # opening (or creating) the store, apart from queries: media never waits on a model
    describing = threading.Lock()  # one long describe at a time; searches go on beside it
    if lib.exists:
        lib.store()  # opened now, so that queries never open it while a media request does

    def indexed_paths() -> dict[str, media.Recorded]:
        with opening:
            if not lib.exists:
                return {}
            store = lib.store()
        return {
            p: (int(row.get("size") or 0), float(row.get("mtime") or 0.0))
            for p, row in store.files().items()
            if row.get("status") == "done"
        }

    indexed = media.IndexedPaths(indexed_paths)

    def warm_for_index() -> None:
        with models, opening:
            lib.store(create=True)
            _ = lib.text_encoder, lib.image_encoder

    jobs = Jobs(lib, warm=warm_for_index, on_change=indexed.invalidate)
    if watch:
        _keep_watching(app, jobs, [os.path.abspath(p) for p in watch], watch_every)
    if not read_only and lib.exists and lib.manifest.get("spaces"):
        from sensorium import spaces

        if any(spaces.pending_paths(lib, name) for name in spaces.space_names(lib)):
            jobs.start([])  # a hub model was added or switched: its space catches up in the background

    def served_file(path: str) -> tuple[str, media.Recorded | None]:
        """The indexed path ``path`` names, with its recorded size and mtime (one lookup of the set)."""
        known = indexed.get(path)
        try:
            real = media.resolve(path, known)
        except media.NotServed:
            raise _not_indexed(path) from None
        return real, known.get(real)

    def served(path: str) -> str:
        return served_file(path)[0]

    _add_error_handlers(app, lib)

    # -- pages and health ------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def page() -> Response:
        index_html = STATIC / "index.html"
        if not index_html.is_file():
            raise HTTPException(404, "web page: not installed; reinstall Sensorium, or use the /api endpoints")
        return FileResponse(index_html, headers={"Cache-Control": "no-cache"})

    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        return {"ok": True, "version": __version__}

    @app.get("/api/stats")
    def stats() -> dict[str, Any]:
        with opening:
            return {**lib.stats(), "read_only": read_only}

    @app.get("/api/spaces")
    def list_spaces() -> dict[str, Any]:
        """The library's vector spaces (its own, and one per hub model), as `sensorium spaces --json`."""
        from sensorium.spaces import describe_spaces

        with opening:
            return {"spaces": describe_spaces(lib) if lib.exists else []}

    @app.get("/api/errors")
    def errors() -> list[dict[str, Any]]:
        with opening:
            rows = lib.errors()
        return [{"path": r["path"], "error": r["error"], "when": r["updated_at"]} for r in rows]

    @app.get("/api/duplicates")
    def duplicates(threshold: float | None = None, path: str | None = None) -> list[dict[str, Any]]:
        with opening:
            groups = lib.duplicates(threshold=threshold, path_glob=path)
        return [g.to_json() for g in groups]

    # -- search and classify ---------------------------------------------------------------------
    warmed = threading.Event()  # set once everything a word search uses is loaded
    searching = threading.BoundedSemaphore(SEARCHES_AT_ONCE)

    def warm_for_words() -> None:
        """Load what a word search uses (under the lock; cheap once loaded)."""
        from sensorium.scoring import Calibrator

        if lib.exists:
            Calibrator.for_library(lib)  # the text and image encoders, and the calibration background
            if has_sound(lib):
                _ = lib.audio_encoder
            warmed.set()

    def run_search(q: SearchBody, like: Path | None = None, like_weight: float = 0.5) -> dict[str, Any]:
        def search() -> list[Any]:
            return lib.search(
                q.text,
                like=like,
                like_weight=like_weight,
                negative=q.negative,
                limit=q.offset + q.limit,
                modality=q.modality,
                path_glob=q.path,
                min_score=q.min_score,
                space=q.space,
                taken=q.taken,
                read_dates=q.read_dates,
            )

        # Word searches in the library's own space need nothing loaded once warm, and every part
        # they use reads concurrently (ONNX Runtime, LanceDB), so they run side by side; an example
        # file or a hub space may load a model, and takes the lock.
        loaded = warmed.is_set() and (lib.audio_loaded or not has_sound(lib))  # sound may come later
        if loaded and like is None and q.space is None and not lib.manifest.get("spaces"):
            with searching:
                hits = search()
        else:
            with models:
                warm_for_words()
                hits = search()
        page = hits[q.offset : q.offset + q.limit]
        out = {"hits": [hit_json(h, lib) for h in page], "offset": q.offset, "limit": q.limit, "days": None}
        if q.taken is None:
            asked = days_asked(q.text) if q.text and q.read_dates else None
        else:  # days in words given as taken ("last summer"): what they were read as
            asked = taken_in_words(q.taken)
        if asked is not None:  # what the words said of days, as the search read them
            out["days"] = {"said": asked.said, "taken": as_taken(asked.span)}
        return out

    @app.post("/api/search")
    def search(body: SearchBody) -> dict[str, Any]:
        return run_search(body)

    @app.post("/api/search/example")
    def search_example(file: Annotated[UploadFile, File()], form: Annotated[ExampleForm, Form()]) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="sensorium-upload-") as tmp:
            saved, name = save_upload(file, Path(tmp), 0)
            try:
                return run_search(form, like=saved, like_weight=form.like_weight)
            except QueryError as exc:
                raise QueryError(str(exc).replace(str(saved), name)) from None

    @app.post("/api/classify")
    def classify(
        files: Annotated[list[UploadFile], File()],
        labels: Annotated[str, Form()] = "",
        multi_label: Annotated[bool, Form()] = False,
        examples: Annotated[str, Form(max_length=4096)] = "",
    ) -> dict[str, Any]:
        if examples and read_only:  # a folder of the server's, read by path: as indexing is, not for read-only
            raise HTTPException(403, "examples: this server is read-only; restart it without --read-only")
        names = parse_labels(labels) if labels.strip() or not examples else []
        if len(names) > MAX_LABELS:  # each label is embedded under the models lock that searches wait on
            raise QueryError(f"labels: {len(names)} given, at most {MAX_LABELS}; classify with fewer labels at a time")
        with tempfile.TemporaryDirectory(prefix="sensorium-upload-") as tmp:
            saved: list[tuple[str, Path | None, HTTPException | None]] = []
            for i, f in enumerate(files):
                try:
                    path, name = save_upload(f, Path(tmp), i)
                    saved.append((name, path, None))
                except HTTPException as exc:  # an empty or unknown upload: its own error, the batch goes on
                    saved.append((upload_name(f, i), None, exc))
            good = [(path, name) for name, path, _ in saved if path is not None]
            if not good:  # nothing to classify: the first upload's status says why
                raise next(exc for _, _, exc in saved if exc is not None)
            with models:
                results = iter(
                    lib.classify([path for path, _ in good], names, multi_label=multi_label, examples=examples or None)
                )
        by_path = {str(p): n for p, n in good}
        out = []
        for name, _path, exc in saved:
            if exc is not None:
                out.append(Classification(name, (), error=str(exc.detail).removeprefix(f"{name}: ")).to_json())
                continue
            r = next(results)
            error = r.error
            for p, n in by_path.items():
                error = error.replace(p, n) if error else error
            error = error.removeprefix(f"{name}: ") if error else error  # the result's path names it already
            out.append(dataclasses.replace(r, path=name, error=error).to_json())
        return {"results": out}

    # -- indexed files ---------------------------------------------------------------------------
    @app.get("/api/describe")
    def describe(path: str, fmt: Annotated[Literal["json", "vtt", "srt"], Query(alias="format")] = "json") -> Response:
        from sensorium.timeline import describe_file, to_srt, to_vtt

        real = served(path)
        with describing:
            with models:  # load the models a timeline needs before leaving the lock
                _ = lib.image_encoder, lib.audio_encoder
            desc = describe_file(lib, Path(real))
        if fmt == "vtt":
            return Response(to_vtt(desc), media_type="text/vtt; charset=utf-8")
        if fmt == "srt":
            return Response(to_srt(desc), media_type="application/x-subrip; charset=utf-8")
        return JSONResponse(desc.to_json())

    @app.get("/api/ask")
    def ask(path: str, q: Annotated[str, Query(min_length=1, max_length=500)]) -> dict[str, Any]:
        real = served(path)
        with describing:
            with models:  # load the models an answer needs before leaving the lock
                _ = lib.image_encoder, lib.audio_encoder
            [answer] = lib.ask(Path(real), q)
        return {**answer.to_json(), "path": path}

    @app.api_route("/api/media", methods=["GET", "HEAD"])
    def get_media(request: Request, path: str) -> Response:
        real, recorded = served_file(path)
        try:
            opened = media.open_served(real, recorded)
        except media.NotServed:
            raise _not_indexed(path) from None
        headers = {
            "Accept-Ranges": "bytes",
            "Last-Modified": formatdate(opened.mtime, usegmt=True),
            "Cache-Control": "private, no-cache",
            "X-Content-Type-Options": "nosniff",
        }
        try:
            span = media.parse_range(request.headers.get("range"), opened.size)
        except media.BadRange:
            os.close(opened.fd)
            return JSONResponse(
                {
                    "error": f"range {request.headers.get('range')}: not satisfiable for {opened.size} bytes; "
                    "ask for bytes within the file"
                },
                status_code=416,
                headers={**headers, "Content-Range": f"bytes */{opened.size}"},
            )
        kind = media.content_type(opened.head, path)
        start, end = span if span is not None else (0, opened.size - 1)
        headers["Content-Length"] = str(end - start + 1)
        if span is not None:
            headers["Content-Range"] = f"bytes {start}-{end}/{opened.size}"
        status = 200 if span is None else 206
        if request.method == "HEAD":  # what a GET would send, without the bytes
            os.close(opened.fd)
            return Response(status_code=status, headers=headers, media_type=kind)
        return StreamingResponse(media.stream(opened.fd, start, end), status, headers, kind)

    @app.get("/api/clip")
    def get_clip(
        path: str,
        start: Annotated[float, Query(ge=0.0, le=1e9, allow_inf_nan=False)],
        end: Annotated[float, Query(gt=0.0, le=1e9, allow_inf_nan=False)],
    ) -> Response:
        """A moment of an indexed recording or video as a file of its own (``sensorium clip``)."""
        from sensorium.export import output_suffix
        from sensorium.media.clip import export_clip
        from sensorium.media.probe import probe
        from sensorium.media.video import video_or_sound

        real, recorded = served_file(path)
        try:
            os.close(media.open_served(real, recorded).fd)  # the file indexing saw, not a link swapped in since
        except media.NotServed:
            raise _not_indexed(path) from None
        if not start < end:
            raise HTTPException(400, f"start {start:g} is not before end {end:g}; give an end after the start")
        if end - start > MAX_CLIP_S:
            raise HTTPException(
                400, f"{end - start:g} s: a moment of at most {MAX_CLIP_S:g} s; /api/media has the whole file"
            )
        kind = probe(Path(real))
        kind = video_or_sound(Path(real)) if kind == "video" else kind
        if kind not in ("audio", "video"):
            raise HTTPException(400, f"{path}: a {kind} file has no moments to cut; /api/media serves it whole")
        folder = Path(tempfile.mkdtemp(prefix="sensorium-clip-"))
        try:
            suffix = output_suffix(real, kind)
            result = export_clip(real, start, end, folder / f"clip{suffix}")
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        name = f"{Path(real).stem}-{result.start_s:.2f}-{result.end_s:.2f}{suffix}"
        headers = {"X-Clip-Start": f"{result.start_s:.6f}", "X-Clip-End": f"{result.end_s:.6f}"}
        return FileResponse(
            result.path,
            media_type=_CLIP_TYPES.get(suffix, "application/octet-stream"),
            filename=name,
            headers=headers,
            background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
        )

    @app.get("/api/thumbnail")
    def thumbnail(
        path: str,
        t: Annotated[float, Query(ge=0.0, le=1e9, allow_inf_nan=False)] = 0.0,
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    ) -> Response:
        real, recorded = served_file(path)
        try:
            data = media.thumbnail(
                lib.path, real, t, max_pixels=lib.settings.max_image_pixels, recorded=recorded, page=page
            )
        except (media.NotServed, MediaError):
            data = None
        if data is None:
            raise HTTPException(404, f"{path}: no thumbnail; only images, PDFs and indexed videos have one")
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})

    # -- names taught by example -------------------------------------------------------------
    @app.get("/api/names")
    def list_names() -> dict[str, Any]:
        return {"names": [t.to_json(failed=False) for t in lib.names()] if lib.exists else []}

    @app.post("/api/names")
    def teach_name(
        name: Annotated[str, Form(max_length=200)], files: Annotated[list[UploadFile], File()]
    ) -> dict[str, Any]:
        """Teach a name by uploaded examples, kept in the library (``names/files/``) to be read again."""
        from sensorium.names import name_key, uploads_folder

        if read_only:
            raise HTTPException(403, "names: this server is read-only; restart it without --read-only")
        folder = uploads_folder(lib, name_key(name))
        with tempfile.TemporaryDirectory(prefix="sensorium-upload-", dir=folder.parent) as tmp:
            saved: list[tuple[Path, str]] = []
            refused: list[HTTPException] = []
            failed: list[dict[str, str]] = []
            for i, f in enumerate(files):
                try:
                    path, client = save_upload(f, Path(tmp), i)
                except HTTPException as exc:  # an empty or unknown upload: its own failure, the others go on
                    refused.append(exc)
                    client = upload_name(f, i)
                    failed.append({"path": client, "error": str(exc.detail).removeprefix(f"{client}: ")})
                    continue
                named = Path(tmp) / str(i) / _safe_file_name(client, path.suffix)  # what teach says names it
                named.parent.mkdir()
                path.rename(named)
                saved.append((named, client))
            if not saved:
                raise refused[0]
            try:
                with models:
                    taught = lib.teach(name, [p for p, _ in saved], keep_in=folder)
            except QueryError as exc:
                said = str(exc)
                for path, client in saved:
                    said = said.replace(str(path), client)
                raise QueryError(said) from None
        by_path = {str(p): n for p, n in saved}
        out = taught.to_json()
        out["failed"] = failed + [
            {"path": by_path.get(e["path"], e["path"]), "error": e["error"]} for e in out["failed"]
        ]
        return out

    @app.delete("/api/names/{name}")
    def forget_name(name: str) -> dict[str, str]:
        if read_only:
            raise HTTPException(403, "names: this server is read-only; restart it without --read-only")
        lib.forget_name(name)
        return {"forgotten": name}

    # -- index jobs ------------------------------------------------------------------------------
    @app.post("/api/index", status_code=202)
    def index(body: IndexBody) -> dict[str, str]:
        if read_only:
            raise HTTPException(403, "index: this server is read-only; restart it without --read-only")
        paths = [os.path.expanduser(p) for p in body.paths]
        for p in paths:
            if not os.path.isabs(p):
                raise QueryError(f"{p}: not an absolute path; give the full path of a file or folder")
            if not os.path.exists(p):
                raise QueryError(f"{p}: no such file or folder; check the path")
        try:
            job = jobs.start(paths, prune=body.prune)
        except JobBusy as exc:
            raise HTTPException(409, str(exc)) from None
        return {"job": job.id}

    @app.get("/api/jobs/{job_id}")
    def get_job(job_id: str) -> dict[str, Any]:
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(404, f"job {job_id}: unknown; start one with POST /api/index")
        return job.to_json()

    @app.delete("/api/jobs/{job_id}")
    def cancel_job(job_id: str) -> dict[str, Any]:
        job = jobs.cancel(job_id)
        if job is None:
            raise HTTPException(404, f"job {job_id}: unknown; start one with POST /api/index")
        return job.to_json()

    app.add_middleware(Contain, on_error=app.state.on_error)  # innermost of ours: an endpoint's exception
    app.add_middleware(Guard, token=token, max_body=max_upload_mb * 1024 * 1024 + FORM_SLACK)
    if cors_origins:  # added last: outermost, so preflights are answered before the token check
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Range"],
            expose_headers=["Content-Range", "Accept-Ranges", "Content-Length"],
        )
    return app


def hit_json(hit: Hit, lib: Library | None = None) -> dict[str, Any]:
    """The CLI's hit object plus ``id``, the URLs the page loads the media and its picture from, and
    ``alt_text`` for a picture (a photo, a video's shot), made from what the hit keeps of it."""
    from sensorium.pictures import stored_alt_text

    quoted = quote(hit.path, safe="")
    alt = stored_alt_text(lib, hit.facts) if lib is not None and hit.track == "picture" else None
    thumb = None
    if hit.modality == "image":
        thumb = f"/api/thumbnail?path={quoted}"
    elif hit.page is not None:  # a PDF's passage: a picture of its page
        thumb = f"/api/thumbnail?path={quoted}&page={hit.page}"
    elif hit.modality == "video":
        start = hit.start or 0.0
        mid = (start + (hit.end if hit.end is not None else start)) / 2
        thumb = f"/api/thumbnail?path={quoted}&t={mid:.3f}"
    media_url = f"/api/media?path={quoted}"
    return {**hit.to_json(), "id": hit.id, "media_url": media_url, "thumbnail_url": thumb, "alt_text": alt}


def parse_labels(text: str) -> list[str]:
    """Labels as "a, b, c" or one per line, read as the CLI reads them (:func:`zero_shot.parse_labels`)."""
    from sensorium.zero_shot import parse_labels as read_labels

    try:
        return read_labels(text)
    except QueryError:
        raise QueryError("labels: none given; send labels as 'cat, dog' or one per line") from None


def upload_name(upload: UploadFile, n: int) -> str:
    """The client's file name without any folder, or ``upload-N``."""
    return os.path.basename((upload.filename or "").replace("\\", "/")) or f"upload-{n}"


def _safe_file_name(client: str, suffix: str) -> str:
    """An upload's own file name, kept to letters, digits, dots, dashes and underscores."""
    stem = re.sub(r"[^\w.-]+", "_", Path(client).name)[:80].strip("._")
    return stem if stem.endswith(suffix) else f"{stem or 'upload'}{suffix}"


def save_upload(upload: UploadFile, folder: Path, n: int) -> tuple[Path, str]:
    """Copy an upload into ``folder`` after sniffing its content; returns (path, client's file name).

    The suffix follows the sniffed kind (the client's suffix when it is a plain one, since it
    breaks the same ties for the decoders as it did for the sniffing).

    Raises:
        HTTPException: 415 for content that is no image, sound, video or text; 400 when empty.
    """
    name = upload_name(upload, n)
    fp = upload.file
    fp.seek(0)
    head = fp.read(HEAD_BYTES + 1)  # one byte more tells probe_bytes whether it saw the whole file
    try:
        kind = probe_bytes(head, name)
    except MediaError as exc:
        status = 400 if not head else 415
        raise HTTPException(status, f"{name}: {exc.reason}; upload an image, sound, video or text file") from None
    suffix = os.path.splitext(name)[1]
    document = suffix.lower() in OFFICE_SUFFIXES  # a DOCX's name can be what tells it from a ZIP
    if (kind == "text" and not document) or not _SANE_SUFFIX.fullmatch(suffix):
        suffix = _SUFFIX[kind]
    dest = folder / f"upload-{n}{suffix}"
    with dest.open("wb") as out:
        out.write(head)
        shutil.copyfileobj(fp, out, media.CHUNK)
    return dest, name


def _not_indexed(path: str) -> HTTPException:
    return HTTPException(404, f"{path}: not an indexed file; use the paths search results give")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for e in exc.errors()[:3]:
        if e.get("type") == "json_invalid":
            parts.append(f"invalid JSON ({(e.get('ctx') or {}).get('error', 'cannot parse')})")
            continue
        loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "form"))
        parts.append(f"{loc or 'body'}: {e.get('msg', 'invalid')}")
    return "bad request: " + ", ".join(parts) + "; see docs/http-api.md for the fields"


def _keep_watching(app: FastAPI, jobs: Jobs, paths: list[str], every: float) -> None:
    """Start an index job over ``paths`` every ``every`` seconds (skipped while another runs) until shutdown."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            with contextlib.suppress(JobBusy):  # a client's job, or the last round still going: the next round comes
                jobs.start(paths, prune=True)
            stop.wait(every)

    thread = threading.Thread(target=loop, name="sensorium-watch", daemon=True)
    app.router.on_startup.append(thread.start)
    app.router.on_shutdown.append(stop.set)


def _add_error_handlers(app: FastAPI, lib: Library) -> None:
    """Every error is ``{"error": ...}``; a 500 only ever means a bug in Sensorium."""
    from sensorium.library import MANIFEST

    gone_said = threading.Event()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = "not found: no such endpoint; see docs/http-api.md"
        elif exc.status_code == 405:
            detail = "method not allowed; see docs/http-api.md"
        elif ";" not in detail:  # Starlette's own ("Invalid multipart data."): same shape as ours
            detail = f"bad request: {detail.rstrip('.')}; see docs/http-api.md"
        return _error(exc.status_code, detail, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, _validation_message(exc))

    @app.exception_handler(SensoriumError)
    async def user_error(_: Request, exc: SensoriumError) -> JSONResponse:
        return _error(400, str(exc))

    async def bug(request: Request, exc: Exception) -> JSONResponse:
        if lib.exists and not (lib.path / MANIFEST).is_file():  # moved or deleted while serving
            if not gone_said.is_set():
                gone_said.set()
                log.error("library %s: its folder is gone (%s: %s)", lib.path, type(exc).__name__, exc)
            return _error(
                503,
                f"library {lib.path}: its folder was moved or deleted while serving; "
                "put it back, or restart `sensorium serve` on a library",
            )
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _error(500, f"internal error ({type(exc).__name__}); this is a bug, see the server log")

    app.state.on_error = bug


class Contain:
    """Answers an endpoint's unexpected exception with ``on_error``'s response, and stops it there.

    Starlette's handler for ``Exception`` answers, then raises the exception again for the server
    to log: a library deleted while serving printed two tracebacks for a 503 that says all there
    is to say. A bug is logged once, with its traceback, by ``on_error``.
    """

    def __init__(self, app: Any, on_error: Any) -> None:
        self.app = app
        self.on_error = on_error

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if started:  # part of the answer is out: nothing better to send
                raise
            response = await self.on_error(Request(scope), exc)
            await response(scope, receive, send)
