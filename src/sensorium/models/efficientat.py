"""EfficientAT mn04_as: a small CNN that tags 527 AudioSet sound events, plus a 384-d audio embedding.

The network (MobileNetV3 layout at width 0.4, see ``efficientat_mn04_as/NOTICE.md``) is written
here in PyTorch, loaded strictly from the upstream state_dict, exported once to ONNX (dynamic
batch and frame axes, cached under the user's cache keyed by the checkpoint's sha256) and run
with ONNX Runtime; PyTorch is needed only for that one export.

The front end runs in numpy: pre-emphasis, a 1024-point STFT (hop 10 ms, 800-sample symmetric
Hann window), 128 Kaldi mel filters from 0 to 15 kHz, ``(log(mel + 1e-5) + 4.5) / 5``. A long
array is turned into one spectrogram, which is then cut into windows that run in bounded batches.

:class:`TagFrames` and :func:`window_bounds` are shared with :mod:`sensorium.models.yamnet`, so
both taggers return the same rows for the same array, window and hop.
"""

from __future__ import annotations

import csv
import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sensorium.config import Settings
from sensorium.errors import ModelMissing
from sensorium.models.files import ModelFile, cache_dir, resolve
from sensorium.models.onnx_export import onnx_session

log = logging.getLogger(__name__)

MN04_WEIGHTS = ModelFile(
    name="efficientat_mn04_as/mn04_as_mAP_432.pt",
    sha256="899a8c6217063f6941793102a2780b3dd788ab11fce468d9cf5f0577c453321c",
    size=4_066_513,
    licence="MIT",
    upstream="https://github.com/fschmid56/EfficientAT/releases/download/v0.0.1/mn04_as_mAP_432.pt",
)
AUDIOSET_LABELS = ModelFile(
    name="efficientat_mn04_as/audioset_labels.csv",
    sha256="cdd1049833c4b86127c2773ac0d14a2754b6a6d0d1798002ed5c66e699708429",
    size=14_675,
    licence="CC-BY-4.0",
    upstream="AudioSet class_labels_indices.csv "
    "(http://storage.googleapis.com/us_audioset/youtube_corpus/v1/csv/class_labels_indices.csv)",
)

RATE = 32_000
N_FFT = 1024
HOP = 320  # samples per spectrogram frame (10 ms)
WIN = 800
N_MELS = 128
FMIN_HZ, FMAX_HZ = 0.0, 15_000.0
PREEMPHASIS = 0.97
N_CLASSES = 527
EMBED_DIM = 384
MIN_SAMPLES = RATE // 2  # shorter arrays are zero-padded to 0.5 s (upstream pads short clips with silence)
BATCH_FRAMES = 8000  # spectrogram frames per network batch: bounds memory for any block length
CLIP_MAX_S = 60.0  # tag_clip runs longer arrays as 10 s windows and averages them
STFT_CHUNK = 4096  # frames per STFT chunk: bounds the complex intermediate
EXPORT_VERSION = 1  # part of the cache key: bump when the exported graph changes


@dataclass(frozen=True)
class TagFrames:
    """Tagger output for consecutive windows of one array.

    Attributes:
        starts: (n,) window starts in seconds from the start of the array.
        ends: (n,) window ends in seconds.
        probs: (n, C) float32 per-class sigmoid scores, in the tagger's label order.
        embeddings: (n, E) float32 pooled features (mn04: 384-d, not normalised), or None (YAMNet).
    """

    starts: np.ndarray
    ends: np.ndarray
    probs: np.ndarray
    embeddings: np.ndarray | None


def window_bounds(n_samples: int, rate: int, window_s: float, hop_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends (seconds) of the windows that cover an array of ``n_samples`` at ``rate``.

    Windows start at 0, hop, 2*hop...; when the last regular window stops short of the end, one more
    window is aligned to the end, so no tail is lost. An array no longer than one window gives one row
    covering it. The duration is rounded to the millisecond before planning, so the same audio at
    different sample rates (lengths that differ by a sample after resampling) gives identical rows.

    Raises:
        ValueError: empty array, or a window or hop that is not positive.
    """
    if n_samples <= 0:
        raise ValueError("cannot tag an empty array")
    if window_s <= 0 or hop_s <= 0:
        raise ValueError(f"window_s and hop_s must be positive, got {window_s} and {hop_s}")
    duration = max(round(n_samples / rate, 3), 0.001)
    if duration <= window_s + 1e-9:
        return np.zeros(1), np.array([duration])
    m = math.floor((duration - window_s) / hop_s + 1e-6)
    starts = np.round(np.arange(m + 1) * hop_s, 6)
    if duration - (starts[-1] + window_s) > 1e-3:
        starts = np.append(starts, round(duration - window_s, 6))
    ends = np.round(starts + window_s, 6)
    ends[-1] = duration
    return starts, ends


def read_labels(path: Path, expected: int) -> tuple[str, ...]:
    """Display names (column ``display_name``) of a class map CSV, in row order.

    Raises:
        ModelMissing: the file does not hold ``expected`` rows.
    """
    with path.open(encoding="utf-8", newline="") as f:
        names = tuple(row["display_name"] for row in csv.DictReader(f))
    if len(names) != expected:
        raise ModelMissing(f"{path}: {len(names)} labels, expected {expected}; replace it with the verified file")
    return names


def kaldi_mel_banks(n_mels: int, n_fft: int, rate: int, fmin_hz: float, fmax_hz: float) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) Kaldi triangular mel filters (``torchaudio.compliance.kaldi.get_mel_banks``).

    Filters are equally spaced on ``1127 ln(1 + f / 700)`` between ``fmin_hz`` and ``fmax_hz``, weighed
    on bin frequencies ``k * rate / n_fft`` for k < n_fft / 2; the Nyquist bin gets weight 0.
    """

    def mel(f: np.ndarray | float) -> np.ndarray:
        return 1127.0 * np.log1p(np.asarray(f, dtype=np.float64) / 700.0)

    lo, hi = mel(fmin_hz), mel(fmax_hz)
    delta = (hi - lo) / (n_mels + 1)
    k = np.arange(n_mels, dtype=np.float64)[:, None]
    left, centre, right = lo + k * delta, lo + (k + 1) * delta, lo + (k + 2) * delta
    bins = mel(np.arange(n_fft // 2) * (rate / n_fft))[None, :]
    up = (bins - left) / (centre - left)
    down = (right - bins) / (right - centre)
    weights = np.maximum(0.0, np.minimum(up, down))
    return np.pad(weights, ((0, 0), (0, 1))).astype(np.float32)


class LogMel:
    """The mn04 front end in numpy: mono float32 at 32 kHz → (128, frames) float32.

    ``frames = 1 + (len(wave) - 1) // 320`` (the pre-emphasised signal is one sample shorter);
    frame ``t`` is centred on sample ``320 t`` with reflect padding at both ends, as ``torch.stft``
    with ``center=True``.
    """

    def __init__(self) -> None:
        self.banks = kaldi_mel_banks(N_MELS, N_FFT, RATE, FMIN_HZ, FMAX_HZ)
        top = int(np.flatnonzero(self.banks.any(axis=0)).max()) + 1
        self._banks_t = np.ascontiguousarray(self.banks[:, :top].T)  # bins above 15 kHz have no weight
        self._top = top
        n = np.arange(WIN, dtype=np.float64)
        self.window = (0.5 - 0.5 * np.cos(2 * np.pi * n / (WIN - 1))).astype(np.float32)  # symmetric Hann

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        x = np.asarray(wave, dtype=np.float32)
        y = x[1:] - np.float32(PREEMPHASIS) * x[:-1]
        pad = N_FFT // 2
        if len(y) <= pad:
            raise ValueError(f"need more than {pad + 1} samples for the spectrogram, got {len(x)}")
        y = np.pad(y, pad, mode="reflect")
        frames = 1 + (len(y) - N_FFT) // HOP
        # The 800-sample window sits centred in the 1024-point frame: only those samples count, and
        # a circular shift of the zero-padded frame leaves |X|^2 unchanged.
        offset = (N_FFT - WIN) // 2
        view = np.lib.stride_tricks.sliding_window_view(y[offset:], WIN)[::HOP][:frames]
        out = np.empty((frames, N_MELS), dtype=np.float32)
        import scipy.fft  # 0.7 s to import: paid when sound is first heard, not by every search

        for i in range(0, frames, STFT_CHUNK):
            # scipy's pocketfft keeps float32 and vectorises: 4x numpy's rfft here, the front end's main cost
            spec = scipy.fft.rfft(view[i : i + STFT_CHUNK] * self.window, n=N_FFT, axis=1)[:, : self._top]
            power = spec.real**2 + spec.imag**2
            out[i : i + STFT_CHUNK] = power.astype(np.float32, copy=False) @ self._banks_t
        np.log(out + np.float32(1e-5), out=out)
        out += np.float32(4.5)
        out /= np.float32(5.0)
        return np.ascontiguousarray(out.T)


def build_torch_model(weights: Path):  # -> torch.nn.Module
    """The mn04_as network in eager PyTorch with its weights (strict load); ``forward`` gives (logits, embedding)."""
    import torch
    from torch import nn

    def conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act: type | None = None):
        layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout, 1e-3)]
        if act is not None:
            layers.append(act())
        return nn.Sequential(*layers)

    class SqueezeExcite(nn.Module):
        def __init__(self, channels: int) -> None:
            super().__init__()
            want = channels // 4  # rounded to a multiple of 8, as torchvision's _make_divisible
            squeeze = max(8, int(want + 4) // 8 * 8)
            squeeze += 8 if squeeze < 0.9 * want else 0
            self.fc1 = nn.Linear(channels, squeeze)
            self.fc2 = nn.Linear(squeeze, channels)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            s = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3))))))
            return x * s[:, :, None, None]

    class ConcurrentSE(nn.Module):  # upstream's name and key layout; with one SE layer it is that layer
        def __init__(self, channels: int) -> None:
            super().__init__()
            self.conc_se_layers = nn.ModuleList([SqueezeExcite(channels)])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conc_se_layers[0](x)

    class InvertedResidual(nn.Module):
        def __init__(self, cin: int, k: int, mid: int, cout: int, se: bool, act: type, stride: int) -> None:
            super().__init__()
            layers: list[nn.Module] = []
            if mid != cin:
                layers.append(conv_bn(cin, mid, 1, act=act))
            layers.append(conv_bn(mid, mid, k, stride, groups=mid, act=act))
            if se:
                layers.append(ConcurrentSE(mid))
            layers.append(conv_bn(mid, cout, 1))
            self.block = nn.Sequential(*layers)
            self.residual = stride == 1 and cin == cout

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.block(x)
            return x + y if self.residual else y

    class MN04(nn.Module):
        # (kernel, expanded, out, SE, activation, stride) per block, from the NOTICE's layer table
        TABLE = (
            (3, 8, 8, False, "RE", 1),
            (3, 24, 16, False, "RE", 2),
            (3, 32, 16, False, "RE", 1),
            (5, 32, 16, True, "RE", 2),
            (5, 48, 16, True, "RE", 1),
            (5, 48, 16, True, "RE", 1),
            (3, 96, 32, False, "HS", 2),
            (3, 80, 32, False, "HS", 1),
            (3, 72, 32, False, "HS", 1),
            (3, 72, 32, False, "HS", 1),
            (3, 192, 48, True, "HS", 1),
            (3, 272, 48, True, "HS", 1),
            (5, 272, 64, True, "HS", 2),
            (5, 384, 64, True, "HS", 1),
            (5, 384, 64, True, "HS", 1),
        )

        def __init__(self) -> None:
            super().__init__()
            layers: list[nn.Module] = [conv_bn(1, 8, 3, 2, act=nn.Hardswish)]
            cin = 8
            for k, mid, cout, se, act, stride in self.TABLE:
                layers.append(InvertedResidual(cin, k, mid, cout, se, nn.ReLU if act == "RE" else nn.Hardswish, stride))
                cin = cout
            layers.append(conv_bn(cin, EMBED_DIM, 1, act=nn.Hardswish))
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
                nn.Linear(EMBED_DIM, 512),
                nn.Hardswish(),
                nn.Dropout(0.2),
                nn.Linear(512, N_CLASSES),
            )

        def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            x = self.features(mel)
            embedding = x.mean(dim=(2, 3))
            return self.classifier[2:](embedding), embedding

    model = MN04()
    state = torch.load(str(weights), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()


def _export(weights: Path, out: Path) -> None:
    """ONNX graph: ``mel`` [n, 1, 128, frames] → ``logits`` [n, 527], ``embedding`` [n, 384]."""
    import torch

    model = build_torch_model(weights)
    x = torch.zeros((2, 1, N_MELS, 201))
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter; dynamo adds onnxscript
        torch.onnx.export(
            model,
            (x,),
            str(out),
            input_names=["mel"],
            output_names=["logits", "embedding"],
            dynamic_axes={"mel": {0: "n", 3: "frames"}, "logits": {0: "n"}, "embedding": {0: "n"}},
            opset_version=17,
            dynamo=False,
        )


def sigmoid(x: np.ndarray) -> np.ndarray:
    return (0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float32)))).astype(np.float32)


def as_wave(wave: np.ndarray) -> np.ndarray:
    """A 1-D float32 view of ``wave``.

    Raises:
        ValueError: not 1-D, or empty.
    """
    x = np.asarray(wave, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected a mono 1-D array, got shape {x.shape}")
    if x.size == 0:
        raise ValueError("cannot tag an empty array")
    return x


class MN04Tagger:
    """EfficientAT mn04_as through ONNX Runtime: AudioSet tags and 384-d embeddings of 32 kHz audio.

    Args:
        settings: ``models`` (where the checkpoint is), ``cache`` (where the ONNX export goes), ``threads``.
        threads: ONNX Runtime intra-op threads; default ``settings.threads`` (0: all cores).

    Raises:
        ModelMissing: the checkpoint or the label file is absent or fails its checksum.
    """

    rate: int = RATE

    def __init__(self, settings: Settings, *, threads: int | None = None) -> None:
        weights = resolve(MN04_WEIGHTS, settings.models)
        self.labels: tuple[str, ...] = read_labels(resolve(AUDIOSET_LABELS, settings.models), N_CLASSES)
        self.sha256: str = MN04_WEIGHTS.sha256
        self.licence: str = MN04_WEIGHTS.licence
        self.front_end = LogMel()
        folder = cache_dir(settings.models, settings.cache, f"efficientat-mn04-as-{self.sha256[:12]}-v{EXPORT_VERSION}")
        self._onnx = folder / "mn04_as.onnx"
        self._weights = weights
        self._threads = settings.threads if threads is None else threads
        self._session_obj = None

    @property
    def _session(self):  # -> onnxruntime.InferenceSession
        """Opened on first use: search needs the tagger's labels, not its network."""
        if self._session_obj is None:
            self._session_obj = onnx_session(self._onnx, lambda out: _export(self._weights, out), self._threads)
        return self._session_obj

    def run(self, mels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw network outputs for (n, 128, frames) spectrograms: logits (n, 527), embeddings (n, 384)."""
        logits = np.empty((len(mels), N_CLASSES), dtype=np.float32)
        embeddings = np.empty((len(mels), EMBED_DIM), dtype=np.float32)
        step = max(1, BATCH_FRAMES // mels.shape[2])
        for i in range(0, len(mels), step):
            batch = np.ascontiguousarray(mels[i : i + step, None])
            logits[i : i + step], embeddings[i : i + step] = self._session.run(None, {"mel": batch})
        return logits, embeddings

    def _spectrogram(self, wave: np.ndarray) -> np.ndarray:
        if len(wave) < MIN_SAMPLES:
            wave = np.pad(wave, (0, MIN_SAMPLES - len(wave)))
        return self.front_end(wave)

    def tag_windows(self, wave: np.ndarray, window_s: float = 2.0, hop_s: float = 1.0) -> TagFrames:
        """Tags of windows of ``window_s`` every ``hop_s`` seconds (see :func:`window_bounds`).

        Raises:
            ValueError: ``wave`` is empty or not 1-D, or the window or hop is not positive.
        """
        x = as_wave(wave)
        starts, ends = window_bounds(len(x), RATE, window_s, hop_s)
        mel = self._spectrogram(x)
        total = mel.shape[1]
        if len(starts) == 1:
            windows = mel[None]
        else:
            width = 1 + (round(window_s * RATE) - 1) // HOP  # frames of one window spectrogram on its own
            first = np.minimum(np.round(starts * RATE / HOP).astype(np.int64), total - width)
            windows = np.lib.stride_tricks.sliding_window_view(mel, width, axis=1)[:, first].transpose(1, 0, 2)
        logits, embeddings = self.run(windows)
        return TagFrames(starts, ends, sigmoid(logits), embeddings)

    def tag_clip(self, wave: np.ndarray) -> TagFrames:
        """One row for the whole array: the network over the whole spectrogram at once.

        Arrays longer than 60 s are tagged as 10 s windows, whose scores and features are averaged.

        Raises:
            ValueError: ``wave`` is empty or not 1-D.
        """
        x = as_wave(wave)
        duration = max(round(len(x) / RATE, 3), 0.001)
        if duration > CLIP_MAX_S:
            frames = self.tag_windows(x, 10.0, 10.0)
            probs, embeddings = frames.probs.mean(0, keepdims=True), frames.embeddings
            embeddings = embeddings.mean(0, keepdims=True) if embeddings is not None else None
        else:
            logits, embeddings = self.run(self._spectrogram(x)[None])
            probs = sigmoid(logits)
        return TagFrames(np.zeros(1), np.array([duration]), probs, embeddings)
