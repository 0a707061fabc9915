"""The photo views: split divider, modes, fit / 100%, side-by-side sync."""

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt

from gui.imaging import pixmap_from_array
from gui.views import CompareView, SplitView


def _pixmaps(scale=2):
    before = np.zeros((100, 160, 3), np.uint8)
    before[..., 0] = 200
    after = np.zeros((100 * scale, 160 * scale, 3), np.uint8)
    after[..., 2] = 200
    return pixmap_from_array(before), pixmap_from_array(after)


def _pixel(widget, x, y):
    image = widget.grab().toImage()
    colour = image.pixelColor(x, y)
    return colour.red(), colour.green(), colour.blue()


def test_split_view_shows_before_left_and_after_right(qtbot):
    view = SplitView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    before, after = _pixmaps()
    view.set_images(before, after)
    view.zoom_fit()
    # The original is stretched to the upscaled output: both cover the same scene rect.
    assert view.base_item().sceneBoundingRect() == view.after_item().sceneBoundingRect()
    y = view.viewport().height() // 2
    left, right = _pixel(view.viewport(), 60, y), _pixel(view.viewport(), 340, y)
    assert left[0] > 150 and left[2] < 50  # red original
    assert right[2] > 150 and right[0] < 50  # blue restored

    # Drag the divider to the right: the point at x=300 becomes "before".
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(200, y))
    qtbot.mouseMove(view.viewport(), QPoint(360, y))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(360, y))
    assert abs(view.divider - 360 / view.viewport().width()) < 0.02
    assert _pixel(view.viewport(), 300, y)[0] > 150

    view.set_mode("after")
    assert _pixel(view.viewport(), 60, y)[2] > 150
    view.set_mode("before")
    assert _pixel(view.viewport(), 340, y)[0] > 150


def test_zoom_fit_actual_and_wheel(qtbot):
    view = SplitView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    view.set_images(*_pixmaps(scale=4))
    view.zoom_fit()
    assert view.is_fit and view.zoom < 1.0
    view.zoom_actual()
    assert view.zoom == 1.0 and not view.is_fit
    view.zoom_in()
    assert view.zoom > 1.0
    view.frame(QRectF(10, 10, 20, 20))
    assert view.zoom > 2.0


def test_side_by_side_views_follow_each_other(qtbot):
    compare = CompareView()
    qtbot.addWidget(compare)
    compare.resize(800, 400)
    compare.show()
    qtbot.waitExposed(compare)
    compare.set_images(*_pixmaps())
    compare.set_mode("side_by_side")
    compare.left.set_zoom(3.0)
    compare.left.centerOn(QPointF(100, 50))
    assert compare.right.zoom == 3.0
    centre_left = compare.left.view_state().center
    centre_right = compare.right.view_state().center
    assert (
        abs(centre_left.x() - centre_right.x()) < 2 and abs(centre_left.y() - centre_right.y()) < 2
    )
    compare.right.zoom_out()
    assert abs(compare.left.zoom - compare.right.zoom) < 1e-9
    # Leaving side-by-side keeps the zoom.
    zoom = compare.left.zoom
    compare.set_mode("split")
    assert abs(compare.split.zoom - zoom) < 1e-9
    compare.toggle_before_after()
    assert compare.mode == "before"
    compare.toggle_before_after()
    assert compare.mode == "after"
