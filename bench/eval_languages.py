"""Queries in other languages: does "ein Hund" find the dog photo as "a dog" does?

Nine dev-set labels (``../shared/devset/images``), each asked in English, German, French and
Spanish with modality image; a query counts at rank k when a photo of its label is among its
first k hits. The default text encoder reads English with MiniLM and other languages through
multilingual-e5-small mapped into MiniLM's space (``sensorium.models.multilingual``).

    python -m bench.eval_languages [LIBRARY]

LIBRARY: a library of the dev-set photos (indexed into a temporary one when not given).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

# label folder: (English, German, French, Spanish)
QUERIES: dict[str, tuple[str, str, str, str]] = {
    "dog": ("a dog", "ein Hund", "un chien", "un perro"),
    "beach": ("a beach", "ein Strand", "une plage", "una playa"),
    "lighthouse": ("a lighthouse", "ein Leuchtturm", "un phare", "un faro"),
    "volcano": ("a volcano", "ein Vulkan", "un volcan", "un volcán"),
    "bridge": ("a bridge", "eine Brücke", "un pont", "un puente"),
    "lion": ("a lion", "ein Löwe", "un lion", "un león"),
    "butterfly": ("a butterfly", "ein Schmetterling", "un papillon", "una mariposa"),
    "train_station": ("a train station", "ein Bahnhof", "une gare", "una estación de tren"),
    "jellyfish": ("a jellyfish", "eine Qualle", "une méduse", "una medusa"),
}
LANGUAGES = ("English", "German", "French", "Spanish")


def main(library: str | None = None) -> None:
    import sensorium

    photos = Path(__file__).resolve().parents[2] / "shared/devset/images"
    if library is None:
        library = str(Path(tempfile.mkdtemp(prefix="sensorium-languages-")) / "library")
        sensorium.open(library).index([photos])
    lib = sensorium.open(library)
    ranks: dict[str, list[int | None]] = {lang: [] for lang in LANGUAGES}
    for label, queries in QUERIES.items():
        for lang, query in zip(LANGUAGES, queries, strict=True):
            hits = lib.search(query, modality="image", min_score=0, limit=5)
            ranks[lang].append(next((i + 1 for i, h in enumerate(hits) if Path(h.path).parent.name == label), None))
    print(f"{len(QUERIES)} labels, a query each per language (modality image)")
    print(f" {'language':<10}{'top-1':>7}{'top-5':>7}")
    for lang, found in ranks.items():
        top1 = sum(r == 1 for r in found)
        top5 = sum(r is not None for r in found)
        print(f" {lang:<10}{top1:>5}/{len(found)}{top5:>5}/{len(found)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
