"""What every trainer provides to the shared loop (``training.loop``).

A ``Task`` owns its networks (``nets``), optimisers, EMA copies and data. Batches
are a pure function of the step (``make_batch``): sample ``i`` of the run is the
same face, augmentation and degradation whatever the number of processes and
wherever a run was resumed, so the data order needs no saving. Rank ``r`` of a
``W``-process job takes samples ``[(s*W + r)*B, (s*W + r + 1)*B)`` of step ``s``:
two processes with batch B see exactly what one process with batch 2B sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
from torch import nn

from engine.models.fit import load_fitting

from .checkpoint import (
    load_module,
    module_tensors,
    optimizer_from_flat,
    optimizer_to_flat,
)
from .ema import EMA
from .errors import ConfigError
from .options import TrainerOptions
from .runtime import Runtime

if TYPE_CHECKING:
    from .config import TrainConfig


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 N x H x W x C -> float N x C x H x W in [-1, 1] (on the tensor's device)."""
    return images.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """float N x C x H x W in [-1, 1] -> uint8 N x H x W x C numpy (rounded, clipped)."""
    x = images.detach().float().clamp(-1, 1).add(1).mul(127.5).round()
    return x.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


class Task:
    """Base class of the four trainers; see the module docstring for the contract."""

    name = "task"
    default_batch = 16
    Options: type[TrainerOptions] = TrainerOptions  # this trainer's ``--option`` settings

    def __init__(self, config: TrainConfig, rt: Runtime, preset: str) -> None:
        self.config = config
        self.rt = rt
        self.opts = self.Options.from_dict(dict(config.options), self.name)
        self.preset = preset
        self.batch = config.batch or self.default_batch
        self.nets: dict[str, nn.Module] = {}
        self.wrapped: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.emas: dict[str, EMA] = {}
        self.notes: list[str] = []
        self.data_card: dict[str, Any] = {}
        self.earlier_runs: list[dict[str, Any]] = []  # from ``init_weights``' model card
        # The loop sets this for the last validation of a call (the model card's numbers):
        # trainers may then add metrics too slow for every validation (identity).
        self.final_validation = False

    # --- to implement ---------------------------------------------------------------------

    def prepare_data(self, progress: Any = None, cancel: Any = None) -> None:
        raise NotImplementedError

    def build(self) -> None:
        raise NotImplementedError

    def make_batch(self, step: int) -> dict[str, Any]:
        raise NotImplementedError

    def train_step(self, batch: dict[str, Any], step: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def validate(self) -> dict[str, float]:
        return {}

    def sample_rows(self) -> list[list[np.ndarray]]:
        """Rows of uint8 images (input, output, target) for the sample grid."""
        return []

    def export_module(self) -> nn.Module:
        """The network that ships (the EMA copy when there is one)."""
        raise NotImplementedError

    def card(self) -> dict[str, Any]:
        return {}

    def on_step_start(self, step: int) -> None:
        """Called before every step (CAGFace switches stages here)."""

    # --- shared ---------------------------------------------------------------------------

    def positions(self, step: int) -> np.ndarray:
        """Global sample indices of this rank's share of ``step`` (see module docstring)."""
        start = (step * self.rt.world + self.rt.rank) * self.batch
        return np.arange(start, start + self.batch, dtype=np.int64)

    def net(self, name: str) -> nn.Module:
        """The network to run in a training step (DDP-wrapped / compiled when so set up)."""
        return self.wrapped.get(name, self.nets[name])

    def wrap(self, trainable: tuple[str, ...] | None = None) -> None:
        """DDP across processes and ``torch.compile`` when asked; call after loading state."""
        names = trainable if trainable is not None else tuple(self.optimizers)
        for name in names:
            net = self.nets[name]
            if self.rt.distributed and self.rt.device.type == "cuda":
                # one set of BatchNorm statistics over all GPUs (same Parameter objects,
                # so optimisers and EMA copies keep pointing at the right tensors)
                net = self.nets[name] = nn.SyncBatchNorm.convert_sync_batchnorm(net)
            if self.rt.distributed:
                from torch.nn.parallel import DistributedDataParallel as DDP

                ids = [self.rt.device.index] if self.rt.device.type == "cuda" else None
                net = DDP(net, device_ids=ids, find_unused_parameters=self.find_unused(name))
            if self.config.compile:
                net = cast(nn.Module, torch.compile(net))
            if net is not self.nets[name]:
                self.wrapped[name] = net

    def find_unused(self, name: str) -> bool:
        return False

    def place(self, net: nn.Module) -> nn.Module:
        net = net.to(self.rt.device)
        if self.rt.channels_last:
            net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload, unused-ignore]  # torch < 2.14 stubs omit it
        return net

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors: dict[str, torch.Tensor] = {}
        meta: dict[str, Any] = {"optimizers": {}}
        for name, net in self.nets.items():
            tensors.update(module_tensors(f"net.{name}", net))
        for name, ema in self.emas.items():
            tensors.update(module_tensors(f"ema.{name}", ema.shadow))
        for name, opt in self.optimizers.items():
            if not self.config.checkpoint_optimizer:
                break  # weights-only checkpoint: small, resumes with fresh Adam moments
            t, m = optimizer_to_flat(f"opt.{name}", opt)
            tensors.update(t)
            meta["optimizers"][name] = m
        if self.rt.scaler is not None:
            meta["scaler"] = {
                k: (v.item() if torch.is_tensor(v) else v)
                for k, v in self.rt.scaler.state_dict().items()
            }
        meta["task"] = self.extra_state()
        meta["ema_updates"] = {name: ema.updates for name, ema in self.emas.items()}
        return tensors, meta

    def load_state(self, tensors: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> None:
        for name, net in self.nets.items():
            load_module(f"net.{name}", net, tensors)
        for name, ema in self.emas.items():
            load_module(f"ema.{name}", ema.shadow, tensors)
        for name, opt in self.optimizers.items():
            if name not in meta["optimizers"]:
                self.notes.append(f"checkpoint has no optimiser state for {name}: fresh moments")
                continue
            optimizer_from_flat(f"opt.{name}", opt, tensors, meta["optimizers"][name])
        if self.rt.scaler is not None and "scaler" in meta:
            self.rt.scaler.load_state_dict(meta["scaler"])
        task_state = meta.get("task", {})
        updates = dict(meta.get("ema_updates", {}))
        if "ema_updates" in task_state:  # checkpoints written before every task kept it
            updates.setdefault("G", task_state["ema_updates"])
        for name, ema in self.emas.items():
            ema.updates = int(updates.get(name, 0))  # the EMA warm-up goes on where it was
        self.load_extra_state(task_state)

    def init_from_weights(self, name_or_path: str) -> None:
        """Start the exported network (and its EMA copy) from an installed weight set.

        Its model card's training history is kept, so the next export records every run
        that led to it (runs on another machine whose checkpoints are gone included).
        """
        from engine.weights import find_weights, load_state_dict

        info = find_weights(name_or_path)
        if info.preset != self.preset and not _same_network(info.preset, self.preset):
            raise ConfigError(f"{info.name} is a {info.preset} weight set, not {self.preset}")
        state = load_state_dict(info)
        for module in self.init_modules():
            load_fitting(module, state, f"{info.name} does not fit {self.preset}")
        card = info.card
        earlier = card.get("history")
        if not earlier and card.get("steps"):
            earlier = [
                {
                    "date": card.get("date", "unknown"),
                    "steps": card["steps"],
                    "samples": int(card["steps"]) * int(card.get("batch", 1)),
                    "seconds": card.get("wall_time_s", 0.0),
                    "hardware": card.get("hardware", "unknown"),
                    "validation": card.get("validation", {}),
                }
            ]
        self.earlier_runs = list(earlier or [])
        if info.preset != self.preset:  # the card says which runs trained it as what
            self.earlier_runs = [{"preset": info.preset, **run} for run in self.earlier_runs]
        self.notes.append(f"started from the weights {info.name} ({len(self.earlier_runs)} runs)")
        if info.preset != self.preset:
            self.notes.append(f"{info.name} was trained as {info.preset}, the same network")

    def init_modules(self) -> list[nn.Module]:
        """What ``init_from_weights`` loads: the exported network and its training twin."""
        target = self.export_module()
        owners = [n for n, net in self.nets.items() if net is target]
        owners += [n for n, ema in self.emas.items() if ema.shadow is target]
        name = owners[0] if owners else "G"
        found = (self.nets.get(name), getattr(self.emas.get(name), "shadow", None))
        return [m for m in found if m is not None]

    def extra_state(self) -> dict[str, Any]:
        return {}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        pass

    def update_emas(self) -> None:
        for name, ema in self.emas.items():
            ema.update(self.nets[name])


def _same_network(preset: str, other: str) -> bool:
    """A weight set of another preset with the very same network can start this one."""
    from engine.models.presets import PRESETS

    return preset in PRESETS and other in PRESETS and PRESETS[preset].same_network(PRESETS[other])
