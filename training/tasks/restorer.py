"""Blind face restoration at the preset's size, trained with a pixel loss: the CPU's default.

The input is the face after Eq. 14 with the photo ranges of ``degrade.RESTORER_EQ14``
(blur, down-sampling by 2 to 8, noise, JPEG, some gray faces) brought back to the
face size; the target is the clean face. The network is a SPARNet (Face Attention
Units) without the SPARNetHD discriminator: on a CPU a GAN step costs about three
generator steps and buys nothing in PSNR. Adam with an optional linear warm-up (a
run that starts from earlier weights) and an EMA copy that is exported.

``patch`` trains on random square crops of each (input, target) pair: the networks
are fully convolutional, so the same weights restore whole faces afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..augment import AugmentConfig
from ..degrade import RESTORER_EQ14
from ..errors import ConfigError
from .sparnet import SPARNetOptions, SPARNetTask

LOSSES = ("l1", "l2", "charbonnier")


def pixel_loss(kind: str, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if kind == "l1":
        return F.l1_loss(out, target)
    if kind == "l2":
        return F.mse_loss(out, target)
    if kind == "charbonnier":
        return torch.sqrt((out - target) ** 2 + 1e-6).mean()
    raise ConfigError(f"unknown loss {kind!r}; use one of {', '.join(LOSSES)}")


def random_crops(
    lq: torch.Tensor, hq: torch.Tensor, side: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same random ``side`` x ``side`` window of every (input, target) pair (N H W C)."""
    n, h, w = lq.shape[:3]
    if side >= min(h, w):
        return lq, hq
    ys = rng.integers(0, h - side + 1, n)
    xs = rng.integers(0, w - side + 1, n)
    windows = [(slice(y, y + side), slice(x, x + side)) for y, x in zip(ys, xs, strict=True)]
    a = torch.stack([lq[i, rows, cols] for i, (rows, cols) in enumerate(windows)])
    b = torch.stack([hq[i, rows, cols] for i, (rows, cols) in enumerate(windows)])
    return a, b


@dataclass(frozen=True)
class RestorerOptions(SPARNetOptions):
    loss: str = "l1"  # l1 | l2 | charbonnier
    patch: int = 0  # train on random square crops of this side (0: whole faces)
    warmup_steps: int = 0  # linear learning-rate warm-up (a run that starts from weights)

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; use one of {', '.join(LOSSES)}")
        if self.patch < 0 or self.patch % 16:
            raise ValueError("the patch side must be a multiple of 16")
        if self.warmup_steps < 0:
            raise ValueError("warmup_steps must be zero or more")


class RestorerTask(SPARNetTask):
    name = "restorer"
    default_batch = 16
    default_degradation = "eq14"
    default_augment = AugmentConfig(flip=True, rescale=(1.0, 1.1))
    Options = RestorerOptions
    opts: RestorerOptions

    def degradation(self):
        if not self.config.eq14:
            self.config.eq14 = RESTORER_EQ14.for_size(self.face_size()).to_dict()
        return super().degradation()

    def build(self) -> None:
        self.loss_kind, self.patch, self.warmup = (
            self.opts.loss,
            self.opts.patch,
            self.opts.warmup_steps,
        )
        if self.config.ema_decay is None:
            self.config.ema_decay = 0.999
        super().build()
        self.emas["G"].warmup = not self.config.init_weights  # a trained start needs none
        self.base_lr = self.optimizers["G"].param_groups[0]["lr"]

    def extra_state(self) -> dict[str, Any]:
        return {"ema_updates": self.emas["G"].updates}

    def load_extra_state(self, state: Any) -> None:
        self.emas["G"].updates = int(state.get("ema_updates", 0))

    def make_batch(self, step: int) -> dict[str, Any]:
        batch = super().make_batch(step)
        if self.patch:
            rng = np.random.default_rng([self.config.seed, step, 0x9A7C])
            batch["lq"], batch["hq"] = random_crops(batch["lq"], batch["hq"], self.patch, rng)
        return batch

    def on_step_start(self, step: int) -> None:
        """Linear warm-up over the run's first steps (fresh Adam moments on old weights)."""
        factor = min(1.0, (step + 1) / self.warmup) if self.warmup else 1.0
        for group in self.optimizers["G"].param_groups:
            group["lr"] = self.base_lr * factor

    def train_step(self, batch: dict[str, Any], step: int) -> dict[str, torch.Tensor]:
        from ..task import to_unit

        rt, opt = self.rt, self.optimizers["G"]
        lq = rt.to_device(to_unit(batch["lq"].to(rt.device)))
        hq = rt.to_device(to_unit(batch["hq"].to(rt.device)))
        opt.zero_grad(set_to_none=True)
        with rt.autocast():
            out = self.net("G")(lq)
        loss = pixel_loss(self.loss_kind, out.float(), hq)
        rt.backward(loss)
        rt.step(opt)
        rt.update_scaler()
        return {"pix": loss.detach()}

    def card(self) -> dict[str, Any]:
        return {
            **super().card(),
            "loss": f"pixel {self.loss_kind}",
            "patch": self.patch or None,
            "optimizer": {
                "name": "Adam",
                "lr": self.base_lr,
                "betas": list(self.optimizers["G"].param_groups[0]["betas"]),
                "warmup_steps": self.warmup,
            },
            "ema_decay": self.emas["G"].decay,
            "exported": "EMA of G",
            "task": "blind restoration of aligned faces (Eq. 14 photo ranges)",
        }


__all__ = ["RestorerOptions", "RestorerTask", "pixel_loss", "random_crops"]
