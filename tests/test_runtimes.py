"""ONNX Runtime behind the model cache (engine.runtimes): every inference network's
export gives torch's outputs within 1e-4 on a real face, exports are cached by the
weights' sha256 and rebuilt when damaged, ``auto`` measures once, and torch stays the
fallback (and is all that loads under ``--runtime torch``)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from engine.app.demo import astronaut
from engine.face_engines import ModelCache
from engine.models import create_model, get_preset
from engine.models.cagface import component_attention_block
from engine.models.presets import CallStyle, ModelKind, list_presets
from engine.options import OptionError, RestoreOptions, RuntimeOptions
from engine.runtimes import RUNTIME_CHOICES, choice, export
from engine.runtimes.session import OnnxNetwork
from engine.weights import find_weights, save_weights
from tests.tiny_models import install_tiny_weights, one_torch_thread

pytest.importorskip("onnxruntime")

CPU = torch.device("cpu")
TOLERANCE = 1e-4
REPO = Path(__file__).resolve().parent.parent


def face(side: int, batch: int = 2) -> torch.Tensor:
    """A real face (the astronaut's, and its mirror image) at ``side`` px, in [-1, 1]."""
    crop = astronaut()[20:220, 160:340]  # her head and shoulders' top
    crop = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
    x = torch.from_numpy(crop.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1)
    return torch.stack([x, x.flip(-1)][:batch])


def network_input(preset_name: str, side: int) -> torch.Tensor:
    """What the engines give this preset's network, made from a real face."""
    preset = get_preset(preset_name)
    x = face(side)
    if preset.capabilities.call is CallStyle.COMPONENT_BLOCK:  # face + its component maps
        return component_attention_block(x, (x[:, [0, 1, 2]] + 1) / 2)
    return x


def outputs(net: torch.nn.Module, x: torch.Tensor, attention: bool) -> list[torch.Tensor]:
    with torch.inference_mode():
        if attention:
            y, maps = net(x, return_attention=True)
            return [y, *maps]
        return [net(x)]


def install(preset_name: str, data_dir: Path) -> str:
    """Seeded random weights of ``preset_name`` (named after it); returns the name."""
    torch.manual_seed(sum(map(ord, preset_name)))
    save_weights(create_model(preset_name).state_dict(), data_dir / "weights", preset_name,
                 preset_name)  # fmt: skip
    return preset_name


# Every network the engines run: the test presets for each architecture and call style,
# the shipped restorer and parser (real weights), the full-size x8 and CAGFace lite.
FAST = ["sparnethd_tiny", "sparnet_x8_tiny", "cagface_tiny", "components_tiny",
        "revive-restorer-s128", "components_bisenet-fasseg"]  # fmt: skip
SLOW = ["sparnet_x8_attn2d", "sparnet_light_attn3d", "sparnet_blind128_m", "cagface_x4_lite",
        "sparnethd_lite256"]  # fmt: skip


def test_every_inference_preset_is_covered_by_an_architecture_here():
    """The presets above span every call style and kind the engines call."""
    inference = {p.name for p in list_presets() if p.kind is not ModelKind.DISCRIMINATOR}
    names = set(FAST + SLOW) | {"sparnet_blind128_s"}
    styles = {get_preset(n).capabilities.call for n in names if n in inference}
    assert styles == {CallStyle.IMAGE, CallStyle.COMPONENT_BLOCK, CallStyle.SEGMENTS}
    assert {get_preset(n).kind for n in names if n in inference} == {
        ModelKind.RESTORER, ModelKind.TINY_FACE, ModelKind.REGION, ModelKind.COMPONENTS,
    }  # fmt: skip


def _agreement(name: str, data_dir: Path) -> None:
    info = find_weights(name) if name.count("-") else find_weights(install(name, data_dir))
    preset = get_preset(info.preset)
    cache = ModelCache()
    torch_net = cache.get(info, CPU, RuntimeOptions(network_runtime="torch"))
    onnx_net = cache.get(info, CPU, RuntimeOptions(network_runtime="onnx"))
    assert isinstance(onnx_net, OnnxNetwork) and not isinstance(torch_net, OnnxNetwork)
    sides = [preset.size or 64]
    if preset.max_work_side != preset.size:  # a blind restorer: every working side
        sides += list(range(preset.size + 16, preset.max_work_side + 1, 16))
    attention = preset.capabilities.returns_attention
    for side in sides:
        x = network_input(preset.name, side)
        want, got = outputs(torch_net, x, attention), outputs(onnx_net, x, attention)
        assert len(want) == len(got) > (1 if attention else 0)
        for a, b in zip(want, got, strict=True):
            assert a.shape == b.shape
            assert float((a - b).abs().max()) < TOLERANCE, (name, side)
        assert float(want[0].std()) > 1e-3  # a real picture went through, not a constant


@pytest.mark.parametrize("name", FAST)
def test_onnx_runtime_agrees_with_torch(name, user_data_dir):
    with one_torch_thread():
        _agreement(name, user_data_dir)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW)
def test_onnx_runtime_agrees_with_torch_on_full_size_networks(name, user_data_dir):
    _agreement(name, user_data_dir)


class ExportCounter:
    def __init__(self, monkeypatch) -> None:
        self.count = 0
        real = export.export_network

        def counted(*args, **kw):
            self.count += 1
            return real(*args, **kw)

        monkeypatch.setattr(export, "export_network", counted)


@pytest.fixture
def tiny_net(user_data_dir):
    """The tiny parser: the quickest network to export (the cache's tests export often)."""
    install_tiny_weights(user_data_dir, ("components",))
    with one_torch_thread():
        yield find_weights("test-components_tiny")


def _onnx(info) -> torch.nn.Module:
    return ModelCache().get(info, CPU, RuntimeOptions(network_runtime="onnx"))


def test_an_export_is_made_once_and_reused(tiny_net, monkeypatch):
    exports = ExportCounter(monkeypatch)
    first = _onnx(tiny_net)
    second = _onnx(tiny_net)  # a new cache: a new process would do the same
    assert exports.count == 1
    assert isinstance(second, OnnxNetwork) and second.path == first.path
    assert second.path.parent == export.onnx_cache_dir()
    record = json.loads(second.path.with_suffix(".json").read_text())
    assert record["weights_sha256"] == export.weights_sha256([f["sha256"] for f in tiny_net.files])
    assert record["weights_sha256"][:32] in second.path.name


def test_other_weights_get_their_own_export(tiny_net, user_data_dir, monkeypatch):
    exports = ExportCounter(monkeypatch)
    first = _onnx(tiny_net)
    torch.manual_seed(1)  # the same preset, other weights
    net = create_model("components_tiny")
    save_weights(net.state_dict(), user_data_dir / "weights", "other", "components_tiny")
    second = _onnx(find_weights("other"))
    assert exports.count == 2 and second.path != first.path


@pytest.mark.parametrize("damage", ["bytes", "record", "unparsable"])
def test_a_damaged_export_is_detected_and_rebuilt(tiny_net, monkeypatch, caplog, damage):
    exports = ExportCounter(monkeypatch)
    path = _onnx(tiny_net).path
    record_path = path.with_suffix(".json")
    if damage == "bytes":  # a flipped byte: its sha256 no longer matches
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "record":
        record_path.write_text("{not json")
    else:  # the record vouches for a file ONNX Runtime cannot parse
        path.write_bytes(b"not an onnx graph")
        record = json.loads(record_path.read_text())
        record["sha256"] = export.sha256_file(path)
        record_path.write_text(json.dumps(record))
    with caplog.at_level(logging.WARNING):
        net = _onnx(tiny_net)
    assert exports.count == 2
    assert isinstance(net, OnnxNetwork)
    assert any("again" in r.getMessage() for r in caplog.records)
    x = face(128)
    torch_net = ModelCache().get(tiny_net, CPU, RuntimeOptions())
    assert float((outputs(net, x, False)[0] - outputs(torch_net, x, False)[0]).abs().max()) < 1e-4


def test_auto_measures_once_per_thread_count_and_keeps_it(tiny_net, monkeypatch):
    measured: list[str] = []
    real = choice.measure

    def counted(torch_net, onnx_net, spec):
        measured.append(spec.key)
        return real(torch_net, onnx_net, spec)

    monkeypatch.setattr(choice, "measure", counted)
    auto = RuntimeOptions(network_runtime="auto")
    first = ModelCache().get(tiny_net, CPU, auto)
    second = ModelCache().get(tiny_net, CPU, auto)
    assert len(measured) == 1
    assert type(first) is type(second)
    kept = json.loads((export.onnx_cache_dir() / choice.CHOICES_FILE).read_text())
    (entry,) = kept
    assert entry.endswith("@1") and kept[entry]["runtime"] in ("onnx", "torch")
    assert isinstance(first, OnnxNetwork) == (kept[entry]["runtime"] == "onnx")
    torch.set_num_threads(2)  # another thread count is measured on its own
    ModelCache().get(tiny_net, CPU, auto)
    assert len(measured) == 2


def test_torch_is_the_fallback_when_onnx_runtime_is_missing(tiny_net, monkeypatch, caplog):
    monkeypatch.setattr(choice, "onnx_runtime_available", lambda: False)
    monkeypatch.setattr(choice, "_warned", set())
    with caplog.at_level(logging.WARNING):
        net = _onnx(tiny_net)
    assert not isinstance(net, OnnxNetwork)
    assert [r.getMessage() for r in caplog.records] == [
        "ONNX Runtime is not installed; the networks run on torch"
    ]


def test_torch_is_the_fallback_when_the_export_fails(tiny_net, monkeypatch, caplog):
    def broken(*args, **kw):
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(export, "export_network", broken)
    monkeypatch.setattr(choice, "_warned", set())
    with caplog.at_level(logging.WARNING):
        net = _onnx(tiny_net)
    assert not isinstance(net, OnnxNetwork)
    (line,) = [r.getMessage() for r in caplog.records]
    assert "components_tiny" in line and "unsupported operator" in line and "torch" in line


def test_the_runtime_setting_is_checked():
    assert RUNTIME_CHOICES == ("auto", "onnx", "torch")
    assert RestoreOptions.of(network_runtime="onnx").runtime.network_runtime == "onnx"
    with pytest.raises(OptionError, match="runtime"):
        RestoreOptions.of(network_runtime="tensorrt")


def test_a_torch_run_never_imports_onnx_runtime(tmp_path):
    """``revive restore --runtime torch``: onnxruntime is not even imported."""
    data = tmp_path / "data"
    install_tiny_weights(data, ("hd", "components"))
    photo = tmp_path / "astronaut.png"
    cv2.imwrite(str(photo), cv2.cvtColor(astronaut(), cv2.COLOR_RGB2BGR))
    script = (
        "import sys\n"
        "from engine.app.cli.main import main\n"
        "code = main(['restore', sys.argv[1], '-o', sys.argv[2], '--model', "
        "'test-sparnethd_tiny', '--runtime', 'torch', '--no-identity'])\n"
        "assert code == 0, code\n"
        "print('onnxruntime' in sys.modules)\n"
    )
    env = {**os.environ, "REVIVE_DATA_DIR": str(data), "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script, str(photo), str(tmp_path / "out")],
                          env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False"
    assert list((tmp_path / "out").iterdir())
    assert not (data / "cache" / "onnx").exists()


def test_the_command_line_offers_the_engine_s_choices():
    from engine.app.cli.main import build_parser

    action = next(
        a for a in build_parser()._subparsers._group_actions[0].choices["restore"]._actions
        if a.dest == "runtime"
    )  # fmt: skip
    assert tuple(action.choices) == RUNTIME_CHOICES and action.default == "auto"


def test_mtcnn_s_nets_agree_and_find_the_same_faces(user_data_dir, monkeypatch):
    from facenet_pytorch import MTCNN

    from engine.runtimes.mtcnn import MTCNN_NETS, use_runtime

    exports = ExportCounter(monkeypatch)
    with one_torch_thread():
        mtcnn = MTCNN(keep_all=True, post_process=False)
        photo = astronaut()
        boxes, scores, points = mtcnn.detect(photo, landmarks=True)
        torch_nets = {name: getattr(mtcnn, name) for name in MTCNN_NETS}
        assert use_runtime(mtcnn, "onnx") == dict.fromkeys(MTCNN_NETS, "onnx")
        level = torch.from_numpy(cv2.resize(photo, (181, 181)).transpose(2, 0, 1).copy())
        inputs = {  # what facenet-pytorch feeds each: a pyramid level, 24 px and 48 px crops
            "pnet": (level[None].float() - 127.5) * 0.0078125,
            "rnet": face(24),
            "onet": face(48),
        }
        for name, x in inputs.items():
            with torch.inference_mode():
                want, got = torch_nets[name](x), getattr(mtcnn, name)(x)
            assert len(want) == len(got) == len(MTCNN_NETS[name][1])
            for a, b in zip(want, got, strict=True):
                assert a.shape == b.shape and float((a - b).abs().max()) < TOLERANCE, name
        again = mtcnn.detect(photo, landmarks=True)
        assert len(again[0]) == len(boxes) == 1
        assert np.abs(again[0] - boxes).max() < 1e-3 and np.abs(again[2] - points).max() < 1e-3
        assert exports.count == 3
        other = MTCNN(keep_all=True, post_process=False)
        use_runtime(other, "onnx")  # a second detector reuses the cached exports
        assert exports.count == 3
        assert use_runtime(mtcnn, "torch") == dict.fromkeys(MTCNN_NETS, "torch")
        assert mtcnn.pnet is torch_nets["pnet"]


def test_the_pipeline_s_detector_follows_the_runtime_setting(user_data_dir):
    """``--runtime onnx`` runs MTCNN's nets on ONNX Runtime too, finding the same face."""
    from engine.pipeline import Restorer

    restorer = Restorer(RestoreOptions())
    photo = astronaut()
    with one_torch_thread():
        by_torch = restorer.detector().detect(photo)
        onnx_options = RestoreOptions(runtime=RuntimeOptions(network_runtime="onnx"))
        detector = restorer.detector(onnx_options)
        by_onnx = detector.detect(photo)
    assert getattr(detector._model().pnet, "runtime", "torch") == "onnx"
    assert restorer.detector().prepare is None  # torch: each setting has its own detector
    assert len(by_onnx) == len(by_torch) == 1
    assert np.abs(by_onnx[0].box - by_torch[0].box).max() < 1.0
    assert np.abs(by_onnx[0].landmarks - by_torch[0].landmarks).max() < 1.0
