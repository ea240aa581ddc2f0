"""What every encoder declares and returns.

An encoder declares itself with data (:class:`EncoderInfo`), never by its name; stores and
libraries receive arrays plus that info, never a live encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from sensorium.types import Facts, Segment


@dataclass(frozen=True)
class EncoderInfo:
    """Identity of an encoder and of the space its vectors live in.

    Attributes:
        id: short, stable, versioned id (``offline-image-v1``).
        space: the named vector space written (the id of the text encoder defining it).
        dim: dimension of the semantic vectors.
        modalities: what the encoder reads (``{"image"}``, ``{"text"}``).
        weights_sha256: checksum(s) of the weights, so a library notices a model change.
        perceptual_dim: size of the modality's own vector (0 when none).
        licence: licence of the weights, shown by ``sensorium models``.
    """

    id: str
    space: str
    dim: int
    modalities: frozenset[str]
    weights_sha256: str = ""
    perceptual_dim: int = 0
    licence: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def version_key(self) -> str:
        """What a stored record must match to count as fresh."""
        return f"{self.id}@{self.weights_sha256[:12]}"


@dataclass
class Encoded:
    """Output of :meth:`Encoder.encode` for ``n`` segments.

    ``semantic`` is (n, dim) float32 L2-normalised, in ``info.space``; ``perceptual`` is
    (n, perceptual_dim) float32 L2-normalised or ``None``; ``facts`` has n entries.
    ``concept_probs``: (n, C) the picture classifier's probabilities over its concepts, where
    the encoder has one (classification lets each concept vote for a label; nothing stores them).
    ``boxes``: every object the detector found in each picture, (label, score, share of the picture
    its box covers), where the encoder has one (``facts`` keep each label's best; an alt-text counts
    the people, and calls a picture with a large face a portrait).
    """

    semantic: np.ndarray
    perceptual: np.ndarray | None
    facts: list[Facts]
    concept_probs: np.ndarray | None = None
    boxes: list[list[tuple[str, float, float]]] | None = None


@runtime_checkable
class TextEncoder(Protocol):
    """Places words in a space. ``query=True`` for search queries, False for documents."""

    info: EncoderInfo

    def encode_text(self, texts: Sequence[str], *, query: bool = True) -> np.ndarray: ...


@runtime_checkable
class Encoder(Protocol):
    """Turns segments of the modalities in ``info.modalities`` into vectors and facts."""

    info: EncoderInfo

    def encode(self, segments: Sequence[Segment]) -> Encoded: ...


def valid_utf8(text: str) -> str:
    """``text`` with lone surrogates (bytes that were not UTF-8, as Python decodes file names and
    argv) replaced by "?": tokenizers and the store's Rust side take only valid UTF-8."""
    return text.encode("utf-8", "replace").decode("utf-8")


def shares_with_none(cos: np.ndarray, none_cos: float, tau: float) -> np.ndarray:
    """Row-wise softmax of ``cos / tau`` with one more option, "none of these", at cosine ``none_cos``;
    the none share is dropped, so a row far from every column keeps little weight on any."""
    logits = np.concatenate([cos, np.full((len(cos), 1), none_cos, cos.dtype)], axis=1) / tau
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return (e / e.sum(axis=1, keepdims=True))[:, :-1]


def l2_normalise(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Unit-length rows (zero rows stay zero), float32."""
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=axis, keepdims=True)
    return (x / np.maximum(n, 1e-12)).astype(np.float32)
