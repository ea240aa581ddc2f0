"""WordNet above the classifier's classes: what a word names, and how much of a picture is of it."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from sensorium.models import hierarchy
from sensorium.models.hierarchy import DATA_FILE, Hierarchy, class_steps, kind_of
from sensorium.models.imagenet import imagenet_classes


@pytest.fixture(scope="module")
def names() -> tuple[list[str], tuple[str, ...]]:
    from sensorium.models.concepts import clean_name

    classes = imagenet_classes()
    return [c.wnid for c in classes], tuple(clean_name(c.lemmas) for c in classes)


def test_the_shipped_hierarchy_is_the_classifiers_and_carries_its_licence() -> None:
    h = Hierarchy.load()
    assert h is not None and h.classes == tuple(c.wnid for c in imagenet_classes())
    assert "Princeton University" in (DATA_FILE.parent / "LICENSE").read_text(encoding="utf-8")
    assert set(h.objects) >= {"person", "dog", "giraffe", "cell phone"}


@pytest.mark.parametrize("word", ["dog", "dogs", "a dog", "The Dogs.", "domestic dog"])
def test_a_word_names_all_the_breeds_under_it(word: str, names) -> None:
    classes, labels = names
    kind = kind_of(word, classes, labels)
    assert kind is not None
    under = {labels[i] for i in np.flatnonzero(np.isfinite(kind.classes))}
    assert len(under) >= 110 and {"Shih-Tzu", "borzoi", "golden retriever"} <= under
    assert not {"tabby cat", "timber wolf", "coyote"} & under  # cats, and dogs' wild kin
    assert kind.objects == {"dog"}


def test_plurals_and_misses(names) -> None:
    classes, labels = names
    h = Hierarchy.load()
    assert h is not None and h.named("geese") == h.named("goose") != set()
    assert h.named("people") == h.named("person") != set()  # not in WordNet's exception list
    assert kind_of("a castle on a hill", classes, labels) is None  # a sentence is read by meaning only
    assert kind_of("sunset", classes, labels) is None  # no class is a kind of sunset
    assert kind_of("dog", classes[::-1], labels) is None  # another classifier's classes: not used


def test_a_pictures_share_and_what_it_moves(names) -> None:
    classes, labels = names
    dog = kind_of("a dog", classes, labels)
    assert dog is not None and 0.1 < dog.prior < 0.13
    breed = dog.share([["Shih-Tzu", 0.6], ["Lhasa apso", 0.3]], [])
    assert breed == pytest.approx(0.9 + 0.1 * dog.prior)
    cat = dog.share([["tabby cat", 0.9]], [["dog", 0.8]])  # the detector's "dog" does not count for dogs...
    assert cat < 0.02 and dog.shift(cat) < -0.1 < 0.1 < dog.shift(breed)
    person = kind_of("a person", classes, labels)
    assert person is not None and person.share([["suit of clothes", 0.7]], [["person", 0.9]]) > 0.9  # ...for people
    race = kind_of("race car", classes, labels)
    assert race is not None and race.broader_objects == {"car"}
    assert race.shift(race.share([["minivan", 0.9]], [])) == 0.0  # any car may be a race car: never lowered


def test_steps_prefer_the_nearest_kind(names) -> None:
    classes, labels = names
    steps = class_steps(["a dog", "an animal", "a borzoi", "fog"], classes)
    assert steps is not None
    borzoi = labels.index("borzoi")
    assert steps[borzoi, 2] == 0 < steps[borzoi, 0] < steps[borzoi, 1] < np.inf
    assert np.isinf(steps[:, 3]).all()


def test_an_unreadable_hierarchy_leaves_words_to_meaning(names, tmp_path: Path, monkeypatch, caplog) -> None:
    classes, labels = names
    broken = tmp_path / "hierarchy.json"
    broken.write_text('{"classes": [', encoding="utf-8")  # a truncated install
    monkeypatch.setattr(hierarchy, "DATA_FILE", broken)
    Hierarchy.load.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="sensorium.models.hierarchy"):
            assert kind_of("a dog", classes, labels) is None
            assert class_steps(["a dog"], classes) is None
        assert "hierarchy.json cannot be read" in caplog.text and "by meaning only" in caplog.text
    finally:
        Hierarchy.load.cache_clear()
