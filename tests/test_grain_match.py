"""Faces that belong to their photo: grain measured inside and around a real face, matched."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.faces.grain import VISIBLE_RATIO, match_grain, measure
from engine.options import RestoreOptions
from tests.conftest import shared_path


def test_grain_is_added_only_where_a_face_is_visibly_cleaner() -> None:
    rng = np.random.default_rng(1)
    photo = np.clip(128 + rng.normal(0, 6, (200, 200, 3)), 0, 255).astype(np.uint8)
    photo[:] = photo[..., :1]  # gray grain, as a scan has
    box = [70.0, 60.0, 130.0, 140.0]
    smooth = photo.copy()
    smooth[60:140, 70:130] = 128  # a clean face-sized patch in grainy surroundings
    out, (found,) = match_grain(smooth, [box], 2, seeds=[0])
    assert found.face_grain < VISIBLE_RATIO * found.ring_grain and found.added > 0
    face, ring, *_ = measure(out, box)
    assert 0.85 < face / ring < 1.2  # now the face has the grain around it
    assert np.array_equal(out[:40], smooth[:40])  # nothing changes away from the face
    again, _ = match_grain(smooth, [box], 2, seeds=[0])
    assert np.array_equal(out, again)  # pasting again gives the same picture
    # Grain that already matches is left alone.
    same, (found,) = match_grain(photo, [box], 2, seeds=[0])
    assert found.added == 0 and np.array_equal(same, photo)


@pytest.fixture(scope="module")
def grainy_portrait() -> np.ndarray:
    """A real face (FFHQ) at about 40 px wide, with film-like grain (sigma 8)."""
    path = sorted(shared_path("paired", "ffhq10").iterdir())[0]
    with Image.open(path) as im:
        clean = np.asarray(im.convert("RGB").resize((80, 80), Image.Resampling.LANCZOS))
    grain = np.random.default_rng(0).normal(0, 8, clean.shape[:2])[..., None]
    return np.clip(np.rint(clean + grain), 0, 255).astype(np.uint8)


@pytest.mark.shared
@pytest.mark.parametrize("scale", [2, 4])
def test_a_restored_real_face_gets_its_photos_grain(grainy_portrait, scale) -> None:
    """Measured on a real face: the shipped restorer cleans it, so at 2x / 4x it is
    visibly cleaner than the enlarged photo around it; matching gives the grain back."""
    from engine.pipeline import Restorer

    restorer = Restorer()
    plain = restorer.restore(
        grainy_portrait, RestoreOptions.of(scale=scale, grain_match=False, identity=False)
    )
    matched = restorer.restore(
        grainy_portrait, RestoreOptions.of(scale=scale, grain_match=True, identity=False)
    )
    assert len(plain.faces) == 1 and plain.faces[0].grain is None
    box = np.asarray(plain.faces[0].box) * scale
    face, ring, *_ = measure(plain.image, box)
    assert face < VISIBLE_RATIO * ring  # pasted in: cleaner than its frame
    found = matched.faces[0].grain
    assert found is not None and found.added > 0
    face_after, ring_after, *_ = measure(matched.image, box)
    assert 0.85 < face_after / ring_after < 1.25
    assert abs(ring_after - ring) < 0.05 * ring  # the surroundings are not touched
    assert "Grain added" in found.words()


@pytest.mark.shared
def test_at_1x_nothing_is_added(grainy_portrait) -> None:
    from engine.pipeline import Restorer

    result = Restorer().restore(grainy_portrait, RestoreOptions.of(scale=1, identity=False))
    assert result.faces[0].grain is None
