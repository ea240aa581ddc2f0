"""Zero-shot quality on a labelled folder (``DIR/<label>/<files>``).

Classification: every folder name is a candidate label; top-1 and top-5 accuracy.
Retrieval: every label, as words, is a search query over the folder; mean average precision
and recall@1/@5 (a query's recall@k: share of its relevant files in the top k; @1 counts a
hit when the first result is relevant). Files are indexed into the given library first (a
scratch library by default), so the numbers measure exactly what ``index`` and ``search`` do.
"""

from __future__ import annotations

import glob as globlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sensorium.adapt import FewShotReport, leave_one_out
from sensorium.errors import QueryError
from sensorium.ingest import record_id
from sensorium.models.concepts import label_vectors
from sensorium.models.offline_audio import TAG_TEMPERATURE
from sensorium.zero_shot import distribution, example_tracks, mix_tracks, softmax_rows

if TYPE_CHECKING:
    from sensorium.library import Library


@dataclass
class EvalReport:
    n: int
    top1: float
    top5: float
    map: float
    recall_at_1: float
    recall_at_5: float
    labels: list[dict[str, Any]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    few_shot: FewShotReport | None = None  # with ``few_shot=True``: the other files as examples
    modality: str = "image"  # the files measured: as asked, or what most of the labelled files are

    def to_json(self) -> dict[str, Any]:
        out = {
            "n": self.n,
            "modality": self.modality,
            "top1": round(self.top1, 4),
            "top5": round(self.top5, 4),
            "map": round(self.map, 4),
            "recall_at_1": round(self.recall_at_1, 4),
            "recall_at_5": round(self.recall_at_5, 4),
            "labels": self.labels,
            "failed": [{"path": p, "error": e} for p, e in self.failed],
        }
        if self.few_shot is not None:
            out["few_shot"] = self.few_shot.to_json()
        return out


def label_text(folder: str) -> str:
    """The words a label folder names: separators as spaces, and the running number a dataset puts
    in front ("001.Black_footed_Albatross" in CUB-200, "012.binoculars" in Caltech-256, "01_dog")
    left out, since the number would be read as part of the label. "1_dollar_bill" keeps its 1."""
    words = folder.replace("_", " ").replace("-", " ").strip()
    return re.sub(r"^(?:\d+\.|0\d*\s)\s*", "", words).strip() or words


def average_precision(relevant: np.ndarray) -> float:
    """AP of a ranked list given as a boolean array, over all relevant items in it."""
    if not relevant.any():
        return 0.0
    hits = np.cumsum(relevant)
    return float((hits / np.arange(1, len(relevant) + 1))[relevant].mean())


def _labelled(path: str, folder: Path, dirs: list[Path]) -> bool:
    """A file inside one of the label folders that is still there: loose files beside the label
    folders have no label, and files deleted since an earlier run must not be scored."""
    if not _under(path, folder):
        return False
    parts = Path(path).relative_to(folder).parts
    return len(parts) >= 2 and folder / parts[0] in dirs and os.path.exists(path)


def _most_common_modality(rows: list[dict[str, Any]]) -> str:
    """The kind most files are among pictures, videos and recordings (pictures on a tie or none)."""
    kinds = [r["modality"] for r in rows]
    return max(("image", "video", "audio"), key=lambda kind: (kinds.count(kind), kind == "image"))


def evaluate(
    lib: Library,
    folder: Path,
    *,
    modality: str | None = None,
    on_progress: Callable[[int, int, str], None] | None = None,
    few_shot: bool = False,
) -> EvalReport:
    """Index ``folder`` into ``lib`` and measure classification and retrieval on it.

    ``modality``: the files measured ("image", "video" or "audio"); ``None``, what most of the
    labelled files are (a folder of recordings measures its recordings without being told).

    ``few_shot``: also classify each file with every other file as an example
    (:func:`sensorium.adapt.leave_one_out`), to see what adapting to a few examples would gain.
    """
    folder = folder.resolve()
    dirs = sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
    if len(dirs) < 2:
        raise QueryError(f"{folder}: needs at least two label folders (<label>/<files>); found {len(dirs)}")
    labels = [label_text(d.name) for d in dirs]
    for i, label in enumerate(labels):  # "sheep" and "sheep_" would silently score as one label
        same = [d.name for d, other in zip(dirs, labels, strict=True) if other == label]
        if len(same) > 1 and same[0] == dirs[i].name:
            raise QueryError(f"{folder}: folders {', '.join(same)} are all the label '{label}'; merge or rename them")
    report = lib.index([folder], on_progress=on_progress)
    files = {r["path"]: r for r in lib.store().files().values() if r.get("status") == "done"}
    rows = lib.store().get_records([record_id(p, 0) for p in sorted(files)])
    rows = [r for r in rows if _labelled(r["path"], folder, dirs)]
    modality = modality or _most_common_modality(rows)
    rows = [r for r in rows if r["modality"] == modality]
    if not rows:
        raise QueryError(f"{folder}: no {modality} files were indexed; check `sensorium errors`")
    truth = np.array([labels.index(label_text(Path(r["path"]).relative_to(folder).parts[0])) for r in rows])
    vecs = label_vectors(lib.text_encoder, labels, space=getattr(lib.image_encoder, "space", None))
    perceptual: list[np.ndarray | None] = []
    if modality == "audio":  # the whole file pooled and tag-matched, exactly as `classify` does
        enc = lib.audio_encoder
        clips = [enc.clip_vectors(Path(r["path"])) for r in rows]
        probs = softmax_rows(enc.tag_scores(np.stack([c.probs for c in clips]), vecs) / TAG_TEMPERATURE)
        perceptual = [c.perceptual for c in clips]
    elif modality in ("video", "image"):  # exactly as `classify` does (pictures: concept votes; videos: sound too)
        tracked = [example_tracks(lib, Path(r["path"]), vecs, multi_label=False, labels=labels) for r in rows]
        probs = np.stack([mix_tracks(tracks) for _, tracks in tracked])
        perceptual = [example.perceptual for example, _ in tracked]
    else:
        probs = distribution(np.stack([np.asarray(r["vector"], dtype=np.float32) for r in rows]), vecs)
    ranks = np.argsort(-probs, axis=1)
    top1 = float((ranks[:, 0] == truth).mean())
    top5 = float((ranks[:, :5] == truth[:, None]).any(1).mean())
    per_label, aps, r1, r5 = [], [], [], []
    paths = [r["path"] for r in rows]
    glob = globlib.escape(str(folder)) + os.sep + "*"
    for li, label in enumerate(labels):
        if not (truth == li).any():
            continue
        hits = lib.search(label, limit=len(rows), modality=modality, path_glob=glob, min_score=0.0)
        ranked = list(dict.fromkeys([h.path for h in hits] + paths))  # a file ranks where its best moment does
        rel = np.array([truth[paths.index(p)] == li for p in ranked if p in paths])
        n_rel = int((truth == li).sum())
        aps.append(average_precision(rel))
        r1.append(float(rel[0]))
        r5.append(float(rel[:5].sum() / n_rel))
        mask = truth == li
        per_label.append(
            {
                "label": label,
                "n": n_rel,
                "top1": round(float((ranks[mask, 0] == li).mean()), 4),
                "ap": round(aps[-1], 4),
                "predicted": labels[int(np.bincount(ranks[mask, 0]).argmax())],
            }
        )
    adapted = None
    if few_shot:
        if not perceptual or any(p is None for p in perceptual):
            raise QueryError(f"--few-shot: {modality} files have no perceptual vectors to compare with examples")
        adapted = leave_one_out(np.stack(perceptual), probs, truth, "audio" if modality == "audio" else "image")  # type: ignore[arg-type]
    return EvalReport(
        few_shot=adapted,
        n=len(rows),
        top1=top1,
        top5=top5,
        map=float(np.mean(aps)),
        recall_at_1=float(np.mean(r1)),
        recall_at_5=float(np.mean(r5)),
        labels=per_label,
        failed=report.failures,
        modality=modality,
    )


def _under(path: str, folder: Path) -> bool:
    return path.startswith(str(folder) + os.sep)
