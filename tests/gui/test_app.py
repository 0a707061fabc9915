"""Start-up without a display, and the colour scheme."""

import os
import subprocess
import sys
from pathlib import Path

from gui.app import NO_DISPLAY_HINT, dark_palette, display_available

REPO = Path(__file__).resolve().parents[2]


def test_display_detection():
    assert display_available({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not display_available({}, "linux")
    assert not display_available({"DISPLAY": ":987"}, "linux")  # no such X socket
    assert display_available({"DISPLAY": "remote-host:10.0"}, "linux")  # ssh -X
    assert display_available({}, "win32") and display_available({}, "darwin")


def test_no_display_prints_the_cli_hint_instead_of_aborting():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    run = subprocess.run(
        [sys.executable, "-m", "engine"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert "revive restore" in run.stderr
    assert run.stderr.strip() == NO_DISPLAY_HINT


def test_pyside_signal_emit_does_not_leak_references():
    """PySide6 6.12.0 on Python < 3.12 aborts after a few thousand emits (see pyproject)."""
    from gui.app import signal_emit_leaks_true

    assert not signal_emit_leaks_true()


def test_dark_palette_is_dark_and_readable(qapp):
    from PySide6.QtGui import QPalette

    palette = dark_palette()
    window = palette.color(QPalette.ColorRole.Window)
    text = palette.color(QPalette.ColorRole.WindowText)
    assert window.lightness() < 80 and text.lightness() > 180


def test_app_has_the_revive_window_icon(qapp):
    from gui.app import create_app

    app = create_app()
    sizes = app.windowIcon().availableSizes()
    assert not app.windowIcon().isNull() and max(s.width() for s in sizes) >= 256
