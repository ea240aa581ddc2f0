"""The days a query asks for in its own words: "a beach in summer 2019", "photos from last year".

``search --taken`` takes days as a flag; people write them into the words, as they do in a photo
app's search box. Such a phrase is read as a span of days, as ``--taken`` would give it, and taken
out of the words, so that what is left is matched by meaning: "a beach in summer 2019" searches "a
beach" among the files made from June to August 2019. Only phrases that say days unmistakably are
read: a month or a season with its year ("June 2023", "summer of 2019"), a date ("2023-06-14", "14
June 2023"), a decade ("the 1990s"), and a bare year or a day counted from today only after a word
that places it in time ("in 2019", "since 2020", "taken yesterday", "from last summer") or as the
whole query ("2019"). "A 1969 car" keeps its year, "talk about today's budget" its today and "the
flood of 1993" its flood's year.

Seasons are the northern hemisphere's months (spring March-May, summer June-August, autumn
September-November); winter 2019 is December 2018 to February 2019, the winter whose January and
February are 2019's. "Last summer" is the latest summer that has ended.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sensorium.media.dates import EARLIEST_YEAR, parse_span

Span = tuple[float | None, float | None]

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            "january jan",
            "february feb",
            "march mar",
            "april apr",
            "may",
            "june jun",
            "july jul",
            "august aug",
            "september sep sept",
            "october oct",
            "november nov",
            "december dec",
        ),
        start=1,
    )
    for name in names.split()
}
_SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}  # the month each begins
_MONTH = "(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_SEASON = "(?P<season>" + "|".join(_SEASONS) + ")"
_YEAR = r"(?P<year>1[89]\d\d|2[01]\d\d)"
_UNIT = "(?:week|weekend|month|year)"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"

_END = r"(?![\w-]|'s\b)"

# What says days by itself, wherever it stands...
_ALONE = tuple(
    (kind, re.compile(body + _END, re.IGNORECASE))
    for kind, body in (
        ("iso", r"(?P<year>\d{4})-(?P<month>\d{1,2})(?:-(?P<day>\d{1,2}))?"),
        ("day", rf"{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}"),
        ("day", rf"{_MONTH}\s+{_DAY},?\s+{_YEAR}"),
        ("month", rf"{_MONTH},?\s+(?:of\s+)?{_YEAR}"),
        ("season", rf"(?:the\s+)?{_SEASON}\s+(?:of\s+)?{_YEAR}"),
        ("decade", r"the\s+(?:(?P<decade>1[89]\d0|20\d0)|'?(?P<short>\d0))'?s"),
    )
)
# ...and what says days only after a word that places it in time ("in 2019", not "a 1969 car").
_LED = tuple(
    (kind, re.compile(body + _END, re.IGNORECASE))
    for kind, body in (
        ("decade", r"(?:the\s+)?(?P<decade>1[89]\d0|20\d0)'?s"),
        ("year", _YEAR),
        ("relative", rf"(?P<relative>today|yesterday|(?:this|last|past)\s+{_UNIT}|last\s+{_SEASON})"),
    )
)
_LEAD = re.compile(
    r"(?P<lead>(?:taken|made|recorded|shot|filmed|photographed)(?:\s+(?:in|on|during|from|around|since|before|after))?"
    r"|in|from|during|since|before|after|until|till|around|circa|back\s+in)\s+",
    re.IGNORECASE,
)
_ONWARD = re.compile(r"\s+(?:onwards?|and later|or later|and after)(?!\w)", re.IGNORECASE)
_RANGE_HEAD = re.compile(r"(?:from|between)\s+", re.IGNORECASE)
_RANGE_SEP = re.compile(r"\s*(?:-|–|\s(?:to|and|until|till|through)\s)\s*", re.IGNORECASE)
_WORD_START = re.compile(r"(?<![\w'-])\w")
_TRIM = " \t\n,;:-–"


@dataclass(frozen=True)
class DaysAsked:
    """Days read from a query: ``span`` as ``--taken`` gives it (wall-clock seconds from, to; either
    may be None), ``said`` the words read as written ("in summer 2019"), ``rest`` the query without them."""

    span: Span
    said: str
    rest: str


def days_asked(query: str, now: datetime | None = None) -> DaysAsked | None:
    """The first phrase of ``query`` that says days, read as a span of days; None where none does.

    ``now``: the wall-clock time that "yesterday" and "last year" count from (default: this machine's).
    """
    now = now or datetime.now()
    for word in _WORD_START.finditer(query):
        found = _range_at(query, word.start(), now) or _led_at(query, word.start(), now)
        found = found or _alone_at(query, word.start(), now, whole=word.start() == len(query) - len(query.lstrip()))
        if found is not None:
            (start, end), span = found
            rest = re.sub(r"\s+", " ", f"{query[:start]} {query[end:]}").strip(_TRIM)
            return DaysAsked(span=span, said=query[start:end], rest=rest)
    return None


def taken_in_words(taken: str, now: datetime | None = None) -> DaysAsked | None:
    """``--taken`` given as words that say days and nothing else ("last summer", "June 2023"), read;
    None for a span written as ``--taken`` writes it ("2023-06", "2021..2023") or for other words."""
    try:
        parse_span(taken)
        return None
    except ValueError:
        asked = days_asked(taken.strip(), now)
        return asked if asked is not None and not asked.rest else None


def _range_at(text: str, pos: int, now: datetime) -> tuple[tuple[int, int], Span] | None:
    """ "from 2019 to 2021", "between June 2020 and May 2021"."""
    head = _RANGE_HEAD.match(text, pos)
    first = head and _read(text, head.end(), now, _ALONE + _LED[:2])
    sep = first and _RANGE_SEP.match(text, first[0])
    last = sep and _read(text, sep.end(), now, _ALONE + _LED[:2])
    if not last:
        return None
    start, end = min(first[1][0], last[1][0]), max(first[1][1], last[1][1])  # "from 2021 to 2019": both years
    return (pos, last[0]), (_seconds(start), _seconds(end))


def _led_at(text: str, pos: int, now: datetime) -> tuple[tuple[int, int], Span] | None:
    lead = _LEAD.match(text, pos)
    found = lead and _read(text, lead.end(), now, _ALONE + _LED)
    if not found:
        return None
    end, (start_day, end_day) = found
    word = lead["lead"].split()[-1].lower()
    onward = _ONWARD.match(text, end)
    if onward is not None:  # "from 2019 onwards", "in 2020 and later"
        word, end = "since", onward.end()
    if word in ("since", "after"):
        span: Span = (_seconds(start_day if word == "since" else end_day), None)
    elif word in ("before", "until", "till"):
        span = (None, _seconds(start_day if word == "before" else end_day))
    else:
        span = (_seconds(start_day), _seconds(end_day))
    return (pos, end), span


def _alone_at(text: str, pos: int, now: datetime, *, whole: bool) -> tuple[tuple[int, int], Span] | None:
    """A phrase that says days by itself; "2019", "yesterday" or "last summer" only as the whole query."""
    found = _read(text, pos, now, _ALONE)
    if not found and whole:
        found = _read(text, pos, now, _LED)
        if found and text[found[0] :].strip():
            found = None
    if not found:
        return None
    end, (start_day, end_day) = found
    return (pos, end), (_seconds(start_day), _seconds(end_day))


def _read(text: str, pos: int, now: datetime, forms: tuple) -> tuple[int, tuple[datetime, datetime]] | None:
    """The first form that matches at ``pos`` and names real days: (where it ends, (first day, day after))."""
    for kind, pattern in forms:
        m = pattern.match(text, pos)
        if m is None:
            continue
        try:
            days = _days(kind, m, now)
        except ValueError:  # the 31st of June, month 13, a year before photographs
            continue
        if days is not None:
            return m.end(), days
    return None


def _days(kind: str, m: re.Match[str], now: datetime) -> tuple[datetime, datetime] | None:
    g = m.groupdict()
    if kind == "relative":
        return _relative(" ".join(g["relative"].lower().split()), now)
    if kind == "decade":
        if g.get("decade"):
            first = int(g["decade"])
        else:
            first = 2000 + int(g["short"])
            first = first if first <= now.year else first - 100
        return datetime(first, 1, 1), datetime(first + 10, 1, 1)
    year = int(g["year"])
    if year < EARLIEST_YEAR:
        raise ValueError(year)
    if kind == "season":
        return _season(g["season"].lower(), year)
    month = _MONTHS[g["month"].lower()] if kind in ("day", "month") and not g["month"].isdigit() else None
    month = month or (int(g["month"]) if g.get("month") else None)
    if g.get("day"):
        first = datetime(year, month, int(g["day"]))  # type: ignore[arg-type]
        return first, first + timedelta(days=1)
    if month is not None:
        first = datetime(year, month, 1)
        return first, first + timedelta(days=calendar.monthrange(year, month)[1])
    return datetime(year, 1, 1), datetime(year + 1, 1, 1)


def _season(name: str, year: int) -> tuple[datetime, datetime]:
    month = _SEASONS[name]
    if month == 12:  # winter 2019: December 2018 to February 2019
        return datetime(year - 1, 12, 1), datetime(year, 3, 1)
    return datetime(year, month, 1), datetime(year, month + 3, 1)


def _relative(words: str, now: datetime) -> tuple[datetime, datetime]:
    today = datetime(now.year, now.month, now.day)
    tomorrow = today + timedelta(days=1)
    monday = today - timedelta(days=today.weekday())
    month = datetime(now.year, now.month, 1)
    spans = {
        "today": (today, tomorrow),
        "yesterday": (today - timedelta(days=1), today),
        "this week": (monday, monday + timedelta(days=7)),
        "last week": (monday - timedelta(days=7), monday),
        "past week": (today - timedelta(days=7), tomorrow),
        "this weekend": (monday + timedelta(days=5), monday + timedelta(days=7)),
        "last weekend": (monday - timedelta(days=2), monday),
        "past weekend": (monday - timedelta(days=2), monday),
        "this month": (month, tomorrow),
        "last month": ((month - timedelta(days=1)).replace(day=1), month),
        "past month": (today - timedelta(days=30), tomorrow),
        "this year": (datetime(now.year, 1, 1), tomorrow),
        "last year": (datetime(now.year - 1, 1, 1), datetime(now.year, 1, 1)),
        "past year": (today - timedelta(days=365), tomorrow),
    }
    if words in spans:
        return spans[words]
    season = words.split()[-1]  # "last summer": the latest that has ended
    for year in (now.year + 1, now.year, now.year - 1):
        first, end = _season(season, year)
        if end <= today:
            return first, end
    raise ValueError(words)  # unreachable: last year's season has always ended


def as_taken(span: Span) -> str:
    """``span`` written as ``--taken`` takes it, as briefly as it goes: ``2019``, ``2019-06..2019-08``, ``2010..``."""
    epoch = datetime(1970, 1, 1)
    first, end = (None if s is None else epoch + timedelta(seconds=s) for s in span)
    whole = [d for d in (first, end) if d is not None]
    if all((d.month, d.day) == (1, 1) for d in whole):
        unit = "year"
    elif all(d.day == 1 for d in whole):
        unit = "month"
    else:
        unit = "day"

    def said(day: datetime) -> str:
        return {"year": f"{day.year}", "month": f"{day.year}-{day.month:02d}", "day": day.date().isoformat()}[unit]

    start = said(first) if first is not None else ""
    if end is None:
        return f"{start}.."
    last = end - timedelta(days=1)
    last = {"year": last.replace(month=1, day=1), "month": last.replace(day=1), "day": last}[unit]
    if first is None:
        return f"..{said(last)}"
    return start if said(last) == start else f"{start}..{said(last)}"


def _seconds(day: datetime) -> float:
    return (day - datetime(1970, 1, 1)).total_seconds()
