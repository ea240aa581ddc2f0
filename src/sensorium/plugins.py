"""Name → backend tables, filled from built-ins and entry points; nothing happens at import."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from sensorium.errors import UnknownBackend


class BackendTable:
    """Maps names to ``"module:Class"`` strings; classes load on first use.

    Args:
        kind: what the table holds, for messages ("encoder", "store").
        builtins: built-in names.
        group: entry-point group third-party packages register in.
        discover: read entry points (tests pass False to keep plugins out).
    """

    def __init__(self, kind: str, builtins: dict[str, str], group: str, *, discover: bool = True) -> None:
        self.kind = kind
        self.group = group
        self._targets: dict[str, Any] = dict(builtins)
        if discover:
            for ep in entry_points(group=group):
                self._targets.setdefault(ep.name, ep)

    def names(self) -> list[str]:
        return sorted(self._targets)

    def add(self, name: str, target: Any) -> None:
        """Register a class or a ``"module:Class"`` string under ``name``."""
        self._targets[name] = target

    def load(self, name: str) -> Any:
        """The class registered as ``name``.

        Raises:
            UnknownBackend: no such name; the message lists the names that exist.
        """
        target = self._targets.get(name)
        if target is None:
            raise UnknownBackend(
                f"unknown {self.kind} '{name}'; choose one of: {', '.join(self.names())} "
                f"(or install a package that registers it under '{self.group}')"
            )
        if isinstance(target, str):
            module, _, attr = target.partition(":")
            return getattr(importlib.import_module(module), attr)
        if hasattr(target, "load") and hasattr(target, "group"):
            return target.load()
        return target
