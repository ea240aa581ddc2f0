"""The concept vocabulary of the offline image encoder and how images and labels meet in the text space.

ConSE (Norouzi et al. 2014): an image goes into the text encoder's space as the probability-weighted
mean of the text embeddings of the concepts a classifier sees. Our vocabulary is the 1000
ImageNet classes (each as "a photo of a <clean name>, <WordNet gloss>": the gloss names the
kind of thing, which lets "dog" find a kuvasz) plus the 80 COCO objects of the detector and faces, each in
three counts ("a cat", "two cats", "a group of cats") so that three detected people read as a
group of people (and one large face as a portrait).

Sentence encoders put every text in a narrow cone: all concept embeddings share a large common
component, and so would every image mixed from them, which makes a few images near to every
query (hubs). We remove that common component from everything: the directions of the mean of
the concept texts and of the mean of the bare concept names are projected out, then vectors
are renormalised. Images therefore have no component along those directions, so a query's own
component along them never changes a ranking; :func:`label_vectors` removes it anyway so that
labels compare fairly with one another.

Search and classification stay linear: a score is always ``semantic @ label_vector``.
"""

from __future__ import annotations

import hashlib
import logging
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sensorium.models.base import TextEncoder, l2_normalise
from sensorium.models.imagenet import ImageNetClass, softmax
from sensorium.models.yolox import box_share

log = logging.getLogger(__name__)

PROMPT_TEMPLATES: tuple[str, ...] = ("a photo of a {}.", "a picture of {}.", "{}")
CONCEPT_TEMPLATE = "a photo of a {}."
VOCABULARY_VERSION = "2"  # bump when the texts or their use change: it keys the disk cache

_LATIN = re.compile(r"^[A-Z][a-z]+ [a-z]+$")
_LATIN_ENDINGS = ("us", "a", "is", "um", "ae", "i", "es", "ii", "ax", "ops", "on", "os")
_IRREGULAR_PLURALS = {
    "person": "people",
    "mouse": "mice",
    "knife": "knives",
    "skis": "skis",
    "scissors": "scissors",
    "sheep": "sheep",
    "broccoli": "broccoli",
    "tv": "televisions",
    "sports ball": "balls",
}


def _is_binomial(lemma: str) -> bool:
    """A Latin species name ("Felis catus"): useless to a sentence encoder."""
    return bool(_LATIN.match(lemma)) and lemma.split()[-1].endswith(_LATIN_ENDINGS)


def clean_name(lemmas: Sequence[str]) -> str:
    """A natural name for a WordNet synset: ``("tabby", "tabby cat")`` → ``"tabby cat"``.

    The first lemma, unless one of the next two extends it by a word ("guenon" → "guenon
    monkey"), which makes the phrase self-explanatory.
    """
    kept = [lemma for i, lemma in enumerate(lemmas) if i == 0 or not _is_binomial(lemma)]
    first = kept[0]
    for lemma in kept[1:3]:
        if len(lemma.split()) <= 3 and (lemma.startswith(first + " ") or lemma.endswith(" " + first)):
            return lemma
    return first


def plural(noun: str) -> str:
    if noun in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[noun]
    return noun + ("es" if noun.endswith(("s", "sh", "ch", "x")) else "s")


_OWN_PHRASES = {  # objects whose one, two and many read better in words of their own
    "face": ("a close-up portrait of a person's face.", "a photo of two people's faces.", "a group photo of people."),
}


def object_phrases(label: str) -> tuple[str, str, str]:
    """One, two and many of a detected object (a COCO class, or a face), as photo captions."""
    if label in _OWN_PHRASES:
        return _OWN_PHRASES[label]
    article = "an" if label[0] in "aeiou" else "a"
    many = plural(label)
    return f"a photo of {article} {label}.", f"a photo of two {many}.", f"a photo of a group of {many}."


@dataclass(frozen=True)
class Vocabulary:
    """The texts embedded for the concepts. ``key`` changes whenever any text does."""

    names: tuple[str, ...]  # clean ImageNet names, classifier order
    concept_texts: tuple[str, ...]  # with glosses, what images are mixed from
    name_texts: tuple[str, ...]  # without glosses, query-like: only their mean is used
    objects: tuple[str, ...]  # COCO labels, detector order
    object_texts: tuple[str, ...]  # 3 per object: one, two, a group

    @classmethod
    def build(cls, classes: Sequence[ImageNetClass], coco_labels: Sequence[str]) -> Vocabulary:
        names = tuple(clean_name(c.lemmas) for c in classes)
        glossed = (f"{n}, {c.definition}" if c.definition else n for n, c in zip(names, classes, strict=True))
        return cls(
            names=names,
            concept_texts=tuple(CONCEPT_TEMPLATE.format(t) for t in glossed),
            name_texts=tuple(CONCEPT_TEMPLATE.format(n) for n in names),
            objects=tuple(coco_labels),
            object_texts=tuple(p for label in coco_labels for p in object_phrases(label)),
        )

    @property
    def key(self) -> str:
        h = hashlib.sha256(VOCABULARY_VERSION.encode())
        for part in (self.concept_texts, self.name_texts, self.object_texts):
            h.update("\n".join(part).encode())
            h.update(b"\0")
        return h.hexdigest()


@dataclass(frozen=True)
class ConceptSpace:
    """Concept embeddings of one text encoder, with the common directions removed.

    ``concepts`` is (1000, d), ``objects`` (80, 3, d), both unit rows; ``removed`` holds the
    orthonormal directions (b, d) projected out of every vector.
    """

    vocabulary: Vocabulary
    concepts: np.ndarray
    objects: np.ndarray
    removed: np.ndarray

    def project(self, x: np.ndarray) -> np.ndarray:
        """Rows of ``x`` without the common directions, unit length."""
        return _project(x, self.removed)

    @classmethod
    def from_embeddings(
        cls, vocabulary: Vocabulary, glossed: np.ndarray, names: np.ndarray, objects: np.ndarray
    ) -> ConceptSpace:
        """Build from raw embeddings of ``concept_texts``, ``name_texts`` and ``object_texts``."""
        basis, _ = np.linalg.qr(np.stack([glossed.mean(0), names.mean(0)]).T.astype(np.float64))
        removed = basis.T.astype(np.float32)
        d = glossed.shape[1]
        return cls(vocabulary, _project(glossed, removed), _project(objects, removed).reshape(-1, 3, d), removed)


def _project(x: np.ndarray, removed: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return l2_normalise(x - (x @ removed.T) @ removed)


_SPACES: weakref.WeakKeyDictionary[object, ConceptSpace] = weakref.WeakKeyDictionary()


def concept_space(text_encoder: TextEncoder, vocabulary: Vocabulary, cache: Path | None = None) -> ConceptSpace:
    """Embed the vocabulary with ``text_encoder`` once: from ``cache`` when there, else computed and saved.

    The space is also remembered for the life of ``text_encoder`` so that :func:`label_vectors`
    uses the same one. ``cache`` should be a folder keyed by the text encoder's id and checksum.
    """
    known = _SPACES.get(text_encoder)
    if known is not None and known.vocabulary.key == vocabulary.key:
        return known
    path = cache / f"concepts-{vocabulary.key[:16]}.npz" if cache is not None else None
    if path is not None and path.is_file():
        with np.load(path) as z:
            arrays = z["glossed"], z["names"], z["objects"]
    else:
        log.warning(
            "first use: embedding %d concept texts with %s, once",
            len(vocabulary.concept_texts) * 2,
            text_encoder.info.id,
        )
        arrays = tuple(
            text_encoder.encode_text(list(texts), query=True)
            for texts in (vocabulary.concept_texts, vocabulary.name_texts, vocabulary.object_texts)
        )
        if path is not None:
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, glossed=arrays[0], names=arrays[1], objects=arrays[2])
            tmp.replace(path)
    space = ConceptSpace.from_embeddings(vocabulary, *arrays)
    _SPACES[text_encoder] = space
    return space


def label_vectors(text_encoder: TextEncoder, labels: Sequence[str], space: ConceptSpace | None = None) -> np.ndarray:
    """Unit vectors (L, d) for labels or text queries, to score against image semantic vectors by dot product.

    Each label is the mean of its :data:`PROMPT_TEMPLATES` phrasings; underscores read as spaces.
    With a concept space (given, or the one an image encoder built on this text encoder), the
    common directions are removed as they were from the images. Classification needs that
    (top-1 on the dev set: 42% centred, 37% not); pass ``space=image_encoder.space`` or build
    the image encoder on the same text encoder object before calling this.
    """
    if not labels:
        return np.zeros((0, text_encoder.info.dim), dtype=np.float32)
    clean = [label.replace("_", " ").strip() for label in labels]
    texts = [t.format(c) for c in clean for t in PROMPT_TEMPLATES]
    shows_foreign = getattr(text_encoder, "shows_foreign", None)
    if shows_foreign is not None:  # "a photo of a eine Katze." reads as English: the label shows what it is
        languages = [("other" if shows_foreign(c) else None) for c in clean for _ in PROMPT_TEMPLATES]
        encoded = text_encoder.encode_text(texts, query=True, languages=languages)  # type: ignore[call-arg]
    else:
        encoded = text_encoder.encode_text(texts, query=True)
    vectors = encoded.reshape(len(clean), len(PROMPT_TEMPLATES), -1).mean(1)
    space = space or _SPACES.get(text_encoder)
    if space is None:
        # Search rankings are unaffected (images hold no common component), but label-to-label
        # comparisons are fairer centred: classify should build the image encoder first.
        log.debug("label_vectors: no concept space for %s yet; labels not centred", text_encoder.info.id)
        return l2_normalise(vectors)
    return space.project(vectors)


@dataclass(frozen=True)
class Mixer:
    """How one image's classifier, detector and OCR outputs become its semantic vector.

    Attributes:
        top_k: concepts kept per image (the rest of the probability is noise that pulls to the hub).
        temperature: softmax temperature on the logits; above 1 spreads weight over near misses.
        object_weight: weight of the detected objects against the unit-length concept mix.
        object_threshold: detections below this score are ignored.
        count_threshold: detections counted for "two"/"a group of" must score at least this.
        object_area: boxes smaller than this fraction of the picture weigh less (by sqrt of area).
        ocr_weight: weight of the OCR text's embedding.
    """

    top_k: int = 50
    temperature: float = 2.0
    object_weight: float = 0.5
    object_threshold: float = 0.3
    count_threshold: float = 0.5
    object_area: float = 0.05
    ocr_weight: float = 0.3

    def concept_mix(self, space: ConceptSpace, logits: np.ndarray) -> np.ndarray:
        """(n, d) unit-length ConSE vectors from (n, 1000) logits."""
        p = softmax(logits, self.temperature)
        if self.top_k < p.shape[1]:
            drop = np.argpartition(-p, self.top_k, axis=1)[:, self.top_k :]
            np.put_along_axis(p, drop, 0.0, axis=1)
        p /= p.sum(axis=1, keepdims=True)
        return l2_normalise(p @ space.concepts)

    def object_vector(
        self, space: ConceptSpace, detections: Sequence[tuple[str, float, tuple[float, ...]]], size: tuple[int, int]
    ) -> np.ndarray:
        """(d,) sum over detected object kinds of weight x the phrase for how many there are."""
        weight: dict[str, float] = {}
        count: dict[str, int] = {}
        for label, score, box in detections:
            if score < self.object_threshold or label not in space.vocabulary.objects:
                continue
            frac = box_share(box, size)
            w = score * min(1.0, float(np.sqrt(frac / self.object_area))) if self.object_area else score
            weight[label] = max(weight.get(label, 0.0), w)
            count[label] = count.get(label, 0) + (score >= self.count_threshold)
        out = np.zeros(space.concepts.shape[1], dtype=np.float32)
        for label, w in weight.items():
            how_many = min(max(count[label], 1), 3) - 1
            out += w * space.objects[space.vocabulary.objects.index(label), how_many]
        return out

    def mix(
        self, concept_mix: np.ndarray, objects: np.ndarray | None = None, ocr: np.ndarray | None = None
    ) -> np.ndarray:
        """Unit semantic vectors from the parts (each (n, d); ``ocr`` rows are zero where no text)."""
        v = concept_mix.copy()
        if objects is not None:
            v += self.object_weight * objects
        if ocr is not None:
            v += self.ocr_weight * ocr
        return l2_normalise(v)
