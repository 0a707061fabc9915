"""Wall-clock responsiveness of the window while a photo is restored (offscreen Qt).

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_gui_responsiveness.py
[PHOTO] [--scale 4] [--repeats 3]``

A 20 ms timer ticks on the GUI thread while the worker restores the photo with random
weights of a tiny preset (timings do not depend on their values); the table gives the
longest and the 99th-percentile gap between ticks. Wall-clock gaps also count every
other process on the machine, so this is a benchmark, not a test: nothing is asserted.
(tests/gui/test_main_window.py checks what the app controls: no processing on the GUI
thread, and its own work a small share of the worker's, in CPU time.)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DEFAULT_PHOTO = REPO.parent / "shared" / "data" / "real" / "sparnet" / "test_hzgg.jpg"
PRESET = "sparnethd_tiny"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("photo", nargs="?", default=str(DEFAULT_PHOTO))
    parser.add_argument("--scale", type=int, default=4, choices=(1, 2, 4))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    folder = Path(tempfile.mkdtemp(prefix="revive-bench-gui-"))
    os.environ["REVIVE_DATA_DIR"] = str(folder / "user")

    import torch
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from engine.models import create_model
    from engine.paths import user_weights_dir
    from engine.weights import save_weights
    from gui.main_window import MainWindow
    from gui.photo_controller import PhotoStatus
    from gui.settings import Settings

    torch.manual_seed(0)
    save_weights(create_model(PRESET).state_dict(), user_weights_dir(), "bench", PRESET)
    app = QApplication.instance() or QApplication([])
    settings = Settings(QSettings(str(folder / "revive.ini"), QSettings.Format.IniFormat))
    settings.model, settings.device, settings.restore_on_open = "bench", "cpu", False
    window = MainWindow(settings)
    window.resize(1400, 900)
    window.show()

    def wait(done, limit_s: float = 600.0) -> None:
        end = time.monotonic() + limit_s
        while not done():
            app.processEvents()
            time.sleep(0.002)
            if time.monotonic() > end:
                raise SystemExit("timed out")

    wait(lambda: window.warmed_up)
    window.open_paths([Path(args.photo)])
    wait(
        lambda: (
            (e := window.photos.find(Path(args.photo))) is not None
            and e.status is PhotoStatus.LOADED
        )
    )
    window.options.scale_combo.setCurrentIndex(window.options.scale_combo.findData(args.scale))
    print(f"{'run':>4} {'restore s':>10} {'ticks':>6} {'longest gap ms':>15} {'p99 gap ms':>11}")
    for run in range(args.repeats):
        entry = window.current
        ticks: list[float] = []
        timer = QTimer()
        timer.setInterval(20)
        timer.timeout.connect(lambda ticks=ticks: ticks.append(time.perf_counter()))
        timer.start()
        start = time.perf_counter()
        window.action_set.restore.trigger()
        wait(lambda entry=entry: entry.status in (PhotoStatus.RESTORED, PhotoStatus.ERROR))
        end = time.perf_counter()
        timer.stop()
        gaps = np.diff([start, *[t for t in ticks if start <= t <= end], end]) * 1000
        print(
            f"{run + 1:>4} {end - start:>10.2f} {len(ticks):>6} {gaps.max():>15.0f} "
            f"{np.percentile(gaps, 99):>11.0f}"
        )
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    window.close()


if __name__ == "__main__":
    main()
