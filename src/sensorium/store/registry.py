"""Store backends by name; third-party packages add more under ``sensorium.stores``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sensorium.plugins import BackendTable
from sensorium.store.base import Store

BUILTIN_STORES: dict[str, str] = {
    "lancedb": "sensorium.store.lancedb:LanceStore",
    "memory": "sensorium.store.memory:MemoryStore",
}


def store_table(*, discover: bool = True) -> BackendTable:
    return BackendTable("store", BUILTIN_STORES, "sensorium.stores", discover=discover)


def open_store(
    name: str, path: Path, *, dim: int, perceptual_dim: int, options: Any = None, discover: bool = True
) -> Store:
    """Open (creating if needed) the store ``name`` in folder ``path``."""
    cls = store_table(discover=discover).load(name)
    return cls(path, dim=dim, perceptual_dim=perceptual_dim, options=options)
