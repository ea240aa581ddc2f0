"""Post-training int8 quantisation of an exported image network, with its activation ranges shipped.

Static int8 (ONNX Runtime's QDQ format: weights per output channel, activations per tensor) runs
EfficientNet-Lite0 about 2.3× faster on a CPU core than float32. Static quantisation needs the
range of every activation, measured by running the float network over real photos. Those photos
(scikit-image's and matplotlib's samples) are a development dependency, so the ranges are
measured once, by ``scripts/calibrate_image.py``, and shipped beside this module as ONNX Runtime
calibration caches (``calibration/<name>.json``); a user's machine quantises its own export with
them, no photos needed.

What keeps the quantised network close to the float one (measured on the dev sets' 332 photos):
ReLU6's ``Clip`` quantised with the convolution before it (so the convolution's output range is
the clip's 0-6, not the unbounded range before it: feature cosine 0.85 → 0.99), percentile
ranges (99.99%), and the first convolution, the last one and the classifier layer kept in float
(the picture's own pixels, and the features the perceptual vector is made of).

Those int8 kernels differ by CPU. Where the CPU has no VNNI instructions (AVX2 alone, as on many
AMD EPYCs), ONNX Runtime multiplies uint8 activations by int8 weights in pairs summed into 16 bits,
which saturate: the same network gives feature cosine 0.91 on the probe and agrees with float on
69% of photos' top class. ONNX Runtime's remedy is weights in 7 bits (``reduce_range``); with the
112x112 block after the stem also kept in float, the probe gives 0.982, photos 0.985 (mean cosine)
and 94% agreement, at 1.4x float's speed. So there are two recipes, tried in order
(:data:`RECIPES`); the first that agrees with float on the probe is used, and one that does not is
remembered as not usable on that machine.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CALIBRATION_DIR = Path(__file__).parent / "calibration"
PERCENTILE = 99.99


@dataclass(frozen=True)
class Recipe:
    """One way to quantise: its name is part of the file name and of the image encoder's version."""

    name: str
    reduce_range: bool  # weights in 7 bits: no 16-bit saturation on CPUs without VNNI
    float_convs: int  # the first convolutions kept in float (the stem at least)
    min_probe_cosine: float  # agreement with float on the probe below which it is not used


RECIPES = (
    # 0.99+ on the probe where the CPU has VNNI; one that left ReLU6 outside gave 0.96-0.98
    Recipe(f"int8-qdq-percentile{PERCENTILE}-v1", reduce_range=False, float_convs=1, min_probe_cosine=0.985),
    # 0.982 on an AVX2 CPU (0.958 with the 112x112 block in int8); the dev sets' top-1 and mAP
    # within a point of float32's there (scenes 0.454 / 0.573 against 0.433 / 0.578)
    Recipe(f"int8-qdq-percentile{PERCENTILE}-rr-v1", reduce_range=True, float_convs=3, min_probe_cosine=0.975),
)


def calibration_cache(name: str) -> Path:
    """The shipped activation ranges of network ``name`` (e.g. ``efficientnet-lite0``)."""
    return CALIBRATION_DIR / f"{name}.json"


def _options(model_path: Path, recipe: Recipe = RECIPES[0]) -> dict:
    """Arguments of ``quantize_static`` shared by calibration and quantisation."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType

    nodes = onnx.load(str(model_path), load_external_data=False).graph.node
    convs = [n.name for n in nodes if n.op_type == "Conv"]
    keep_float = convs[: recipe.float_convs] + convs[-1:] + [n.name for n in nodes if n.op_type == "Gemm"]
    return {
        "quant_format": QuantFormat.QDQ,
        "per_channel": True,
        "activation_type": QuantType.QUInt8,
        "weight_type": QuantType.QInt8,
        "calibrate_method": CalibrationMethod.Percentile,
        "op_types_to_quantize": ["Conv", "Clip", "Add", "Gemm"],
        "nodes_to_exclude": keep_float,
        "extra_options": {"CalibPercentile": PERCENTILE},
        "reduce_range": recipe.reduce_range,
    }


def _prepared(float_model: Path, tmp: Path) -> Path:
    """The float model with ONNX Runtime's pre-processing (shapes inferred, padding folded into convolutions)."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    out = tmp / "prepared.onnx"
    quant_pre_process(str(float_model), str(out), skip_symbolic_shape=True)
    return out


def quantize_int8(float_model: Path, out: Path, ranges: Path, recipe: Recipe = RECIPES[0]) -> None:
    """Write the int8 version of ``float_model`` to ``out``, with the activation ranges ``ranges``.

    Raises:
        FileNotFoundError: ``ranges`` is missing.
        ValueError, KeyError: the ranges do not fit the network (another export of it).
    """
    from onnxruntime.quantization import quantize_static

    if not ranges.is_file():
        raise FileNotFoundError(f"no activation ranges at {ranges}")
    with tempfile.TemporaryDirectory(prefix="sensorium-quant-") as tmp:
        prepared = _prepared(float_model, Path(tmp))
        cache = Path(tmp) / "ranges.json"  # a copy: ONNX Runtime rewrites a cache it finds stale
        cache.write_bytes(ranges.read_bytes())
        quantize_static(str(prepared), str(out), None, calibration_cache_path=str(cache), **_options(prepared, recipe))


def calibrate(float_model: Path, batches: Iterable[dict[str, np.ndarray]], ranges: Path) -> None:
    """Measure the activation ranges of ``float_model`` over ``batches`` and save them to ``ranges``."""
    from onnxruntime.quantization import CalibrationDataReader, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(batches)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.batches, None)

    with tempfile.TemporaryDirectory(prefix="sensorium-calibrate-") as tmp:
        prepared = _prepared(float_model, Path(tmp))
        ranges.unlink(missing_ok=True)
        quantize_static(
            str(prepared), str(Path(tmp) / "q.onnx"), Reader(), calibration_cache_path=str(ranges), **_options(prepared)
        )


def probe_batch(size: int, n: int = 8) -> np.ndarray:
    """(n, 3, size, size) smooth colour patterns with a little noise, in the network's [-1, 1] input range.

    Not photos, but enough to tell a quantisation that fits its network from one that does not.
    """
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = []
    for _ in range(n):
        f, phase = rng.uniform(1, 6, 3), rng.uniform(0, 2 * np.pi, 3)
        waves = [f[c] * xx * (c + 1) / 2 + f[(c + 1) % 3] * yy for c in range(3)]
        img = np.stack([np.sin(2 * np.pi * w + p) for w, p in zip(waves, phase, strict=True)])
        out.append(np.clip(0.8 * img + 0.2 * rng.normal(0, 1, img.shape), -1, 1))
    return np.stack(out).astype(np.float32)


def probe_cosine(float_session, int8_session, size: int, output: int = 1) -> float:  # sessions: InferenceSession
    """Lowest cosine between the two sessions' outputs ``output`` over :func:`probe_batch`."""
    x = probe_batch(size)
    name = float_session.get_inputs()[0].name
    a = float_session.run(None, {name: x})[output]
    b = int8_session.run(None, {name: x})[output]
    cos = np.sum(a * b, axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    return float(cos.min())
