"""Typed access to the app's remembered choices (QSettings).

Every key and its default live here, so the rest of the GUI never spells a key.
Tests pass their own ``QSettings`` (an INI file in a temporary folder), so they
never touch the real user settings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from engine.io.formats import format_choices
from engine.scale_choice import SCALE_CHOICES as ENGINE_SCALE_CHOICES
from engine.scale_choice import parse_scale

ORGANISATION = "Revive"
APPLICATION = "Revive"
MAX_RECENT = 10

DEVICE_CHOICES = (("auto", "Auto"), ("cuda", "GPU (CUDA)"), ("mps", "GPU (Apple)"), ("cpu", "CPU"))
SCALE_CHOICES = ENGINE_SCALE_CHOICES  # "auto", 1, 2, 4: the engine's list
VIEW_MODES = ("split", "side_by_side", "before", "after")
FORMAT_CHOICES = tuple(format_choices())  # read from the engine's format table


def _to_bool(value: object, default: bool) -> bool:
    """QSettings' INI back end returns "true"/"false" strings; the registry returns bools."""
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _to_int(value: object, default: int) -> int:
    if not isinstance(value, (int, float, str)):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class Settings:
    """The app's settings; each property reads and writes one QSettings key."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else QSettings(ORGANISATION, APPLICATION)

    def _get(self, key: str, default: object) -> object:
        value = self.store.value(key)
        return default if value is None else value

    def _set(self, key: str, value: object) -> None:
        self.store.setValue(key, value)

    def sync(self) -> None:
        self.store.sync()

    # --- restoration -----------------------------------------------------------------
    @property
    def model(self) -> str:
        return str(self._get("restore/model", "auto"))

    @model.setter
    def model(self, value: str) -> None:
        self._set("restore/model", value)

    @property
    def device(self) -> str:
        value = str(self._get("restore/device", "auto"))
        return value if value in dict(DEVICE_CHOICES) else "auto"

    @device.setter
    def device(self, value: str) -> None:
        self._set("restore/device", value)

    @property
    def scale(self) -> int | str:
        """1, 2, 4 or "auto" (the default: engine.scale_choice)."""
        try:
            return parse_scale(str(self._get("restore/scale", "auto")))
        except ValueError:
            return "auto"

    @scale.setter
    def scale(self, value: int | str) -> None:
        self._set("restore/scale", str(value))

    @property
    def color_match(self) -> bool:
        return _to_bool(self.store.value("restore/color_match"), True)

    @color_match.setter
    def color_match(self, value: bool) -> None:
        self._set("restore/color_match", bool(value))

    @property
    def restore_on_open(self) -> bool:
        """Dropped or opened photos are restored straight away (one after the other)."""
        return _to_bool(self.store.value("restore/on_open"), True)

    @restore_on_open.setter
    def restore_on_open(self, value: bool) -> None:
        self._set("restore/on_open", bool(value))

    # --- export ------------------------------------------------------------------------
    @property
    def export_format(self) -> str:
        value = str(self._get("export/format", ""))
        return value if value in dict(FORMAT_CHOICES) else ""

    @export_format.setter
    def export_format(self, value: str) -> None:
        self._set("export/format", value)

    @property
    def export_quality(self) -> int:
        return max(1, min(100, _to_int(self._get("export/quality", 95), 95)))

    @export_quality.setter
    def export_quality(self, value: int) -> None:
        self._set("export/quality", int(value))

    @property
    def last_folder(self) -> str:
        return str(self._get("paths/last_folder", str(Path.home())))

    @last_folder.setter
    def last_folder(self, value: str) -> None:
        self._set("paths/last_folder", value)

    @property
    def export_folder(self) -> str:
        return str(self._get("paths/export_folder", ""))

    @export_folder.setter
    def export_folder(self, value: str) -> None:
        self._set("paths/export_folder", value)

    # --- recent files ------------------------------------------------------------------
    @property
    def recent_files(self) -> list[str]:
        value = self.store.value("paths/recent")
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value if v][:MAX_RECENT]

    def add_recent(self, path: str | Path) -> None:
        path = str(Path(path))
        recent = [p for p in self.recent_files if p != path]
        self._set("paths/recent", [path, *recent][:MAX_RECENT])

    def clear_recent(self) -> None:
        self.store.remove("paths/recent")

    # --- window ------------------------------------------------------------------------
    @property
    def view_mode(self) -> str:
        value = str(self._get("view/mode", "split"))
        return value if value in VIEW_MODES else "split"

    @view_mode.setter
    def view_mode(self, value: str) -> None:
        self._set("view/mode", value)

    @property
    def overlay_attention(self) -> bool:
        return _to_bool(self.store.value("view/overlay_attention"), True)

    @overlay_attention.setter
    def overlay_attention(self, value: bool) -> None:
        self._set("view/overlay_attention", bool(value))

    @property
    def stretch_attention(self) -> bool:
        """Each attention map on its own colour scale (off: one fixed scale for all)."""
        return _to_bool(self.store.value("view/stretch_attention"), False)

    @stretch_attention.setter
    def stretch_attention(self, value: bool) -> None:
        self._set("view/stretch_attention", bool(value))

    @property
    def show_face_boxes(self) -> bool:
        return _to_bool(self.store.value("view/face_boxes"), True)

    @show_face_boxes.setter
    def show_face_boxes(self, value: bool) -> None:
        self._set("view/face_boxes", bool(value))

    def geometry(self) -> QByteArray | None:
        value = self.store.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def window_state(self) -> QByteArray | None:
        value = self.store.value("window/state")
        return value if isinstance(value, QByteArray) else None

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self._set("window/geometry", geometry)
        self._set("window/state", state)
