"""The device degradations (training.gpu_degrade) against the CPU ones (training.degrade).

Run on the CPU with torch: the same ops a GPU runs. Each step is compared with the
OpenCV / PIL / libjpeg call it stands for, and the whole Eq. 14 by its statistics:
the PSNR of degraded against clean faces, sample by sample with the same draws.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import SHARED_DATA
from tests.training_util import face_crops
from training.degrade import (
    RESTORER_EQ14,
    Degradation,
    apply_blur,
    degrade_bicubic,
    jpeg_roundtrip,
    sample_rng,
)
from training.gpu_degrade import (
    CHROMA_TABLE,
    LUMA_TABLE,
    DeviceDegradation,
    _levels,
    _resize,
    _resize_pil,
    blur,
    cv2_resize_matrix,
    jpeg,
    median_blur,
    pil_bicubic_matrix,
    quant_table,
)
from training.metrics import psnr_y

SIZE = 128


def _faces(n: int) -> np.ndarray:
    """UTKFace crops (200 px, resized) when the shared data is here, else astronaut crops."""
    folder = SHARED_DATA / "faces" / "utkface"
    files = sorted(folder.glob("*.jpg"))[::97][:n] if folder.is_dir() else []
    if len(files) < n:
        return np.stack(face_crops(n, SIZE))
    return np.stack(
        [
            np.asarray(Image.open(f).convert("RGB").resize((SIZE, SIZE), Image.Resampling.BICUBIC))
            for f in files
        ]
    )


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    return _faces(160)


def _t(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()


def _np(x: torch.Tensor) -> np.ndarray:
    return x.permute(0, 2, 3, 1).round().clamp(0, 255).to(torch.uint8).numpy()


def test_resizes_are_the_cpu_functions_as_matrices(faces):
    x = faces[:8]
    for interp, flag in (("linear", cv2.INTER_LINEAR), ("cubic", cv2.INTER_CUBIC),
                         ("area", cv2.INTER_AREA)):  # fmt: skip
        for lr in (16, 37, 64):
            m = torch.from_numpy(cv2_resize_matrix(SIZE, lr, interp)).float()
            ours = _np(_levels(_resize(_t(x), m)))
            ref = np.stack([cv2.resize(f, (lr, lr), interpolation=flag) for f in x])
            assert np.abs(ours.astype(int) - ref).max() <= 1, (interp, lr)
    for lr in (16, 29, 64):
        up = torch.from_numpy(pil_bicubic_matrix(lr, SIZE)).float()
        small = np.stack([cv2.resize(f, (lr, lr), interpolation=cv2.INTER_AREA) for f in x])
        ours = _np(_resize_pil(_t(small), up))
        ref = np.stack(
            [np.asarray(Image.fromarray(s).resize((SIZE, SIZE), Image.Resampling.BICUBIC))
             for s in small]
        )  # fmt: skip
        assert np.abs(ours.astype(int) - ref).max() <= 2, lr  # PIL's fixed point
        assert np.abs(ours.astype(int) - ref).mean() < 0.05


def test_blur_kernels_are_opencvs(faces):
    x = faces[:6]
    deg = DeviceDegradation(Degradation("eq14", RESTORER_EQ14.for_size(SIZE)), SIZE)
    for kind, size, angle in (("gaussian", 3, None), ("average", 3, None), ("motion", 7, 33.0),
                              ("motion", 5, 120.0)):  # fmt: skip
        kernel = torch.from_numpy(deg._kernel(kind, size, angle)).expand(len(x), -1, -1)
        ours = _np(_levels(blur(_t(x), kernel.contiguous())))
        ref = np.stack([apply_blur(f, kind, size, angle) for f in x])
        assert np.abs(ours.astype(int) - ref).max() <= 1, kind
    ours = _np(median_blur(_t(x), 3))
    ref = np.stack([apply_blur(f, "median", 3) for f in x])
    assert np.array_equal(ours, ref)


@pytest.mark.parametrize("quality", [60, 72, 85])
def test_jpeg_approximation_tracks_libjpeg(faces, quality):
    small = np.stack([cv2.resize(f, (48, 48), interpolation=cv2.INTER_AREA) for f in faces[:64]])
    n = len(small)
    luma = torch.from_numpy(quant_table(LUMA_TABLE, quality)).float().expand(n, 8, 8)
    chroma = torch.from_numpy(quant_table(CHROMA_TABLE, quality)).float().expand(n, 8, 8)
    ours = _np(jpeg(_t(small), luma, chroma))
    ref = np.stack([jpeg_roundtrip(s, quality) for s in small])
    p_ours = np.array([psnr_y(o, s) for o, s in zip(ours, small, strict=True)])
    p_ref = np.array([psnr_y(r, s) for r, s in zip(ref, small, strict=True)])
    assert abs(p_ours.mean() - p_ref.mean()) < 0.3, (p_ours.mean(), p_ref.mean())
    assert np.corrcoef(p_ours, p_ref)[0, 1] > 0.95
    agree = np.mean([psnr_y(o, r) for o, r in zip(ours, ref, strict=True)])
    assert agree > 38.0  # the two decoded images are nearly the same picture


def test_quant_tables_scale_like_libjpeg():
    assert quant_table(LUMA_TABLE, 50)[0, 0] == 16
    assert quant_table(LUMA_TABLE, 75)[0, 0] == 8  # (16 * 50 + 50) // 100
    assert quant_table(LUMA_TABLE, 100).max() == 1
    assert quant_table(CHROMA_TABLE, 10).max() == 255  # baseline clamp


def _cpu_and_device(faces: np.ndarray, degradation: Degradation, seed: int = 5):
    device = DeviceDegradation(degradation, SIZE)
    draws, cpu_lq, cpu_hq = [], [], []
    for i, face in enumerate(faces):
        draws.append(device.draw(sample_rng(seed, i), SIZE))
        lq, hq = degradation(face, sample_rng(seed, i))  # the same draws, by construction
        cpu_lq.append(lq)
        cpu_hq.append(hq)
    gen = torch.Generator().manual_seed(seed)
    lq, hq = device(torch.from_numpy(faces), device.collate(draws), gen)
    to8 = lambda t: _np(t.add(1).mul(127.5))  # noqa: E731
    return to8(lq), to8(hq), np.stack(cpu_lq), np.stack(cpu_hq), draws


def test_eq14_on_the_device_has_the_statistics_of_the_cpu_path(faces):
    degradation = Degradation("eq14", RESTORER_EQ14.for_size(SIZE))
    lq, hq, cpu_lq, cpu_hq, draws = _cpu_and_device(faces, degradation)
    assert np.array_equal(hq, cpu_hq)  # the same targets (gray ones included)
    p_dev = np.array([psnr_y(a, b) for a, b in zip(lq, hq, strict=True)])
    p_cpu = np.array([psnr_y(a, b) for a, b in zip(cpu_lq, cpu_hq, strict=True)])
    assert abs(p_dev.mean() - p_cpu.mean()) < 0.25, (p_dev.mean(), p_cpu.mean())
    assert abs(np.median(p_dev) - np.median(p_cpu)) < 0.3
    assert np.corrcoef(p_dev, p_cpu)[0, 1] > 0.97
    gray = np.array([d.gray for d in draws])
    assert gray.any() and (lq[gray][..., 0] == lq[gray][..., 2]).all()


@pytest.mark.parametrize("name", ["bicubic8x", "bicubic4x"])
def test_bicubic_degradations_match(faces, name):
    lq, hq, cpu_lq, cpu_hq, _ = _cpu_and_device(faces[:32], Degradation(name))
    assert np.array_equal(hq, cpu_hq)
    assert np.abs(lq.astype(int) - cpu_lq).max() <= 2
    factor = int(name[7:-1])
    ref = np.stack([degrade_bicubic(f, factor)[0] for f in faces[:32]])
    assert np.abs(lq.astype(int) - ref).mean() < 0.3


def test_the_noise_is_reproducible_by_its_generator(faces):
    degradation = Degradation("eq14", RESTORER_EQ14.for_size(SIZE))
    device = DeviceDegradation(degradation, SIZE)
    draws = device.collate([device.draw(sample_rng(1, i), SIZE) for i in range(8)])
    x = torch.from_numpy(faces[:8])
    a = device(x, draws, torch.Generator().manual_seed(3))[0]
    b = device(x, draws, torch.Generator().manual_seed(3))[0]
    c = device(x, draws, torch.Generator().manual_seed(4))[0]
    assert torch.equal(a, b) and not torch.equal(a, c)
