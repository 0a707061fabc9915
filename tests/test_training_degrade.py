"""The degradation model of the SPARNet paper (Eq. 14) and the plain bicubic ones."""

from __future__ import annotations

import numpy as np
import pytest

from tests.training_util import face_crops
from training.augment import AugmentConfig, augment_face
from training.degrade import (
    Degradation,
    Eq14Config,
    degrade_bicubic,
    degrade_eq14,
    epoch_rng,
    lr_size_range,
    sample_eq14_params,
    sample_rng,
)


@pytest.fixture(scope="module")
def face512():
    return face_crops(1, 512)[0]


def test_every_draw_stays_inside_the_paper_ranges():
    config = Eq14Config()
    kinds = set()
    sides = []
    for i in range(3000):
        p = sample_eq14_params(sample_rng(7, i), config, (512, 512))
        kinds.add(p.blur)
        if p.blur == "motion":
            assert 5 <= p.blur_size <= 25 and p.blur_size % 2 == 1
            assert 0 <= p.motion_angle <= 180
        else:
            assert 3 <= p.blur_size <= 15 and p.blur_size % 2 == 1
        assert p.lr_size[0] == p.lr_size[1]
        assert 16 / 512 <= p.lr_size[0] / 512 <= 128 / 512
        sides.append(p.lr_size[0])
        assert 0.0 <= p.noise_sigma <= 25.5
        assert 60 <= p.jpeg_quality <= 85
    assert kinds == {"gaussian", "average", "median", "motion"}
    assert min(sides) == 16 and max(sides) == 128  # both ends are reachable


def test_ranges_are_configurable_and_checked():
    config = Eq14Config(scale=(0.25, 0.5), noise_sigma=(5, 6), jpeg_quality=(70, 71),
                        blur_kinds=("median",), p_noise=1.0)  # fmt: skip
    for i in range(200):
        p = sample_eq14_params(sample_rng(1, i), config, (128, 128))
        assert p.blur == "median" and 32 <= p.lr_size[0] <= 64
        assert 5 <= p.noise_sigma <= 6 and p.jpeg_quality in (70, 71)
    with pytest.raises(ValueError):
        Eq14Config(jpeg_quality=(90, 60))
    with pytest.raises(ValueError):
        Eq14Config(blur_kinds=("box",))
    assert lr_size_range(128, (16 / 512, 128 / 512)) == (4, 32)
    small = Eq14Config().for_size(128)
    assert small.blur_size == (1, 3) and small.scale == Eq14Config().scale


def test_eq14_is_reproducible_from_seed_and_index(face512):
    a = degrade_eq14(face512, sample_rng(3, 11))
    b = degrade_eq14(face512, sample_rng(3, 11))
    c = degrade_eq14(face512, sample_rng(3, 12))
    assert np.array_equal(a[0], b[0]) and a[2] == b[2]
    assert not np.array_equal(a[0], c[0])
    lr_up, lr, params = a
    assert lr_up.shape == face512.shape and lr_up.dtype == np.uint8
    assert lr.shape[:2] == params.lr_size


def test_eq14_really_degrades(face512):
    lr_up, _, _ = degrade_eq14(face512, sample_rng(0, 0))
    err = np.abs(lr_up.astype(int) - face512.astype(int)).mean()
    assert err > 2.0  # blurred, shrunk, noisy and compressed: far from the original


def test_noise_is_white_gaussian_of_the_drawn_sigma():
    flat = np.full((256, 256, 3), 128, np.uint8)
    config = Eq14Config(p_blur=0.0, p_jpeg=0.0, scale=(1.0, 1.0), noise_sigma=(20, 20))
    _, lr, params = degrade_eq14(flat, sample_rng(0, 1), config)
    assert params.noise_sigma == 20 and lr.shape == flat.shape
    assert abs(lr.astype(float).std() - 20) < 0.5 and abs(lr.astype(float).mean() - 128) < 0.5


def test_bicubic_degradations(face512):
    for name, factor in (("bicubic4x", 4), ("bicubic8x", 8), ("bicubic16x", 16)):
        lr_up, lr = degrade_bicubic(face512, factor)
        assert lr.shape == (512 // factor, 512 // factor, 3) and lr_up.shape == face512.shape
        inp, target = Degradation(name)(face512, sample_rng(0, 0))
        assert np.array_equal(inp, lr_up) and target is face512
    with pytest.raises(ValueError):
        degrade_bicubic(face512[:100, :100], 8)
    with pytest.raises(ValueError):
        Degradation("bicubic3x")


def test_gray_degradation_turns_the_target_gray_too(face512):
    d = Degradation("eq14", Eq14Config(gray_probability=1.0))
    inp, target = d(face512, sample_rng(0, 0))
    assert np.array_equal(target[..., 0], target[..., 1]) and np.array_equal(
        inp[..., 0], inp[..., 2]
    )


def test_augmentation_is_reproducible_and_keeps_size(face512):
    config = AugmentConfig(rotate90=True)
    a = augment_face(face512, sample_rng(5, 2), config)
    b = augment_face(face512, sample_rng(5, 2), config)
    assert np.array_equal(a, b) and a.shape == face512.shape
    outs = {augment_face(face512, sample_rng(5, i), config).tobytes() for i in range(8)}
    assert len(outs) > 4


def test_epoch_order_is_a_separate_stream():
    p = epoch_rng(0, 3).permutation(10)
    assert sorted(p) == list(range(10))
    assert np.array_equal(p, epoch_rng(0, 3).permutation(10))
    assert not np.array_equal(p, epoch_rng(0, 4).permutation(10))
