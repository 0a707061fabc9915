"""``revive train / evaluate / export / plot / data pack`` end to end, and the GUI's API."""

from __future__ import annotations

import json
import time

import pytest

from engine.app.cli.main import main
from engine.weights import read_manifest, verify_weights
from tests.conftest import shared_path
from tests.training_util import TINY_SPARNET, make_pack, tiny_config
from training.api import TrainingRun, trainable_models

OVERRIDES = [a for k, v in TINY_SPARNET.items() for a in ("--override", f"{k}={v}")]


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    return make_pack(tmp_path_factory.mktemp("pack") / "faces32", n=12, size=32)


def test_train_resume_export_evaluate_plot(pack, tmp_path, capsys):
    run = tmp_path / "run"
    common = ["--device", "cpu", "--no-progress", "--workers", "2"]
    args = ["train", "sparnet_x8", "--data", str(pack), "--out", str(run), "--steps", "3",
            "--batch", "2", "--val-count", "2", "--log-every", "1",
            *OVERRIDES, *common]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "finished at step 3" in out and "weights:" in out
    resume = ["train", "sparnet_x8", "--out", str(run), "--resume", "--steps", "5", *common]
    assert main(resume) == 0
    assert "finished at step 5" in capsys.readouterr().out
    config = json.loads((run / "config.json").read_text())
    assert config["steps"] == 5 and config["model_overrides"]["res_blocks"] == 1
    manifest = next((run / "export").glob("*.weights.json"))
    assert json.loads(manifest.read_text())["card"]["steps"] == 5
    assert verify_weights(read_manifest(manifest)) == []

    assert main(["export", str(run), "--name", "again", "--to", str(tmp_path / "w")]) == 0
    assert (tmp_path / "w" / "again.weights.json").is_file()

    report = tmp_path / "eval.json"
    assert main(["evaluate", "--weights", str(manifest), "--data", str(pack), "--size", "32",
                 "--metrics", "psnr,ssim,lpips", "--json", str(report)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "bicubic" in printed and "LPIPS skipped" in printed
    result = json.loads(report.read_text())
    assert set(result["results"]) == {"bicubic", manifest.name.removesuffix(".weights.json")}
    assert result["setup"]["faces"] == 12 and result["setup"]["degradation"] == "bicubic8x"

    assert main(["plot", str(run)]) == 0
    assert (run / "losses.png").is_file()


def test_time_limit_ends_the_call_with_a_checkpoint_and_an_export(pack, tmp_path, capsys):
    run = tmp_path / "run"
    common = ["--device", "cpu", "--no-progress", "--workers", "1"]
    args = ["train", "sparnet_x8", "--data", str(pack), "--out", str(run), "--steps", "100000",
            "--batch", "2", "--val-count", "2", "--time-limit", "0.5",
            *OVERRIDES, *common]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr()
    stopped_at = int(printed.out.split("finished at step ")[1].split()[0])
    assert 1 <= stopped_at < 100000
    assert f"time limit of 0.5 s reached at step {stopped_at}" in printed.out + printed.err
    manifest = next((run / "export").glob("*.weights.json"))
    assert json.loads(manifest.read_text())["card"]["steps"] == stopped_at

    # The next call resumes from that checkpoint and reaches the total.
    again = ["train", "sparnet_x8", "--out", str(run), "--resume", "--steps", str(stopped_at + 2),
             "--time-limit", "600", *common]  # fmt: skip
    assert main(again) == 0
    assert f"finished at step {stopped_at + 2}" in capsys.readouterr().out


def test_one_line_errors(pack, tmp_path, capsys):
    assert main(["train", "nonsense", "--data", str(pack)]) == 1
    assert "unknown model 'nonsense'" in capsys.readouterr().err
    assert main(["train", "sparnet_x8", "--data", str(tmp_path / "missing"),
                 "--out", str(tmp_path / "r"), "--device", "cpu"]) == 1  # fmt: skip
    err = capsys.readouterr().err
    assert err.startswith("revive: ") and err.count("\n") == 1
    assert main(["export", str(tmp_path)]) == 1
    assert "not a training run" in capsys.readouterr().err


@pytest.mark.shared
@pytest.mark.slow
def test_data_pack_command(tmp_path, capsys):
    folder = shared_path("faces", "utkface")
    assert main(["data", "pack", str(folder), "--size", "64", "--out", str(tmp_path / "p"),
                 "--limit", "3"]) == 0  # fmt: skip
    assert "packed 3 faces at 64 px" in capsys.readouterr().out
    assert main(["data", "verify", str(tmp_path / "p")]) == 0


def test_training_run_api_start_stop_resume(pack, tmp_path):
    assert set(trainable_models()) == {
        "restorer", "sparnet_x8", "sparnethd", "cagface", "components"
    }  # fmt: skip
    events = []
    config = tiny_config("sparnet_x8", pack, tmp_path / "run", steps=6, sample_every=2,
                         model_overrides=TINY_SPARNET, progress_bar=True)  # fmt: skip
    run = TrainingRun(config, on_event=events.append)

    def stop_at_two(event):
        events.append(event)
        if event.kind == "step" and event.step == 2:
            run.stop()

    run.on_event = stop_at_two
    run.start()
    result = run.wait(timeout=120)
    assert result is not None and result.stopped and run.checkpoint_step() == 2
    kinds = [e.kind for e in events]
    assert kinds[0] in ("note", "start") and kinds[-1] == "done" and "sample" in kinds
    sample = next(e for e in events if e.kind == "sample")
    assert sample.image.ndim == 3 and sample.image.shape[1] > sample.image.shape[0]

    again = TrainingRun.open(tmp_path / "run")
    again.resume()
    deadline = time.time() + 120
    while again.running and time.time() < deadline:
        time.sleep(0.05)
    final = again.wait()
    assert final.step == 6 and not final.stopped and final.export is not None
    drained = []
    while not again.events.empty():
        drained.append(again.events.get())
    assert [e.step for e in drained if e.kind == "step"] == [3, 4, 5, 6]


def test_training_run_reports_errors_as_events(tmp_path):
    config = tiny_config("sparnet_x8", tmp_path / "no-data", tmp_path / "run")
    run = TrainingRun(config)
    run.start()
    with pytest.raises(Exception, match="no-data"):
        run.wait(timeout=60)
    errors = []
    while not run.events.empty():
        event = run.events.get()
        if event.kind == "error":
            errors.append(event)
    assert errors and "no-data" in errors[0].message


BLOCKER = """
import sys
for name in ('facenet_pytorch', 'matplotlib', 'tqdm', 'PySide6', 'platformdirs',
             'pytorch_msssim'):
    sys.modules[name] = None  # import raises ImportError, as if not installed
from training.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_trains_without_qt_facenet_matplotlib_or_tqdm(pack, tmp_path):
    """The GPU machine lacks some of them: `python -m training` must still train and export."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    args = ["train", "sparnet_x8", "--data", str(pack), "--out", str(tmp_path / "run"),
            "--steps", "2", "--batch", "2", "--val-count", "2", "--device", "cpu",
            *OVERRIDES]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", BLOCKER, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "matplotlib is not installed" in proc.stderr and "step 2/2" in proc.stderr
    manifest = next((tmp_path / "run" / "export").glob("*.weights.json"))
    assert not (tmp_path / "run" / "losses.png").exists()

    evaluate = ["evaluate", "--weights", str(manifest), "--data", str(pack), "--size", "32",
                "--device", "cpu", "--json", str(tmp_path / "eval.json")]  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", BLOCKER, *evaluate], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads((tmp_path / "eval.json").read_text())["results"]
    assert results["bicubic"]["psnr_y"] > 10
