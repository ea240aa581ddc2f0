"""CLAP through Hugging Face ``transformers`` (``ClapModel``), from a folder.

Sound reaches the model as the library's own feature extractor makes it: mono float32 at the
extractor's rate (48 kHz for LAION's CLAP), log-mel features, and for a "fused" model the
fusion of a long clip's parts; shorter clips are padded as the extractor pads them. Sensorium
decodes and resamples the audio (:mod:`sensorium.media.audio`) and batches the calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.errors import ModelMissing
from sensorium.models.hf_clip import embed_batches, load_config


class HfClapModel:
    """A transformers CLAP model on the CPU: text and sound in one space."""

    def __init__(self, folder: Path, *, model_id: str = "", threads: int = 0, batch_size: int = 16) -> None:
        import torch
        from transformers import AutoFeatureExtractor, AutoTokenizer, ClapModel

        self.torch = torch
        self.model_id = model_id or str(folder)
        self.batch_size = batch_size
        self.dim = 0
        if threads:
            torch.set_num_threads(threads)
        load_config(folder, self.model_id, ("clap",), "not CLAP; use clip: or siglip: for image-text folders")
        self.model = ClapModel.from_pretrained(folder, local_files_only=True).eval()
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self.feature_extractor = AutoFeatureExtractor.from_pretrained(folder, local_files_only=True)
        self.audio_rate = int(self.feature_extractor.sampling_rate)
        self.clip_seconds = float(getattr(self.feature_extractor, "nb_max_samples", 480000)) / self.audio_rate
        self.dim = int(self.encode_text(["a"]).shape[1])
        self.modalities = frozenset({"audio"})

    def text_inputs(self, texts: Sequence[str]) -> dict[str, Any]:
        return self.tokenizer(list(texts), padding=True, truncation=True, return_tensors="pt")

    def audio_inputs(self, waves: Sequence[np.ndarray]) -> dict[str, Any]:
        """Features one wave at a time under a fixed seed: the extractor crops long clips at random and,
        for fused models, marks a random clip of a batch as long; both would make vectors vary."""
        feats, longer = [], []
        state = np.random.get_state()
        try:
            for w in waves:
                np.random.seed(0)
                x = self.feature_extractor(
                    np.asarray(w, dtype=np.float32), sampling_rate=self.audio_rate, return_tensors="pt"
                )
                feats.append(x["input_features"])
                longer.append(x["is_longer"])
        finally:
            np.random.set_state(state)
        return {"input_features": self.torch.cat(feats), "is_longer": self.torch.cat(longer)}

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        return embed_batches(texts, self.batch_size, self.text_inputs, self.model.get_text_features, self.dim)

    def encode_audio(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        """Unit-length embeddings of mono waves at :attr:`audio_rate`, (n, dim) float32."""
        return embed_batches(waves, self.batch_size, self.audio_inputs, self.model.get_audio_features, self.dim)

    def encode_images(self, images: Sequence[Any]) -> np.ndarray:
        raise ModelMissing(f"model {self.model_id}: a sound-text model cannot embed pictures")
