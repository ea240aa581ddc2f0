"""Zero-shot classification: labels written in words → a distribution per file.

Labels go through the prompt ensemble (``concepts.label_vectors``); a file's semantic vector
is compared with each. Single-label mode gives a softmax distribution and abstains when the
best two labels are closer than ``margin``; multi-label mode gives each label its own
calibrated score and keeps those above ``threshold``.

A picture's labels are also voted on by what the classifier sees (:func:`concept_votes`): each
ImageNet concept gives its probability to the labels nearest its name. The semantic vector mixes
a photo's concepts before any label is asked; a toucan seen at 0.9 is mixed with the birds near
it, and "parrot" (four of ImageNet's birds are parrots) came before "toucan" among 172 labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sensorium.errors import MediaError, QueryError
from sensorium.models.base import shares_with_none
from sensorium.models.concepts import label_vectors
from sensorium.models.hierarchy import class_steps
from sensorium.models.offline_audio import TAG_TEMPERATURE
from sensorium.scoring import Calibrator
from sensorium.types import CLASSIFY_MARGIN, Classification, LabelScore

if TYPE_CHECKING:
    from sensorium.library import Library
    from sensorium.query import Example

TEMPERATURE = 0.1  # fitted on the dev set: mean top probability (0.40) ≈ top-1 accuracy (0.44)
# Concept votes (single-label classification of pictures): softmax over the labels, and a "no label"
# option at VOTE_NONE_COS, of cos(concept, label) / VOTE_TAU; VOTE_WEIGHT on the log-ratio of a
# label's votes to its votes under uniform concepts. Measured on the two image dev sets (README).
VOTE_TAU = 0.1
VOTE_NONE_COS = 0.5
VOTE_WEIGHT = 1.0
VOTED_SCALE = 0.75  # logits with votes are sharper: scaled so mean top probability ≈ top-1 accuracy again
# A concept votes as if at cosine 1 - KIND_STEP × steps for the labels WordNet says it is a kind of
# (models.hierarchy): a borzoi for "dog" at 0.96, for "animal" at 0.84; the nearer kind wins.
KIND_STEP = 0.02
DEFAULT_MARGIN = CLASSIFY_MARGIN


def parse_labels(text: str | None = None, file: Path | None = None) -> list[str]:
    """Labels from a comma-separated string and/or a file with one label per line.

    A string of several lines reads as a file's text: one label per line, commas and all.

    Spaces inside a label are collapsed, and labels that differ only in case or spacing are one
    label (the first spelling kept): "a cat" and "A CAT" would split one probability between them
    and make the classifier abstain on an obvious cat. A file may start with a byte-order mark.
    """
    labels: list[str] = []
    if text and "\n" in text.strip():  # the text of a labels file, as the Python API may be given it
        labels += text.removeprefix("\ufeff").splitlines()
    elif text:
        labels += text.split(",")
    if file is not None:
        try:
            labels += file.read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise QueryError(f"labels file {file}: cannot read ({exc}); give a UTF-8 file, one label per line") from exc
    seen: dict[str, str] = {}
    for raw in labels:
        label = " ".join(raw.replace("\ufeff", "").split())
        if label and not label.startswith("#"):
            seen.setdefault(label.casefold(), label)
    if not seen:
        raise QueryError("no labels given; pass --labels 'cat, dog' or --labels-file FILE")
    return list(seen.values())


def distribution(
    semantic: np.ndarray,
    label_vecs: np.ndarray,
    temperature: float = TEMPERATURE,
    votes: np.ndarray | None = None,
) -> np.ndarray:
    """Softmax over labels of each row of ``semantic`` (n, d) against (L, d); rows sum to 1.

    ``votes``: (n, L) :func:`concept_votes`, added with weight :data:`VOTE_WEIGHT`.
    """
    logits = semantic @ label_vecs.T / temperature
    return softmax_rows(logits if votes is None else (logits + VOTE_WEIGHT * votes) * VOTED_SCALE)


def concept_votes(
    probs: np.ndarray, label_vecs: np.ndarray, concepts: np.ndarray, steps: np.ndarray | None = None
) -> np.ndarray:
    """(n, L) how much more of the concept votes each label gets than under uniform concepts (log ratio).

    Args:
        probs: (n, C) the classifier's probabilities over its concepts.
        label_vecs: (L, d) the labels, in the space of ``concepts``.
        concepts: (C, d) the concepts' text embeddings (``ConceptSpace.concepts``).
        steps: (C, L) WordNet steps up from each concept to what each label names (inf where it is
            not a kind of it; :func:`sensorium.models.hierarchy.class_steps`), or ``None``.

    Each concept splits its probability among the labels, sharply by cosine, keeping a share for
    "none of them" where no label is near its name. A label that many concepts are near (a broad
    word) would collect votes from any picture; dividing by its votes under uniform concepts
    leaves what this picture adds. A concept's names are only so near a broader word ("borzoi",
    "dog"): where WordNet says it is a kind of a label, it votes as if its name were the label's.
    On the objects dev set: top-1 0.545 -> 0.566, top-5 0.715 -> 0.732; scenes 0.433 either way.
    """
    cos = concepts @ label_vecs.T
    if steps is not None:
        cos = np.maximum(cos, 1.0 - KIND_STEP * steps)
    share = shares_with_none(cos, VOTE_NONE_COS, VOTE_TAU)
    return np.log(probs @ share + 1e-4) - np.log(share.mean(axis=0) + 1e-4)


def classify_vectors(
    paths: Sequence[str],
    semantic: np.ndarray,
    labels: Sequence[str],
    label_vecs: np.ndarray,
    *,
    multi_label: bool = False,
    threshold: float = 0.5,
    margin: float = DEFAULT_MARGIN,
    top: int | None = None,
    calibrator: Calibrator | None = None,
) -> list[Classification]:
    """Classifications for already-encoded files."""
    if not multi_label:
        return rank_distribution(paths, distribution(semantic, label_vecs), labels, margin=margin, top=top)
    if calibrator is None:
        raise ValueError("multi-label needs a calibrator")
    scores = calibrator.scores(semantic @ label_vecs.T, label_vecs)
    out = []
    for path, row in zip(paths, scores, strict=True):
        out += _kept(path, row, labels, threshold, top)
    return out


def _kept(path: str, row: np.ndarray, labels: Sequence[str], threshold: float, top: int | None) -> list[Classification]:
    """Multi-label result for one file: the labels scoring at least ``threshold``, best first.

    A single label is always given with its score, and abstains below ``threshold``: an empty
    list hid how far from it the file was.
    """
    ranked = [LabelScore(labels[i], float(row[i])) for i in np.argsort(-row)]
    if len(ranked) == 1:
        return [Classification(path, tuple(ranked), abstained=ranked[0].score < threshold)]
    kept = tuple(x for x in ranked if x.score >= threshold)
    return [Classification(path, kept[:top] if top else kept, abstained=not kept)]


def rank_distribution(
    paths: Sequence[str], probs: np.ndarray, labels: Sequence[str], *, margin: float, top: int | None
) -> list[Classification]:
    """Single-label results from a distribution over labels per file: best first, abstain when close."""
    out = []
    for path, row in zip(paths, probs, strict=True):
        ranked = [LabelScore(labels[i], float(row[i])) for i in np.argsort(-row)]
        abstain = len(ranked) > 1 and ranked[0].score - ranked[1].score < margin
        out.append(Classification(path, tuple(ranked[:top] if top else ranked), abstained=abstain))
    return out


def classify_files(
    lib: Library,
    paths: Sequence[Path],
    labels: Sequence[str],
    *,
    multi_label: bool = False,
    threshold: float = 0.5,
    margin: float = DEFAULT_MARGIN,
    top: int | None = None,
    examples: Path | None = None,
) -> list[Classification]:
    """Classify files (indexed or not): a file that cannot be read gets ``error`` and no labels.

    A video is classified by what it shows and what it sounds like (:func:`mix_tracks`): "glass
    breaking" is heard, "a rabbit" is seen. ``examples``: a folder of ``<label>/<files>``, a few
    of the user's own per label, counted beside the words (:mod:`sensorium.adapt`); its labels
    join ``labels``. A label that is a name the library was taught (:mod:`sensorium.names`) means
    what its examples mean, as the same name in a search does.
    """
    if examples is not None:
        return _with_examples(lib, paths, labels, examples, multi_label=multi_label, margin=margin, top=top)
    if not labels:
        raise QueryError("no labels given; pass --labels 'cat, dog' or --labels-file FILE")
    # One label has no rival to share a distribution with (it would always score 1.0): score it on its
    # own, calibrated like a search, as in multi-label mode.
    multi_label = multi_label or len(labels) == 1
    vecs = label_vectors(lib.text_encoder, list(labels), space=getattr(lib.image_encoder, "space", None))
    vecs = with_taught_names(lib, labels, vecs)
    results: list[Classification] = []
    for path in paths:
        try:
            tracks = file_tracks(lib, path, vecs, multi_label=multi_label, labels=labels)
        except QueryError as exc:
            results.append(Classification(str(path), (), error=str(exc).removeprefix("example ")))
            continue
        if multi_label:  # each label on its own: its best calibrated score in any track
            results += _kept(str(path), np.max([scores for scores, _ in tracks], axis=0), labels, threshold, top)
        else:
            results += rank_distribution([str(path)], mix_tracks(tracks)[None, :], labels, margin=margin, top=top)
    return results


def with_taught_names(lib: Library, labels: Sequence[str], vecs: np.ndarray) -> np.ndarray:
    """Label vectors where a label that is a taught name is its examples' vector (what a search by
    them compares), not the embedding of a word no model knows."""
    from sensorium.names import taught_vector

    out = vecs
    for i, label in enumerate(labels):
        vec = taught_vector(lib, label)
        if vec is not None:
            out = out.copy() if out is vecs else out
            out[i] = vec
    return out


def _with_examples(
    lib: Library,
    paths: Sequence[Path],
    labels: Sequence[str],
    folder: Path,
    *,
    multi_label: bool,
    margin: float,
    top: int | None,
) -> list[Classification]:
    from sensorium import adapt

    if multi_label:
        raise QueryError("--examples works with single-label classification; drop --multi-label")
    found = adapt.read_examples(folder)
    spelled: dict[str, str] = {}  # "Cat" given and a folder "cat" are one label, as given
    for label in [*labels, *(label for label, _ in found)]:
        spelled.setdefault(label.casefold(), label)
    pairs = [(spelled[label.casefold()], path) for label, path in found]
    names = list(spelled.values())
    if len(names) < 2:
        raise QueryError(f"{folder}: examples of one label only; give at least two labels to choose between")
    vecs = label_vectors(lib.text_encoder, names, space=getattr(lib.image_encoder, "space", None))
    vecs = with_taught_names(lib, names, vecs)
    sets = adapt.build(lib, pairs, names, vecs)
    results: list[Classification] = []
    for path in paths:
        try:
            example, tracks = example_tracks(lib, path, vecs, multi_label=False, labels=names)
        except QueryError as exc:
            results.append(Classification(str(path), (), error=str(exc).removeprefix("example ")))
            continue
        probs = adapt.adapted(mix_tracks(tracks), example.perceptual, adapt.example_of(sets, example))
        results += rank_distribution([str(path)], probs[None, :], names, margin=margin, top=top)
    return results


Track = tuple[np.ndarray, float]  # (L,) scores (a distribution, or calibrated for multi-label), best calibrated


def file_tracks(
    lib: Library, path: Path, vecs: np.ndarray, *, multi_label: bool, labels: Sequence[str] = ()
) -> list[Track]:
    """Each track's scores for the labels ``vecs``: a sound's, a picture's or note's, a video's pictures and sound.

    ``labels``: the labels' words, for what WordNet says the concepts are kinds of (pictures).

    Raises:
        QueryError: the file cannot be read or is not a supported example.
    """
    return example_tracks(lib, path, vecs, multi_label=multi_label, labels=labels)[1]


def example_tracks(
    lib: Library, path: Path, vecs: np.ndarray, *, multi_label: bool, labels: Sequence[str] = ()
) -> tuple[Example, list[Track]]:
    """:func:`file_tracks`, with the file encoded as an example (its perceptual vector: few-shot labels)."""
    from sensorium.query import encode_example

    example = encode_example(lib, path)
    if example.tags is not None:
        return example, [_heard(lib, example, vecs, multi_label, labels)]
    tracks = [_seen(lib, example, vecs, multi_label, labels)]
    sound = _sound_track(lib, path) if example.modality == "image" else None
    if sound is not None:
        tracks.append(_heard(lib, sound, vecs, multi_label, labels))
    return example, tracks


def _seen(lib: Library, example: Example, vecs: np.ndarray, multi_label: bool, labels: Sequence[str] = ()) -> Track:
    """Pictures and notes: the semantic vector against each label, calibrated like a search.

    One label among several (a distribution) also counts the picture's concept votes.
    """
    cos = example.semantic[None, :] @ vecs.T
    if multi_label and example.concepts is not None and labels:
        # each label on its own, as a search for it scores the picture (query.kind_shares)
        from sensorium.query import picture_kind

        kinds = [picture_kind(lib, label) for label in labels]
        shares = np.array([k.share_of(example.concepts, example.objects) if k else 0.0 for k in kinds])
        cos = cos + np.array([k.shift(x) if k else 0.0 for k, x in zip(kinds, shares, strict=True)])[None, :]
        calibrated = np.maximum(Calibrator.for_library(lib).scores(cos, vecs)[0], shares)
        return calibrated, float(calibrated.max())
    calibrated = Calibrator.for_library(lib).scores(cos, vecs)[0]
    if multi_label:
        return calibrated, float(calibrated.max())
    space = getattr(lib.image_encoder, "space", None)
    votes = None
    if example.concepts is not None and space is not None and len(vecs) > 1:
        classes = getattr(lib.image_encoder, "class_ids", None)
        steps = class_steps(labels, classes) if labels and classes is not None else None
        votes = concept_votes(example.concepts[None, :], vecs, space.concepts, steps)
    return distribution(example.semantic[None, :], vecs, votes=votes)[0], float(calibrated.max())


def _heard(lib: Library, example: Example, vecs: np.ndarray, multi_label: bool, labels: Sequence[str] = ()) -> Track:
    """Sounds: tag matching (offline_audio.TAG_TAU); calibrated, a label counts where it is heard best.

    A label that is a name taught by recordings means the tags heard in them (:mod:`sensorium.names`).
    """
    from sensorium.names import taught_tags

    enc = lib.audio_encoder
    assert example.tags is not None
    heard_in = {i: t for i, label in enumerate(labels) if (t := taught_tags(lib, label)) is not None}
    windows = example.window_tags if example.window_tags is not None else example.tags[None, :]
    calibrated = Calibrator.tag_score(enc.tag_scores(windows, vecs, heard_in)).max(axis=0)
    if multi_label:
        return calibrated, float(calibrated.max())
    probs = softmax_rows(enc.tag_scores(example.tags[None, :], vecs, heard_in) / TAG_TEMPERATURE)[0]
    return probs, float(calibrated.max())


def _sound_track(lib: Library, path: Path) -> Example | None:
    """A video's sound track as an example; ``None`` for a still, a video without sound or a silent one."""
    from sensorium.media.audio import has_audio_track
    from sensorium.media.probe import probe
    from sensorium.media.video import video_or_sound
    from sensorium.query import encode_example

    try:
        if probe(path) != "video" or video_or_sound(path) != "video" or not has_audio_track(path):
            return None
        return encode_example(lib, path, "audio")
    except (QueryError, MediaError, OSError):  # silent, or a track that does not decode: the pictures answer
        return None


def mix_tracks(tracks: Sequence[Track]) -> np.ndarray:
    """One distribution over labels from each track's, weighed by the square of its best calibrated score.

    A track that matches no label well (a street's sound for "a rabbit": 0.42) barely moves one
    that matches a label clearly (its pictures: 0.83); two that both match share the answer (a
    cartoon's pictures say "a rabbit", its sound says "music").
    """
    if len(tracks) == 1:
        return tracks[0][0]
    w = np.array([best * best for _, best in tracks], dtype=np.float64)
    w = w / w.sum() if w.sum() > 0 else np.full(len(tracks), 1.0 / len(tracks))
    return sum(wi * scores for wi, (scores, _) in zip(w, tracks, strict=True))


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)
