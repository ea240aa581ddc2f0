"""Text in pictures: RapidOCR (PP-OCRv4 detection + recognition, ONNX Runtime), gated to stay cheap.

Reading one picture costs 0.2-0.4 s on a 2-core CPU (longer side 512), ten to twenty times the
classifier and detector together, so with ``ocr = "auto"`` we read only pictures that likely hold
text: where the ImageNet classifier puts enough probability on concepts that carry writing (web
site, menu, book jacket, street sign, scoreboard, packet...) or the detector sees a COCO object
that does (book, stop sign, tv...).
That test reuses outputs already computed, so it costs nothing; it lets 2 of the 97 dev-set
photos through. ``"always"`` and ``"never"`` do what they say.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

import numpy as np
from PIL import Image

from sensorium.config import Settings
from sensorium.errors import ModelMissing
from sensorium.models.respace import respace

log = logging.getLogger(__name__)

# ImageNet-1k classes (WordNet ids) whose pictures usually show legible writing.
# web site, comic book, crossword, street sign, book jacket, menu, envelope, scoreboard, packet, carton,
# binder, shops and libraries, screens and computers, phones, clocks and meters, machines with labels,
# bottles and tubes, printed clothing, mailbox, trams and trolleybuses, rulers and scales.
_TEXT_WNIDS = """
    n06359193 n06596364 n06785654 n06794110 n07248320 n07565083 n03291819 n04149813 n03871628
    n02971356 n02840245 n02871525 n03661043 n03032252 n04443257 n02791270 n03089624 n04200800
    n04462240 n03461385 n03782006 n04152593 n04404412 n03642806 n03832673 n03180011 n03485407
    n02992529 n03196217 n03841143 n03891332 n04525305 n02977058 n03902125 n04238763 n04118776
    n03937543 n03983396 n02823428 n04591713 n04557648 n03690938 n04357314 n03595614 n04370456
    n03710193 n04487081 n04335435 n03857828 n04141975 n03584254
"""
TEXT_CONCEPTS: frozenset[str] = frozenset(_TEXT_WNIDS.split())
# COCO objects that usually carry writing.
TEXT_OBJECTS: frozenset[str] = frozenset({"book", "stop sign", "tv", "laptop", "cell phone", "parking meter"})


def text_likelihood(probs: np.ndarray, text_index: np.ndarray, objects: Iterable[tuple[str, float]] = ()) -> float:
    """How likely a picture holds text, 0..1: mass on text-bearing concepts, or the best such object.

    Args:
        probs: the classifier's (1000,) probabilities for one picture.
        text_index: indices of :data:`TEXT_CONCEPTS` in the classifier's output order.
        objects: detected (label, score) pairs.
    """
    mass = float(probs[text_index].sum()) if len(text_index) else 0.0
    best_object = max((score for label, score in objects if label in TEXT_OBJECTS), default=0.0)
    return max(mass, best_object)


class TextReader:
    """Reads the text in a picture: lines top to bottom, each kept when its confidence is high enough.

    Args:
        settings: ``threads`` for ONNX Runtime.
        min_confidence: lines recognised below this are dropped (noise on textures).
        max_side: detection runs with the longer side scaled to at most this.

    Raises:
        ModelMissing: rapidocr-onnxruntime is not installed.
    """

    def __init__(self, settings: Settings, min_confidence: float = 0.7, max_side: int = 512) -> None:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise ModelMissing(
                'OCR: rapidocr-onnxruntime is not installed; pip install rapidocr-onnxruntime, or set ocr = "never"'
            ) from exc
        threads = settings.threads or -1
        self.min_confidence = min_confidence
        self._engine = RapidOCR(
            intra_op_num_threads=threads,
            inter_op_num_threads=1,
            det_limit_type="max",
            det_limit_side_len=max_side,
            text_score=min_confidence,
        )
        self._lock = threading.Lock()  # the engine keeps per-call state

    def read(self, image: Image.Image) -> str:
        """Recognised lines joined by newlines; ``""`` when none is confident enough."""
        bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
        with self._lock:
            result, _ = self._engine(bgr, use_cls=False)
        lines = [respace(str(text).strip()) for _, text, score in (result or []) if float(score) >= self.min_confidence]
        return "\n".join(line for line in lines if len(line) > 1 or line.isalnum())
