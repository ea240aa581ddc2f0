"""Binding two spaces through text: a linear map fitted on sentences both text encoders can read.

Two models that were never trained together (CLAP for sound, CLIP for pictures, the offline
tier's sentence encoder) each place words in their own space. Embedding one shared list of
sentences with both gives paired points; a map fitted on the pairs carries any vector of the
first space (a sound's CLAP embedding) into the second, where it can be searched against
pictures. The sentences are the names the offline tier already knows (ImageNet, AudioSet, COCO)
in a few phrasings; a fifth of the names (all their phrasings) is held out, and the map is
judged by recall@1 on them: does a held-out sentence, mapped, land nearest its own partner?

Two maps are fitted on the rest and the better one on the held-out names is kept (then refitted
on all sentences): ridge regression (any dimensions) and orthogonal Procrustes (a rotation,
or a partial isometry between spaces of different size), both on centred vectors.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sensorium.models.base import l2_normalise

log = logging.getLogger(__name__)
TEMPLATES = ("{}", "a photo of a {}", "the sound of a {}", "a video of a {}")
HELD_OUT = 5  # one name in HELD_OUT is held out (by a stable hash of the name)
RIDGE_ALPHAS = (1e-3, 1e-2, 1e-1, 1.0)
Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass
class Binding:
    """A fitted map from space ``source`` to space ``target``."""

    source: str
    target: str
    method: str  # "ridge" or "orthogonal"
    weights: np.ndarray  # (source dim, target dim)
    source_mean: np.ndarray
    target_mean: np.ndarray
    recall_at_1: float  # on held-out sentences, with the map fitted without them
    held_out: int  # how many held-out sentences the recall counts
    trained_on: int  # sentences the stored map was fitted on (all of them)
    key: str = ""  # what it was fitted from (both spaces' model versions and the sentence list)

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """Unit vectors of the target space for vectors of the source space."""
        x = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        return l2_normalise((x - self.source_mean) @ self.weights + self.target_mean)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            weights=self.weights,
            source_mean=self.source_mean,
            target_mean=self.target_mean,
            meta=np.array(
                [
                    self.source,
                    self.target,
                    self.method,
                    str(self.recall_at_1),
                    str(self.held_out),
                    str(self.trained_on),
                    self.key,
                ]
            ),
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Binding:
        with np.load(path) as data:
            src, dst, method, recall, held, trained, key = (str(x) for x in data["meta"])
            return cls(
                src,
                dst,
                method,
                data["weights"],
                data["source_mean"],
                data["target_mean"],
                float(recall),
                int(held),
                int(trained),
                key,
            )

    def summary(self) -> dict[str, object]:
        return {
            "source": self.source,
            "target": self.target,
            "method": self.method,
            "recall_at_1": round(self.recall_at_1, 4),
            "held_out": self.held_out,
            "trained_on": self.trained_on,
        }


def sentence_names(models_dir: Path) -> list[str]:
    """The shared vocabulary: ImageNet, AudioSet and COCO class names, each once."""
    from sensorium.scoring import background_texts

    names = list(background_texts())
    try:
        from sensorium.models.efficientat import AUDIOSET_LABELS, N_CLASSES, read_labels
        from sensorium.models.files import resolve

        names += read_labels(resolve(AUDIOSET_LABELS, models_dir), N_CLASSES)
    except Exception as exc:  # the sound models are optional for binding
        log.info("binding without AudioSet names: %s", exc)
    try:
        from sensorium.models.yolox import coco_labels

        names += coco_labels(models_dir)
    except Exception as exc:
        log.info("binding without COCO names: %s", exc)
    seen: dict[str, None] = {}
    for n in names:
        n = " ".join(n.replace("_", " ").split()).lower()
        if n:
            seen.setdefault(n, None)
    return list(seen)


def _held_out(name: str) -> bool:
    return int(hashlib.sha1(name.encode()).hexdigest(), 16) % HELD_OUT == 0


def sentences(names: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Every name in every phrasing, and which of them are held out."""
    texts, held = [], []
    for n in names:
        for t in TEMPLATES:
            texts.append(t.format(n))
            held.append(_held_out(n))
    return texts, np.asarray(held, dtype=bool)


def fit(
    source: str,
    target: str,
    embed_source: Embed,
    embed_target: Embed,
    names: Sequence[str],
    *,
    key: str = "",
) -> Binding:
    """Fit and judge a map from ``source`` to ``target`` on the names in every phrasing."""
    texts, held = sentences(names)
    x = np.asarray(embed_source(texts), dtype=np.float64)
    y = np.asarray(embed_target(texts), dtype=np.float64)
    train, test = ~held, held
    best: tuple[float, str, float] | None = None
    for method, alpha in [("orthogonal", 0.0), *(("ridge", a) for a in RIDGE_ALPHAS)]:
        w, mx, my = _solve(x[train], y[train], method, alpha)
        r = recall_at_1((x[test] - mx) @ w + my, y[test])
        log.info("binding %s -> %s: %s alpha=%g recall@1 %.3f", source, target, method, alpha, r)
        if best is None or r > best[0]:
            best = (r, method, alpha)
    assert best is not None
    recall, method, alpha = best
    w, mx, my = _solve(x, y, method, alpha)
    return Binding(
        source,
        target,
        method,
        w.astype(np.float32),
        mx.astype(np.float32),
        my.astype(np.float32),
        float(recall),
        int(test.sum()),
        len(texts),
        key,
    )


def _solve(x: np.ndarray, y: np.ndarray, method: str, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mx, my = x.mean(0), y.mean(0)
    xc, yc = x - mx, y - my
    if method == "orthogonal":
        u, _, vt = np.linalg.svd(xc.T @ yc, full_matrices=False)
        return u @ vt, mx, my
    scale = np.trace(xc.T @ xc) / xc.shape[1]
    gram = xc.T @ xc + alpha * scale * np.eye(xc.shape[1])
    return np.linalg.solve(gram, xc.T @ yc), mx, my


def recall_at_1(mapped: np.ndarray, truth: np.ndarray) -> float:
    """Share of rows whose nearest ``truth`` row (cosine) is their own."""
    if len(truth) == 0:
        return 0.0
    sims = l2_normalise(mapped) @ l2_normalise(truth).T
    return float(np.mean(sims.argmax(1) == np.arange(len(truth))))
