"""SPARNetHD's losses: hinge GAN (Eq. 8, 9), feature matching (Eq. 10), perceptual (Eq. 11)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from engine.errors import WeightsError
from training.losses import VGGPerceptual, feature_matching_loss, hinge_d_loss, hinge_g_loss


def test_hinge_losses():
    real = [torch.tensor([2.0, 0.5]), torch.tensor([1.0])]
    fake = [torch.tensor([-2.0, 0.0]), torch.tensor([0.5])]
    # D: scale 1: relu(1-2)=0, relu(1-.5)=.5 -> .25; fake relu(1-2)=0, relu(1+0)=1 -> .5
    #    scale 2: real 0; fake relu(1.5) = 1.5. Mean over scales: (0.75 + 1.5) / 2
    assert hinge_d_loss(real, fake).item() == pytest.approx(1.125)
    assert hinge_g_loss(fake).item() == pytest.approx((1.0 + -0.5) / 2)


def test_feature_matching_ignores_scores_and_real_gradients():
    real = [[torch.ones(1, 2, 4, 4, requires_grad=True), torch.zeros(1, 1, 2, 2)]]
    fake = [[torch.zeros(1, 2, 4, 4, requires_grad=True), torch.full((1, 1, 2, 2), 9.0)]]
    loss = feature_matching_loss(fake, real)
    assert loss.item() == pytest.approx(1.0)  # the score map (last entry) does not count
    loss.backward()
    assert fake[0][0].grad is not None and real[0][0].grad is None


def test_perceptual_loss_on_a_small_feature_stack(tmp_path):
    torch.manual_seed(0)
    feats = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1),
                          nn.ReLU())  # fmt: skip
    loss = VGGPerceptual(feats, layers=(1, 3))
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    assert loss(x, x).item() == 0.0
    y = (x + 0.3 * torch.randn_like(x)).requires_grad_(True)
    value = loss(y, x)
    value.backward()
    assert value.item() > 0 and y.grad is not None
    assert not any(p.requires_grad for p in loss.features.parameters())
    with pytest.raises(WeightsError, match="not found"):
        VGGPerceptual.from_file(tmp_path / "vgg19.pth")
    torch.save({"features.0.weight": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(WeightsError, match="not a torchvision VGG19"):
        VGGPerceptual.from_file(tmp_path / "bad.pth")


def test_detail_terms_are_zero_for_the_target_and_grow_with_blur():
    import torch
    import torch.nn.functional as F

    from training.tasks.restorer import edge_loss, spectrum_loss

    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 3, 64, 64, generator=g) * 2 - 1
    k = torch.ones(3, 1, 5, 5) / 25
    blurred = F.conv2d(F.pad(target, (2, 2, 2, 2), mode="reflect"), k, groups=3)
    for loss in (edge_loss, spectrum_loss):
        assert loss(target, target).item() == pytest.approx(0.0, abs=1e-6)
        assert loss(blurred, target).item() > 0.05
    # The spectrum term ignores where detail sits, the edge term does not.
    shifted = torch.roll(target, 3, dims=3)
    assert spectrum_loss(shifted, target).item() < 0.2 * spectrum_loss(blurred, target).item()
    assert edge_loss(shifted, target).item() > edge_loss(blurred, target).item()
