"""Packs: compact shards of aligned faces, to carry a training set to a GPU machine.

``revive data pack DIR --size N --out PACK`` detects each face once (MTCNN, from
``engine.faces.detect``), aligns it with ``engine.faces.align`` (the same template
and warp as inference), encodes it (WebP by default) and appends it to a shard file.
A pack is::

    PACK/index.json              format, size, template, encoding, source, licence,
                                 alignment counts, shards (file, sha256, bytes, names, lengths)
    PACK/faces-00000.bin ...     the encoded faces back to back (each shard <= 15 MiB)

Training from a pack never imports facenet-pytorch: the faces are already aligned.
``read_pack`` decodes every face once into one uint8 array (N x S x S x 3).

WebP quality 88 (the default) at 128 px keeps 40.1 dB PSNR (min 37.4 dB) against
the uncompressed aligned face at 2.5 KiB a face (150 UTKFace faces; quality 90:
40.9 dB, 2.8 KiB; JPEG needs about twice the bytes for the same PSNR), so the
22,707 UTKFace training faces fit in about 55 MiB.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from engine.atomic import write_text_atomic
from engine.errors import ReviveError
from engine.progress import CancelToken, ProgressCallback, Stage, check, report

FORMAT = "revive-pack/1"
INDEX = "index.json"
SHARD_BYTES = 15 * 1024 * 1024
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
ENCODINGS = ("webp", "png", "jpeg")

# Licences of the shared data sets, recognised by folder name, for the model cards.
KNOWN_LICENCES = {
    "utkface": "UTKFace (Zhang, Song, Qi, CVPR 2017): non-commercial research use only",
    "fasseg": "FASSEG (Khan, Mauro, Leonardi, ICIP 2015 / ICME 2017): research use",
    "ffhq": "FFHQ (Karras et al., NVIDIA): CC BY-NC-SA 4.0 (images under their own licences)",
}


class PackError(ReviveError):
    """A pack or a face folder is missing, empty, or damaged."""


def guess_licence(folder: Path) -> str:
    text = str(folder).lower()
    for key, licence in KNOWN_LICENCES.items():
        if key in text:
            return licence
    return "unknown: state the licence of your photos with --licence"


def read_name_list(path: str | Path | None) -> set[str] | None:
    """File names, one a line (blank lines and #-comments ignored); None without a path."""
    if path is None:
        return None
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise PackError(f"cannot read the list {path}: {err.strerror or err}") from None
    return {ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")}


def list_images(
    folder: str | Path, include: set[str] | None = None, exclude: set[str] | None = None
) -> list[Path]:
    """Image files of a folder (not recursive), sorted by name, filtered by the lists."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PackError(f"{folder} is not a folder")
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    if include is not None:
        files = [p for p in files if p.name in include]
    if exclude:
        files = [p for p in files if p.name not in exclude]
    if not files:
        raise PackError(f"no images to use in {folder}")
    return files


# --- encoding -----------------------------------------------------------------------------


def encode_face(face: np.ndarray, encoding: str = "webp", quality: int = 88) -> bytes:
    buf = io.BytesIO()
    image = Image.fromarray(face)
    if encoding == "webp":
        image.save(buf, "WEBP", quality=quality, method=6)
    elif encoding == "jpeg":
        image.save(buf, "JPEG", quality=quality, subsampling=0 if quality >= 90 else 2)
    elif encoding == "png":
        image.save(buf, "PNG", optimize=True)
    else:
        raise ValueError(f"unknown encoding {encoding!r}; use one of {ENCODINGS}")
    return buf.getvalue()


def decode_face(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


# --- alignment ----------------------------------------------------------------------------


@dataclass
class AlignStats:
    detected: int = 0
    fallback: int = 0  # no single face found: the template's own landmarks (identity)
    fallback_names: list[str] = field(default_factory=list)


class FaceAligner:
    """Detect five landmarks and warp to ``template`` at ``size`` (engine code).

    A crop in which MTCNN finds no face falls back to the template's own mean
    landmarks scaled to the crop, i.e. the crop is taken as already aligned to the
    template (right for UTKFace crops, whose template was derived from them).
    Several faces: the largest one nearest the centre is used.
    """

    def __init__(
        self,
        template: str = "utkface",
        size: int = 128,
        detector: Any = None,
        min_face_fraction: float = 0.2,
    ) -> None:
        from engine.faces import align

        self.align = align
        align.template_points(template, size)  # fail early on a bad template name
        self.template, self.size = template, size
        if detector is None:
            from engine.faces.detect import FaceDetector

            detector = FaceDetector(min_face_size=20, min_score=0.9, max_side=2000)
        self.detector = detector
        # The face to train on fills much of its photo: a high minimum size shortens
        # MTCNN's image pyramid (about 2x faster on UTKFace crops).
        self.min_face_fraction = min_face_fraction
        self._lock = threading.Lock()

    def landmarks(self, image: np.ndarray) -> np.ndarray | None:
        with self._lock:
            if hasattr(self.detector, "min_face_size"):
                self.detector.min_face_size = max(
                    20.0, self.min_face_fraction * min(image.shape[:2])
                )
            faces = self.detector.detect(image)
        if not faces:
            return None
        h, w = image.shape[:2]
        centre = np.array([w / 2, h / 2])

        def rank(f: Any) -> float:
            mid = np.array([(f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2])
            return f.size - np.linalg.norm(mid - centre)

        return max(faces, key=rank).landmarks

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, bool]:
        """(aligned face, whether a face was detected)."""
        found = self.landmarks(image)
        detected = found is not None
        if found is None:
            h, w = image.shape[:2]
            points = self.align.TEMPLATES[self.template] * np.array([w, h])
        else:
            points = found
        matrix = self.align.alignment_matrix(points, self.template, self.size)
        return self.align.warp_to_template(image, matrix, self.size), detected


def load_rgb(path: Path) -> np.ndarray:
    """8-bit RGB pixels of a photo, read as the app reads it (``engine.io``: EXIF
    orientation applied, 16-bit reduced, alpha dropped)."""
    from engine.io import load_photo
    from engine.pixels import to_uint8

    return np.ascontiguousarray(to_uint8(load_photo(path).pixels))


# --- writing ------------------------------------------------------------------------------


class _ShardWriter:
    def __init__(self, out: Path, limit: int) -> None:
        self.out, self.limit = out, limit
        self.shards: list[dict[str, Any]] = []
        self._fh: BinaryIO | None = None
        self._size = 0

    def _open(self) -> None:
        name = f"faces-{len(self.shards):05d}.bin"
        self._fh = open(self.out / f".{name}.part", "wb")  # noqa: SIM115 - closed in _close
        self._hash = hashlib.sha256()
        self._size = 0
        self.shards.append({"file": name, "names": [], "lengths": []})

    def _close(self) -> None:
        if self._fh is None:
            return
        self._fh.close()
        shard = self.shards[-1]
        os.replace(self.out / f".{shard['file']}.part", self.out / shard["file"])
        shard["sha256"] = self._hash.hexdigest()
        shard["bytes"] = self._size
        shard["count"] = len(shard["names"])
        self._fh = None

    def add(self, name: str, data: bytes) -> None:
        if self._fh is None or (self._size + len(data) > self.limit and self._size):
            self._close()
            self._open()
        assert self._fh is not None
        self._fh.write(data)
        self._hash.update(data)
        self._size += len(data)
        self.shards[-1]["names"].append(name)
        self.shards[-1]["lengths"].append(len(data))

    def finish(self) -> list[dict[str, Any]]:
        self._close()
        return self.shards


def write_pack(
    out: str | Path,
    faces: Iterable[tuple[str, np.ndarray]],
    *,
    size: int,
    template: str | None,
    encoding: str = "webp",
    quality: int = 88,
    meta: dict[str, Any] | None = None,
    shard_bytes: int = SHARD_BYTES,
) -> Path:
    """Encode (name, face) pairs into a pack; return the index path (written last)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("faces-*.bin"):
        stale.unlink()
    writer = _ShardWriter(out, shard_bytes)
    count = 0
    for name, face in faces:
        if face.shape[:2] != (size, size):
            raise PackError(f"{name}: face is {face.shape[1]}x{face.shape[0]}, expected {size}")
        writer.add(name, encode_face(face, encoding, quality))
        count += 1
    if count == 0:
        raise PackError("no faces to pack")
    shards = writer.finish()
    index = {
        "format": FORMAT,
        "size": size,
        "template": template,
        "encoding": encoding,
        "quality": quality if encoding != "png" else None,
        "count": count,
        "bytes": sum(s["bytes"] for s in shards),
        **(meta or {}),
        "shards": shards,
    }
    path = out / INDEX
    write_text_atomic(path, json.dumps(index, separators=(",", ":")) + "\n")
    return path


def sample_names(items: Sequence[Any], limit: int, seed: int = 0) -> list[Any]:
    """At most ``limit`` items, a seeded random sample kept in the original order.

    The first N of a sorted folder would be biased (UTKFace names start with the age).
    """
    if limit >= len(items):
        return list(items)
    keep = np.random.default_rng(seed).choice(len(items), size=max(0, limit), replace=False)
    return [items[i] for i in sorted(keep)]


def pack_folder(
    folder: str | Path,
    out: str | Path,
    *,
    size: int = 128,
    template: str = "utkface",
    include_list: str | Path | None = None,
    exclude_list: str | Path | None = None,
    encoding: str = "webp",
    quality: int = 88,
    limit: int | None = None,
    licence: str | None = None,
    aligner: Callable[[np.ndarray], tuple[np.ndarray, bool]] | None = None,
    workers: int = 2,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> tuple[Path, AlignStats]:
    """Align every face of ``folder`` and write a pack to ``out``; return (index, stats)."""
    folder = Path(folder)
    files = list_images(folder, read_name_list(include_list), read_name_list(exclude_list))
    if limit is not None:
        files = sample_names(files, limit)
    align = aligner or FaceAligner(template, size)
    stats = AlignStats()
    total = len(files)

    def prepare(path: Path) -> tuple[str, np.ndarray, bool]:
        face, found = align(load_rgb(path))
        return path.name, face, found

    def faces() -> Iterable[tuple[str, np.ndarray]]:
        with ThreadPoolExecutor(max(1, workers)) as pool:
            for i, (name, face, found) in enumerate(pool.map(prepare, files), 1):
                check(cancel)
                if found:
                    stats.detected += 1
                else:
                    stats.fallback += 1
                    stats.fallback_names.append(name)
                report(progress, Stage.PACK, i, total, name)
                yield name, face

    meta = {
        "source": str(folder.resolve()),
        "licence": licence or guess_licence(folder),
        "include_list": str(include_list) if include_list else None,
        "exclude_list": str(exclude_list) if exclude_list else None,
    }
    index = write_pack(
        out, faces(), size=size, template=template, encoding=encoding, quality=quality, meta=meta
    )
    data = json.loads(index.read_text(encoding="utf-8"))
    data["alignment"] = {
        "detected": stats.detected,
        "fallback_identity": stats.fallback,
        "fallback_names": stats.fallback_names[:200],
    }
    write_text_atomic(index, json.dumps(data, separators=(",", ":")) + "\n")
    return index, stats


# --- reading ------------------------------------------------------------------------------


def is_pack(path: str | Path) -> bool:
    return (Path(path) / INDEX).is_file()


def read_index(pack: str | Path) -> dict[str, Any]:
    path = Path(pack) / INDEX
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise PackError(f"{path}: not a readable pack index ({err})") from None
    if index.get("format") != FORMAT:
        raise PackError(f"{path}: not a Revive pack")
    return index


def verify_pack(pack: str | Path) -> list[str]:
    """Problems found (missing shard, wrong size, wrong sha256); empty when sound."""
    pack = Path(pack)
    problems = []
    for shard in read_index(pack)["shards"]:
        path = pack / shard["file"]
        if not path.is_file():
            problems.append(f"{shard['file']} is missing")
            continue
        data = path.read_bytes()
        if len(data) != shard["bytes"]:
            problems.append(f"{shard['file']} has the wrong size")
        elif hashlib.sha256(data).hexdigest() != shard["sha256"]:
            problems.append(f"{shard['file']} fails its sha256 check")
    return problems


def pack_entries(pack: Path, index: dict[str, Any]) -> Iterable[tuple[str, bytes]]:
    """(name, encoded face) of every face of a pack, in order, without decoding."""
    for shard in index["shards"]:
        data = (pack / shard["file"]).read_bytes()
        offset = 0
        for name, length in zip(shard["names"], shard["lengths"], strict=True):
            yield name, data[offset : offset + length]
            offset += length


def subset_pack(
    pack: str | Path,
    out: str | Path,
    *,
    max_bytes: int | None = None,
    limit: int | None = None,
    seed: int = 0,
) -> Path:
    """A random (seeded) subset of a pack within a size or count, faces copied as encoded.

    For taking training data where a size limit applies (a machine that accepts
    64 MiB): nothing is re-encoded, so the subset's faces are byte-identical.
    """
    pack, out = Path(pack), Path(out)
    index, entries = checked_entries(pack, out)
    order = np.random.default_rng(seed).permutation(len(entries))
    keep: list[Any] = []
    total = 0
    for i in order:
        if limit is not None and len(keep) >= limit:
            break
        size = len(entries[i][1])
        if max_bytes is not None and total + size > max_bytes:
            continue
        keep.append(int(i))
        total += size
    if not keep:
        raise PackError("no face fits in the subset's size")
    subset = {"pack": str(pack.resolve()), "count": len(entries), "seed": seed}
    return _write_subset(out, index, entries, keep, {"subset_of": subset})


def checked_entries(pack: Path, out: Path) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """The index and (name, encoded face) entries of a verified pack that a subset of it
    is taken from into ``out``, which must be another folder."""
    if pack.resolve() == out.resolve():
        raise PackError("the subset must go to another folder than its pack")
    index = read_index(pack)
    if problems := verify_pack(pack):
        raise PackError(f"pack {pack} is damaged: {'; '.join(problems)}")
    return index, list(pack_entries(pack, index))


def _write_subset(
    out: Path,
    index: dict[str, Any],
    entries: list[tuple[str, bytes]],
    keep: Sequence[int],
    extra: dict[str, Any],
) -> Path:
    """A pack of ``entries[keep]`` (in the pack's order), with the source's metadata."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("faces-*.bin"):
        stale.unlink()
    writer = _ShardWriter(out, SHARD_BYTES)
    for i in sorted(keep):
        writer.add(*entries[i])
    shards = writer.finish()
    meta = {k: v for k, v in index.items() if k not in ("shards", "count", "bytes")}
    meta.pop("subset_of", None)
    meta.pop("part", None)
    new = {
        **meta,
        "count": len(keep),
        "bytes": sum(s["bytes"] for s in shards),
        **extra,
        "shards": shards,
    }
    path = out / INDEX
    write_text_atomic(path, json.dumps(new, separators=(",", ":")) + "\n")
    return path


def pack_digest(index: dict[str, Any]) -> str:
    """One sha256 for a pack's contents (its shards' sums, in order)."""
    digest = hashlib.sha256()
    for shard in index["shards"]:
        digest.update(str(shard["sha256"]).encode())
    return digest.hexdigest()


def split_pack(pack: str | Path, outs: Sequence[str | Path], seed: int = 0) -> list[Path]:
    """The faces of a pack in ``len(outs)`` disjoint parts of equal size (within one face).

    A seeded permutation of the faces is cut in consecutive parts, so each part is a
    random sample of the whole; faces are copied as encoded. Each index records
    ``part`` (``index``, ``of``, ``seed`` and the source pack's digest): a GPU lease
    that carries one part at a time sees every face over ``len(outs)`` leases.
    """
    pack = Path(pack)
    index = read_index(pack)
    if problems := verify_pack(pack):
        raise PackError(f"pack {pack} is damaged: {'; '.join(problems)}")
    entries = list(pack_entries(pack, index))
    if len(entries) < len(outs):
        raise PackError(f"pack {pack} has fewer faces than parts")
    order = np.random.default_rng(seed).permutation(len(entries))
    digest = pack_digest(index)
    paths = []
    for k, (out, keep) in enumerate(zip(outs, np.array_split(order, len(outs)), strict=True)):
        part = {"index": k, "of": len(outs), "seed": seed, "pack": str(pack.resolve()),
                "pack_count": len(entries), "pack_digest": digest}  # fmt: skip
        paths.append(_write_subset(Path(out), index, entries, keep.tolist(), {"part": part}))
    return paths


@dataclass
class FaceSet:
    """Aligned faces in memory: ``images`` is N x S x S x 3 uint8, ``names`` their files."""

    images: np.ndarray
    names: list[str]
    meta: dict[str, Any]

    def __len__(self) -> int:
        return len(self.names)

    def subset(self, keep: Sequence[int]) -> FaceSet:
        keep = list(keep)
        return FaceSet(self.images[keep], [self.names[i] for i in keep], dict(self.meta))


def read_pack(
    pack: str | Path,
    *,
    include: set[str] | None = None,
    exclude: set[str] | None = None,
    limit: int | None = None,
    verify: bool = True,
    workers: int = 4,
) -> FaceSet:
    """Decode a pack's faces (after the sha256 check) into one uint8 array."""
    pack = Path(pack)
    index = read_index(pack)
    if verify and (problems := verify_pack(pack)):
        raise PackError(f"pack {pack} is damaged: {'; '.join(problems)}")
    wanted: list[tuple[str, bytes]] = []
    for name, chunk in pack_entries(pack, index):
        if include is not None and name not in include:
            continue
        if exclude and name in exclude:
            continue
        wanted.append((name, chunk))
    if limit is not None:
        wanted = wanted[:limit]
    if not wanted:
        raise PackError(f"pack {pack} has no faces left after the name lists")
    s = int(index["size"])
    images = np.empty((len(wanted), s, s, 3), np.uint8)

    def put(i: int) -> None:
        images[i] = decode_face(wanted[i][1])

    with ThreadPoolExecutor(max(1, workers)) as pool:
        list(pool.map(put, range(len(wanted))))
    meta = {k: v for k, v in index.items() if k != "shards"}
    meta["path"] = str(pack)
    return FaceSet(images, [n for n, _ in wanted], meta)
