"""Pictures of what the network did, for files (the CLI's ``--save-attention``).

One grid per face: the face before and after, then every attention map (encoder,
body, decoder, in module order) as a heat map with its stage label, then CAGFace's
component masks. Plain numpy + Pillow, no plotting library.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .results import FaceRecord

CELL = 128
LABEL_H = 14

# A perceptually ordered dark-blue -> yellow ramp (anchor colours, linearly interpolated).
_RAMP = np.array(
    [[48, 18, 59], [70, 107, 227], [40, 188, 235], [50, 241, 152], [200, 239, 52], [250, 186, 57]],
    np.float32,
)


def heat_map(values: np.ndarray) -> np.ndarray:
    """H x W values in [0, 1] -> H x W x 3 uint8 colours."""
    v = np.clip(np.nan_to_num(values.astype(np.float32)), 0.0, 1.0) * (len(_RAMP) - 1)
    lo = np.floor(v).astype(int)
    hi = np.minimum(lo + 1, len(_RAMP) - 1)
    t = (v - lo)[..., None]
    return np.rint(_RAMP[lo] * (1 - t) + _RAMP[hi] * t).astype(np.uint8)


def _cell(image: np.ndarray, label: str) -> Image.Image:
    tile = Image.fromarray(image).resize((CELL, CELL), Image.Resampling.NEAREST)
    cell = Image.new("RGB", (CELL, CELL + LABEL_H), (20, 20, 20))
    cell.paste(tile, (0, LABEL_H))
    ImageDraw.Draw(cell).text((3, 1), label, fill=(235, 235, 235), font=ImageFont.load_default())
    return cell


def attention_grid(face: FaceRecord, columns: int = 6) -> np.ndarray:
    """The face's grid as an H x W x 3 uint8 image."""
    cells = [_cell(face.crop_before, "before"), _cell(face.crop_after, "after")]
    for amap in face.attention or []:
        cells.append(_cell(heat_map(amap.values), f"{amap.stage} {amap.index} {amap.resolution}px"))
    for name, mask in sorted((face.masks or {}).items()):
        cells.append(_cell(heat_map(mask), f"mask: {name}"))
    columns = max(1, min(columns, len(cells)))
    rows = -(-len(cells) // columns)
    grid = Image.new("RGB", (columns * CELL, rows * (CELL + LABEL_H)), (0, 0, 0))
    for i, cell in enumerate(cells):
        grid.paste(cell, ((i % columns) * CELL, (i // columns) * (CELL + LABEL_H)))
    return np.asarray(grid)
