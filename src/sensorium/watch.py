"""Keep a library up to date with folders as they change: ``sensorium watch ~/Pictures``.

Each round is an ordinary incremental ``index`` of the folders (with ``prune``, by default): new
and changed files are indexed, deleted ones forgotten, unchanged ones cost a ``stat`` (about 40 ms
a round for 300 files). Polling, rather than the kernel's change events, works the same on every
system, on network and removable drives, and for any number of folders, and a round that finds
nothing new writes nothing. A round that changes the library says what changed: the files indexed,
forgotten and newly failed, by name.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sensorium.ingest import IndexReport
    from sensorium.library import Library

DEFAULT_EVERY_S = 10.0


@dataclass
class Change:
    """What one round did to the library; ``report`` is that round's ``index`` report."""

    at: float  # time.time() when the round ended
    indexed: list[str] = field(default_factory=list)  # new or changed files now indexed
    forgotten: list[str] = field(default_factory=list)  # files gone from disk, gone from the library
    failed: list[tuple[str, str]] = field(default_factory=list)  # files that failed this round and not the last
    report: IndexReport | None = None

    def __bool__(self) -> bool:
        return bool(self.indexed or self.forgotten or self.failed)

    def to_json(self) -> dict[str, Any]:
        return {
            "at": round(self.at, 3),
            "indexed": self.indexed,
            "forgotten": self.forgotten,
            "failed": [{"path": p, "error": r} for p, r in self.failed],
        }


def watch(
    lib: Library,
    paths: Sequence[Path],
    *,
    every: float = DEFAULT_EVERY_S,
    prune: bool = True,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    on_change: Callable[[Change], Any] | None = None,
    stop: threading.Event | None = None,
    rounds: int | None = None,
) -> None:
    """Index ``paths`` every ``every`` seconds until ``stop`` is set (or ``rounds`` rounds have run).

    ``on_change`` is called after each round that changed the library. The first round indexes
    whatever is not indexed yet, as ``index`` does.
    """
    stop = stop or threading.Event()
    known = _done(lib)
    failing: dict[str, str] = {}
    n = 0
    while not stop.is_set():
        started = time.monotonic()
        report = lib.index(list(paths), prune=prune, include=include, exclude=exclude)
        now_failing = dict(report.failures)
        change = Change(time.time(), report=report)
        change.failed = [(p, r) for p, r in now_failing.items() if failing.get(p) != r]
        failing = now_failing
        if report.indexed or report.pruned:
            after = _done(lib)
            change.indexed = sorted(p for p, h in after.items() if known.get(p) != h)
            change.forgotten = sorted(p for p in known if p not in after)
            known = after
        if change and on_change is not None:
            on_change(change)
        n += 1
        if rounds is not None and n >= rounds:
            return
        stop.wait(max(0.0, every - (time.monotonic() - started)))


def _done(lib: Library) -> dict[str, str]:
    """Indexed files and their content hashes."""
    if not lib.exists:
        return {}
    return {p: row.get("content_hash") or "" for p, row in lib.store().files().items() if row.get("status") == "done"}
