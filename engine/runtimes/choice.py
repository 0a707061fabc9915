"""Which runtime calls a network: the seam between the model cache and ONNX Runtime.

``network_for`` gets the torch network the cache prepared and gives back what the
engines will call: that network (``torch``; on a GPU; when ONNX Runtime is missing or
the export fails, with one log line), an :class:`OnnxNetwork` of its export (``onnx``),
or, for ``auto``, whichever of the two was measured faster on this machine. The
measurement is made once per weight set, recipe and thread count, and kept beside the
exports (``runtime-choices.json``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..atomic import write_text_atomic
from ..install_lock import folder_lock
from ..models.presets import CallStyle, Preset
from . import onnx_runtime_available
from .export import ExportSpec, cached_export, onnx_cache_dir, weights_sha256
from .session import OnnxNetwork

log = logging.getLogger(__name__)

CHOICES_FILE = "runtime-choices.json"
_EXAMPLE_SIDE = {CallStyle.COMPONENT_BLOCK: 64, CallStyle.SEGMENTS: 128}
_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning(message)


def spec_for(preset: Preset, shard_sha256s: list[str], net: nn.Module, recipe: str) -> ExportSpec:
    """The export of one preset's network with these weights and fast-path recipe."""
    call = preset.capabilities.call
    if call is CallStyle.CRITIC:
        raise ValueError(f"{preset.name} is used in training only; it is never exported")
    sha = weights_sha256(shard_sha256s)
    side = preset.size or _EXAMPLE_SIDE[call]
    attention = preset.capabilities.returns_attention
    outputs = ["logits" if call is CallStyle.SEGMENTS else "image"]
    if attention:
        stages = net.attention_stages()  # type: ignore[operator]
        outputs += [f"attention_{i}" for i in range(len(stages))]
    return ExportSpec(
        key=f"{preset.name}-{sha[:32]}-{recipe}",
        weights_sha256=sha,
        example=(1, preset.capabilities.in_channels, side, side),
        outputs=tuple(outputs),
        # Fixed-size networks keep fixed sides; the blind restorers (working sides up to
        # their max_work_side), CAGFace's tiles and the parser take any side.
        dynamic_spatial=preset.size == 0 or preset.max_work_side != preset.size,
        attention=attention,
    )


def onnx_network(spec: ExportSpec, build: Callable[[], nn.Module]) -> OnnxNetwork:
    """The cached export of ``spec`` in a session; a file ONNX Runtime rejects is rebuilt."""
    path = cached_export(spec, build)
    try:
        return OnnxNetwork(path, spec)
    except Exception as err:  # onnxruntime's own error types: a file it cannot parse
        log.warning("ONNX Runtime could not load %s (%s); exporting it again", path.name, err)
        return OnnxNetwork(cached_export(spec, build, rebuild=True), spec)


def _best_ms(net: nn.Module, x: torch.Tensor, repeats: int = 2) -> float:
    with torch.inference_mode():
        net(x)  # warm-up: first-call allocations, ONNX Runtime's arena
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            net(x)
            best = min(best, time.perf_counter() - start)
    return best * 1000


def measure(torch_net: nn.Module, onnx_net: OnnxNetwork, spec: ExportSpec) -> dict[str, Any]:
    """Both runtimes on the same input, best of two calls each after a warm-up."""
    x = torch.rand(*spec.example) * 2 - 1
    torch_ms, onnx_ms = _best_ms(torch_net, x), _best_ms(onnx_net, x)
    return {
        "torch_ms": round(torch_ms, 3),
        "onnx_ms": round(onnx_ms, 3),
        "runtime": "onnx" if onnx_ms < torch_ms else "torch",
    }


def measured_choice(
    spec: ExportSpec, torch_net: nn.Module, onnx_net: OnnxNetwork, threads: int
) -> str:
    """``auto``'s pick for this network on ``threads`` threads: measured once, then kept."""
    folder = onnx_cache_dir()
    path, entry = folder / CHOICES_FILE, f"{spec.key}@{threads}"
    with folder_lock(folder, CHOICES_FILE):
        try:
            known = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(known, dict):
                known = {}
        except (OSError, ValueError):
            known = {}
        row = known.get(entry)
        if not isinstance(row, dict) or row.get("runtime") not in ("onnx", "torch"):
            row = measure(torch_net, onnx_net, spec)
            known[entry] = row
            write_text_atomic(path, json.dumps(known, indent=1, sort_keys=True))
            log.info(
                "%s: torch %.1f ms, ONNX Runtime %.1f ms a call on %d threads",
                spec.key,
                row["torch_ms"],
                row["onnx_ms"],
                threads,
            )
    return str(row["runtime"])


def network_for(
    name: str,
    spec_of: Callable[[], ExportSpec],
    torch_net: nn.Module,
    device: torch.device,
    choice: str,
) -> nn.Module:
    """What the engines call for the network ``name`` under runtime ``choice``.

    ``torch_net`` is the prepared torch network on ``device`` (exported as it is, so it
    must be in eval mode); ``spec_of`` says what its export is.
    """
    if choice == "torch":
        return torch_net
    if device.type != "cpu":
        if choice == "onnx":
            _warn_once(f"ONNX Runtime runs on the CPU only here; {device} runs torch")
        return torch_net
    if not onnx_runtime_available():
        _warn_once("ONNX Runtime is not installed; the networks run on torch")
        return torch_net
    try:
        spec = spec_of()
        onnx_net = onnx_network(spec, lambda: torch_net)
    except Exception as err:  # any exporter or runtime failure: torch still works
        _warn_once(f"{name} could not run on ONNX Runtime ({err}); it runs on torch")
        return torch_net
    if choice == "onnx":
        return onnx_net
    picked = measured_choice(spec, torch_net, onnx_net, torch.get_num_threads())
    return onnx_net if picked == "onnx" else torch_net


def preset_network(
    preset: Preset,
    shard_sha256s: list[str],
    torch_net: nn.Module,
    device: torch.device,
    choice: str,
    recipe: str,
) -> nn.Module:
    """``network_for`` a preset's network with these weights and fast-path recipe."""

    def spec() -> ExportSpec:
        return spec_for(preset, shard_sha256s, torch_net, recipe)

    return network_for(preset.name, spec, torch_net, device, choice)
