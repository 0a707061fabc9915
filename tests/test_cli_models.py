"""The ``revive`` command's foundation: --version and models list / import / verify."""

from __future__ import annotations

import subprocess
import sys

import torch

from engine.app.cli.main import main
from tests.reference import reference_state_dict


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as stop:
        assert stop.code == 0
    assert capsys.readouterr().out.startswith("revive 0.1.0")


def test_models_list_when_nothing_is_installed(capsys, user_data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("REVIVE_RESOURCES", str(tmp_path / "no-resources"))
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "No weights installed" in out and "revive models import" in out


def test_import_then_list_then_verify(tmp_path, capsys, user_data_dir, monkeypatch):
    monkeypatch.setenv("REVIVE_RESOURCES", str(tmp_path / "no-resources"))
    pth = tmp_path / "SPARNetLight_Attn3D-epoch20.pth"
    torch.save({k: v.float() for k, v in reference_state_dict("sparnet_light_attn3d").items()}, pth)
    assert main(["models", "import", str(pth), "--half"]) == 0
    assert "imported SPARNetLight_Attn3D-epoch20 (sparnet_light_attn3d" in capsys.readouterr().out
    assert main(["models", "list"]) == 0
    listing = capsys.readouterr().out
    assert "SPARNetLight_Attn3D-epoch20" in listing and "float16" in listing and " ok" in listing
    shard = next((user_data_dir / "weights").glob("*.safetensors"))
    shard.write_bytes(shard.read_bytes()[:-100])
    assert main(["models", "verify"]) == 1
    err = capsys.readouterr()
    assert "wrong size" in err.out and err.err.count("\n") == 1


def test_bad_import_is_one_line_without_traceback(tmp_path):
    bad = tmp_path / "empty.pth"
    bad.write_bytes(b"")
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "models", "import", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith("revive: empty.pth: not a readable PyTorch checkpoint")
    assert "Traceback" not in proc.stderr
