"""Do GPS places cost what the pictures are found by? And are places found by their names?

The dev-set photos (``../shared/devset/images``) are copied with the GPS position of one of twelve
cities in their EXIF, as a phone writes it, and indexed twice: with their own words (the places)
and with ``file_tags`` off. Each label is then searched as words, as ``sensorium eval`` names it;
a query counts at rank k when a photo of its label is among its first k hits. Then each city is
searched by name ("photos from Lisbon"), each country ("photos from Portugal") and each continent
("photos from Europe"), as the search ranks them and with the rule that caps a photo placed in
another country than the query names (``query._taken_elsewhere``) turned off: the share of the
place's photos found (recall) and of the hits that are of it (precision), at the default floor.

    python -m bench.eval_places
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CITIES = {
    "Lisbon": (38.7223, -9.1393),
    "Paris": (48.8584, 2.2945),
    "New York": (40.6892, -74.0445),
    "Kyoto": (35.0116, 135.7681),
    "London": (51.5007, -0.1246),
    "Sydney": (-33.8568, 151.2153),
    "Utrecht": (52.0907, 5.1214),
    "Rome": (41.9028, 12.4964),
    "Moscow": (55.7558, 37.6173),
    "Rio de Janeiro": (-22.9068, -43.1729),
    "Mexico City": (19.4326, -99.1332),
    "San Francisco": (37.7749, -122.4194),
}
COUNTRY = {
    "Lisbon": "Portugal",
    "Paris": "France",
    "New York": "United States",
    "Kyoto": "Japan",
    "London": "United Kingdom",
    "Sydney": "Australia",
    "Utrecht": "Netherlands",
    "Rome": "Italy",
    "Moscow": "Russian Federation",
    "Rio de Janeiro": "Brazil",
    "Mexico City": "Mexico",
    "San Francisco": "United States",
}
CONTINENT = {
    "Lisbon": "Europe",
    "Paris": "Europe",
    "New York": "North America",
    "Kyoto": "Asia",
    "London": "Europe",
    "Sydney": "Oceania",
    "Utrecht": "Europe",
    "Rome": "Europe",
    "Moscow": "Europe",
    "Rio de Janeiro": "South America",
    "Mexico City": "North America",
    "San Francisco": "North America",
}


def _dms(x: float) -> tuple[float, float, float]:
    x = abs(x)
    d = int(x)
    m = int((x - d) * 60)
    return float(d), float(m), round(((x - d) * 60 - m) * 60, 2)


def write_photos(dest: Path) -> dict[str, str]:
    """The dev-set photos with a city's position each; returns path -> city."""
    from PIL import Image

    rng = random.Random(1)
    where = {}
    for src in sorted((REPO.parent / "shared/devset/images").glob("*/*.jpg")):
        city = rng.choice(sorted(CITIES))
        lat, lon = CITIES[city]
        exif = Image.Exif()
        exif.get_ifd(0x8825).update(
            {1: "N" if lat >= 0 else "S", 2: _dms(lat), 3: "E" if lon >= 0 else "W", 4: _dms(lon)}
        )
        out = dest / src.parent.name / src.name
        out.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(src) as img:
            img.save(out, exif=exif, quality=92)
        where[str(out.resolve())] = city
    return where


def run() -> dict:
    import sensorium

    with tempfile.TemporaryDirectory() as tmp:
        photos = Path(tmp) / "photos"
        where = write_photos(photos)
        labels = sorted(d.name for d in photos.iterdir())
        out: dict = {}
        for name, tags in (("without places", "0"), ("with places", "1")):
            os.environ["SENSORIUM_FILE_TAGS"] = tags
            lib = sensorium.open(Path(tmp) / name.replace(" ", "-"))
            lib.index([photos])
            at1 = at5 = 0
            stray = 0.0  # the best score of a place's record for a label query
            for label in labels:
                hits = lib.search(label.replace("_", " "), limit=5, min_score=0)
                found = [Path(h.path).parent.name for h in hits]
                at1 += found[:1] == [label]
                at5 += label in found
                stray = max([stray, *(h.score for h in hits if h.track == "tags")])
            row = {"recall_at_1": at1 / len(labels), "recall_at_5": at5 / len(labels), "best_place_score": stray}
            if tags == "1":
                for rule in ("on", "off"):
                    for kind, of in (("city", {c: c for c in CITIES}), ("country", COUNTRY), ("continent", CONTINENT)):
                        recall, precision = places(lib, where, of, rule == "on")
                        row[f"{kind}_recall_rule_{rule}"], row[f"{kind}_precision_rule_{rule}"] = recall, precision
            out[name] = row
        os.environ.pop("SENSORIUM_FILE_TAGS", None)
    return out


def places(lib, where: dict[str, str], of: dict[str, str], rule: bool) -> tuple[float, float]:
    """Mean recall and precision of "photos from <place>" over the places (``of``: city -> its city,
    country or continent), with the rule that caps photos placed elsewhere on or off."""
    from unittest import mock

    from sensorium import query

    recalls, precisions = [], []
    with mock.patch.object(query, "_taken_elsewhere", query._taken_elsewhere if rule else lambda *a: None):
        for place in sorted(set(of.values())):
            hits = lib.search(f"photos from {place}", limit=20)
            mine = sum(1 for c in where.values() if of[c] == place)
            right = sum(of.get(where.get(h.path, ""), "") == place for h in hits)
            recalls.append(right / max(min(mine, 20), 1))
            precisions.append(right / len(hits) if hits else 1.0)
    return sum(recalls) / len(recalls), sum(precisions) / len(precisions)


if __name__ == "__main__":
    for name, row in run().items():
        print(f"{name:16s} " + "  ".join(f"{k} {v:.3f}" for k, v in row.items()))
