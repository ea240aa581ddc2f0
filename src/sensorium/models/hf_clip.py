"""CLIP and SigLIP through Hugging Face ``transformers`` (``CLIPModel``, ``SiglipModel``), from a folder.

The folder is what ``save_pretrained()`` writes or a hub snapshot: config, weights
(safetensors or bin), tokenizer and image-processor files. Tokenizer, image processor and
network are the library's own, loaded with ``local_files_only``; Sensorium batches the calls
and runs them under ``torch.inference_mode``. SigLIP was trained on text padded to its full
length, so its text is padded the same way (as its model card asks).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.errors import ModelMissing
from sensorium.models.base import l2_normalise

MODEL_TYPES = ("clip", "siglip", "siglip2")


def features(output: Any) -> Any:
    """The embedding tensor of a ``get_*_features`` call (a tensor, or an output whose pooler holds it)."""
    return output if hasattr(output, "float") and not hasattr(output, "pooler_output") else output.pooler_output


class HfClipModel:
    """A transformers CLIP or SigLIP model on the CPU."""

    audio_rate = 0

    def __init__(self, folder: Path, *, model_id: str = "", threads: int = 0, batch_size: int = 32) -> None:
        import torch
        from transformers import AutoConfig, AutoImageProcessor, AutoModel, AutoTokenizer

        self.torch = torch
        self.model_id = model_id or str(folder)
        self.batch_size = batch_size
        if threads:
            torch.set_num_threads(threads)
        config = AutoConfig.from_pretrained(folder, local_files_only=True)
        if config.model_type not in MODEL_TYPES:
            raise ModelMissing(
                f"model {self.model_id}: {folder} holds a {config.model_type!r} model, not CLIP or SigLIP; "
                "use clap: for CLAP folders"
            )
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

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        out = []
        with self.torch.inference_mode():
            for i in range(0, len(texts), self.batch_size):
                inputs = self.text_inputs(texts[i : i + self.batch_size])
                out.append(features(self.model.get_text_features(**inputs)).float().numpy())
        return l2_normalise(np.concatenate(out)) if out else np.zeros((0, getattr(self, "dim", 0)), np.float32)

    def encode_images(self, images: Sequence[Any]) -> np.ndarray:
        out = []
        with self.torch.inference_mode():
            for i in range(0, len(images), self.batch_size):
                pixels = self.image_processor(images=list(images[i : i + self.batch_size]), return_tensors="pt")
                out.append(features(self.model.get_image_features(**pixels)).float().numpy())
        return l2_normalise(np.concatenate(out)) if out else np.zeros((0, self.dim), np.float32)

    def encode_audio(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        raise ModelMissing(f"model {self.model_id}: an image-text model cannot embed sound")
