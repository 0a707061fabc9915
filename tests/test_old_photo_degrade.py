"""The old-print steps of the restorer's degradation, and the estimators that set them."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from tests.training_util import face_crops
from training import degradation_estimates as est
from training.degrade import (
    RESTORER_EQ14,
    RESTORER_OLD_PHOTO,
    Degradation,
    Eq14Config,
    degrade_eq14,
    film_grain,
    halftone_screen,
    sample_eq14_params,
    sample_rng,
)

ONLY_TONE = Eq14Config(scale=(1.0, 1.0), p_blur=0.0, p_noise=0.0, p_jpeg=0.0)


@pytest.fixture(scope="module")
def faces():
    return face_crops(6, 128)


def test_old_print_draws_leave_eq14_draws_alone():
    """Switching the old-print steps on keeps every Eq. 14 draw of the same sample."""
    with_print = replace(RESTORER_EQ14, p_fade=0.5, p_grain=0.5, p_cast=0.5, p_halftone=0.5)
    extras = 0
    for i in range(300):
        a = sample_eq14_params(sample_rng(4, i), RESTORER_EQ14, (128, 128))
        b = sample_eq14_params(sample_rng(4, i), with_print, (128, 128))
        assert (a.blur, a.blur_size, a.lr_size, a.noise_sigma, a.jpeg_quality, a.gray) == (
            b.blur, b.blur_size, b.lr_size, b.noise_sigma, b.jpeg_quality, b.gray
        )  # fmt: skip
        assert a.extra == {}
        extras += bool(b.extra)
    assert 200 < extras < 300  # 1 - 0.5^4 of the samples carry some old-print step


def test_fading_and_cast_change_input_and_target_alike(faces):
    """A faded, tinted print is the photo's look, not damage: the target keeps it too."""
    config = replace(ONLY_TONE, p_fade=1.0, fade_contrast=(0.6, 0.6), fade_black=(40.0, 40.0),
                     p_cast=1.0, cast_b=(15.0, 15.0))  # fmt: skip
    lq, target = Degradation("eq14", config)(faces[0], sample_rng(0, 1))
    assert np.abs(lq.astype(int) - target.astype(int)).max() <= 1
    before, after = est.tone(faces[0]), est.tone(target)
    assert after.black > before.black + 20 and after.contrast < 0.75 * before.contrast
    assert est.colour(target).b > est.colour(faces[0]).b + 8  # warmer


def test_grain_is_damage_on_the_input_alone(faces):
    config = replace(ONLY_TONE, p_grain=1.0, grain_sigma=(6.0, 6.0), grain_size=(0.8, 0.8))
    lq, target = Degradation("eq14", config)(faces[1], sample_rng(0, 2))
    np.testing.assert_array_equal(target, faces[1])
    diff = lq.astype(np.float64) - target
    assert 4.5 < diff.std() < 7.0  # clipping at 0 / 255 takes a little off
    # Clumped, not white: neighbours of the grain are correlated.
    assert np.corrcoef(diff[:, :-1].ravel(), diff[:, 1:].ravel())[0, 1] > 0.3


def test_the_halftone_estimator_finds_the_generated_screen(faces):
    face = cv2.resize(faces[2], (384, 384), interpolation=cv2.INTER_CUBIC)
    dotted = halftone_screen(face, 4.0, 45.0)
    assert est.halftone(dotted) > 20 * est.halftone(face)


def test_blur_and_noise_estimators_recover_known_damage(faces):
    reference = np.mean([est.radial_spectrum(est.luma(f)) for f in faces], axis=0)
    found = {
        s: np.median([est.blur_sigma(cv2.GaussianBlur(f, (0, 0), s), reference) for f in faces])
        for s in (0.8, 1.6)
    }
    assert found[1.6] > found[0.8] + 0.4
    assert abs(found[1.6] - 1.6) < 0.5
    rng = np.random.default_rng(0)
    flat = np.full((128, 128, 3), 120, np.uint8)
    gray_noise = rng.normal(0, 8.0, flat.shape[:2])[..., None]  # the same in R, G and B
    noisy = np.clip(flat + gray_noise, 0, 255).astype(np.uint8)
    assert 6.5 < est.noise_sigma(noisy) < 9.5
    grainy = film_grain(flat, 8.0, 1.0, rng)
    white, clumped = est.grain(noisy)[0], est.grain(grainy)[0]
    assert clumped > white + 0.3


def test_old_photo_preset_reaches_every_step():
    seen: dict[str, int] = {}
    for i in range(400):
        p = sample_eq14_params(sample_rng(9, i), RESTORER_OLD_PHOTO.for_size(128), (128, 128))
        for k in p.extra:
            seen[k] = seen.get(k, 0) + 1
        assert 16 <= p.lr_size[0] <= 128
    assert {"fade", "cast", "grain", "halftone"} <= set(seen)


def test_degraded_old_photo_is_reproducible(faces):
    config = RESTORER_OLD_PHOTO.for_size(128)
    a = degrade_eq14(faces[3], sample_rng(2, 5), config)[0]
    b = degrade_eq14(faces[3], sample_rng(2, 5), config)[0]
    np.testing.assert_array_equal(a, b)
