"""What is offered when a model is missing, and the time per face measured here."""

from __future__ import annotations

import pytest

from engine.errors import Cancelled
from engine.model_offer import download_for, only_built_in_restorers, time_per_face
from engine.progress import CancelToken
from engine.weights import installed_weights
from tests.tiny_models import install_tiny_weights


def test_each_family_is_offered_by_its_catalogue_entry() -> None:
    assert download_for("sparnethd").name == "sparnethd_attn2d"
    assert download_for("sparnet").name == "sparnet_x8_attn2d"
    assert download_for("sparnethd_attn3d").name == "sparnethd_attn3d"
    assert download_for("cagface") is None  # nothing to download: it is trained here
    assert download_for("gfpgan") is None


def test_only_built_in_restorers(user_data_dir) -> None:
    assert only_built_in_restorers(installed_weights())  # what ships, nothing else
    install_tiny_weights(user_data_dir, ("hd",))
    assert not only_built_in_restorers(installed_weights())


def test_the_time_per_face_is_measured_and_can_be_stopped() -> None:
    assert time_per_face("sparnethd_tiny", "cpu") > 0
    stop = CancelToken()
    stop.cancel()
    with pytest.raises(Cancelled):
        time_per_face("sparnethd_tiny", "cpu", stop)
