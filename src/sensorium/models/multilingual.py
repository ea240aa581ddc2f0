"""Queries in other languages for the English MiniLM space, bound through text.

multilingual-e5-small places "eine Katze", "un chat" and "a cat" close together; MiniLM, which
defines the default space, only reads English. A linear map fitted on a shared sentence list
(ImageNet and COCO names with their glosses, embedded by both encoders) carries an e5 vector into
MiniLM's space. English text keeps MiniLM's own vector (the map would only blur it); text that
reads as another language (its function words, or words MiniLM's English vocabulary has to break
into pieces) takes the mapped e5 vector. The map is a stage of its own, saved as ``config.json``
+ ``weights.npy`` in the derived-models folder and keyed by both encoders' checksums.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sensorium.config import Settings
from sensorium.models.base import EncoderInfo, l2_normalise
from sensorium.models.files import cache_dir, package_dir
from sensorium.models.offline_text import E5TextEncoder, MiniLMTextEncoder

log = logging.getLogger(__name__)
RIDGE = 0.1
_FUNCTION_WORDS = {
    "de": "der die das ein eine einer einem einen und mit auf im ist sind nicht von zum zur beim über unter",
    "fr": "le la les un une des du et avec sur dans est sont pas pour au aux",
    "es": "el los las una unos y con en es son del al por para sobre",
    "it": "il lo gli uno della che di è sono nel sul",
    "pt": "o os as um uma com em não são",
}
FOREIGN_WORDS = frozenset(w for words in _FUNCTION_WORDS.values() for w in words.split(" "))
_FUNCTION_WORDS["en"] = "the a an of and with on in at is are to for from by this that"
ENGLISH_WORDS = frozenset(_FUNCTION_WORDS.pop("en").split(" "))


def _words(text: str) -> list[str]:
    return [w for w in text.lower().replace(",", " ").replace(".", " ").split() if w.isalpha()]


def _foreign(text: str) -> bool:
    """Plain signs of another language: letters outside ASCII, or its function words in a phrase
    (alone, "pour" is as likely an AudioSet tag as French)."""
    words = _words(text)
    return any(not w.isascii() for w in words) or (len(words) > 1 and any(w in FOREIGN_WORDS for w in words))


def language_guess(text: str, tokenizer) -> str:  # tokenizer: tokenizers.Tokenizer without padding
    """``"en"``, ``"other"`` or ``"unsure"``, from function words, accents and word pieces.

    MiniLM's English vocabulary keeps common English words whole and breaks foreign ones into
    pieces; rare English words break too, hence "unsure".
    """
    words = _words(text)
    if not words:
        return "en"
    english = any(w in ENGLISH_WORDS for w in words)
    if not english and (any(w in FOREIGN_WORDS for w in words) or any(not w.isascii() for w in words)):
        return "other"
    split = sum(len(tokenizer.encode(w, add_special_tokens=False).ids) > 1 for w in words) / len(words)
    if split == 0 or (english and split < 0.5):
        return "en"
    return "other" if split >= 0.5 and not english and len(words) > 1 else "unsure"


def bridge_sentences() -> list[str]:
    """The shared sentence list: everyday names, their glosses and short captions."""
    info = package_dir("timm")
    if info is None:
        return []
    root = info / "data/_info"
    synsets = (root / "imagenet_synsets.txt").read_text().split()
    lemmas = dict(line.split("\t", 1) for line in (root / "imagenet_synset_to_lemma.txt").read_text().splitlines())
    glosses = dict(
        line.split("\t", 1) for line in (root / "imagenet_synset_to_definition.txt").read_text().splitlines()
    )
    out: list[str] = []
    for s in synsets:
        names = [n.strip() for n in lemmas[s].split(",") if n.strip()]
        out += names[:2]
        out.append(f"a photo of a {names[0]}")
        out.append(glosses[s].strip().split(";")[0][:80])
    return out


def fit_map(src: np.ndarray, dst: np.ndarray, ridge: float = RIDGE) -> np.ndarray:
    """Ridge regression ``W`` (d_src, d_dst) so that ``src @ W ≈ dst``."""
    a = src.T @ src + ridge * np.eye(src.shape[1], dtype=np.float64)
    return np.linalg.solve(a, src.T @ dst).astype(np.float32)


def align_moments(mapped: np.ndarray, english: np.ndarray, eps: float = 1e-3) -> dict[str, np.ndarray]:
    """CORAL: the affine map that gives ``mapped`` the mean and covariance of ``english`` (both (n, d))."""

    def root(cov: np.ndarray, power: float) -> np.ndarray:
        w, v = np.linalg.eigh(cov + eps * np.eye(len(cov)))
        return (v * np.maximum(w, eps) ** power) @ v.T

    m_mean, e_mean = mapped.mean(0), english.mean(0)
    align = root(np.cov((mapped - m_mean).T), -0.5) @ root(np.cov((english - e_mean).T), 0.5)
    return {
        "mapped_mean": m_mean.astype(np.float32),
        "align": align.astype(np.float32),
        "english_mean": e_mean.astype(np.float32),
    }


class MultilingualTextEncoder:
    """MiniLM's space, read in about 100 languages through a text-fitted map from e5."""

    def __init__(self, settings: Settings) -> None:
        self.english = MiniLMTextEncoder(settings)
        self.multi = E5TextEncoder(settings)
        e, m = self.english.info, self.multi.info
        key = hashlib.sha256(f"{e.version_key}|{m.version_key}|{RIDGE}|coral-foreign|4".encode()).hexdigest()
        self.info = EncoderInfo(
            id="minilm-multi-v1",
            space=e.space,
            dim=e.dim,
            modalities=frozenset({"text"}),
            weights_sha256=key,
            licence=f"{e.licence} + {m.licence}",
        )
        stage = self._load_or_fit(cache_dir(settings.models, settings.cache, f"bridge-e5-minilm-{key[:12]}"))
        self.map, self._mapped_mean, self._align, self._english_mean = (
            stage["map"],
            stage["mapped_mean"],
            stage["align"],
            stage["english_mean"],
        )

    def _load_or_fit(self, folder: Path) -> dict[str, np.ndarray]:
        weights = folder / "weights.npz"
        if weights.is_file():
            with np.load(weights) as z:
                return {k: z[k] for k in z.files}
        sentences = bridge_sentences()
        log.warning("first use: fitting the e5 → MiniLM map on %d sentences, once", len(sentences))
        src = self.multi.encode_text(sentences, query=True)
        dst = self.english.encode_text(sentences, query=True)
        w = fit_map(src, dst)
        stage = {"map": w, **align_moments(l2_normalise(src @ w), dst)}
        with open(folder / "weights.tmp.npz", "wb") as fp:
            np.savez(fp, **stage)
        (folder / "weights.tmp.npz").replace(weights)
        (folder / "config.json").write_text(
            json.dumps(
                {
                    "kind": "ridge, then mean and covariance aligned (CORAL)",
                    "ridge": RIDGE,
                    "from": self.multi.info.id,
                    "to": self.english.info.id,
                    "sentences": len(sentences),
                }
            )
        )
        return stage

    def aligned(self, mapped: np.ndarray) -> np.ndarray:
        """Mapped vectors given MiniLM's own mean and covariance (else they crowd together: two
        unrelated foreign or unreadable texts had a cosine of 0.4 on average, "qwzxv plorkt" found
        a German note at 0.55)."""
        return l2_normalise((mapped - self._mapped_mean) @ self._align + self._english_mean)

    @staticmethod
    def shows_foreign(text: str) -> bool:
        """Plain signs of another language (accented letters, its function words in a phrase)."""
        return _foreign(text)

    def encode_text(
        self, texts: Sequence[str], *, query: bool = True, languages: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """``languages``: each text's guess where the caller knows better (a label's phrasings are
        in the label's language, though "a photo of a" reads as English); ``None``: guessed here."""
        out = self.english.encode_text(texts, query=query)
        given = list(languages) if languages is not None else [None] * len(texts)
        guesses = [
            g if g is not None else language_guess(t, self.english.tokenizer) for g, t in zip(given, texts, strict=True)
        ]
        todo = [i for i, g in enumerate(guesses) if g != "en"]
        if todo:
            mapped = l2_normalise(self.multi.encode_text([texts[i] for i in todo], query=query) @ self.map)
            # The aligned map reads text that shows another language; English MiniLM splits into
            # pieces (proper names, rare words: ImageNet's class names) keeps the plain map it was
            # measured with.
            foreign = [row for row, i in enumerate(todo) if _foreign(texts[i])]
            if foreign:
                mapped[foreign] = self.aligned(mapped[foreign])
            for row, i in enumerate(todo):
                out[i] = mapped[row] if guesses[i] == "other" else l2_normalise(out[i] + mapped[row])
        return out
