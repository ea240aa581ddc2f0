"""``offline-image-v1``: photos into the offline text space, without any image-text model.

What the picture holds is read by small CPU models: an EfficientNet-Lite ImageNet classifier
(:mod:`sensorium.models.imagenet`), the YOLOX-Nano COCO detector (:mod:`sensorium.models.yolox`),
where it sees a person the UltraFace face detector (:mod:`sensorium.models.faces`) and, where
text is likely, OCR (:mod:`sensorium.models.ocr`). Their outputs are mixed into the
text encoder's space by :class:`sensorium.models.concepts.Mixer` (ConSE). The classifier's pooled
features are kept as the perceptual vector (similar-looking pictures, near-duplicates).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
from PIL import Image

from sensorium.config import Settings
from sensorium.errors import MediaError
from sensorium.media.image import FULL_SIDE, load_image
from sensorium.models.base import Encoded, EncoderInfo, TextEncoder, l2_normalise
from sensorium.models.concepts import ConceptSpace, Mixer, Vocabulary, concept_space
from sensorium.models.faces import FACE, FaceDetector
from sensorium.models.files import cache_dir
from sensorium.models.imagenet import FEATURE_DIM, ImageNetClassifier, imagenet_classes, softmax
from sensorium.models.ocr import TEXT_CONCEPTS, TextReader, text_likelihood
from sensorium.models.yolox import Detection, YoloxDetector, box_share
from sensorium.types import Concept, Facts, Segment

log = logging.getLogger(__name__)

ENCODER_ID = "offline-image-v1"
OCR_GATE = 0.25  # text likelihood above which "auto" runs OCR
FACT_CONCEPTS = 5  # ImageNet concepts reported per picture...
FACT_MIN_PROB = 0.05  # ...when at least this likely
FACE_GATE = 0.5  # a person's detector score from which the picture's faces are looked for...
FACE_GATE_AREA = 0.02  # ...when its box covers at least this share of the picture


class OfflineImageEncoder:
    """Images → (semantic in the text space, perceptual features, facts).

    Args:
        settings: ``image_backbone``, ``detector``, ``faces``, ``ocr``, ``threads``, ``batch_size``, ``models``,
            ``cache``.
        text_encoder: defines the space; concept texts are embedded with it once and cached.
        mixer: how the parts are weighed (defaults measured in ``bench/tune_image.py``).
        detector_side: YOLOX input side (multiple of 32); 320 measures as well as the trained 416
            for search, at 60% of the cost.

    Each network gets half the threads, and a batch is split in two halves that run side by side,
    classifier then detector: small convolutions scale poorly across threads, two runs at once
    scale well.

    Raises:
        ModelMissing: a weights file or package is absent or fails its checksum.
    """

    max_side = 512  # longest side the media layer should hand over; more is wasted

    def __init__(
        self,
        settings: Settings,
        text_encoder: TextEncoder,
        *,
        mixer: Mixer | None = None,
        detector_side: int | None = None,
    ) -> None:
        self.text_encoder = text_encoder
        self.mixer = mixer or Mixer()
        self.ocr_mode = settings.ocr
        threads = settings.threads or os.cpu_count() or 1
        share = max(1, threads // 2) if settings.detector else threads
        self.classifier = ImageNetClassifier(settings, threads=share)
        self.detector = (
            YoloxDetector(settings, side=detector_side or settings.detector_side, threads=share)
            if settings.detector
            else None
        )
        self.faces = FaceDetector(settings, threads=share) if self.detector is not None and settings.faces else None
        self._settings = settings
        self._reader: TextReader | None = None
        classes = imagenet_classes()
        self.class_ids = tuple(c.wnid for c in classes)  # WordNet ids in output order (models.hierarchy)
        self._text_index = np.array([i for i, c in enumerate(classes) if c.wnid in TEXT_CONCEPTS], dtype=np.int64)
        objects = [*self.detector.labels, *([FACE] if self.faces else [])] if self.detector else []
        vocabulary = Vocabulary.build(classes, objects)
        tinfo = text_encoder.info
        folder = cache_dir(settings.models, settings.cache, f"concepts-{tinfo.id}-{tinfo.weights_sha256[:12]}")
        self.space: ConceptSpace = concept_space(text_encoder, vocabulary, folder)
        self.info = EncoderInfo(
            id=ENCODER_ID,
            space=tinfo.space,
            dim=tinfo.dim,
            modalities=frozenset({"image"}),
            weights_sha256=self._checksum(),
            perceptual_dim=FEATURE_DIM,
            licence="Apache-2.0 (EfficientNet-Lite, YOLOX, PP-OCR), MIT (UltraFace); "
            f"text space: {tinfo.licence or 'see its encoder'}",
            extra={
                "backbone": self.classifier.variant.name,
                "detector": str(self.detector is not None),
                "faces": str(self.faces is not None),
                "ocr": self.ocr_mode,
            },
        )

    def _checksum(self) -> str:
        """One sha256 over every input that shapes the vectors: weights, vocabulary, recipe."""
        try:
            ocr = f"rapidocr-onnxruntime=={version('rapidocr-onnxruntime')}" if self.ocr_mode != "never" else "no-ocr"
        except PackageNotFoundError:
            ocr = "rapidocr-missing"
        parts = [
            self.classifier.weights_sha256,
            self.classifier.model_key,
            self.detector.weights_sha256 if self.detector else "no-detector",
            self.faces.weights_sha256 if self.faces else "no-faces",
            f"{ocr}:{self.ocr_mode}",
            self.text_encoder.info.weights_sha256,
            self.space.vocabulary.key,
            repr(self.mixer),
            self.classifier.preprocess.crop,
            str(self.detector.side) if self.detector else "",
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()

    @property
    def reader(self) -> TextReader:
        if self._reader is None:
            self._reader = TextReader(self._settings)
        return self._reader

    def encode(self, segments: Sequence[Segment]) -> Encoded:
        """Semantic (n, dim) and perceptual (n, 1280) unit vectors, and facts, for image segments.

        Raises:
            MediaError: a segment's payload is not a PIL image.
        """
        images = [self._image(s) for s in segments]
        n, dim = len(images), self.info.dim
        if n == 0:
            return Encoded(np.zeros((0, dim), np.float32), np.zeros((0, FEATURE_DIM), np.float32), [])
        if self.detector is not None:
            logits, features, detections = self._run_models(images, self.detector)
        else:
            logits, features = self.classifier.run(images)
            detections = [[] for _ in images]
        probs = softmax(logits)
        found = [[(d.label, d.score, d.box) for d in dets] for dets in detections]
        objects = [self._dedupe(f) for f in found]
        texts = [self._read(*args) for args in zip(segments, images, probs, objects, strict=True)]

        concept_mix = self.mixer.concept_mix(self.space, logits)
        object_part = np.stack(
            [self.mixer.object_vector(self.space, f, im.size) for f, im in zip(found, images, strict=True)]
        )
        ocr_part = np.zeros((n, dim), np.float32)
        with_text = [i for i, t in enumerate(texts) if t]
        if with_text:
            vectors = self.text_encoder.encode_text([texts[i].replace("\n", " ") for i in with_text], query=True)
            ocr_part[with_text] = self.space.project(vectors)
        semantic = self.mixer.mix(concept_mix, object_part, ocr_part)
        facts = [
            Facts(concepts=self._concepts(p), objects=tuple(Concept(k, round(v, 4)) for k, v in o), ocr_text=t)
            for p, o, t in zip(probs, objects, texts, strict=True)
        ]
        boxes = [
            [(label, score, box_share(box, im.size)) for label, score, box in f]
            for f, im in zip(found, images, strict=True)
        ]
        return Encoded(semantic, l2_normalise(features), facts, concept_probs=probs, boxes=boxes)

    def _run_models(self, images: list[Image.Image], detector: YoloxDetector) -> tuple[np.ndarray, np.ndarray, list]:
        """Classifier and detector on a batch: two workers, each running both on half the batch.

        Each network has half the threads. Running the classifier on one and the detector on the
        other left the detector's worker idle a third of the time (its network is the cheaper);
        halves keep both busy (indexing 400 dev-set photos: 30 against 28 photos/s, mean of 6 pairs).
        """

        def both(part: list[Image.Image]) -> tuple[np.ndarray, np.ndarray, list]:
            logits, features = self.classifier.run(part)
            return logits, features, self._with_faces(part, detector.detect(part))

        half = (len(images) + 1) // 2
        if half == len(images):
            return both(images)
        with ThreadPoolExecutor(2, thread_name_prefix="image-models") as pool:
            (l0, f0, d0), (l1, f1, d1) = pool.map(both, [images[:half], images[half:]])
        return np.concatenate([l0, l1]), np.concatenate([f0, f1]), d0 + d1

    def find_faces(self, images: list[Image.Image]) -> list[list[Detection]]:
        """The faces in each picture, looked for as indexing does: beside a person the detector sees."""
        if self.detector is None or self.faces is None:
            return [[] for _ in images]
        found = self._with_faces(images, self.detector.detect(images))
        return [[d for d in dets if d.label == FACE] for dets in found]

    def _with_faces(self, images: list[Image.Image], detections: list[list[Detection]]) -> list[list[Detection]]:
        """Each picture's objects, and its faces where a person is clearly among them.

        A person scoring :data:`FACE_GATE` and covering :data:`FACE_GATE_AREA` of the picture at
        least: the faces of smaller ones are too small for the 320-pixel face detector, and too
        small to weigh in the picture's vector. On the dev set, 13 of 97 photos pass (18 hold a
        person at all: a speck on the Taj Mahal's steps, a bee read as one).
        """
        if self.faces is None:
            return detections
        people = [i for i, found in enumerate(detections) if any(self._clear_person(d, images[i]) for d in found)]
        for i, faces in zip(people, self.faces.detect([images[i] for i in people]), strict=True):
            detections[i] = sorted([*detections[i], *faces], key=lambda d: -d.score)
        return detections

    @staticmethod
    def _clear_person(d: Detection, image: Image.Image) -> bool:
        return d.label == "person" and d.score >= FACE_GATE and box_share(d.box, image.size) >= FACE_GATE_AREA

    @staticmethod
    def _image(segment: Segment) -> Image.Image:
        if not isinstance(segment.payload, Image.Image):
            kind = type(segment.payload).__name__
            raise MediaError(segment.source, f"segment {segment.index} holds {kind}, not a decoded image")
        im = segment.payload
        return im if im.mode == "RGB" else im.convert("RGB")

    @staticmethod
    def _dedupe(found: list[tuple[str, float, tuple[float, ...]]]) -> list[tuple[str, float]]:
        """One entry per label with its best score, best first."""
        best: dict[str, float] = {}
        for label, score, _ in found:
            best[label] = max(best.get(label, 0.0), score)
        return sorted(best.items(), key=lambda kv: -kv[1])

    def _read(self, segment: Segment, image: Image.Image, probs: np.ndarray, objects: list[tuple[str, float]]) -> str:
        if self.ocr_mode == "never":
            return ""
        if self.ocr_mode == "auto" and text_likelihood(probs, self._text_index, objects) < OCR_GATE:
            return ""
        return self.reader.read(self._sharper(segment, image))

    def _sharper(self, segment: Segment, image: Image.Image) -> Image.Image:
        """The photo from its file at :attr:`max_side` where decoding shrank it below (see ``image_segments``).

        The networks lose nothing at 400x300, but print 12 pixels high on an 800x600 photo is read
        at 512x384 and not at 400x300. Reading at 1024 read smaller print still, for 4x the OCR time.
        """
        full = segment.payload.info.get(FULL_SIDE, 0)
        if segment.modality != "image" or not segment.source or min(full, self.max_side) <= max(image.size):
            return image
        try:
            return load_image(Path(segment.source), max_pixels=self._settings.max_image_pixels, max_side=self.max_side)
        except (MediaError, OSError) as exc:  # changed or gone since it was decoded: read what we have
            log.info("%s: OCR reads the decoded picture (%s)", segment.source, exc)
            return image

    def _concepts(self, probs: np.ndarray) -> tuple[Concept, ...]:
        top = np.argsort(-probs)[:FACT_CONCEPTS]
        names = self.space.vocabulary.names
        return tuple(Concept(names[i], round(float(probs[i]), 4)) for i in top if probs[i] >= FACT_MIN_PROB)
