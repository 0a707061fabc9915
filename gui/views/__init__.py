"""Photo views: a zoomable image view, a before/after split view, synced side-by-side views."""

from .compare import CompareView
from .image_view import ImageView, ViewState
from .split_view import SplitView

__all__ = ["CompareView", "ImageView", "SplitView", "ViewState"]
