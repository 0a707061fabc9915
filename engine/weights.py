"""Revive's weights store: safetensors shards, a JSON manifest, sha256 checks.

A weight set is ``<name>.weights.json`` (format, preset, dtype, shard list with
sha256 and size, model card) beside its shards ``<name>.safetensors`` or
``<name>-00001-of-00003.safetensors`` (each at most 15 MiB, so they fit in git and
in the device tool's transfers). Every shard also carries the preset name in its
safetensors metadata, so a stray shard still says what it belongs to.

Shipped sets live in ``resources/weights`` and are listed in its ``registry.json``
(with the default set of each role); sets the user imports or trains go to the
per-user data folder and are found by their manifests.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from .atomic import atomic_path, write_text_atomic
from .errors import WeightsError
from .file_names import describe, unsafe_name_reason
from .hashing import sha256_file
from .install_lock import folder_lock
from .model_card_words import without_paths
from .models import create_model, get_preset
from .models.fit import load_fitting
from .paths import shipped_weights_dir, user_weights_dir

FORMAT = "revive-weights/1"
SHARD_LIMIT_BYTES = 15 * 1024 * 1024
MANIFEST_SUFFIX = ".weights.json"
HEADER_LIMIT_BYTES = 100 * 1024 * 1024  # safetensors' own limit on its JSON header
_DTYPES = {"float16": torch.float16, "float32": torch.float32, "bfloat16": torch.bfloat16}


@dataclass
class WeightsInfo:
    """A weight set as described by its manifest (nothing loaded yet)."""

    name: str
    preset: str
    dtype: str
    manifest: Path
    files: list[dict[str, Any]]
    card: dict[str, Any] = field(default_factory=dict)
    source: str = "user"  # "shipped" or "user"

    @property
    def total_bytes(self) -> int:
        return sum(int(f["bytes"]) for f in self.files)

    def shard_paths(self) -> list[Path]:
        return [self.manifest.parent / f["file"] for f in self.files]


PIECE_MARK = "#piece"  # a tensor larger than one shard is stored as dim-0 pieces: KEY#pieceN


def _pieces(key: str, tensor: torch.Tensor, budget: int) -> list[tuple[str, torch.Tensor]]:
    """``tensor`` cut along dim 0 into pieces that each fit ``budget`` bytes."""
    overhead = len(key) + len(PIECE_MARK) + 8 + 160
    nbytes = tensor.numel() * tensor.element_size() + overhead
    if nbytes <= budget:
        return [(key, tensor)]
    row = tensor[0].numel() * tensor.element_size() if tensor.dim() else nbytes
    rows = (budget - overhead) // max(row, 1)
    if tensor.dim() == 0 or rows < 1:
        raise WeightsError(f"tensor {key!r} ({nbytes} bytes) is larger than one shard")
    parts = torch.split(tensor, int(rows), dim=0)
    return [(f"{key}{PIECE_MARK}{i}", part.contiguous()) for i, part in enumerate(parts)]


def join_pieces(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The state dict with every tensor stored in pieces (``split_into_shards``) whole again."""
    joined: dict[str, torch.Tensor] = {}
    pieces: dict[str, dict[int, torch.Tensor]] = {}
    for key, tensor in tensors.items():
        base, mark, index = key.rpartition(PIECE_MARK)
        if mark and index.isdigit():
            pieces.setdefault(base, {})[int(index)] = tensor
        else:
            joined[key] = tensor
    for base, parts in pieces.items():
        if sorted(parts) != list(range(len(parts))):
            raise WeightsError(f"tensor {base!r} is missing some of its pieces")
        joined[base] = torch.cat([parts[i] for i in range(len(parts))], dim=0)
    return joined


def split_into_shards(
    tensors: Mapping[str, torch.Tensor], limit: int, header_reserve: int = 4096
) -> list[dict[str, torch.Tensor]]:
    """Group tensors so that each file, safetensors header included, stays within ``limit``.

    ``header_reserve`` is room for the header's metadata and padding. A tensor larger
    than a shard goes in dim-0 pieces (``join_pieces`` puts it back together), so a
    network with one big layer still fits files of the size a lent machine returns.
    """
    budget = limit - header_reserve
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for key, tensor in tensors.items():
        for name, part in _pieces(key, tensor, budget):
            nbytes = part.numel() * part.element_size() + len(name) + 160  # data + header entry
            if size + nbytes > budget and shards[-1]:
                shards.append({})
                size = 0
            shards[-1][name] = part
            size += nbytes
    return shards


def save_weights(
    state_dict: Mapping[str, torch.Tensor],
    directory: str | Path,
    name: str,
    preset: str,
    *,
    dtype: str = "float16",
    card: Mapping[str, Any] | None = None,
    shard_bytes: int = SHARD_LIMIT_BYTES,
) -> Path:
    """Write ``state_dict`` as a sharded weight set; return the manifest path.

    Floating tensors are cast to ``dtype``; integer buffers keep theirs. Every file
    is written atomically and the manifest last, so a set is complete or absent.
    """
    get_preset(preset)  # fail early on an unknown preset
    if reason := unsafe_name_reason(name):
        raise WeightsError(f"the weights name {describe(name)} {reason}")
    if dtype not in _DTYPES:
        raise WeightsError(f"unsupported dtype {dtype!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cast = {
        k: (v.detach().to(_DTYPES[dtype]) if v.is_floating_point() else v.detach())
        .contiguous()
        .cpu()
        for k, v in state_dict.items()
    }
    shards = split_into_shards(cast, shard_bytes)
    with folder_lock(directory):  # another process writing here waits its turn
        return _write_set(shards, directory, name, preset, dtype, card)


def _write_set(
    shards: list[dict[str, torch.Tensor]],
    directory: Path,
    name: str,
    preset: str,
    dtype: str,
    card: Mapping[str, Any] | None,
) -> Path:
    """The shards, then the manifest. A set of that name is hidden (its manifest removed)
    while its shards are replaced, so no reader pairs the old manifest with new shards;
    shards of the old set that the new one does not use go afterwards."""
    path = directory / f"{name}{MANIFEST_SUFFIX}"
    try:
        old = read_manifest(path).shard_paths() if path.is_file() else []
    except WeightsError:
        old = []
    path.unlink(missing_ok=True)
    n = len(shards)
    files = []
    for i, shard in enumerate(shards, 1):
        file_name = f"{name}.safetensors" if n == 1 else f"{name}-{i:05d}-of-{n:05d}.safetensors"
        target = directory / file_name
        with atomic_path(target) as tmp:
            save_file(shard, str(tmp), metadata={"format": FORMAT, "preset": preset, "name": name})
        files.append(
            {"file": file_name, "sha256": sha256_file(target), "bytes": target.stat().st_size}
        )
    manifest = {
        "format": FORMAT,
        "name": name,
        "preset": preset,
        "dtype": dtype,
        "files": files,
        "card": without_paths(dict(card or {})),  # no path of this machine in a card
    }
    write_text_atomic(path, json.dumps(manifest, indent=2) + "\n")
    written = {directory / str(f["file"]) for f in files}
    for stale in {p for p in old if p.parent == directory} - written:
        stale.unlink(missing_ok=True)
    return path


def read_manifest(path: str | Path, source: str = "user") -> WeightsInfo:
    """Parse a manifest; raise ``WeightsError`` when it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise WeightsError(f"{path.name}: not a readable weights manifest ({err})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise WeightsError(f"{path.name}: not a Revive weights manifest")
    try:
        info = WeightsInfo(
            name=data["name"],
            preset=data["preset"],
            dtype=data["dtype"],
            manifest=path,
            files=list(data["files"]),
            card=dict(data.get("card", {})),
            source=source,
        )
    except (KeyError, TypeError) as err:
        raise WeightsError(f"{path.name}: manifest lacks {err}") from None
    _check_names(info)
    return info


def _check_names(info: WeightsInfo) -> None:
    """Every name in a manifest stays in its folder; sizes and sums are of the right kind."""
    where = info.manifest.name
    if reason := unsafe_name_reason(info.name):
        raise WeightsError(f"{where}: the set's name {describe(info.name)} {reason}")
    for entry in info.files:
        file = entry.get("file") if isinstance(entry, dict) else None
        if reason := unsafe_name_reason(file):
            raise WeightsError(f"{where}: the shard name {describe(file)} {reason}; refused")
        size, sha = entry.get("bytes"), entry.get("sha256")
        if not isinstance(size, int) or size < 0 or not isinstance(sha, str):
            raise WeightsError(f"{where}: {file} lacks a size or sha256")


def check_safetensors_header(path: Path) -> None:
    """Refuse a safetensors file whose header length is absurd, before anything reads it.

    The first 8 bytes give the length of the JSON header; a damaged or hostile file may
    claim exabytes. It must fit in the file and under safetensors' own 100 MiB limit.
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as err:
        raise WeightsError(f"{path.name}: cannot be read ({err.strerror or err})") from None
    if len(head) < 8:
        raise WeightsError(f"{path.name}: is cut short (not a safetensors file)")
    (claimed,) = struct.unpack("<Q", head)
    if claimed > min(size - 8, HEADER_LIMIT_BYTES):
        raise WeightsError(
            f"{path.name}: its header claims {claimed:,} bytes but the file has {size:,}: "
            "damaged, or not a weights file; refused"
        )


def shards_look_whole(info: WeightsInfo) -> bool:
    """Every shard present at its stated size (no hashing: cheap enough to choose by)."""
    try:
        return all(
            shard.stat().st_size == int(entry["bytes"])
            for entry, shard in zip(info.files, info.shard_paths(), strict=True)
        )
    except OSError:
        return False


def verify_weights(info: WeightsInfo) -> list[str]:
    """Return the problems found (missing shard, wrong size, wrong sha256); empty if fine."""
    problems = []
    for entry, shard in zip(info.files, info.shard_paths(), strict=True):
        if not shard.is_file():
            problems.append(f"{entry['file']} is missing")
        elif shard.stat().st_size != int(entry["bytes"]):
            problems.append(f"{entry['file']} has the wrong size")
        elif sha256_file(shard) != entry["sha256"]:
            problems.append(f"{entry['file']} fails its sha256 check")
    return problems


def load_state_dict(info: WeightsInfo, verify: bool = True) -> dict[str, torch.Tensor]:
    """Read every shard (after the sha256 check) into one state dict."""
    if verify and (problems := verify_weights(info)):
        raise WeightsError(f"weights {info.name!r} are damaged: {'; '.join(problems)}")
    merged: dict[str, torch.Tensor] = {}
    for shard in info.shard_paths():
        check_safetensors_header(shard)
        try:
            merged.update(load_file(str(shard)))
        except Exception as err:  # safetensors raises its own error types
            raise WeightsError(f"{shard.name}: cannot be read ({err})") from None
    return join_pieces(merged)


def load_model(info: WeightsInfo, verify: bool = True, **overrides: Any) -> torch.nn.Module:
    """Build the preset named by the manifest and load the weights, in float32, eval mode."""
    net = create_model(info.preset, **overrides)
    state = load_state_dict(info, verify)
    load_fitting(net, state, f"weights {info.name!r} do not fit preset {info.preset!r}")
    return net.eval()


# --- the registry of installed sets -------------------------------------------------------

REGISTRY_FILE = "registry.json"


def shipped_registry(directory: Path | None = None) -> dict[str, Any]:
    """``resources/weights/registry.json``: shipped set names and the default per role."""
    path = (directory or shipped_weights_dir()) / REGISTRY_FILE
    if not path.is_file():
        return {"weights": [], "defaults": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def _scan(directory: Path, source: str) -> Iterable[WeightsInfo]:
    if not directory.is_dir():
        return
    for manifest in sorted(directory.glob(f"*{MANIFEST_SUFFIX}")):
        try:
            yield read_manifest(manifest, source)
        except WeightsError:
            continue


def installed_weights() -> list[WeightsInfo]:
    """Shipped sets (from the registry) first, then the user's own."""
    shipped_dir = shipped_weights_dir()
    found = [
        read_manifest(shipped_dir / f"{name}{MANIFEST_SUFFIX}", "shipped")
        for name in shipped_registry().get("weights", [])
    ]
    found.extend(_scan(user_weights_dir(), "user"))
    return found


def find_weights(name_or_path: str) -> WeightsInfo:
    """A set by name (installed) or by the path of its manifest."""
    path = Path(name_or_path)
    if path.suffix == ".json" and path.is_file():
        return read_manifest(path)
    for info in installed_weights():
        if info.name == name_or_path:
            return info
    raise WeightsError(f"no installed weights named {name_or_path!r} (see `revive models list`)")


def default_weights(role: str) -> WeightsInfo | None:
    """The shipped default of a role ("restorer", "tiny", "cagface", "components")."""
    name = shipped_registry().get("defaults", {}).get(role)
    if not name:
        return None
    try:
        return find_weights(name)
    except WeightsError:
        return None


def human_size(nbytes: int) -> str:
    if nbytes <= 0:
        return "0 B"
    units = ("B", "KiB", "MiB", "GiB")
    i = min(len(units) - 1, int(math.log(nbytes, 1024)))
    return f"{nbytes / 1024**i:.1f} {units[i]}"
