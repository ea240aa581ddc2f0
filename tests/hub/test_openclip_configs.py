"""Hub tier fidelity for open_clip's other configurations: SigLIP and MobileCLIP, beside CLIP (test_fidelity.py).

Both are ``CustomTextCLIP`` models with a timm image tower, which the plain-ViT CLIP of test_fidelity.py does
not exercise: each is written by tests/hub/tiny.py in the hub layout (``open_clip_config.json`` with
``model_cfg`` and ``preprocess_cfg``, plus ``open_clip_model.safetensors``), installed with ``hub.add``, loaded
with ``hub.load`` (torch, then the ONNX Runtime image tower), and compared with open_clip's own
``create_model_and_transforms("local-dir:...")`` / ``get_tokenizer("local-dir:...")`` run one item at a time.

- SigLIP (ViT-B-16-SigLIP.json / ViT-B-16-SigLIP2.json shrunk): timm ``test_vit3`` tower with the attention-pool
  ("map") head and no projection, ``init_logit_bias``, a text tower without causal mask pooled at the last
  token with a projection bias and tanh GELU, a SentencePiece tokenizer trained here and saved in the folder
  (``hf_tokenizer_name`` + ``local-dir:`` reads it from there; context 16, "canonicalize" cleaning), and
  SigLIP's preprocessing (Inception mean/std, bicubic, squashed to the square).
- MobileCLIP (MobileCLIP2-S0.json; MobileCLIP-S1 is the same with ``fastvit_mci1``): timm's FastViT MCi0 at its
  real size with timm's head as projection, 128-pixel pictures instead of 256, open_clip's BPE tokenizer,
  and MobileCLIP's preprocessing (no normalisation, bilinear, shortest side then centre crop).

Everything is built here, seeded and randomly initialised; nothing is downloaded.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tiny
from test_fidelity import MEASURED, TEXTS, check, per_item, photos

from sensorium.models import hub


@dataclass(frozen=True)
class Config:
    model_id: str
    save: Callable[[Path], Path]
    model_cfg: dict
    preprocess_cfg: dict


CONFIGS = {
    "siglip": Config(
        "openclip:test/siglip-tiny",
        tiny.save_openclip_siglip_dir,
        tiny.OPENCLIP_SIGLIP_CFG,
        tiny.OPENCLIP_SIGLIP_PREPROCESS,
    ),
    "mobileclip": Config(
        "openclip:test/mobileclip-tiny",
        tiny.save_openclip_mobileclip_dir,
        tiny.OPENCLIP_MOBILECLIP_CFG,
        tiny.OPENCLIP_MOBILECLIP_PREPROCESS,
    ),
}


@dataclass
class Case:
    name: str
    config: Config
    folder: Path  # as saved
    record: hub.InstalledModel
    ours: Any  # hub.load(record): torch
    model: Any  # open_clip's, from the folder
    preprocess: Any
    tokenizer: Any
    want_images: np.ndarray  # open_clip, one photo at a time


@pytest.fixture(scope="module", autouse=True)
def report_differences() -> Any:
    yield
    for backend, diff in sorted(MEASURED.items()):
        if any(name in backend for name in CONFIGS):
            print(f"\nhub fidelity: {backend}: max |sensorium - reference| = {diff:.3g}")


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models") / "hub"


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Case:
    import open_clip

    config = CONFIGS[request.param]
    folder = config.save(tmp_path_factory.mktemp("built") / request.param)
    model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{folder}")
    model = model.eval()
    tokenizer = open_clip.get_tokenizer(f"local-dir:{folder}")
    record = hub.add(config.model_id, models_dir, source=folder)
    assert Path(record.folder).is_dir() and Path(record.folder) != folder
    want_images = per_item(lambda im: model.encode_image(preprocess(im)[None]), photos())
    return Case(request.param, config, folder, record, hub.load(record), model, preprocess, tokenizer, want_images)


def test_reference_is_the_configuration(case: Case) -> None:
    """open_clip really built the folder's configuration and preprocessing, so the comparisons see them."""
    import open_clip

    cfg, pre = case.config.model_cfg, case.config.preprocess_cfg
    assert type(case.model) is open_clip.CustomTextCLIP
    assert type(case.model.visual.trunk).__name__ == ("VisionTransformer" if case.name == "siglip" else "FastVit")
    assert case.model.visual.image_size == (cfg["vision_cfg"]["image_size"],) * 2
    size = cfg["vision_cfg"]["image_size"]
    landscape = photos()[1]
    assert case.preprocess(landscape).shape == (3, size, size)
    normalise = next(t for t in case.preprocess.transforms if type(t).__name__ == "Normalize")
    assert list(normalise.mean) == pre["mean"] and list(normalise.std) == pre["std"]
    names = [type(t).__name__ for t in case.preprocess.transforms]
    # squash: one resize to the square, no crop; shortest: shortest side, then the centre crop
    assert ("CenterCrop" in names) == (pre["resize_mode"] == "shortest"), names
    tokens = case.tokenizer(TEXTS)
    assert tokens.shape == (len(TEXTS), cfg["text_cfg"]["context_length"])
    if case.name == "siglip":
        assert type(case.tokenizer).__name__ == "HFTokenizer"
        assert type(case.tokenizer.tokenizer).__name__.startswith("Siglip")
        assert case.model.logit_bias.item() == pytest.approx(cfg["init_logit_bias"], abs=0.5)
        assert case.model.text.text_projection.bias is not None
        assert case.model.text.attn_mask is None and case.model.text.pool_type == "last"
    else:
        assert type(case.tokenizer).__name__ == "SimpleTokenizer"
        assert case.model.text.attn_mask is None


def test_images(case: Case) -> None:
    check(f"openclip {case.name}", case.ours.encode_images(photos()), case.want_images)
    case.ours.batch_size = 2  # several batches, the next one preprocessed while the current one runs
    try:
        check(f"openclip {case.name}", case.ours.encode_images(photos()), case.want_images)
    finally:
        case.ours.batch_size = 32


def test_text(case: Case) -> None:
    want = per_item(lambda t: case.model.encode_text(case.tokenizer([t])), TEXTS)
    check(f"openclip {case.name}", case.ours.encode_text(TEXTS), want)
    assert case.ours.dim == case.config.model_cfg["embed_dim"] == case.record.dim
    assert case.ours.modalities == frozenset({"image"})


def test_image_tower_in_onnx_runtime(case: Case) -> None:
    """``hub.load(onnx=True)``: the timm tower is exported once to ONNX Runtime and still gives open_clip's vectors."""
    ours = hub.load(case.record, onnx=True)
    check(f"openclip {case.name} onnx", ours.encode_images(photos()), case.want_images)
    assert ours._onnx, f"{case.name}: the export was refused, so ONNX Runtime was not what ran"
    exported = list((Path(case.record.folder).parent / "onnx").rglob("*.onnx"))
    assert len(exported) == 1
    hub.verify(case.record)


def test_onnx_export_leaves_the_model_in_eval_mode(case: Case) -> None:
    """Exporting (or failing to export) the image tower leaves open_clip's model as it was: in eval mode.

    A batch-norm tower (MobileCLIP's FastViT) left in training mode would normalise each batch by its own
    statistics and update the stored ones, so torch's vectors would change from call to call.
    """
    shutil.rmtree(Path(case.record.folder).parent / "onnx", ignore_errors=True)  # so this load exports
    ours = hub.load(case.record, onnx=True)
    assert not ours.model.training
    ours.encode_images(photos()[:2])
    training = [name or "(the model)" for name, m in ours.model.named_modules() if m.training]
    assert not training, f"{case.name}: left in training mode: {', '.join(training[:3])}, ... ({len(training)})"
    after = per_item(lambda im: ours.model.encode_image(ours.preprocess(im)[None]), photos())
    check(f"openclip {case.name}", after, case.want_images)  # torch's own forward pass, after the export
