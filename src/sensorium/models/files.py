"""Find model files and verify them before use.

Weights come from pip packages or from the models directory (``SENSORIUM_MODELS``). Every
file is checked by size and sha256 before use; a missing or corrupt file raises
:class:`ModelMissing` naming the file, where it was looked for, and how to provide it. A file's
digest is kept with its size, modification time and inode in the cache folder
(``sha256.json``), as git's index keeps what it has hashed: a file that changes in any of them is
hashed again, and one that does not is not read again by every command (Whisper's 75 MB alone
took 0.15 s of each search in a library with sound).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from sensorium.errors import ModelMissing

_VERIFIED: dict[str, str] = {}
_KNOWN: dict[str, str] | None = None  # what sha256.json holds
_LOCK = threading.Lock()


@dataclass(frozen=True)
class ModelFile:
    """One weights file the project depends on."""

    name: str  # relative path inside the models directory, e.g. "yolox_nano/yolox_nano.onnx"
    sha256: str
    size: int
    licence: str
    upstream: str
    package: str = ""  # pip package that ships it, when one does
    package_path: str = ""  # path inside that package


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, remembered by (path, size, mtime, inode) in this process and on disk."""
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}"
    with _LOCK:
        known = _VERIFIED.get(key) or _known().get(key)
    if known:
        _VERIFIED[key] = known
        return known
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    digest = h.hexdigest()
    with _LOCK:
        _VERIFIED[key] = digest
        _remember(key, digest)
    return digest


def _stamps_file() -> Path:
    root = os.environ.get("SENSORIUM_CACHE") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sensorium" / "derived"
    )
    return Path(root) / "sha256.json"


def _known() -> dict[str, str]:
    global _KNOWN
    if _KNOWN is None:
        try:
            data = json.loads(_stamps_file().read_text(encoding="utf-8"))
            _KNOWN = {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        except (OSError, ValueError):
            _KNOWN = {}
    return _KNOWN


def _remember(key: str, digest: str) -> None:
    """Add a digest to ``sha256.json`` (written beside, then renamed); a cache that cannot be written is skipped."""
    known = _known()
    known[key] = digest
    path = _stamps_file()
    live = {k: v for k, v in known.items() if Path(k.rsplit("|", 3)[0]).exists()}  # files since removed are dropped
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        tmp.write_text(json.dumps(live, indent=0), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def package_dir(package: str) -> Path | None:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def resolve(model: ModelFile, models_dir: Path) -> Path:
    """Path of a verified copy of ``model``.

    Raises:
        ModelMissing: absent everywhere, or present with the wrong size or checksum.
    """
    candidates: list[Path] = []
    if model.package:
        pkg = package_dir(model.package)
        if pkg is not None:
            candidates.append(pkg / model.package_path)
    candidates.append(models_dir / model.name)
    for path in candidates:
        if not path.is_file():
            continue
        size = path.stat().st_size
        if size != model.size:
            raise ModelMissing(
                f"{path}: size {size} bytes, expected {model.size} (truncated or wrong file); "
                f"replace it with the file from {model.upstream}"
            )
        digest = sha256_of(path)
        if digest != model.sha256:
            raise ModelMissing(
                f"{path}: sha256 {digest[:16]}... does not match {model.sha256[:16]}...; "
                f"replace it with the file from {model.upstream}"
            )
        return path
    where = ", ".join(str(p) for p in candidates)
    how = f"pip install {model.package}" if model.package else f"put it in {models_dir / model.name}"
    raise ModelMissing(
        f"model file {model.name} not found (looked in {where}); {how}, "
        f"or set SENSORIUM_MODELS to a folder holding it (upstream: {model.upstream})"
    )


def cache_dir(models_dir: Path, cache_root: Path, name: str) -> Path:
    """A writable folder for derived files (ONNX exports, concept embeddings).

    Derived files go under ``cache_root`` (the user's cache), keyed by the caller's ``name``,
    which must include the checksum of what they were derived from. The models directory is
    never written: it may be shared, read-only, or verified by an administrator.
    """
    d = cache_root / name
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelMissing(
            f"{d}: cannot create the model cache ({exc.strerror}); set SENSORIUM_CACHE to a writable folder"
        ) from exc
    return d
