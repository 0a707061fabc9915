"""What the app calls each model: a photographer's words, not preset names.

The engine names architectures ``sparnethd_lite256`` or ``sparnet_blind128_m``; the
app shows "SPARNetHD lite (256 px faces)". No torch here (the GUI thread uses it
before the engine is loaded). A name not listed shows as it is.
"""

from __future__ import annotations

FRIENDLY = {
    "sparnethd_attn2d": "SPARNetHD, 2D attention (512 px faces)",
    "sparnethd_attn3d": "SPARNetHD, 3D attention (512 px faces)",
    "sparnet_x8_attn2d": "SPARNet ×8 for tiny faces",
    "sparnet_light_attn3d": "SPARNet ×8 light for tiny faces",
    "sparnethd_lite256": "SPARNetHD lite (256 px faces)",
    "sparnet_x8_lite": "SPARNet ×8 lite for tiny faces",
    "sparnet_blind128_s": "Revive's blind restorer, small (128 px faces)",
    "sparnet_blind128_m": "Revive's blind restorer (128 px faces)",
    "sparnet_blind128_l": "Revive's blind restorer, large (128 px faces)",
    "cagface_x4": "CAGFace ×4 (any face size)",
    "cagface_x4_lite": "CAGFace ×4 lite (any face size)",
    "components_bisenet": "Face parts finder (hair, skin, features)",
    "sparnethd_tiny": "Test network (untrained, tiny)",
    "sparnet_x8_tiny": "Test network ×8 (untrained, tiny)",
    "cagface_tiny": "Test CAGFace (untrained, tiny)",
    "components_tiny": "Test face parts finder (untrained, tiny)",
    "sparnethd_discriminator": "SPARNetHD's training critic",
}

# What each trainer of Models ▸ Retrain trains, in words.
TRAINER_WORDS = {
    "restorer": "Face restorer (128 px faces; trains on a CPU in minutes to hours)",
    "sparnet_x8": "Tiny-face enlarger ×8 (16 px faces to 128 px)",
    "sparnethd": "SPARNetHD for large faces (needs a GPU; days on a CPU)",
    "cagface": "CAGFace ×4 (needs the face parts finder)",
    "components": "Face parts finder (hair, skin, features)",
}

KIND_WORDS = {
    "restorer": "restores faces",
    "tiny": "enlarges tiny faces ×8",
    "cagface": "enlarges face regions ×4",
    "components": "finds hair, skin and features",
    "discriminator": "used in training only",
}


def friendly_model(preset: str) -> str:
    """A preset's name for people (the preset name itself when unknown); a built-in
    restorer is named by the engine for what its card measured it to do."""
    from engine.model_card_words import shipped_label

    return shipped_label(preset) or FRIENDLY.get(preset, preset)


def friendly_weights(name: str, preset: str) -> str:
    """An installed weight set: its friendly model name, and its own name when it differs."""
    model = friendly_model(preset)
    if name in (preset, "") or name == model:
        return model
    return f"{model} — {name}"


def kind_words(kind_value: str) -> str:
    return KIND_WORDS.get(kind_value, kind_value)


# The presets whose networks restore faces (``ModelKind.restores_faces``), known without
# importing the engine's models (torch), so the window can tell at once, before the
# engine has loaded, whether a restoration model is installed. The engine's answer
# follows seconds later and wins; ``tests/gui`` checks the two agree.
RESTORING_PRESETS = frozenset(
    {
        "sparnethd_attn2d",
        "sparnethd_attn3d",
        "sparnet_x8_attn2d",
        "sparnet_light_attn3d",
        "sparnethd_lite256",
        "sparnet_x8_lite",
        "sparnet_blind128_s",
        "sparnet_blind128_m",
        "sparnet_blind128_l",
        "cagface_x4",
        "cagface_x4_lite",
        "sparnethd_tiny",
        "sparnet_x8_tiny",
        "cagface_tiny",
    }
)


def installed_presets_quickly() -> list[str]:
    """The presets of the installed weight sets, read from their manifests (no torch)."""
    import json

    from engine.paths import shipped_weights_dir, user_weights_dir

    manifests = []
    shipped = shipped_weights_dir()
    try:
        registry = json.loads((shipped / "registry.json").read_text(encoding="utf-8"))
        manifests += [shipped / f"{name}.weights.json" for name in registry.get("weights", [])]
    except (OSError, ValueError, AttributeError):
        pass
    user = user_weights_dir()
    if user.is_dir():
        manifests += sorted(user.glob("*.weights.json"))
    presets = []
    for manifest in manifests:
        try:
            presets.append(str(json.loads(manifest.read_text(encoding="utf-8"))["preset"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return presets


def restorer_installed_quickly() -> bool:
    return any(p in RESTORING_PRESETS for p in installed_presets_quickly())
