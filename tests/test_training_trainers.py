"""Every trainer runs on tiny networks; loss falls; resume is exact; DDP equals a bigger batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.models import create_model
from engine.weights import load_model, read_manifest, save_weights
from tests.conftest import REPO, shared_path
from tests.training_util import (
    NO_AUGMENT,
    TINY_CAGFACE,
    TINY_COMPONENTS,
    TINY_DISC,
    TINY_SPARNET,
    make_pack,
    tiny_config,
)
from training.checkpoint import latest_checkpoint, load_checkpoint
from training.loop import train


@pytest.fixture(scope="module")
def pack(tmp_path_factory) -> Path:
    return make_pack(tmp_path_factory.mktemp("pack") / "faces32", n=12, size=32)


def losses(result, key):
    return [row[key] for row in result.losses]


def test_sparnet_x8_trains_exports_and_the_export_loads(pack, tmp_path):
    config = tiny_config("sparnet_x8", pack, tmp_path / "run", model_overrides=TINY_SPARNET)
    result = train(config)
    assert result.step == 4 and len(result.losses) == 4
    assert all(np.isfinite(losses(result, "l2")))
    info = read_manifest(result.export)
    assert info.preset == "sparnet_x8_attn2d" and info.dtype == "float16"
    card = info.card
    assert card["steps"] == 4 and card["trainer"] == "sparnet_x8" and "hardware" in card
    assert card["data"]["licence"] == "public domain" and "psnr_y" in card["validation"]
    assert card["bicubic_baseline"]["psnr_y"] > 10
    net = load_model(info, **card["model_overrides"])
    assert net(torch.zeros(1, 3, 32, 32)).shape == (1, 3, 32, 32)
    assert (tmp_path / "run" / "train_log.csv").read_text().startswith("step,l2,")
    assert list((tmp_path / "run" / "samples").glob("*.png"))


def test_sparnethd_trains_with_gan_losses_and_exports_the_ema(pack, tmp_path):
    config = tiny_config(
        "sparnethd", pack, tmp_path / "run", steps=3, degradation="eq14",
        model_overrides=TINY_SPARNET, options={"disc_overrides": TINY_DISC},
    )  # fmt: skip
    events = []
    result = train(config, progress=events.append)
    row = result.losses[-1]
    assert {"pix", "adv", "fm", "pcp", "g_total", "d"} <= set(row)
    assert row["pcp"] == 0.0  # no VGG19 weights here
    assert any("perceptual loss weight 0" in e.message for e in events if e.kind == "note")
    tensors, _ = load_checkpoint(latest_checkpoint(tmp_path / "run"))
    exported = load_model(read_manifest(result.export), **TINY_SPARNET).state_dict()
    key = "out_conv.conv2d.weight"
    ema = tensors[f"ema.G.{key}"]
    assert torch.allclose(exported[key], ema, atol=1e-3)  # float16 export of the EMA copy
    assert not torch.equal(ema, tensors[f"net.G.{key}"])
    assert any(k.startswith("opt.D.") for k in tensors)


def test_cagface_trains_stage1_then_stage2(pack, tmp_path):
    comp = create_model("components_bisenet", **TINY_COMPONENTS)
    card = {"model_overrides": TINY_COMPONENTS}
    manifest = save_weights(
        comp.state_dict(), tmp_path / "w", "tiny-components", "components_bisenet", card=card
    )
    config = tiny_config(
        "cagface", pack, tmp_path / "run", steps=4, size=32, batch=2,
        model_overrides=TINY_CAGFACE,
        options={"components": str(manifest), "stage1_steps": 2, "patch": 4, "component_size": 32},
    )  # fmt: skip
    result = train(config)
    x4 = losses(result, "huber_x4")
    assert x4[:2] == [0.0, 0.0] and all(v > 0 for v in x4[2:])  # stage 2 from step 2 on
    tensors, _ = load_checkpoint(latest_checkpoint(tmp_path / "run"))
    assert any(k.startswith("net.G.model.stage2.") for k in tensors)
    assert result.metrics["psnr_y"] > 5 and "psnr_y_x2" in result.metrics


@pytest.mark.shared
def test_components_trains_on_fasseg_and_reports_iou(tmp_path):
    fasseg = shared_path("parsing", "fasseg")
    config = tiny_config(
        "components", fasseg, tmp_path / "run", steps=3, batch=2, max_faces=6, val_count=2,
        model_overrides=TINY_COMPONENTS, options={"input_size": 64},
    )  # fmt: skip
    result = train(config)
    assert {"miou", "iou_background", "iou_skin", "iou_hair", "iou_other"} <= set(result.metrics)
    card = read_manifest(result.export).card
    assert "FASSEG" in card["data"]["licence"] and card["input_size"] == 64


def test_overfitting_one_batch_lowers_the_loss(pack, tmp_path):
    config = tiny_config(
        "sparnet_x8", pack, tmp_path / "run", steps=40, batch=4, max_faces=4, lr=3e-3,
        augment=NO_AUGMENT, model_overrides=TINY_SPARNET,
    )  # fmt: skip
    curve = losses(train(config, export=False), "l2")
    assert np.mean(curve[-5:]) < 0.5 * np.mean(curve[:3])


def test_resuming_gives_exactly_the_uninterrupted_losses(pack, tmp_path):
    kw = {"steps": 6, "batch": 2, "model_overrides": TINY_SPARNET, "checkpoint_every": 3}
    whole = train(tiny_config("sparnet_x8", pack, tmp_path / "a", **kw), export=False)
    part = tiny_config("sparnet_x8", pack, tmp_path / "b", **{**kw, "steps": 3})
    first = train(part, export=False)
    part.steps = 6
    second = train(part, resume=True, export=False)
    assert second.step == 6
    assert losses(first, "l2") + losses(second, "l2") == losses(whole, "l2")
    a, _ = load_checkpoint(latest_checkpoint(tmp_path / "a"))
    b, _ = load_checkpoint(latest_checkpoint(tmp_path / "b"))
    for key in a:
        if key.startswith(("net.", "opt.")):
            assert torch.equal(a[key], b[key]), key
    rows = (tmp_path / "b" / "train_log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4", "5", "6"]


def test_a_step_decay_taken_on_resume_matches_a_run_planned_with_it(pack, tmp_path):
    kw = {"steps": 6, "batch": 2, "model_overrides": TINY_SPARNET, "checkpoint_every": 3}
    decay = {"lr_milestones": [3], "lr_gamma": 0.1}
    flat = train(tiny_config("sparnet_x8", pack, tmp_path / "flat", **kw), export=False)
    planned_config = tiny_config("sparnet_x8", pack, tmp_path / "planned", **kw)
    planned_config.options.update(decay)
    planned = train(planned_config, export=False)
    # the first three updates alike; the decayed ones move less from step 3 on
    assert losses(planned, "l2")[:4] == losses(flat, "l2")[:4]
    assert losses(planned, "l2")[4:] != losses(flat, "l2")[4:]

    part = tiny_config("sparnet_x8", pack, tmp_path / "decided-later", **{**kw, "steps": 3})
    first = train(part, export=False)
    part.steps = 6
    part.options.update(decay)  # what `revive train --resume --option ...` does
    second = train(part, resume=True, export=False)
    assert losses(first, "l2") + losses(second, "l2") == losses(planned, "l2")


def test_cancel_checkpoints_the_last_step_and_resume_finishes(pack, tmp_path):
    from engine.progress import CancelToken

    token = CancelToken()

    def stop_at_two(event):
        if event.kind == "step" and event.step == 2:
            token.cancel()

    config = tiny_config(
        "sparnet_x8", pack, tmp_path / "run", steps=5, model_overrides=TINY_SPARNET
    )
    stopped = train(config, progress=stop_at_two, cancel=token)
    assert stopped.stopped and stopped.step == 2 and stopped.export is None
    assert latest_checkpoint(tmp_path / "run").name == "step-00000002"
    done = train(config, resume=True)
    assert done.step == 5 and not done.stopped and done.export is not None


@pytest.mark.slow
def test_two_gloo_processes_equal_one_process_with_double_batch(pack, tmp_path):
    no_bn = {**TINY_SPARNET, "norm_type": "none"}  # BatchNorm statistics are per process
    single = tiny_config("sparnet_x8", pack, tmp_path / "one", steps=3, batch=4,
                         model_overrides=no_bn)  # fmt: skip
    train(single, export=False)
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "training", "train", "sparnet_x8", "--data", str(pack),
        "--out", str(tmp_path / "two"),
        "--steps", "3", "--batch", "2", "--val-count", "2", "--log-every", "1", "--device", "cpu",
        "--workers", "2", "--no-progress", "--no-export",
        *[a for k, v in no_bn.items() for a in ("--override", f"{k}={v}")],
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, _ = load_checkpoint(latest_checkpoint(tmp_path / "one"))
    b, meta = load_checkpoint(latest_checkpoint(tmp_path / "two"))
    assert meta["step"] == 3
    for key in (k for k in a if k.startswith("net.G.")):
        assert torch.allclose(a[key], b[key], rtol=1e-4, atol=1e-6), key


def test_compact_checkpoints_are_small_and_resume(pack, tmp_path):
    config = tiny_config(
        "sparnet_x8", pack, tmp_path / "run", steps=2, model_overrides=TINY_SPARNET,
        checkpoint_dtype="bfloat16", checkpoint_optimizer=False,
    )  # fmt: skip
    train(config, export=False)
    tensors, meta = load_checkpoint(latest_checkpoint(tmp_path / "run"))
    assert not any(k.startswith("opt.") for k in tensors) and meta["dtype"] == "bfloat16"
    assert tensors["net.G.out_conv.conv2d.weight"].dtype == torch.bfloat16
    events = []
    config.steps = 3
    result = train(config, resume=True, export=False, progress=events.append)
    assert result.step == 3
    assert any("fresh moments" in e.message for e in events if e.kind == "note")


def test_a_weight_set_of_the_same_network_starts_another_preset(tmp_path):
    """The small blind restorer's weights start the tiny-face x8 model of the same network;
    a weight set of another network is refused with a clear error."""
    from training.errors import ConfigError

    pack128 = make_pack(tmp_path / "faces128", n=6, size=128)
    blind = create_model("sparnet_blind128_s")
    with torch.no_grad():
        for p in blind.parameters():
            p.add_(0.01)  # not the default initialisation, so a load can be told apart
    card = {"steps": 3, "batch": 2}
    state = blind.state_dict()
    manifest = save_weights(state, tmp_path / "w", "b", "sparnet_blind128_s", card=card)
    run = tmp_path / "run"
    result = train(tiny_config("sparnet_x8_s", pack128, run, steps=1, init_weights=str(manifest)))
    card = read_manifest(result.export).card
    assert card["preset"] == "sparnet_x8_s" and len(card["history"]) == 2
    assert card["history"][0]["preset"] == "sparnet_blind128_s" and card["total"]["steps"] == 4
    exported = load_model(read_manifest(result.export)).state_dict()
    learned = dict(blind.named_parameters())  # (norm statistics move with the data)
    assert max(float((exported[k].float() - v).abs().max()) for k, v in learned.items()) < 0.02
    lite = str(manifest)
    with pytest.raises(ConfigError, match="not sparnet_x8_lite"):
        train(tiny_config("sparnet_x8_lite", pack128, run.parent / "run2", init_weights=lite))
