"""Reading a closed question: its kind and the words it asks about."""

from __future__ import annotations

import pytest

from sensorium.ask import parse, plural
from sensorium.errors import QueryError


@pytest.mark.parametrize(
    ("question", "kind", "about"),
    [
        ("Is there a dog?", "yes/no", "a dog"),
        ("are there any birds", "yes/no", "birds"),
        ("Does it show a bridge?", "yes/no", "a bridge"),
        ("does the photo contain a red car?", "yes/no", "a red car"),
        ("Can you hear rain?", "yes/no", "rain"),
        ("do you see people dancing?", "yes/no", "people dancing"),
        ("Is this a cat?", "yes/no", "a cat"),
        ("is this a photo of a beach?", "yes/no", "a beach"),
        ("Is the dog barking?", "yes/no", "the dog barking"),
        ("is anyone speaking?", "yes/no", "someone speaking"),
        ("Are they dancing?", "yes/no", "someone dancing"),
        ("is it raining?", "yes/no", "raining"),
        ("Gibt es einen Hund?", "yes/no", "gibt es einen hund"),  # another language: scored whole
        ("How many people are there?", "count", "people"),
        ("how many cars can you see", "count", "cars"),
        ("How many cups are in the picture?", "count", "cups"),
        ("What does it say?", "says", ""),
        ("what is written on it", "says", ""),
        ("What's this?", "shows", ""),
        ("what can you hear?", "shows", ""),
    ],
)
def test_questions_are_read_for_their_kind_and_subject(question: str, kind: str, about: str) -> None:
    assert parse(question) == (kind, about)


@pytest.mark.parametrize(
    ("question", "says"),
    [
        ("", "empty question"),
        ("  ?", "empty question"),
        ("Why is the sky blue?", "cannot answer that"),
        ("is there?", "asks about nothing"),
    ],
)
def test_what_cannot_be_answered_says_so(question: str, says: str) -> None:
    with pytest.raises(QueryError, match=says):
        parse(question)


def test_counts_are_said_in_words() -> None:
    assert [plural(1, "person"), plural(3, "person"), plural(2, "bus"), plural(0, "cup"), plural(2, "butterfly")] == [
        "1 person",
        "3 people",
        "2 buses",
        "0 cups",
        "2 butterflies",
    ]
