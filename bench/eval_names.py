"""Names taught by example (``sensorium names add``): does a code name find its label's other files?

Every file of a labelled dev set (``DIR/<label>/<file>``) is indexed in one library. For each label
with more than ``k`` files, its first ``k`` files (sorted by name) teach a code name that no model
knows ("xq17"), and the code name is searched alone; the label's other files are the right answers,
ranked among every file that taught nothing. The same files are also searched by the label's words
(zero-shot) and by words and name together ("xq17 beach"), and by the code name untaught (which can
only find them by chance). Mean AP over the labels, at 1 and 2 examples. Then classification: each
label taught by its first file, the others classified among all the labels (:func:`classify_run`):

    SENSORIUM_SPEECH=never python -m bench.eval_names ../shared/devset/images
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from sensorium.eval import label_text
from sensorium.library import open_library


def run(root: Path, shots: tuple[int, ...] = (1, 2)) -> dict[str, float]:
    files = sorted(p for p in root.glob("*/*") if p.is_file() and not p.name.startswith("."))
    by_label: dict[str, list[Path]] = {}
    for f in files:
        by_label.setdefault(f.parent.name, []).append(f)
    out: dict[str, float] = {"files": float(len(files))}
    with tempfile.TemporaryDirectory() as tmp:
        lib = open_library(Path(tmp) / "lib")
        lib.index([root])

        def ap(query: str, label: str, examples: list[Path]) -> float:
            taught = {str(p.resolve()) for p in examples}
            hits = [h for h in lib.search(query, limit=len(files), min_score=0) if h.path not in taught]
            ranked = list(dict.fromkeys(h.path for h in hits))
            right = {str(p.resolve()) for p in by_label[label]} - taught
            found, total = 0, 0.0
            for rank, path in enumerate(ranked, start=1):  # right files never returned count as missed
                if path in right:
                    found += 1
                    total += found / rank
            return total / len(right)

        for k in shots:
            labels = sorted(lab for lab, fs in by_label.items() if len(fs) > k)  # one file at least to find
            out[f"labels_{k}"] = float(len(labels))
            rows: dict[str, list[float]] = {"untaught": [], "words": [], "name": [], "name_and_words": []}
            for i, label in enumerate(labels):
                examples, code = by_label[label][:k], f"xq{i}"
                rows["untaught"].append(ap(code, label, examples))
                rows["words"].append(ap(label_text(label), label, examples))
                lib.teach(code, examples)
                rows["name"].append(ap(code, label, examples))
                rows["name_and_words"].append(ap(f"{code} {label_text(label)}", label, examples))
                lib.forget_name(code)
            for key, values in rows.items():
                out[f"{key}_{k}"] = sum(values) / len(values)
    return out


def classify_run(root: Path) -> dict[str, float]:
    """Classification with taught names: each label with two files or more is taught a code name by its
    first file; the others are classified among every label (code names, and words for labels with one
    file). Top-1 against the same files classified by the labels' words."""
    files = sorted(p for p in root.glob("*/*") if p.is_file() and not p.name.startswith("."))
    by_label: dict[str, list[Path]] = {}
    for f in files:
        by_label.setdefault(f.parent.name, []).append(f)
    labels = sorted(by_label)
    taught = [lab for lab in labels if len(by_label[lab]) >= 2]
    code = {lab: f"xq{i}" for i, lab in enumerate(labels)}
    with tempfile.TemporaryDirectory() as tmp:
        lib = open_library(Path(tmp) / "lib")
        for lab in taught:
            lib.teach(code[lab], [by_label[lab][0]])
        test = [(f, lab) for lab in taught for f in by_label[lab][1:]]
        named = lib.classify([f for f, _ in test], [code[lab] if lab in taught else label_text(lab) for lab in labels])
        worded = lib.classify([f for f, _ in test], [label_text(lab) for lab in labels])
    return {
        "files": float(len(test)),
        "labels": float(len(labels)),
        "taught": float(len(taught)),
        "names_top1": sum(r.labels[0].label == code[lab] for r, (_, lab) in zip(named, test, strict=True)) / len(test),
        "words_top1": sum(r.labels[0].label == label_text(lab) for r, (_, lab) in zip(worded, test, strict=True))
        / len(test),
    }


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/devset/images")
    result = run(root)
    print(f"{root}: {int(result['files'])} files")
    for k in (1, 2):
        print(
            f"  {k} example{'s' if k > 1 else ''} ({int(result[f'labels_{k}'])} labels):"
            f" mean AP  untaught name {result[f'untaught_{k}']:.3f}"
            f"  words {result[f'words_{k}']:.3f}  taught name {result[f'name_{k}']:.3f}"
            f"  name and words {result[f'name_and_words_{k}']:.3f}"
        )
    c = classify_run(root)
    print(
        f"  classify {int(c['files'])} files among {int(c['labels'])} labels, {int(c['taught'])} taught by one"
        f" file: top-1 with names {c['names_top1']:.3f}, with the labels' words {c['words_top1']:.3f}"
    )
