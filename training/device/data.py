"""``make gpu-data``: the packs a GPU lease carries, built from ``../shared/data``.

1. ``packs/utk128-val``: the 1,000 validation faces of ``utkface-val.txt``;
2. ``packs/utk128-train``: every other UTKFace face (22,707), MTCNN-aligned to the
   UTKFace template at 128 px, WebP q88 (``revive data pack``);
3. ``packs/utk128-part{1,2,3}of3``: that pack cut in ``PARTS`` random thirds (a
   seeded permutation; faces copied, not re-encoded);
4. ``packs/gpu-train``: a copy of the part the next lease trains on (lease ``n``,
   counted in the shipped model cards, takes part ``(n - 1) % PARTS``).

Each step is skipped when its pack is already there and matches (name lists, counts,
checksums, the source pack's digest): the packs are reproducible, so a cache is as
good as a rebuild. Then the budget: tracked files + ``packs/gpu-train`` +
``packs/utk128-val`` must stay under 60 MiB (the device takes 64), and the shipped
restorers under 24 MiB. Packing from scratch takes about 10 minutes on 2 cores.
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
    PART_SEED,
    PARTS,
    ROLES,
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
    """Steps 1-3 (cached); the paths of the validation, full and part packs."""
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
    digest = pack_digest(read_index(out["full"]))
    parts = [packs / Path(part_pack(k)).name for k in range(PARTS)]
    sizes = [len(a) for a in _split_sizes(n_train, PARTS)]
    cached = all(
        is_pack(p)
        and (read_index(p).get("part") or {}).get("pack_digest") == digest
        and read_index(p)["part"].get("seed") == PART_SEED
        and read_index(p)["count"] == n
        and not verify_pack(p)
        for p, n in zip(parts, sizes, strict=True)
    )
    if not cached:
        split_pack(out["full"], parts, seed=PART_SEED)
    for k, p in enumerate(parts):
        out[f"part{k}"] = p
        say(
            f"{p}: part {k + 1}/{PARTS}, {read_index(p)['count']} faces, "
            f"{mib(folder_bytes(p))}{' (cached)' if cached else ''}"
        )
    return out


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
    lease = args.lease or next_lease()
    part = part_of(lease)
    target = packs / Path(LEASE_PACK).name
    copied = stage_lease(built[f"part{part}"], target)
    print(
        f"{target}: part {part + 1}/{PARTS} for lease {lease}"
        f"{' (copied)' if copied else ' (already there)'}"
    )
    repo = Path(__file__).resolve().parents[2]
    tracked, untracked = git_bytes(repo)
    carried = folder_bytes(target) + folder_bytes(built["val"])
    total = tracked + untracked + carried
    weights = shipped_restorer_bytes()
    print(
        f"\nwhat a lease carries: tracked files {mib(tracked)} + untracked {mib(untracked)} + "
        f"{target.name} and {built['val'].name} {mib(carried)} = {mib(total)} "
        f"(budget {BUDGET_MIB:g} MiB, the device takes 64)"
    )
    for name, size in weights.items():
        print(f"  shipped {name}: {mib(size)}")
    print(
        f"  shipped restorers together: {mib(sum(weights.values()))} "
        f"(budget {WEIGHTS_BUDGET_MIB:g} MiB)"
    )
    print(f'carry: ["{target}", "{built["val"]}"]   ({time.perf_counter() - t0:.0f} s)')
    over = total > BUDGET_MIB * 2**20 or sum(weights.values()) > WEIGHTS_BUDGET_MIB * 2**20
    if over:
        print("over budget: make the part smaller (more PARTS) or the weights smaller")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
