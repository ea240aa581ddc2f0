"""Yes-or-no questions on a labelled dev set: yes for a file's own label, no for the others?

Each file of ``DIR/<label>/<file>`` is asked about every label (as ``sensorium ask`` scores a
yes-or-no question: the label's multi-label score; "yes" from 0.65, "no" under 0.35, "not sure"
between). Prints the share of each answer for the file's own label and for the other labels, and
the AUC of own against other scores.

    SENSORIUM_SPEECH=never python -m bench.eval_ask ../shared/devset/images
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from sensorium.ask import NO, YES
from sensorium.eval import label_text
from sensorium.library import open_library


def main(root: Path) -> None:
    files = sorted(p for p in root.glob("*/*") if p.is_file() and not p.name.startswith("."))
    folders = sorted({p.parent.name for p in files})
    names = [label_text(f) for f in folders]
    with tempfile.TemporaryDirectory() as tmp:
        results = open_library(Path(tmp) / "lib").classify(files, names, multi_label=True, threshold=0.0)
    scores = np.zeros((len(files), len(names)))
    for i, r in enumerate(results):
        for ls in r.labels:
            scores[i, names.index(ls.label)] = ls.score
    y = np.array([folders.index(p.parent.name) for p in files])
    own = scores[np.arange(len(y)), y]
    other = scores[np.ones_like(scores, bool) & (np.arange(len(names))[None, :] != y[:, None])]

    def shares(s: np.ndarray) -> str:
        return f"yes {np.mean(s >= YES):.3f}, not sure {np.mean((s >= NO) & (s < YES)):.3f}, no {np.mean(s < NO):.3f}"

    print(f"{root.name}: {len(files)} files, {len(names)} labels")
    print(f"  asked about its own label:    {shares(own)}")
    print(f"  asked about the other labels: {shares(other)}")
    print(f"  AUC, own against other:       {(own[:, None] > other[None, :]).mean():.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
