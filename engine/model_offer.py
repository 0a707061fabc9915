"""What to offer when the model a person wants is not installed.

Two cases, both answered here so that the app and the command line agree:

* a model choice with nothing installed for it (``sparnethd`` without a SPARNetHD set):
  ``download_for`` names the catalogue entry that provides it, and the restoration
  itself refuses (``engine.model_choice``); nothing else is used in its place;
* only the built-in restorer is installed: ``only_built_in_restorers`` says so, and the
  app offers the authors' SPARNetHD with its size, its licence and ``time_per_face``
  measured on this machine (its architecture, untrained weights: the time does not
  depend on the weights' values).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from .catalogue import CatalogueEntry, load_catalogue
from .models import PRESETS
from .progress import CancelToken, check

OFFERED = "sparnethd_attn2d"  # what a user with only the built-in restorer is offered
# The model families of the app's choices and the trainer whose presets make each.
FAMILY_TRAINERS = {"sparnethd": "sparnethd", "sparnet": "sparnet_x8", "cagface": "cagface"}


def download_for(
    choice: str, entries: Iterable[CatalogueEntry] | None = None
) -> CatalogueEntry | None:
    """The catalogue entry that installs ``choice`` (a family, a preset or an entry name)."""
    entries = list(entries) if entries is not None else load_catalogue()
    key = (choice or "").strip().lower()
    for entry in entries:
        if key in (entry.name, entry.preset):
            return entry
    trainer = FAMILY_TRAINERS.get(key)
    if trainer is None:
        return None
    for entry in entries:
        preset = PRESETS.get(entry.preset)
        if preset is not None and preset.trainer == trainer:
            return entry
    return None


def only_built_in_restorers(infos: Iterable[Any]) -> bool:
    """Whether every installed face restorer ships with Revive (``WeightsInfo`` rows)."""
    restorers = [
        info
        for info in infos
        if (preset := PRESETS.get(info.preset)) is not None and preset.kind.restores_faces
    ]
    return bool(restorers) and all(info.source == "shipped" for info in restorers)


def time_per_face(
    preset_name: str, device: str = "auto", cancel: CancelToken | None = None
) -> float:
    """Seconds one face takes through ``preset_name``'s network on this machine.

    Measured, not looked up: the architecture with untrained weights, one face at its
    native size (on a GPU after one pass that pays the first call's set-up; a CPU has
    little of it, and a large network's pass there takes many seconds). ``cancel`` is
    checked before every layer, so a pass can be stopped part-way (``Cancelled``).
    """
    import torch

    from .device import resolve_device
    from .models import create_model, get_preset

    preset = get_preset(preset_name)
    target = resolve_device(device)
    model = create_model(preset_name).eval().to(target)
    for layer in model.modules():
        layer.register_forward_pre_hook(lambda _layer, _inputs: check(cancel))
    side = preset.size // preset.scale if preset.size else 128
    face = torch.zeros(1, 3, side, side, device=target)
    with torch.inference_mode():
        if target.type == "cuda":
            model(face)
            torch.cuda.synchronize(target)
        start = time.perf_counter()
        model(face)
        if target.type == "cuda":
            torch.cuda.synchronize(target)
    return time.perf_counter() - start
