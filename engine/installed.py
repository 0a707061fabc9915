"""Which presets are installed, read from the weight manifests alone (no torch).

The window asks at start-up, before the engine's networks are loaded, whether a
restoring model is installed; ``engine.weights.installed_weights`` answers in full
a moment later and wins.
"""

from __future__ import annotations

import json

from .models.presets import restoring_presets
from .paths import shipped_weights_dir, user_weights_dir


def installed_presets() -> list[str]:
    """The presets of the installed weight sets, shipped first (odd manifests skipped)."""
    manifests = []
    shipped = shipped_weights_dir()
    try:
        registry = json.loads((shipped / "registry.json").read_text(encoding="utf-8"))
        manifests += [shipped / f"{name}.weights.json" for name in registry.get("weights", [])]
    except (OSError, ValueError, AttributeError):
        pass
    user = user_weights_dir()
    if user.is_dir():
        manifests += sorted(user.glob("*.weights.json"))
    presets = []
    for manifest in manifests:
        try:
            presets.append(str(json.loads(manifest.read_text(encoding="utf-8"))["preset"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return presets


def restorer_installed() -> bool:
    """Whether an installed weight set restores faces."""
    restoring = restoring_presets()
    return any(p in restoring for p in installed_presets())
