"""After a lease: ``python -m tools.gpu_lease.install FOLDER`` (the files that came back).

* every weight set in FOLDER (manifest + shards) is checked (sha256) and copied into
  ``resources/weights/``, replacing an older set of the same name, and becomes the
  registry's default of its role (``restorer``, ``tiny``, ``cagface``: the preset's
  kind); ``--drop-replaced`` also removes the default it replaces (its files too);
* ``results-lease.tar.gz`` is unpacked into ``runs/lease-N/`` (logs, loss CSVs,
  evaluations, GPU samples) and its discriminator goes to ``tools/gpu_lease/state/``,
  where the next lease starts D from;
* the lease's table is printed, with the size of the shipped restorers (24 MiB at most).

``--remove NAME`` takes a shipped set out (files and registry), e.g. the CPU-trained
restorer once the GPU one has been compared with it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tarfile
from pathlib import Path

from engine.atomic import write_text_atomic
from engine.errors import ReviveError
from engine.models import get_preset
from engine.weights import (
    MANIFEST_SUFFIX,
    REGISTRY_FILE,
    WeightsInfo,
    read_manifest,
    shipped_weights_dir,
    verify_weights,
)

from .lease import RESULTS, table
from .plan import ROLES, STATE_DIR, WEIGHTS_BUDGET_MIB


def _remove_set(directory: Path, name: str) -> None:
    manifest = directory / f"{name}{MANIFEST_SUFFIX}"
    if manifest.is_file():
        for shard in read_manifest(manifest).shard_paths():
            shard.unlink(missing_ok=True)
        manifest.unlink()


def install_set(info: WeightsInfo, weights_dir: Path, drop_replaced: bool) -> tuple[str, str]:
    """Copy one set in and make it its role's default; (role, replaced default or '')."""
    if problems := verify_weights(info):
        raise ReviveError(f"{info.name}: {'; '.join(problems)}")
    role = get_preset(info.preset).kind.value
    registry_path = weights_dir / REGISTRY_FILE
    registry = json.loads(registry_path.read_text(encoding="utf-8"))
    _remove_set(weights_dir, info.name)
    for path in [info.manifest, *info.shard_paths()]:
        shutil.copy2(path, weights_dir / path.name)
    replaced = registry.setdefault("defaults", {}).get(role, "")
    names = registry.setdefault("weights", [])
    if info.name not in names:
        names.append(info.name)
    registry["defaults"][role] = info.name
    if drop_replaced and replaced and replaced != info.name:
        if replaced in names:
            names.remove(replaced)
        _remove_set(weights_dir, replaced)
    write_text_atomic(registry_path, json.dumps(registry, indent=2) + "\n")
    return role, replaced if replaced != info.name else ""


def remove_set(weights_dir: Path, name: str) -> None:
    """Take a set out of the shipped folder and its registry (never a role's default)."""
    registry_path = weights_dir / REGISTRY_FILE
    registry = json.loads(registry_path.read_text(encoding="utf-8"))
    if name in registry.get("defaults", {}).values():
        raise ReviveError(f"{name} is a default: install its successor first")
    registry["weights"] = [n for n in registry.get("weights", []) if n != name]
    write_text_atomic(registry_path, json.dumps(registry, indent=2) + "\n")
    _remove_set(weights_dir, name)


def unpack_results(archive: Path, runs: Path, state: Path) -> dict:
    """The archive into ``runs/lease-N``; its discriminator into the kit's state folder."""
    with tarfile.open(archive) as tar:
        member = tar.extractfile("logs/lease.json")
        record = json.loads(member.read()) if member else {}
        number = record.get("lease", {}).get("number", 0)
        target = runs / f"lease-{number}"
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        tar.extractall(target, filter="data")
    disc = target / "logs" / "disc"
    if disc.is_dir():
        state.mkdir(parents=True, exist_ok=True)
        for f in disc.iterdir():
            shutil.copy2(f, state / f.name)
    record["unpacked_to"] = str(target)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.gpu_lease.install",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("folder", nargs="?", help="where the lease's files were fetched to")
    parser.add_argument(
        "--remove",
        action="append",
        default=[],
        metavar="NAME",
        help="take a shipped set out (files and registry), e.g. a replaced one",
    )
    parser.add_argument("--weights", help="the shipped weights folder (default resources/weights)")
    parser.add_argument("--state", default=STATE_DIR, help="where the discriminator goes")
    parser.add_argument("--runs", default="runs", help="the lease's logs go to RUNS/lease-N")
    parser.add_argument(
        "--drop-replaced",
        action="store_true",
        help="remove the defaults the new sets replace (files and registry)",
    )
    args = parser.parse_args(argv)
    weights_dir = Path(args.weights) if args.weights else shipped_weights_dir()
    for name in args.remove:
        remove_set(weights_dir, name)
        print(f"{name}: removed")
    if args.folder is None:
        return 0
    folder = Path(args.folder)
    manifests = sorted(folder.glob(f"*{MANIFEST_SUFFIX}"))
    if not manifests:
        raise SystemExit(f"no weight sets in {folder}")
    for manifest in manifests:
        info = read_manifest(manifest)
        role, replaced = install_set(info, weights_dir, args.drop_replaced)
        note = f" (was {replaced}{', removed' if args.drop_replaced else ''})" if replaced else ""
        print(f"{info.name}: default {role}{note}")
    if (folder / RESULTS).is_file():
        record = unpack_results(folder / RESULTS, Path(args.runs), Path(args.state))
        print(f"logs: {record['unpacked_to']}")
        if record.get("models"):
            print(table(record["models"]))
    registry = json.loads((weights_dir / REGISTRY_FILE).read_text(encoding="utf-8"))
    total = 0
    for role in ROLES:
        name = registry.get("defaults", {}).get(role)
        if name:
            size = read_manifest(weights_dir / f"{name}{MANIFEST_SUFFIX}").total_bytes
            total += size
            print(f"  {role:9s} {name}: {size / 2**20:.1f} MiB")
    print(f"shipped restorers: {total / 2**20:.1f} MiB of {WEIGHTS_BUDGET_MIB:g} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
