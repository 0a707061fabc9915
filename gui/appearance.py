"""The app's colours: light or dark as the system says, or as the person chose.

Where the platform gives Qt no dark palette, Revive builds one, so dark mode looks right
everywhere. Its own module so the window can re-apply a choice without importing the app's
start-up code (``gui.app`` imports the window).
"""

from __future__ import annotations

import os


def _forced_scheme(appearance: str = "system") -> str:
    """``dark`` / ``light`` when forced (``REVIVE_COLOR_SCHEME``, then the Settings
    dialog's appearance), else ``""``: follow the system."""
    forced = os.environ.get("REVIVE_COLOR_SCHEME", "").lower()
    if forced in ("dark", "light"):
        return forced
    return appearance if appearance in ("dark", "light") else ""


def is_dark(app, appearance: str = "system") -> bool:
    """Dark colours: forced (``REVIVE_COLOR_SCHEME``, the appearance setting) or the system's."""
    from PySide6.QtCore import Qt

    forced = _forced_scheme(appearance)
    if forced:
        return forced == "dark"
    hints = app.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    return scheme is not None and scheme() == Qt.ColorScheme.Dark


def dark_palette():
    """A dark palette for platforms whose Qt theme has none (every role set)."""
    from PySide6.QtGui import QColor, QPalette

    role, group = QPalette.ColorRole, QPalette.ColorGroup
    palette = QPalette()
    colours = {
        role.Window: "#2b2d30",
        role.WindowText: "#e6e6e6",
        role.Base: "#1f2023",
        role.AlternateBase: "#34373b",
        role.ToolTipBase: "#3c3f44",
        role.ToolTipText: "#f0f0f0",
        role.PlaceholderText: "#8a8d91",
        role.Text: "#e6e6e6",
        role.Button: "#36393d",
        role.ButtonText: "#e6e6e6",
        role.BrightText: "#ff6b6b",
        role.Light: "#4a4d52",
        role.Midlight: "#3e4146",
        role.Mid: "#50545a",
        role.Dark: "#18191b",
        role.Shadow: "#0c0c0d",
        role.Highlight: "#3d8fd6",
        role.HighlightedText: "#ffffff",
        role.Link: "#6cb4ff",
        role.LinkVisited: "#b494ff",
    }
    for r, colour in colours.items():
        palette.setColor(r, QColor(colour))
    for r in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(group.Disabled, r, QColor("#7c7f84"))
    palette.setColor(group.Disabled, role.Highlight, QColor("#4a4d52"))
    return palette


def apply_color_scheme(app, appearance: str = "system") -> None:
    """Light or dark, as the system says (or ``appearance``: system / light / dark);
    re-applied when the system scheme changes."""
    from PySide6.QtGui import QPalette

    window = app.palette().color(QPalette.ColorRole.Window)
    if is_dark(app, appearance):
        if window.lightness() > 128:  # the platform gave Qt a light palette: supply ours
            app.setStyle("Fusion")
            app.setPalette(dark_palette())
    elif _forced_scheme(appearance) == "light" or window.lightness() <= 128:
        app.setStyle("Fusion")
        app.setPalette(app.style().standardPalette())
