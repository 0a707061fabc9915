"""An identity / perceptual loss from dlib's face-recognition ResNet, for the restorer.

The network (:mod:`training.dlib_resnet`) was trained to tell people apart, so its
inner features describe a face's structure (eyes, brows, mouth, shape) and its
descriptor the person. Restored and clean faces go through it together; the loss is
the mean distance of chosen feature maps plus, optionally, 1 - cosine of the two
descriptors. The clean side runs without gradients; the network is frozen.

Geometry. Revive's restorer sees faces aligned to a template (``utkface``) at
``size`` px; dlib's network wants its 150 px chip, where its own alignment puts the
five landmarks at ``engine.identity.CHIP_POINTS``. One fixed similarity takes the
template's points there (``engine.identity.template_chip_matrix``, the chip that the
app's identity check cuts when it has no landmarks); it is applied with
``F.grid_sample`` (bilinear, reflected border), so gradients reach every pixel.

Use in a trainer (tensors N x 3 x H x W in [-1, 1], ``training.task.to_unit``)::

    ident = IdentityFeatureLoss(size=128).to(device)   # once; loads the cached weights
    loss = pixel + weight * ident(restored, clean)     # restored: with gradients

The faces must be whole aligned faces (not random crops): the chip is cut by the
template's geometry. ``terms`` gives each part alone, for logs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.faces.align import invert_similarity
from engine.identity import template_chip_matrix

from .dlib_resnet import CHIP_SIZE, FEATURES, DlibFaceResNet, load_dlib_resnet

DEFAULT_LAYERS = ("level4", "level3", "level2")
DISTANCES = ("l1", "l2")


def chip_theta(size: int, template: str = "utkface") -> torch.Tensor:
    """1 x 2 x 3 ``affine_grid`` matrix: the 150 px chip -> a ``size`` px aligned face.

    Both in normalised coordinates with ``align_corners=False`` (pixel ``j`` of an
    ``n`` px side is at (2 j + 1) / n - 1).
    """
    to_face = invert_similarity(template_chip_matrix((size, size), None, template))
    linear, shift = to_face[:, :2], to_face[:, 2]  # chip px -> face px
    # chip pixel j at normalised u: j = (CHIP_SIZE u + CHIP_SIZE - 1) / 2
    half = (CHIP_SIZE - 1) / 2
    theta = np.empty((2, 3))
    theta[:, :2] = linear * CHIP_SIZE / size
    theta[:, 2] = (linear @ np.array([half, half]) + shift) * 2 / size + 1 / size - 1
    return torch.tensor(theta, dtype=torch.float32).unsqueeze(0)


class IdentityFeatureLoss(nn.Module):
    """Distance of dlib ResNet features between restored and clean aligned faces.

    ``layers``: feature maps compared (see ``training.dlib_resnet.FEATURES``), each an
    L1 (or L2) mean, weighted by ``layer_weights`` (default 1 each) and summed.
    ``descriptor_weight``: adds that weight x (1 - cosine) of the 128-d descriptors
    (0: the network runs only as deep as the deepest layer asked for).
    ``size`` / ``template``: the faces' alignment (Revive's restorer: 128, utkface).
    """

    def __init__(
        self,
        layers: Sequence[str] = DEFAULT_LAYERS,
        *,
        layer_weights: Mapping[str, float] | None = None,
        descriptor_weight: float = 0.0,
        distance: str = "l1",
        size: int = 128,
        template: str = "utkface",
        net: DlibFaceResNet | None = None,
    ) -> None:
        super().__init__()
        layers = tuple(layers)
        if unknown := (set(layers) - set(FEATURES)) | ({"descriptor"} & set(layers)):
            raise ValueError(
                f"unknown feature layers {sorted(unknown)}; use some of {FEATURES[:-1]}"
                " (the descriptor is compared by descriptor_weight)"
            )
        if distance not in DISTANCES:
            raise ValueError(f"unknown distance {distance!r}; use one of {', '.join(DISTANCES)}")
        if descriptor_weight < 0 or not (layers or descriptor_weight):
            raise ValueError("give feature layers, a positive descriptor_weight, or both")
        self.layers = layers
        self.layer_weights = {name: float((layer_weights or {}).get(name, 1.0)) for name in layers}
        self.descriptor_weight = float(descriptor_weight)
        self.distance = distance
        self.size = size
        self.net = net if net is not None else load_dlib_resnet()
        self.net.eval().requires_grad_(False)
        self.theta: torch.Tensor
        self.register_buffer("theta", chip_theta(size, template), persistent=False)

    def train(self, mode: bool = True) -> IdentityFeatureLoss:
        """The network stays in eval mode (and frozen) whatever the trainer sets."""
        super().train(mode)
        self.net.eval()
        return self

    def chips(self, faces: torch.Tensor) -> torch.Tensor:
        """N x 3 x 150 x 150 dlib chips (0..255) of N x 3 x size x size faces in [-1, 1]."""
        n, c, h, w = faces.shape
        if c != 3 or h != self.size or w != self.size:
            raise ValueError(
                f"expected N x 3 x {self.size} x {self.size} aligned faces,"
                f" got {tuple(faces.shape)}"
            )
        theta = self.theta.to(faces.dtype).expand(n, 2, 3)
        grid = F.affine_grid(theta, [n, 3, CHIP_SIZE, CHIP_SIZE], align_corners=False)
        pixels = (faces + 1.0) * 127.5
        return F.grid_sample(
            pixels, grid, mode="bilinear", padding_mode="reflection", align_corners=False
        )

    def _features(self, faces: torch.Tensor) -> dict[str, torch.Tensor]:
        names = self.layers + (("descriptor",) if self.descriptor_weight else ())
        return self.net.features(self.chips(faces), names)

    def terms(self, restored: torch.Tensor, clean: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each weighted part of the loss by name (a layer's, and ``descriptor``)."""
        with torch.no_grad():
            target = self._features(clean.detach())
        out = self._features(restored)
        dist = F.l1_loss if self.distance == "l1" else F.mse_loss
        parts = {
            name: self.layer_weights[name] * dist(out[name], target[name]) for name in self.layers
        }
        if self.descriptor_weight:
            cos = F.cosine_similarity(out["descriptor"], target["descriptor"], dim=1)
            parts["descriptor"] = self.descriptor_weight * (1.0 - cos).mean()
        return parts

    def forward(self, restored: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        """The loss (a scalar): the sum of :meth:`terms`."""
        return torch.stack(list(self.terms(restored, clean).values())).sum()
