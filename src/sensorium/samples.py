"""Real sample media that ship inside installed packages (scikit-image, matplotlib).

Used by ``make demo`` and the tests, so both run on any machine that installed Sensorium's
dev extras, offline. Files are copied under names that say what they show.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sensorium.models.files import package_dir

# (package, path inside the package, name in the sample folder)
SAMPLE_PHOTOS: tuple[tuple[str, str, str], ...] = (
    ("skimage", "data/chelsea.png", "cat-chelsea.png"),
    ("skimage", "data/coffee.png", "cup-of-coffee.png"),
    ("skimage", "data/astronaut.png", "astronaut-eileen-collins.png"),
    ("skimage", "data/rocket.jpg", "rocket-launch.jpg"),
    ("skimage", "data/motorcycle_left.png", "motorcycle.png"),
    ("skimage", "data/hubble_deep_field.jpg", "hubble-deep-field.jpg"),
    ("skimage", "data/camera.png", "cameraman.png"),
    ("skimage", "data/coins.png", "coins.png"),
    ("skimage", "data/page.png", "scanned-page.png"),
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "grace-hopper.jpg"),
)

SAMPLE_NOTE = """# Notes from the observatory trip

We drove up the mountain road after sunset. The telescope dome opened at nine and we looked at
the Andromeda galaxy, the rings of Saturn and a globular cluster. Bring warm clothes: it was
freezing at the summit, and the thermos of hot coffee was the most popular thing on the trip.
"""


def collect_samples(dest: Path) -> list[Path]:
    """Copy the sample photos (and one short note) into ``dest``; returns the files written.

    Photos whose package is not installed are left out.
    """
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for package, inner, name in SAMPLE_PHOTOS:
        root = package_dir(package)
        if root is None or not (root / inner).is_file():
            continue
        target = dest / name
        if not target.exists():
            shutil.copyfile(root / inner, target)
        written.append(target)
    note = dest / "observatory-trip.md"
    if not note.exists():
        note.write_text(SAMPLE_NOTE, encoding="utf-8")
    written.append(note)
    return written


if __name__ == "__main__":
    import sys

    for p in collect_samples(Path(sys.argv[1] if len(sys.argv) > 1 else "samples")):
        print(p)
