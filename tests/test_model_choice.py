"""``--model``: which installed weights restore a photo, and the one-line errors when none do."""

from __future__ import annotations

import pytest

from engine.errors import WeightsError
from engine.model_choice import plan_models
from engine.models import ModelKind
from tests.tiny_models import install_tiny_weights


def test_nothing_installed_says_how_to_get_weights(user_data_dir, without_shipped_restorer):
    with pytest.raises(WeightsError) as err:
        plan_models("auto")
    message = str(err.value)
    assert "revive models import" in message and "revive train" in message
    assert "\n" not in message
    with pytest.raises(WeightsError, match="no SPARNet x8"):
        plan_models("sparnet")


def test_auto_uses_sparnethd_and_x8_for_tiny_faces(user_data_dir, without_shipped_restorer):
    install_tiny_weights(user_data_dir, ("x8",))
    only_x8 = plan_models("auto")
    assert only_x8.main.preset == "sparnet_x8_tiny" and only_x8.tiny is None
    install_tiny_weights(user_data_dir, ("hd",))
    both = plan_models("auto")
    assert both.main.preset == "sparnethd_tiny" and both.tiny.preset == "sparnet_x8_tiny"
    assert plan_models("sparnethd").tiny is None
    assert plan_models("sparnet").main.preset == "sparnet_x8_tiny"


def test_families_presets_and_weight_names(user_data_dir):
    install_tiny_weights(user_data_dir, ("hd", "cagface", "components"))
    assert plan_models("sparnet").main.name == "revive-tiny-x8s"  # the shipped tiny-face model
    cag = plan_models("cagface")
    # The shipped component network (the default of its role) wins over a test one.
    assert cag.kind is ModelKind.REGION and cag.components.preset.startswith("components_")
    assert plan_models("sparnethd_tiny").main.name == "test-sparnethd_tiny"
    assert plan_models("test-sparnethd_tiny").main.preset == "sparnethd_tiny"
    with pytest.raises(WeightsError, match="no weights are installed for model 'sparnet_x8_lite'"):
        plan_models("sparnet_x8_lite")
    with pytest.raises(WeightsError, match="not a face restoration model"):
        plan_models("components_tiny")
    with pytest.raises(WeightsError, match="unknown model 'gfpgan'"):
        plan_models("gfpgan")


def test_cagface_without_the_component_network(user_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("REVIVE_RESOURCES", str(tmp_path / "no-shipped-weights"))
    install_tiny_weights(user_data_dir, ("cagface",))
    with pytest.raises(WeightsError, match="component network"):
        plan_models("cagface")


def test_a_released_model_beats_the_shipped_default_and_a_quick_retrain_does_not(
    user_data_dir, tmp_path, monkeypatch
):
    """The shipped default is used until the user installs a released (official) model;
    a set of the user's own training is only used when picked by name."""
    import json

    import torch

    from engine.models import create_model
    from engine.weights import save_weights

    shipped = tmp_path / "resources"
    torch.manual_seed(0)
    save_weights(create_model("sparnet_x8_lite").state_dict(), shipped / "weights",
                 "shipped-x8", "sparnet_x8_lite")  # fmt: skip
    (shipped / "weights" / "registry.json").write_text(
        json.dumps({"weights": ["shipped-x8"], "defaults": {"tiny": "shipped-x8"}})
    )
    monkeypatch.setenv("REVIVE_RESOURCES", str(shipped))
    assert plan_models("sparnet").main.name == "shipped-x8"
    users = user_data_dir / "weights"
    save_weights(create_model("sparnet_x8_lite").state_dict(), users, "my-retrain",
                 "sparnet_x8_lite")  # fmt: skip
    assert plan_models("sparnet").main.name == "shipped-x8"
    assert plan_models("my-retrain").main.name == "my-retrain"
    save_weights(
        create_model("sparnet_x8_attn2d").state_dict(), users, "my-x8-retrain", "sparnet_x8_attn2d"
    )  # fmt: skip   (a release preset, but the user's training)
    assert plan_models("sparnet").main.name == "shipped-x8"
    save_weights(create_model("sparnet_light_attn3d").state_dict(), users, "released",
                 "sparnet_light_attn3d", card={"released": True})  # fmt: skip
    assert plan_models("sparnet").main.name == "released"


def test_sparnethd_is_never_replaced_by_another_restorer(user_data_dir):
    """Only the shipped blind restorer installed: asking for SPARNetHD is an error that
    offers the download, never a restoration by the built-in model under its name."""
    assert plan_models("auto").main.preset == "sparnet_blind128_s"  # the shipped one
    with pytest.raises(WeightsError, match="SPARNetHD is not installed") as err:
        plan_models("sparnethd")
    assert "download" in str(err.value)
    install_tiny_weights(user_data_dir, ("hd",))  # a SPARNetHD-family set
    assert plan_models("sparnethd").main.preset == "sparnethd_tiny"
