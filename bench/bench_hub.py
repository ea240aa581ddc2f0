"""Hub tier: CLIP image embedding throughput on the CPU, and the quality of a text-fitted binding.

1. **Throughput.** A ViT-B/32 of the real size (open_clip's built-in ``ViT-B-32``, random
   weights: speed does not depend on their values) is saved as a checkpoint and installed with
   ``sensorium.models.hub.add``, as a user's would be. Both sides read the same real photos from
   disk. The baseline is the reference library's naive per-image use, as its README shows it:
   ``preprocess(Image.open(p)).unsqueeze(0)`` then ``model.encode_image`` under ``torch.no_grad``,
   one image at a time. Sensorium's side is what ``sensorium index --model`` runs per batch:
   decode, then ``OpenClipModel.encode_images`` (batches, ``inference_mode``, the next batch
   preprocessed in threads while the network runs, the image tower in ONNX Runtime). The largest
   difference between the two sets of unit embeddings is printed too: speed must not change the vectors.
2. **Binding.** The map between two real text encoders of the offline tier (MiniLM → e5-small,
   both real weights), fitted through text as :mod:`sensorium.binding` fits CLIP ↔ CLAP maps;
   recall@1 on held-out sentences.

Run alone: ``python -m bench.bench_hub [n_images]``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sensorium" / "bench"


def vit_b32_checkpoint() -> Path:
    """A randomly initialised ViT-B-32 state dict (seeded), saved once."""
    import open_clip
    import torch

    path = CACHE / "vit-b-32-random.bin"
    if not path.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(0)
        model = open_clip.create_model("ViT-B-32", pretrained=None)
        tmp = path.with_suffix(".tmp")
        torch.save(model.state_dict(), tmp)
        tmp.replace(path)
    return path


def throughput(photos: list[Path]) -> dict[str, float]:
    import open_clip
    import torch
    from PIL import Image

    from sensorium.media.image import image_segments
    from sensorium.models import hub

    ckpt = vit_b32_checkpoint()
    with tempfile.TemporaryDirectory() as tmp:
        record = hub.add("openclip:ViT-B-32", Path(tmp), source=ckpt)
        model = hub.load(record, onnx=True)  # as `sensorium index --model` loads it (hub_onnx on)
        # Warm-up and ONNX export, outside the timing: a whole batch, as the baseline warms up on its own
        # steady shape (one picture); the first run of a new batch shape plans and allocates its buffers.
        model.encode_images([Image.new("RGB", (64, 64))] * model.batch_size)
        t0 = time.perf_counter()
        ours = []
        for i in range(0, len(photos), model.batch_size):
            segs = [image_segments(p, max_pixels=180_000_000)[0] for p in photos[i : i + model.batch_size]]
            ours.append(model.encode_images([s.payload for s in segs]))
        t_ours = time.perf_counter() - t0
    ours_v = np.concatenate(ours)

    ref, _, preprocess = open_clip.create_model_and_transforms("ViT-B-32", pretrained=str(ckpt))
    ref.eval()
    with torch.no_grad():
        ref.encode_image(preprocess(Image.new("RGB", (64, 64))).unsqueeze(0))  # the same warm-up
        t0 = time.perf_counter()
        naive = []
        for p in photos:
            image = preprocess(Image.open(p)).unsqueeze(0)
            naive.append(ref.encode_image(image).numpy())
        t_naive = time.perf_counter() - t0
    naive_v = np.concatenate(naive)
    naive_v /= np.linalg.norm(naive_v, axis=1, keepdims=True)
    return {
        "images": len(photos),
        "ours_per_s": len(photos) / t_ours,
        "naive_per_s": len(photos) / t_naive,
        "max_abs_diff": float(np.abs(ours_v - naive_v).max()),
        "threads": torch.get_num_threads(),
        "engine": "onnxruntime" if model._onnx else "torch",
    }


def binding_quality() -> dict[str, float]:
    from sensorium import binding
    from sensorium.config import load_settings
    from sensorium.models.registry import Registry

    settings = load_settings()
    reg = Registry.default()
    src = reg.text_encoder("minilm-l6-v1", settings)
    dst = reg.text_encoder("e5-small-v1", settings)
    names = binding.sentence_names(settings.models)
    t0 = time.perf_counter()
    found = binding.fit(
        src.info.space,
        dst.info.space,
        lambda t: src.encode_text(t, query=False),
        lambda t: dst.encode_text(t, query=False),
        names,
    )
    return {**found.summary(), "seconds": time.perf_counter() - t0}


def run(n_images: int = 128) -> dict[str, dict]:
    from bench.__main__ import photo_folder

    with tempfile.TemporaryDirectory() as tmp:
        photos = photo_folder(Path(tmp) / "photos", n_images)
        speed = throughput(photos)
    return {"throughput": speed, "binding": binding_quality()}


if __name__ == "__main__":
    import json

    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 128), indent=2))
