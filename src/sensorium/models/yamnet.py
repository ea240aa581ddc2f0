"""YAMNet: Google's AudioSet tagger (521 classes) as TFLite, run with ``ai-edge-litert``.

The network sees one 0.975 s patch (15,600 samples at 16 kHz) per call and returns sigmoid
scores. Two files with the same int8 weights are supported (see ``yamnet/NOTICE.md``):
``yamnet.tflite`` (input ``[1, 15600]``, outputs scores and a log-mel patch; about twice as fast)
is preferred, and ``yamnet_classification.tflite`` (input ``[15600]``, one output; the signature of
Google's published TFLite release) is used when it is the only one present. Neither graph can be
resized to a batch (its first op reshapes to a fixed 15,600 samples), so patches run one by one.

Windows come from :func:`sensorium.models.efficientat.window_bounds`, the same rows as mn04's for
the same array, window and hop; each window's score is pooled over the patches inside it, laid
every ~0.4875 s on a grid that divides the window hop so neighbouring windows share patches.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sensorium.config import Settings
from sensorium.errors import ModelMissing
from sensorium.models.efficientat import TagFrames, as_wave, read_labels, window_bounds
from sensorium.models.files import ModelFile, resolve

log = logging.getLogger(__name__)

YAMNET = ModelFile(
    name="yamnet/yamnet.tflite",
    sha256="469be6a3421cbc52cf97e9f2f966cba984198e8e7af9854d68b3e3ebb1e04194",
    size=4_078_224,
    licence="Apache-2.0",
    upstream="tensorflow/models research/audioset/yamnet, TFLite copy from "
    "https://github.com/Jaskaran197/Speaker-Detector (commit 4ec29b69, see yamnet/NOTICE.md)",
)
YAMNET_CLASSIFICATION = ModelFile(
    name="yamnet/yamnet_classification.tflite",
    sha256="687f226c147a2caab4706fbbab5e9cecb14b9a368264bf61108078b1fddf68f5",
    size=3_959_752,
    licence="Apache-2.0",
    upstream="Google's YAMNet TFLite release (Kaggle google/yamnet), copy from "
    "https://github.com/Dhiveej/Aranyadhwani (see yamnet/NOTICE.md)",
)
YAMNET_CLASS_MAP = ModelFile(
    name="yamnet/yamnet_class_map.csv",
    sha256="cdf24d193e196d9e95912a2667051ae203e92a2ba09449218ccb40ef787c6df2",
    size=14_096,
    licence="Apache-2.0",
    upstream="https://raw.githubusercontent.com/tensorflow/models/dbeeb148f10adf723067040eedcccda00bdce1e8/"
    "research/audioset/yamnet/yamnet_class_map.csv",
)

RATE = 16_000
PATCH = 15_600  # samples per network call (0.975 s)
PATCH_HOP = 7_800  # the usual step between patches (0.4875 s)
N_CLASSES = 521
Pooling = Literal["mean", "max"]


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence native writes to file descriptor 2 for the duration (Python's own logging is unaffected)."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def model_file(models_dir: Path) -> Path:
    """``yamnet.tflite`` when present (and verified), else ``yamnet_classification.tflite``.

    Raises:
        ModelMissing: neither file is present and verified.
    """
    try:
        return resolve(YAMNET, models_dir)
    except ModelMissing as first:
        try:
            path = resolve(YAMNET_CLASSIFICATION, models_dir)
        except ModelMissing:
            raise first from None
        log.info("yamnet: %s unusable (%s); using %s", YAMNET.name, first, path.name)
        return path


def patch_plan(
    n_samples: int, starts_s: np.ndarray, ends_s: np.ndarray, hop_s: float
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Patch starts (samples) needed for the windows, and for each window the indices of its patches.

    Inside a window, patches start at its start and every ``H`` samples while they fit, where ``H``
    is the window hop divided into steps of about 0.4875 s (so windows one hop apart share patches);
    a patch aligned to the window's end is added when the grid leaves more than ``H / 4`` uncovered.
    A window shorter than a patch gets one patch centred on it (within the array).
    """
    hop = hop_s * RATE
    step = hop / max(1, round(hop / PATCH_HOP))
    last = max(0, n_samples - PATCH)
    per_window: list[list[int]] = []
    for i, (s, e) in enumerate(zip(starts_s, ends_s, strict=True)):
        a = round(s * RATE)
        b = n_samples if i == len(starts_s) - 1 else min(n_samples, round(e * RATE))
        if b - a <= PATCH:
            per_window.append([min(max(0, a + (b - a - PATCH) // 2), last)])
            continue
        count = math.floor((b - a - PATCH) / step + 1e-6) + 1
        grid = [a + round(j * step) for j in range(count)]
        if b - (grid[-1] + PATCH) > step / 4:
            grid.append(b - PATCH)
        per_window.append(grid)
    starts = np.unique(np.concatenate([np.asarray(w, dtype=np.int64) for w in per_window]))
    groups = [np.searchsorted(starts, w) for w in per_window]
    return starts, groups


class YamnetTagger:
    """YAMNet through LiteRT: AudioSet tags of 16 kHz audio, pooled over 0.975 s patches.

    Args:
        settings: ``models`` (where the files are), ``threads``.
        threads: interpreter threads; default ``settings.threads`` (0: all cores).
        pooling: how a window's patch scores combine (``"mean"``, default, or ``"max"``).

    Raises:
        ModelMissing: no verified YAMNet file or class map in ``settings.models``.
    """

    rate: int = RATE

    def __init__(self, settings: Settings, *, threads: int | None = None, pooling: Pooling = "mean") -> None:
        from ai_edge_litert.interpreter import Interpreter

        path = model_file(settings.models)
        self.file = path.name
        spec = YAMNET if path.name == Path(YAMNET.name).name else YAMNET_CLASSIFICATION
        self.labels: tuple[str, ...] = read_labels(resolve(YAMNET_CLASS_MAP, settings.models), N_CLASSES)
        self.sha256: str = spec.sha256
        self.licence: str = spec.licence
        self.pooling: Pooling = pooling
        n = (settings.threads if threads is None else threads) or os.cpu_count() or 1
        # One single-threaded interpreter per core, each on its share of the patches: a patch is too
        # small a graph to split across threads (2 cores: 346 against 250 patches/s for one
        # interpreter with two threads). ``invoke`` lets go of the GIL.
        with _quiet_stderr():  # LiteRT prints an INFO line about its CPU delegate straight to fd 2
            self._interpreters = [Interpreter(model_path=str(path), num_threads=1) for _ in range(n)]
            for interpreter in self._interpreters:
                interpreter.allocate_tensors()
        self._interpreter = self._interpreters[0]
        self._pool = ThreadPoolExecutor(n, thread_name_prefix="yamnet") if n > 1 else None
        inp = self._interpreter.get_input_details()[0]
        if int(np.prod(inp["shape"])) != PATCH:
            raise ModelMissing(
                f"{path}: input shape {inp['shape'].tolist()}, expected {PATCH} samples; use {YAMNET.name}"
            )
        self._input, self._input_shape = inp["index"], tuple(int(d) for d in inp["shape"])
        scores = [o for o in self._interpreter.get_output_details() if int(o["shape"][-1]) == N_CLASSES]
        if not scores:
            raise ModelMissing(f"{path}: no output of {N_CLASSES} class scores; use {YAMNET.name}")
        self._output = scores[0]["index"]

    def patch_scores(self, wave: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """(len(starts), 521) float32 scores of the patches ``wave[s : s + 15600]``."""
        out = np.empty((len(starts), N_CLASSES), dtype=np.float32)
        parts = np.array_split(np.arange(len(starts)), len(self._interpreters))
        work = [(it, rows) for it, rows in zip(self._interpreters, parts, strict=True) if len(rows)]

        def run(interpreter: Any, rows: np.ndarray) -> None:
            for i in rows:
                s = starts[i]
                interpreter.set_tensor(self._input, wave[s : s + PATCH].reshape(self._input_shape))
                interpreter.invoke()
                out[i] = interpreter.get_tensor(self._output).reshape(-1)

        if self._pool is None or len(work) == 1:
            for interpreter, rows in work:
                run(interpreter, rows)
        else:
            for done in [self._pool.submit(run, it, rows) for it, rows in work]:
                done.result()
        return out

    def _pooled(
        self, wave: np.ndarray, starts_s: np.ndarray, ends_s: np.ndarray, hop_s: float, pooling: Pooling
    ) -> np.ndarray:
        patches, groups = patch_plan(len(wave), starts_s, ends_s, hop_s)
        if len(wave) < PATCH:  # upstream YAMNet pads short audio with silence to one patch
            wave = np.pad(wave, (0, PATCH - len(wave)))
        scores = self.patch_scores(wave, patches)
        pool = np.max if pooling == "max" else np.mean
        return np.stack([pool(scores[g], axis=0) for g in groups]).astype(np.float32)

    def tag_windows(self, wave: np.ndarray, window_s: float = 2.0, hop_s: float = 1.0) -> TagFrames:
        """Tags of windows of ``window_s`` every ``hop_s`` seconds (the rows mn04 gives for the same input).

        Raises:
            ValueError: ``wave`` is empty or not 1-D, or the window or hop is not positive.
        """
        x = as_wave(wave)
        starts, ends = window_bounds(len(x), RATE, window_s, hop_s)
        return TagFrames(starts, ends, self._pooled(x, starts, ends, hop_s, self.pooling), None)

    def tag_clip(self, wave: np.ndarray) -> TagFrames:
        """One row for the whole array: the mean over patches every 0.4875 s (plus one at the end).

        Raises:
            ValueError: ``wave`` is empty or not 1-D.
        """
        x = as_wave(wave)
        starts, ends = window_bounds(len(x), RATE, math.inf, 1.0)
        return TagFrames(starts, ends, self._pooled(x, starts, ends, PATCH_HOP / RATE, "mean"), None)
