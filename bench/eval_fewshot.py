"""Few-shot adaptation on a labelled dev set: top-1 with words alone, and with a few examples per label.

Every file of ``DIR/<label>/<file>`` is encoded once, as ``classify --examples`` encodes files and
examples. Two settings, each over the files of labels that have at least two:

- one example: the first file of each label is its example, the other files are classified;
- all the others: each file is classified with every other file of the set as an example (leave
  one out), the weight of the examples chosen on them as ``sensorium.adapt`` chooses it.

    SENSORIUM_SPEECH=never python -m bench.eval_fewshot ../shared/devset/images
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from sensorium.adapt import DEFAULT_WEIGHT, ExampleSet, adapted, leave_one_out
from sensorium.eval import label_text
from sensorium.library import open_library
from sensorium.models.concepts import label_vectors
from sensorium.zero_shot import example_tracks, mix_tracks


def main(root: Path) -> None:
    files = sorted(p for p in root.glob("*/*") if p.is_file() and not p.name.startswith("."))
    folders = sorted({p.parent.name for p in files})
    names = [label_text(f) for f in folders]
    y = np.array([folders.index(p.parent.name) for p in files])
    with tempfile.TemporaryDirectory() as tmp:
        lib = open_library(Path(tmp) / "lib")
        vecs = label_vectors(lib.text_encoder, names, space=getattr(lib.image_encoder, "space", None))
        encoded = [example_tracks(lib, p, vecs, multi_label=False, labels=names) for p in files]
    zs = np.stack([mix_tracks(tracks) for _, tracks in encoded])
    perc = np.stack([e.perceptual / np.linalg.norm(e.perceptual) for e, _ in encoded])
    modality = "audio" if encoded[0][0].modality == "audio" else "image"
    counts = np.bincount(y, minlength=len(names))
    test = np.flatnonzero(counts[y] >= 2)
    print(f"{root.name}: {len(files)} files, {len(names)} labels; {len(test)} files of labels with 2 or more")
    print(f"  words alone:                  top-1 {np.mean(zs[test].argmax(1) == y[test]):.3f}")

    firsts = np.array([np.flatnonzero(y == c)[0] for c in range(len(names))])
    one = ExampleSet(perc[firsts], y[firsts], zs[firsts], DEFAULT_WEIGHT[modality])
    rest = np.array([i for i in test if i not in set(firsts)])
    base = np.mean(zs[rest].argmax(1) == y[rest])
    hits = np.mean([adapted(zs[i], perc[i], one).argmax() == y[i] for i in rest])
    print(f"  one example per label:        top-1 {hits:.3f} against {base:.3f} with words alone ({len(rest)} files)")

    loo = leave_one_out(perc, zs, y, modality)
    chosen = ", ".join(f"{w:g} x{k}" for w, k in sorted(loo.weights.items()))
    print(f"  all the others as examples:   top-1 {loo.top1:.3f} (weights chosen: {chosen})")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
