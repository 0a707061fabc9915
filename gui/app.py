"""Start the desktop app: ``revive`` (no arguments) or ``revive gui PHOTO...``.

Without a display (a server, an SSH session) Qt would abort; instead we print
how to use the command line and return non-zero. On Linux, the system libraries
Qt's X11 plugin needs are checked first (``engine.app.qt_check``): a missing one is
named, with the ``apt install`` line, instead of Qt's misleading abort. Colours follow the system's
light / dark scheme (Qt 6.5+ reports it); where the platform gives Qt no dark
palette, Revive builds one, so dark mode looks right everywhere.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from .appearance import apply_color_scheme, dark_palette, is_dark

__all__ = ["apply_color_scheme", "dark_palette", "display_available", "is_dark", "main"]

NO_DISPLAY_HINT = (
    "revive: no display found, so the desktop app cannot open here. "
    "Restore photos from the command line instead: `revive restore PHOTO...` "
    "(see `revive restore --help`)."
)
HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay")


def display_available(env: Mapping[str, str] | None = None, platform: str | None = None) -> bool:
    """Whether Qt can open a window (or was told to render off screen)."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    qpa = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if qpa in HEADLESS_PLATFORMS:
        return True
    if not platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return True  # Windows and macOS always have a window system
    wayland = env.get("WAYLAND_DISPLAY")
    if wayland and qpa in ("", "wayland"):
        runtime = env.get("XDG_RUNTIME_DIR", "")
        if Path(wayland).is_absolute() or (runtime and (Path(runtime) / wayland).exists()):
            return True
    display = env.get("DISPLAY", "")
    if not display:
        return False
    return _x_display_reachable(display)


def _x_display_reachable(display: str) -> bool:
    """A local ``:N`` display needs its socket; remote ones (ssh -X) are trusted."""
    host, _, rest = display.rpartition(":")
    if host not in ("", "unix"):
        return True
    number = rest.split(".")[0]
    if not number.isdigit():
        return False
    return Path(f"/tmp/.X11-unix/X{number}").exists()


def set_window_icon(app) -> None:
    """Revive's icon on every window and in the task bar (the shipped PNG, if present)."""
    from PySide6.QtGui import QIcon

    from engine.paths import resources_dir

    icons = resources_dir() / "icons"
    icon = QIcon()
    for name in ("revive.png", "revive-256.png"):
        if (icons / name).is_file():
            icon.addFile(str(icons / name))
    if not icon.isNull():
        app.setWindowIcon(icon)


def create_app(argv: Sequence[str] | None = None):
    """The QApplication (an existing one is reused: tests), named and coloured."""
    from PySide6.QtWidgets import QApplication

    from .settings import APPLICATION, ORGANISATION

    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        app = existing
    else:
        app = QApplication(list(argv) if argv is not None else sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Revive")
    set_window_icon(app)
    apply_color_scheme(app)
    hints = app.styleHints()
    if hasattr(hints, "colorSchemeChanged"):
        hints.colorSchemeChanged.connect(lambda _scheme: apply_color_scheme(app))
    return app


def signal_emit_leaks_true() -> bool:
    """PySide6 6.12.0 drops a reference to ``True`` on every ``Signal.emit()``.

    Where ``True`` is not immortal (Python < 3.12), the interpreter then aborts
    after a few thousand emits, so Revive refuses to start on such a PySide6.
    """
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.ping.emit()
    return sys.getrefcount(True) < before - 4


def main(files: Sequence[str] | None = None) -> int:
    """Open the main window (with ``files`` queued); return the exit status."""
    if not display_available():
        print(NO_DISPLAY_HINT, file=sys.stderr)
        return 2
    from engine.app.qt_check import startup_problem

    if problem := startup_problem():  # before Qt aborts with a misleading message
        print(problem, file=sys.stderr)
        return 2
    if signal_emit_leaks_true():
        import PySide6

        print(
            f"revive: PySide6 {PySide6.__version__} has a bug that crashes the app on this "
            "Python; install another version: pip install 'PySide6-Essentials!=6.12.0'",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=logging.WARNING, format="revive: %(levelname)s %(message)s")
    app = create_app()
    from .main_window import MainWindow

    window = MainWindow()
    if files:  # decoded now, so the photo is there when the window first paints
        window.work.open_at_once(list(files))
    window.show()
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
