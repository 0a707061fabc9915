"""Models > Retrain on a tiny network: start, watch events, stop, resume, weights installed."""

from __future__ import annotations

import dataclasses

import pytest

pytest.importorskip("training.api")

from engine.weights import installed_weights  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from tests.training_util import TINY_SPARNET, make_pack, tiny_config  # noqa: E402

TIMEOUT_MS = 180_000
STEPS = 1_000_000


@pytest.fixture
def window(qtbot, settings, user_data_dir):
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.models.has_weights is not None, timeout=TIMEOUT_MS)
    yield win
    win.close()


def test_retrain_start_stop_resume_installs_weights(qtbot, window, tmp_path, user_data_dir):
    assert window.action_set.retrain.isEnabled()
    window.action_set.retrain.trigger()
    dialog = window.models.retrain_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.model_combo.findData("sparnethd") >= 0

    pack = make_pack(tmp_path / "pack", n=8, size=32)
    config = tiny_config(
        "sparnet_x8",
        pack,
        tmp_path / "run",
        steps=STEPS,  # far more than run before Stop: a loaded machine cannot finish first
        sample_every=1,
        checkpoint_every=1000,
        model_overrides=TINY_SPARNET,
        export_dir=str(user_data_dir / "weights"),
        export_name="retrained-tiny",
    )
    finished = []
    dialog.runFinished.connect(finished.append)
    dialog.start(config)
    qtbot.waitUntil(lambda: any(e.kind == "step" for e in dialog.events), timeout=TIMEOUT_MS)
    assert dialog.stop_button.isEnabled() and not dialog.start_button.isEnabled()
    dialog.stop_button.click()
    qtbot.waitUntil(lambda: len(finished) == 1, timeout=TIMEOUT_MS)
    stopped = finished[0]
    assert stopped is not None and stopped.stopped and 1 <= stopped.step < STEPS
    assert "Stopped at step" in dialog.status.text()
    assert dialog.sample.pixmap() is not None and not dialog.sample.pixmap().isNull()
    # the result comes before the job's end, which frees the buttons: Resume follows it
    qtbot.waitUntil(dialog.resume_button.isEnabled, timeout=TIMEOUT_MS)

    # Resume from the checkpoint, two more steps, then the weights are exported and installed.
    short = dataclasses.replace(config, steps=stopped.step + 2)
    with qtbot.waitSignal(dialog.weightsChanged, timeout=TIMEOUT_MS):
        dialog.start(short, resume=True)
    qtbot.waitUntil(lambda: len(finished) == 2, timeout=TIMEOUT_MS)
    done = finished[1]
    assert done is not None and not done.stopped and done.step == stopped.step + 2
    steps = [e.step for e in dialog.events if e.kind == "step"]
    assert steps[0] == stopped.step + 1  # continued, not restarted
    assert any(w.name == "retrained-tiny" for w in installed_weights())
    # The main window lists the new weights in its model picker.
    qtbot.waitUntil(
        lambda: window.options.model_combo.findData("retrained-tiny") >= 0, timeout=TIMEOUT_MS
    )


def test_retrain_reports_a_bad_data_folder(qtbot, window, tmp_path):
    window.models.open_retrain()
    dialog = window.models.retrain_dialog
    finished = []
    dialog.runFinished.connect(finished.append)
    dialog.start(tiny_config("sparnet_x8", tmp_path / "missing", tmp_path / "run"))
    qtbot.waitUntil(lambda: len(finished) == 1, timeout=TIMEOUT_MS)
    assert finished[0] is None and "missing" in dialog.status.text()
    assert dialog.start_button.isEnabled()
