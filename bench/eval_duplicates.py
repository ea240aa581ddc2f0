"""Near-duplicate photos: how many edited copies of a photo are found, and how many different photos merge.

Each dev-set photo is saved with six edits: a third of its size, JPEG quality 30, 5% cropped off
each side, 20% brighter, mirrored (what duplicate finders call the same photo) and its centre 60%
(a different framing, reported apart). All are indexed into one library; for each threshold it
prints the share of (photo, edited copy) pairs and of pairs of copies of one photo whose
perceptual similarity reaches it (recall), and the number of pairs of different photos that do.

    SENSORIUM_MODELS=../shared/models PYTHONPATH=src python -m bench.eval_duplicates [--devset ../shared/devset/images]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

EDITS = ("small", "q30", "crop90", "bright", "mirror", "crop60")
THRESHOLDS = (0.75, 0.8, 0.85, 0.9, 0.95)


def edited_copies(devset: Path, out: Path) -> int:
    """Write each photo of ``devset`` and its six edits into ``out``; returns how many photos."""
    photos = sorted(p for p in devset.rglob("*") if p.is_file())
    for p in photos:
        im = ImageOps.exif_transpose(Image.open(p)).convert("RGB")
        w, h = im.size
        stem = f"{p.parent.name}-{p.stem}"
        im.save(out / f"{stem}.orig.png")
        im.resize((max(1, w // 3), max(1, h // 3)), Image.LANCZOS).save(out / f"{stem}.small.jpg", quality=85)
        im.save(out / f"{stem}.q30.jpg", quality=30)
        im.crop((w // 20, h // 20, w - w // 20, h - h // 20)).save(out / f"{stem}.crop90.jpg", quality=90)
        ImageEnhance.Brightness(im).enhance(1.2).save(out / f"{stem}.bright.jpg", quality=90)
        ImageOps.mirror(im).save(out / f"{stem}.mirror.jpg", quality=90)
        im.crop((w // 5, h // 5, w - w // 5, h - h // 5)).save(out / f"{stem}.crop60.jpg", quality=90)
    return len(photos)


def run(devset: Path) -> dict:
    from sensorium.library import open_library

    with tempfile.TemporaryDirectory() as tmp:
        folder, lib_path = Path(tmp) / "photos", Path(tmp) / "lib"
        folder.mkdir()
        n = edited_copies(devset, folder)
        cmd = [sys.executable, "-m", "sensorium.cli", "index", str(folder), "-l", str(lib_path)]
        subprocess.run(cmd, check=True, capture_output=True)
        store = open_library(lib_path).store()
        rows = store.scan(["path", "perceptual"])
    names = [Path(r["path"]).name.split(".") for r in rows]
    photo, edit = [x[0] for x in names], [x[1] for x in names]
    v = np.stack([r["perceptual"] for r in rows]).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    sims = v @ v.T
    i, j = np.triu_indices(len(rows), 1)
    same = np.array([photo[a] == photo[b] for a, b in zip(i, j, strict=True)])
    framed = np.array([edit[a] != "crop60" and edit[b] != "crop60" for a, b in zip(i, j, strict=True)])
    pair_sims = sims[i, j]
    orig = {p: k for k, (p, e) in enumerate(zip(photo, edit, strict=True)) if e == "orig"}
    result = {"photos": n, "different_pairs": int((~same).sum()), "thresholds": []}
    for t in THRESHOLDS:
        per_edit = {
            e: float(
                np.mean([sims[orig[p], k] >= t for k, (p, ee) in enumerate(zip(photo, edit, strict=True)) if ee == e])
            )
            for e in EDITS
        }
        result["thresholds"].append(
            {
                "threshold": t,
                "recall_pairs": float(np.mean(pair_sims[same & framed] >= t)),
                "recall_by_edit": per_edit,
                "different_pairs_merged": int(((pair_sims >= t) & ~same).sum()),
            }
        )
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--devset", type=Path, default=Path("../shared/devset/images"))
    res = run(parser.parse_args().devset)
    print(f"{res['photos']} photos x 7 versions; {res['different_pairs']} pairs of different photos")
    print("threshold  recall (pairs of copies)  " + "  ".join(f"{e:>6}" for e in EDITS) + "  different pairs merged")
    for row in res["thresholds"]:
        edits = "  ".join(f"{row['recall_by_edit'][e]:6.3f}" for e in EDITS)
        print(f"{row['threshold']:9.2f}  {row['recall_pairs']:24.3f}  {edits}  {row['different_pairs_merged']:22d}")
