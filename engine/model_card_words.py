"""A model card in plain words, and an honest name for a built-in restorer.

A weight set's card (``card`` in its manifest) records what training measured: the
validation figures of the restorer and of its degraded input (``bicubic_baseline``),
the data it learnt from and that data's licence. People choosing a model need three
things from it: what it restores, how much better than its input it is, and what it
was trained on under which licence. The built-in restorer's name follows the same
figures (``built_in_label``), so a stronger shipped model gets stronger words.

Cards never carry a path of the machine that wrote them: ``without_paths`` keeps only
the last part of anything that looks like an absolute path (``save_weights`` applies it
to every card it writes, and the app applies it again to what it shows).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

# PSNR-Y gain over the degraded input (dB) -> words; the first row the gain reaches wins.
STRENGTH_WORDS = (
    (3.0, "Strong restoration"),
    (1.5, "Clean-up and sharpening"),
    (0.5, "Light clean-up"),
    (float("-inf"), "Very light clean-up"),
)
_ABSOLUTE = re.compile(r"^(/|~[/\\]|[A-Za-z]:[\\/]|\\\\)")


def is_absolute_path(text: str) -> bool:
    """Whether ``text`` looks like an absolute path of some machine (POSIX, ~, Windows)."""
    return bool(_ABSOLUTE.match(text.strip()))


def without_paths(value: Any) -> Any:
    """``value`` (a card or part of one) with every absolute path cut to its last part."""
    if isinstance(value, Mapping):
        return {k: without_paths(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_paths(v) for v in value]
    if isinstance(value, str) and is_absolute_path(value):
        text = value.strip().rstrip("/\\")
        pure = PureWindowsPath(text) if "\\" in text else PurePosixPath(text)
        return pure.name or "(a folder)"
    return value


def quality_gain(card: Mapping[str, Any]) -> float | None:
    """PSNR-Y of the restorer minus that of its input on the same validation faces (dB)."""
    measured, baseline = card.get("validation"), card.get("bicubic_baseline")
    if not isinstance(measured, Mapping) or not isinstance(baseline, Mapping):
        return None
    try:
        return float(measured["psnr_y"]) - float(baseline["psnr_y"])
    except (KeyError, TypeError, ValueError):
        return None


def strength_words(gain_db: float | None) -> str:
    """What a restorer does, in words that follow its measured gain over its input."""
    if gain_db is None:
        return "Face restorer"
    return next(words for floor, words in STRENGTH_WORDS if gain_db >= floor)


def built_in_label(card: Mapping[str, Any], face_size: int) -> str:
    """A shipped restorer's name for people: ``Light clean-up, built in (128 px faces)``."""
    return f"{strength_words(quality_gain(card))}, built in ({face_size} px faces)"


def dataset_name(data: Mapping[str, Any]) -> str:
    """The training data by name: its ``name``, else the licence's first words, else the
    last part of its folder (``UTKFace``)."""
    if name := str(data.get("name") or "").strip():
        return name
    licence = str(data.get("licence") or "")
    if licence and not licence.startswith("unknown"):
        return re.split(r"[(:]", licence, maxsplit=1)[0].strip()
    source = str(without_paths(str(data.get("source") or "")))
    return source or "not recorded"


def damage_words(card: Mapping[str, Any]) -> str | None:
    """The damage a restorer learnt to repair, from its recorded degradation ranges."""
    eq14 = card.get("eq14")
    if not isinstance(eq14, Mapping):
        return None
    parts = []
    if eq14.get("p_blur", 1) > 0:
        parts.append("blurred")
    if scale := eq14.get("scale"):
        low, high = (float(v) for v in scale)
        parts.append(f"shrunk to {_fraction(low)} to {_fraction(high)} of their size")
    if eq14.get("p_noise", 1) > 0 and (noise := eq14.get("noise_sigma")):
        parts.append(f"noisy (up to {float(noise[1]):g} grey levels)")
    if eq14.get("p_jpeg", 1) > 0 and (jpeg := eq14.get("jpeg_quality")):
        parts.append(f"JPEG-compressed (quality {jpeg[0]} to {jpeg[1]})")
    if not parts:
        return None
    listed = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return f"Faces that are {listed}, as in old prints and small scans"


def _fraction(value: float) -> str:
    return f"1/{round(1 / value)}" if 0 < value < 1 else f"{value:g}"


def card_summary(card: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The card's plain-word rows: what it restores, how well, trained on, licence."""
    rows: list[tuple[str, str]] = []
    if what := damage_words(card) or card.get("task"):
        rows.append(("What it restores", str(what)))
    gain = quality_gain(card)
    measured, baseline = card.get("validation") or {}, card.get("bicubic_baseline") or {}
    if gain is not None:
        data = card.get("data") or {}
        on = str(data.get("validation") or "held-out faces").removeprefix("validation: ")
        how = (
            f"Closer to the undamaged face than its input: PSNR {measured['psnr_y']:.2f} vs "
            f"{baseline['psnr_y']:.2f} dB ({gain:+.2f} dB)"
        )
        if "ssim_y" in measured and "ssim_y" in baseline:
            how += f", SSIM {measured['ssim_y']:.3f} vs {baseline['ssim_y']:.3f}"
        rows.append(("How well", f"{how}, on {on} it never saw"))
    data = card.get("data")
    if isinstance(data, Mapping):
        faces = f", {data['faces']:,} faces" if isinstance(data.get("faces"), int) else ""
        rows.append(("Trained on", f"{dataset_name(data)}{faces}"))
        if licence := data.get("licence"):
            rows.append(("Licence of that data", str(licence)))
    elif isinstance(data, str) and data:
        rows.append(("Trained on", str(without_paths(data))))
    return rows


def shipped_cards() -> dict[str, Mapping[str, Any]]:
    """The cards of the shipped weight sets by preset, read from their manifests (no torch)."""
    from .paths import shipped_weights_dir

    return _cards_in(str(shipped_weights_dir()))


@functools.lru_cache(maxsize=4)
def _cards_in(folder_name: str) -> dict[str, Mapping[str, Any]]:
    import json

    folder = Path(folder_name)
    cards: dict[str, Mapping[str, Any]] = {}
    try:
        registry = json.loads((folder / "registry.json").read_text(encoding="utf-8"))
        names = [str(n) for n in registry.get("weights", [])]
    except (OSError, ValueError, AttributeError):
        return cards
    for name in names:
        try:
            manifest = json.loads((folder / f"{name}.weights.json").read_text(encoding="utf-8"))
            cards.setdefault(str(manifest["preset"]), dict(manifest.get("card") or {}))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return cards


def shipped_default_card(role: str) -> Mapping[str, Any] | None:
    """The card of the shipped default for ``role`` (``registry.json``), read as JSON."""
    import json

    from .paths import shipped_weights_dir

    folder = shipped_weights_dir()
    try:
        registry = json.loads((folder / "registry.json").read_text(encoding="utf-8"))
        name = str(registry["defaults"][role])
        manifest = json.loads((folder / f"{name}.weights.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    card = manifest.get("card")
    return card if isinstance(card, Mapping) else None


def shipped_label(preset: str) -> str | None:
    """The honest name of a built-in restorer (a shipped set with measured figures), else None."""
    card = shipped_cards().get(preset)
    if card is None or quality_gain(card) is None:
        return None
    data = card.get("data") or {}
    size = data.get("size") if isinstance(data, Mapping) else None
    return built_in_label(card, int(size)) if isinstance(size, int) else None
