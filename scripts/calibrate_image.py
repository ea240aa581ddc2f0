"""Measure the int8 activation ranges of the EfficientNet-Lite classifiers and save them in the package.

The ranges (ONNX Runtime calibration caches, ``src/sensorium/models/calibration/*.json``) let a
user's machine quantise its own export of the network without any photos
(:mod:`sensorium.models.quantize`). They are measured here over the sample photos that
scikit-image and matplotlib ship (the dev extras), decoded as indexing decodes them, each also
mirrored and cropped three ways, in batches of 8. Run again after changing the export or the
recipe:

    SENSORIUM_MODELS=../shared/models .venv/bin/python scripts/calibrate_image.py [lite0 lite1 lite2]
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from sensorium.config import load_settings
from sensorium.errors import MediaError
from sensorium.models import quantize
from sensorium.models.files import package_dir
from sensorium.models.imagenet import ImageNetClassifier

BATCH = 8


def photos() -> list[Path]:
    """The sample photos of scikit-image and matplotlib, in a fixed order."""
    found = []
    for package, inner in (("skimage", "data"), ("matplotlib", "mpl-data/sample_data")):
        root = package_dir(package)
        if root is None:
            raise SystemExit(f"{package} is not installed: pip install -e '.[dev]'")
        found += sorted(p for p in (root / inner).iterdir() if p.suffix.lower() in (".png", ".jpg"))
    return found


def views(image: Image.Image) -> list[Image.Image]:
    """The photo, mirrored, and three crops (top left, bottom right, centre)."""
    w, h = image.size
    return [
        image,
        ImageOps.mirror(image),
        image.crop((0, 0, w * 3 // 4, h * 3 // 4)),
        image.crop((w // 4, h // 4, w, h)),
        image.crop((w // 8, h // 8, w * 7 // 8, h * 7 // 8)),
    ]


def batches(classifier: ImageNetClassifier, files: list[Path]) -> Iterator[dict[str, np.ndarray]]:
    from sensorium.media.image import load_image

    inputs = []
    for path in files:
        try:
            image = load_image(path, max_pixels=180_000_000, max_side=512)
        except MediaError:
            continue
        if min(image.size) >= 64:
            inputs += [classifier.preprocess(v) for v in views(image)]
    print(f"{len(inputs)} views of {len(files)} photos")
    for k in range(0, len(inputs) - BATCH + 1, BATCH):  # equal batches: the percentile collector needs them
        yield {"image": np.stack(inputs[k : k + BATCH])}


def main(variants: list[str]) -> None:
    settings = load_settings()
    files = photos()
    for name in variants:
        classifier = ImageNetClassifier(settings, variant=name, precision="float32")
        out = quantize.calibration_cache(f"efficientnet-{name}")
        quantize.calibrate(classifier.float_model, batches(classifier, files), out)
        print(f"{name}: {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["lite0", "lite1", "lite2"])
