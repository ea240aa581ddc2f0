"""Write the WordNet hierarchy above the classifier's concepts into the package.

ImageNet's classes are WordNet noun synsets, so WordNet says what each one is a kind of: a
Shih-Tzu is a dog, a canine, a carnivore, a mammal, an animal. Search and classification use that
(:mod:`sensorium.models.hierarchy`) to read "dog" as the probability the classifier gives to all
118 breeds. This script keeps, from WordNet 3.0's noun database, the synsets that are the 1000
ImageNet-1k classes, the synsets of the detector's 80 COCO labels, and every hypernym above them,
with their lemmas, and the irregular plurals of those lemmas; it writes them to
``src/sensorium/models/wordnet/hierarchy.json`` (about 150 KB). Run again only if the classes or
the COCO senses below change:

    .venv/bin/python scripts/imagenet_hierarchy.py WORDNET_DICT_DIR COCO_LABELS_TXT

``WORDNET_DICT_DIR`` holds ``data.noun``, ``index.noun`` and ``noun.exc`` (Debian's ``wordnet-base``
installs them in ``/usr/share/wordnet``; ``apt-get download wordnet-base`` and ``dpkg-deb -x``
without installing). ``COCO_LABELS_TXT`` is ``yolox_nano/coco_labels.txt`` of the models folder.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from sensorium.models.hierarchy import DATA_FILE, normal_lemma
from sensorium.models.imagenet import imagenet_classes

# COCO labels whose first WordNet noun sense is not the detector's thing, or that WordNet spells
# otherwise: WordNet 3.0 sense names (lemma.n.N, the N-th sense in index.noun).
COCO_SENSES = {
    "stop sign": "street_sign.n.01",
    "skis": "ski.n.01",
    "sports ball": "ball.n.01",
    "kite": "kite.n.03",  # the toy, not the check or the hawk
    "wine glass": "wineglass.n.01",
    "hot dog": "hotdog.n.02",  # the food, not the show-off
    "cake": "cake.n.03",  # baked goods, not a bar of soap
    "potted plant": "pot_plant.n.01",
    "toilet": "toilet.n.02",  # the fixture, not the room
    "tv": "television_receiver.n.01",
    "mouse": "mouse.n.04",  # the computer mouse: COCO's mice are on desks
    "cell phone": "cellular_telephone.n.01",
    "microwave": "microwave.n.02",  # the oven, not the wave
    "toaster": "toaster.n.02",  # the appliance, not the person proposing a toast
    "book": "book.n.02",  # the bound pages, not the written work
    "banana": "banana.n.02",  # the fruit, not the tree
}


# Plurals WordNet's exception list leaves out because it files them as nouns of their own.
EXTRA_PLURALS = {"people": "person"}


def parse(folder: Path) -> tuple[dict[str, tuple[list[str], list[str]]], dict[str, list[str]], dict[str, str]]:
    """WordNet nouns: synset → (lemmas, hypernyms), lemma → synsets by frequency, plural → lemma."""
    synsets: dict[str, tuple[list[str], list[str]]] = {}
    for line in (folder / "data.noun").read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue  # the licence header
        fields = line.partition(" | ")[0].split()
        count = int(fields[3], 16)
        lemmas = [normal_lemma(fields[4 + 2 * i]) for i in range(count)]
        at = 4 + 2 * count
        parents = []
        for k in range(int(fields[at])):
            symbol, offset, pos = fields[at + 1 + 4 * k : at + 4 + 4 * k]
            if symbol in ("@", "@i") and pos == "n":  # hypernym, instance hypernym
                parents.append(offset)
        synsets[fields[0]] = (lemmas, parents)
    senses: dict[str, list[str]] = {}
    for line in (folder / "index.noun").read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue
        fields = line.split()
        pointers = int(fields[3])
        senses[fields[0]] = fields[4 + pointers + 2 :]
    plurals = dict(line.split()[:2] for line in (folder / "noun.exc").read_text(encoding="latin-1").splitlines())
    return synsets, senses, plurals


def main(folder: Path, coco: Path) -> None:
    synsets, senses, plurals = parse(folder)
    classes = [c.wnid for c in imagenet_classes()]
    objects: dict[str, str] = {}
    for label in (x.strip() for x in coco.read_text(encoding="utf-8").splitlines()):
        if not label:
            continue
        lemma, _, number = COCO_SENSES.get(label, label.replace(" ", "_") + ".n.1").partition(".n.")
        offset = (senses.get(lemma) or [None] * int(number))[int(number) - 1]
        if offset is None or offset not in synsets:
            raise SystemExit(f"COCO label {label!r}: no WordNet noun; add it to COCO_SENSES")
        objects[label] = "n" + offset
    keep: dict[str, tuple[list[str], list[str]]] = {}
    stack = [w[1:] for w in classes] + [w[1:] for w in objects.values()]
    while stack:
        offset = stack.pop()
        if offset in keep:
            continue
        keep[offset] = synsets[offset]
        stack += synsets[offset][1]
    lemmas = {lemma for names, _ in keep.values() for lemma in names}
    nodes = {"n" + o: [names, ["n" + p for p in parents]] for o, (names, parents) in sorted(keep.items())}
    out = {
        "about": (
            "Hypernyms above the ImageNet-1k classes and the COCO labels, from WordNet 3.0 "
            "(scripts/imagenet_hierarchy.py). WordNet 3.0 Copyright 2006 by Princeton University. "
            "All rights reserved. Used under the WordNet 3.0 license: see LICENSE beside this file."
        ),
        "classes": classes,
        "objects": objects,
        "nodes": nodes,
        "plurals": {
            p: s
            for p, s in sorted({**plurals, **EXTRA_PLURALS}.items())
            if s in lemmas and re.fullmatch(r"[a-z_'-]+", p)
        },
    }
    DATA_FILE.write_text(json.dumps(out, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{DATA_FILE}: {len(nodes)} synsets, {len(out['plurals'])} plurals, {DATA_FILE.stat().st_size} bytes")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
