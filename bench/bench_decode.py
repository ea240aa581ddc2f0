"""Decoding one 12-megapixel photo for the encoders (longer side 512), by the format it is stored in.

A camera roll is not all JPEG: phones write HEIC, cameras RAW, the web AVIF. The same picture
(scikit-image's astronaut, enlarged to 4032x3024, a phone's size) is stored in each format and
decoded as indexing decodes it (``media.image.image_segments`` with ``max_side=512``); the baseline
is the JPEG, which Pillow decodes at reduced scale (1/8: 504x378). HEIC is timed twice: without a
thumbnail, and with the 320x240 one a phone stores beside the picture, which indexing reads. RAW
is timed twice: developed from the sensor data (a DNG without preview) and through the full-size
preview a camera stores beside it.

    python -m bench.bench_decode
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

SIZE = (4032, 3024)


def _photo() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut()).resize(SIZE, Image.Resampling.LANCZOS)


def _write(folder: Path, photo: Image.Image) -> dict[str, Path]:
    paths = {"JPEG (quality 90)": folder / "photo.jpg"}
    photo.save(paths["JPEG (quality 90)"], quality=90)
    try:
        import pillow_heif

        paths["HEIC (quality 80)"] = folder / "photo.heic"
        pillow_heif.from_pillow(photo).save(paths["HEIC (quality 80)"], quality=80)
        phone = paths["HEIC with a phone's 320x240 thumbnail"] = folder / "phone.heic"
        pillow_heif.from_pillow(photo).save(phone, quality=80, thumbnails=[320])
    except ImportError:
        pass
    paths["AVIF (quality 70)"] = folder / "photo.avif"
    photo.save(paths["AVIF (quality 70)"], quality=70)
    try:
        import rawpy  # noqa: F401

        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from camera_raw import write_dng

        rgb = np.asarray(photo)
        paths["RAW, sensor data developed (DNG)"] = write_dng(folder / "developed.dng", rgb)
        paths["RAW, camera's full-size preview (DNG)"] = write_dng(folder / "preview.dng", rgb, preview=rgb)
    except ImportError:
        pass
    return paths


def run(repeats: int = 5) -> list[dict]:
    """Per format: file size, best-of-``repeats`` milliseconds to decode, and that against the JPEG's."""
    from sensorium.media.image import image_segments

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in _write(Path(tmp), _photo()).items():
            best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                image_segments(path, max_pixels=200_000_000, max_side=512)
                best = min(best, time.perf_counter() - t0)
            rows.append({"format": name, "mb": path.stat().st_size / 1e6, "ms": best * 1000})
    for row in rows:
        row["x_jpeg"] = row["ms"] / rows[0]["ms"]
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row['format']:<40} {row['mb']:6.1f} MB {row['ms']:8.0f} ms {row['x_jpeg']:6.1f}x the JPEG")
