"""Where Revive's files live: shipped resources, and per-user data and settings.

Shipped files are read-only (inside the source tree or a PyInstaller bundle);
whatever the user imports or trains goes to the per-user data folder, never into
the installed package.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "Revive"


def resources_dir() -> Path:
    """The shipped ``resources/`` folder (weights, icons, sample)."""
    override = os.environ.get("REVIVE_RESOURCES")
    if override:
        return Path(override)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def shipped_weights_dir() -> Path:
    return resources_dir() / "weights"


def resources_without_restorers(target: Path) -> Path:
    """A copy of ``resources/`` minus every face restorer (the component network, icons
    and catalogue stay): an install that ships none, as the README's no-model
    screenshots and the tiny nets' tests need it (``REVIVE_RESOURCES=target``)."""
    import json
    import shutil

    source = resources_dir()
    if target.exists():
        return target
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("weights"))
    weights = target / "weights"
    weights.mkdir()
    registry = json.loads((source / "weights" / "registry.json").read_text(encoding="utf-8"))
    keep = [name for name in [registry.get("defaults", {}).get("components")] if name]
    for name in keep:
        for path in (source / "weights").glob(f"{name}.*"):
            shutil.copy2(path, weights / path.name)
    defaults = {"components": keep[0]} if keep else {}
    (weights / "registry.json").write_text(
        json.dumps({"weights": keep, "defaults": defaults}), encoding="utf-8"
    )
    return target


def user_data_dir() -> Path:
    """Per-user data folder; ``REVIVE_DATA_DIR`` overrides it (tests, portable use)."""
    override = os.environ.get("REVIVE_DATA_DIR")
    if override:
        return Path(override)
    return _platform_dir("user_data_dir")


def user_weights_dir() -> Path:
    return user_data_dir() / "weights"


def user_log_dir() -> Path:
    override = os.environ.get("REVIVE_DATA_DIR")
    if override:
        return Path(override) / "logs"
    return _platform_dir("user_log_dir")


def _platform_dir(kind: str) -> Path:
    """The OS's folder of that kind (platformdirs); the XDG one where it is absent.

    The app always has platformdirs; a training-only machine (a lent GPU with
    torch and little else) may not, and must still be able to train and export.
    """
    try:
        import platformdirs
    except ImportError:
        base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
        folder = Path(base) / APP_NAME
        return folder / "logs" if kind == "user_log_dir" else folder
    return Path(getattr(platformdirs, kind)(APP_NAME, appauthor=False))
