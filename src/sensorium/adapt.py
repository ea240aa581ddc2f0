"""Few-shot adaptation: a handful of the user's own examples per label, added to zero-shot classification.

``sensorium classify photos/*.jpg --examples examples/`` with ``examples/<label>/<files>``: where
words alone are not enough (a product line, a kind of bird the classifier has no name for), a few
examples of each label tell what it looks or sounds like. Nothing is trained. A file's zero-shot
distribution over the labels is mixed, in log space, with one from its examples: the softmax, at
:data:`TAU`, of its best perceptual cosine (the classifier's features, for pictures; the sound
embedding, for recordings) with each label's examples (Tip-Adapter's cache, without its training).

How much the examples count is chosen on the examples themselves: each is classified from the
others (leave one out) at every weight of :data:`WEIGHTS`, and the weight that classifies them best
wins (zero where the examples add nothing, so a set the words already classify is left alone).
Measured on the dev sets (``python -m bench.eval_fewshot``): pictures gain 8 to 17 points of top-1;
recordings, whose examples differ more than their words do, keep their zero-shot answers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sensorium.errors import QueryError

if TYPE_CHECKING:
    from sensorium.library import Library
    from sensorium.query import Example

log = logging.getLogger(__name__)

TAU = 0.05  # temperature of the examples' softmax over labels (perceptual cosines)
WEIGHTS = (0.0, 0.25, 0.5, 0.75)  # weights of the examples' distribution tried on the examples themselves
DEFAULT_WEIGHT = {"image": 0.5, "audio": 0.0}  # where too few examples to choose: the dev sets' best
MAX_PER_LABEL = 50  # examples read per label (each is decoded and encoded on every call)


@dataclass
class ExampleSet:
    """Encoded examples of one modality: perceptual unit vectors, their labels, the weight chosen."""

    vectors: np.ndarray  # (n, d)
    labels: np.ndarray  # (n,) index into the labels
    zero_shot: np.ndarray  # (n, L) each example's own zero-shot distribution (to choose the weight)
    weight: float = 0.0


def read_examples(folder: Path) -> list[tuple[str, Path]]:
    """``(label, file)`` for each file of ``folder/<label>/``; the label is the folder's name, as ``eval`` reads it.

    Raises:
        QueryError: not a folder, or no label folder with a file in it.
    """
    from sensorium.eval import label_text

    if not folder.is_dir():
        raise QueryError(f"{folder}: examples are a folder of <label>/<files>; no such folder")
    pairs = [
        (label_text(d.name), f)
        for d in sorted(folder.iterdir())
        if d.is_dir() and not d.name.startswith(".")
        for f in sorted(d.iterdir())
        if f.is_file() and not f.name.startswith(".")
    ]
    if not pairs:
        raise QueryError(f"{folder}: no examples; put a few files of each label in {folder}/<label>/")
    kept: dict[str, int] = {}
    out = []
    for label, path in pairs:
        kept[label] = kept.get(label, 0) + 1
        if kept[label] <= MAX_PER_LABEL:
            out.append((label, path))
    for label, n in kept.items():
        if n > MAX_PER_LABEL:
            log.warning(
                "examples of %r: the first %d of %d used (a few a label is what they are for)", label, MAX_PER_LABEL, n
            )
    return out


def build(
    lib: Library, pairs: Sequence[tuple[str, Path]], labels: Sequence[str], vecs: np.ndarray
) -> dict[str, ExampleSet]:
    """Encode the examples (one that cannot be read is left out, with a warning), by modality, weights chosen."""
    from sensorium.zero_shot import example_tracks, mix_tracks

    by_modality: dict[str, tuple[list[np.ndarray], list[int], list[np.ndarray]]] = {}
    for label, path in pairs:
        try:
            example, tracks = example_tracks(lib, path, vecs, multi_label=False, labels=labels)
        except QueryError as exc:
            log.warning("example left out: %s", str(exc).removeprefix("example "))
            continue
        if example.perceptual is None:  # a note: its words are what zero-shot reads already
            log.warning("example left out: %s: a %s example has no perceptual vector", path, example.modality)
            continue
        vectors, idx, zs = by_modality.setdefault(example.modality, ([], [], []))
        vectors.append(example.perceptual / max(float(np.linalg.norm(example.perceptual)), 1e-12))
        idx.append(list(labels).index(label))
        zs.append(mix_tracks(tracks))
    sets = {}
    for modality, (vectors, idx, zs) in by_modality.items():
        ex = ExampleSet(np.stack(vectors), np.array(idx), np.stack(zs))
        ex.weight = choose_weight(ex, len(labels), DEFAULT_WEIGHT.get(modality, 0.0))
        sets[modality] = ex
    return sets


def choose_weight(ex: ExampleSet, n_labels: int, default: float) -> float:
    """The weight of :data:`WEIGHTS` that classifies the examples best, each from the others.

    Only examples whose label has another example can be classified so; with fewer than two such
    labels there is nothing to choose from, and ``default`` is used. Ties go to the smaller weight.
    """
    counts = np.bincount(ex.labels, minlength=n_labels)
    inner = np.flatnonzero(counts[ex.labels] >= 2)
    if len(np.unique(ex.labels[inner])) < 2:
        return default
    best, best_hits = 0.0, -1
    for w in WEIGHTS:
        hits = 0
        for i in inner:
            others = np.arange(len(ex.labels)) != i
            p = adapted(
                ex.zero_shot[i],
                ex.vectors[i],
                ExampleSet(ex.vectors[others], ex.labels[others], ex.zero_shot[others], w),
            )
            hits += int(p.argmax() == ex.labels[i])
        if hits > best_hits:
            best, best_hits = w, hits
    return best


def adapted(zero_shot: np.ndarray, perceptual: np.ndarray | None, ex: ExampleSet | None) -> np.ndarray:
    """A file's distribution over labels with its examples counted: ``zero_shot`` where there are none."""
    if ex is None or perceptual is None or ex.weight <= 0 or len(ex.labels) == 0:
        return zero_shot
    unit = perceptual / max(float(np.linalg.norm(perceptual)), 1e-12)
    best = np.full(len(zero_shot), -np.inf)
    np.maximum.at(best, ex.labels, ex.vectors @ unit)
    seen = np.isfinite(best)
    best[~seen] = best[seen].mean()  # a label without examples: neither for nor against
    logits = (1 - ex.weight) * np.log(zero_shot + 1e-9) + ex.weight * (best / TAU - (best / TAU).max())
    p = np.exp(logits - logits.max())
    return p / p.sum()


@dataclass(frozen=True)
class FewShotReport:
    """Leave one out on a labelled set: each file of a label with two or more, every other file an example."""

    n: int  # files classified
    zero_shot_top1: float  # with words alone
    top1: float  # with the other files as examples
    weights: dict[float, int]  # how often each weight was chosen

    def to_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "zero_shot_top1": round(self.zero_shot_top1, 4),
            "top1": round(self.top1, 4),
            "weights": {str(w): k for w, k in sorted(self.weights.items())},
        }


def leave_one_out(perceptual: np.ndarray, zero_shot: np.ndarray, y: np.ndarray, modality: str) -> FewShotReport:
    """Few-shot top-1 on a labelled set, each file classified with every other file as an example.

    Args:
        perceptual: (n, d) the files' perceptual vectors.
        zero_shot: (n, L) their zero-shot distributions over the labels.
        y: (n,) their labels.
        modality: ``image`` or ``audio`` (the default weight where there are too few examples to choose).
    """
    unit = perceptual / np.maximum(np.linalg.norm(perceptual, axis=1, keepdims=True), 1e-12)
    counts = np.bincount(y, minlength=zero_shot.shape[1])
    test = np.flatnonzero(counts[y] >= 2)
    right, chosen = 0, {}
    for i in test:
        others = np.arange(len(y)) != i
        ex = ExampleSet(unit[others], y[others], zero_shot[others])
        ex.weight = choose_weight(ex, zero_shot.shape[1], DEFAULT_WEIGHT.get(modality, 0.0))
        chosen[ex.weight] = chosen.get(ex.weight, 0) + 1
        right += int(adapted(zero_shot[i], unit[i], ex).argmax() == y[i])
    n = len(test)
    zs = float(np.mean(zero_shot[test].argmax(1) == y[test])) if n else 0.0
    return FewShotReport(n, zs, right / n if n else 0.0, chosen)


def example_of(sets: dict[str, ExampleSet], example: Example) -> ExampleSet | None:
    """The examples a file is compared with: those of its own kind (a video's pictures with pictures)."""
    return sets.get("image" if example.modality == "video" else example.modality)
