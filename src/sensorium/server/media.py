"""Serving indexed files: which paths may be read, their bytes by range, and image thumbnails.

Only files the library indexed are served, so the token opens the library, not the disk.
A path is looked up exactly as the library stored it (an absolute path without ``..``), or by
its real path. A path through a symlink (the user indexed a link, or a folder of links) is
followed only to a file of the size and modification time the library recorded for it, so a
symlink swapped in for an indexed file or any folder above it after indexing is refused rather
than followed.
"""

from __future__ import annotations

import codecs
import io
import logging
import os
import re
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from sensorium import thumbnails
from sensorium.media.image import load_image_bytes
from sensorium.media.pdf import render_page
from sensorium.media.probe import HEAD_BYTES, image_format, is_pdf, sniff
from sensorium.media.walk import display_path

log = logging.getLogger(__name__)

CHUNK = 256 * 1024
FILES_TTL_S = 10.0  # after this the set of indexed paths is re-read (in the background for known paths)
RELOAD_GAP_S = 1.0  # an unknown path re-reads the set at most this often (a flood of them costs one read a second)
IMAGE_THUMB = "0000000000-0000000.jpg"  # named like a video's first picture, so thumbnails.find sees it


class NotServed(Exception):
    """The path is not a file the library indexed (answered as 404, never saying which check failed)."""


class BadRange(Exception):
    """A Range header that cannot be satisfied (answered as 416)."""


Recorded = tuple[int, float]  # (size, mtime) of an indexed file, as the files table has them


class IndexedPaths:
    """The paths of indexed files (status ``done``) with their size and mtime, for deciding what may be served.

    ``store().files()`` reads the whole files table (about 0.35 s at 100k files), so the set is
    kept: a path in it is served at once, and a set older than ``FILES_TTL_S`` is re-read in the
    background (stale while revalidating). A path not in it forces a re-read first, so a file
    indexed a moment ago by another process is found; a job in this server drops the set.
    """

    def __init__(self, load: Callable[[], dict[str, Recorded]]) -> None:
        self._load = load
        self._paths: dict[str, Recorded] | None = None
        self._at = 0.0
        self._lock = threading.Lock()
        self._refreshing = False

    def invalidate(self) -> None:
        with self._lock:
            self._paths = None

    def get(self, wanted: str | None = None) -> dict[str, Recorded]:
        with self._lock:
            paths, at = self._paths, self._at
        if paths is None:
            return self._reload()
        age = time.monotonic() - at
        if self._known(wanted, paths) or (wanted is None and age <= FILES_TTL_S):
            if age > FILES_TTL_S:
                self._refresh_later()
            return paths
        if age < RELOAD_GAP_S:
            return paths
        return self._reload()

    @staticmethod
    def _known(wanted: str | None, paths: dict[str, Recorded]) -> bool:
        return wanted is not None and (wanted in paths or os.path.realpath(wanted) in paths)

    def _reload(self) -> dict[str, Recorded]:
        paths = self._load()
        with self._lock:
            self._paths, self._at = paths, time.monotonic()
        return paths

    def _refresh_later(self) -> None:
        with self._lock:
            if self._refreshing:
                return
            self._refreshing = True

        def work() -> None:
            try:
                self._reload()
            except Exception as exc:  # the next request that needs the set reads it and answers the error
                log.debug("re-reading the indexed paths failed: %s", exc)
            finally:
                with self._lock:
                    self._refreshing = False

        threading.Thread(target=work, name="sensorium-indexed-paths", daemon=True).start()


def resolve(requested: str, indexed: dict[str, Recorded] | set[str]) -> str:
    """The indexed path that ``requested`` names.

    Raises:
        NotServed: not indexed, or it now resolves somewhere else.
    """
    if not requested or "\x00" in requested:
        raise NotServed(requested)
    if requested in indexed:
        return requested
    real = os.path.realpath(requested)
    if real in indexed:
        return real
    raise NotServed(requested)


@dataclass
class Opened:
    """An indexed file opened for reading; the caller closes ``fd``."""

    fd: int
    size: int
    mtime: float
    head: bytes


def open_served(path: str, recorded: Recorded | None = None) -> Opened:
    """Open an indexed regular file; through a symlink only to the file that was indexed.

    A path with a symlink in any component is followed when ``recorded`` (the size and mtime
    indexing saw through it) matches the file it now leads to; without ``recorded`` it is refused.

    Raises:
        NotServed: gone, not a regular file, unreadable, or a symlink to anything but the indexed file.
    """
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = _open_unlinked(path, flags)
        followed = False
    except _Linked as exc:  # a component of the path is a symlink
        if recorded is None:
            raise NotServed(path) from exc
        try:
            fd = os.open(path, flags)
        except OSError as again:
            raise NotServed(path) from again
        followed = True
    except OSError as exc:
        raise NotServed(path) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotServed(path)
        if followed and recorded is not None and (st.st_size, st.st_mtime) != recorded:
            raise NotServed(path)  # the link now leads somewhere else than when it was indexed
        head = os.pread(fd, HEAD_BYTES, 0)
    except (OSError, NotServed) as exc:
        os.close(fd)
        raise NotServed(path) from exc
    return Opened(fd, st.st_size, st.st_mtime, head)


class _Linked(OSError):
    """A component of the path is a symlink."""


def _open_unlinked(path: str, flags: int) -> int:
    """Open ``path`` one component at a time, none of them followed if it is a symlink.

    ``O_NOFOLLOW`` alone checks the last component only; walking with ``dir_fd`` checks the
    folders too, with no window between a check and the open.

    Raises:
        _Linked: a component is a symlink.
        OSError: anything else (missing, unreadable).
    """
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    if not nofollow or os.open not in os.supports_dir_fd or not os.path.isabs(path):
        if os.path.realpath(path) != os.path.abspath(path):
            raise _Linked(path)
        return os.open(path, flags | nofollow)
    head, *parts = Path(path).parts
    folder = os.open(head, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            want = flags | nofollow if last else os.O_RDONLY | os.O_DIRECTORY | nofollow | getattr(os, "O_CLOEXEC", 0)
            try:
                fd = os.open(part, want, dir_fd=folder)
            except OSError as exc:
                if os.path.islink(os.path.join(head, *parts[: i + 1])):
                    raise _Linked(path) from exc
                raise
            if last:
                return fd
            os.close(folder)
            folder = fd
    finally:
        os.close(folder)
    raise OSError(f"{path}: no file name")


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte span ``Range`` asks for, or ``None`` for the whole file.

    Handles ``bytes=a-b``, ``bytes=a-`` and ``bytes=-n``. Several ranges are answered with the
    whole file (allowed by RFC 9110, and no player asks for them), and so is a header that is
    not a valid byte range (another unit, ``bytes=abc``, ``bytes=50-10``): RFC 9110 §14.2 says to
    ignore it.

    Raises:
        BadRange: a valid range that no byte of the file satisfies (starting past the end, or the
            last 0 bytes).
    """
    if header is None:
        return None
    header = header.strip()
    if "," in header:
        return None
    m = _RANGE.fullmatch(header.replace(" ", ""))
    if m is None or (not m[1] and not m[2]) or (m[1] and m[2] and int(m[2]) < int(m[1])):
        return None
    if not m[1]:  # suffix: the last n bytes
        n = int(m[2])
        if n == 0 or size == 0:
            raise BadRange(header)
        return max(0, size - n), size - 1
    start = int(m[1])
    end = int(m[2]) if m[2] else size - 1
    if start >= size:
        raise BadRange(header)
    return start, min(end, size - 1)


def stream(fd: int, start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start..end`` (inclusive) of ``fd`` in chunks; closes ``fd`` when done or dropped."""
    try:
        pos = start
        while pos <= end:
            chunk = os.pread(fd, min(CHUNK, end - pos + 1), pos)
            if not chunk:
                break  # the file shrank while being sent
            pos += len(chunk)
            yield chunk
    finally:
        os.close(fd)


_AV_TYPES: tuple[tuple[bytes, int, str], ...] = (
    (b"fLaC", 0, "audio/flac"),
    (b"ID3", 0, "audio/mpeg"),
    (b"WAVE", 8, "audio/wav"),
    (b"AVI ", 8, "video/x-msvideo"),
    (b"AIFF", 8, "audio/aiff"),
    (b"AIFC", 8, "audio/aiff"),
    (b"FLV\x01", 0, "video/x-flv"),
    (b"caff", 0, "audio/x-caf"),
    (b"#!AMR", 0, "audio/amr"),
    (b".snd", 0, "audio/basic"),
    (b"\x00\x00\x01\xba", 0, "video/mpeg"),
)


def content_type(head: bytes, name: str) -> str:
    """The MIME type of a file from its first bytes (the name only breaks ties, as in probe)."""
    suffix = os.path.splitext(name)[1].lower()
    fmt = image_format(head, suffix)
    if fmt is not None:
        return "image/x-dcraw" if fmt == "raw" else f"image/{fmt}"  # a camera's RAW: the freedesktop.org name
    for magic, at, mime in _AV_TYPES:
        if head[at : at + len(magic)] == magic:
            return mime
    if is_pdf(head):
        return "application/pdf"  # a browser shows it
    kind = sniff(head, suffix, complete=len(head) < HEAD_BYTES)
    if head[:4] == b"OggS":
        return "video/ogg" if kind == "video" else "audio/ogg"
    if head[4:8] == b"ftyp":
        if kind == "audio":
            return "audio/mp4"
        return "video/quicktime" if head[8:12] == b"qt  " else "video/mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm" if b"webm" in head[:64] else "video/x-matroska"
    if kind == "text":
        try:  # probe also reads BOM-marked UTF-16/32 and, by suffix, legacy 8-bit text
            codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < HEAD_BYTES)
        except UnicodeDecodeError:
            return "text/plain"
        return "text/plain; charset=utf-8"
    if kind == "audio":
        return "audio/mpeg"  # MPEG audio frames or ADTS
    if kind == "video":
        return "video/mp2t"
    return "application/octet-stream"


def thumbnail(
    library: Path, path: str, t: float, *, max_pixels: int, recorded: Recorded | None = None, page: int = 1
) -> bytes | None:
    """A JPEG of an indexed file: a video's picture at ``t``, an image shrunk to 320 px, or a PDF's ``page``.

    An image's thumbnail is made on first request and kept beside the videos' (so re-indexing
    a changed image drops it, as ingest forgets a changed file's thumbnails); a library that
    cannot be written still gets its thumbnail, made again each time.
    """
    found = thumbnails.find(library, path, t)
    if found is not None:
        try:
            return found.read_bytes()
        except OSError:
            pass
    opened = open_served(path, recorded)
    with os.fdopen(opened.fd, "rb") as fp:
        if is_pdf(opened.head):
            return _jpeg(render_page(fp, display_path(path), page, thumbnails.SIDE))  # quick: not kept
        if image_format(opened.head) is None:
            return None
        # min_side: a phone's HEIC has a thumbnail of just this size, read in milliseconds (not 0.5 s)
        side = thumbnails.SIDE
        image = load_image_bytes(fp.read(), display_path(path), max_pixels=max_pixels, max_side=side, min_side=side)
    data = _jpeg(image)
    _keep(thumbnails.folder(library, path), data)
    return data


def _jpeg(image: Image.Image) -> bytes:
    image.thumbnail((thumbnails.SIDE, thumbnails.SIDE))
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=thumbnails.QUALITY)
    return buf.getvalue()


def _keep(folder: Path, data: bytes) -> None:
    """Write ``data`` as the image thumbnail in ``folder`` atomically; a failure only costs the cache."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".part", dir=folder)
        try:
            with os.fdopen(fd, "wb") as fp:
                fp.write(data)
            os.replace(tmp, folder / IMAGE_THUMB)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as exc:
        log.warning("cannot keep a thumbnail in %s: %s", folder, exc)
