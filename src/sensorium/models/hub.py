"""Hub tier: contrastive models (OpenCLIP/SigLIP, CLIP, CLAP) and larger Whisper, installed by the user.

A hub model is named by ``backend:identifier`` (``openclip:ViT-B-32/laion2b_s34b_b79k``,
``clap:laion/clap-htsat-unfused``, ``whisper:small``). ``sensorium models add`` copies it from
a local file or folder (air-gapped machines) or fetches it from the model hub, loads it once to
prove it works, and records it in ``<hub folder>/<name>/model.json`` with the sha256 of every
file (the hub folder is ``SENSORIUM_HUB_MODELS``, by default ``hub`` in the models folder).
Nothing is recorded unless the model loaded: a failed add leaves no half-installed model.
Loading checks the checksums again, so a file changed or truncated after the add is refused.

Each backend lives in its own module and exposes the same small surface
(:class:`ContrastiveModel`): ``encode_text``, and ``encode_images`` and/or ``encode_audio``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from sensorium.errors import ModelMissing
from sensorium.models.files import sha256_of

log = logging.getLogger(__name__)

MANIFEST = "model.json"
FILES = "files"
BACKENDS = ("openclip", "clip", "siglip", "clap", "whisper")
DEFAULT_SPACE = {"openclip": "clip", "clip": "clip", "siglip": "siglip", "clap": "clap", "whisper": ""}
HOW_TO = (
    "on a machine that reaches the hub, save the model (open_clip: the checkpoint file; transformers: "
    "save_pretrained() or the hub folder; faster-whisper: the CTranslate2 folder), copy it here and run "
    "`sensorium models add {id} --from PATH`"
)


class ContrastiveModel(Protocol):
    """What every hub backend gives: unit-length embeddings in one space, from words and media."""

    dim: int
    modalities: frozenset[str]  # "image" and/or "audio" (text always)
    audio_rate: int  # samples per second ``encode_audio`` expects (0 when it reads no sound)

    def encode_text(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_images(self, images: Sequence[Any]) -> np.ndarray: ...

    def encode_audio(self, waves: Sequence[np.ndarray]) -> np.ndarray: ...


@dataclass(frozen=True)
class HubSpec:
    """A parsed model id. ``arch``/``tag`` are open_clip's; ``repo`` a hub repository."""

    id: str
    backend: str
    name: str  # the folder name under <models>/hub, and the default model name shown
    arch: str = ""
    tag: str = ""
    repo: str = ""

    @classmethod
    def parse(cls, model_id: str) -> HubSpec:
        """Parse ``backend:identifier``.

        Raises:
            ModelMissing: an unknown backend or an empty identifier.
        """
        backend, sep, rest = model_id.strip().partition(":")
        backend = backend.lower()
        if not sep or backend not in BACKENDS or not rest.strip():
            raise ModelMissing(
                f"model {model_id!r}: not a hub model id; write backend:identifier with backend one of "
                f"{', '.join(BACKENDS)} (openclip:ViT-B-32/laion2b_s34b_b79k, clap:laion/clap-htsat-unfused, "
                "whisper:small)"
            )
        rest = rest.strip()
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{backend}-{rest}").strip("-").lower()
        if backend == "openclip":
            arch, _, tag = rest.partition("/")
            if not _is_openclip_arch(arch):  # not a built-in architecture: a hub repository (org/name)
                return cls(model_id, backend, name, repo=rest)
            return cls(model_id, backend, name, arch=arch, tag=tag)
        return cls(model_id, backend, name, repo=rest)


def _is_openclip_arch(arch: str) -> bool:
    try:
        import open_clip
    except ImportError:
        return "/" not in arch
    return arch in open_clip.list_models()


@dataclass
class InstalledModel:
    """A hub model on disk: what ``model.json`` records."""

    id: str
    backend: str
    name: str
    folder: str  # absolute, where the files are
    space: str
    dim: int
    modalities: list[str]
    files: dict[str, str]  # relative path -> sha256
    size: int
    source: str  # where it was added from: a path, or "hub"
    licence: str = "see the model's source"
    arch: str = ""
    added: float = field(default_factory=time.time)
    stats: dict[str, list[int]] = field(default_factory=dict)  # relative path -> [size, mtime_ns] when hashed

    @property
    def version_key(self) -> str:
        """What a stored vector must match to count as fresh: the id and the weights' checksums."""
        import hashlib

        digest = hashlib.sha256("".join(f"{k}={v};" for k, v in sorted(self.files.items())).encode()).hexdigest()
        return f"{self.id}@{digest[:12]}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def installed(root: Path) -> list[InstalledModel]:
    """Every hub model recorded in the hub folder ``root`` (unreadable records are skipped with a warning)."""
    root = Path(root)
    out = []
    for manifest in sorted(root.glob(f"*/{MANIFEST}")) if root.is_dir() else []:
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            data["folder"] = str(manifest.parent / FILES)
            out.append(InstalledModel(**data))
        except (OSError, ValueError, TypeError) as exc:
            log.warning("%s: unreadable hub model record (%s); remove the folder or add the model again", manifest, exc)
    return out


def find_installed(root: Path, key: str) -> InstalledModel:
    """The installed model whose id, name or space is ``key``.

    Raises:
        ModelMissing: none is installed under that name, or the name is ambiguous.
    """
    models = installed(root)
    for m in models:
        if key in (m.id, m.name):
            return m
    by_space = [m for m in models if m.space == key]
    if len(by_space) == 1:
        return by_space[0]
    if by_space:
        raise ModelMissing(
            f"model {key!r}: {len(by_space)} installed models write space {key!r} "
            f"({', '.join(m.id for m in by_space)}); name one by its id"
        )
    have = ", ".join(m.id for m in models) or "none"
    raise ModelMissing(
        f"model {key!r} is not installed in {root} (installed: {have}); "
        f"run `sensorium models add {key} --from PATH` (or without --from where the hub is reachable)"
    )


def verify(model: InstalledModel) -> Path:
    """The model's folder after checking every recorded file's sha256.

    A file whose size and modification time are still those it had when it was hashed is not
    read again (a ViT-L checkpoint takes seconds to hash, on every `search --space`); any
    write, truncation or replacement changes them, and the file is hashed.

    Raises:
        ModelMissing: a file is missing, or changed since it was added.
    """
    folder = Path(model.folder)
    for rel, digest in model.files.items():
        path = folder / rel
        if not path.is_file():
            raise ModelMissing(f"model {model.id}: {path} is missing; add the model again (`sensorium models add`)")
        if model.stats.get(rel) == _stat(path):
            continue
        if sha256_of(path) != digest:
            raise ModelMissing(
                f"model {model.id}: {path} changed since it was added (sha256 differs: truncated or replaced); "
                f"add the model again with `sensorium models add {model.id} --from PATH`"
            )
    return folder


def _stat(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def load(model: InstalledModel, *, threads: int = 0, check: bool = True, onnx: bool = False) -> ContrastiveModel:
    """Build the backend of an installed contrastive model, after verifying its files.

    With ``onnx``, an open_clip image tower runs in ONNX Runtime, exported once beside the
    model's files (``<name>/onnx/<weights digest>/``), where it gives torch's vectors.
    """
    folder = verify(model) if check else Path(model.folder)
    onnx_dir = folder.parent / "onnx" / model.version_key.rpartition("@")[2] if onnx else None
    return _build(model.backend, folder, arch=model.arch, model_id=model.id, threads=threads, onnx_dir=onnx_dir)


def _build(
    backend: str, folder: Path, *, arch: str, model_id: str, threads: int = 0, onnx_dir: Path | None = None
) -> ContrastiveModel:
    if backend == "openclip":
        from sensorium.models.openclip_model import OpenClipModel

        return OpenClipModel(folder, arch=arch, model_id=model_id, threads=threads, onnx_dir=onnx_dir)
    if backend in ("clip", "siglip"):
        from sensorium.models.hf_clip import HfClipModel

        return HfClipModel(folder, model_id=model_id, threads=threads)
    if backend == "clap":
        from sensorium.models.hf_clap import HfClapModel

        return HfClapModel(folder, model_id=model_id, threads=threads)
    raise ModelMissing(f"model {model_id}: backend {backend!r} makes no embeddings")


def add(
    model_id: str,
    root: Path,
    *,
    source: Path | None = None,
    space: str | None = None,
    licence: str | None = None,
) -> InstalledModel:
    """Install a hub model from ``source`` (a file or folder) or from the hub, and prove it loads.

    The files are staged in a temporary folder beside the final one and moved into place only
    after the model loaded and ran; on any failure nothing is left behind.

    Raises:
        ModelMissing: unknown id, unreadable or wrong source, a checkpoint that does not load
            (truncated, or of another architecture), or a hub that cannot be reached.
    """
    spec = HubSpec.parse(model_id)
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{spec.name}-", dir=root))
    except OSError as exc:
        raise ModelMissing(
            f"model {model_id}: cannot write to {root} ({exc.strerror}); set SENSORIUM_HUB_MODELS to a writable folder"
        ) from exc
    try:
        files = stage / FILES
        files.mkdir()
        origin = _stage_files(spec, files, source)
        probe = _probe(spec, files)
        staged = sorted(p for p in files.rglob("*") if p.is_file())
        record = InstalledModel(
            id=spec.id,
            backend=spec.backend,
            name=spec.name,
            folder="",
            space=space or DEFAULT_SPACE[spec.backend],
            dim=probe[0],
            modalities=sorted(probe[1]),
            files={str(p.relative_to(files)): sha256_of(p) for p in staged},
            stats={str(p.relative_to(files)): _stat(p) for p in staged},
            size=sum(p.stat().st_size for p in staged),
            source=origin,
            licence=licence or _licence(files),
            arch=spec.arch,
        )
        data = record.to_json()
        data.pop("folder")
        (stage / MANIFEST).write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
        final = root / spec.name
        if final.exists():
            shutil.rmtree(final)
        os.replace(stage, final)
        record.folder = str(final / FILES)
        return record
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


def _stage_files(spec: HubSpec, dest: Path, source: Path | None) -> str:
    """Copy the model's files into ``dest``; returns where they came from."""
    if source is not None:
        source = Path(source).expanduser()
        if not source.exists():
            raise ModelMissing(f"model {spec.id}: {source} does not exist; give the model's file or folder")
        if source.is_dir():
            shutil.copytree(source, dest, dirs_exist_ok=True)
        elif spec.backend == "openclip":
            shutil.copy2(source, dest / _checkpoint_name(source))
        else:
            raise ModelMissing(
                f"model {spec.id}: {source} is a file; {spec.backend} models are folders "
                "(save_pretrained() output, or the CTranslate2 folder for whisper)"
            )
        return str(source.resolve())
    _download(spec, dest)
    return "hub"


def _checkpoint_name(source: Path) -> str:
    suffix = "".join(source.suffixes[-1:]) or ".bin"
    return f"open_clip_model{suffix if suffix in ('.safetensors', '.bin', '.pt', '.pth') else '.bin'}"


def _download(spec: HubSpec, dest: Path) -> None:
    """Fetch from the model hub (respects ``HF_HUB_OFFLINE``)."""
    if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") or os.environ.get("TRANSFORMERS_OFFLINE"):
        raise ModelMissing(
            f"model {spec.id}: HF_HUB_OFFLINE is set, so the hub is not asked; " + HOW_TO.format(id=spec.id)
        )
    try:
        if spec.backend == "openclip" and spec.arch:
            import open_clip
            from open_clip.pretrained import download_pretrained

            cfg = open_clip.get_pretrained_cfg(spec.arch, spec.tag) if spec.tag else None
            if not cfg:
                tags = ", ".join(t for a, t in open_clip.list_pretrained() if a == spec.arch) or "none"
                raise ModelMissing(
                    f"model {spec.id}: open_clip knows no weights {spec.tag!r} for {spec.arch} (known: {tags})"
                )
            path = Path(download_pretrained(cfg, cache_dir=str(dest.parent / "download")))
            shutil.move(str(path), dest / _checkpoint_name(path))
            return
        from huggingface_hub import snapshot_download

        repo = spec.repo
        if spec.backend == "whisper" and "/" not in repo:
            repo = f"Systran/faster-whisper-{repo}"
        snapshot_download(repo, local_dir=str(dest))
    except ModelMissing:
        raise
    except Exception as exc:  # network errors come in many types (requests, httpx, OSError)
        raise ModelMissing(
            f"model {spec.id}: cannot fetch it from the model hub ({type(exc).__name__}: {exc}); "
            + HOW_TO.format(id=spec.id)
        ) from exc


def _probe(spec: HubSpec, folder: Path) -> tuple[int, frozenset[str]]:
    """Load the staged model and run it once: (dimension, modalities). Any failure names the model."""
    if spec.backend == "whisper":
        return _probe_whisper(spec, folder)
    try:
        model = _build(spec.backend, folder, arch=spec.arch, model_id=spec.id)
        vec = model.encode_text(["a test sentence"])
    except ModelMissing:
        raise
    except Exception as exc:
        raise ModelMissing(
            f"model {spec.id}: the files do not load as a {spec.backend} model ({type(exc).__name__}: "
            f"{_short(exc)}); the checkpoint may be truncated or of another architecture: check the file "
            f"and the architecture in the id"
        ) from exc
    if vec.ndim != 2 or vec.shape[0] != 1 or not np.all(np.isfinite(vec)):
        raise ModelMissing(f"model {spec.id}: the model ran but gave no usable embedding (shape {vec.shape})")
    return int(vec.shape[1]), frozenset(model.modalities)


def _probe_whisper(spec: HubSpec, folder: Path) -> tuple[int, frozenset[str]]:
    if not (folder / "model.bin").is_file():
        raise ModelMissing(
            f"model {spec.id}: no model.bin in {folder}; a faster-whisper model is a CTranslate2 folder "
            "(model.bin, config.json, tokenizer.json)"
        )
    try:
        from faster_whisper import WhisperModel

        WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=1)
    except Exception as exc:
        raise ModelMissing(
            f"model {spec.id}: the folder does not load as a faster-whisper model ({type(exc).__name__}: "
            f"{_short(exc)}); it may be truncated or not a CTranslate2 conversion"
        ) from exc
    return 0, frozenset({"speech"})


def _short(exc: BaseException, width: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _licence(folder: Path) -> str:
    """The licence a model card or config states, when one does."""
    for name in ("README.md", "LICENSE", "open_clip_config.json", "config.json"):
        path = folder / name
        if not path.is_file():
            continue
        head = path.read_text(encoding="utf-8", errors="replace")[:4000]
        found = re.search(r"^licen[cs]e:\s*([\w.\-]+)", head, re.M | re.I)
        if found:
            return found.group(1)
    return "see the model's source"


def remove(root: Path, key: str) -> InstalledModel:
    """Delete an installed model's folder; returns what it was."""
    model = find_installed(root, key)
    shutil.rmtree(Path(model.folder).parent)
    return model
