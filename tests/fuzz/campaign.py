"""``make fuzz``: the real ``revive`` command over 1,000+ broken and unusual files.

Every input is tried by several runs of the CLI, each in its own process, as a user
would type them: explicit files with ``-o`` and ``--report``; a quoted glob with
``--format png --scale 2``; a folder without ``-o`` (outputs beside the inputs);
``revive detect``; and a run stopped by SIGTERM at a random moment. After each run:

* tracebacks: any ``Traceback`` on stderr, or an exit code other than 0 / 1 (or 143
  after SIGTERM); a stderr line that is not Revive's own (``revive: ...``) counts as
  library chatter;
* inputs modified: any file present before the run (inputs, links to them) whose
  bytes changed, or that is gone;
* stray files: a new file that the run did not report as an output (or the report),
  any temporary ``*.part`` file, an output that does not load;
* one line each: every photo of the report has one status (ok with an output, or an
  error with exactly one stderr line), outputs are distinct.

Networks are the tests' tiny random ones (installed into a private REVIVE_DATA_DIR),
on the CPU; no network access, no GPU. Prints the totals; exit 1 on any problem.

    python -m tests.fuzz.campaign [--inputs 1100] [--batch 100] [--seed 0] [--keep DIR]
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.fuzz.corpus import add_links, write_corpus  # noqa: E402


def snapshot(folders: list[Path]) -> dict[bytes, str]:
    """sha256 of every file (links followed; a dangling link is its target's name)."""
    out = {}
    for folder in folders:
        if not folder.exists():
            continue
        for root, _dirs, files in os.walk(os.fsencode(folder)):
            for name in files:
                path = os.path.join(root, name)
                try:
                    with open(path, "rb") as fh:
                        out[path] = hashlib.sha256(fh.read()).hexdigest()
                except OSError:
                    out[path] = (
                        "unreadable:" + os.readlink(path).hex()
                        if os.path.islink(path)
                        else "unreadable"
                    )
    return out


class Campaign:
    def __init__(self, root: Path, seed: int) -> None:
        self.root = root
        self.rng = random.Random(seed)
        self.totals: collections.Counter[str] = collections.Counter()
        self.problems: list[str] = []
        self.env = {
            **os.environ,
            "REVIVE_DATA_DIR": str(root / "data"),
            "OMP_NUM_THREADS": "1",
            "PYTHONIOENCODING": "utf-8",  # strict: a name that cannot be printed would fail
        }
        self.env.pop("PYTHONWARNINGS", None)  # Python's default filters, as a user has them

    def problem(self, kind: str, text: str) -> None:
        self.totals[kind] += 1
        if len(self.problems) < 40:
            self.problems.append(f"{kind}: {text}")

    def run(self, args: list, *, timeout: float = 600, stop_after: float | None = None):
        command = [sys.executable, "-m", "engine", *args]
        start = time.perf_counter()
        proc = subprocess.Popen(
            [os.fsencode(str(a)) if isinstance(a, Path) else a for a in command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env,
            cwd=self.root,
        )
        try:
            if stop_after is not None:
                try:
                    proc.wait(stop_after)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            self.problem("hangs", f"{args[:3]} ran past {timeout} s")
        self.totals["runs"] += 1
        self.totals["run seconds"] += round(time.perf_counter() - start)
        return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    def check_streams(self, what: str, code: int, out: str, err: str, codes=(0, 1)) -> list[str]:
        if "Traceback" in err or "Traceback" in out or code not in codes:
            self.problem("tracebacks", f"{what}: exit {code}: {err.strip()[-600:]}")
        lines = [line for line in err.splitlines() if line.strip()]
        for line in lines:
            if not line.startswith("revive: "):
                self.problem("library chatter", f"{what}: {line[:200]}")
        return lines

    def check_files(
        self, what: str, before: dict, after: dict, allowed: set[bytes], loadable: bool
    ) -> None:
        for path, digest in before.items():
            if after.get(path) != digest:
                self.problem("inputs modified", f"{what}: {os.fsdecode(path)}")
        for path in set(after) - set(before):
            name = os.path.basename(path)
            if name.endswith(b".part") or name.startswith(b"."):
                self.problem("stray files", f"{what}: temporary file {os.fsdecode(path)}")
            elif path not in allowed and not loadable:
                self.problem("stray files", f"{what}: unreported {os.fsdecode(path)}")
            elif loadable and not _loads(path):
                self.problem("stray files", f"{what}: incomplete output {os.fsdecode(path)}")

    def check_report(self, what: str, report: Path, err_lines: list[str], args: int) -> set:
        try:
            data = json.loads(report.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            self.problem("one line each", f"{what}: no report ({exc})")
            return set()
        photos = data["photos"]
        outputs = set()
        for entry in photos:
            if entry["status"] == "ok":
                outputs.add(os.fsencode(entry["output"]))
                outputs.update(os.fsencode(e) for e in entry.get("extras", []))
            elif entry["status"] != "error" or not entry.get("error"):
                self.problem("one line each", f"{what}: odd entry {entry}")
        ok = sum(1 for e in photos if e["status"] == "ok")
        failed = len(photos) - ok
        if len(outputs) < ok:
            self.problem("one line each", f"{what}: two photos share an output")
        if len(err_lines) != failed + args:
            self.problem(
                "one line each",
                f"{what}: {failed} failed + {args} bad arguments, {len(err_lines)} stderr lines",
            )
        self.totals["photos restored"] += ok
        self.totals["photos refused (one line each)"] += failed
        self.totals["file runs"] += len(photos)
        return {os.path.abspath(p) if not os.path.isabs(p) else p for p in outputs}

    # ------------------------------------------------------------------ the runs

    def batch(self, k: int, folder: Path, files: list[Path]) -> None:
        out = self.root / "out" / f"{k}"
        reports = self.root / "reports"
        reports.mkdir(exist_ok=True)
        fast = ["--allow-no-faces", "--min-face-size", "24"]

        # 1. explicit files, -o, --report
        report = reports / f"{k}-files.json"
        before = snapshot([folder])
        code, so, se = self.run(["restore", *files, "-o", out / "files", "--report", report, *fast])
        lines = self.check_streams(f"batch {k} files", code, so, se)
        outputs = self.check_report(f"batch {k} files", report, lines, 0)
        self.check_files(f"batch {k} files", before, snapshot([folder, out]), outputs, False)

        # 2. a quoted glob, another format, enlarged
        report = reports / f"{k}-glob.json"
        before = snapshot([folder])
        code, so, se = self.run(
            ["restore", str(folder / "*"), "-o", out / "glob", "--format", "png", "--scale", "2",
             "--report", report, *fast]
        )  # fmt: skip
        lines = self.check_streams(f"batch {k} glob", code, so, se)
        outputs = self.check_report(f"batch {k} glob", report, lines, 0)
        self.check_files(
            f"batch {k} glob", before, snapshot([folder, out / "glob"]), outputs, False
        )

        # 3. detect (every other batch: MTCNN on every photo is the slow part)
        if k % 2 == 0:
            code, so, se = self.run(["detect", folder])
            self.check_streams(f"batch {k} detect", code, so, se)

        # 4. stopped by SIGTERM at a random moment: nothing half-written stays
        before = snapshot([folder])
        delay = self.rng.uniform(0.05, 8.0)
        code, so, se = self.run(["restore", folder, "-o", out / "stopped", *fast], stop_after=delay)
        self.check_streams(
            f"batch {k} SIGTERM", code, so, se, codes=(0, 1, 143, -15)
        )  # -15: before Python started
        self.totals["SIGTERM runs"] += 1
        self.check_files(
            f"batch {k} SIGTERM", before, snapshot([folder, out / "stopped"]), set(), True
        )

        # 5. the folder without -o: outputs beside the inputs (last: it adds files there)
        report = reports / f"{k}-beside.json"
        before = snapshot([folder])
        code, so, se = self.run(["restore", folder, "--report", report, *fast])
        lines = self.check_streams(f"batch {k} beside", code, so, se)
        outputs = self.check_report(f"batch {k} beside", report, lines, 0)
        self.check_files(f"batch {k} beside", before, snapshot([folder]), outputs, False)


def _loads(path: bytes) -> bool:
    from engine.errors import ReviveError
    from engine.io import load_photo

    try:
        load_photo(os.fsdecode(path))
    except ReviveError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=1100)
    parser.add_argument("--batch", type=int, default=100, help="files per run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", help="work in this folder and keep it (default: a temp one)")
    args = parser.parse_args(argv)

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="revive-fuzz-"))
    if args.keep and root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        from tests.tiny_models import install_tiny_weights

        install_tiny_weights(root / "data", ("hd",))
        corpus = write_corpus(root / "all", args.inputs, args.seed)
        campaign = Campaign(root, args.seed)
        batches = [corpus[i : i + args.batch] for i in range(0, len(corpus), args.batch)]
        tried = 0
        for k, chunk in enumerate(batches):
            folder = root / "in" / f"{k}"
            folder.mkdir(parents=True)
            files = []
            for path in chunk:
                target = Path(
                    os.fsdecode(os.path.join(os.fsencode(folder), os.fsencode(path.name)))
                )
                os.rename(path, target)
                files.append(target)
            files += add_links(folder, files)
            tried += len(files)
            campaign.batch(k, folder, files)
            done = campaign.totals
            print(
                f"batch {k + 1}/{len(batches)}: {tried} inputs, {done['runs']} runs, "
                f"{sum(done[k] for k in PROBLEMS)} problems, {time.perf_counter() - start:.0f} s",
                flush=True,
            )
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    totals = campaign.totals
    rows = [
        ("inputs tried", tried),
        ("CLI runs (restore, glob, detect, SIGTERM, beside)", totals["runs"]),
        ("photo runs in reports", totals["file runs"]),
        ("photos restored", totals["photos restored"]),
        ("photos refused, one line each", totals["photos refused (one line each)"]),
        ("runs stopped by SIGTERM", totals["SIGTERM runs"]),
        *((kind, totals[kind]) for kind in PROBLEMS),
        ("minutes", round((time.perf_counter() - start) / 60, 1)),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"\n{'fuzz campaign, seed ' + str(args.seed):<{width}}  count")
    for label, value in rows:
        print(
            f"{label:<{width}}  {value:>6,}"
            if isinstance(value, int)
            else f"{label:<{width}}  {value:>6}"
        )
    for line in campaign.problems:
        print(line)
    return 1 if any(totals[k] for k in PROBLEMS) else 0


PROBLEMS = (
    "tracebacks",
    "inputs modified",
    "stray files",
    "library chatter",
    "one line each",
    "hangs",
)


if __name__ == "__main__":
    sys.exit(main())
