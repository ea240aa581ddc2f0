"""Export a network to ONNX once, cache the file, and open an ONNX Runtime session on it."""

from __future__ import annotations

import logging
import os
import tempfile
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
    return opts


def onnx_session(path: Path, export: Callable[[Path], None] | None, threads: int = 0):  # -> InferenceSession
    """Open ``path`` with ONNX Runtime, exporting it first with ``export(tmp_path)`` when absent.

    The export writes to a temporary file that is renamed into place, so a crash never
    leaves a half-written model behind.
    """
    import onnxruntime as ort

    if not path.is_file():
        if export is None:
            raise FileNotFoundError(path)
        log.info("exporting %s to ONNX (once)", path.name)
        fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=path.parent)
        os.close(fd)
        try:
            export(Path(tmp))
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return ort.InferenceSession(str(path), sess_options=session_options(threads), providers=["CPUExecutionProvider"])
