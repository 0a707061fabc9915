"""ONNX exports of Revive's networks, cached on disk by the weights' sha256.

A network is exported once per weight set and fast-path recipe into the per-user
cache (``<data>/cache/onnx``): ``<key>.onnx`` beside ``<key>.json``, which records the
file's own sha256, the weights' sha256 and the graph's outputs. A cached file whose
sha256 no longer matches, or whose record cannot be read, is exported again.

The legacy TorchScript exporter (``dynamo=False``) is used: on these networks it gives
the same graphs as the dynamo exporter (outputs within 1e-7 of each other) in seconds
instead of minutes, and needs no onnxscript.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..atomic import atomic_path, write_text_atomic
from ..hashing import sha256_file
from ..install_lock import folder_lock
from ..paths import user_data_dir

log = logging.getLogger(__name__)

EXPORT_FORMAT = "revive-onnx/2"  # bump when what an export holds changes
OPSET = 17
INPUT = "input"


def onnx_cache_dir() -> Path:
    """Where exports and their measured speeds are kept (the user's data cache)."""
    return user_data_dir() / "cache" / "onnx"


def weights_sha256(shard_sha256s: list[str]) -> str:
    """One sha256 for a weight set, from its manifest's per-shard sha256s (no re-hashing)."""
    return hashlib.sha256("\n".join(shard_sha256s).encode("ascii")).hexdigest()


@dataclass(frozen=True)
class ExportSpec:
    """What one export is: its cache key, an example input and the graph's outputs.

    ``outputs[0]`` is the main output; ``attention`` says the others are attention maps
    (SPARNet's ``return_attention``), else the network returns them all as a tuple.
    """

    key: str  # file stem: names the network, the weights' sha256 and the recipe
    weights_sha256: str
    example: tuple[int, ...]  # N x C x H x W of the example input
    outputs: tuple[str, ...]
    dynamic_spatial: bool  # H and W vary (fully convolutional at varying sides)
    attention: bool = False

    def dynamic_axes(self) -> dict[str, dict[int, str]]:
        axes: dict[int, str] = {0: "batch"}
        if self.dynamic_spatial:
            axes.update({2: "height", 3: "width"})
        out = {INPUT: axes}
        for name in self.outputs:
            out[name] = (
                {0: "batch", 2: "out_height", 3: "out_width"}
                if self.dynamic_spatial
                else {0: "batch"}
            )
        return out


class _AllOutputs(nn.Module):
    """The network with its attention maps as plain extra outputs (what ONNX can hold)."""

    def __init__(self, net: nn.Module, attention: bool) -> None:
        super().__init__()
        self.net = net
        self.attention = attention

    def forward(self, x: torch.Tensor) -> Any:
        if self.attention:
            y, maps = self.net(x, return_attention=True)
            return (y, *maps)
        return self.net(x)


def export_network(net: nn.Module, spec: ExportSpec, target: Path) -> None:
    """Write ``net`` (eval mode, on the CPU) as ONNX at ``target``, atomically."""
    wrapper = _AllOutputs(net, spec.attention).eval()  # eval: a training-mode wrapper exports wrong
    example = torch.rand(*spec.example) * 2 - 1
    with atomic_path(target) as part, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # hundreds of tracer notes, and the exporter's deprecation
        torch.onnx.export(
            wrapper,
            (example,),
            str(part),
            input_names=[INPUT],
            output_names=list(spec.outputs),
            dynamic_axes=spec.dynamic_axes(),
            opset_version=OPSET,
            dynamo=False,
        )


def _record_path(onnx_path: Path) -> Path:
    return onnx_path.with_suffix(".json")


def cached_is_whole(onnx_path: Path, spec: ExportSpec) -> bool:
    """The cached export exists, its record reads, and the file's sha256 matches it."""
    try:
        record = json.loads(_record_path(onnx_path).read_text(encoding="utf-8"))
        return (
            record.get("format") == EXPORT_FORMAT
            and record.get("weights_sha256") == spec.weights_sha256
            and record.get("outputs") == list(spec.outputs)
            and sha256_file(onnx_path) == record.get("sha256")
        )
    except (OSError, ValueError, AttributeError):
        return False


def cached_export(
    spec: ExportSpec, build: Callable[[], nn.Module], *, rebuild: bool = False
) -> Path:
    """The ONNX file of ``spec``: the cached one when whole, else a new export of ``build()``.

    ``rebuild`` discards the cached file (ONNX Runtime could not load it). One process
    exports a given network at a time; a second waits and then reads its file.
    """
    folder = onnx_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{spec.key}.onnx"
    with folder_lock(folder, spec.key):
        if not rebuild and cached_is_whole(path, spec):
            return path
        if path.exists():
            log.warning("the cached ONNX export %s is damaged; exporting it again", path.name)
        export_network(build(), spec, path)
        record = {
            "format": EXPORT_FORMAT,
            "sha256": sha256_file(path),
            "weights_sha256": spec.weights_sha256,
            "outputs": list(spec.outputs),
            "dynamic_spatial": spec.dynamic_spatial,
            "torch": torch.__version__,
            "opset": OPSET,
        }
        write_text_atomic(_record_path(path), json.dumps(record, indent=1))
    return path
