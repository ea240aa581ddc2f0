"""The naive image path the benchmark compares against: the same recipe, none of the engineering.

One image at a time: full-size PIL decode, the EfficientNet-Lite classifier in eager PyTorch
(``efficientnet_lite_pytorch``), YOLOX-Nano from the original batch-1 ONNX file at 416 px, then the
same ConSE mix as ``offline-image-v1``. No batching, no ONNX export of the classifier, no
concurrency, no OCR. Given the same decoded picture its vectors match ``OfflineImageEncoder``
with ``detector_side=416`` (cosine 1.0000 on 24 dev-set photos); only the speed differs.

    SENSORIUM_MODELS=../shared/models PYTHONPATH=src python bench/naive_image.py IMAGE...
"""

from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from sensorium.config import Settings, load_settings
from sensorium.models.concepts import Mixer, Vocabulary, concept_space
from sensorium.models.files import cache_dir, resolve
from sensorium.models.imagenet import VARIANTS, Preprocess, build_torch_model, imagenet_classes
from sensorium.models.offline_text import MiniLMTextEncoder
from sensorium.models.yolox import YOLOX_NANO, YoloxDetector, coco_labels, letterbox


class NaiveImageEncoder:
    """Eager PyTorch classifier + batch-1 ONNX detector, one picture per call."""

    def __init__(self, settings: Settings) -> None:
        import onnxruntime as ort
        import torch

        variant = VARIANTS[settings.image_backbone]
        self.torch = torch
        self.model = build_torch_model(variant, resolve(variant.weights, settings.models))
        self.preprocess = Preprocess(variant.image_size)
        self.detector_session = ort.InferenceSession(
            str(resolve(YOLOX_NANO, settings.models)), providers=["CPUExecutionProvider"]
        )
        self.decoder = YoloxDetector(settings, side=416)  # only its numpy decoding is used
        self.text_encoder = MiniLMTextEncoder(settings)
        vocabulary = Vocabulary.build(imagenet_classes(), coco_labels(settings.models))
        info = self.text_encoder.info
        folder = cache_dir(settings.models, settings.cache, f"concepts-{info.id}-{info.weights_sha256[:12]}")
        self.space = concept_space(self.text_encoder, vocabulary, folder)
        self.mixer = Mixer()

    def encode(self, path: Path) -> np.ndarray:
        image = Image.open(path).convert("RGB")
        x = self.torch.from_numpy(self.preprocess(image)[None])
        with self.torch.inference_mode():
            logits = self.model(x).numpy()
        canvas, scale = letterbox(image, 416)
        raw = self.detector_session.run(None, {"images": canvas[None]})[0]
        found = [(d.label, d.score, d.box) for d in self.decoder._decode(raw[0], scale, *image.size)]
        objects = self.mixer.object_vector(self.space, found, image.size)[None]
        return self.mixer.mix(self.mixer.concept_mix(self.space, logits), objects)[0]


@functools.cache
def _encoder() -> NaiveImageEncoder:
    models = Path(os.environ.get("SENSORIUM_MODELS", str(Path(__file__).resolve().parents[2] / "shared" / "models")))
    return NaiveImageEncoder(load_settings(models=models))


def naive_encode(path: str | Path) -> np.ndarray:
    """Semantic vector (d,) of one image file, the slow and simple way."""
    return _encoder().encode(Path(path))


if __name__ == "__main__":
    paths = sys.argv[1:]
    naive_encode(paths[0])  # load models outside the timing
    start = time.perf_counter()
    for p in paths:
        naive_encode(p)
    print(f"{len(paths) / (time.perf_counter() - start):.1f} images/s (naive, one at a time)")
