"""The detailed-faces subset keeps faces that hold detail at their size, and only those."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from training.pack import PackError, read_index, read_pack, write_pack
from training.pack_detail import DetailLimits, detail_subset_pack, face_detail


def _drawn_face(side: int, seed: int = 0) -> np.ndarray:
    """A face-like drawing with hair strands and lashes one pixel wide at ``side``."""
    rng = np.random.default_rng(seed)
    face = np.full((side, side, 3), (172, 132, 110), np.uint8)
    s = side / 128
    cv2.ellipse(face, (side // 2, side // 2), (int(44 * s), int(56 * s)), 0, 0, 360,
                (205, 160, 135), -1, cv2.LINE_AA)  # fmt: skip
    for _ in range(160):  # hair strands
        x0 = rng.uniform(10, 118) * s
        pts = np.array([[x0, 4 * s], [x0 + rng.uniform(-12, 12) * s, 30 * s]], np.int32)
        cv2.polylines(face, [pts], False, (40, 28, 20), 1, cv2.LINE_AA)
    for cx in (44, 84):  # eyes with lashes
        cv2.circle(face, (int(cx * s), int(56 * s)), int(6 * s), (50, 40, 35), -1, cv2.LINE_AA)
        for k in range(9):
            a = np.pi * (0.1 + 0.8 * k / 8)
            p0 = (int((cx + 7 * np.cos(a)) * s), int((56 - 7 * np.sin(a)) * s))
            p1 = (int((cx + 11 * np.cos(a)) * s), int((56 - 11 * np.sin(a)) * s))
            cv2.line(face, p0, p1, (30, 22, 18), 1, cv2.LINE_AA)
    cv2.ellipse(face, (side // 2, int(92 * s)), (int(14 * s), int(4 * s)), 0, 0, 180,
                (140, 60, 60), 1, cv2.LINE_AA)  # fmt: skip
    return face


def _faces() -> dict[str, np.ndarray]:
    sharp = _drawn_face(128)
    enlarged = cv2.resize(_drawn_face(64), (128, 128), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(1).normal(0, 12, sharp.shape)
    noisy = np.clip(sharp + noise, 0, 255).astype(np.uint8)
    return {"sharp.jpg": sharp, "enlarged.jpg": enlarged, "noisy.jpg": noisy}


def test_round_trip_tells_a_face_drawn_at_its_size_from_an_enlarged_one() -> None:
    faces = _faces()
    sharp, enlarged = face_detail(faces["sharp.jpg"]), face_detail(faces["enlarged.jpg"])
    assert sharp.round_trip_db + 5 < enlarged.round_trip_db
    assert face_detail(faces["noisy.jpg"]).noise > 3 * sharp.noise


def test_detail_subset_keeps_the_sharp_face_only(tmp_path: Path) -> None:
    faces = _faces()
    write_pack(tmp_path / "all", faces.items(), size=128, template="utkface", encoding="png")
    detail_subset_pack(tmp_path / "all", tmp_path / "detail")
    kept = read_pack(tmp_path / "detail")
    assert kept.names == ["sharp.jpg"]
    assert np.array_equal(kept.images[0], faces["sharp.jpg"])  # copied as encoded
    index = read_index(tmp_path / "detail")
    assert index["detail_of"]["count"] == 3
    assert index["detail_of"]["max_round_trip_db"] == DetailLimits().max_round_trip_db


def test_detail_subset_says_when_no_face_passes(tmp_path: Path) -> None:
    faces = _faces()
    write_pack(tmp_path / "all", faces.items(), size=128, template="utkface", encoding="png")
    with pytest.raises(PackError, match="passes the detail limits"):
        detail_subset_pack(tmp_path / "all", tmp_path / "none", DetailLimits(max_round_trip_db=5))
    with pytest.raises(PackError, match="another folder"):
        detail_subset_pack(tmp_path / "all", tmp_path / "all")
