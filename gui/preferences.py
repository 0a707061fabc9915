"""The app's preferences beyond the toolbar's choices, in the same QSettings store.

``Settings`` (gui/settings.py) keeps the toolbar's choices and the window; these are
the Settings dialog's own (appearance, likeness check, grain matching, threads,
runtime) and
what the app remembers about model offers. Every key and its default live here.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings

from engine.runtimes import RUNTIME_CHOICES

from .settings import _to_bool  # the one reading of a stored yes / no

APPEARANCES = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))


class Preferences:
    """Typed access to the preference keys; ``store`` is the app's ``Settings.store``."""

    def __init__(self, store: QSettings) -> None:
        self.store = store

    # --- Settings dialog -----------------------------------------------------------------
    @property
    def appearance(self) -> str:
        value = str(self.store.value("look/appearance", "system"))
        return value if value in dict(APPEARANCES) else "system"

    @appearance.setter
    def appearance(self, value: str) -> None:
        self.store.setValue("look/appearance", value if value in dict(APPEARANCES) else "system")

    @property
    def likeness_check(self) -> bool:
        """Compare each restored face with its original (engine.identity)."""
        return _to_bool(self.store.value("restore/likeness_check"), True)

    @likeness_check.setter
    def likeness_check(self, on: bool) -> None:
        self.store.setValue("restore/likeness_check", bool(on))

    @property
    def grain_match(self) -> bool:
        """Give restored faces their surroundings' grain at 2x / 4x (engine.faces.grain)."""
        return _to_bool(self.store.value("restore/grain_match"), True)

    @grain_match.setter
    def grain_match(self, on: bool) -> None:
        self.store.setValue("restore/grain_match", bool(on))

    @property
    def cpu_threads(self) -> int:
        """Threads the network may use on a CPU; 0: as many as torch chooses."""
        try:
            return max(0, int(str(self.store.value("restore/cpu_threads", 0))))
        except ValueError:
            return 0

    @cpu_threads.setter
    def cpu_threads(self, value: int) -> None:
        self.store.setValue("restore/cpu_threads", max(0, int(value)))

    @property
    def network_runtime(self) -> str:
        """Who runs the networks on a CPU (engine.runtimes: auto, ONNX Runtime or torch)."""
        value = str(self.store.value("restore/runtime", "auto"))
        return value if value in RUNTIME_CHOICES else "auto"

    @network_runtime.setter
    def network_runtime(self, value: str) -> None:
        self.store.setValue("restore/runtime", value if value in RUNTIME_CHOICES else "auto")

    # --- model offers ----------------------------------------------------------------------
    @property
    def offer_dismissed(self) -> bool:
        """The user said *Not now* to the SPARNetHD offer."""
        return _to_bool(self.store.value("offers/sparnethd_dismissed"), False)

    @offer_dismissed.setter
    def offer_dismissed(self, on: bool) -> None:
        self.store.setValue("offers/sparnethd_dismissed", bool(on))

    def seconds_per_face(self, preset: str) -> float | None:
        """A face's time through ``preset`` as measured on this machine, once."""
        value = self.store.value(f"offers/seconds_per_face/{preset}")
        try:
            return float(str(value)) if value is not None else None
        except ValueError:
            return None

    def set_seconds_per_face(self, preset: str, seconds: float) -> None:
        self.store.setValue(f"offers/seconds_per_face/{preset}", float(seconds))
