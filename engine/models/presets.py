"""Preset descriptors: what every network is, in plain data, without importing torch.

A preset fixes an architecture and its arguments; a weights file names its preset, so
loading never guesses. The GUI reads names, labels and kinds from here before the
engine's networks are loaded; ``build`` imports the network's module only when called.
A new preset is one row of ``_PRESETS``; a new architecture is its network file plus
one row. Listed in code (no file-system scan), so a PyInstaller bundle stays complete.
"""

from __future__ import annotations

import enum
import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ModelNotFoundError

if TYPE_CHECKING:
    from torch import nn

    from ..faces.crops import CropPlan


class ModelKind(enum.Enum):
    """What a network does, which decides how the pipeline feeds it and who trains it.

    The value is the model's role in ``resources/weights/registry.json`` defaults.
    """

    RESTORER = "restorer"  # an aligned face in, the same face restored at the same size
    TINY_FACE = "tiny"  # an aligned tiny face, bicubic-up-sampled, restored x8 (SPARNet)
    REGION = "cagface"  # a face region at the photo's resolution, enlarged x4 in tiles
    COMPONENTS = "components"  # background / skin / hair / other-parts segmentation
    DISCRIMINATOR = "discriminator"  # trains SPARNetHD; never restores anything

    @property
    def restores_faces(self) -> bool:
        return self in (ModelKind.RESTORER, ModelKind.TINY_FACE, ModelKind.REGION)

    @property
    def label(self) -> str:
        """The kind in the CLI's words (``revive models presets``)."""
        return _KIND_LABELS[self][0]

    @property
    def purpose(self) -> str:
        """What a network of this kind does, in a photographer's words (the app)."""
        return _KIND_LABELS[self][1]


_KIND_LABELS = {
    ModelKind.RESTORER: ("face restorer", "restores faces"),
    ModelKind.TINY_FACE: ("tiny-face x8", "enlarges tiny faces ×8"),
    ModelKind.REGION: ("face-region x4", "enlarges face regions ×4"),
    ModelKind.COMPONENTS: ("face components", "finds hair, skin and features"),
    ModelKind.DISCRIMINATOR: ("discriminator", "used in training only"),
}


class CallStyle(enum.Enum):
    """How a network is called: what goes in, what comes out."""

    IMAGE = "image"  # net(x) -> restored image; net(x, return_attention=True) -> (y, maps)
    COMPONENT_BLOCK = "component_block"  # net(image + 3 component maps) -> x4 image
    SEGMENTS = "segments"  # net(image) -> per-pixel class logits
    CRITIC = "critic"  # net(image) -> per scale, a list of features (training only)


@dataclass(frozen=True)
class Capabilities:
    """What a network can do beyond restoring, so callers never compare architectures."""

    call: CallStyle = CallStyle.IMAGE
    returns_attention: bool = False  # forward(x, return_attention=True) gives its maps
    half: bool = True  # may run under fp16 / bf16 autocast on a GPU
    in_channels: int = 3


SPARNET = "engine.models.sparnet:SPARNet"
CAGFACE = "engine.models.cagface:CAGFace"
COMPONENT_NET = "engine.models.parsing:ComponentNet"
DISCRIMINATOR = "engine.models.discriminator:MultiScaleDiscriminator"

_CAPABILITIES = {
    SPARNET: Capabilities(CallStyle.IMAGE, returns_attention=True),
    CAGFACE: Capabilities(CallStyle.COMPONENT_BLOCK, in_channels=6),
    COMPONENT_NET: Capabilities(CallStyle.SEGMENTS),
    DISCRIMINATOR: Capabilities(CallStyle.CRITIC),
}


@dataclass(frozen=True)
class Preset:
    """Everything the engine, the trainers and the app need to know about a preset."""

    name: str
    kind: ModelKind
    builder: str  # "module:Class", imported by ``build`` only
    kwargs: dict[str, Any]
    size: int  # native output face size in pixels (aligned crop side); 0 = any size
    scale: int  # resolution factor from the low-quality face to the output
    template: str | None  # alignment template of engine.faces.align, or None
    label: str  # the app's name for it, in a photographer's words
    description: str  # one or two sentences for people: what it is, what it is for
    trainer: str | None = None  # the training.tasks trainer that trains it
    official_file: str | None = None  # Face-SPARNet release file this preset loads
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def capabilities(self) -> Capabilities:
        return _CAPABILITIES[self.builder]

    def same_network(self, other: Preset) -> bool:
        """Whether ``other`` builds the very same network (its weights fit this one)."""
        return self.builder == other.builder and self.kwargs == other.kwargs

    def network_class(self) -> type[nn.Module]:
        """The network's class (imports its module, and so torch)."""
        module, _, attr = self.builder.partition(":")
        cls: type[nn.Module] = getattr(importlib.import_module(module), attr)
        return cls

    def build(self, **overrides: Any) -> nn.Module:
        """A fresh network of this preset (random weights, eval mode)."""
        return self.network_class()(**{**self.kwargs, **overrides}).eval()

    @property
    def crop(self) -> CropPlan | None:
        """How the pipeline cuts a face for this network (None: it restores no face)."""
        from ..faces.crops import AlignedCrop, LowResAlignedCrop, RegionCrop

        if self.kind is ModelKind.RESTORER and self.template:
            return AlignedCrop(self.template, self.size, max_side=self.max_work_side)
        if self.kind is ModelKind.TINY_FACE and self.template:
            return LowResAlignedCrop(self.template, self.size, self.scale)
        if self.kind is ModelKind.REGION:
            return RegionCrop(self.scale, multiple=self.input_multiple)
        return None

    @property
    def max_work_side(self) -> int:
        """The largest side it restores a face at: Revive's blind restorers are fully
        convolutional and trained on crops, so a face large in the result goes through
        at up to ``WORK_MAX_SIDE``; the others work at their own size only."""
        from ..faces.crops import WORK_MAX_SIDE

        return WORK_MAX_SIDE if "blind" in self.tags else self.size

    @property
    def needs_components(self) -> bool:
        """Whether it cannot run without the face-component network (CAGFace's input)."""
        return self.kind is ModelKind.REGION

    @property
    def input_multiple(self) -> int:
        """Input sides must divide by this (CAGFace's tiles; aligned crops are fixed)."""
        return 2 if self.kind is ModelKind.REGION else 1

    @property
    def is_test_only(self) -> bool:
        return "test" in self.tags


def _sparnet(**kw: Any) -> dict[str, Any]:
    base = {
        "min_channels": 32,
        "max_channels": 128,
        "in_size": 128,
        "out_size": 128,
        "min_feat_size": 16,
        "res_blocks": 10,
        "norm_type": "bn",
        "attention": "spar",
        "bottleneck_size": 4,
        "act_type": "leakyrelu",
    }
    base.update(kw)
    return base


# The small residual SPARNet: Revive's default blind restorer, and the tiny-face model
# that continues its weights (the same network, so either starts the other).
_SMALL_RESIDUAL = _sparnet(
    min_channels=16, max_channels=48, res_blocks=3, attention_channels=16, residual=True
)


def _sparnethd(**kw: Any) -> dict[str, Any]:
    return _sparnet(
        max_channels=512,
        in_size=512,
        out_size=512,
        min_feat_size=32,
        res_blocks=9,
        norm_type="in",
        **kw,
    )


_PRESETS: tuple[Preset, ...] = (
    Preset(
        "sparnethd_attn2d",
        ModelKind.RESTORER,
        SPARNET,
        _sparnethd(attention="spar"),
        512,
        1,
        "ffhq512",
        label="SPARNetHD, 2D attention (512 px faces)",
        description="SPARNetHD, 2D attention, 512 px (Face-SPARNet release; FFHQ-aligned faces)",
        official_file="SPARNetHD_V4_Attn2D_net_H-epoch10.pth",
        tags=("official",),
        trainer="sparnethd",
    ),
    Preset(
        "sparnethd_attn3d",
        ModelKind.RESTORER,
        SPARNET,
        _sparnethd(attention="spar3d"),
        512,
        1,
        "ffhq512",
        label="SPARNetHD, 3D attention (512 px faces)",
        description="SPARNetHD, 3D attention, 512 px (Face-SPARNet release; FFHQ-aligned faces)",
        official_file="SPARNetHD_V4_Attn3D_net_H-epoch10.pth",
        tags=("official",),
        trainer="sparnethd",
    ),
    Preset(
        "sparnet_x8_attn2d",
        ModelKind.TINY_FACE,
        SPARNET,
        _sparnet(),
        128,
        8,
        "utkface",
        label="SPARNet ×8 for tiny faces",
        description="SPARNet x8: 16 px face (bicubic-up-sampled) to 128 px, 2D attention",
        official_file="SPARNet-V16-S4-epoch20.pth",
        tags=("official",),
        trainer="sparnet_x8",
    ),
    Preset(
        "sparnet_light_attn3d",
        ModelKind.TINY_FACE,
        SPARNET,
        _sparnet(res_blocks=1, attention="spar3d"),
        128,
        8,
        "utkface",
        label="SPARNet ×8 light for tiny faces",
        description="SPARNet light x8, 3D attention, one body FAU",
        official_file="SPARNetLight_Attn3D-epoch20.pth",
        tags=("official",),
        trainer="sparnet_x8",
    ),
    Preset(
        "sparnethd_lite256",
        ModelKind.RESTORER,
        SPARNET,
        _sparnet(
            max_channels=256,
            in_size=256,
            out_size=256,
            min_feat_size=16,
            res_blocks=6,
            norm_type="in",
        ),
        256,
        1,
        "utkface",
        label="SPARNetHD lite (256 px faces)",
        description="Revive's SPARNetHD for 256 px faces: InstanceNorm, 2D attention, 6 body FAUs",
        tags=("revive",),
        trainer="sparnethd",
    ),
    Preset(
        "sparnet_x8_lite",
        ModelKind.TINY_FACE,
        SPARNET,
        _sparnet(max_channels=64, res_blocks=4, attention_channels=32),
        128,
        8,
        "utkface",
        label="SPARNet ×8 lite for tiny faces",
        description="Revive's light SPARNet x8: 64 channels, 32-channel hourglasses, 4 body FAUs",
        tags=("revive",),
        trainer="sparnet_x8",
    ),
    Preset(
        "sparnet_x8_s",
        ModelKind.TINY_FACE,
        SPARNET,
        _SMALL_RESIDUAL,
        128,
        8,
        "utkface",
        label="SPARNet ×8 small for tiny faces",
        description=(
            "Revive's small SPARNet x8: the small blind restorer's network (16 to 48 channels,"
            " 3 body FAUs, residual) trained on bicubic x8 faces"
        ),
        tags=("revive",),
        trainer="sparnet_x8",
    ),
    # Blind restorers for aligned 128 px faces, sized to train on a CPU: the input is the
    # face after Eq. 14 (blur, down-sampling by 2 to 8, noise, JPEG) brought back to
    # 128 px; the output is the input plus the network's correction (``residual``).
    # Three widths were compared per CPU-hour (docs/training.md).
    Preset(
        "sparnet_blind128_s",
        ModelKind.RESTORER,
        SPARNET,
        _SMALL_RESIDUAL,
        128,
        1,
        "utkface",
        label="Revive's blind restorer, small (128 px faces)",
        description=(
            "Revive's small blind restorer for 128 px faces: 16 to 48 channels, 3 body FAUs"
        ),
        tags=("revive", "blind"),
        trainer="restorer",
    ),
    Preset(
        "sparnet_blind128_m",
        ModelKind.RESTORER,
        SPARNET,
        _sparnet(max_channels=64, res_blocks=4, attention_channels=32, residual=True),
        128,
        1,
        "utkface",
        label="Revive's blind restorer (128 px faces)",
        description="Revive's blind restorer for 128 px faces: 32 to 64 channels, 4 body FAUs",
        tags=("revive", "blind"),
        trainer="restorer",
    ),
    Preset(
        "sparnet_blind128_l",
        ModelKind.RESTORER,
        SPARNET,
        _sparnet(max_channels=128, res_blocks=6, attention_channels=48, residual=True),
        128,
        1,
        "utkface",
        label="Revive's blind restorer, large (128 px faces)",
        description=(
            "Revive's large blind restorer for 128 px faces: 32 to 128 channels, 6 body FAUs"
        ),
        tags=("revive", "blind"),
        trainer="restorer",
    ),
    Preset(
        "cagface_x4",
        ModelKind.REGION,
        CAGFACE,
        {"features": 256, "blocks": 16},
        0,
        4,
        None,
        label="CAGFace ×4 (any face size)",
        description="CAGFace x4 as in its paper: two stages, F=256, L=16 residual units each",
        trainer="cagface",
    ),
    Preset(
        "cagface_x4_lite",
        ModelKind.REGION,
        CAGFACE,
        {"features": 64, "blocks": 8},
        0,
        4,
        None,
        label="CAGFace ×4 lite (any face size)",
        description="Revive's CAGFace x4: two stages, F=64, L=8 residual units each",
        tags=("revive",),
        trainer="cagface",
    ),
    Preset(
        "components_bisenet",
        ModelKind.COMPONENTS,
        COMPONENT_NET,
        {},
        0,
        1,
        None,
        label="Face parts finder (hair, skin, features)",
        description=(
            "Face component segmentation (background / skin / hair / other parts), BiSeNet-style"
        ),
        tags=("revive",),
        trainer="components",
    ),
    # Tiny presets: the same architectures a few dozen channels wide, so that the whole
    # pipeline (detect, align, restore, paste) runs end to end in tests and smoke runs in
    # seconds on a CPU. Their weights are never shipped; they restore nothing useful.
    Preset(
        "sparnethd_tiny",
        ModelKind.RESTORER,
        SPARNET,
        _sparnet(
            min_channels=8,
            max_channels=32,
            in_size=64,
            out_size=64,
            res_blocks=1,
            norm_type="in",
            attention_channels=8,
        ),
        64,
        1,
        "ffhq512",
        label="Test network (untrained, tiny)",
        description="Test-only SPARNetHD: 64 px, 8 to 32 channels, one body FAU (pipeline tests)",
        tags=("test",),
        trainer="sparnethd",
    ),
    Preset(
        "sparnet_x8_tiny",
        ModelKind.TINY_FACE,
        SPARNET,
        _sparnet(
            min_channels=8,
            max_channels=16,
            in_size=64,
            out_size=64,
            res_blocks=1,
            attention_channels=8,
        ),
        64,
        8,
        "utkface",
        label="Test network ×8 (untrained, tiny)",
        description=(
            "Test-only SPARNet x8: 8 px face to 64 px, BatchNorm, one body FAU (pipeline tests)"
        ),
        tags=("test",),
        trainer="sparnet_x8",
    ),
    Preset(
        "cagface_tiny",
        ModelKind.REGION,
        CAGFACE,
        {"features": 8, "blocks": 1},
        0,
        4,
        None,
        label="Test CAGFace (untrained, tiny)",
        description="Test-only CAGFace x4: F=8, L=1 (pipeline tests)",
        tags=("test",),
        trainer="cagface",
    ),
    Preset(
        "components_tiny",
        ModelKind.COMPONENTS,
        COMPONENT_NET,
        {"width": 8},
        0,
        1,
        None,
        label="Test face parts finder (untrained, tiny)",
        description="Test-only component segmentation, 8 channels wide (pipeline tests)",
        tags=("test",),
        trainer="components",
    ),
    Preset(
        "sparnethd_discriminator",
        ModelKind.DISCRIMINATOR,
        DISCRIMINATOR,
        {"scales": 3, "base_channels": 64, "layers": 3},
        0,
        1,
        None,
        label="SPARNetHD's training critic",
        description="Multi-scale patch discriminator with spectral norm (SPARNetHD training)",
    ),
)

PRESETS: dict[str, Preset] = {p.name: p for p in _PRESETS}


def get_preset(name: str) -> Preset:
    """Look a preset up by name, with a message that lists the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise ModelNotFoundError(f"unknown model {name!r}; known models: {known}") from None


def list_presets(kind: ModelKind | None = None) -> list[Preset]:
    """Presets in registration order, optionally of one kind."""
    return [p for p in _PRESETS if kind is None or p.kind is kind]


def preset_label(name: str) -> str:
    """A preset's name for people (the name itself when no preset has it); a built-in
    restorer is named for what its card measured it to do (``shipped_label``)."""
    from ..model_card_words import shipped_label

    if shipped := shipped_label(name):
        return shipped
    preset = PRESETS.get(name)
    return preset.label if preset is not None else name


def weights_label(name: str, preset: str) -> str:
    """An installed weight set: its model's label, and its own name when that differs."""
    model = preset_label(preset)
    if name in (preset, "") or name == model:
        return model
    return f"{model} — {name}"


def restoring_presets() -> frozenset[str]:
    """The presets whose networks restore faces (``ModelKind.restores_faces``)."""
    return frozenset(p.name for p in _PRESETS if p.kind.restores_faces)
