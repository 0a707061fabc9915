"""Take the README's screenshots: ``python -m gui.screenshots docs/ [--weights NAME]``.

Runs the real app on the sample photo (scikit-image's public-domain astronaut,
degraded by ``engine.app.demo``), restores it, and grabs the main window, the faces
panel and the attention inspector; then a second window with no weights
installed, to show the start-up message. Run it under a display (``xvfb-run``)
or ``QT_QPA_PLATFORM=offscreen``. Settings go to a temporary file, never the
user's own; ``--random-weights PRESET`` installs untrained weights in a temporary
data folder when no trained ones exist (the pictures then show layout only).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import (
    QCoreApplication,
    QElapsedTimer,
    QEventLoop,
    QRect,
    QSettings,
    Qt,
    QTimer,
)


def _wait(condition, timeout_ms: int = 600_000) -> None:
    clock = QElapsedTimer()
    clock.start()
    while not condition():
        if clock.elapsed() > timeout_ms:
            raise TimeoutError("the app did not get there in time")
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)


def _settle(ms: int = 400) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def _divider_through_face(window) -> None:
    """Put the before / after divider through the middle of the first face."""
    result = window.current.result if window.current is not None else None
    if result is None or not result.faces:
        return
    face = result.faces[0]
    scale = result.scale
    view = window.view.compare.split
    x = view.mapFromScene((face.box[0] + face.box[2]) / 2 * scale, 0).x()
    view.set_divider(x / max(1, view.viewport().width()))


def _settings(folder: Path):
    from .settings import Settings

    return Settings(QSettings(str(folder / "revive.ini"), QSettings.Format.IniFormat))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the PNGs (e.g. docs/)")
    parser.add_argument("--weights", default="auto", help="model / weights name to restore with")
    parser.add_argument("--random-weights", metavar="PRESET", help="install untrained weights")
    parser.add_argument("--size", default="1500x940", help="window size, WxH")
    parser.add_argument("--prefix", default="", help="prefix of the file names (e.g. dark-)")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="revive-shots-"))
    if args.random_weights:
        os.environ["REVIVE_DATA_DIR"] = str(scratch / "data")
    from engine.paths import user_weights_dir

    from .app import create_app
    from .main_window import MainWindow
    from .photo_controller import PhotoStatus

    create_app()
    if args.random_weights:
        import torch

        from engine.models import create_model
        from engine.weights import save_weights

        torch.manual_seed(0)
        name = f"{args.random_weights}-untrained"
        save_weights(
            create_model(args.random_weights).state_dict(),
            user_weights_dir(),
            name,
            args.random_weights,
            card={"title": "untrained (random) weights for layout screenshots"},
        )
        args.weights = name
    width, height = (int(v) for v in args.size.lower().split("x"))
    args.out.mkdir(parents=True, exist_ok=True)

    settings = _settings(scratch)
    settings.model = args.weights
    settings.restore_on_open = True
    window = MainWindow(settings)
    window.resize(width, height)
    window.show()
    _wait(lambda: window.models.has_weights is not None)
    if not window.models.has_weights:
        print(
            "no trained weights are installed: use --weights or --random-weights", file=sys.stderr
        )
        return 1
    window.work.try_sample()

    def finished() -> bool:
        entry = window.current
        return entry is not None and entry.status in (PhotoStatus.RESTORED, PhotoStatus.ERROR)

    _wait(finished)
    entry = window.current
    if entry is None or entry.status is not PhotoStatus.RESTORED:
        print(f"restoration failed: {entry.detail if entry else ''}", file=sys.stderr)
        return 1
    window.view.faces.select(0)
    window.view.compare.zoom_fit()
    _settle()
    _divider_through_face(window)
    _settle()
    shots = {"main-window.png": window.grab()}
    cards = window.view.faces.cards
    bottom = cards[-1].mapTo(window.faces_dock, cards[-1].rect().bottomLeft()).y() + 16
    dock = window.faces_dock
    shots["faces-panel.png"] = dock.grab(QRect(0, 0, dock.width(), min(dock.height(), bottom)))
    window.show_inspector()
    _settle()
    window.view.compare.zoom_fit()
    _settle()
    _divider_through_face(window)
    _settle()
    shots["main-window-inspector.png"] = window.grab()
    # The inspector alone, tall enough for every row of maps.
    window.resizeDocks([window.inspector_dock], [height * 2 // 3], Qt.Orientation.Vertical)
    _settle()
    shots["attention-inspector.png"] = window.inspector_dock.grab()
    window.close()

    # The first start on a machine without weights.
    os.environ["REVIVE_DATA_DIR"] = str(scratch / "empty")
    empty = MainWindow(_settings(scratch / "empty-settings"))
    empty.resize(width, height)
    empty.show()
    _wait(lambda: empty.models.has_weights is not None)
    _settle()
    shots["no-weights.png"] = empty.grab()
    empty.close()

    for name, pixmap in shots.items():
        path = args.out / f"{args.prefix}{name}"
        pixmap.save(str(path), "PNG")
        print(f"wrote {path} ({pixmap.width()}x{pixmap.height()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
