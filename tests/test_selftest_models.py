"""``revive --selftest`` and the models a user downloads (issue 16, point 5)."""

from __future__ import annotations

import pytest
import torch

from engine.app import selftest
from engine.checkpoint_import import import_official_checkpoint
from tests.reference import reference_state_dict


def test_without_a_restoration_model_the_check_is_skipped_and_says_why(
    user_data_dir, monkeypatch, tmp_path
):
    monkeypatch.setenv("REVIVE_RESOURCES", str(tmp_path / "no-resources"))
    with pytest.raises(selftest.Skipped, match="revive models download"):
        selftest.check_restore(selftest.Context())


@pytest.mark.slow
def test_a_downloaded_model_is_what_the_restoration_check_runs(
    user_data_dir, monkeypatch, tmp_path
):
    """A release model installed in the user's folder (as a download leaves it) is used."""
    monkeypatch.setenv("REVIVE_RESOURCES", str(tmp_path / "no-resources"))
    pth = tmp_path / "SPARNetLight_Attn3D-epoch20.pth"
    state = {k: v.float() for k, v in reference_state_dict("sparnet_light_attn3d").items()}
    torch.save(state, pth)
    import_official_checkpoint(pth, name="sparnet_light_attn3d")
    assert [w.name for w in selftest.installed_restorers()] == ["sparnet_light_attn3d"]
    try:
        detail = selftest.check_restore(selftest.Context())
    except selftest.CheckFailed as err:  # deterministic, untrained weights: the numbers may
        assert "shading" in str(err) or "not changed" in str(err), err  # fail, never crash
    else:
        assert detail.startswith("sparnet_light_attn3d:")
