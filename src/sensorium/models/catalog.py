"""What ``sensorium models`` shows: every model file the offline tier uses, and its state."""

from __future__ import annotations

from typing import Any

from sensorium.config import Settings
from sensorium.errors import ModelMissing
from sensorium.models.files import ModelFile, resolve


def catalog() -> list[tuple[str, str, ModelFile]]:
    """(name, role, file) for each model file, in the order a reader meets them."""
    from sensorium.models.efficientat import AUDIOSET_LABELS, MN04_WEIGHTS
    from sensorium.models.faces import ULTRAFACE
    from sensorium.models.imagenet import VARIANTS
    from sensorium.models.offline_text import E5_SMALL, MINILM
    from sensorium.models.whisper import TINY_EN
    from sensorium.models.yamnet import YAMNET, YAMNET_CLASS_MAP
    from sensorium.models.yolox import YOLOX_NANO

    rows = [
        ("minilm-l6-v1", "text encoder: the default shared space (English)", MINILM),
        ("e5-small-v1", "text encoder: multilingual space (about 100 languages)", E5_SMALL),
    ]
    rows += [
        (f"efficientnet-{v.name}", "image: ImageNet-1k concepts + perceptual vector (run in int8)", v.weights)
        for v in VARIANTS.values()
    ]
    rows.append(("yolox-nano", "image: COCO objects (80 classes, fills 'person')", YOLOX_NANO))
    rows.append(("ultraface-320", "image: faces, where a person is seen (portraits, couples, groups)", ULTRAFACE))
    rows += [
        ("efficientat-mn04", "sound: AudioSet events (527 classes) + perceptual vector", MN04_WEIGHTS),
        ("audioset-labels", "sound: names of the 527 AudioSet classes", AUDIOSET_LABELS),
        ("yamnet", "sound: AudioSet events (521 classes)", YAMNET),
        ("yamnet-class-map", "sound: names of YAMNet's 521 classes", YAMNET_CLASS_MAP),
        ("whisper-tiny.en", "speech: transcripts with word times (faster-whisper, int8)", TINY_EN),
    ]
    return rows


def model_status(settings: Settings) -> list[dict[str, Any]]:
    """One row per model file: found where, verified or not, and why not."""
    out = []
    for name, role, mf in catalog():
        row: dict[str, Any] = {
            "name": name,
            "role": role,
            "licence": mf.licence,
            "size": mf.size,
            "sha256": mf.sha256,
            "upstream": mf.upstream,
            "ok": True,
            "error": "",
            "location": None,
        }
        try:
            row["location"] = str(resolve(mf, settings.models))
        except ModelMissing as exc:
            row["ok"], row["error"] = False, str(exc)
        out.append(row)
    out += hub_status(settings)
    out.append(
        {
            "name": "rapidocr (PP-OCRv4)",
            "role": "image: text in pictures (OCR)",
            "licence": "Apache-2.0",
            "size": None,
            "sha256": "",
            "upstream": "pip install rapidocr-onnxruntime",
            "ok": _has("rapidocr_onnxruntime"),
            "error": "" if _has("rapidocr_onnxruntime") else "not installed; pip install rapidocr-onnxruntime",
            "location": "rapidocr-onnxruntime package",
        }
    )
    return out


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def hub_status(settings: Settings) -> list[dict[str, Any]]:
    """One row per installed hub model (``sensorium models add``), its files checked."""
    from sensorium.models import hub

    rows = []
    for m in hub.installed(settings.hub_dir):
        writes = f"writes space '{m.space}' ({m.dim}-d) from text, {', '.join(m.modalities)}" if m.dim else "speech"
        row: dict[str, Any] = {
            "name": m.id,
            "role": f"hub model: {writes}",
            "licence": m.licence,
            "size": m.size,
            "sha256": m.version_key.rpartition("@")[2],
            "upstream": m.source,
            "ok": True,
            "error": "",
            "location": m.folder,
            "space": m.space,
            "dim": m.dim,
            "modalities": m.modalities,
        }
        try:
            hub.verify(m)
        except ModelMissing as exc:
            row["ok"], row["error"] = False, str(exc)
        rows.append(row)
    return rows
