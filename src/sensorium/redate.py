"""Dates for the files of a library indexed before Sensorium read them (made by 0.3 or earlier).

Such a library gains an empty ``taken`` column when 0.4 first opens it (``store.lancedb``). Its next
``sensorium index`` reads when each of its files was made from their headers alone (no model runs,
nothing re-embedded) and writes it on the file's records in every space; the manifest's ``dates``
then says so, and no later run reads them again. A file that cannot be read now keeps no date
until it changes and is indexed again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sensorium.errors import MediaError
from sensorium.media.probe import probe
from sensorium.media.tags import FileTags, document_tags, picture_tags, with_sidecar
from sensorium.media.video import media_header

if TYPE_CHECKING:
    from sensorium.library import Library

log = logging.getLogger(__name__)

DATES_READ = 1  # manifest["dates"]: every file the library holds was indexed with its date read
BATCH = 256  # files whose records are rewritten in one commit


def needs_dates(lib: Library) -> bool:
    """Whether ``lib`` holds files indexed before dates were read (see the module docstring)."""
    return lib.exists and lib.manifest.get("dates") != DATES_READ


def header_date(path: Path) -> float | None:
    """When ``path`` says it was made (``media.dates``' wall-clock seconds); None when it says nothing or
    cannot be read."""
    try:
        kind = probe(path)
        own: FileTags
        if kind == "image":
            own = picture_tags(path)
        elif kind == "text":
            own = document_tags(path)
        elif kind in ("audio", "video"):
            own = media_header(path)[1]  # a recording's tags as a video's: the container's
        else:
            return None
        return with_sidecar(path, own).taken
    except (MediaError, OSError, ValueError) as exc:
        log.info("no date read from %s: %s", path, exc)
        return None


def date_old_files(lib: Library, on_progress: Callable[[int, int, str], None] | None = None) -> int:
    """Read and store the dates of the files ``lib`` indexed before it read dates; returns how many had one.

    Records keep their vectors: each file's rows are read and written back with ``taken`` set, a
    batch at a time, in the library's own store and every hub space's.
    """
    from sensorium import spaces

    main = lib.store()
    files = main.files()
    todo = sorted(p for p, row in files.items() if row.get("status") == "done" and row.get("taken") is None)
    dates: dict[str, float] = {}
    with ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 2)), thread_name_prefix="sensorium-dates") as pool:
        read = pool.map(lambda p: header_date(Path(p)), todo)
        for done, (path, taken) in enumerate(zip(todo, read, strict=True), 1):
            if taken is not None:
                dates[path] = taken
            if on_progress is not None:
                on_progress(done, len(todo), path)
    _write_dates(main, files, dates)
    for name in spaces.space_names(lib):  # a hub space's records carry their file's date too
        space = spaces.space_store(lib, name)
        _write_dates(space, space.files(), dates)
    lib.manifest["dates"] = DATES_READ
    lib._write_manifest()
    if todo:
        log.warning("read when %d of %d files indexed before 0.4 were made (once)", len(dates), len(todo))
    return len(dates)


def _write_dates(store: Any, files: dict[str, dict[str, Any]], dates: dict[str, float]) -> None:
    paths = [p for p in dates if p in files]
    for chunk in _chunks(paths, BATCH):
        records = store.records_of(chunk)
        for row in records:
            row["taken"] = dates[row["path"]]
        store.upsert_records(records)
        store.upsert_files([{**files[p], "taken": dates[p]} for p in chunk])


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
