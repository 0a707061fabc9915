"""CAGFace x4 (paper 003, Sec. 3-4): patches of the component-attention block, Huber loss.

The LR face (bicubic x4 down-sampling of the HR face) is segmented by the frozen
component network; its smoothed hair / skin / other maps weight the gray image
(``engine.models.cagface.component_attention_block``). The block and the HR face
get one of six geometric transforms (identity, rotations by 90 / 180 / 270,
vertical or horizontal flip), then a random LR patch and its HR counterpart are
cut out. Stage 1 trains first (Huber, delta 1, on the x2 output); at step
``stage1_steps`` stage 2 is initialised from it and both train with Huber on the
x2 intermediate and the x4 output.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import WeightsError
from engine.models import create_model
from engine.models.cagface import CAGFace, component_attention_block
from engine.models.parsing import ComponentSmoothing, component_maps, parse_size_of

from ..augment import AugmentConfig
from ..degrade import bicubic_resize, sample_rng
from ..errors import ConfigError
from ..options import TrainerOptions
from ..runtime import eval_mode
from ..task import to_uint8, to_unit
from .sr_base import FaceSRTask, mean_quality

TRANSFORMS = 6  # identity, rot90, rot180, rot270, vertical flip, horizontal flip


def geometric(x: torch.Tensor, code: int) -> torch.Tensor:
    """One of CAGFace's six transforms on N x C x H x W."""
    if 1 <= code <= 3:
        return torch.rot90(x, code, dims=(2, 3))
    if code == 4:
        return torch.flip(x, dims=(2,))
    if code == 5:
        return torch.flip(x, dims=(3,))
    return x


class CAGFaceTrainNet(nn.Module):
    """CAGFace with a phase switch: phase 1 runs stage 1 only; phase 2 both stages."""

    def __init__(self, model: CAGFace) -> None:
        super().__init__()
        self.model = model

    def forward(self, block: torch.Tensor, phase: int) -> tuple[torch.Tensor | None, torch.Tensor]:
        if phase == 1 or self.model.stage2 is None:
            x2, _ = self.model.stage1(block)
            return None, x2
        x4, x2 = self.model(block, return_intermediate=True)
        return x4, x2


def load_segmenter(spec: str | None) -> tuple[nn.Module, str, int]:
    """The frozen component network, its name and its input size.

    ``spec`` is a weights name or manifest path; without one, the shipped default.
    """
    from engine.weights import default_weights, find_weights, load_model

    info = find_weights(spec) if spec else default_weights("components")
    if info is None:
        raise WeightsError(
            "CAGFace training needs component-segmentation weights: none are installed "
            "(train them with `revive train components`, or pass --components NAME)"
        )
    net = load_model(info, **info.card.get("model_overrides", {}))
    return net.eval().requires_grad_(False), info.name, parse_size_of(info.card)


@dataclass(frozen=True)
class CAGFaceOptions(TrainerOptions):
    betas: tuple[float, float] = (0.9, 0.999)  # Adam
    patch: int = 32  # LR patch side of the component-attention block (even)
    stage1_steps: int | None = None  # steps of stage 1 alone (default: half the run)
    components: str | None = None  # component weights (default: the shipped ones)
    component_size: int | None = None  # segmenter input side (default: its trained size)
    smoothing_sigma: float = 1.5  # Gaussian smoothing of the component maps
    stage1_seconds: float | None = None  # stage 1 alone for this long (a time-limited run)
    stage1_until: float | None = None  # ... or until this time.time() (a run with a deadline)
    warmup_steps: int = 0  # linear learning-rate warm-up (a run that starts from weights)

    def __post_init__(self) -> None:
        if self.patch < 2 or self.patch % 2:
            raise ValueError("the CAGFace patch side must be even")
        if self.warmup_steps < 0:
            raise ValueError("warmup_steps must be zero or more")


class CAGFaceTask(FaceSRTask):
    name = "cagface"
    default_batch = 16
    default_degradation = "bicubic4x"
    default_augment = AugmentConfig(flip=False, rescale=(1.0, 1.0))  # transforms come later
    Options = CAGFaceOptions
    opts: CAGFaceOptions

    def face_size(self) -> int:
        return int(self.config.size or 128)

    def prepare_data(self, progress: Any = None, cancel: Any = None) -> None:
        super().prepare_data(progress, cancel)
        if self.deg.factor != 4:
            raise ConfigError("CAGFace learns x4: use --degradation bicubic4x")
        o = self.opts
        lr_side = self.face_size() // 4
        self.patch = min(o.patch, lr_side)
        if self.patch % 2:
            raise ConfigError("the CAGFace patch side must be even")
        self.stage1_steps = o.stage1_steps if o.stage1_steps is not None else self.config.steps // 2
        if o.stage1_seconds is not None or o.stage1_until is not None:
            self.stage1_steps = 2**62  # the step is known when the time has come
        self.stage1_clock: float | None = None
        self.val_x2 = np.stack([bicubic_resize(h, (h.shape[0] // 2,) * 2) for h in self.val_hq])
        self.val_small = np.stack([bicubic_resize(h, (lr_side, lr_side)) for h in self.val_hq])
        self.done_steps = 0

    def build(self) -> None:
        c, o = self.config, self.opts
        model = cast(CAGFace, create_model(self.preset, **c.model_overrides).train())
        self.nets["G"] = self.place(CAGFaceTrainNet(model))
        self.optimizers["G"] = torch.optim.Adam(
            self.nets["G"].parameters(), lr=c.lr or 1e-4, betas=o.betas
        )
        segmenter, self.segmenter_name, parse_size = load_segmenter(o.components)
        self.work_size = o.component_size or parse_size
        self.segmenter = segmenter.to(self.rt.device)
        self.smoothing = ComponentSmoothing(o.smoothing_sigma).to(self.rt.device)
        if c.ema_decay:
            from ..ema import EMA

            self.emas["G"] = EMA(self.nets["G"], c.ema_decay, warmup=not c.init_weights)
        self.base_lr = self.optimizers["G"].param_groups[0]["lr"]

    def init_modules(self) -> list[nn.Module]:
        """Weights name the CAGFace model itself, inside its training wrappers."""
        wrappers = [self.nets["G"], *(e.shadow for e in self.emas.values())]
        return [cast(CAGFaceTrainNet, w).model for w in wrappers]

    def find_unused(self, name: str) -> bool:
        return True  # stage 2 has no gradient during phase 1

    def phase(self, step: int) -> int:
        return 1 if step < self.stage1_steps else 2

    def on_step_start(self, step: int) -> None:
        seconds, until = self.opts.stage1_seconds, self.opts.stage1_until
        if step < self.stage1_steps and (seconds is not None or until is not None):
            now = time.time()
            self.stage1_clock = self.stage1_clock or now
            due = (seconds is not None and now - self.stage1_clock >= seconds) or (
                until is not None and now >= until
            )
            if due and step >= 1:  # at least one step of stage 1 to start stage 2 from
                self.stage1_steps = step
        warmup = self.opts.warmup_steps
        for group in self.optimizers["G"].param_groups:
            group["lr"] = self.base_lr * (min(1.0, (step + 1) / warmup) if warmup else 1.0)
        if step == self.stage1_steps and step > 0:
            for net in (self.nets["G"], *(e.shadow for e in self.emas.values())):
                cast(CAGFaceTrainNet, net).model.init_stage2_from_stage1()
            self.notes.append(f"step {step}: stage 2 initialised from stage 1")

    def make_batch(self, step: int) -> dict[str, Any]:
        positions = self.positions(step)
        hq_t, _ = self.pairs.batch_clean(positions, lambda rng, side: None)  # no wasted pairs
        hq = hq_t.numpy()
        side = hq.shape[1] // 4
        small = np.stack([bicubic_resize(h, (side, side)) for h in hq])
        codes, offsets = [], []
        for pos in positions.tolist():
            rng = sample_rng(self.config.seed, pos, 7)
            codes.append(int(rng.integers(0, TRANSFORMS)))
            offsets.append(rng.integers(0, side - self.patch + 1, size=2).tolist())
        return {
            "lq_small": torch.from_numpy(small),
            "hq": torch.from_numpy(hq),
            "codes": codes,
            "offsets": offsets,
        }

    def blocks(self, small: torch.Tensor) -> torch.Tensor:
        """6-channel attention blocks of LR faces (uint8 N x h x w x 3)."""
        lr = to_unit(small.to(self.rt.device))
        with torch.no_grad():
            maps = component_maps(self.segmenter, self.smoothing, lr, self.work_size)
        return component_attention_block(lr, maps.float())

    def train_step(self, batch: dict[str, Any], step: int) -> dict[str, torch.Tensor]:
        rt, opt = self.rt, self.optimizers["G"]
        block = self.blocks(batch["lq_small"])
        hq = to_unit(batch["hq"].to(rt.device))
        p = self.patch
        blocks, x4s = [], []
        for i, (code, (y, x)) in enumerate(zip(batch["codes"], batch["offsets"], strict=True)):
            blocks.append(geometric(block[i : i + 1], code)[:, :, y : y + p, x : x + p])
            x4s.append(
                geometric(hq[i : i + 1], code)[:, :, 4 * y : 4 * (y + p), 4 * x : 4 * (x + p)]
            )
        block_p = rt.to_device(torch.cat(blocks))
        hq4 = rt.to_device(torch.cat(x4s))
        hq2 = F.interpolate(hq4, scale_factor=0.5, mode="bicubic", antialias=True,
                            align_corners=False)  # fmt: skip
        phase = self.phase(step)
        opt.zero_grad(set_to_none=True)
        with rt.autocast():
            x4, x2 = self.net("G")(block_p, phase)
        huber2 = F.huber_loss(x2.float(), hq2, delta=1.0)
        huber4 = F.huber_loss(x4.float(), hq4, delta=1.0) if x4 is not None else huber2 * 0
        total = huber2 + huber4
        rt.backward(total)
        rt.step(opt)
        rt.update_scaler()
        self.done_steps = step + 1
        return {"huber_x2": huber2.detach(), "huber_x4": huber4.detach(), "total": total.detach()}

    def extra_state(self) -> dict[str, Any]:
        return {"done_steps": self.done_steps, "stage1_steps": min(self.stage1_steps, 2**62)}

    def load_extra_state(self, state: Any) -> None:
        self.done_steps = int(state.get("done_steps", 0))
        timed = self.opts.stage1_seconds is not None or self.opts.stage1_until is not None
        if timed and "stage1_steps" in state:
            self.stage1_steps = int(state["stage1_steps"])

    def export_module(self) -> nn.Module:
        net = self.emas["G"].shadow if "G" in self.emas else self.nets["G"]
        return cast(CAGFaceTrainNet, net).model

    def _run_val(self, small: np.ndarray, phase: int) -> tuple[np.ndarray, np.ndarray]:
        net = self.emas["G"].shadow if "G" in self.emas else self.nets["G"]
        x4s, x2s = [], []
        with eval_mode(net):
            for i in range(0, len(small), 16):
                x4, x2 = net(self.blocks(torch.from_numpy(small[i : i + 16])), phase)
                x2s.append(to_uint8(x2))
                if x4 is not None:
                    x4s.append(to_uint8(x4))
        return (np.concatenate(x4s) if x4s else np.empty(0)), np.concatenate(x2s)

    def validate(self) -> dict[str, float]:
        phase = self.phase(max(0, self.done_steps - 1))
        x4, x2 = self._run_val(self.val_small, phase)
        out = {f"{k}_x2": v for k, v in mean_quality(x2, self.val_x2).items()}
        if phase == 2:
            out.update(self.quality(x4))
        return out

    def sample_rows(self) -> list[list[np.ndarray]]:
        k = min(4, len(self.val_small))
        phase = self.phase(max(0, self.done_steps - 1))
        x4, x2 = self._run_val(self.val_small[:k], phase)
        size = self.val_hq.shape[1]
        rows = []
        for i in range(k):
            shown = x4[i] if phase == 2 else bicubic_resize(x2[i], (size, size))
            rows.append([self.val_lq[i], shown, self.val_hq[i]])
        return rows

    def card(self) -> dict[str, Any]:
        return {
            **super().card(),
            "loss": "Huber (delta 1) on the x2 intermediate and the x4 output",
            "stage1_steps": self.stage1_steps if self.stage1_steps < 2**62 else None,
            "patch_lr": self.patch,
            "components": self.segmenter_name,
            "optimizer": {
                "name": "Adam",
                "lr": self.config.lr or 1e-4,
                "betas": list(self.opts.betas),
                "warmup_steps": self.opts.warmup_steps,
            },
            "smoothing_sigma": self.opts.smoothing_sigma,
        }
