"""Helpers of the training tests: a small face pack and tiny network settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from skimage.data import astronaut

from training.config import TrainConfig
from training.pack import write_pack

# A ~50 k-parameter SPARNet for 32 px faces (InstanceNorm-free, BatchNorm as the preset).
TINY_SPARNET = {
    "max_channels": 16,
    "min_channels": 8,
    "res_blocks": 1,
    "attention_channels": 8,
    "in_size": 32,
    "out_size": 32,
    "min_feat_size": 8,
    "bottleneck_size": 16,
}
TINY_DISC = {"base_channels": 8, "layers": 2, "scales": 2}
TINY_CAGFACE = {"features": 8, "blocks": 1}
TINY_COMPONENTS = {"width": 8}
NO_AUGMENT = {"flip": False, "rescale": [1.0, 1.0], "rotate90": False, "vflip": False}


def face_crops(n: int, size: int) -> list[np.ndarray]:
    """``n`` different crops around the astronaut's face (public domain, ships with skimage)."""
    image = astronaut()
    rng = np.random.default_rng(0)
    crops = []
    for _ in range(n):
        side = int(rng.integers(150, 220))
        y, x = int(rng.integers(0, 60)), int(rng.integers(120, 200))
        crop = image[y : y + side, x : x + side]
        crops.append(
            np.asarray(Image.fromarray(crop).resize((size, size), Image.Resampling.BICUBIC))
        )
    return crops


def make_pack(folder: Path, n: int = 12, size: int = 32) -> Path:
    faces = [(f"face{i:03d}.png", f) for i, f in enumerate(face_crops(n, size))]
    write_pack(folder, faces, size=size, template="utkface", meta={"licence": "public domain"})
    return folder


def tiny_config(model: str, data: Path, out: Path, **kw) -> TrainConfig:
    defaults = {
        "steps": 4,
        "batch": 2,
        "val_count": 2,
        "log_every": 1,
        "val_every": 1000,
        "sample_every": 1000,
        "checkpoint_every": 1000,
        "workers": 2,
        "device": "cpu",
        "progress_bar": False,
        "tensorboard": False,
    }
    defaults.update(kw)
    return TrainConfig(model=model, data=str(data), out=str(out), **defaults)
