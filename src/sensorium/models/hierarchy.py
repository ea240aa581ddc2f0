"""What a word names among the things the offline image models see, by WordNet's hypernyms.

ImageNet's 1000 classes are WordNet noun synsets, and the detector's 80 COCO labels map onto
synsets too, so WordNet says what each is a kind of: a Shih-Tzu is a dog, a canine, an animal. A
photo's semantic vector mixes the *names* of what it shows, and "dog" is only so near the name
"Shih-Tzu"; the classifier's probability on the 118 breeds under dog.n.01 says it directly. So a
word that names a synset above (or at) some of the classes is read as a kind (:class:`Kind`):

- search ranks pictures by how much of their probability falls under it (:meth:`Kind.shift`);
- classification's concept votes (:func:`sensorium.zero_shot.concept_votes`) give each concept's
  vote to the labels it is a kind of.

The synsets and their lemmas come from ``wordnet/hierarchy.json``, written from WordNet 3.0 by
``scripts/imagenet_hierarchy.py`` (licence in ``wordnet/LICENSE``).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

DATA_FILE = Path(__file__).parent / "wordnet" / "hierarchy.json"
# Search: a picture's cosine to the words moves by KIND_WEIGHT × log(share / prior), where share is
# its probability under the kind and prior the kind's share of the 1000 classes (each + KIND_EPS).
# On the objects dev set: mAP 0.636 -> 0.685 on cosine ranking (weights 0.02-0.1 all gain; scenes
# unchanged), and fewer other photos above the default minimum score (16.8 -> 11.4 per label).
KIND_WEIGHT = 0.1
KIND_EPS = 1e-3
# The detector's objects count for kinds the classes hardly cover (person: 3 of 1000 classes; giraffe:
# none). Where they cover a kind, the classes are the surer sign: YOLOX-Nano calls lions, pigs and
# donkeys "dog" at 0.6-0.9 (objects dev set mAP 0.678 counting objects for every kind, 0.681 so).
OBJECTS_BELOW_PRIOR = 0.005
ARTICLES = ("a ", "an ", "the ", "some ")
# WordNet's detachment rules for English noun plurals (its morphy), after its exception list.
PLURAL_ENDINGS = (
    ("s", ""),
    ("ses", "s"),
    ("xes", "x"),
    ("zes", "z"),
    ("ches", "ch"),
    ("shes", "sh"),
    ("men", "man"),
    ("ies", "y"),
)


def normal_lemma(word: str) -> str:
    """WordNet's spelling of a lemma as a lookup key: lower case, underscores, no syntactic marker."""
    return re.sub(r"\([a-z]+\)$", "", word.lower().strip().replace(" ", "_"))


@dataclass(frozen=True)
class Kind:
    """The classes and objects under what a word names, and the share of all classes they are."""

    word: str
    classes: np.ndarray  # (1000,) steps up from each class to the nearest synset named; inf where none
    objects: frozenset[str]  # COCO labels at or under a synset named
    broader_objects: frozenset[str]  # COCO labels above a synset named ("car" for "race car")
    names: tuple[str, ...] = ()  # the concept names in classifier order, as records keep them
    prior: float = field(init=False)  # the share of the classes under it
    under: frozenset[str] = field(init=False)  # the names of the classes under it

    def __post_init__(self) -> None:
        mask = np.isfinite(self.classes)
        object.__setattr__(self, "prior", float(mask.mean()))
        object.__setattr__(self, "under", frozenset(n for n, m in zip(self.names, mask, strict=False) if m))

    @property
    def terms(self) -> str:
        """The names under this kind as keywords, to find the records that hold them."""
        under = sorted(self.under) + sorted(self.objects)
        return " ".join(dict.fromkeys(w for name in under for w in re.findall(r"[a-z0-9]+", name.lower())))

    def share(self, concepts: Iterable[Sequence], objects: Iterable[Sequence]) -> float:
        """How much of a picture is this kind: its concepts' probability under it (or a detected object).

        ``concepts``: (name, probability) pairs a record keeps (its most likely few; the rest of
        the probability is spread as the classes are); ``objects``: (COCO label, score) pairs. A
        name two classes share ("crane": the bird, the machine) counts if either is under it.
        """
        seen = total = 0.0
        for name, p in concepts:
            total += p
            if name in self.under:
                seen += p
        return self._with_objects(seen + max(0.0, 1.0 - total) * self.prior, objects)

    def _with_objects(self, seen: float, objects: Iterable[Sequence]) -> float:
        found = 0.0
        if self.prior < OBJECTS_BELOW_PRIOR:
            found = max((s for label, s in objects if label in self.objects), default=0.0)
        return 1.0 - (1.0 - seen) * (1.0 - found)

    def share_of(self, probs: np.ndarray, objects: Iterable[Sequence]) -> float:
        """:meth:`share` from all the classifier's probabilities (an example file, not a stored record)."""
        return self._with_objects(float(probs[np.isfinite(self.classes)].sum()), objects)

    def shift(self, share: float) -> float:
        """What a picture with this ``share`` adds to its cosine to the word (negative: less than chance).

        A kind the detector sees only as something broader ("race car": a car) is never lowered by
        it: any car may be a race car.
        """
        delta = KIND_WEIGHT * (math.log(share + KIND_EPS) - math.log(self.prior + KIND_EPS))
        return max(delta, 0.0) if self.broader_objects else delta


class Hierarchy:
    """WordNet's noun synsets above the classifier's classes and the detector's labels."""

    def __init__(self, data: dict) -> None:
        self.classes: tuple[str, ...] = tuple(data["classes"])
        self.objects: dict[str, str] = dict(data["objects"])
        self.parents = {w: tuple(node[1]) for w, node in data["nodes"].items()}
        self.lemmas: dict[str, set[str]] = {}
        for wnid, node in data["nodes"].items():
            for lemma in node[0]:
                self.lemmas.setdefault(lemma, set()).add(wnid)
        self.plurals: dict[str, str] = data["plurals"]
        self._above = [self.ancestors(w) for w in self.classes]
        self._objects_above = {label: self.ancestors(w) for label, w in self.objects.items()}

    @classmethod
    @cache
    def load(cls) -> Hierarchy | None:
        """The shipped hierarchy; ``None`` (words read by meaning only, with a warning) if it cannot be read."""
        try:
            return cls(json.loads(DATA_FILE.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            log.warning("%s cannot be read (%s); words are read by meaning only: reinstall sensorium", DATA_FILE, exc)
            return None

    def ancestors(self, wnid: str) -> dict[str, int]:
        """Each synset at or above ``wnid`` with the fewest steps up to it."""
        out: dict[str, int] = {}
        frontier, step = [wnid], 0
        while frontier:
            nxt = []
            for w in frontier:
                if w not in out:
                    out[w] = step
                    nxt += self.parents.get(w, ())
            frontier, step = nxt, step + 1
        return out

    def named(self, text: str) -> set[str]:
        """The synsets a word or short phrase names as a whole ("dogs", "a race car"); empty if none."""
        word = " ".join(text.lower().split())
        for article in ARTICLES:
            word = word.removeprefix(article)
        word = normal_lemma(word.rstrip(".!?"))
        forms = {word, self.plurals.get(word, word)}
        forms |= {
            word[: -len(end)] + base for end, base in PLURAL_ENDINGS if word.endswith(end) and len(word) > len(end) + 1
        }
        return {w for form in forms for w in self.lemmas.get(form, ())}

    @lru_cache(maxsize=1024)  # noqa: B019 (one hierarchy per process)
    def kind(self, text: str, names: tuple[str, ...] = ()) -> Kind | None:
        """What ``text`` names among the classes and objects; ``None`` when it names none of them.

        ``names``: the concept names in classifier order (for :meth:`Kind.share`).
        """
        named = self.named(text)
        if not named:
            return None
        steps = np.full(len(self.classes), np.inf)
        for i, above in enumerate(self._above):
            found = [above[w] for w in named if w in above]
            if found:
                steps[i] = min(found)
        objects = frozenset(label for label, above in self._objects_above.items() if named & above.keys())
        broader = frozenset(
            label
            for label, w in self.objects.items()
            if label not in objects and any(w in self.ancestors(n) for n in named)
        )
        if not np.isfinite(steps).any() and not objects:
            return None
        return Kind(text, steps, objects, broader, tuple(names))


def class_steps(labels: Sequence[str], classes: Sequence[str]) -> np.ndarray | None:
    """(1000, L): steps up from each class to the nearest synset each label names (inf where none).

    ``None`` if the hierarchy does not cover ``classes`` (WordNet ids in classifier order).
    """
    hierarchy = Hierarchy.load()
    if hierarchy is None or tuple(classes) != hierarchy.classes:
        return None
    out = np.full((len(hierarchy.classes), len(labels)), np.inf)
    for j, label in enumerate(labels):
        kind = hierarchy.kind(label)
        if kind is not None:
            out[:, j] = kind.classes
    return out


def kind_of(text: str | None, classes: Sequence[str], names: Sequence[str]) -> Kind | None:
    """The kind ``text`` names, if the hierarchy covers these classes (WordNet ids in classifier order).

    ``names``: the classes' names as records keep them.
    """
    if not text:
        return None
    hierarchy = Hierarchy.load()
    if hierarchy is None:
        return None
    if tuple(classes) != hierarchy.classes:
        log.debug("hierarchy: the classifier's classes are not the hierarchy's; words are read by meaning only")
        return None
    return hierarchy.kind(text, tuple(names))
