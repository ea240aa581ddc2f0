"""When a file says it was made: a photo's capture time, a recording's or video's, a document's.

"The beach photos from June 2023" is how people remember a photo folder. Cameras and phones write
the moment a photo was taken into EXIF (DateTimeOriginal), editors into XMP or IPTC, phones the
moment a video began into its container (QuickTime's ``creationdate`` with its offset, MP4's
``creation_time`` in UTC), recorders and podcasts into ID3, Vorbis or RIFF dates, office programs
into a document's properties.

A date is kept as **wall-clock time**, the clock on the wall where it was taken, as seconds since
1970 read as if that clock were UTC: a photo taken at 18:23 in Lisbon and one taken at 18:23 in
Tokyo are both "18:23", as a photo app shows them and as a filter by day should see them. A time
written in UTC alone (MP4's ``creation_time``, an XMP date ending in ``Z``) is carried into this
machine's time zone, the best guess there is. A date that names only a year or a month stands for
its first day. What devices write without a clock set (0000:00:00, 1904-01-01 and 1970-01-01 at
midnight, the epochs of QuickTime and Unix) is no date.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

EARLIEST_YEAR = 1826  # the oldest surviving photograph; an earlier year is a broken field
LATEST_YEAR = 2200
_EPOCHS = {(1904, 1, 1), (1970, 1, 1), (1980, 1, 1)}  # at midnight: a clock never set, or a zero in a field

# 2023:06:14 18:23:11 (EXIF), 2023-06-14T18:23:11.5+01:00 (ISO 8601, XMP), 2023-06 and 2023 (ID3, XMP),
# 20230614 (IPTC); the zone, when there is one: Z, +01:00, +0100.
_ISO = re.compile(
    r"""^\s*(?P<y>\d{4})(?:[-:]?(?P<m>\d{2})(?:[-:]?(?P<d>\d{2})
        (?:[T\s]+(?P<H>\d{2}):?(?P<M>\d{2})(?::?(?P<S>\d{2})(?:[.,]\d+)?)?\s*(?P<z>Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?\s*$""",
    re.VERBOSE | re.IGNORECASE,
)
# PDF: D:YYYYMMDDHHmmSSOHH'mm' with everything after the year optional.
_PDF = re.compile(r"^\s*D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(Z|[+-]\d{2}'?(?:\d{2}'?)?)?", re.IGNORECASE)
_SPAN_PART = re.compile(r"^\s*(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?\s*$")


def parse_date(text: Any) -> float | None:
    """Wall-clock seconds of a date as files write it (EXIF, ISO 8601, PDF, IPTC, RFC 2822), or None."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    if not isinstance(text, str):
        return None
    text = text.replace("\x00", "").strip()
    if not text:
        return None
    match = _ISO.match(text)
    if match:
        g = match.groupdict()
        fields = (g["y"], g["m"] or 1, g["d"] or 1, g["H"] or 0, g["M"] or 0, g["S"] or 0)
        return _wall_clock(*map(int, fields), zone=g["z"])
    match = _PDF.match(text)
    if match:
        fields = [int(v) if v else (1 if i < 3 else 0) for i, v in enumerate(match.groups()[:6])]
        return _wall_clock(*fields, zone=(match[7] or "").replace("'", ""))
    try:
        moment = parsedate_to_datetime(text)  # PNG's "Creation Time" as its specification suggests
    except (TypeError, ValueError, IndexError):
        return None
    return _wall_clock(*moment.timetuple()[:6])


def first_date(values: Iterable[Any]) -> float | None:
    """The first of ``values`` that reads as a date."""
    for value in values:
        seconds = parse_date(value)
        if seconds is not None:
            return seconds
    return None


def _wall_clock(
    year: int, month: int, day: int, hour: int, minute: int, second: int, zone: str | None = None
) -> float | None:
    if not EARLIEST_YEAR <= year <= LATEST_YEAR or ((year, month, day) in _EPOCHS and hour == minute == second == 0):
        return None
    try:
        moment = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except ValueError:  # month 13, February 30th, hour 25
        return None
    if zone and zone.upper() == "Z":  # written in UTC, not where it was taken: this machine's zone is the guess
        local = moment.astimezone()
        moment = local.replace(tzinfo=UTC)
    return moment.timestamp()


def format_date(seconds: float | None) -> str | None:
    """Wall-clock seconds as ISO 8601 without a zone ("2023-06-14T18:23:11"), None for None."""
    if seconds is None:
        return None
    return (datetime(1970, 1, 1) + timedelta(seconds=round(seconds))).isoformat()


def parse_span(spec: str) -> tuple[float | None, float | None]:
    """A span of days as ``--taken`` takes it: wall-clock seconds from (inclusive) and to (exclusive).

    ``2023`` is that year, ``2023-06`` that month, ``2023-06-14`` that day; ``A..B`` runs from the
    start of A to the end of B, and either side may be left out (``..2019``, ``2021-03..``).

    Raises:
        ValueError: the spec says no span, or it ends before it starts.
    """
    text = spec.strip()
    if ".." in text:
        first, _, last = text.partition("..")
        start = _span_of(first)[0] if first.strip() else None
        end = _span_of(last)[1] if last.strip() else None
        if start is None and end is None:
            raise ValueError(f"{spec!r}: give a year, month or day on at least one side of '..'")
        if start is not None and end is not None and end <= start:
            raise ValueError(f"{spec!r}: the span ends before it starts")
        return start, end
    return _span_of(text)


def _span_of(part: str) -> tuple[float, float]:
    match = _SPAN_PART.match(part)
    if not match:
        raise ValueError(f"{part.strip()!r}: give a year (2023), a month (2023-06) or a day (2023-06-14)")
    year, month, day = int(match[1]), match[2], match[3]
    try:
        if day is not None:
            start = datetime(year, int(month), int(day))
            end = start + timedelta(days=1)
        elif month is not None:
            start = datetime(year, int(month), 1)
            end = start + timedelta(days=calendar.monthrange(year, int(month))[1])
        else:
            start, end = datetime(year, 1, 1), datetime(year + 1, 1, 1)
    except ValueError as exc:
        raise ValueError(f"{part.strip()!r}: not a date ({exc})") from None
    epoch = datetime(1970, 1, 1)
    return (start - epoch).total_seconds(), (end - epoch).total_seconds()
