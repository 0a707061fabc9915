"""Take the README's screenshots: ``python -m gui.screenshots docs/screenshots [options]``.

Runs the real app on the sample photo (scikit-image's public-domain astronaut,
degraded by ``engine.app.demo``), restores it, and grabs the main window, the face
loupe (alone, and side by side: the sample's before / after), the offer of the
authors' SPARNetHD (shown when only the built-in restorer is installed; it waits for
the time per face measured here), the Settings dialog, the faces panel, the attention
inspector, the Models dialog's Download tab and the Retrain dialog; then a second
window with no restoration model installed, with the same photo
open (its face found, Restore explained). Run it under a display (``xvfb-run``, whose
screen size is the one the window must fit) or ``QT_QPA_PLATFORM=offscreen``. Settings
go to a temporary file, never the user's own; ``--random-weights PRESET`` installs
untrained weights in a temporary data folder when no trained ones exist (the pictures
then show layout only). ``--shots`` picks which pictures; ``--suffix`` / ``--prefix``
name them (``dark-main-window-1366.png``).
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

SHOTS = (
    "main-window",
    "faces-panel",
    "main-window-inspector",
    "attention-inspector",
    "models-download",
    "retrain",
    "no-weights",
    "loupe",
    "sample-before-after",
    "model-offer",
    "settings",
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


def _sample_file(folder: Path) -> Path:
    """The degraded astronaut as a file (to open it in the window without a model)."""
    from PIL import Image

    from engine.app.demo import demo_photo

    path = folder / "astronaut-sample.png"
    Image.fromarray(demo_photo().pixels).save(path)
    return path


def shrink_png(path: Path) -> None:
    """Keep a screenshot as a 256-colour PNG: a third of the bytes, so the docs stay
    small enough for the repository to travel to a lent machine with training data."""
    from PIL import Image

    with Image.open(path) as shot:
        palette = shot.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    palette.save(path, "PNG", optimize=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the PNGs (e.g. docs/screenshots)")
    parser.add_argument("--weights", default="auto", help="model / weights name to restore with")
    parser.add_argument("--random-weights", metavar="PRESET", help="install untrained weights")
    parser.add_argument(
        "--size", default="1500x940", help="window size, WxH (fitted to the screen)"
    )
    parser.add_argument("--prefix", default="", help="prefix of the file names (e.g. dark-)")
    parser.add_argument("--suffix", default="", help="suffix of the file names (e.g. -1366)")
    parser.add_argument(
        "--shots", default=",".join(SHOTS), help=f"which pictures, of {', '.join(SHOTS)}"
    )
    args = parser.parse_args(argv)
    wanted = {s.strip() for s in args.shots.split(",") if s.strip()}
    unknown = wanted - set(SHOTS)
    if unknown:
        parser.error(f"unknown shots: {', '.join(sorted(unknown))}")
    scratch = Path(tempfile.mkdtemp(prefix="revive-shots-"))
    if args.random_weights:
        os.environ["REVIVE_DATA_DIR"] = str(scratch / "data")
    from engine.paths import resources_without_restorers, user_weights_dir

    from .app import create_app
    from .engine_calls import likeness_due
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
    shots = {}

    def take(name: str, grab) -> None:
        if name in wanted:
            shots[name] = grab()

    settings = _settings(scratch)
    settings.model = args.weights
    settings.restore_on_open = True
    window = MainWindow(settings)
    window.resize(width, height)
    window.show()
    _settle()
    window.fit_to_screen()  # the screen decides, as on a user's machine
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
    _wait(lambda: not window.jobs.is_busy())
    _wait(lambda: not likeness_due(window.current.result if window.current else None))
    window.view.faces.select(0)
    window.view.compare.zoom_fit()
    _settle()
    _divider_through_face(window)
    _settle()
    take("main-window", window.grab)
    window.loupe_dock.show()
    window.view.faces.select(0)
    _settle()
    take("loupe", window.loupe_dock.grab)  # the whole dock: buttons, face, controls
    window.view.loupe.set_side_by_side(True)
    _settle()
    loupe = window.view.loupe
    bottom = loupe.picture.mapTo(loupe, loupe.picture.rect().topLeft()).y() + loupe.side() + 12
    take("sample-before-after", lambda: loupe.grab(QRect(0, 0, loupe.width(), bottom)))
    window.view.loupe.set_side_by_side(False)
    if "model-offer" in wanted and window.offer.bar.isVisible():  # only built-ins installed
        _wait(lambda: "(measured)" in window.offer.bar.label.text(), 900_000)
        _settle()
        take("model-offer", window.grab)
    if "settings" in wanted:
        settings_dialog = window.open_settings()
        _settle()
        take("settings", settings_dialog.grab)
        settings_dialog.reject()
    cards = window.view.faces.cards
    dock = window.faces_dock
    bottom = cards[-1].mapTo(dock, cards[-1].rect().bottomLeft()).y() + 16
    take("faces-panel", lambda: dock.grab(QRect(0, 0, dock.width(), min(dock.height(), bottom))))
    window.show_inspector()
    _settle()
    window.view.compare.zoom_fit()
    _settle()
    _divider_through_face(window)
    _settle()
    take("main-window-inspector", window.grab)
    # The inspector alone, tall enough for every row of maps.
    window.resizeDocks([window.inspector_dock], [height // 2], Qt.Orientation.Vertical)
    _settle()
    take("attention-inspector", window.inspector_dock.grab)
    window.inspector_dock.hide()

    if "models-download" in wanted:
        manager = window.models.open_model_manager()
        manager.show_downloads()
        _wait(lambda: manager.catalogue_table.rowCount() > 0, 120_000)
        _settle()
        take("models-download", manager.grab)
        manager.close()
    if "retrain" in wanted and window.action_set.retrain.isEnabled():
        window.models.open_retrain()
        dialog = window.models.retrain_dialog
        if dialog is not None:
            _settle()
            take("retrain", dialog.grab)
            dialog.close()
    window.close()

    # The first start on a machine without a restoration model, a photo open.
    if "no-weights" in wanted:
        os.environ["REVIVE_DATA_DIR"] = str(scratch / "empty")
        os.environ["REVIVE_RESOURCES"] = str(resources_without_restorers(scratch / "resources"))
        empty = MainWindow(_settings(scratch / "empty-settings"))
        empty.resize(width, height)
        empty.show()
        _settle()
        empty.fit_to_screen()
        _wait(lambda: empty.models.has_weights is not None)
        sample = _sample_file(scratch)
        empty.open_paths([sample])
        _wait(lambda: empty.current is not None and empty.current.found is not None)
        _settle()
        take("no-weights", empty.grab)
        empty.close()

    for name, pixmap in shots.items():
        path = args.out / f"{args.prefix}{name}{args.suffix}.png"
        pixmap.save(str(path), "PNG")
        shrink_png(path)
        print(f"wrote {path} ({pixmap.width()}x{pixmap.height()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
