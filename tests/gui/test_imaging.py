import numpy as np

from gui.imaging import array_from_qimage, heat_map, overlay, qimage_from_array


def test_heat_map_uses_the_engine_colours():
    from engine.visualize import heat_map as engine_heat_map

    values = np.array([[0.0, 1.0], [0.5, np.nan]], dtype=np.float32)
    colours = heat_map(values)
    assert colours.shape == (2, 2, 3) and colours.dtype == np.uint8
    assert np.array_equal(colours, engine_heat_map(values))
    assert not np.array_equal(colours[0, 0], colours[0, 1])


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
    assert np.allclose(mixed[0, 0], (face[0, 0] * 0.5 + heat[0, 0] * 0.5), atol=1)
