"""MTCNN's three networks (facenet-pytorch's P-Net, R-Net, O-Net) on ONNX Runtime.

facenet-pytorch calls ``mtcnn.pnet(x)``, ``mtcnn.rnet(x)`` and ``mtcnn.onet(x)`` and
works on what they return; :func:`use_runtime` swaps each for what
``engine.runtimes.choice.network_for`` picks, so the detector's pyramid and NMS stay as
they are. The exports are keyed by the sha256 of the weight files in facenet-pytorch's
wheel. P-Net is fully convolutional (every pyramid level has its own size); R-Net and
O-Net take 24 px and 48 px crops.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import torch

from ..hashing import sha256_file
from .choice import network_for
from .export import ExportSpec, weights_sha256

# name -> (input side, outputs in the torch network's order, whether H and W vary)
MTCNN_NETS: dict[str, tuple[int, tuple[str, ...], bool]] = {
    "pnet": (12, ("boxes", "scores"), True),
    "rnet": (24, ("boxes", "scores"), False),
    "onet": (48, ("boxes", "landmarks", "scores"), False),
}


def weights_file(name: str) -> Path:
    """The weight file facenet-pytorch loads for ``name`` (shipped inside its wheel)."""
    import facenet_pytorch

    return Path(facenet_pytorch.__file__).parent / "data" / f"{name}.pt"


def mtcnn_spec(name: str) -> ExportSpec:
    """The export of one of MTCNN's networks."""
    side, outputs, dynamic = MTCNN_NETS[name]
    sha = weights_sha256([sha256_file(weights_file(name))])
    return ExportSpec(
        key=f"mtcnn-{name}-{sha[:32]}",
        weights_sha256=sha,
        example=(1, 3, side, side) if not dynamic else (1, 3, 4 * side, 4 * side),
        outputs=outputs,
        dynamic_spatial=dynamic,
    )


def use_runtime(mtcnn: Any, choice: str) -> dict[str, str]:
    """Put ``choice``'s runtime (auto|onnx|torch) behind each of ``mtcnn``'s networks.

    Returns, per network, the runtime it got ("onnx" or "torch").
    """
    device = torch.device(getattr(mtcnn, "device", "cpu"))
    chosen = {}
    for name in MTCNN_NETS:
        net = getattr(mtcnn, name)
        torch_net = getattr(net, "torch_net", net)  # swapped before: start from torch's
        called = network_for(f"MTCNN {name}", partial(mtcnn_spec, name), torch_net, device, choice)
        if called is not torch_net:
            called.torch_net = torch_net  # type: ignore[assignment, unused-ignore]
        setattr(mtcnn, name, called)
        chosen[name] = getattr(called, "runtime", "torch")
    return chosen
