"""OpenCLIP models (CLIP, SigLIP, MobileCLIP configs) through ``open_clip`` itself.

The network, the tokenizer and the preprocessing are open_clip's own, so the embeddings are the
reference library's. What Sensorium adds is how it runs them: batches, ``torch.inference_mode``,
a thread count, preprocessing of the next batch's pictures in threads (PIL resizes release
the GIL) while the network runs on the current one, and, given a folder for it, the image tower
exported once to ONNX Runtime (about 20% faster than torch on two cores for ViT-B/32), used only
after it gives torch's vectors on the first real batch.

A model folder holds either ``open_clip_config.json`` plus a checkpoint (the hub layout,
``local-dir:``), or a checkpoint alone for a built-in architecture named by the id
(``openclip:ViT-B-32/laion2b_s34b_b79k``), whose preprocessing settings the tag supplies.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch  # this module is imported only when an open_clip model is built

from sensorium.errors import ModelMissing
from sensorium.models.base import l2_normalise

log = logging.getLogger(__name__)
CHECKPOINT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


class OpenClipModel:
    """An open_clip model loaded from a folder, on the CPU.

    Args:
        folder: the installed files.
        arch: a built-in architecture (``ViT-B-32``) when the folder holds only a checkpoint.
        model_id: the Sensorium id, for messages (and the pretrained tag after ``/``).
        threads: torch intra-op threads (0: torch's default).
        batch_size: pictures or sentences per forward pass.
        onnx_dir: where the image tower's ONNX export is cached; None keeps torch.
    """

    audio_rate = 0

    def __init__(
        self,
        folder: Path,
        *,
        arch: str = "",
        model_id: str = "",
        threads: int = 0,
        batch_size: int = 32,
        onnx_dir: Path | None = None,
    ) -> None:
        import open_clip

        self.model_id = model_id or str(folder)
        self.batch_size = batch_size
        self.threads = threads
        self.onnx_dir = onnx_dir
        self._onnx: Any = None  # the image tower's session, once exported and checked
        if threads:
            torch.set_num_threads(threads)
        folder = Path(folder)
        if (folder / "open_clip_config.json").is_file():
            name, kwargs = f"local-dir:{folder}", {}
        else:
            if not arch:
                raise ModelMissing(
                    f"model {self.model_id}: {folder} has no open_clip_config.json; name the architecture"
                )
            name, kwargs = arch, _builtin_kwargs(arch, self.model_id, folder)
        model, _, preprocess = open_clip.create_model_and_transforms(name, require_pretrained=True, **kwargs)
        self.model = model.eval()
        self.preprocess = preprocess
        self.tokenizer = open_clip.get_tokenizer(name)
        with torch.inference_mode():
            probe = self.model.encode_text(self.tokenizer(["a"]))
        self.dim = int(probe.shape[-1])
        self.modalities = frozenset({"image"})
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sensorium-openclip")

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length text embeddings, (n, dim) float32."""
        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), self.batch_size):
                tokens = self.tokenizer(list(texts[i : i + self.batch_size]))
                out.append(self.model.encode_text(tokens).float().numpy())
        return l2_normalise(np.concatenate(out)) if out else np.zeros((0, self.dim), np.float32)

    def encode_images(self, images: Sequence[Any]) -> np.ndarray:
        """Unit-length picture embeddings of PIL images, (n, dim) float32."""
        batches = [list(images[i : i + self.batch_size]) for i in range(0, len(images), self.batch_size)]
        if not batches:
            return np.zeros((0, self.dim), np.float32)
        out = []
        pending = self._pool.submit(self._pixels, batches[0])
        with torch.inference_mode():
            for k in range(len(batches)):
                pixels = pending.result()
                if k + 1 < len(batches):  # the next batch is preprocessed while this one runs
                    pending = self._pool.submit(self._pixels, batches[k + 1])
                out.append(self._image_tower(pixels))
        return l2_normalise(np.concatenate(out))

    def _image_tower(self, pixels: Any) -> np.ndarray:
        if self.onnx_dir is not None and self._onnx is None:
            from sensorium.models.onnx_export import checked_torch_session

            tower, path = ImageTower(self.model), self.onnx_dir / "image.onnx"
            session = checked_torch_session(tower, pixels[:2], path, threads=self.threads, what=self.model_id)
            self._onnx = session or False  # False: tried, stay on torch
            self.model.eval()
        if self._onnx:
            return self._onnx.run(None, {"x": pixels.numpy()})[0]
        return self.model.encode_image(pixels).float().numpy()

    def encode_audio(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        raise ModelMissing(f"model {self.model_id}: an image-text model cannot embed sound")

    def _pixels(self, images: list[Any]) -> Any:
        return torch.stack([self.preprocess(im) for im in images])


class ImageTower(torch.nn.Module):
    """``encode_image`` as a module's forward, for the exporter."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model
        # A new module starts in training mode, and torch.onnx.export ends by restoring the exported
        # module's mode, which recurses into the wrapped model: batch norm would then learn from every batch.
        self.train(model.training)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(pixels)


def _builtin_kwargs(arch: str, model_id: str, folder: Path) -> dict[str, Any]:
    """create_model_and_transforms arguments for a built-in architecture and a checkpoint file."""
    import open_clip

    found = sorted(p for p in folder.iterdir() if p.suffix in CHECKPOINT_SUFFIXES)
    if not found:
        raise ModelMissing(
            f"model {model_id}: no checkpoint ({', '.join(CHECKPOINT_SUFFIXES)}) in {folder}; "
            "add it again with --from the checkpoint file"
        )
    kwargs: dict[str, Any] = {"pretrained": str(found[0]), "pretrained_text": False}
    tag = model_id.partition(":")[2].partition("/")[2]
    cfg = open_clip.get_pretrained_cfg(arch, tag) if tag else {}
    for key, arg in (("mean", "image_mean"), ("std", "image_std"), ("interpolation", "image_interpolation")):
        if cfg.get(key):
            kwargs[arg] = tuple(cfg[key]) if isinstance(cfg[key], list | tuple) else cfg[key]
    if cfg.get("resize_mode"):
        kwargs["image_resize_mode"] = cfg["resize_mode"]
    if cfg.get("quick_gelu"):
        kwargs["force_quick_gelu"] = True
    return kwargs
