"""YOLOX-Nano: the 80 COCO object classes (person, car, dog, cup...) with boxes, in numpy + ONNX Runtime.

The shared ONNX file (``<models>/yolox_nano/yolox_nano.onnx``, see its NOTICE.md) is exported for
one 416x416 image. Its only batch-specific parts are three ``Reshape`` targets ``[1, 85, -1]``;
we rewrite them to ``[0, 85, -1]`` (copy the batch size) and free the input's batch and size
axes, once, into a derived file keyed by the original checksum. That lets us run batches and
a smaller input side when speed matters; the rewritten graph gives the same detections as
the original at 416.

Input: BGR, raw 0..255, letterboxed to the top-left of a square canvas filled with 114.
Output per point: raw box offsets, sigmoid objectness and 80 sigmoid class scores.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from sensorium.config import Settings
from sensorium.models.files import ModelFile, cache_dir, resolve
from sensorium.models.onnx_export import onnx_session

log = logging.getLogger(__name__)

YOLOX_NANO = ModelFile(
    name="yolox_nano/yolox_nano.onnx",
    sha256="4903c9058f6e2553834e9905be1ae5d67e262cb6321964dbc57a49edc6fa10da",
    size=3_659_407,
    licence="Apache-2.0",
    upstream="Megvii-BaseDetection/YOLOX yolox_nano (ONNX export, see yolox_nano/NOTICE.md)",
)
STRIDES = (8, 16, 32)
PAD_VALUE = 114


@dataclass(frozen=True)
class Detection:
    """One object: COCO label, score (objectness x class), box (x0, y0, x1, y1) in image pixels."""

    label: str
    score: float
    box: tuple[float, float, float, float]


def box_share(box: tuple[float, ...], size: tuple[int, int]) -> float:
    """The share of a ``size`` picture that a box (x0, y0, x1, y1) in its pixels covers."""
    area = max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)
    return area / max(size[0] * size[1], 1)


def coco_labels(models_dir: Path) -> list[str]:
    """The 80 COCO class names in the detector's output order."""
    path = resolve(YOLOX_NANO, models_dir).parent / "coco_labels.txt"
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _make_dynamic(src: Path, out: Path) -> None:
    """Copy of the ONNX graph with a free batch axis and a free (multiple of 32) input side."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src))
    targets = {n.input[1] for n in model.graph.node if n.op_type == "Reshape"}
    for init in model.graph.initializer:
        if init.name in targets:
            shape = numpy_helper.to_array(init).copy()
            if shape.tolist()[:1] == [1]:
                shape[0] = 0
                init.CopyFrom(numpy_helper.from_array(shape, init.name))
    for value, names in ((model.graph.input[0], ("n", None, "h", "w")), (model.graph.output[0], ("n", "points", None))):
        for dim, name in zip(value.type.tensor_type.shape.dim, names, strict=True):
            if name is not None:
                dim.dim_param = name
    onnx.checker.check_model(model)
    onnx.save(model, str(out))


def letterbox(image: Image.Image, side: int) -> tuple[np.ndarray, float]:
    """(3, side, side) BGR float32 canvas with the picture scaled into its top-left, and the scale."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    w, h = image.size
    r = min(side / w, side / h)
    nw, nh = max(1, round(w * r)), max(1, round(h * r))
    canvas = np.full((side, side, 3), PAD_VALUE, dtype=np.uint8)
    canvas[:nh, :nw] = np.asarray(image.resize((nw, nh), Image.Resampling.BILINEAR))
    return canvas[:, :, ::-1].transpose(2, 0, 1).astype(np.float32), r


def _grids(side: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell offsets (points, 2) and strides (points, 1) in the network's output order."""
    cells, strides = [], []
    for s in STRIDES:
        g = side // s
        ys, xs = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
        cells.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
        strides.append(np.full((g * g, 1), s))
    return np.concatenate(cells).astype(np.float32), np.concatenate(strides).astype(np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Indices kept by greedy non-maximum suppression, best first."""
    x0, y0, x1, y1 = boxes.T
    area = (x1 - x0) * (y1 - y0)
    order = np.argsort(-scores)
    keep: list[int] = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(int(i))
        w = np.clip(np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]), 0, None)
        h = np.clip(np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]), 0, None)
        inter = w * h
        order = rest[inter / np.maximum(area[i] + area[rest] - inter, 1e-9) <= iou]
    return keep


class YoloxDetector:
    """YOLOX-Nano on COCO. ``side`` is the square input (a multiple of 32; 416 is the trained size).

    ``threads``: ONNX Runtime intra-op threads; default ``settings.threads`` (0: all cores).

    Raises:
        ModelMissing: the ONNX file is absent from ``settings.models`` or fails its checksum.
    """

    def __init__(
        self, settings: Settings, side: int = 416, threshold: float = 0.3, iou: float = 0.45, threads: int | None = None
    ) -> None:
        if side % 32:
            raise ValueError(f"YOLOX input side must be a multiple of 32, got {side}")
        src = resolve(YOLOX_NANO, settings.models)
        self.labels = coco_labels(settings.models)
        self.side, self.threshold, self.iou = side, threshold, iou
        self.batch_size = max(1, settings.batch_size)
        folder = cache_dir(settings.models, settings.cache, f"yolox-nano-{YOLOX_NANO.sha256[:12]}")
        export = lambda out: _make_dynamic(src, out)  # noqa: E731
        self._session = onnx_session(
            folder / "yolox_nano_dynamic.onnx", export, settings.threads if threads is None else threads
        )
        self._cells, self._strides = _grids(side)

    @property
    def weights_sha256(self) -> str:
        return YOLOX_NANO.sha256

    def detect(self, images: Sequence[Image.Image]) -> list[list[Detection]]:
        """Objects in each picture, best first, after per-class NMS."""
        out: list[list[Detection]] = []
        for i in range(0, len(images), self.batch_size):
            batch = images[i : i + self.batch_size]
            packed = [letterbox(im, self.side) for im in batch]
            raw = self._session.run(None, {"images": np.stack([p[0] for p in packed])})[0]
            out.extend(self._decode(raw[j], packed[j][1], *im.size) for j, im in enumerate(batch))
        return out

    def _decode(self, raw: np.ndarray, scale: float, width: int, height: int) -> list[Detection]:
        cls = raw[:, 5:]
        best = cls.argmax(axis=1)
        score = raw[:, 4] * cls[np.arange(len(cls)), best]
        hit = np.flatnonzero(score >= self.threshold)
        if hit.size == 0:
            return []
        r = raw[hit]
        centre = (r[:, :2] + self._cells[hit]) * self._strides[hit]
        size = np.exp(np.minimum(r[:, 2:4], 10.0)) * self._strides[hit]
        boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1) / scale
        boxes = np.clip(boxes, 0, [width, height, width, height])
        found: list[Detection] = []
        for c in np.unique(best[hit]):
            idx = np.flatnonzero(best[hit] == c)
            for k in nms(boxes[idx], score[hit][idx], self.iou):
                j = idx[k]
                box = tuple(float(v) for v in boxes[j])
                found.append(Detection(self.labels[int(c)], float(score[hit][j]), box))  # type: ignore[arg-type]
        found.sort(key=lambda d: -d.score)
        return found
