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


def test_the_sample_is_damaged_as_the_shipped_card_records():
    from engine.app.demo import SampleDamage, shipped_damage
    from engine.model_card_words import shipped_default_card

    card = shipped_default_card("restorer")
    eq14 = card["eq14"]
    damage = shipped_damage()
    assert damage == SampleDamage.from_card(card)
    low, high = eq14["noise_sigma"]
    assert damage.noise_sigma == (low + high) / 2
    assert eq14["jpeg_quality"][0] <= damage.jpeg_quality <= eq14["jpeg_quality"][1]
    assert eq14["scale"][0] <= damage.scale <= eq14["scale"][1]
    assert damage.blur_side % 2 == 1 and damage.blur_side <= max(eq14["blur_size"]) + 1
    # Another card (a restorer trained on harsher ranges) gives a harsher sample.
    harsher = {**card, "eq14": {**eq14, "noise_sigma": [20, 40], "scale": [0.0625, 0.125]}}
    other = SampleDamage.from_card(harsher)
    assert other.noise_sigma == 30 and other.scale < damage.scale
    assert SampleDamage.from_card({}) == SampleDamage()  # no record: the old defaults


def _psnr_y(a: np.ndarray, b: np.ndarray) -> float:
    weights = np.float64([0.299, 0.587, 0.114])
    error = a.astype(np.float64) @ weights - b.astype(np.float64) @ weights
    return float(10 * np.log10(255.0**2 / (error**2).mean()))


def test_the_shipped_restorer_changes_the_samples_face_by_a_clear_margin():
    """Figures on the face box: the restored face differs from the damaged one by over
    2 grey levels on average (a zero correction: 0) and is closer to the clean
    astronaut than the damaged face is (PSNR-Y; docs/gui.md gives the numbers)."""
    pytest.importorskip("skimage")
    from engine.app.demo import astronaut, demo_photo
    from engine.options import RestoreOptions
    from engine.pipeline import Restorer

    clean, photo = astronaut(), demo_photo()
    result = Restorer().restore(photo, RestoreOptions.of(identity=False))
    assert len(result.faces) == 1
    x0, y0, x1, y1 = np.round(np.asarray(result.faces[0].box)).astype(int)
    face = (slice(y0, y1), slice(x0, x1))
    change = np.abs(result.image[face].astype(float) - photo.pixels[face].astype(float)).mean()
    assert change > 2.0
    gain = _psnr_y(result.image[face], clean[face]) - _psnr_y(photo.pixels[face], clean[face])
    assert gain > 0.15
