"""Face component segmentation for CAGFace, trained on FASSEG (from scratch, CPU-sized).

FASSEG's six labels map to our four classes: 0 background, 1 skin, 2 hair (with
eyebrows), 3-5 eyes / nose / mouth -> "other". The ``train`` splits of
``frontal02`` and ``multipose01`` train, their ``test`` splits measure IoU.

Each training sample is a random similarity warp of a photo into the square input
(scale, rotation, shift, flip), a colour jitter, and, since at inference the
network segments low-quality faces, the Eq. 14 degradation (milder ranges, sized
for the input side) or a plain bicubic down/up-sampling. Loss: class-weighted
cross-entropy on the main head and both auxiliary heads, plus a soft Dice term.
The learning rate follows a warm-up and a cosine curve that depend on the step
only, so resuming needs no scheduler state.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from engine.models import create_model
from engine.models.parsing import CLASS_NAMES

from ..degrade import Eq14Config, bicubic_resize, degrade_eq14, epoch_rng, sample_rng, to_gray3
from ..errors import ConfigError
from ..metrics import confusion_matrix, segmentation_iou
from ..options import TrainerOptions
from ..pack import KNOWN_LICENCES
from ..runtime import eval_mode
from ..task import Task, to_unit

FASSEG_TO_CLASS = np.array([0, 1, 2, 3, 3, 3], np.uint8)  # bg, skin, hair, eyes, nose, mouth
SPLITS = ("frontal02", "multipose01")
NUM_CLASSES = len(CLASS_NAMES)

# Degradations seen by the segmenter: LQ faces down to a quarter of the input side.
SEGMENTATION_EQ14 = Eq14Config(
    scale=(0.25, 1.0),
    p_blur=0.6,
    p_noise=0.5,
    p_jpeg=0.6,
    noise_sigma=(0.0, 15.0),
    jpeg_quality=(40, 90),
)


def load_fasseg(root: str | Path, split: str, max_side: int = 256) -> list[tuple]:
    """(name, image uint8, label uint8 in our 4 classes) of every photo of ``split``.

    Photos are reduced so their longer side is ``max_side`` (the input is far smaller).
    """
    root = Path(root)
    out = []
    for sub in SPLITS:
        folder = root / sub / split
        if not folder.is_dir():
            continue
        for img_path in sorted((folder / "images").glob("*.jpg")):
            label_path = folder / "labels" / f"{img_path.stem}.png"
            if not label_path.is_file():
                continue
            image = np.asarray(Image.open(img_path).convert("RGB"))
            raw = np.asarray(Image.open(label_path))
            if raw.shape != image.shape[:2]:  # 4 multipose01 test photos: the label rules
                image = cv2.resize(image, raw.shape[::-1], interpolation=cv2.INTER_AREA)
            label = FASSEG_TO_CLASS[np.minimum(raw, 5)]
            f = max_side / max(image.shape[:2])
            if f < 1:
                size = (round(image.shape[1] * f), round(image.shape[0] * f))
                image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
                label = cv2.resize(label, size, interpolation=cv2.INTER_NEAREST)
            out.append((f"{sub}/{img_path.name}", image, label))
    if not out:
        raise ConfigError(
            f"no FASSEG photos in {root} (expected frontal02/{split} or multipose01/{split})"
        )
    return out


def square_pad(image: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """Reflect-pad to a square; return the padded image and the (top, left) offset."""
    h, w = image.shape[:2]
    side = max(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    padded = cv2.copyMakeBorder(
        image, top, side - h - top, left, side - w - left, cv2.BORDER_REFLECT_101
    )
    return padded, (top, left)


@torch.no_grad()
def segment_logits(net: nn.Module, image: np.ndarray, size: int = 128) -> torch.Tensor:
    """Class logits (1 x 4 x H x W, at the photo's size) of a uint8 RGB face of any shape.

    The face is reflect-padded to a square, resized to ``size`` (what the network
    was trained at), segmented, and the logits are mapped back to the photo.
    """
    device = next(net.parameters()).device
    padded, (top, left) = square_pad(image)
    small = bicubic_resize(padded, (size, size))
    x = to_unit(torch.from_numpy(small)[None].to(device))
    with eval_mode(net):
        logits = net(x)
    side = padded.shape[0]
    logits = F.interpolate(logits.float(), size=(side, side), mode="bilinear", align_corners=False)
    h, w = image.shape[:2]
    return logits[:, :, top : top + h, left : left + w]


def evaluate_segmentation(
    net: nn.Module, samples: list[tuple], size: int = 128
) -> tuple[dict[str, float], np.ndarray]:
    """IoU per class, their mean and pixel accuracy, over all pixels of ``samples``."""
    conf = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    for _, image, label in samples:
        pred = segment_logits(net, image, size).argmax(1)[0].cpu().numpy()
        conf += confusion_matrix(pred, label, NUM_CLASSES)
    return segmentation_iou(conf, CLASS_NAMES), conf


def class_weights(samples: list[tuple]) -> np.ndarray:
    """Inverse square-root class frequencies, normalised to mean 1."""
    counts = np.zeros(NUM_CLASSES, np.float64)
    for _, _, label in samples:
        counts += np.bincount(label.ravel(), minlength=NUM_CLASSES)
    w = 1.0 / np.sqrt(counts / counts.sum())
    return w / w.mean()


def colour_jitter(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = image.astype(np.float32)
    x = x * rng.uniform(0.7, 1.3) + rng.uniform(-25, 25)  # contrast, brightness
    gray = x.mean(axis=2, keepdims=True)
    x = gray + (x - gray) * rng.uniform(0.6, 1.4)  # saturation
    return np.clip(x, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class ComponentsOptions(TrainerOptions):
    input_size: int = 128
    scale_jitter: tuple[float, float] = (0.8, 1.6)
    rotate_deg: float = 20.0
    shift: float = 0.08
    p_degrade: float = 0.7
    p_bicubic: float = 0.15
    p_gray: float = 0.1
    aux_weight: float = 0.4
    dice_weight: float = 0.5
    weight_decay: float = 1e-4
    warmup: int = 50
    min_lr_ratio: float = 0.02


class ComponentsTask(Task):
    name = "components"
    default_batch = 16
    Options = ComponentsOptions
    opts: ComponentsOptions

    def prepare_data(self, progress: Any = None, cancel: Any = None) -> None:
        side = self.opts.input_size * 2
        self.train_set = load_fasseg(self.config.data, "train", side)
        self.test_set = load_fasseg(self.config.val_data or self.config.data, "test", side)
        if self.config.max_faces:
            self.train_set = self.train_set[: self.config.max_faces]
        if self.config.val_count and self.config.val_count < len(self.test_set):
            # an even spread over both test splits, for quick checks during training
            idx = np.linspace(0, len(self.test_set) - 1, self.config.val_count).round()
            self.val_set = [self.test_set[int(i)] for i in idx]
        else:
            self.val_set = self.test_set
        self.weights = torch.tensor(class_weights(self.train_set), dtype=torch.float32)
        self.deg = (
            Eq14Config.from_dict(self.config.eq14)
            if self.config.eq14
            else SEGMENTATION_EQ14.for_size(self.opts.input_size)
        )
        self.pool = ThreadPoolExecutor(max(1, self.config.workers))
        self.notes.append(
            f"FASSEG: {len(self.train_set)} training photos, {len(self.test_set)} test photos; "
            f"class weights {np.round(self.weights.numpy(), 3).tolist()}"
        )

    def sample(self, position: int) -> tuple[np.ndarray, np.ndarray]:
        o, size = self.opts, self.opts.input_size
        rng = sample_rng(self.config.seed, position)
        n = len(self.train_set)
        epoch, i = divmod(position, n)
        _, image, label = self.train_set[int(epoch_rng(self.config.seed, epoch).permutation(n)[i])]
        h, w = image.shape[:2]
        # Similarity warp: the photo's longer side fills the input, jittered.
        scale = size / max(h, w) * math.exp(rng.uniform(*np.log(o.scale_jitter)))
        angle = rng.uniform(-o.rotate_deg, o.rotate_deg)
        m = np.asarray(cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale), np.float64)
        m[:, 2] += np.array([size / 2 - w / 2, size / 2 - h / 2])
        m[:, 2] += rng.uniform(-o.shift, o.shift, 2) * size
        if rng.random() < 0.5:
            m = np.array([[-1, 0, size - 1], [0, 1, 0]]) @ np.vstack([m, [0, 0, 1]])
        img = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REFLECT_101)  # fmt: skip
        lab = cv2.warpAffine(label, m, (size, size), flags=cv2.INTER_NEAREST,
                             borderMode=cv2.BORDER_REFLECT_101)  # fmt: skip
        img = colour_jitter(img, rng)
        if rng.random() < o.p_gray:
            img = to_gray3(img)
        r = rng.random()
        if r < o.p_degrade:
            img = degrade_eq14(img, rng, self.deg)[0]
        elif r < o.p_degrade + o.p_bicubic:
            f = int(rng.choice([2, 4]))
            img = bicubic_resize(bicubic_resize(img, (size // f, size // f)), (size, size))
        return img, lab

    def make_batch(self, step: int) -> dict[str, Any]:
        pairs = list(self.pool.map(self.sample, self.positions(step).tolist()))
        return {
            "image": torch.from_numpy(np.stack([p[0] for p in pairs])),
            "label": torch.from_numpy(np.stack([p[1] for p in pairs]).astype(np.int64)),
        }

    def build(self) -> None:
        c, o = self.config, self.opts
        net = create_model(self.preset, **c.model_overrides).train()
        self.nets["net"] = self.place(net)
        self.base_lr = c.lr or 2e-3
        self.optimizers["net"] = torch.optim.AdamW(
            net.parameters(), lr=self.base_lr, weight_decay=o.weight_decay
        )

    def lr_at(self, step: int) -> float:
        o, total = self.opts, max(1, self.config.steps)
        warm = o.warmup
        if step < warm:
            return self.base_lr * (step + 1) / warm
        t = (step - warm) / max(1, total - warm)
        floor = o.min_lr_ratio
        return self.base_lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))

    def train_step(self, batch: dict[str, Any], step: int) -> dict[str, torch.Tensor]:
        rt, opt, o = self.rt, self.optimizers["net"], self.opts
        for group in opt.param_groups:
            group["lr"] = self.lr_at(step)
        x = rt.to_device(to_unit(batch["image"].to(rt.device)))
        y = batch["label"].to(rt.device)
        weights = self.weights.to(rt.device)
        opt.zero_grad(set_to_none=True)
        with rt.autocast():
            logits, aux16, aux32 = self.net("net")(x, return_aux=True)
        logits = logits.float()
        ce = F.cross_entropy(logits, y, weight=weights)
        aux = F.cross_entropy(aux16.float(), y, weight=weights) + F.cross_entropy(
            aux32.float(), y, weight=weights
        )
        probs = logits.softmax(1)
        onehot = F.one_hot(y, NUM_CLASSES).permute(0, 3, 1, 2).float()
        inter = (probs * onehot).sum((0, 2, 3))
        denom = probs.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
        dice = 1 - ((2 * inter + 1) / (denom + 1)).mean()
        total = ce + o.aux_weight * aux + o.dice_weight * dice
        rt.backward(total)
        rt.step(opt)
        rt.update_scaler()
        return {
            "ce": ce.detach(),
            "aux": aux.detach(),
            "dice": dice.detach(),
            "total": total.detach(),
        }

    def validate(self) -> dict[str, float]:
        metrics, _ = evaluate_segmentation(self.nets["net"], self.val_set, self.opts.input_size)
        return metrics

    def sample_rows(self) -> list[list[np.ndarray]]:
        size = self.opts.input_size
        rows = []
        for _, image, label in self.val_set[:: max(1, len(self.val_set) // 4)][:4]:
            padded, _ = square_pad(image)
            small = bicubic_resize(padded, (size, size))
            pred = segment_logits(self.nets["net"], small, size).argmax(1)[0].cpu().numpy()
            lab = cv2.resize(square_pad(label)[0], (size, size), interpolation=cv2.INTER_NEAREST)
            rows.append([small, colourise(pred), colourise(lab)])
        return rows

    def export_module(self) -> nn.Module:
        return self.nets["net"]

    def card(self) -> dict[str, Any]:
        return {
            "data": {
                "source": "FASSEG frontal02 + multipose01, train splits",
                "photos": len(self.train_set),
                "licence": KNOWN_LICENCES["fasseg"],
                "classes": "FASSEG 0 bg, 1 skin, 2 hair+eyebrows, 3-5 eyes/nose/mouth -> "
                "background, skin, hair, other",
                "validation": f"FASSEG test splits, {len(self.val_set)} photos",
            },
            "input_size": self.opts.input_size,
            "loss": f"class-weighted cross-entropy (+{self.opts.aux_weight:g} x each aux head) "
            f"+ {self.opts.dice_weight:g} x soft Dice",
            "augmentation": "similarity jitter, flip, colour jitter, gray, Eq. 14 (mild) / bicubic",
            "optimizer": {"name": "AdamW", "lr": self.base_lr, "schedule": "warm-up + cosine"},
            "options": self.opts.to_card(),
        }


PALETTE = np.array([[200, 30, 30], [240, 220, 60], [110, 20, 20], [40, 120, 230]], np.uint8)


def colourise(label: np.ndarray) -> np.ndarray:
    return PALETTE[np.clip(label, 0, NUM_CLASSES - 1)]
