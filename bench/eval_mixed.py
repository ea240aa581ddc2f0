"""Photos and recordings in one library: does a label's query still find its own files first?

The dev set's photos and recordings are indexed together (speech off); every label that names only
photos or only recordings is a query (its folder name, underscores as spaces), and its files are the
relevant ones among the search results (each file once, at its best moment). It prints the mean
average precision of the sound labels and of the photo labels, with the track prior of
``sensorium.query`` (words that name a sound cut the pictures' scores, and the other way) and
without it (``TRACK_PRIOR = 0``), and with each label's search limited to its own modality.

    SENSORIUM_MODELS=../shared/models PYTHONPATH=src python -m bench.eval_mixed [--devset ../shared/devset]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import sensorium.query
from sensorium.eval import average_precision, label_text
from sensorium.library import open_library


def run(devset: Path) -> dict[str, dict[str, float]]:
    devset = devset.resolve()  # hits name files by their absolute path
    files = {
        str(f): (d.name, kind) for kind in ("images", "audio") for d in (devset / kind).iterdir() for f in d.iterdir()
    }
    kinds: dict[str, set[str]] = {}
    for label, kind in files.values():
        kinds.setdefault(label, set()).add(kind)
    labels = sorted(label for label, k in kinds.items() if len(k) == 1)
    result: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        lib = open_library(Path(tmp) / "lib", speech="never")
        lib.index([devset / "images", devset / "audio"])
        default = sensorium.query.TRACK_PRIOR
        for name, prior, own in (
            ("with the track prior", default, False),
            ("without", 0.0, False),
            ("own modality only", default, True),
        ):
            sensorium.query.TRACK_PRIOR = prior
            aps: dict[str, list[float]] = {"audio": [], "images": []}
            for label in labels:
                kind = next(iter(kinds[label]))
                modality = ("audio" if kind == "audio" else "image") if own else None
                hits = lib.search(label_text(label), limit=400, min_score=0.0, modality=modality)
                ranked = list(dict.fromkeys(h.path for h in hits if h.path in files))
                relevant = np.array([files[p][0] == label for p in ranked])
                total = sum(1 for lab, _ in files.values() if lab == label)
                aps[kind].append(average_precision(relevant) * relevant.sum() / total if relevant.size else 0.0)
            result[name] = {"sound labels": float(np.mean(aps["audio"])), "photo labels": float(np.mean(aps["images"]))}
        sensorium.query.TRACK_PRIOR = default
    result["labels"] = {
        "sound labels": sum("audio" in kinds[lab] for lab in labels),
        "photo labels": sum("images" in kinds[lab] for lab in labels),
    }
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--devset", type=Path, default=Path("../shared/devset"))
    res = run(parser.parse_args().devset)
    n = res.pop("labels")
    counts = f"{n['sound labels']} sound labels, {n['photo labels']} photo labels"
    print(f"mAP, photos and recordings in one library ({counts})")
    for name, row in res.items():
        print(f"  {name:<22} sound labels {row['sound labels']:.3f}   photo labels {row['photo labels']:.3f}")
