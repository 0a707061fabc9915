"""Metrics as the papers compute them, and the optional ones that need weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tests.training_util import face_crops
from training import optional_metrics as om
from training.degrade import degrade_bicubic
from training.metrics import (
    confusion_matrix,
    luminance,
    ms_ssim,
    msssim_available,
    psnr_y,
    segmentation_iou,
    ssim_y,
)


@pytest.fixture(scope="module")
def pair():
    hr = face_crops(1, 128)[0]
    return degrade_bicubic(hr, 8)[0], hr


def test_luminance_is_matlab_rgb2ycbcr():
    rgb = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [12, 200, 77]]], np.uint8)
    expected = 16 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255
    assert np.allclose(luminance(rgb), expected, atol=1e-9)
    assert luminance(rgb)[0, 0] == pytest.approx(16) and luminance(rgb)[0, 1] == pytest.approx(235)


def test_psnr_y_follows_its_definition(pair):
    out, hr = pair
    mse = np.mean((luminance(out) - luminance(hr)) ** 2)
    assert psnr_y(out, hr) == pytest.approx(10 * math.log10(255**2 / mse), rel=1e-9)
    assert psnr_y(hr, hr) == float("inf")
    assert 15 < psnr_y(out, hr) < 35


def test_ssim_and_msssim_order_the_degradations(pair):
    out, hr = pair
    x4 = degrade_bicubic(hr, 4)[0]
    assert ssim_y(hr, hr) == pytest.approx(1.0)
    assert ssim_y(out, hr) < ssim_y(x4, hr) < 1.0
    if msssim_available() is None:
        assert ms_ssim(hr, hr) == pytest.approx(1.0, abs=1e-6)
        assert ms_ssim(out, hr) < ms_ssim(x4, hr) < 1.0


def test_iou_from_a_confusion_matrix():
    truth = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    pred = np.array([0, 1, 1, 1, 2, 2, 3, 0])
    conf = confusion_matrix(pred, truth, 4)
    iou = segmentation_iou(conf, ("a", "b", "c", "d"))
    assert iou["iou_a"] == pytest.approx(1 / 3) and iou["iou_b"] == pytest.approx(2 / 3)
    assert iou["iou_c"] == 1.0 and iou["iou_d"] == pytest.approx(0.5)
    assert iou["miou"] == pytest.approx((1 / 3 + 2 / 3 + 1 + 0.5) / 4)
    assert iou["pixel_acc"] == pytest.approx(6 / 8)


def test_optional_metrics_say_why_they_are_skipped(tmp_path):
    metric, message = om.make_fid(None)
    assert metric is None and "FID" in message and "skipped" in message
    # identity and landmarks default to dlib's models (tests/test_identity.py); a weights
    # path picks the facenet / FAN backends, which say why they cannot run
    for make, word in ((om.make_fid, "FID"), (om.make_identity, "identity"),
                       (om.make_landmarks, "landmark")):  # fmt: skip
        metric, message = make(str(tmp_path / "missing.pth"))
        assert metric is None and word in message
        assert "not found" in message or "not installed" in message
    metric, message = om.make_lpips(None)
    assert metric is None and "LPIPS skipped" in message


def test_frechet_distance():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 4))
    assert om.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert om.frechet_distance(a, a + 2.0) == pytest.approx(16.0, rel=1e-6)  # 4 dims x 2^2


class _FakeFAN(torch.nn.Module):
    """Heatmaps that peak where the image is brightest in each of 5 vertical bands."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gray = torch.nn.functional.adaptive_avg_pool2d(x.mean(1, keepdim=True), 64)
        maps = []
        for k in range(5):
            band = torch.zeros_like(gray)
            band[..., :, k * 12 : k * 12 + 12] = gray[..., :, k * 12 : k * 12 + 12]
            maps.append(band)
        return torch.cat(maps, 1)


def test_landmark_auc_with_a_torchscript_fan(tmp_path):
    path = tmp_path / "fan.pt"
    torch.jit.script(_FakeFAN()).save(str(path))
    metric, message = om.make_landmarks(str(path))
    assert metric is not None and "AUC" in message
    faces = np.stack(face_crops(3, 64))
    same = metric(faces, faces)
    assert same["landmark_auc"] == pytest.approx(1.0) and same["landmark_nme"] == 0.0
    shifted = metric(np.roll(faces, 8, axis=2), faces)
    assert shifted["landmark_auc"] < 1.0


def test_nme_auc_and_heatmap_decoding():
    assert om.nme_auc(np.zeros(10)) == pytest.approx(1.0)
    assert om.nme_auc(np.full(10, 0.2)) == 0.0
    assert om.nme_auc(np.full(10, 0.05)) == pytest.approx(0.5, abs=0.01)
    maps = torch.zeros(1, 2, 4, 4)
    maps[0, 0, 1, 2] = 1
    maps[0, 1, 3, 0] = 1
    assert np.allclose(om.heatmap_landmarks(maps, 8)[0], [[5, 3], [1, 7]])
