"""Draw Revive's icon (our own mark) and write it as PNG, Windows .ico and macOS .icns.

The mark: a portrait's head and shoulders in a rounded square, its left half in
faded sepia (the old photo) and its right half in clear colour (the restored one),
with a small spark where they meet. Drawn at 1024 px and reduced, so every size is
smooth. Run ``python resources/icons/make_icons.py`` after changing it; the outputs
are committed (the build does not need Pillow's drawing at packaging time).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent
SIDE = 1024
ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]


def _portrait(draw: ImageDraw.ImageDraw, skin: tuple, cloth: tuple) -> None:
    s = SIDE
    draw.ellipse((0.18 * s, 0.62 * s, 0.82 * s, 1.20 * s), fill=cloth)  # shoulders
    draw.ellipse((0.34 * s, 0.24 * s, 0.66 * s, 0.60 * s), fill=skin)  # head


def draw_icon() -> Image.Image:
    s = SIDE
    mask = Image.new("L", (s, s), 0)
    ImageDraw.Draw(mask).rounded_rectangle((24, 24, s - 24, s - 24), radius=200, fill=255)

    old = Image.new("RGB", (s, s), (196, 170, 128))  # sepia paper
    _portrait(ImageDraw.Draw(old), (150, 120, 86), (110, 86, 60))
    old = old.filter(ImageFilter.GaussianBlur(18))  # soft, like a faded print

    new = Image.new("RGB", (s, s), (38, 110, 160))  # clear blue sky
    _portrait(ImageDraw.Draw(new), (240, 196, 160), (44, 52, 70))

    split = Image.new("L", (s, s), 0)
    ImageDraw.Draw(split).polygon([(0.5 * s, 0), (s, 0), (s, s), (0.5 * s, s)], fill=255)
    art = Image.composite(new, old, split)

    draw = ImageDraw.Draw(art)
    draw.line((0.5 * s, 0, 0.5 * s, s), fill=(255, 255, 255), width=14)
    cx, cy, r, w = 0.5 * s, 0.13 * s, 0.09 * s, 0.024 * s  # the spark
    draw.polygon(
        [
            (cx, cy - r),
            (cx + w, cy - w),
            (cx + r, cy),
            (cx + w, cy + w),
            (cx, cy + r),
            (cx - w, cy + w),
            (cx - r, cy),
            (cx - w, cy - w),
        ],
        fill=(255, 236, 140),
    )
    icon = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    icon.paste(art, (0, 0), mask)
    return icon


def main() -> None:
    icon = draw_icon()
    icon.resize((512, 512), Image.LANCZOS).save(HERE / "revive.png", optimize=True)
    icon.resize((256, 256), Image.LANCZOS).save(HERE / "revive-256.png", optimize=True)
    icon.resize((256, 256), Image.LANCZOS).save(HERE / "revive.ico", sizes=ICO_SIZES)
    icon.save(HERE / "revive.icns")
    for name in ("revive.png", "revive-256.png", "revive.ico", "revive.icns"):
        print(f"{name}: {(HERE / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
