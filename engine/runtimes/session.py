"""An ONNX export run by ONNX Runtime behind the face of the torch module it replaces.

The engines call a network as ``net(x)`` or ``net(x, return_attention=True)`` on torch
tensors; :class:`OnnxNetwork` takes the same calls and gives the same outputs, so the
engines need not know which runtime runs. Its thread count follows torch's at the time
of the call: the CPU engine runs one face per worker with torch set to one thread, and
one session per thread count is made on first use (sessions are thread-safe).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .export import INPUT, ExportSpec


def make_session(path: Path, threads: int) -> Any:
    """An ONNX Runtime CPU session of ``path`` on ``threads`` intra-op threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxNetwork(nn.Module):
    """Calls like the exported torch network; runs ONNX Runtime on the CPU."""

    runtime = "onnx"

    def __init__(self, path: Path, spec: ExportSpec) -> None:
        super().__init__()
        self.path = path
        self.spec = spec
        self._sessions: dict[int, Any] = {}
        self._lock = threading.Lock()
        self.session(torch.get_num_threads())  # a file ONNX Runtime cannot load fails here

    def session(self, threads: int) -> Any:
        with self._lock:
            if threads not in self._sessions:
                self._sessions[threads] = make_session(self.path, threads)
            return self._sessions[threads]

    def run(self, x: torch.Tensor, outputs: list[str] | None = None) -> list[np.ndarray]:
        """The named outputs (all by default) for ``x`` as float32 arrays."""
        feed = {INPUT: np.ascontiguousarray(x.detach().float().cpu().numpy())}
        result: list[np.ndarray] = self.session(torch.get_num_threads()).run(outputs, feed)
        return result

    def forward(self, x: torch.Tensor, return_attention: bool = False) -> Any:
        if self.spec.attention:
            if not return_attention:
                return torch.from_numpy(self.run(x, [self.spec.outputs[0]])[0])
            y, *maps = (torch.from_numpy(a) for a in self.run(x))
            return y, maps
        out = [torch.from_numpy(a) for a in self.run(x)]
        return out[0] if len(out) == 1 else tuple(out)
