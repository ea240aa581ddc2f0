"""CLIP and SigLIP through Hugging Face ``transformers`` (``CLIPModel``, ``SiglipModel``), from a folder.

The folder is what ``save_pretrained()`` writes or a hub snapshot: config, weights
(safetensors or bin), tokenizer and image-processor files. Tokenizer, image processor and
network are the library's own, loaded with ``local_files_only``; Sensorium batches the calls
and runs them under ``torch.inference_mode``. SigLIP was trained on text padded to its full
length, so its text is padded the same way (as its model card asks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.errors import ModelMissing
from sensorium.models.base import l2_normalise

MODEL_TYPES = ("clip", "siglip", "siglip2")


def features(output: Any) -> Any:
    """The embedding tensor of a ``get_*_features`` call (a tensor, or an output whose pooler holds it)."""
    return output if hasattr(output, "float") and not hasattr(output, "pooler_output") else output.pooler_output


def embed_batches(
    items: Sequence[Any], batch_size: int, inputs: Callable[[Sequence[Any]], dict[str, Any]], forward: Any, dim: int
) -> np.ndarray:
    """Unit-length embeddings, (n, dim) float32: ``forward(**inputs(batch))`` per batch, in inference mode."""
    import torch

    out = []
    with torch.inference_mode():
        for i in range(0, len(items), batch_size):
            out.append(features(forward(**inputs(items[i : i + batch_size]))).float().numpy())
    return l2_normalise(np.concatenate(out)) if out else np.zeros((0, dim), np.float32)


def load_config(folder: Path, model_id: str, types: Sequence[str], hint: str) -> Any:
    """The folder's transformers config, refused with ``hint`` when its model type is not one of ``types``."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(folder, local_files_only=True)
    if config.model_type not in types:
        raise ModelMissing(f"model {model_id}: {folder} holds a {config.model_type!r} model, {hint}")
    return config


class HfClipModel:
    """A transformers CLIP or SigLIP model on the CPU."""

    audio_rate = 0

    def __init__(self, folder: Path, *, model_id: str = "", threads: int = 0, batch_size: int = 32) -> None:
        import torch
        from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

        self.model_id = model_id or str(folder)
        self.batch_size = batch_size
        self.dim = 0
        if threads:
            torch.set_num_threads(threads)
        config = load_config(folder, self.model_id, MODEL_TYPES, "not CLIP or SigLIP; use clap: for CLAP folders")
        self.model_type = config.model_type
        self.model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self.image_processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True)
        self.max_length = int(config.text_config.max_position_embeddings)
        self.dim = int(self.encode_text(["a"]).shape[1])
        self.modalities = frozenset({"image"})

    def text_inputs(self, texts: Sequence[str]) -> dict[str, Any]:
        """Token ids as the model was trained on them (SigLIP: padded to full length)."""
        padding = "max_length" if self.model_type.startswith("siglip") else True
        return self.tokenizer(
            list(texts), padding=padding, truncation=True, max_length=self.max_length, return_tensors="pt"
        )

    def image_inputs(self, images: Sequence[Any]) -> dict[str, Any]:
        return self.image_processor(images=list(images), return_tensors="pt")

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        return embed_batches(texts, self.batch_size, self.text_inputs, self.model.get_text_features, self.dim)

    def encode_images(self, images: Sequence[Any]) -> np.ndarray:
        return embed_batches(images, self.batch_size, self.image_inputs, self.model.get_image_features, self.dim)

    def encode_audio(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        raise ModelMissing(f"model {self.model_id}: an image-text model cannot embed sound")
