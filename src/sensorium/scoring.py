"""One calibrated score scale for search and classification.

A raw cosine means little on its own: its typical value depends on the query. Each query is
therefore compared with a fixed background (the text vectors of 1000 everyday concepts, the
things an image in this space is made of); ``z`` is how many standard deviations a hit stands
above that background, and the score is ``sigmoid(slope * (z - z0))``. A score of 0.5 means "as
related as the query's best few background concepts", which is the line between relevant and not.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from sensorium.models.base import TextEncoder
from sensorium.models.files import cache_dir, package_dir

if TYPE_CHECKING:
    from sensorium.library import Library

log = logging.getLogger(__name__)
Z0 = 2.0
SLOPE = 1.5
PERCEPTUAL_MIDPOINT = 0.6
PERCEPTUAL_SLOPE = 12.0
# Meaning shared with an example picture or sound (cosine of semantic vectors). On the dev sets,
# files of the same label have a median cosine of 0.60 (photos) and 0.70 (sounds); 90% of the
# pairs of different labels stay under 0.52-0.55.
EXAMPLE_MIDPOINT = 0.6
EXAMPLE_SLOPE = 10.0
# Tag matching of sounds: the share of a record's tag mass on the query's tags. On the dev set
# relevant clips have a median of 0.077 and irrelevant ones a 95th percentile of 0.007.
TAG_MIDPOINT = 0.03
TAG_SLOPE = 3.0  # per decade
# A file's own words (a caption, a title, a place) are a sentence, not a mix of concepts: against the
# background of concept names nearly any place or caption stands out ("a city street" met "Episode
# 12: the town budget" at 0.64, "the beach" a rocket photo's "Rocket launch. space, NASA. Porto" at
# 0.63). They must also clear a sentence's scale: MiniLM cosines of words and captions that match
# ran 0.36-0.83 ("the Eiffel tower" and "Neuilly-sur-Seine, Paris, ...": 0.36), of ones that do not
# 0.04-0.29 (20 queries against 9 tags; places of one region stay close: "Spain" and Lisbon's 0.49).
# Places said as "taken in ...": 8 everyday words against 6 places at most 0.32 ("the beach"), 8
# place queries at least 0.31 ("Europe") and 0.35 ("the Eiffel tower" against Neuilly and Paris).
SENTENCE_MIDPOINT = 0.33
SENTENCE_SLOPE = 15.0


def background_texts() -> list[str]:
    """The calibration background: one everyday name per ImageNet class (timm's lemma list)."""
    info = package_dir("timm")
    if info is None:
        return []
    synsets = (info / "data/_info/imagenet_synsets.txt").read_text().split()
    lemmas = dict(
        line.split("\t", 1) for line in (info / "data/_info/imagenet_synset_to_lemma.txt").read_text().splitlines()
    )
    return [lemmas[s].split(",")[0].strip() for s in synsets]


def sigmoid(x: float | np.ndarray) -> float | np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class Calibrator:
    """Turns cosines into calibrated scores for one text encoder's space."""

    def __init__(self, text_encoder: TextEncoder, background: np.ndarray, space: Any = None) -> None:
        from sensorium.models.concepts import label_vectors

        self._label_vectors = label_vectors
        self.text_encoder = text_encoder
        self.background = background
        self.space = space

    @classmethod
    def for_library(cls, lib: Library) -> Calibrator:
        cached = getattr(lib, "_calibrator", None)
        if cached is None:
            space = getattr(lib.image_encoder, "space", None)
            cached = cls(lib.text_encoder, _background(lib, space), space)
            lib._calibrator = cached  # type: ignore[attr-defined]
        return cached

    def query_vector(self, text: str) -> np.ndarray:
        return self._label_vectors(self.text_encoder, [text], space=self.space)[0]

    def scores(self, cos: np.ndarray, queries: np.ndarray) -> np.ndarray:
        """Calibrated scores for a matrix of cosines (n items × m queries)."""
        sims = self.background @ queries.T  # (b, m)
        mu, sd = sims.mean(0), sims.std(0) + 1e-6
        return sigmoid(SLOPE * ((cos - mu) / sd - Z0))

    @staticmethod
    def tag_score(share: np.ndarray) -> np.ndarray:
        """Calibrated score of tag-matching shares (0.5 at :data:`TAG_MIDPOINT`, on a log scale)."""
        return sigmoid(TAG_SLOPE * np.log10(np.maximum(share, 1e-6) / TAG_MIDPOINT))

    @staticmethod
    def sentence_score(cos: np.ndarray) -> np.ndarray:
        """Calibrated score of words against a sentence of a file's own (0.5 at :data:`SENTENCE_MIDPOINT`)."""
        return sigmoid(SENTENCE_SLOPE * (np.asarray(cos, dtype=np.float64) - SENTENCE_MIDPOINT))

    @staticmethod
    def example_score(cos: np.ndarray) -> np.ndarray:
        """Calibrated score of the meaning a row shares with an example file (0.5 at :data:`EXAMPLE_MIDPOINT`).

        The words' scale (z against the background concepts) does not fit: an example's vector is a
        mix of concepts like every row's, so it stands tens of deviations above the background for
        every row and all would score 1.00.
        """
        return sigmoid(EXAMPLE_SLOPE * (np.asarray(cos, dtype=np.float64) - EXAMPLE_MIDPOINT))

    @staticmethod
    def perceptual_score(cos: float) -> float:
        """Example-image similarity: 0.5 where photos start to show the same kind of thing."""
        return float(sigmoid(PERCEPTUAL_SLOPE * (cos - PERCEPTUAL_MIDPOINT)))


def _background(lib: Library, space: Any) -> np.ndarray:
    from sensorium.models.concepts import label_vectors

    texts = background_texts()
    enc = lib.text_encoder
    key = hashlib.sha1(("\n".join(texts) + lib.image_encoder.info.version_key).encode()).hexdigest()[:16]
    folder = cache_dir(lib.settings.models, lib.settings.cache, "calibration")
    path = folder / f"background-{enc.info.id}-{key}.npy"
    if path.is_file():
        return np.load(path)
    vecs = label_vectors(enc, texts, space=space)
    np.save(path, vecs)
    return vecs
