"""Weights on disk that lie (issue 27, item 2): absurd headers, names outside the folder,
pickles carrying code, truncated shards, wrong sums, and the fall back to the shipped set.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zipfile

import pytest
import torch

from engine import weights as weights_module
from engine.app.cli.main import main
from engine.checkpoint_import import import_official_checkpoint
from engine.errors import WeightsError
from engine.model_choice import plan_models
from engine.models import create_model
from engine.paths import user_weights_dir
from engine.weights import (
    installed_weights,
    load_model,
    load_state_dict,
    read_manifest,
    save_weights,
    verify_weights,
)
from training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

TINY = "sparnethd_tiny"


def _tiny_set(folder, name: str = "tiny", preset: str = TINY, card=None):
    torch.manual_seed(0)
    return read_manifest(
        save_weights(create_model(preset).state_dict(), folder, name, preset, card=card)
    )


def _rewrite_manifest(info, **changes) -> None:
    data = json.loads(info.manifest.read_text())
    data.update(changes)
    info.manifest.write_text(json.dumps(data))


def _resum(info) -> None:
    """Make the manifest's sizes and sums match the shards as they now are (a forger's set)."""
    files = []
    for entry, shard in zip(info.files, info.shard_paths(), strict=True):
        data = shard.read_bytes()
        files.append({**entry, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    _rewrite_manifest(info, files=files)


def test_an_absurd_header_length_is_refused_before_safetensors_reads_it(tmp_path, monkeypatch):
    info = _tiny_set(tmp_path)
    shard = info.shard_paths()[0]
    data = shard.read_bytes()
    shard.write_bytes(struct.pack("<Q", 2**62) + data[8:])  # "an exabyte of header follows"
    _resum(info)  # the sums match: only the header itself can refuse it
    calls = []
    monkeypatch.setattr(weights_module, "load_file", lambda *a, **k: calls.append(a) or {})
    with pytest.raises(WeightsError, match="header claims 4,611,686,018,427,387,904 bytes") as err:
        load_state_dict(read_manifest(info.manifest))
    assert "\n" not in str(err.value) and calls == []  # nothing allocated for it


def test_an_absurd_header_in_a_training_checkpoint_is_one_line(tmp_path):
    folder = save_checkpoint(tmp_path, 5, {"w": torch.ones(3)}, {})
    shard = next(folder.glob("*.safetensors"))
    shard.write_bytes(struct.pack("<Q", 2**40) + shard.read_bytes()[8:])
    with pytest.raises(CheckpointError, match="header claims") as err:
        load_checkpoint(folder)
    assert "\n" not in str(err.value)


OUTSIDE = ["../outside.safetensors", "/tmp/outside.safetensors", "a\x00.safetensors",
           "sub/x.safetensors", "..\\x.safetensors"]  # fmt: skip


@pytest.mark.parametrize("name", OUTSIDE)
def test_a_manifest_naming_files_outside_its_folder_is_refused(tmp_path, name):
    folder = tmp_path / "weights"
    info = _tiny_set(folder)
    outside = tmp_path / "outside.safetensors"
    outside.write_bytes(info.shard_paths()[0].read_bytes())  # a valid shard, out of bounds
    entry = {**info.files[0], "file": name}
    _rewrite_manifest(info, files=[entry])
    with pytest.raises(WeightsError, match="shard name") as err:
        read_manifest(info.manifest)
    assert "\n" not in str(err.value)


def test_a_manifest_whose_set_name_leaves_the_folder_is_not_listed(user_data_dir):
    info = _tiny_set(user_weights_dir())
    _rewrite_manifest(info, name="../../evil")
    with pytest.raises(WeightsError, match="name"):
        read_manifest(info.manifest)
    assert all(w.name != "../../evil" for w in installed_weights())


class _RunsCode:
    """Unpickled, it would run ``touch MARKER``: what a hostile checkpoint carries."""

    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return (os.system, (f"touch '{self.marker}'",))


def test_a_pickle_carrying_code_is_refused_on_import(tmp_path, capsys, user_data_dir):
    marker = tmp_path / "code-ran"
    evil = tmp_path / "model.pth"
    torch.save({"state_dict": {"w": torch.ones(1)}, "payload": _RunsCode(marker)}, evil)
    with zipfile.ZipFile(evil) as archive:  # the file really carries the call
        assert any(b"system" in archive.read(n) for n in archive.namelist() if n.endswith(".pkl"))
    with pytest.raises(WeightsError, match="not a readable PyTorch checkpoint"):
        import_official_checkpoint(evil)
    assert main(["models", "import", str(evil)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not marker.exists()  # the code never ran
    assert not user_weights_dir().exists() or not any(user_weights_dir().iterdir())


def test_a_truncated_shard_is_one_line_naming_it(tmp_path):
    info = _tiny_set(tmp_path)
    shard = info.shard_paths()[0]
    shard.write_bytes(shard.read_bytes()[:-1000])
    assert verify_weights(info) == ["tiny.safetensors has the wrong size"]
    with pytest.raises(WeightsError, match="tiny.safetensors has the wrong size") as err:
        load_model(info)
    assert "\n" not in str(err.value)


def test_a_sha256_mismatch_is_one_line_naming_it(tmp_path):
    info = _tiny_set(tmp_path)
    shard = info.shard_paths()[0]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit, same size
    shard.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="fails its sha256 check") as err:
        load_model(info)
    assert "\n" not in str(err.value)


def test_a_damaged_user_set_falls_back_to_the_shipped_default(user_data_dir):
    shipped = plan_models("auto").main
    assert shipped.source == "shipped"
    # A released model the user installed outranks the shipped one ...
    mine = _tiny_set(user_weights_dir(), "mine", shipped.preset, card={"released": True})
    assert plan_models("auto").main.manifest == mine.manifest
    # ... until its shard is cut short (an interrupted copy): the shipped set restores.
    shard = mine.shard_paths()[0]
    shard.write_bytes(shard.read_bytes()[:100])
    assert plan_models("auto").main.manifest == shipped.manifest
    # An unreadable manifest is passed over the same way.
    mine.manifest.write_text("{ not json")
    assert plan_models("auto").main.manifest == shipped.manifest


def test_a_checkpoint_keeps_a_layer_larger_than_a_shard(tmp_path, monkeypatch):
    # the full CAGFace x4's 37 MB up-convolution once failed to checkpoint at 15 MiB shards
    import training.checkpoint as checkpoint

    monkeypatch.setattr(checkpoint, "SHARD_BYTES", 256 * 1024)
    big = torch.randn(300, 64, 3, 3)  # 691 KB in float32: three pieces
    folder = save_checkpoint(tmp_path, 7, {"net.up.weight": big, "step": torch.tensor(7)}, {})
    assert len(list(folder.glob("*.safetensors"))) >= 3
    tensors, meta = load_checkpoint(folder)
    assert meta["step"] == 7
    assert set(tensors) == {"net.up.weight", "step"}
    assert torch.equal(tensors["net.up.weight"], big)
