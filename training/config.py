"""The configuration of one training run, saved as ``RUN/config.json``.

A plain record: ``model`` is a trainer name of ``training.trainers`` or a preset name
of ``engine.models``, resolved once into a ``training.run_plan.RunPlan``. Fields left
``None`` take the trainer's defaults (the papers'). ``options`` holds the
trainer-specific settings (read into the trainer's typed ``Options``: loss weights,
VGG19 path, ...);
``model_overrides`` changes the preset's constructor arguments (tiny test nets).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from engine.atomic import write_text_atomic

from .errors import ConfigError

__all__ = ["CONFIG_FILE", "ConfigError", "TrainConfig"]

CONFIG_FILE = "config.json"


@dataclass
class TrainConfig:
    model: str
    data: str
    out: str = "runs/train"
    steps: int = 1000
    batch: int | None = None  # per process; the global batch is batch x processes
    seed: int = 0
    val_data: str | None = None
    val_list: str | None = None
    exclude_list: str | None = None
    val_count: int = 32
    max_faces: int | None = None
    size: int | None = None  # face side in px (default: the preset's)
    template: str = "utkface"  # alignment template for image folders
    degradation: str | None = None
    eq14: dict[str, Any] = field(default_factory=dict)  # Eq14Config fields
    augment: dict[str, Any] | None = None  # AugmentConfig fields
    lr: float | None = None
    ema_decay: float | None = None
    device: str = "auto"
    amp: str = "auto"
    channels_last: bool = False
    compile: bool = False
    log_every: int = 10
    val_every: int = 1000
    sample_every: int = 500
    checkpoint_every: int = 500
    checkpoint_dtype: str = "float32"  # "bfloat16"/"float16": half the size, inexact resume
    checkpoint_optimizer: bool = True  # False: weights (+EMA) only, resume with fresh moments
    keep_checkpoints: int = 2
    workers: int = 4
    time_limit_s: float | None = None  # per call: then validate, checkpoint and export
    export_name: str | None = None
    init_weights: str | None = None  # start the networks from a weight set (not a checkpoint)
    export_dir: str | None = None  # default RUN/export
    tensorboard: bool = True
    progress_bar: bool = True
    model_overrides: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise ConfigError("steps must be zero or more")
        if self.time_limit_s is not None and self.time_limit_s <= 0:
            raise ConfigError("the time limit must be positive")
        if self.batch is not None and self.batch < 1:
            raise ConfigError("batch must be at least 1")
        for name in ("log_every", "val_every", "sample_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")

    @property
    def run_dir(self) -> Path:
        return Path(self.out)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self) -> Path:
        path = self.run_dir / CONFIG_FILE
        write_text_atomic(path, json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown training settings: {', '.join(unknown)}")
        return cls(**data)

    @classmethod
    def load(cls, run_dir: str | Path) -> TrainConfig:
        path = Path(run_dir) / CONFIG_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{run_dir} is not a training run (no {CONFIG_FILE})") from None
        except (OSError, json.JSONDecodeError) as err:
            raise ConfigError(f"{path}: unreadable ({err})") from None
        config = cls.from_dict(data)
        config.out = str(run_dir)
        return config
