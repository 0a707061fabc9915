"""Packs: compact shards of aligned faces, checked by sha256, decoded once into memory."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from engine.errors import ReviveError
from tests.conftest import shared_path
from tests.training_util import face_crops
from training.data import load_faces, train_val_split
from training.pack import (
    PackError,
    pack_entries,
    pack_folder,
    read_index,
    read_pack,
    sample_names,
    subset_pack,
    verify_pack,
    write_pack,
)


def test_roundtrip_keeps_names_order_and_quality(tmp_path):
    faces = face_crops(10, 64)
    write_pack(tmp_path / "p", [(f"f{i}.png", f) for i, f in enumerate(faces)], size=64,
               template="utkface", quality=88, shard_bytes=12_000)  # fmt: skip
    index = read_index(tmp_path / "p")
    assert index["count"] == 10 and len(index["shards"]) > 1  # small shards force a split
    assert all(s["bytes"] <= 12_000 for s in index["shards"])
    back = read_pack(tmp_path / "p")
    assert back.names == [f"f{i}.png" for i in range(10)] and back.images.shape == (10, 64, 64, 3)
    err = np.abs(back.images.astype(float) - np.stack(faces)).mean()
    assert err < 3.0  # WebP q88: close to the original
    lossless = write_pack(tmp_path / "png", [("a", faces[0])], size=64, template=None,
                          encoding="png")  # fmt: skip
    assert np.array_equal(read_pack(lossless.parent).images[0], faces[0])


def test_name_lists_and_limit(tmp_path):
    write_pack(tmp_path / "p", [(f"f{i}", f) for i, f in enumerate(face_crops(6, 32))],
               size=32, template="utkface")  # fmt: skip
    assert read_pack(tmp_path / "p", include={"f1", "f3"}).names == ["f1", "f3"]
    assert read_pack(tmp_path / "p", exclude={"f0"}, limit=2).names == ["f1", "f2"]
    with pytest.raises(PackError):
        read_pack(tmp_path / "p", include={"nope"})


def test_subset_is_a_seeded_random_sample_within_the_size_and_byte_identical(tmp_path):
    faces = face_crops(40, 48)
    write_pack(tmp_path / "p", [(f"{i:02d}", f) for i, f in enumerate(faces)], size=48,
               template="utkface", shard_bytes=20_000)  # fmt: skip
    source = read_index(tmp_path / "p")
    entries = dict(pack_entries(tmp_path / "p", source))
    budget = source["bytes"] // 3
    index = read_index(subset_pack(tmp_path / "p", tmp_path / "s", max_bytes=budget).parent)
    kept = dict(pack_entries(tmp_path / "s", index))
    assert (
        index["bytes"] <= budget and 5 < index["count"] < 40 and verify_pack(tmp_path / "s") == []
    )
    assert all(entries[name] == data for name, data in kept.items())  # copied, not re-encoded
    names = sorted(kept)
    assert names != sorted(entries)[: len(names)]  # not simply the first names
    again = subset_pack(tmp_path / "p", tmp_path / "s2", max_bytes=budget)
    assert sorted(pack_entries(tmp_path / "s2", read_index(again.parent))) == sorted(kept.items())
    assert read_index(subset_pack(tmp_path / "p", tmp_path / "s3", limit=7).parent)["count"] == 7
    with pytest.raises(PackError):
        subset_pack(tmp_path / "p", tmp_path / "p", limit=3)


def test_sample_names_is_spread_over_the_list():
    picked = sample_names(list(range(1000)), 100)
    assert len(picked) == 100 and picked == sorted(picked) and picked[-1] > 800
    assert sample_names([1, 2], 5) == [1, 2]


def test_damage_is_detected(tmp_path):
    write_pack(tmp_path / "p", [("a", face_crops(1, 32)[0])], size=32, template=None)
    shard = next((tmp_path / "p").glob("faces-*.bin"))
    data = bytearray(shard.read_bytes())
    data[10] ^= 0xFF
    shard.write_bytes(bytes(data))
    assert verify_pack(tmp_path / "p") and "sha256" in verify_pack(tmp_path / "p")[0]
    with pytest.raises(ReviveError, match="damaged"):
        read_pack(tmp_path / "p")


def test_pack_folder_aligns_every_photo_and_counts_fallbacks(tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    for i, face in enumerate(face_crops(5, 100)):
        Image.fromarray(face).save(src / f"p{i}.jpg")
    (tmp_path / "skip.txt").write_text("p4.jpg\n")
    calls = []

    def aligner(image):  # stands in for MTCNN: "no face" in every other photo
        calls.append(image.shape)
        return np.asarray(Image.fromarray(image).resize((48, 48))), len(calls) % 2 == 1

    index, stats = pack_folder(src, tmp_path / "pack", size=48, aligner=aligner,
                               exclude_list=tmp_path / "skip.txt", workers=1)  # fmt: skip
    data = json.loads(index.read_text())
    assert data["count"] == 4 and stats.detected == 2 and stats.fallback == 2
    assert data["alignment"]["fallback_identity"] == 2 and "licence" in data
    assert read_pack(tmp_path / "pack").names == ["p0.jpg", "p1.jpg", "p2.jpg", "p3.jpg"]


def test_validation_split_never_overlaps_training(tmp_path):
    write_pack(tmp_path / "p", [(f"f{i}", f) for i, f in enumerate(face_crops(8, 32))],
               size=32, template="utkface")  # fmt: skip
    (tmp_path / "val.txt").write_text("f2\nf5\n")
    split = train_val_split(tmp_path / "p", size=32, val_list=tmp_path / "val.txt")
    assert split.val.names == ["f2", "f5"] and not set(split.val.names) & set(split.train.names)
    held = train_val_split(tmp_path / "p", size=32, val_count=2)
    assert len(held.val) == 1 and len(held.train) == 7  # at most a tenth is held out
    bigger = load_faces(tmp_path / "p", size=64)
    assert bigger.images.shape[1:3] == (64, 64) and bigger.meta["resized_from"] == 32


@pytest.mark.shared
@pytest.mark.slow
def test_utkface_crops_align_with_mtcnn_close_to_identity(tmp_path):
    folder = shared_path("faces", "utkface")
    index, stats = pack_folder(folder, tmp_path / "pack", size=128, limit=6)
    faces = read_pack(tmp_path / "pack")
    assert len(faces) == 6 and stats.detected + stats.fallback == 6 and stats.detected >= 5
    # The "utkface" template comes from these crops: the warp is close to a plain resize.
    for name, face in zip(faces.names, faces.images, strict=True):
        plain = np.asarray(Image.open(folder / name).convert("RGB").resize((128, 128)))
        assert np.abs(face.astype(float) - plain).mean() < 40
    assert "UTKFace" in json.loads(index.read_text())["licence"]
