"""Hub tier fidelity: a model installed through Sensorium embeds exactly as the library that owns it does.

For each backend a tiny randomly initialised model of the real architecture is saved in the real on-disk
format (tests/hub/tiny.py), installed with ``hub.add``, loaded with ``hub.load``, and its embeddings of real
photos, sounds and sentences are compared with the reference library's own public API run on the original
folder, the way a model card shows it: open_clip's ``create_model_and_transforms`` / ``get_tokenizer``, and
transformers' processors with ``get_image_features`` / ``get_text_features`` / ``get_audio_features``.
Preprocessing is included (resize, crop, normalisation, log-mel features, tokenisation). Sensorium's batched
calls are compared with the reference run one item at a time.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import tiny
import torch
from PIL import Image

from sensorium.media.audio import resample
from sensorium.models import hub
from sensorium.models.files import package_dir

TOL = 1e-5
RATE = 48000
SPEECH = Path(__file__).resolve().parents[1] / "data" / "speech"
TEXTS = [
    "a photo of an astronaut",
    "a cat",
    "a cup of coffee on a table",
    "Ünïcödé, CAPITALS and punctuation!!  ",
    "a dog barking in the rain",
    # longer than every tiny model's context: the tokenizer's own truncation applies
    " ".join(["a very long description of a picture that goes on"] * 12),
]
MEASURED: dict[str, float] = {}  # backend -> largest difference seen (printed at the end, with -s)


def photos() -> list[Image.Image]:
    """Real photos of different sizes and aspect ratios from scikit-image, and one greyscale picture."""
    from skimage import data

    return [
        Image.fromarray(data.astronaut()),  # 512 x 512
        Image.fromarray(data.chelsea()),  # 451 x 300, landscape
        Image.fromarray(data.coffee()),  # 600 x 400
        Image.fromarray(np.ascontiguousarray(data.coffee()[:, 100:300])),  # 200 x 400, portrait
        Image.fromarray(data.camera()),  # 512 x 512 greyscale ("L")
    ]


def sound(path: Path) -> np.ndarray:
    """A recording as mono float32 at 48 kHz, decoded with soundfile and resampled by Sensorium."""
    wave, rate = sf.read(path, dtype="float32", always_2d=True)
    return resample(wave.mean(axis=1), rate, RATE)


def sounds() -> list[np.ndarray]:
    """Real recordings: 1.1 s and 7.1 s (pygame's examples) and 24.6 s of speech (shorter and longer than 10 s)."""
    pygame_data = package_dir("pygame") / "examples" / "data"
    return [sound(pygame_data / "boom.wav"), sound(pygame_data / "house_lo.wav"), sound(SPEECH / "meeting.flac")]


def unit(x: Any) -> np.ndarray:
    x = x if isinstance(x, torch.Tensor) else x.pooler_output  # transformers 5 may return an output object
    return torch.nn.functional.normalize(x.detach().float(), dim=-1).numpy()


def check(backend: str, got: np.ndarray, want: np.ndarray) -> None:
    """``got`` equals ``want`` within TOL, and the rows differ from each other (so the check could fail)."""
    assert got.dtype == np.float32
    assert got.shape == want.shape, (got.shape, want.shape)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    diff = float(np.abs(got - want).max())
    MEASURED[backend] = max(MEASURED.get(backend, 0.0), diff)
    assert diff <= TOL, f"{backend}: max |sensorium - reference| = {diff:.3g}"
    if len(want) > 1:
        apart = min(float(np.abs(want[i] - want[j]).max()) for i in range(len(want)) for j in range(i))
        assert apart > 100 * TOL, f"{backend}: two different inputs gave (nearly) the same embedding"


def per_item(fn: Callable[[Any], Any], items: Sequence[Any]) -> np.ndarray:
    """The reference run on one item at a time."""
    with torch.no_grad():
        return np.concatenate([unit(fn(item)) for item in items])


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hub folder the models are added to."""
    return tmp_path_factory.mktemp("models") / "hub"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("built")


def install(model_id: str, folder: Path, models_dir: Path) -> hub.ContrastiveModel:
    record = hub.add(model_id, models_dir, source=folder)
    assert Path(record.folder).is_dir() and Path(record.folder) != folder
    return hub.load(record)


@pytest.fixture(scope="module", autouse=True)
def report_differences() -> Any:
    yield
    for backend, diff in sorted(MEASURED.items()):
        print(f"\nhub fidelity: {backend}: max |sensorium - reference| = {diff:.3g}")


# open_clip


@pytest.fixture(scope="module")
def openclip_dir(built: Path) -> Path:
    return tiny.save_openclip_dir(built / "openclip")


@pytest.fixture(scope="module")
def openclip_ref(openclip_dir: Path) -> tuple[Any, Any, Any]:
    import open_clip

    model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{openclip_dir}")
    return model.eval(), preprocess, open_clip.get_tokenizer(f"local-dir:{openclip_dir}")


@pytest.fixture(scope="module")
def openclip_model(openclip_dir: Path, models_dir: Path) -> Any:
    return install("openclip:tiny/vit-test", openclip_dir, models_dir)


def test_openclip_images(openclip_model: Any, openclip_ref: tuple[Any, Any, Any]) -> None:
    model, preprocess, _ = openclip_ref
    want = per_item(lambda im: model.encode_image(preprocess(im)[None]), photos())
    check("openclip", openclip_model.encode_images(photos()), want)
    openclip_model.batch_size = 2  # several batches, the next one preprocessed while the current one runs
    try:
        check("openclip", openclip_model.encode_images(photos()), want)
    finally:
        openclip_model.batch_size = 32


def test_openclip_preprocessing_is_the_folders(openclip_ref: tuple[Any, Any, Any]) -> None:
    """The reference really reads the folder's preprocess_cfg (not open_clip's defaults), so the test sees it."""
    _, preprocess, _ = openclip_ref
    normalise = next(t for t in preprocess.transforms if type(t).__name__ == "Normalize")
    assert list(normalise.mean) == tiny.OPENCLIP_PREPROCESS["mean"]
    assert preprocess(photos()[1]).shape == (3, 32, 32)


def test_openclip_text(openclip_model: Any, openclip_ref: tuple[Any, Any, Any]) -> None:
    model, _, tokenizer = openclip_ref
    want = per_item(lambda t: model.encode_text(tokenizer([t])), TEXTS)
    check("openclip", openclip_model.encode_text(TEXTS), want)
    assert openclip_model.dim == tiny.OPENCLIP_CFG["embed_dim"]
    assert openclip_model.modalities == frozenset({"image"})


def test_openclip_image_tower_in_onnx_runtime(
    openclip_dir: Path, models_dir: Path, openclip_ref: tuple[Any, Any, Any]
) -> None:
    """With ``onnx`` (the setting ``hub_onnx``, on by default), pictures go through an ONNX export of the
    image tower, written once beside the model's files, and the vectors are still open_clip's."""
    model, preprocess, _ = openclip_ref
    record = hub.find_installed(models_dir, "openclip:tiny/vit-test")
    ours = hub.load(record, onnx=True)
    want = per_item(lambda im: model.encode_image(preprocess(im)[None]), photos())
    check("openclip onnx", ours.encode_images(photos()), want)
    assert ours._onnx, "the export was refused, so ONNX Runtime was not what ran"
    exported = list((Path(record.folder).parent / "onnx").rglob("*.onnx"))
    assert len(exported) == 1
    stamp = exported[0].stat().st_mtime_ns
    again = hub.load(record, onnx=True)
    check("openclip onnx", again.encode_images(photos()[:2]), want[:2])
    assert exported[0].stat().st_mtime_ns == stamp, "the export is made once, then reused"
    hub.verify(record)  # the export sits beside the recorded files, not among them


def test_openclip_broken_onnx_export_falls_back_to_torch(
    openclip_dir: Path, models_dir: Path, openclip_ref: tuple[Any, Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """A cached export that no longer opens (truncated by a crash, say) is deleted, and torch embeds."""
    model, preprocess, _ = openclip_ref
    record = hub.find_installed(models_dir, "openclip:tiny/vit-test")
    ours = hub.load(record, onnx=True)
    ours.encode_images(photos()[:1])
    exported = next((Path(record.folder).parent / "onnx").rglob("*.onnx"))
    exported.write_bytes(exported.read_bytes()[:1000])
    broken = hub.load(record, onnx=True)
    want = per_item(lambda im: model.encode_image(preprocess(im)[None]), photos())
    check("openclip", broken.encode_images(photos()), want)
    assert broken._onnx is False
    assert "staying on torch" in caplog.text and "openclip:tiny/vit-test" in caplog.text
    assert not exported.exists()


@pytest.mark.slow
def test_openclip_builtin_architecture_from_a_checkpoint_file(tmp_path: Path) -> None:
    """``openclip:ViT-B-32 --from file.bin``: a full-size ViT-B-32 (random weights) saved as a plain state dict."""
    import open_clip

    checkpoint = tiny.save_openclip_checkpoint(tmp_path / "vit-b-32.bin", arch="ViT-B-32")
    record = hub.add("openclip:ViT-B-32", tmp_path / "hub", source=checkpoint)
    assert record.arch == "ViT-B-32" and record.dim == 512
    assert list(record.files) == ["open_clip_model.bin"]
    checkpoint.unlink()  # the installed copy is what loads
    ours = hub.load(record)
    installed = Path(record.folder) / "open_clip_model.bin"
    model, _, preprocess = open_clip.create_model_and_transforms("ViT-B-32", pretrained=str(installed))
    model.eval()
    tokenizer = open_clip.get_tokenizer("ViT-B-32")
    images = photos()[:3]
    want = per_item(lambda im: model.encode_image(preprocess(im)[None]), images)
    check("openclip ViT-B-32", ours.encode_images(images), want)
    want = per_item(lambda t: model.encode_text(tokenizer([t])), TEXTS)
    check("openclip ViT-B-32", ours.encode_text(TEXTS), want)


# transformers CLIP


@pytest.fixture(scope="module")
def hf_clip_dir(built: Path) -> Path:
    return tiny.save_hf_clip_dir(built / "hf-clip")


def test_clip_tokenizer_is_clips(hf_clip_dir: Path) -> None:
    """The saved tokenizer is CLIP's: it gives open_clip's SimpleTokenizer's ids on plain text."""
    import open_clip
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(hf_clip_dir)
    simple = open_clip.tokenizer.SimpleTokenizer()
    for text in ("a photo of an astronaut", "a cup of coffee, on a table!", "hello world 2024"):
        assert hf(text)["input_ids"] == [simple.sot_token_id, *simple.encode(text), simple.eot_token_id]


def test_hf_clip(hf_clip_dir: Path, models_dir: Path) -> None:
    from transformers import AutoModel, AutoProcessor

    ours = install("clip:tiny/clip-test", hf_clip_dir, models_dir)
    model = AutoModel.from_pretrained(hf_clip_dir).eval()
    processor = AutoProcessor.from_pretrained(hf_clip_dir)
    want = per_item(lambda im: model.get_image_features(**processor(images=im, return_tensors="pt")), photos())
    check("clip", ours.encode_images(photos()), want)
    want = per_item(
        lambda t: model.get_text_features(**processor(text=[t], padding=True, truncation=True, return_tensors="pt")),
        TEXTS,
    )
    check("clip", ours.encode_text(TEXTS), want)
    assert ours.dim == 32 and ours.modalities == frozenset({"image"})


# transformers SigLIP


@pytest.fixture(scope="module")
def hf_siglip_dir(built: Path) -> Path:
    pytest.importorskip("sentencepiece", reason="SiglipTokenizer needs sentencepiece (the dev extra installs it)")
    return tiny.save_hf_siglip_dir(built / "hf-siglip")


def test_hf_siglip(hf_siglip_dir: Path, models_dir: Path) -> None:
    from transformers import AutoModel, AutoProcessor

    ours = install("siglip:tiny/siglip-test", hf_siglip_dir, models_dir)
    model = AutoModel.from_pretrained(hf_siglip_dir).eval()
    processor = AutoProcessor.from_pretrained(hf_siglip_dir)
    assert type(processor.tokenizer).__name__ == "SiglipTokenizer"
    want = per_item(lambda im: model.get_image_features(**processor(images=im, return_tensors="pt")), photos())
    check("siglip", ours.encode_images(photos()), want)
    # SigLIP's model card: text padded to max_length, as the model was trained.
    want = per_item(
        lambda t: model.get_text_features(
            **processor(text=[t], padding="max_length", truncation=True, return_tensors="pt")
        ),
        TEXTS,
    )
    check("siglip", ours.encode_text(TEXTS), want)
    assert ours.dim == 64 and ours.modalities == frozenset({"image"})


# transformers CLAP


@pytest.fixture(scope="module")
def clap_dirs(built: Path) -> dict[str, Path]:
    return {
        "unfused": tiny.save_hf_clap_dir(built / "clap-unfused"),
        "fused": tiny.save_hf_clap_dir(built / "clap-fused", fusion=True),
    }


@pytest.fixture(scope="module")
def clap_models(clap_dirs: dict[str, Path], models_dir: Path) -> dict[str, Any]:
    return {kind: install(f"clap:tiny/clap-{kind}", folder, models_dir) for kind, folder in clap_dirs.items()}


def clap_reference(folder: Path) -> tuple[Any, Any]:
    from transformers import ClapModel, ClapProcessor

    return ClapModel.from_pretrained(folder).eval(), ClapProcessor.from_pretrained(folder)


@pytest.mark.parametrize("kind", ["unfused", "fused"])
def test_clap_text(kind: str, clap_dirs: dict[str, Path], clap_models: dict[str, Any]) -> None:
    model, processor = clap_reference(clap_dirs[kind])
    assert type(processor.tokenizer).__name__ == "RobertaTokenizer"
    want = per_item(
        lambda t: model.get_text_features(**processor(text=[t], padding=True, truncation=True, return_tensors="pt")),
        TEXTS,
    )
    check(f"clap-{kind}", clap_models[kind].encode_text(TEXTS), want)
    assert clap_models[kind].dim == 32 and clap_models[kind].modalities == frozenset({"audio"})


def audio_reference(model: Any, processor: Any, wave: np.ndarray) -> Any:
    return model.get_audio_features(**processor(audio=wave, sampling_rate=RATE, return_tensors="pt"))


@pytest.mark.parametrize("kind", ["unfused", "fused"])
def test_clap_audio_clips_up_to_10s(kind: str, clap_dirs: dict[str, Path], clap_models: dict[str, Any]) -> None:
    """Clips shorter than CLAP's 10 s window (padded by repeating them), batched, against one at a time."""
    model, processor = clap_reference(clap_dirs[kind])
    ours = clap_models[kind]
    assert ours.audio_rate == RATE
    waves = sounds()[:2]
    want = per_item(lambda w: audio_reference(model, processor, w), waves)
    for w, row in zip(waves, want, strict=True):  # alone
        check(f"clap-{kind}", ours.encode_audio([w]), row[None])
    check(f"clap-{kind}", ours.encode_audio(waves), want)  # together


@pytest.mark.parametrize("kind", ["unfused", "fused"])
def test_clap_audio_in_a_batch_with_a_long_clip(
    kind: str, clap_dirs: dict[str, Path], clap_models: dict[str, Any]
) -> None:
    """A short clip's embedding does not depend on a longer clip being in the same batch.

    The long clip's own crops are random in the library (``np.random``): both sides are seeded alike here.
    """
    model, processor = clap_reference(clap_dirs[kind])
    waves = sounds()
    want = []
    with torch.no_grad():
        for w in waves:
            np.random.seed(0)
            want.append(unit(audio_reference(model, processor, w)))
    np.random.seed(0)
    check(f"clap-{kind}", clap_models[kind].encode_audio(waves), np.concatenate(want))


@pytest.mark.parametrize("kind", ["unfused", "fused"])
def test_clap_long_audio_is_deterministic(kind: str, clap_models: dict[str, Any]) -> None:
    """The same recording over 10 s gives the same vector every time (a search index must be reproducible)."""
    long = sounds()[2]
    assert len(long) > 10 * RATE
    first = clap_models[kind].encode_audio([long])
    np.random.seed(1)
    second = clap_models[kind].encode_audio([long])
    assert float(np.abs(first - second).max()) <= TOL


# faster-whisper


def test_whisper_from_a_folder(tmp_path: Path) -> None:
    """A CTranslate2 Whisper folder added as ``whisper:...`` transcribes as faster-whisper itself does.

    Sensorium decodes only the speech its own voice-activity detection finds, joined with a little context,
    so over a long recording its text can differ from faster-whisper's own VAD pass by a word ("want" for
    "wants"); on a single phrase they agree exactly.
    """
    from faster_whisper import WhisperModel

    from sensorium.config import Settings, load_settings
    from sensorium.models.whisper import WhisperTranscriber, locate_model

    bundled, _, _ = locate_model(load_settings())
    copy = tmp_path / "tiny-copy"
    shutil.copytree(bundled, copy)
    record = hub.add("whisper:tiny-copy", tmp_path / "hub", source=copy)
    assert record.backend == "whisper" and record.modalities == ["speech"] and record.dim == 0
    assert sorted(record.files) == sorted(p.name for p in copy.iterdir())
    folder = hub.verify(record)
    assert folder.is_relative_to(tmp_path / "hub")

    ours = WhisperTranscriber(Settings(whisper_model=str(folder), threads=2))
    assert not ours.multilingual
    reference = WhisperModel(str(copy), device="cpu", compute_type="int8", cpu_threads=2)
    for name in ("short.flac", "noisy.flac"):
        wave = speech(name)
        segments, _ = reference.transcribe(wave, language="en", beam_size=1, vad_filter=True)
        want = " ".join(s.text.strip() for s in segments)
        got = " ".join(s.text for s in ours.transcribe(wave))
        assert got == want
        assert len(want.split()) >= 5


def speech(name: str) -> np.ndarray:
    wave, rate = sf.read(SPEECH / name, dtype="float32")
    assert rate == 16000 and wave.ndim == 1
    return wave
