"""Fuzz classes beyond photo files: hostile download servers, weights on disk that lie.

``download_case`` serves a file from the test server on 127.0.0.1 with a random way of
misbehaving (too many bytes, no length, a Range answered from elsewhere or ignored, a
cut, a stall, a redirect to another scheme or host, a wrong sha256, an error status)
and checks the promise: ``download`` returns the right bytes or raises one
``DownloadError`` line; the target exists only when whole and right; a ``.part`` that
stays is a prefix of the real file (it resumes correctly); nothing else is written.

``weights_case`` breaks a valid weight set at random (manifest fields: names that leave
the folder, sizes, sums, types; shard bytes: cut, flipped, header length rewritten)
and checks: ``read_manifest`` + ``load_model`` give a working model or one
``WeightsError`` line, never another exception, and no file outside the set's folder is
read (a shard copied outside would be).

Both are run by ``make fuzz`` (``python -m tests.fuzz.store``) and, a few dozen
cases, by the property tests of the suite.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import struct
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

MISBEHAVIOURS = (
    "honest", "oversized", "no_length", "wrong_range", "ignore_range", "cut", "stall",
    "redirect_scheme", "redirect_host", "redirect_ok", "bad_sha", "not_found", "short",
)  # fmt: skip
REDIRECTS = ("ftp://127.0.0.1/x", "file:///etc/passwd", "http://example.invalid/x",
             "gopher://127.0.0.1/x", "data:text/plain,hi", "//example.invalid/x")  # fmt: skip
MANIFEST_BREAKS = (
    "file_traversal", "file_absolute", "file_nul", "file_backslash", "name_traversal",
    "bytes_wrong", "bytes_type", "sha_wrong", "sha_type", "files_type", "drop_key",
    "preset_unknown", "not_json",
)  # fmt: skip
SHARD_BREAKS = ("cut", "flip", "header_huge", "header_small", "header_junk", "empty")


def _one_line(err: BaseException) -> bool:
    text = str(err)
    return bool(text) and "\n" not in text and "Traceback" not in text


def download_case(server, folder: Path, rng: random.Random) -> tuple[str, str | None]:
    """One hostile download; (misbehaviour, problem or None)."""
    from engine.download import DownloadError, download, part_path

    kind = rng.choice(MISBEHAVIOURS)
    data = rng.randbytes(rng.randint(1, 300_000))
    name = f"f{rng.randrange(10**9)}.bin"
    server.files[name] = data
    server.ignore_range = kind == "ignore_range"
    server.wrong_range = kind == "wrong_range"
    server.no_length = kind == "no_length"
    server.cut_after = rng.randint(0, len(data) - 1) if kind in ("cut", "short") else None
    server.redirects.clear()
    served = name
    if kind == "oversized":
        server.files[name] = data + rng.randbytes(rng.randint(1, 100_000))
    elif kind == "not_found":
        served = name + ".missing"
    elif kind.startswith("redirect"):
        target = server.url(name) if kind == "redirect_ok" else rng.choice(REDIRECTS)
        if kind == "redirect_host":
            target = "https://example.invalid/" + name
        served = "r-" + name
        server.redirects[served] = target
    gate = threading.Event() if kind == "stall" else None
    server.gate = gate
    target = folder / name
    resume_from = rng.choice([0, 0, rng.randint(1, len(data))])
    if resume_from:
        part_path(target).write_bytes(data[:resume_from])
    size = len(data) if rng.random() < 0.7 else None
    sha = hashlib.sha256(data).hexdigest() if rng.random() < 0.7 else None
    if kind == "bad_sha":
        sha = "0" * 64
    if kind == "oversized" and size is None and sha is None:
        data = server.files[name]  # nothing says it is too large: it is the file
    before = set(os.listdir(folder))
    try:
        got = download(
            server.url(served), target, size=size, sha256=sha, timeout=0.3, max_bytes=400_000
        )
    except DownloadError as err:
        if not _one_line(err):
            return kind, f"not one line: {err!r}"
        if target.exists():
            return kind, "refused, yet the target exists"
    except Exception as err:  # anything else is a bug
        return kind, f"{type(err).__name__}: {err}"
    else:
        if got.read_bytes() != data:
            return kind, "returned other bytes than the file"
    finally:
        if gate is not None:
            gate.set()
        server.gate = None
    part = part_path(target)
    if part.exists() and not data.startswith(part.read_bytes()):
        return kind, "a .part that cannot resume correctly stayed"
    extra = set(os.listdir(folder)) - before - {target.name, part.name}
    if extra:
        return kind, f"wrote {sorted(extra)}"
    for path in (target, part):
        path.unlink(missing_ok=True)
    return kind, None


def _valid_set(folder: Path) -> Path:
    import torch

    from engine.models import create_model
    from engine.weights import save_weights

    torch.manual_seed(0)
    net = create_model("sparnethd_tiny")
    return save_weights(net.state_dict(), folder, "set", "sparnethd_tiny", shard_bytes=40_000)


def _break_manifest(data: dict, kind: str, rng: random.Random) -> dict | str:
    files = data["files"]
    entry = rng.choice(files)
    if kind == "file_traversal":
        entry["file"] = "../" * rng.randint(1, 4) + entry["file"]
    elif kind == "file_absolute":
        entry["file"] = "/tmp/" + entry["file"]
    elif kind == "file_nul":
        entry["file"] += "\x00.txt"
    elif kind == "file_backslash":
        entry["file"] = "..\\" + entry["file"]
    elif kind == "name_traversal":
        data["name"] = "../" + data["name"]
    elif kind == "bytes_wrong":
        entry["bytes"] = rng.choice([0, entry["bytes"] + 1, 2**63])
    elif kind == "bytes_type":
        entry["bytes"] = rng.choice(["12", None, [], -5, 1.5])
    elif kind == "sha_wrong":
        entry["sha256"] = "f" * 64
    elif kind == "sha_type":
        entry["sha256"] = rng.choice([None, 5, ["x"]])
    elif kind == "files_type":
        data["files"] = rng.choice([None, "x", [1, 2], {"file": "x"}])
    elif kind == "drop_key":
        data.pop(rng.choice(["name", "preset", "dtype", "files"]))
    elif kind == "preset_unknown":
        data["preset"] = "no_such_preset"
    elif kind == "not_json":
        return "{ broken"
    return data


def _break_shard(path: Path, kind: str, rng: random.Random) -> None:
    data = bytearray(path.read_bytes())
    (length,) = struct.unpack("<Q", data[:8])
    if kind == "cut":
        data = data[: rng.randint(0, len(data) - 1)]
    elif kind == "flip":
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == "header_huge":
        data[:8] = struct.pack("<Q", rng.choice([2**63 - 1, 2**40, len(data) + 1]))
    elif kind == "header_small":
        data[:8] = struct.pack("<Q", rng.randint(0, max(0, length - 1)))
    elif kind == "header_junk":
        data[8 : 8 + length] = rng.randbytes(length)
    elif kind == "empty":
        data = bytearray()
    path.write_bytes(bytes(data))


def _resum(manifest: Path) -> None:
    """Sizes and sums made to match the broken shards: only the files themselves can refuse."""
    data = json.loads(manifest.read_text())
    for entry in data["files"]:
        shard = manifest.parent / entry["file"]
        body = shard.read_bytes()
        entry["bytes"], entry["sha256"] = len(body), hashlib.sha256(body).hexdigest()
    manifest.write_text(json.dumps(data))


def weights_case(folder: Path, rng: random.Random) -> tuple[str, str | None]:
    """One weight set broken at random; (break, problem or None)."""
    from engine.errors import ReviveError
    from engine.weights import load_model, read_manifest

    set_dir = folder / f"set-{rng.randrange(10**9)}" / "inner"
    manifest = _valid_set(set_dir)
    outside = set_dir.parent / "outside"  # copies of the shards one folder up
    outside.mkdir()
    for shard in set_dir.glob("*.safetensors"):
        (outside / shard.name).write_bytes(shard.read_bytes())
        (set_dir.parent / shard.name).write_bytes(shard.read_bytes())
    if rng.random() < 0.5:
        kind = rng.choice(MANIFEST_BREAKS)
        broken = _break_manifest(json.loads(manifest.read_text()), kind, rng)
        manifest.write_text(broken if isinstance(broken, str) else json.dumps(broken))
    else:
        kind = "shard_" + rng.choice(SHARD_BREAKS)
        shard = rng.choice(sorted(set_dir.glob("*.safetensors")))
        _break_shard(shard, kind.removeprefix("shard_"), rng)
        if rng.random() < 0.5:
            _resum(manifest)
            kind += "+resummed"
    try:
        info = read_manifest(manifest)
        load_model(info)
    except ReviveError as err:  # WeightsError, or an unknown preset's ModelNotFoundError
        if not _one_line(err):
            return kind, f"not one line: {err!r}"
        return kind, None
    except Exception as err:
        return kind, f"{type(err).__name__}: {err}"
    if any(p.parent != set_dir for p in info.shard_paths()) or kind.startswith(("file_", "name_")):
        return kind, f"a name outside the folder was taken: {info.name}, {info.files}"
    return kind, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--downloads", type=int, default=300)
    parser.add_argument("--weights", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from tests.model_server import model_server

    rng = random.Random(args.seed)
    tally: Counter[str] = Counter()
    problems = []
    with tempfile.TemporaryDirectory(prefix="revive-fuzz-store-") as tmp:
        os.environ["REVIVE_DATA_DIR"] = str(Path(tmp) / "data")
        with model_server() as server:
            for _ in range(args.downloads):
                kind, problem = download_case(server, Path(tmp), rng)
                tally[f"download {kind}"] += 1
                if problem:
                    problems.append(f"download {kind}: {problem}")
        for _ in range(args.weights):
            kind, problem = weights_case(Path(tmp), rng)
            tally[f"weights {kind.split('+')[0]}"] += 1
            if problem:
                problems.append(f"weights {kind}: {problem}")
    width = max(len(k) for k in tally)
    print(f"{'store fuzz, seed ' + str(args.seed):<{width}}  cases")
    for key in sorted(tally):
        print(f"{key:<{width}}  {tally[key]:>5}")
    print(f"{'problems':<{width}}  {len(problems):>5}")
    for line in problems[:40]:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
