"""The shipped tiny-face model: verified, carded, clearly better than bicubic x8 and than
the default restorer on 16 px faces, and Auto sends it only the faces it restores best."""

from __future__ import annotations

import numpy as np
import pytest

from engine.face_engines import EngineSet
from engine.faces.align import TEMPLATES
from engine.faces.detect import DetectedFace
from engine.model_choice import plan_models
from engine.options import PhotoOptions
from engine.weights import default_weights, verify_weights
from tests.eval_gain import gain_over_bicubic


@pytest.fixture(scope="module")
def shipped():
    info = default_weights("tiny")
    assert info is not None, "no tiny-face model ships in resources/weights"
    return info


def test_the_shipped_tiny_model_is_the_verified_carded_default(shipped):
    assert shipped.source == "shipped" and shipped.preset == "sparnet_x8_s"
    assert verify_weights(shipped) == []
    card = shipped.card
    assert card["degradation"] == "bicubic8x" and "UTKFace" in card["data"]["licence"]
    # over the run's 200 held-out faces, at least +1 dB over bicubic x8
    assert card["validation"]["psnr_y"] > card["bicubic_baseline"]["psnr_y"] + 1.0
    # its history says it continued the default restorer's network and training
    assert card["history"][0]["preset"] == "sparnet_blind128_s"
    assert card["total"]["steps"] == sum(run["steps"] for run in card["history"])


@pytest.mark.shared
def test_the_shipped_tiny_model_beats_bicubic_and_the_default_restorer_at_x8(shipped):
    tiny, default = (
        gain_over_bicubic(w, "bicubic8x") for w in (shipped.name, "revive-restorer-s128")
    )
    assert tiny > 1.0  # +2.07 dB over the 1,000 faces (docs/training.md)
    assert tiny > default + 0.5


def face_with_eyes(distance: float) -> DetectedFace:
    """A face aligned like the template, its eyes ``distance`` px apart."""
    template = TEMPLATES["utkface"]
    side = distance / float(np.linalg.norm(template[1] - template[0]))
    box = np.array([100.0, 100.0, 100.0 + side, 100.0 + side])
    return DetectedFace(box, 0.99, template * side + 100.0)


def test_auto_sends_only_the_smallest_faces_to_the_tiny_model(shipped):
    plan = plan_models("auto")
    assert plan.tiny is not None and plan.tiny.name == shipped.name
    engines = EngineSet(main="default restorer", tiny="tiny model")  # type: ignore[arg-type]
    photo = PhotoOptions()
    # bench/tiny_face_threshold.py: the tiny model wins on faces of 16 px (eyes 7.3 px
    # apart) and loses from 18 px (eyes 8.2 px) on; faces in between go to the default
    picks = {d: engines.pick(face_with_eyes(d), photo) for d in (5.5, 7.3, 8.2, 11.0, 30.0)}
    assert picks == {
        5.5: "tiny model",
        7.3: "tiny model",
        8.2: "default restorer",
        11.0: "default restorer",
        30.0: "default restorer",
    }
