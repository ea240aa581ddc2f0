"""Export a network to ONNX once, cache the file, and open an ONNX Runtime session on it."""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def session_options(threads: int):  # -> onnxruntime.SessionOptions
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or (os.cpu_count() or 1)
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    opts.enable_cpu_mem_arena = False  # the arena keeps the peak of every batch shape: bounded RSS matters more
    # Idle pool threads sleep rather than spin: the pipelines hand the cores from one runtime to the
    # next (mn04, then LiteRT's YAMNet; the image networks beside decoding), and a spinning pool
    # takes cycles from whoever runs next. Measured on 2 cores: sound events 11.5 s against 12.8-13.8
    # for 10 minutes, a 60 s video 15.2 s against 15.9-16.8, a word search 36 ms against 42-68.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


def onnx_session(
    path: Path, export: Callable[[Path], None] | None, threads: int = 0, doing: str = "exporting {} to ONNX Runtime"
):  # -> InferenceSession
    """Open ``path`` with ONNX Runtime, exporting it first with ``export(tmp_path)`` when absent.

    ``doing`` is what the one line logged before an export says (``{}``: the model's folder name).

    The export writes to a temporary file that is renamed into place, so a crash never
    leaves a half-written model behind.
    """
    import onnxruntime as ort

    if not path.is_file():
        if export is None:
            raise FileNotFoundError(path)
        # One line, so a first run's pause has a reason; the exporter's own tracer and constant-folding
        # warnings say nothing a user can act on, so they are kept off the console.
        log.warning("first use: %s, once", doing.format(path.parent.name or path.name))
        fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=path.parent)
        os.close(fd)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                export(Path(tmp))
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return ort.InferenceSession(str(path), sess_options=session_options(threads), providers=["CPUExecutionProvider"])


def checked_torch_session(module, example, path: Path, *, threads: int = 0, what: str = "", tolerance: float = 1e-5):
    """An ONNX Runtime session for a torch ``module`` of one batched input, or None where it cannot be had.

    The module is exported once to ``path`` (batch axis dynamic). Before the session is used, it
    must give the same unit vectors as the module on ``example`` (within ``tolerance``), so a
    graph the exporter gets wrong is never used: it is deleted and the caller stays on torch.
    """
    import numpy as np
    import torch

    def export(out: Path) -> None:
        # Outside inference mode: there torch takes fused kernels (native multi-head attention)
        # that the exporter cannot write.
        with torch.inference_mode(False), torch.enable_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about shape checks the graph fixes
            _export(out)

    def _export(out: Path) -> None:
        torch.onnx.export(
            module,
            (example,),
            str(out),
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
            opset_version=17,
            dynamo=False,
        )

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        session = onnx_session(path, export, threads)
        got = session.run(None, {"x": example.numpy()})[0]
        with torch.inference_mode():
            want = module(example).float().numpy()
        got = got / np.linalg.norm(got, axis=-1, keepdims=True)
        want = want / np.linalg.norm(want, axis=-1, keepdims=True)
        diff = float(np.abs(got - want).max())
        if not diff <= tolerance:
            raise ValueError(f"ONNX output differs from torch by {diff:.2e}")
        return session
    except Exception as exc:  # exporters fail in many ways; torch still works
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        log.warning("%s: staying on torch, the ONNX export is not usable (%s)", what or path.name, reason[:300])
        path.unlink(missing_ok=True)
        return None
