"""The trainers, by name (an explicit list: a PyInstaller bundle cannot scan)."""

from __future__ import annotations

from .cagface import CAGFaceTask
from .components import ComponentsTask
from .restorer import RestorerTask
from .sparnet import SPARNetTask
from .sparnethd import SPARNetHDTask

TASKS = {
    "sparnet_x8": SPARNetTask,
    "sparnethd": SPARNetHDTask,
    "cagface": CAGFaceTask,
    "components": ComponentsTask,
    "restorer": RestorerTask,
}

__all__ = ["TASKS", "CAGFaceTask", "ComponentsTask", "RestorerTask", "SPARNetHDTask", "SPARNetTask"]
