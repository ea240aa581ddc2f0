"""UltraFace (RFB-320): where the faces are in a picture, in numpy + ONNX Runtime.

ImageNet has no class for a face and COCO's "person" says nothing of how close the person is:
a face filling a fifth of the frame is a portrait, two faces side by side a couple, a row of
small ones a group photo. The detector is the 1.3 MB ``version-RFB-320.onnx`` of
Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB (MIT; ``<models>/ultraface/NOTICE.md``).
Its graph already decodes anchors and applies a softmax: it returns, for 4,420 anchors, the
score of "face" and a box as fractions of the picture.

It runs only on pictures where the COCO detector sees a person (:meth:`FaceDetector.detect`
is handed those): a folder of landscapes pays nothing for it, and the faces of cats and dogs,
which the 320 model also finds, are looked for only beside people. The 640 model of the same
folder is stricter but costs three times as much (30 ms a picture against 10 on one core) and
found the dev set's portraits, couples and groups less well (``python -m bench.eval_people``:
mean AP 0.947 against 0.978).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from sensorium.config import Settings
from sensorium.errors import ModelMissing
from sensorium.models.files import ModelFile, resolve
from sensorium.models.onnx_export import onnx_session
from sensorium.models.yolox import Detection, nms

ULTRAFACE = ModelFile(
    name="ultraface/version-RFB-320.onnx",
    sha256="34cd7e60aeff28744c657de7a3dc64e872d506741de66987f3426f2b79f88017",
    size=1_270_727,
    licence="MIT",
    upstream="Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB models/onnx/version-RFB-320.onnx"
    " (see ultraface/NOTICE.md)",
)
INPUT_SIZE = (320, 240)  # width, height: the whole picture is resized to it, no letterbox
FACE = "face"  # the label of a face among a picture's detected objects


class FaceDetector:
    """Faces with a score of at least ``threshold`` (0.7, upstream's), after NMS at IoU ``iou`` (0.3).

    Raises:
        ModelMissing: the ONNX file is absent from ``settings.models`` or fails its checksum.
    """

    def __init__(
        self, settings: Settings, threshold: float = 0.7, iou: float = 0.3, threads: int | None = None
    ) -> None:
        try:
            path = resolve(ULTRAFACE, settings.models)
        except ModelMissing as exc:
            raise ModelMissing(f"{exc}; or go without faces: faces = false (SENSORIUM_FACES=false)") from None
        self.threshold, self.iou = threshold, iou
        self._session = onnx_session(path, None, settings.threads if threads is None else threads)

    @property
    def weights_sha256(self) -> str:
        return ULTRAFACE.sha256

    def detect(self, images: Sequence[Image.Image]) -> list[list[Detection]]:
        """The faces in each picture, best first, boxes in the picture's pixels."""
        return [self._detect(image) for image in images]

    def _detect(self, image: Image.Image) -> list[Detection]:
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        x = np.asarray(rgb.resize(INPUT_SIZE, Image.Resampling.BILINEAR), dtype=np.float32)
        x = ((x - 127.0) / 128.0).transpose(2, 0, 1)[None]
        scores, boxes = self._session.run(None, {"input": x})
        score = scores[0, :, 1]
        hit = np.flatnonzero(score > self.threshold)
        if hit.size == 0:
            return []
        w, h = image.size
        scaled = np.clip(boxes[0, hit], 0.0, 1.0) * np.array([w, h, w, h], dtype=np.float32)
        kept = nms(scaled, score[hit], self.iou)
        return [Detection(FACE, float(score[hit][k]), tuple(float(v) for v in scaled[k])) for k in kept]  # type: ignore[arg-type]
