import numpy as np

from gui.imaging import HEAT_TABLE, array_from_qimage, heat_map, overlay, qimage_from_array


def test_heat_map_is_monotonic_in_brightness():
    luminance = HEAT_TABLE.astype(float) @ np.array([0.299, 0.587, 0.114])
    assert np.all(np.diff(luminance) > -1e-6)  # low attention dark, high attention bright
    values = np.array([[0.0, 1.0], [0.5, np.nan]], dtype=np.float32)
    colours = heat_map(values)
    assert colours.shape == (2, 2, 3) and colours.dtype == np.uint8
    assert (colours[0, 0] == HEAT_TABLE[0]).all() and (colours[0, 1] == HEAT_TABLE[255]).all()
    assert (colours[1, 1] == HEAT_TABLE[0]).all()  # NaN shows as "no attention"


def test_qimage_round_trip_keeps_pixels(qapp):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)  # odd width: padded rows
    assert np.array_equal(array_from_qimage(qimage_from_array(image)), image)
    deep = image.astype(np.uint16) * 257
    assert np.array_equal(array_from_qimage(qimage_from_array(deep)), image)


def test_overlay_resizes_map_to_face():
    face = np.full((64, 64, 3), 100, np.uint8)
    heat = heat_map(np.ones((8, 8), np.float32))
    mixed = overlay(face, heat, opacity=0.5)
    assert mixed.shape == face.shape
    assert np.allclose(mixed[0, 0], (face[0, 0] * 0.5 + HEAT_TABLE[255] * 0.5), atol=1)
