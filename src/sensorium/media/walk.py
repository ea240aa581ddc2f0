"""Find the files to index under the paths a user gave.

A batch never stops for one bad path: missing paths, unreadable folders, broken links and
symlink loops go to ``on_error(path, reason)`` and the walk goes on. Order is deterministic
(sorted by name, files before subfolders) so two runs over the same tree see the same files.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

log = logging.getLogger(__name__)

OnError = Callable[[str, str], None]
_Inode = tuple[int, int]

# C0 controls and DEL would break one-line messages and terminals; show them as escapes.
_CONTROL_ESCAPES = {c: f"\\x{c:02x}" for c in [*range(32), 127]}


def display_path(path: Path | str | bytes) -> str:
    r"""The path as printable text for messages and JSON.

    Bytes that are not UTF-8 (file names from other systems) become ``\xNN`` escapes and
    control characters are escaped, so the result is one line and always encodable.
    """
    raw = os.fsencode(path)
    return raw.decode("utf-8", "backslashreplace").translate(_CONTROL_ESCAPES)


def canonical(path: Path | str) -> Path:
    """``path`` made absolute with its symlinked folders resolved: one name per file across runs.

    A library indexed through ``~/Pictures`` (a link) and then through the folder it points at
    would otherwise hold each photo twice. A link to one file keeps its own name, in its resolved
    folder; a dangling link (an unmounted drive) resolves to where its files were.
    """
    p = os.path.abspath(path)
    if os.path.isdir(p) or (os.path.islink(p) and not os.path.exists(p)):
        return Path(os.path.realpath(p))
    head, name = os.path.split(p)
    return Path(os.path.realpath(head)) / name


def os_reason(exc: OSError) -> str:
    """A short lower-case reason for an OS error, without the path Python adds."""
    if exc.errno == errno.ELOOP:
        return "symlink loop (too many levels of symbolic links)"
    if exc.errno == errno.ENOENT:
        return "no such file or directory"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return (exc.strerror or str(exc)).lower()


@dataclass(frozen=True)
class _Filters:
    include: Sequence[str]
    exclude: Sequence[str]

    def _match(self, patterns: Sequence[str], path: Path, top: Path) -> bool:
        names = (path.name, str(path), str(path.relative_to(top)) if path != top else path.name)
        return any(fnmatchcase(n, p) for p in patterns for n in names)

    def wants_file(self, path: Path, top: Path) -> bool:
        if self.include and not self._match(self.include, path, top):
            return False
        return not self._match(self.exclude, path, top)

    def prunes_dir(self, path: Path, top: Path) -> bool:
        return bool(self.exclude) and self._match(self.exclude, path, top)


def skipped_by(path: str, top: Path, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> bool:
    """Whether ``--include``/``--exclude`` leave out the file ``path`` found under ``top``."""
    if not (include or exclude):
        return False
    filters, file = _Filters(include, exclude), Path(path)
    if not filters.wants_file(file, top):
        return True
    return any(filters.prunes_dir(d, top) for d in file.parents if d != top and top in d.parents)


def walk(
    paths: Sequence[Path],
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    on_error: OnError,
    skip_dirs: Sequence[Path] = (),
) -> Iterator[Path]:
    """Yield each regular file under ``paths`` once.

    "Once" is by device and inode: a hard link or symlink to a file already yielded is skipped.
    Top-level paths are used in the order given; in each folder the files come first, sorted
    by name, then the subfolders, depth first and sorted by name. Symlinked files and folders
    are followed; a link back into its own ancestry is reported once as a loop and not entered.
    Hidden entries (``.git``, ``.DS_Store``) inside folders, the folders in ``skip_dirs``
    (the library itself) and any other library found inside (:func:`is_library`) are skipped
    silently; a path named explicitly is never skipped for being hidden.
    A pipe, socket or device inside a folder is reported, not read (reading a pipe waits forever).
    ``include``/``exclude`` are case-sensitive shell globs matched against the file name,
    the path as yielded and the path relative to its top-level folder; a folder matching
    ``exclude`` is not entered.
    """
    walker = _Walker(_Filters(include, exclude), on_error, _inodes(skip_dirs))
    for top in paths:
        yield from walker.top(Path(top))


def is_library(folder: Path) -> bool:
    """A Sensorium library inside the walked tree: its store's files are not the user's media."""
    return (folder / "manifest.json").is_file() and (folder / "lance").is_dir()


def _inodes(dirs: Sequence[Path]) -> set[_Inode]:
    found: set[_Inode] = set()
    for d in dirs:
        try:
            st = os.stat(d)
        except OSError:
            continue  # a library folder that does not exist yet hides nothing
        found.add((st.st_dev, st.st_ino))
    return found


class _Walker:
    """State of one walk: what was seen, so files and folders come out once."""

    def __init__(self, filters: _Filters, on_error: OnError, skip: set[_Inode]) -> None:
        self.filters = filters
        self.on_error = on_error
        self.skip = skip
        self.seen_files: set[_Inode] = set()
        self.seen_dirs: set[_Inode] = set()

    def report(self, path: Path, reason: str) -> None:
        self.on_error(display_path(path), reason)

    def top(self, top: Path) -> Iterator[Path]:
        st = self._stat(top)
        if st is None:
            return
        if stat.S_ISDIR(st.st_mode):
            yield from self._tree(top, st)
        elif stat.S_ISREG(st.st_mode):
            yield from self._file(top, top, st)
        else:
            self.report(top, "not a regular file or folder (device, pipe or socket)")

    def _stat(self, path: Path) -> os.stat_result | None:
        try:
            return os.stat(path)
        except OSError as exc:
            target = None
            if exc.errno == errno.ENOENT and os.path.islink(path):
                with contextlib.suppress(OSError):  # the link itself may go meanwhile (a /proc entry)
                    target = os.readlink(path)
            if target is not None:
                self.report(path, f"broken symlink (target {display_path(target)} does not exist)")
            else:
                self.report(path, os_reason(exc))
            return None

    def _file(self, path: Path, top: Path, st: os.stat_result) -> Iterator[Path]:
        key = (st.st_dev, st.st_ino)
        if key in self.seen_files or not self.filters.wants_file(path, top):
            return
        self.seen_files.add(key)
        if not os.access(path, os.R_OK):
            self.report(path, "permission denied")
            return
        yield path

    def _tree(self, top: Path, st: os.stat_result) -> Iterator[Path]:
        # Explicit stack instead of recursion: deep trees must not hit the recursion limit.
        stack: list[tuple[Path, os.stat_result, frozenset[_Inode]]] = [(top, st, frozenset())]
        while stack:
            folder, fst, ancestors = stack.pop()
            key = (fst.st_dev, fst.st_ino)
            if key in self.skip or key in self.seen_dirs:
                continue
            self.seen_dirs.add(key)
            inside = ancestors | {key}
            subdirs: list[tuple[Path, os.stat_result, frozenset[_Inode]]] = []
            for path, est in self._entries(folder, inside):
                if stat.S_ISDIR(est.st_mode):
                    if not self.filters.prunes_dir(path, top) and not is_library(path):
                        subdirs.append((path, est, inside))
                elif stat.S_ISREG(est.st_mode):
                    yield from self._file(path, top, est)
                elif self.filters.wants_file(path, top):  # a pipe named photo.jpg would block a reader
                    self.report(path, "not a regular file (device, pipe or socket); skipped")
            stack.extend(reversed(subdirs))

    def _entries(self, folder: Path, inside: frozenset[_Inode]) -> Iterator[tuple[Path, os.stat_result]]:
        """Visible entries of ``folder`` sorted by name, with their followed stat; loops reported."""
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            self.report(folder, f"cannot list folder: {os_reason(exc)}")
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = folder / entry.name
            est = self._stat(path)
            if est is None:
                continue
            if stat.S_ISDIR(est.st_mode) and (est.st_dev, est.st_ino) in inside:
                self.report(path, f"symlink loop (leads back to {display_path(os.path.realpath(path))}); not followed")
                continue
            yield path, est
