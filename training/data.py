"""Training and validation faces from a pack or a plain image folder.

A plain folder is packed once (detect, align, encode losslessly) into a cache in
the per-user data folder, keyed by the folder, its file names and the alignment
settings; later runs decode the cache. Validation faces come from ``--val-data``
(another pack or folder), or are the faces named in ``--val-list`` (taken out of
the training faces), or else the last ``val_count`` faces by name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from engine.paths import user_data_dir
from engine.progress import CancelToken, ProgressCallback

from .pack import FaceSet, PackError, is_pack, list_images, pack_folder, read_name_list, read_pack


def cache_dir() -> Path:
    return user_data_dir() / "cache" / "packs"


def folder_cache_key(files: list[Path], size: int, template: str) -> str:
    digest = hashlib.sha256(f"{size}|{template}|".encode())
    for p in files:
        st = p.stat()
        digest.update(f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def load_faces(
    path: str | Path,
    *,
    size: int,
    template: str = "utkface",
    include: set[str] | None = None,
    exclude: set[str] | None = None,
    limit: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> FaceSet:
    """Faces of a pack, or of a folder (aligned once and cached), at ``size`` px."""
    path = Path(path)
    if is_pack(path):
        faces = read_pack(path, include=include, exclude=exclude, limit=limit)
    elif path.is_dir():
        files = list_images(path, include, exclude)
        if limit is not None:
            files = files[:limit]
        key = folder_cache_key(files, size, template)
        cached = cache_dir() / key
        if not is_pack(cached):
            list_file = cached.parent / f"{key}.names.txt"
            list_file.parent.mkdir(parents=True, exist_ok=True)
            list_file.write_text("\n".join(p.name for p in files) + "\n", encoding="utf-8")
            pack_folder(
                path,
                cached,
                size=size,
                template=template,
                include_list=list_file,
                encoding="png",
                progress=progress,
                cancel=cancel,
            )
        faces = read_pack(cached)
    else:
        raise PackError(f"{path} is neither a pack nor a folder of images")
    return resize_faces(faces, size)


def resize_faces(faces: FaceSet, size: int) -> FaceSet:
    """Bring faces to ``size`` px (anti-aliased bicubic) when the pack is another size."""
    if faces.images.shape[1] == size:
        return faces
    out = np.stack(
        [
            np.asarray(Image.fromarray(f).resize((size, size), Image.Resampling.BICUBIC))
            for f in faces.images
        ]
    )
    meta = {**faces.meta, "resized_from": int(faces.images.shape[1]), "size": size}
    return FaceSet(out, faces.names, meta)


@dataclass
class Split:
    train: FaceSet
    val: FaceSet
    how: str  # one line for logs and the model card


def train_val_split(
    data: str | Path,
    *,
    size: int,
    template: str = "utkface",
    val_data: str | Path | None = None,
    val_list: str | Path | None = None,
    exclude_list: str | Path | None = None,
    val_count: int = 32,
    max_faces: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Split:
    """Training faces and validation faces, never overlapping."""
    exclude = read_name_list(exclude_list) or set()
    val_names = read_name_list(val_list)

    def load(source: str | Path, **which: Any) -> FaceSet:
        return load_faces(
            source, size=size, template=template, progress=progress, cancel=cancel, **which
        )

    if val_data is not None:
        val = load(val_data, include=val_names, limit=val_count)
        train = load(data, exclude=exclude | set(val.names), limit=max_faces)
        how = f"validation: {len(val)} faces of {Path(val_data).name}"
    elif val_names is not None and val_list is not None:
        everything = load(data, exclude=exclude)
        is_val = [n in val_names for n in everything.names]
        val_idx = [i for i, v in enumerate(is_val) if v][:val_count]
        train_idx = [i for i, v in enumerate(is_val) if not v][:max_faces]
        if not val_idx:
            raise PackError(f"none of the faces named in {val_list} is in {data}")
        val, train = everything.subset(val_idx), everything.subset(train_idx)
        how = f"validation: {len(val)} faces named in {Path(val_list).name}"
    else:
        everything = load(data, exclude=exclude)
        n = len(everything)
        k = min(val_count, max(1, n // 10))
        if n - k < 1:
            raise PackError(f"{data} has too few faces to train on ({n})")
        val = everything.subset(range(n - k, n))
        train = everything.subset(range(0, n - k)[:max_faces])
        how = f"validation: the last {k} faces by name (held out)"
    return Split(train, val, how)
