"""A training run's plan: its configuration with the trainer and preset resolved once.

``TrainConfig`` is a plain record of what the user asked for (it knows no trainer);
``RunPlan.of`` resolves ``config.model`` to a trainer and a preset, once, and every
phase of the loop reads them from the plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import TrainConfig
from .runtime import Runtime
from .task import Task
from .trainers import Trainer, resolve_model


@dataclass(frozen=True)
class RunPlan:
    config: TrainConfig
    trainer: Trainer
    preset: str

    @classmethod
    def of(cls, config: TrainConfig) -> RunPlan:
        """Resolve the run's model (a one-line ``ModelNotFoundError`` for a bad name)."""
        trainer, preset = resolve_model(config.model)
        return cls(config, trainer, preset)

    def make_task(self, rt: Runtime) -> Task:
        return self.trainer.task(self.config, rt, self.preset)
