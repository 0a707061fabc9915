"""Training checkpoints: safetensors shards plus a JSON file, written atomically.

``RUN/checkpoints/step-00000200/`` holds ``state-0000i-of-0000n.safetensors`` (every
tensor: networks, EMA copies, optimiser moments, RNG states; each shard at most
15 MiB, so a checkpoint travels through the device tool's 16 MiB limit) and
``meta.json`` (step, optimiser hyper-parameters, random states, config). The
pointer ``RUN/checkpoints/latest.json`` is replaced last, in one rename: a crash
while saving leaves the previous checkpoint in force.

``dtype="bfloat16"`` (or ``"float16"``) stores floating tensors at half the size,
and ``checkpoint_optimizer=False`` (a run setting) leaves the Adam moments out: a
compact copy to carry between machines (SPARNet x8: 42 MB fp32 weights, 21 MB
half; with Adam and EMA 168 MB); resuming from it is close but not bit-exact.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from engine.atomic import atomic_path, write_text_atomic
from engine.errors import ReviveError, WeightsError
from engine.file_names import unsafe_name_reason
from engine.models.fit import load_fitting
from engine.weights import check_safetensors_header, join_pieces, split_into_shards

SHARD_BYTES = 15 * 1024 * 1024
POINTER = "latest.json"
_DTYPES = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}


class CheckpointError(ReviveError):
    """A checkpoint is missing, damaged, or belongs to another model."""


# --- flattening optimisers and random states into tensors + JSON -------------------------


def optimizer_to_flat(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict, dict]:
    """Split an optimiser's state dict into tensors (keyed) and JSON-able rest."""
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    plain: dict[str, dict[str, Any]] = {}
    for idx, state in sd["state"].items():
        for name, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}.{idx}.{name}"] = value
            else:
                plain.setdefault(str(idx), {})[name] = value
    return tensors, {"param_groups": sd["param_groups"], "plain": plain}


def optimizer_from_flat(
    prefix: str, opt: torch.optim.Optimizer, tensors: Mapping[str, torch.Tensor], meta: dict
) -> None:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            idx, name = key[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(idx), {})[name] = value
    for idx, rest in meta.get("plain", {}).items():
        state.setdefault(int(idx), {}).update(rest)
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def rng_to_flat() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Python, numpy and torch (CPU and CUDA) global random states."""
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    np_state: Any = np.random.get_state()
    tensors["rng.numpy"] = torch.from_numpy(np.asarray(np_state[1], dtype=np.int64))
    py = random.getstate()
    meta = {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": [np_state[0], int(np_state[2]), int(np_state[3]), float(np_state[4])],
    }
    return tensors, meta


def rng_from_flat(tensors: Mapping[str, torch.Tensor], meta: dict[str, Any]) -> None:
    if "rng.torch" in tensors:
        torch.set_rng_state(tensors["rng.torch"].to(torch.uint8))
    cuda = sorted(k for k in tensors if k.startswith("rng.cuda."))
    if cuda and torch.cuda.is_available():
        states = [tensors[k].to(torch.uint8) for k in cuda]
        torch.cuda.set_rng_state_all(states[: torch.cuda.device_count()])
    if "python" in meta:
        v, internal, gauss = meta["python"]
        random.setstate((v, tuple(internal), gauss))
    if "numpy" in meta and "rng.numpy" in tensors:
        name, pos, has_gauss, cached = meta["numpy"]
        keys = tensors["rng.numpy"].numpy().astype(np.uint32)
        np.random.set_state((name, keys, pos, has_gauss, cached))


# --- writing and reading ------------------------------------------------------------------


def checkpoint_root(run_dir: str | Path) -> Path:
    return Path(run_dir) / "checkpoints"


def save_checkpoint(
    run_dir: str | Path,
    step: int,
    tensors: Mapping[str, torch.Tensor],
    meta: Mapping[str, Any],
    *,
    dtype: str = "float32",
    keep: int = 2,
) -> Path:
    """Write a checkpoint of ``step`` and point ``latest.json`` at it; prune old ones."""
    if dtype not in _DTYPES:
        raise ValueError(f"checkpoint dtype must be one of {sorted(_DTYPES)}")
    root = checkpoint_root(run_dir)
    folder = root / f"step-{step:08d}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    cast = _DTYPES[dtype]
    flat = {}
    for k, t in tensors.items():
        t = t.detach().cpu()
        if cast is not None and t.is_floating_point() and not k.startswith("rng."):
            t = t.to(cast)
        flat[k] = t.contiguous()
    groups = split_into_shards(flat, SHARD_BYTES, header_reserve=64 * 1024)
    files = []
    for i, group in enumerate(groups, 1):
        name = f"state-{i:05d}-of-{len(groups):05d}.safetensors"
        with atomic_path(folder / name) as tmp:
            save_file(group, str(tmp))
        files.append(name)
    body = {"step": step, "dtype": dtype, "files": files, **meta}
    write_text_atomic(folder / "meta.json", json.dumps(body, indent=1) + "\n")
    write_text_atomic(root / POINTER, json.dumps({"step": step, "dir": folder.name}) + "\n")
    old = sorted(p for p in root.glob("step-*") if p.is_dir() and p != folder)
    for stale in old[: max(0, len(old) - (keep - 1))]:
        shutil.rmtree(stale, ignore_errors=True)
    return folder


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The folder ``latest.json`` points at, or None when the run has no checkpoint."""
    root = checkpoint_root(run_dir)
    pointer = root / POINTER
    if not pointer.is_file():
        return None
    try:
        folder = root / json.loads(pointer.read_text(encoding="utf-8"))["dir"]
    except (OSError, KeyError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{pointer}: unreadable ({err})") from None
    if not (folder / "meta.json").is_file():
        raise CheckpointError(f"checkpoint {folder.name} is incomplete (no meta.json)")
    return folder


def load_checkpoint(folder: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read one checkpoint folder: (tensors, meta)."""
    folder = Path(folder)
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        tensors: dict[str, torch.Tensor] = {}
        for name in meta["files"]:
            if unsafe_name_reason(name):
                raise CheckpointError(f"checkpoint {folder.name}: {name!r} is not a shard name")
            check_safetensors_header(folder / name)
            tensors.update(load_file(str(folder / name)))
        tensors = join_pieces(tensors)
    except WeightsError as err:
        raise CheckpointError(f"checkpoint {folder.name} is damaged ({err})") from None
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"checkpoint {folder} cannot be read ({err})") from None
    except Exception as err:  # safetensors' own errors
        raise CheckpointError(f"checkpoint {folder} is damaged ({err})") from None
    return tensors, meta


def module_tensors(prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v for k, v in module.state_dict().items()}


def load_module(prefix: str, module: torch.nn.Module, tensors: Mapping[str, torch.Tensor]) -> None:
    state = {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    load_fitting(module, state, f"the checkpoint's {prefix} does not fit (another model?)",
                 CheckpointError)  # fmt: skip
