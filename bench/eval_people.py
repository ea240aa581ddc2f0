"""Are photos of people found by how they show people: a portrait, a couple, a group?

ImageNet has no class for a person or a face, and the COCO detector says "person" for a face that
fills the frame and for a walker far off alike. Faces (UltraFace, run where a person is seen) tell
them apart. The dev-set photos (``../shared/devset/images``) are indexed once with faces and once
without (``SENSORIUM_FACES=false``); each query below was written with the photos it should find,
from their labels and file names, before any result: average precision over the whole set.

    python -m bench.eval_people
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PORTRAITS = ("man_closeup", "man_portrait", "man_portrait_outdoor", "man_smiling")
GROUPS = ("friends_in_bar", "three_men_with_tattoos", "people_on_beach", "soldiers_in_red_uniform")
QUERIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("a portrait of a man", PORTRAITS),
    ("a close-up of a face", PORTRAITS),
    ("a headshot", PORTRAITS),
    ("a couple", ("couple_toasting",)),
    ("two people", ("couple_toasting",)),
    ("a group of friends", GROUPS),
    ("a group photo", GROUPS),
    ("people", (*PORTRAITS, "woman_on_beach", "couple_toasting", *GROUPS, "concert_crowd", "pool_table_player")),
)


def average_precision(ranked: list[str], relevant: set[str]) -> float:
    found, total = 0, 0.0
    for rank, name in enumerate(ranked, 1):
        if name in relevant:
            found += 1
            total += found / rank
    return total / len(relevant)


def measure(faces: bool) -> dict[str, float]:
    """AP of each query, in a child process so that the setting is read fresh."""
    code = (
        "import json,sys,sensorium\n"
        "from pathlib import Path\n"
        "lib = sensorium.open(sys.argv[1]); lib.index([sys.argv[2]])\n"
        "hits = lambda q: [Path(h.path).stem for h in lib.search(q, limit=200, min_score=0.0)]\n"
        "out = {q: hits(q) for q in json.loads(sys.argv[3])}\n"
        "print(json.dumps(out))\n"
    )
    import json

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SENSORIUM_FACES": "true" if faces else "false"}
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                code,
                str(Path(tmp) / "lib"),
                str(REPO.parent / "shared/devset/images"),
                json.dumps([q for q, _ in QUERIES]),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    ranked = json.loads(proc.stdout.strip().splitlines()[-1])
    return {q: average_precision(ranked[q], set(rel)) for q, rel in QUERIES}


if __name__ == "__main__":
    without, with_faces = measure(False), measure(True)
    print(f"{'query':<24} {'AP without faces':>16} {'AP with faces':>14}")
    for q, _ in QUERIES:
        print(f"{q:<24} {without[q]:>16.3f} {with_faces[q]:>14.3f}")
    mean = lambda d: sum(d.values()) / len(d)  # noqa: E731
    print(f"{'mean':<24} {mean(without):>16.3f} {mean(with_faces):>14.3f}")
