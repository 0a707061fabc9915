"""How an inference network is called: torch, or ONNX Runtime on an export of it.

This module is torch-free (the options, the CLI and the app read the choices from
here before anything heavy loads). ``export`` writes and caches the ONNX files,
``session`` runs one behind a torch-module face, ``choice`` decides per network
(``auto``: whichever was measured faster here, once), ``mtcnn`` does the same for the
face detector's three networks. Training always stays on torch.
"""

from __future__ import annotations

RUNTIME_LABELS: dict[str, str] = {
    "auto": "Auto (the faster one, measured here once)",
    "onnx": "ONNX Runtime",
    "torch": "PyTorch",
}
RUNTIME_CHOICES = tuple(RUNTIME_LABELS)


def onnx_runtime_available() -> bool:
    """Whether ONNX Runtime can be imported here (it is an optional speed-up)."""
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None
