"""Days said in a query's words, read as ``--taken`` would take them (``sensorium.media.days_asked``)."""

from __future__ import annotations

from datetime import datetime

import pytest

from sensorium.media.dates import parse_span
from sensorium.media.days_asked import as_taken, days_asked

NOW = datetime(2026, 11, 29, 9, 30)  # a Sunday


@pytest.mark.parametrize(
    ("query", "taken", "said", "rest"),
    [
        ("a beach in summer 2019", "2019-06..2019-08", "in summer 2019", "a beach"),
        ("photos from 2019", "2019", "from 2019", "photos"),
        ("photos taken in 2019", "2019", "taken in 2019", "photos"),
        ("2019", "2019", "2019", ""),
        ("June 2023 wedding", "2023-06", "June 2023", "wedding"),
        ("snow in March 1999", "1999-03", "in March 1999", "snow"),
        ("14 June 2023", "2023-06-14", "14 June 2023", ""),
        ("the zoo on June 14th, 2023", "2023-06-14", "June 14th, 2023", "the zoo on"),
        ("2023-06-14 at the zoo", "2023-06-14", "2023-06-14", "at the zoo"),
        ("a cat since 2020", "2020..", "since 2020", "a cat"),
        ("a cat after 2020", "2021..", "after 2020", "a cat"),
        ("a dog before 2010", "..2009", "before 2010", "a dog"),
        ("birds from 2019 onwards", "2019..", "from 2019 onwards", "birds"),
        ("recorded in March 2020 or later", "2020-03..", "recorded in March 2020 or later", ""),
        ("music from the 90s", "1990..1999", "from the 90s", "music"),
        ("cars of the 1960s", "1960..1969", "the 1960s", "cars of"),
        ("in the 20s", "2020..2029", "in the 20s", ""),
        ("birds from 2019 to 2021", "2019..2021", "from 2019 to 2021", "birds"),
        ("birds from 2021 to 2019", "2019..2021", "from 2021 to 2019", "birds"),  # the years, whichever first
        ("between June 2020 and May 2021", "2020-06..2021-05", "between June 2020 and May 2021", ""),
        ("skiing in the winter of 2019", "2018-12..2019-02", "in the winter of 2019", "skiing"),
        ("photos taken yesterday", "2026-11-28", "taken yesterday", "photos"),
        ("yesterday", "2026-11-28", "yesterday", ""),
        ("the meeting recorded last week", "2026-11-16..2026-11-22", "recorded last week", "the meeting"),
        ("a picnic from last weekend", "2026-11-21..2026-11-22", "from last weekend", "a picnic"),
        ("dogs from last year", "2025", "from last year", "dogs"),
        ("last summer", "2026-06..2026-08", "last summer", ""),
    ],
)
def test_days_said_are_read_as_a_span_and_taken_out_of_the_words(query: str, taken: str, said: str, rest: str) -> None:
    asked = days_asked(query, NOW)
    assert asked is not None, query
    assert (as_taken(asked.span), asked.said, asked.rest) == (taken, said, rest)
    assert parse_span(as_taken(asked.span)) == asked.span  # what the CLI says is what --taken would do


def test_last_summer_is_the_last_that_has_ended() -> None:
    asked = days_asked("last summer", datetime(2026, 7, 10))
    assert asked is not None and as_taken(asked.span) == "2025-06..2025-08"


@pytest.mark.parametrize(
    "query",
    [
        "a 1969 car",  # a year as a word of the thing
        "a 1980s car",
        "the flood of 1993",  # "of" names what the year is of
        "talk about today's budget",  # a day counted from today, not after a word placing it in time
        "the moment they talk about last year's results",
        "a turkey in may",  # a month without its year is every May
        "room 2019",
        "in 1066",  # before photographs: no file is from then
        "a cat",
        "",
    ],
)
def test_words_that_do_not_say_days_are_left_alone(query: str) -> None:
    assert days_asked(query, NOW) is None
