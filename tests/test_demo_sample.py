import numpy as np
import pytest

from engine.app.demo import degrade_for_demo


def test_degrade_for_demo_is_soft_noisy_and_repeatable():
    rng = np.random.default_rng(0)
    clean = np.zeros((128, 128, 3), np.uint8)
    clean[::2] = 255  # fine stripes: all high frequency
    clean[:, :64] = rng.integers(0, 256, (128, 64, 3))
    out = degrade_for_demo(clean)
    assert out.shape == clean.shape and out.dtype == np.uint8
    assert np.array_equal(out, degrade_for_demo(clean))  # seeded
    stripes = out[:, 64:].astype(float)
    assert np.abs(np.diff(stripes, axis=0)).mean() < 0.2 * 255  # the stripes are gone


def test_demo_photo_is_the_degraded_astronaut():
    pytest.importorskip("skimage")
    from engine.app.demo import astronaut, demo_photo

    photo = demo_photo()
    assert photo.pixels.shape == (512, 512, 3) and photo.source is None
    assert not np.array_equal(photo.pixels, astronaut())
