"""``make gpu-data``: the packs a GPU lease carries, built from ``../shared/data``.

1. ``packs/utk128-val``: the 1,000 validation faces of ``utkface-val.txt``;
2. ``packs/utk128-train``: every other UTKFace face (22,707), MTCNN-aligned to the
   UTKFace template at 128 px, WebP q88 (``revive data pack``);
3. ``packs/utk128-part{1,2,3}of3``: that pack cut in ``PARTS`` (3) random parts (a
   seeded permutation; faces copied, not re-encoded), or in more, smaller parts when
   the budget asks for it;
4. ``packs/gpu-train``: a copy of the part the next lease trains on (lease ``n``,
   counted in the shipped model cards, takes part ``(n - 1) % parts``).

Each step is skipped when its pack is already there and matches (name lists, counts,
checksums, the source pack's digest). Then the budget, as it will be after the lease:
tracked files + the weights the lease will add (the plan's sets not shipped yet, the
discriminator) + ``packs/gpu-train`` + ``packs/utk128-val`` under 60 MiB (the device
takes 64), the shipped restorers under 24 MiB. Packing from scratch took 15.6 minutes
on 2 cores that other jobs kept busy (9.2 minutes on a quieter day).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from training.pack import (
    PackError,
    is_pack,
    list_images,
    pack_digest,
    pack_folder,
    read_index,
    read_name_list,
    split_pack,
    verify_pack,
)

from .plan import (
    BUDGET_MIB,
    FULL_PACK,
    LEASE_PACK,
    MAX_PARTS,
    PART_SEED,
    PARTS,
    PLANS,
    ROLES,
    STATE_DIR,
    VAL_PACK,
    WEIGHTS_BUDGET_MIB,
    next_lease,
    part_of,
    part_pack,
)

SIZE = 128


def mib(nbytes: float) -> str:
    return f"{nbytes / 2**20:.1f} MiB"


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _matches(pack: Path, count: int, **fields: object) -> bool:
    """An existing pack with these many faces and index fields, whose shards check out."""
    if not is_pack(pack):
        return False
    try:
        index = read_index(pack)
    except PackError:
        return False
    if index.get("count") != count or index.get("size") != SIZE:
        return False
    if any(index.get(k) != v for k, v in fields.items()):
        return False
    return not verify_pack(pack)


def build_packs(faces: Path, val_list: Path, packs: Path, say=print) -> dict[str, Path]:
    """Steps 1-2 (cached): the validation and the full training pack."""
    val_names = read_name_list(val_list) or set()
    everything = list_images(faces)
    n_val = sum(1 for p in everything if p.name in val_names)
    n_train = len(everything) - n_val
    out: dict[str, Path] = {
        "val": packs / Path(VAL_PACK).name,
        "full": packs / Path(FULL_PACK).name,
    }
    for key, count in (("val", n_val), ("full", n_train)):
        pack, t = out[key], time.perf_counter()
        if _matches(pack, count):
            say(f"{pack}: cached ({count} faces, {mib(folder_bytes(pack))})")
            continue
        say(f"{pack}: packing {count} faces of {faces} (MTCNN, 2 threads) ...")
        _, stats = pack_folder(
            faces,
            pack,
            size=SIZE,
            template="utkface",
            workers=2,
            include_list=val_list if key == "val" else None,
            exclude_list=val_list if key == "full" else None,
        )
        say(
            f"{pack}: {count} faces, {mib(folder_bytes(pack))}; landmarks found in "
            f"{stats.detected}, template fallback for {stats.fallback}; "
            f"{time.perf_counter() - t:.0f} s"
        )
    return out


def build_parts(full: Path, packs: Path, parts: int, say=print) -> list[Path]:
    """Step 3 (cached): the full pack in ``parts`` random parts."""
    index = read_index(full)
    digest = pack_digest(index)
    paths = [packs / Path(part_pack(k, parts)).name for k in range(parts)]
    sizes = [len(a) for a in _split_sizes(int(index["count"]), parts)]

    def cached(p: Path, n: int) -> bool:
        if not is_pack(p):
            return False
        part = read_index(p).get("part") or {}
        return (
            part.get("pack_digest") == digest
            and part.get("seed") == PART_SEED
            and part.get("of") == parts
            and read_index(p)["count"] == n
            and not verify_pack(p)
        )

    reused = all(cached(p, n) for p, n in zip(paths, sizes, strict=True))
    if not reused:
        split_pack(full, paths, seed=PART_SEED)
    for k, p in enumerate(paths):
        say(
            f"{p}: part {k + 1}/{parts}, {read_index(p)['count']} faces, "
            f"{mib(folder_bytes(p))}{' (cached)' if reused else ''}"
        )
    return paths


def _split_sizes(n: int, parts: int) -> list[range]:
    base, extra = divmod(n, parts)
    return [range(base + (1 if k < extra else 0)) for k in range(parts)]


def stage_lease(part_path: Path, target: Path) -> bool:
    """Copy the part into ``target`` unless it is there already; True when copied."""
    if (
        is_pack(target)
        and (target / "index.json").read_bytes() == (part_path / "index.json").read_bytes()
        and not verify_pack(target)
    ):
        return False
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(part_path, target)
    return True


def git_bytes(repo: Path) -> tuple[int, int]:
    """(tracked files, untracked files git does not ignore): what a device call carries."""

    def total(args: list[str]) -> int:
        out = subprocess.run(["git", *args, "-z"], cwd=repo, capture_output=True, check=True)
        names = [n for n in out.stdout.decode().split("\0") if n]
        return sum((repo / n).stat().st_size for n in names if (repo / n).is_file())

    return total(["ls-files"]), total(["ls-files", "--others", "--exclude-standard"])


def shipped_restorer_bytes() -> dict[str, int]:
    from engine.weights import default_weights

    sizes = {}
    for role in ROLES:
        info = default_weights(role)
        if info is not None:
            sizes[f"{role} ({info.name})"] = info.total_bytes
    return sizes


def fp16_bytes(preset: str, **overrides: object) -> int:
    """The size of a preset's fp16 weight file (safetensors, floating tensors in fp16)."""
    import torch
    from safetensors.torch import save

    from engine.models import create_model

    state = create_model(preset, **overrides).state_dict()
    half = {k: (v.to(torch.float16) if v.is_floating_point() else v) for k, v in state.items()}
    return len(save({k: v.contiguous() for k, v in half.items()}))


def still_to_come(state_dir: Path) -> dict[str, int]:
    """Weights the next lease will add to the tracked files: the plan's sets not shipped yet
    (their role's default is something else) and the discriminator when none is saved."""
    from engine.weights import default_weights
    from training.tasks.restorer import DISC_128

    coming = {}
    for role, plan in PLANS.items():
        info = default_weights(role)
        if info is None or info.name != plan.export_name:
            coming[plan.export_name] = fp16_bytes(plan.preset)
        if plan.gan and not (state_dir / f"{plan.export_name}-disc.weights.json").is_file():
            coming[f"{plan.export_name}-disc"] = fp16_bytes("sparnethd_discriminator", **DISC_128)
    return coming


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make gpu-data",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--faces", default="../shared/data/faces/utkface")
    parser.add_argument("--val-list", default="../shared/data/faces/utkface-val.txt")
    parser.add_argument("--packs", default="packs")
    parser.add_argument("--lease", type=int, help="stage the part of this lease (default: next)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    packs = Path(args.packs)
    built = build_packs(Path(args.faces), Path(args.val_list), packs)
    repo = Path(__file__).resolve().parents[2]
    tracked, untracked = git_bytes(repo)
    coming = still_to_come(repo / STATE_DIR)
    fixed = tracked + untracked + sum(coming.values()) + folder_bytes(built["val"])
    full = folder_bytes(built["full"])
    parts = PARTS  # more parts, smaller ones, when the tracked files have grown
    while fixed + full / parts > BUDGET_MIB * 2**20 and parts < MAX_PARTS:
        parts += 1
    paths = build_parts(built["full"], packs, parts)
    lease = args.lease or next_lease()
    part = part_of(lease, parts)
    target = packs / Path(LEASE_PACK).name
    copied = stage_lease(paths[part], target)
    print(
        f"{target}: part {part + 1}/{parts} for lease {lease}"
        f"{' (copied)' if copied else ' (already there)'}"
    )
    carried = folder_bytes(target) + folder_bytes(built["val"])
    total = tracked + untracked + carried + sum(coming.values())
    weights = shipped_restorer_bytes()
    print(f"\nwhat a lease carries: tracked files {mib(tracked)}, untracked {mib(untracked)}")
    for name, size in weights.items():
        print(f"  (of which shipped {name}: {mib(size)})")
    for name, size in coming.items():
        print(f"  + {name}, tracked once this lease has made it: {mib(size)}")
    print(
        f"  + {target.name} and {built['val'].name}: {mib(carried)}\n"
        f"  = {mib(total)} (budget {BUDGET_MIB:g} MiB; the device takes 64)"
    )
    restorers = sum(weights.values()) + sum(v for k, v in coming.items() if "-disc" not in k)
    print(
        f"shipped restorers after the lease: at most {mib(restorers)} "
        f"(budget {WEIGHTS_BUDGET_MIB:g} MiB)"
    )
    print(f'carry: ["{target}", "{built["val"]}"]   ({time.perf_counter() - t0:.0f} s)')
    over = total > BUDGET_MIB * 2**20 or restorers > WEIGHTS_BUDGET_MIB * 2**20
    if over:
        print("over budget: smaller weights, or drop replaced sets (install --drop-replaced)")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
