"""Losses of the two papers: hinge GAN, discriminator feature matching, VGG19 perceptual.

The VGG19 perceptual loss needs ImageNet weights, which cannot be downloaded here:
``VGGPerceptual.from_file`` reads a torchvision ``vgg19`` state dict (e.g.
``vgg19-dcbb9e9d.pth``, loaded with ``weights_only=True``) or a safetensors file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import WeightsError

# relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 of torchvision's vgg19.features
VGG19_LAYERS = (1, 6, 11, 20, 29)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def hinge_d_loss(real_scores: Sequence[torch.Tensor], fake_scores: Sequence[torch.Tensor]):
    """Eq. 9: mean over discriminators of relu(1 - D(real)) + relu(1 + D(fake))."""
    total = sum(
        F.relu(1.0 - r).mean() + F.relu(1.0 + f).mean()
        for r, f in zip(real_scores, fake_scores, strict=True)
    )
    return total / len(real_scores)


def hinge_g_loss(fake_scores: Sequence[torch.Tensor]) -> torch.Tensor:
    """Eq. 8: mean over discriminators of -D(fake)."""
    return torch.stack([-f.mean() for f in fake_scores]).sum() / len(fake_scores)


def feature_matching_loss(
    fake_features: Sequence[Sequence[torch.Tensor]], real_features: Sequence[Sequence[torch.Tensor]]
) -> torch.Tensor:
    """Eq. 10: L1 between D's intermediate features of SR and HR (real side detached).

    Summed over the layers (each a mean, i.e. the 1/M of Eq. 10), averaged over the
    discriminators as in the authors' release.
    """
    terms = [
        F.l1_loss(f, r.detach())
        for fake, real in zip(fake_features, real_features, strict=True)
        for f, r in zip(fake[:-1], real[:-1], strict=True)  # [-1] is the score map
    ]
    if not terms:
        return torch.zeros(())
    return torch.stack(terms).sum() / len(fake_features)


class VGGPerceptual(nn.Module):
    """Eq. 11: L1 between VGG19 features (relu1_1..relu5_1) of SR and HR; frozen."""

    def __init__(self, features: nn.Sequential, layers: Sequence[int] = VGG19_LAYERS) -> None:
        super().__init__()
        self.layers = tuple(layers)
        # (a list slice: typed alike by every torch release's stubs)
        self.features = nn.Sequential(*list(features)[: max(self.layers) + 1])
        self.features.eval().requires_grad_(False)
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))

    @classmethod
    def from_file(cls, path: str | Path) -> VGGPerceptual:
        from torchvision.models import vgg19

        path = Path(path)
        if not path.is_file():
            raise WeightsError(f"VGG19 weights not found: {path}")
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
        net = vgg19()
        feats = {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}
        try:
            net.features.load_state_dict(feats)
        except RuntimeError as err:
            raise WeightsError(
                f"{path.name} is not a torchvision VGG19 state dict ({err})"
            ) from None
        return cls(net.features)

    def _feats(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = ((x + 1) * 0.5 - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.layers:
                out.append(x)
        return out

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            real = self._feats(target)
        fake = self._feats(output)
        return torch.stack([F.l1_loss(f, r) for f, r in zip(fake, real, strict=True)]).sum()
