"""Zero-shot quality and speed of ``offline-image-v1`` on the labelled development set.

For each text space (MiniLM, e5) and backbone (lite0/1/2) it prints top-1/top-5 accuracy of
classifying every photo among all labels (label = folder name, underscores as spaces, through
``label_vectors``), text→image mAP (each label a query ranking every photo), and encode()
throughput at batch 32. It also prints ablations of the mixing recipe and a plain baseline
(top-10 concepts, first lemma, one prompt, no detector, no centring).

    SENSORIUM_MODELS=../shared/models PYTHONPATH=src python bench/tune_image.py \
        [--devset ../shared/devset/images] [--spaces minilm,e5] [--backbones lite0,lite1,lite2] [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image

from sensorium.config import load_settings
from sensorium.models.base import l2_normalise
from sensorium.models.concepts import Mixer, label_vectors
from sensorium.models.imagenet import imagenet_classes, softmax
from sensorium.models.offline_image import OfflineImageEncoder
from sensorium.models.offline_text import E5TextEncoder, MiniLMTextEncoder
from sensorium.types import Segment

SPACES = {"minilm": MiniLMTextEncoder, "e5": E5TextEncoder}


def load_devset(root: Path, max_side: int) -> tuple[list[Image.Image], list[str]]:
    """Photos decoded and shrunk as the media layer does, with their labels."""
    images, labels = [], []
    for path in sorted(root.glob("*/*.jpg")):
        im = Image.open(path).convert("RGB")
        im.thumbnail((max_side, max_side))
        images.append(im)
        labels.append(path.parent.name)
    return images, labels


def scores(semantic: np.ndarray, label_vecs: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """top-1, top-5 over labels per image; mAP over images per label."""
    s = semantic @ label_vecs.T
    rank = np.argsort(-s, axis=1)
    top1 = float(np.mean(rank[:, 0] == y))
    top5 = float(np.mean([y[i] in rank[i, :5] for i in range(len(y))]))
    aps = []
    for j in range(label_vecs.shape[0]):
        rel = (y == j)[np.argsort(-s[:, j])]
        if rel.any():
            hits = np.cumsum(rel)
            aps.append(float((hits / np.arange(1, len(rel) + 1) * rel).sum() / rel.sum()))
    return top1, top5, float(np.mean(aps))


def plain_baseline(enc: OfflineImageEncoder, text_encoder, images, label_names) -> tuple[np.ndarray, np.ndarray]:
    """The ConSE everyone starts with: top-10 concepts, first lemma, "a photo of a {}.", raw space."""
    logits, _ = enc.classifier.run(images)
    names = [c.lemmas[0] for c in imagenet_classes()]
    concepts = text_encoder.encode_text([f"a photo of a {n}." for n in names], query=True)
    p = softmax(logits)
    keep = np.zeros_like(p)
    top = np.argsort(-p, axis=1)[:, :10]
    np.put_along_axis(keep, top, np.take_along_axis(p, top, axis=1), axis=1)
    sem = l2_normalise(keep @ concepts)
    labels = l2_normalise(text_encoder.encode_text([f"a photo of a {x}." for x in label_names], query=True))
    return sem, labels


def row(space: str, backbone: str, recipe: str, quality: tuple[float, float, float], rate=None) -> None:
    """One table line; ``rate`` is (images/s wall, CPU ms per image) when measured."""
    speed = f"{rate[0]:7.1f} {rate[1]:8.1f}" if rate is not None else ""
    print(
        f"{space:7} {backbone:8} {recipe:28} {quality[0]:6.3f} {quality[1]:6.3f} {quality[2]:6.3f} {speed}", flush=True
    )


def encode_all(enc: OfflineImageEncoder, images: list[Image.Image], batch: int = 32):
    """Semantic vectors, and (images/s wall, CPU ms per image) of encode() in batches of ``batch``.

    CPU time counts every thread of this process, so it stays meaningful when other work shares the machine.
    """
    segs = [Segment(f"img{i}", "image", 0, im) for i, im in enumerate(images)]
    enc.encode(segs[:2])  # warm up the sessions
    if enc.ocr_mode != "never":
        _ = enc.reader  # load OCR now, not inside the timing
    t0, c0 = time.perf_counter(), time.process_time()
    parts = [enc.encode(segs[i : i + batch]).semantic for i in range(0, len(segs), batch)]
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return np.concatenate(parts), (len(segs) / wall, 1000 * cpu / len(segs))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devset", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "devset" / "images")
    ap.add_argument("--spaces", default="minilm,e5")
    ap.add_argument("--backbones", default="lite0,lite1,lite2")
    ap.add_argument("--quick", action="store_true", help="skip the recipe ablations")
    args = ap.parse_args()
    models = Path(os.environ.get("SENSORIUM_MODELS", str(Path(__file__).resolve().parents[2] / "shared" / "models")))
    base = dict(models=models, batch_size=32)
    settings = load_settings(**base)
    images, label_of = load_devset(args.devset, OfflineImageEncoder.max_side)
    labels = sorted(set(label_of))
    y = np.array([labels.index(x) for x in label_of])
    print(f"dev set: {len(images)} photos, {len(labels)} labels; {os.cpu_count()} CPU threads\n")
    print(f"{'space':7} {'backbone':8} {'recipe':28} {'top-1':>6} {'top-5':>6} {'mAP':>6} {'img/s':>7} {'CPU ms':>8}")
    for space in args.spaces.split(","):
        text_encoder = SPACES[space](settings)
        for backbone in args.backbones.split(","):
            enc = OfflineImageEncoder(load_settings(**base, image_backbone=backbone), text_encoder)
            lv = label_vectors(text_encoder, labels)
            sem, rate = encode_all(enc, images)
            row(space, backbone, "default", scores(sem, lv, y), rate)
            if backbone != "lite0" or args.quick:
                continue
            sem_b, lv_b = plain_baseline(enc, text_encoder, images, [x.replace("_", " ") for x in labels])
            row(space, backbone, "plain ConSE baseline", scores(sem_b, lv_b, y))
            ablations = {
                "no objects": dict(object_weight=0.0),
                "top-10, T=1": dict(top_k=10, temperature=1.0),
                "top-20, T=2": dict(top_k=20, temperature=2.0),
                "all 1000, T=2": dict(top_k=1000),
                "top-50, T=3": dict(temperature=3.0),
                "objects x1.0": dict(object_weight=1.0),
                "no area weighting": dict(object_area=0.0),
            }
            for name, change in ablations.items():
                enc.mixer = dataclasses.replace(Mixer(), **change)
                sem, _ = encode_all(enc, images)
                row(space, backbone, name, scores(sem, lv, y))
            no_det = OfflineImageEncoder(load_settings(**base, image_backbone=backbone, detector=False), text_encoder)
            sem, rate = encode_all(no_det, images)
            row(space, backbone, "no detector", scores(sem, lv, y), rate)
            small = OfflineImageEncoder(load_settings(**base, image_backbone=backbone), text_encoder, detector_side=416)
            sem, rate = encode_all(small, images)
            row(space, backbone, "detector at 416 px", scores(sem, lv, y), rate)


if __name__ == "__main__":
    main()
