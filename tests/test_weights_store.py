"""The safetensors weights store: round trips, shards, checksums, presets, official import."""

from __future__ import annotations

import json

import pytest
import torch

from engine.checkpoint_import import identify_official_preset, import_official_checkpoint
from engine.errors import WeightsError
from engine.models import create_model, load_official_state_dict
from engine.weights import (
    installed_weights,
    load_model,
    load_state_dict,
    read_manifest,
    save_weights,
    verify_weights,
)
from tests.reference import golden, reference_state_dict


def test_round_trip_float16_keeps_integer_buffers(tmp_path):
    net = create_model("sparnet_light_attn3d")
    manifest = save_weights(
        net.state_dict(), tmp_path, "light", "sparnet_light_attn3d", card={"steps": 3}
    )
    info = read_manifest(manifest)
    assert info.preset == "sparnet_light_attn3d" and info.card == {"steps": 3}
    state = load_state_dict(info)
    assert state["encoder.0.conv2d.weight"].dtype == torch.float16
    assert state["encoder.1.preact_func.0.norm.num_batches_tracked"].dtype == torch.long
    restored = load_model(info)
    for key, value in net.state_dict().items():
        assert torch.allclose(
            restored.state_dict()[key].float(), value.float(), atol=1e-3, rtol=1e-3
        )


def test_large_sets_are_sharded_below_the_limit(tmp_path):
    net = create_model("sparnet_x8_attn2d")  # 10.5 M params = 21 MB in float16
    limit = 4 * 1024 * 1024
    info = read_manifest(
        save_weights(net.state_dict(), tmp_path, "x8", "sparnet_x8_attn2d", shard_bytes=limit)
    )
    assert len(info.files) >= 5
    assert all(p.stat().st_size <= limit for p in info.shard_paths())  # header included
    assert info.files[0]["file"] == f"x8-00001-of-{len(info.files):05d}.safetensors"
    assert set(load_state_dict(info)) == set(net.state_dict())


def test_a_layer_larger_than_a_shard_is_stored_in_pieces_and_loads_whole(tmp_path):
    # CAGFace's full x4 has one 37 MB up-convolution: larger than the 15 MiB shard a lent
    # machine returns. It goes in dim-0 pieces and comes back the same tensor.
    net = create_model("sparnet_x8_attn2d")
    state = net.state_dict()
    big = max(state, key=lambda k: state[k].numel())
    limit = state[big].numel() * 2 // 3  # float16: the largest layer needs 3 shards
    info = read_manifest(
        save_weights(state, tmp_path, "x8", "sparnet_x8_attn2d", shard_bytes=limit)
    )
    assert all(p.stat().st_size <= limit for p in info.shard_paths())
    loaded = load_state_dict(info)
    assert set(loaded) == set(state)
    assert torch.equal(loaded[big], state[big].half())
    restored = load_model(info)
    assert torch.allclose(restored.state_dict()[big], state[big], atol=1e-3, rtol=1e-3)


def test_a_damaged_shard_is_refused_by_name(tmp_path):
    net = create_model("sparnet_x8_lite")
    info = read_manifest(save_weights(net.state_dict(), tmp_path, "lite", "sparnet_x8_lite"))
    shard = info.shard_paths()[0]
    data = bytearray(shard.read_bytes())
    data[-10] ^= 0xFF
    shard.write_bytes(bytes(data))
    assert verify_weights(info) == ["lite.safetensors fails its sha256 check"]
    with pytest.raises(WeightsError, match="lite.safetensors fails its sha256"):
        load_state_dict(info)


def test_weights_of_another_preset_do_not_load(tmp_path):
    net = create_model("sparnet_x8_lite")
    manifest = save_weights(net.state_dict(), tmp_path, "w", "sparnet_x8_lite")
    data = json.loads(manifest.read_text())
    data["preset"] = "sparnet_light_attn3d"
    manifest.write_text(json.dumps(data))
    with pytest.raises(WeightsError, match="do not fit preset 'sparnet_light_attn3d'"):
        load_model(read_manifest(manifest))


def test_not_a_manifest(tmp_path):
    bad = tmp_path / "x.weights.json"
    bad.write_text("{not json")
    with pytest.raises(WeightsError, match="not a readable weights manifest"):
        read_manifest(bad)


def test_official_loader_strips_module_prefix_and_names_the_first_bad_key():
    sd = reference_state_dict("sparnet_light_attn3d")
    prefixed = {f"module.{k}": v for k, v in sd.items()}
    net = create_model("sparnet_light_attn3d").double()
    load_official_state_dict(net, prefixed)
    missing = dict(sd)
    del missing["encoder.1.conv1.conv2d.weight"]
    with pytest.raises(WeightsError, match=r"key 'encoder\.1\.conv1\.conv2d\.weight' is missing"):
        load_official_state_dict(create_model("sparnet_light_attn3d"), missing)
    wrong = dict(sd)
    wrong["out_conv.conv2d.bias"] = torch.zeros(4, dtype=torch.float64)
    with pytest.raises(WeightsError, match=r"'out_conv\.conv2d\.bias' has shape \(4,\)"):
        load_official_state_dict(create_model("sparnet_light_attn3d"), wrong)


def test_spectral_norm_folding_equals_torch_spectral_norm_in_eval():
    conv = torch.nn.utils.spectral_norm(torch.nn.Conv2d(4, 6, 3, padding=1))
    x = torch.randn(1, 4, 8, 8)
    conv.train()
    for _ in range(30):  # power iteration converges u, v
        conv(x)
    conv.eval()
    with torch.no_grad():
        expected = conv(x)
    plain = torch.nn.Conv2d(4, 6, 3, padding=1)
    load_official_state_dict(plain, {k: v.detach() for k, v in conv.state_dict().items()})
    with torch.no_grad():
        assert torch.allclose(plain(x), expected, atol=1e-5)


@pytest.mark.parametrize("name", ["sparnet_light_attn3d", "sparnethd_attn2d"])
def test_import_of_a_release_checkpoint(tmp_path, user_data_dir, name):
    sd = {f"module.{k}": v.float() for k, v in reference_state_dict(name).items()}
    pth = tmp_path / f"{name}-release.pth"
    torch.save(sd, pth)
    assert identify_official_preset(sd) == name
    info = import_official_checkpoint(pth)
    assert info.preset == name and info.source == "user" and info.card["released"] is True
    assert info.manifest.parent == user_data_dir / "weights"
    assert all(p.stat().st_size <= 15 * 1024 * 1024 for p in info.shard_paths())
    assert [w.name for w in installed_weights() if w.source == "user"] == [f"{name}-release"]
    net = load_model(info).double()
    ref = golden(name)
    with torch.no_grad():
        out = net(torch.from_numpy(ref["input"]))
    # float32 storage: agreement to float32 precision, not 1e-6 of float64
    err = (out.numpy() - ref["output"]).__abs__().max() / abs(ref["output"]).max()
    assert err < 1e-4


def test_import_refuses_what_is_not_a_release(tmp_path, user_data_dir):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a zip")
    with pytest.raises(WeightsError, match="not a readable PyTorch checkpoint"):
        import_official_checkpoint(junk)
    other = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(3, 3, 3, 3)}, other)
    with pytest.raises(WeightsError, match="not a Face-SPARNet release checkpoint"):
        import_official_checkpoint(other)
    assert not (user_data_dir / "weights").exists() or not list(
        (user_data_dir / "weights").iterdir()
    )
