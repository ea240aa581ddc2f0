"""How ``offline-audio-v1`` turns AudioSet tags into the text space: the sweep that chose its defaults.

Every recording of the labelled development set (``DEVSET/<label>/<file>``) is tagged once by
both taggers (EfficientAT mn04 and YAMNet), as the whole clip and as 2 s windows every 1 s; the
probabilities are cached under ``--cache``, and so are the text embeddings. Everything after that
is numpy: a recipe turns the pooled probabilities of each file into a clip vector (or, for tag
matching, a distribution over tags) and every folder label into a label vector, and is scored by
classification (top-1/top-5 of the best label among all labels: the softmax of ``sensorium eval``
does not change the order) and retrieval (mAP of each label as a query ranking every clip by its
score; ``sensorium eval`` also adds keywords and ranks files over 10 s by their best window, which
the "records" lines imitate without the keywords).

Sections: the library default and each knob moved alone; a grid over the ConSE recipe; tag
matching (label → nearest tags → the clip's probabilities of those tags), which is not ConSE;
learning-free linear alternatives that keep search a dot product in the text space; the choice
repeated on random halves of the labels and scored on the other half; and calibration of the
classification softmax.

    SENSORIUM_MODELS=../shared/models SENSORIUM_SPEECH=never .venv/bin/python bench/tune_audio.py \
        [--devset ../shared/devset/audio] [--library /tmp/tunelib] [--cache /tmp/tune_audio] [--splits 20] [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import itertools
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sensorium.eval import average_precision, label_text
from sensorium.models.base import l2_normalise
from sensorium.models.concepts import PROMPT_TEMPLATES
from sensorium.models.offline_audio import CLIP_MAX_S, GENERIC_TAGS, SOUND_TEMPLATES, sound_phrase
from sensorium.zero_shot import TEMPERATURE

AUDIO_EXTENSIONS = (".wav", ".ogg", ".flac", ".mp3", ".m4a", ".opus")
WINDOW_S, HOP_S = 2.0, 1.0  # the library's defaults (settings.audio_window_s, audio_hop_s)


# -- tagging, once ----------------------------------------------------------------------------
@dataclass
class Devset:
    """Tagger outputs of every file, per tagger (in that tagger's label order)."""

    paths: list[str]
    y: np.ndarray  # (N,) label index
    labels: list[str]  # label texts, folder order
    duration: np.ndarray  # (N,) seconds
    clip: list[np.ndarray]  # per tagger (N, C_t): tag_clip of the whole file
    windows: list[list[np.ndarray]]  # per tagger, per file (n_i, C_t): tag_windows(2 s, 1 s)
    window_len: list[np.ndarray]  # per file (n_i,) window lengths in seconds
    tagger_labels: list[tuple[str, ...]]


def tag_devset(lib, root: Path, cache: Path) -> Devset:
    """Tag every file of ``root`` with both taggers, or read the cached result."""
    from sensorium.media.audio import load_audio

    files = sorted(p for p in root.glob("*/*") if p.suffix.lower() in AUDIO_EXTENSIONS)
    folders = sorted({p.parent.name for p in files})
    taggers = lib.audio_encoder.taggers
    key = hashlib.sha256("\n".join([str(p) for p in files] + [t.sha256 for t in taggers]).encode()).hexdigest()[:12]
    path = cache / f"tags-{key}.npz"
    if not path.is_file():
        arrays: dict[str, np.ndarray] = {}
        t0 = time.perf_counter()
        for i, f in enumerate(files):
            for t, tagger in enumerate(taggers):
                wave = load_audio(f, tagger.rate)
                clip, win = tagger.tag_clip(wave), tagger.tag_windows(wave, WINDOW_S, HOP_S)
                arrays[f"clip{t}_{i}"] = clip.probs[0]
                arrays[f"win{t}_{i}"] = win.probs
                arrays[f"len{i}"] = (win.ends - win.starts).astype(np.float32)
                arrays[f"dur{i}"] = np.array(len(wave) / tagger.rate)
        print(f"tagged {len(files)} files in {time.perf_counter() - t0:.0f} s -> {path}", flush=True)
        np.savez_compressed(path, **arrays)
    with np.load(path) as z:
        n, nt = len(files), len(taggers)
        return Devset(
            paths=[str(p.relative_to(root)) for p in files],
            y=np.array([folders.index(p.parent.name) for p in files]),
            labels=[label_text(f) for f in folders],
            duration=np.array([float(z[f"dur{i}"]) for i in range(n)]),
            clip=[np.stack([z[f"clip{t}_{i}"] for i in range(n)]) for t in range(nt)],
            windows=[[z[f"win{t}_{i}"] for i in range(n)] for t in range(nt)],
            window_len=[z[f"len{i}"] for i in range(n)],
            tagger_labels=[tuple(t.labels) for t in taggers],
        )


# -- texts, once --------------------------------------------------------------------------------
class TextCache:
    """Unit text embeddings, remembered on disk (the text encoder is the slow part of a sweep)."""

    def __init__(self, text_encoder, path: Path) -> None:
        self.encoder = text_encoder
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        if path.is_file():
            with np.load(path) as z:
                self.vectors = dict(zip(json.loads(str(z["texts"])), z["vectors"], strict=True))

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        if missing:
            self.vectors.update(zip(missing, self.encoder.encode_text(missing, query=True), strict=True))
            keys = list(self.vectors)
            np.savez(self.path, texts=json.dumps(keys), vectors=np.stack([self.vectors[k] for k in keys]))
        return np.stack([self.vectors[t] for t in texts])


def phrases(name: str, split: bool) -> list[str]:
    """An AudioSet name as one phrase, or split at its commas (``"Chicken, rooster"`` → two)."""
    if not split:
        return [sound_phrase(name)]
    return [sound_phrase(part.strip()) for part in name.split(",") if part.strip()]


def remove(x: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Rows of ``x`` without the components along the orthonormal rows of ``directions``, unit length."""
    return l2_normalise(x - (x @ directions.T) @ directions)


def unit(v: np.ndarray) -> np.ndarray:
    return (v / max(float(np.linalg.norm(v)), 1e-12))[None, :]


def softmax_rows(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


# -- the recipe -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Recipe:
    """Everything that turns tag probabilities and label words into scores; the defaults are the library's.

    Attributes:
        top_k: tags kept per file.
        power: kept weights are raised to this power (``weighting="prob"``).
        weights: (mn04, yamnet) weight in the combined probabilities.
        weighting: ``"prob"`` (sigmoid probabilities) or ``"softmax"`` (softmax of logits / ``softmax_t``).
        softmax_t: temperature of the logit softmax.
        pool: how a file's probabilities are pooled: ``"clip"`` (the library: whole-clip tagging up to
            10 s, else the duration-weighted mean of windows), ``"mean"`` or ``"max"`` over windows, or
            ``"clip+max"`` (whole clip up to 10 s, else max over windows).
        specificity: exponent of an IDF-like weight, log(1 / mean probability of the class over all
            windows of all files): unsupervised, it favours classes that rarely fire.
        drop_generic: zero the weight of :data:`GENERIC_TAGS`.
        sound_templates: phrasings of a sound name, averaged.
        split: AudioSet names split at commas into phrases, all averaged.
        centre: ``"both"`` (image-space directions, then the sound concepts' own mean), ``"space"``,
            ``"own"`` or ``"none"``; labels lose the image-space directions unless ``"own"``/``"none"``.
        label_templates: phrasings of a label, averaged (the library uses the photo prompts everywhere).
        label_own: also remove the sound concepts' mean from the labels.
        method: ``"conse"`` (cosine of the clip's mixed vector and the label's), ``"tagmatch"`` (the clip's
            tag weights, divided by their sum, dotted with the label's softmax over tags,
            softmax_c(cos(label, tag_c) / tau)), ``"snap"`` (ConSE against the label replaced by the
            tau-softmax mean of its nearest tag vectors) or ``"pinv"`` (ConSE against the least-squares
            text vector q' whose cosines with the tags best reproduce that softmax, ridge ``lam``).
        tau: temperature of the label → tag softmax.
        label_norm: ``tagmatch``: the label's weights over tags sum to 1 (``"softmax"``) or peak at 1 (``"max"``).
        by_total: ``tagmatch``: divide the kept top-k weights by the sum of all weights (a record that
            stores only its top-k tags and their total), not by their own sum.
        lam: ridge of ``pinv``.
        pcs: also remove this many principal directions of the centred sound concepts from sounds and
            labels ("all-but-the-top").
        whiten: shrinkage of a ZCA whitening of the text space fitted on the vocabulary texts, applied
            to both sides of ConSE (0: off).
    """

    top_k: int = 10
    power: float = 1.0
    weights: tuple[float, float] = (0.5, 0.5)
    weighting: str = "prob"
    softmax_t: float = 1.0
    pool: str = "clip"
    specificity: float = 0.0
    drop_generic: bool = False
    sound_templates: tuple[str, ...] = SOUND_TEMPLATES
    split: bool = False
    centre: str = "both"
    label_templates: tuple[str, ...] = PROMPT_TEMPLATES
    label_own: bool = False
    method: str = "conse"
    tau: float = 0.03
    label_norm: str = "softmax"
    by_total: bool = False
    lam: float = 1e-3
    pcs: int = 0
    whiten: float = 0.0


@dataclass
class Scorer:
    """Scores recipes on a dev set; remembers the matrices each knob combination needs."""

    data: Devset
    texts: TextCache
    space: object  # the image encoder's ConceptSpace
    names: tuple[str, ...] = ()
    _memo: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        names: dict[str, None] = {}
        for labels in self.data.tagger_labels:
            names.update(dict.fromkeys(labels))
        self.names = tuple(names)
        self.maps = [np.array([self.names.index(n) for n in t], dtype=np.int64) for t in self.data.tagger_labels]
        self.generic = np.array([n in GENERIC_TAGS for n in self.names])
        every = [self.combine([w[i] for w in self.data.windows], (0.5, 0.5)) for i in range(len(self.data.y))]
        self.idf = -np.log(np.concatenate(every).mean(0) + 1e-4)

    def memo(self, key: tuple, make: Callable[[], np.ndarray]) -> np.ndarray:
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    # -- the vocabulary and the labels
    def concepts(self, r: Recipe) -> np.ndarray:
        """(C, d) unit tag vectors, centred as ``r`` says."""

        def make() -> np.ndarray:
            rows = [
                self.texts([t.format(p) for p in phrases(n, r.split) for t in r.sound_templates]).mean(0)
                for n in self.names
            ]
            v = l2_normalise(np.stack(rows))
            if r.centre in ("both", "space"):
                v = self.space.project(v)
            if r.centre in ("both", "own"):
                v = remove(v, unit(v.mean(0)))
            return remove(v, self.top_pcs(r)) if r.pcs else v

        return self.memo(("concepts", r.sound_templates, r.split, r.centre, r.pcs), make)

    def top_pcs(self, r: Recipe) -> np.ndarray:
        """(pcs, d) leading principal directions of the centred sound concepts."""

        def make() -> np.ndarray:
            v = self.concepts(dataclasses.replace(r, pcs=0))
            return np.linalg.svd(v - v.mean(0), full_matrices=False)[2][: r.pcs]

        return self.memo(("pcs", r.sound_templates, r.split, r.centre, r.pcs), make)

    def label_vectors(self, r: Recipe, labels: Sequence[str]) -> np.ndarray:
        """(L, d) unit label vectors, as ``concepts.label_vectors`` makes them with the default recipe."""

        def make() -> np.ndarray:
            clean = [x.replace("_", " ").strip() for x in labels]
            raw = self.texts([t.format(c) for c in clean for t in r.label_templates])
            v = l2_normalise(raw.reshape(len(clean), len(r.label_templates), -1).mean(1))
            if r.centre in ("both", "space"):
                v = self.space.project(v)
            if r.label_own:
                v = remove(v, unit(self.concepts(dataclasses.replace(r, centre="space", pcs=0)).mean(0)))
            return remove(v, self.top_pcs(r)) if r.pcs else v

        key = ("labels", tuple(labels), r.label_templates, r.centre, r.label_own, r.sound_templates, r.split, r.pcs)
        return self.memo(key, make)

    def whitener(self, shrink: float) -> np.ndarray:
        """ZCA matrix of the vocabulary texts (the sound names and the image concepts): learning-free."""

        def make() -> np.ndarray:
            x = np.concatenate([self.concepts(Recipe()), self.space.concepts]).astype(np.float64)
            c = np.cov(x.T)
            c += shrink * np.trace(c) / len(c) * np.eye(len(c))
            vals, vecs = np.linalg.eigh(c)
            return ((vecs / np.sqrt(vals)) @ vecs.T).astype(np.float32)

        return self.memo(("whiten", shrink), make)

    # -- the clips
    def combine(self, per_tagger: Sequence[np.ndarray], weights: tuple[float, float]) -> np.ndarray:
        """Per-tagger probabilities → the combined vocabulary, as ``OfflineAudioEncoder._combine``."""
        probs = np.zeros((per_tagger[0].shape[0], len(self.names)))
        total = np.zeros(len(self.names))
        for p, idx, w in zip(per_tagger, self.maps, weights, strict=True):
            probs[:, idx] += w * p
            total[idx] += w
        return probs / np.maximum(total, 1e-9)

    def pooled(self, r: Recipe) -> np.ndarray:
        """(N, C) probabilities of each whole file."""

        def make() -> np.ndarray:
            d, rows = self.data, []
            for i in range(len(d.y)):
                if r.pool in ("clip", "clip+max") and d.duration[i] <= CLIP_MAX_S:
                    rows.append(self.combine([c[i : i + 1] for c in d.clip], r.weights)[0])
                    continue
                win = self.combine([w[i] for w in d.windows], r.weights)
                if r.pool in ("max", "clip+max"):
                    rows.append(win.max(0))
                else:
                    rows.append((win * d.window_len[i][:, None]).sum(0) / d.window_len[i].sum())
            return np.stack(rows)

        return self.memo(("pooled", r.pool, r.weights), make)

    def tag_weights(self, r: Recipe, probs: np.ndarray) -> np.ndarray:
        """What each tag weighs in a clip (rows not normalised; zero outside the top-k)."""
        p = np.clip(probs, 1e-6, 1 - 1e-6)
        w = softmax_rows(np.log(p / (1 - p)) / r.softmax_t) if r.weighting == "softmax" else np.power(p, r.power)
        if r.specificity:
            w = w * np.power(self.idf, r.specificity)
        if r.drop_generic:
            w = w * ~self.generic
        if r.top_k < w.shape[1]:
            drop = np.argpartition(-w, r.top_k, axis=1)[:, r.top_k :]
            np.put_along_axis(w, drop, 0.0, axis=1)
        return w

    def scores(self, r: Recipe, probs: np.ndarray, labels: Sequence[str]) -> np.ndarray:
        """(n, L) scores of clips with probabilities ``probs`` for ``labels``."""
        lv, tags = self.label_vectors(r, labels), self.concepts(r)
        w = self.tag_weights(r, probs)
        if r.method == "tagmatch":
            sim = (lv @ tags.T - (lv @ tags.T).max(1, keepdims=True)) / r.tau
            a = softmax_rows(sim) if r.label_norm == "softmax" else np.exp(sim)
            total = self.tag_weights(dataclasses.replace(r, top_k=10**6), probs) if r.by_total else w
            return w / np.maximum(total.sum(1, keepdims=True), 1e-12) @ a.T
        if r.method == "snap":
            lv = l2_normalise(softmax_rows(lv @ tags.T / r.tau) @ tags)
        elif r.method == "pinv":
            a = softmax_rows(lv @ tags.T / r.tau)
            lv = l2_normalise(np.linalg.solve(tags.T @ tags + r.lam * np.eye(tags.shape[1]), tags.T @ a.T).T)
        clips = l2_normalise((w @ tags).astype(np.float32))
        if r.whiten:
            clips, lv = l2_normalise(clips @ self.whitener(r.whiten)), l2_normalise(lv @ self.whitener(r.whiten))
        return clips @ lv.T

    def matrix(self, r: Recipe, records: bool = False) -> np.ndarray:
        """(N, L) scores of every file for every label; ``records``: files over 10 s by their best window."""
        d = self.data
        s = self.scores(r, self.pooled(r), d.labels)
        if records:
            for i in np.flatnonzero(d.duration > CLIP_MAX_S):
                s[i] = self.scores(r, self.combine([w[i] for w in d.windows], r.weights), d.labels).max(0)
        return s

    def evaluate(self, r: Recipe, keep: np.ndarray | None = None, records: bool = False) -> dict[str, float]:
        s = self.matrix(r)
        return metrics(s, self.data.y, keep, self.matrix(r, records=True) if records else None)


def metrics(s: np.ndarray, y: np.ndarray, keep: np.ndarray | None = None, rs: np.ndarray | None = None):
    """top-1, top-5, mAP and mean top softmax probability over the labels ``keep`` (all by default).

    Only the files of those labels take part, as if the dev set held nothing else. ``rs``: other
    scores for retrieval (``records``).
    """
    keep = np.arange(s.shape[1]) if keep is None else np.asarray(keep)
    files = np.flatnonzero(np.isin(y, keep))
    yk = np.searchsorted(keep, y[files])
    sk = s[np.ix_(files, keep)]
    rk = sk if rs is None else rs[np.ix_(files, keep)]
    rank = np.argsort(-sk, axis=1)
    aps = [average_precision((yk == j)[np.argsort(-rk[:, j], kind="stable")]) for j in range(len(keep))]
    return {
        "top1": float(np.mean(rank[:, 0] == yk)),
        "top5": float(np.mean((rank[:, :5] == yk[:, None]).any(1))),
        "map": float(np.mean(aps)),
        "p1": float(softmax_rows(sk / TEMPERATURE).max(1).mean()),
    }


# -- reporting ------------------------------------------------------------------------------------
SOUND_TEXTS = {
    "sound of + bare (default)": SOUND_TEMPLATES,
    "bare": ("{}",),
    "the sound of {}.": ("the sound of {}.",),
    "a recording of {}.": ("a recording of {}.",),
    "{} sound": ("{} sound",),
    "sound of + recording + bare": ("the sound of {}.", "a recording of {}.", "{}"),
    "sound of + {} sound + bare": ("the sound of {}.", "{} sound", "{}"),
    "sound of + recording": ("the sound of {}.", "a recording of {}."),
}
LABEL_TEXTS = {
    "photo prompts (default)": PROMPT_TEMPLATES,
    "bare": ("{}",),
    "sound of + bare": SOUND_TEMPLATES,
    "sound of + recording + bare": ("the sound of {}.", "a recording of {}.", "{}"),
    "the sound of {}.": ("the sound of {}.",),
    "photo + sound prompts": (*PROMPT_TEMPLATES, "the sound of {}.", "a recording of {}."),
}
# The grids: every combination is scored; the splits choose among them on half of the labels.
CONSE_GRID = {
    "top_k": (5, 10, 20, 50),
    "power": (0.5, 1.0, 2.0),
    "weights": ((1.0, 0.0), (0.7, 0.3), (0.5, 0.5)),
    "pool": ("clip", "clip+max"),
    "specificity": (0.0, 1.0),
    "drop_generic": (False, True),
    "split": (False, True),
    "sound_templates": (SOUND_TEMPLATES, ("the sound of {}.",), ("the sound of {}.", "a recording of {}.", "{}")),
    "label_templates": (PROMPT_TEMPLATES, ("the sound of {}.", "a recording of {}.", "{}")),
}
TAGMATCH_GRID = {
    "tau": (0.01, 0.02, 0.03, 0.05, 0.1),
    "top_k": (20, 1000),
    "weights": ((1.0, 0.0), (0.7, 0.3), (0.5, 0.5)),
    "pool": ("clip", "clip+max"),
    "specificity": (0.0, 1.0),
    "drop_generic": (False, True),
    "split": (False, True),
    "sound_templates": (SOUND_TEMPLATES, ("the sound of {}.",), ("the sound of {}.", "a recording of {}.", "{}")),
    "label_norm": ("softmax", "max"),
}
# What the sweep recommends: tag matching with no top-k, everything else as the library has it.
TAGMATCH = Recipe(method="tagmatch", tau=0.03, top_k=1000)


def header(title: str) -> None:
    print(f"\n{title}\n  {'variant':60} {'top-1':>6} {'top-5':>6} {'mAP':>6} {'p(top)':>6}  (Δtop-1 ΔmAP)", flush=True)


def line(name: str, m: dict[str, float], base: dict[str, float] | None = None) -> None:
    delta = f"  ({m['top1'] - base['top1']:+.3f} {m['map'] - base['map']:+.3f})" if base else ""
    print(f"  {name:60} {m['top1']:6.3f} {m['top5']:6.3f} {m['map']:6.3f} {m['p1']:6.3f}{delta}", flush=True)


def differs(r: Recipe) -> str:
    """The fields of ``r`` that are not the library default, as text."""
    d = Recipe()
    changed = [f.name for f in dataclasses.fields(r) if getattr(r, f.name) != getattr(d, f.name)]
    return ", ".join(f"{k}={getattr(r, k)!r}" for k in changed) or "default"


def sweep(sc: Scorer, base: Recipe, variants: dict[str, dict], title: str) -> None:
    """Each variant changes ``base`` by a few fields; printed with the change against ``base``."""
    header(title)
    ref = sc.evaluate(base)
    line("(base) " + differs(base), ref)
    for name, change in variants.items():
        line(name, sc.evaluate(dataclasses.replace(base, **change)), ref)


def knobs(base: Recipe) -> dict[str, dict]:
    """Every knob of ``base`` moved on its own."""
    out: dict[str, dict] = {}
    if base.method == "conse":
        out |= {f"top_k={k}": {"top_k": k} for k in (3, 5, 10, 20, 50, 1000)}
    else:
        out |= {f"tau={t}": {"tau": t} for t in (0.01, 0.02, 0.03, 0.05, 0.1, 0.2)}
        out |= {f"top_k={k}": {"top_k": k} for k in (5, 10, 20, 50, 1000)}
        out["label_norm=max"] = {"label_norm": "max"}
    out |= {f"power={p}": {"power": p} for p in (0.5, 1.0, 2.0, 3.0)}
    out |= {f"logit softmax T={t}": {"weighting": "softmax", "softmax_t": t} for t in (1.0, 2.0, 3.0)}
    out |= {f"weights={w}": {"weights": w} for w in ((1.0, 0.0), (0.7, 0.3), (0.5, 0.5), (0.3, 0.7), (0.0, 1.0))}
    out |= {f"pool={p}": {"pool": p} for p in ("clip", "mean", "max", "clip+max")}
    out |= {f"specificity={s}": {"specificity": s} for s in (0.0, 0.5, 1.0, 2.0)}
    out["drop_generic"] = {"drop_generic": not base.drop_generic}
    out["split commas"] = {"split": not base.split}
    out |= {f"centre={c}": {"centre": c} for c in ("both", "space", "own", "none")}
    out["label_own"] = {"label_own": not base.label_own}
    out |= {f"sound texts: {k}": {"sound_templates": t} for k, t in SOUND_TEXTS.items()}
    out |= {f"label texts: {k}": {"label_templates": t} for k, t in LABEL_TEXTS.items()}
    return out


def grid(sc: Scorer, base: Recipe, axes: dict[str, Sequence]) -> list[tuple[Recipe, np.ndarray]]:
    """Every combination of ``axes`` on ``base``, with its (N, L) score matrix."""
    return [
        (r, sc.matrix(r))
        for r in (
            dataclasses.replace(base, **dict(zip(axes, v, strict=True))) for v in itertools.product(*axes.values())
        )
    ]


def best(results: list[tuple[Recipe, np.ndarray]], y: np.ndarray, keep: np.ndarray | None = None):
    """The recipe with the highest top-1 + mAP over ``keep``, and its metrics."""
    scored = [(r, metrics(s, y, keep)) for r, s in results]
    return max(scored, key=lambda x: x[1]["top1"] + x[1]["map"])


def show_grid(results, y: np.ndarray, title: str, n: int = 8) -> Recipe:
    header(f"{title}: the best {n} of {len(results)} (by top-1 + mAP)")
    scored = sorted(((r, metrics(s, y)) for r, s in results), key=lambda x: -(x[1]["top1"] + x[1]["map"]))
    for r, m in scored[:n]:
        line(differs(r)[:60], m)
        print(f"      {differs(r)}")
    return scored[0][0]


def splits(sc: Scorer, families: dict[str, list], fixed: dict[str, Recipe], n: int, seed: int = 0) -> None:
    """Choose on a random half of the labels, score on the other half; also the fixed recipes on that half."""
    y, n_labels = sc.data.y, len(sc.data.labels)
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {}
    for _ in range(n):
        order = rng.permutation(n_labels)
        halves = (np.sort(order[: n_labels // 2]), np.sort(order[n_labels // 2 :]))
        for a, b in (halves, halves[::-1]):
            for name, results in families.items():
                chosen, _ = best(results, y, a)
                rows.setdefault(f"{name}: best on the other half", []).append(sc_metrics(sc, chosen, b))
            for name, r in fixed.items():
                rows.setdefault(name, []).append(sc_metrics(sc, r, b))
    header(f"robustness: {n} random label halves, each way ({2 * n} held-out halves); mean ± sd on the held-out half")
    ref = rows[next(iter(fixed))]
    for name, ms in rows.items():
        mean = {k: float(np.mean([m[k] for m in ms])) for k in ms[0]}
        sd = {k: float(np.std([m[k] for m in ms])) for k in ms[0]}
        d1 = np.array([m["top1"] - r["top1"] for m, r in zip(ms, ref, strict=True)])
        d2 = np.array([m["map"] - r["map"] for m, r in zip(ms, ref, strict=True)])
        line(name[:60], mean)
        print(
            f"  {'':60} ±{sd['top1']:5.3f} ±{sd['top5']:5.3f} ±{sd['map']:5.3f}   vs {next(iter(fixed))}: "
            f"top-1 better/worse in {np.sum(d1 > 0)}/{np.sum(d1 < 0)}, mAP in {np.sum(d2 > 0)}/{np.sum(d2 < 0)}"
        )


def sc_metrics(sc: Scorer, r: Recipe, keep: np.ndarray) -> dict[str, float]:
    return metrics(sc.matrix(r), sc.data.y, keep)


def calibration(sc: Scorer, recipes: dict[str, Recipe]) -> None:
    """Mean top softmax probability against top-1 accuracy, for temperatures around the library's."""
    print("\ncalibration: mean top probability of the softmax over the 42 labels at temperature T, against top-1")
    temps = (0.003, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2)
    print(f"  {'recipe':28} {'top-1':>6} " + " ".join(f"{t:>6}" for t in temps))
    for name, r in recipes.items():
        s = sc.matrix(r)
        top1 = float(np.mean(s.argmax(1) == sc.data.y))
        p = [float(softmax_rows(s / t).max(1).mean()) for t in temps]
        print(f"  {name:28} {top1:6.3f} " + " ".join(f"{x:6.3f}" for x in p))


def failures(sc: Scorer, r: Recipe, title: str) -> None:
    """The misclassified files, with the label chosen and the true label's rank."""
    s, d = sc.matrix(r), sc.data
    print(f"\n{title}")
    for i in np.flatnonzero(s.argmax(1) != d.y):
        rank = int(np.sum(s[i] > s[i, d.y[i]])) + 1
        top = np.argsort(-sc.pooled(r)[i])[:4]
        tags = ", ".join(f"{sc.names[c]} {sc.pooled(r)[i, c]:.2f}" for c in top)
        print(f"  {d.paths[i]:42} -> {d.labels[s[i].argmax()]:18} (true at {rank:2})  tags: {tags}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = Path(__file__).resolve().parents[2] / "shared"
    ap.add_argument("--devset", type=Path, default=shared / "devset" / "audio")
    ap.add_argument("--library", type=Path, default=Path("/tmp/tunelib"))
    ap.add_argument("--cache", type=Path, default=Path("/tmp/tune_audio"))
    ap.add_argument("--splits", type=int, default=20, help="random label halves for the robustness check")
    ap.add_argument("--quick", action="store_true", help="skip the grids and the splits")
    args = ap.parse_args()
    os.environ.setdefault("SENSORIUM_SPEECH", "never")
    from sensorium.library import open_library

    lib = open_library(args.library)
    args.cache.mkdir(parents=True, exist_ok=True)
    data = tag_devset(lib, args.devset, args.cache)
    enc = lib.text_encoder.info
    texts = TextCache(lib.text_encoder, args.cache / f"texts-{enc.id}-{enc.weights_sha256[:12]}.npz")
    sc = Scorer(data, texts, lib.image_encoder.space)
    print(f"dev set: {len(data.y)} recordings, {len(data.labels)} labels; vocabulary {len(sc.names)} tags; {enc.id}")
    t0 = time.perf_counter()

    header("the library default (clip vectors; records: files over 10 s by their best window, as search ranks)")
    line("default (ConSE)", sc.evaluate(Recipe()))
    line("default (ConSE), records", sc.evaluate(Recipe(), records=True))
    line("tag matching: " + differs(TAGMATCH), sc.evaluate(TAGMATCH))
    line("tag matching, records", sc.evaluate(TAGMATCH, records=True))
    for k in (20, 50):
        sparse = dataclasses.replace(TAGMATCH, top_k=k, by_total=True)
        line(f"tag matching from the top {k} tags and their total (storable)", sc.evaluate(sparse))
    facts = dataclasses.replace(TAGMATCH, top_k=5, drop_generic=True)
    line("tag matching from 5 specific tags (about what facts store)", sc.evaluate(facts))
    sweep(sc, Recipe(), knobs(Recipe()), "ConSE: one knob at a time from the default")
    sweep(sc, TAGMATCH, knobs(TAGMATCH), "tag matching: one knob at a time")
    alternatives = {
        "snap: label → tau-mean of its nearest tags, tau=0.03": {"method": "snap", "tau": 0.03},
        "snap, tau=0.1": {"method": "snap", "tau": 0.1},
        **{
            f"pinv: least-squares label, tau={t}, lam={lam}": {"method": "pinv", "tau": t, "lam": lam}
            for t in (0.02, 0.03, 0.05)
            for lam in (1e-3, 1e-2)
        },
        **{
            f"pinv, top_k={k}, tau={t}, lam={lam}": {"method": "pinv", "top_k": k, "tau": t, "lam": lam}
            for k in (50, 1000)
            for t in (0.02, 0.03)
            for lam in (1e-3, 1e-2)
        },
        **{f"ZCA whitening of both sides, shrink={s}": {"whiten": s} for s in (0.01, 0.1, 1.0)},
        **{f"all-but-the-top: {k} principal directions removed": {"pcs": k} for k in (1, 3, 10)},
    }
    sweep(sc, Recipe(), alternatives, "linear alternatives that keep search a dot product in the text space")
    failures(sc, TAGMATCH, "tag matching: the misclassified files")
    calibration(sc, {"default (ConSE)": Recipe(), "tag matching": TAGMATCH})
    if args.quick:
        return
    conse = grid(sc, Recipe(), CONSE_GRID)
    best_conse = show_grid(conse, data.y, "ConSE grid")
    tagmatch = grid(sc, TAGMATCH, TAGMATCH_GRID)
    best_tm = show_grid(tagmatch, data.y, "tag matching grid")
    sweep(sc, best_conse, knobs(best_conse), "the best ConSE of the grid, one knob at a time")
    splits(
        sc,
        {"ConSE grid": conse, "tag matching grid": tagmatch},
        {
            "default (ConSE)": Recipe(),
            "ConSE, fixed: power=0.5, drop_generic": Recipe(power=0.5, drop_generic=True),
            "tag matching (fixed)": TAGMATCH,
            "tag matching, top 50 and total (fixed)": dataclasses.replace(TAGMATCH, top_k=50, by_total=True),
            "best ConSE of the whole grid": best_conse,
            "best tag matching of the whole grid": best_tm,
        },
        args.splits,
    )
    calibration(sc, {"best ConSE of the grid": best_conse, "best tag matching of the grid": best_tm})
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
