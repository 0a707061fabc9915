"""One training of a lease, in its own process: train, export, evaluate, record, hand over.

``python -m tools.gpu_lease.worker SPEC.json`` (written by ``tools.gpu_lease.lease``):

1. trains ``plan.preset`` until the deadline (``training.loop.train(deadline=...)``:
   the run validates, checkpoints and exports itself like its last step), from the
   shipped weights when the lease continues them;
2. for the GAN recipe, keeps the discriminator (from the last checkpoint) as its own
   weight set, for the next lease;
3. evaluates the export on the carried validation faces (``revive evaluate``'s code,
   the weights' own degradation, seed 2024) beside the network's input;
4. adds this lease to the model card (``card["leases"]``: date, steps, samples,
   GPU-seconds, samples/s, losses, validation) and copies the weight set to ``$OUT``;
5. writes ``logs/ROLE.json``, the summary the lease's table is made of.

Exit status 0 when the weights are in ``$OUT`` (an evaluation that failed is
recorded); 1 when training failed, 3 when it ran out of GPU memory (the lease may
start it again: ``--attempt plain`` in fp32, ``--attempt half`` at half the batch);
4 when the weights could not be handed over.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from .plan import EVAL_METRICS, MAX_FILE_BYTES, ModelPlan

LOSS_SKIP = {"step", "wall_s", "cpu_s", "samples_per_s", "gpu_mem_gib", "gpu_reserved_gib"}


def log(role: str, message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {role}: {message}", flush=True)


def options_for(plan: ModelPlan, spec: dict[str, Any], attempt: str) -> dict[str, Any]:
    """The trainer options of this attempt: the plan's, fresh or continued, and the D."""
    init, disc = spec.get("init"), spec.get("disc")
    options = {**plan.options, **(plan.continued if init else plan.fresh)}
    if plan.gan:
        if disc:
            options["disc_weights"] = disc
        elif init:
            options["d_warmup_steps"] = plan.d_warmup_steps
    if plan.role == "cagface" and not init and "stage1_steps" not in options:
        # Stage 2 gets the last (1 - fraction) of the planned window, however long the
        # set-up takes; stage 1 has the rest (at least one step).
        deadline = float(spec["deadline"])
        window = max(1.0, deadline - time.time() - float(spec.get("setup_s", 20)))
        options["stage1_until"] = round(deadline - (1 - plan.stage1_fraction) * window, 2)
    if attempt == "plain":
        options.pop("gpu_degrade", None)
    return options


def train_config(plan: ModelPlan, spec: dict[str, Any], attempt: str, run_dir: Path):
    from training.config import TrainConfig

    plain = attempt == "plain"
    batch = plan.batch // 2 if attempt == "half" else plan.batch
    return TrainConfig(
        model=plan.preset,
        data=spec["data"],
        out=str(run_dir),
        steps=10**9,  # the deadline ends the run
        batch=max(1, batch),
        seed=int(spec["lease"]["number"]),  # another sample stream every lease
        val_data=spec["val_data"],
        val_count=plan.val_count,
        size=plan.size,
        lr=plan.lr,
        ema_decay=plan.ema,
        device=spec["device"],
        amp="off" if plain else spec["amp"],
        channels_last=bool(spec["channels_last"]) and not plain,
        workers=plan.workers,
        log_every=int(spec.get("log_every", 50)),
        val_every=10**9,
        sample_every=10**9,
        checkpoint_every=10**9,
        checkpoint_optimizer=False,  # only the last weights are read back (the D)
        keep_checkpoints=1,
        export_name=plan.export_name,
        export_dir=str(Path(spec["work"]) / "export"),
        init_weights=spec.get("init"),
        tensorboard=False,
        progress_bar=False,
        model_overrides=dict(plan.overrides),
        options=options_for(plan, spec, attempt),
    )


def save_discriminator(run_dir: Path, plan: ModelPlan, spec: dict[str, Any], step: int) -> Path:
    """The last checkpoint's D as a weight set (``NAME-disc``), for the next lease."""
    from engine.weights import save_weights
    from training.checkpoint import latest_checkpoint, load_checkpoint

    folder = latest_checkpoint(run_dir)
    if folder is None:
        raise RuntimeError(f"{run_dir} has no checkpoint to take the discriminator from")
    tensors, _ = load_checkpoint(folder)
    state = {k[len("net.D.") :]: v for k, v in tensors.items() if k.startswith("net.D.")}
    overrides = plan.options.get("disc_overrides")
    if overrides is None:
        from training.tasks.restorer import DISC_128

        overrides = DISC_128
    card = {
        "generator": plan.export_name,
        "steps": step,
        "lease": spec["lease"]["number"],
        "model_overrides": overrides,
        "note": "SPARNetHD discriminator of the GPU restorer; training state, not shipped",
    }
    return save_weights(
        state,
        Path(spec["work"]) / "disc",
        f"{plan.export_name}-disc",
        "sparnethd_discriminator",
        card=card,
    )


def evaluate_export(manifest: Path, plan: ModelPlan, spec: dict[str, Any]) -> dict[str, Any]:
    from training.evaluate import EVAL_SEED, EvalOptions, evaluate, write_report

    opts = EvalOptions(
        data=spec["val_data"],
        weights=str(manifest),
        metrics=EVAL_METRICS,
        size=plan.size,
        seed=EVAL_SEED,
        device=spec["device"],
        batch=64,
    )
    report = evaluate(opts)
    write_report(report, Path(spec["work"]) / "logs" / f"eval-{plan.role}.json")
    (name,) = [k for k in report.rows if k != "bicubic"]
    ours, given = report.rows[name], report.rows["bicubic"]
    return {
        "faces": report.setup["faces"],
        "degradation": report.setup["degradation"],
        "seed": report.setup["seed"],
        "psnr_y": round(ours["psnr_y"], 4),
        "ssim_y": round(ours["ssim_y"], 4),
        "input_psnr_y": round(given["psnr_y"], 4),
        "input_ssim_y": round(given["ssim_y"], 4),
        "gain_db": round(ours["psnr_y"] - given["psnr_y"], 4),
        "seconds": report.setup["seconds"],
    }


def log_figures(run_dir: Path) -> dict[str, Any]:
    """Median samples/s (first logged interval left out: cuDNN tuning), last losses."""
    from training.runlog import TRAIN_LOG, read_csv

    _, rows = read_csv(run_dir / TRAIN_LOG)
    if not rows:
        return {}
    rates = [r["samples_per_s"] for r in rows if "samples_per_s" in r]
    steady = rates[1:] or rates
    last = rows[-1]
    return {
        "samples_per_s": round(statistics.median(steady), 1) if steady else None,
        "losses": {k: round(v, 5) for k, v in last.items() if k not in LOSS_SKIP},
        "gpu_mem_gib": last.get("gpu_mem_gib"),
        "gpu_reserved_gib": last.get("gpu_reserved_gib"),
        "logged_rows": len(rows),
    }


def record_lease(manifest: Path, record: dict[str, Any], earlier: list[dict[str, Any]]) -> None:
    """Add this lease to the card (the shards' checksums are not touched)."""
    from engine.atomic import write_text_atomic

    data = json.loads(manifest.read_text(encoding="utf-8"))
    leases = [*earlier, record]
    data["card"]["leases"] = leases
    data["card"]["lease_total"] = {
        "leases": len(leases),
        "steps": sum(int(x.get("steps", 0)) for x in leases),
        "samples": sum(int(x.get("samples", 0)) for x in leases),
        "gpu_seconds": round(sum(float(x.get("gpu_seconds", 0)) for x in leases), 1),
    }
    write_text_atomic(manifest, json.dumps(data, indent=2) + "\n")


def hand_over(manifest: Path, out: Path) -> list[str]:
    """Copy the weight set into ``$OUT``; every file must come back (<= 16 MiB)."""
    from engine.weights import read_manifest

    info = read_manifest(manifest)
    out.mkdir(parents=True, exist_ok=True)
    names = []
    for path in [manifest, *info.shard_paths()]:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise RuntimeError(f"{path.name} is larger than the 16 MiB a returned file may be")
        shutil.copy2(path, out / path.name)
        names.append(path.name)
    return names


def run(spec: dict[str, Any], attempt: str) -> int:
    import torch

    from engine.weights import find_weights
    from training.loop import train

    plan = ModelPlan(**spec["plan"])
    role, work = plan.role, Path(spec["work"])
    run_dir = work / (f"run-{role}" if attempt == "fast" else f"run-{role}-{attempt}")
    if run_dir.exists():
        shutil.rmtree(run_dir)
    config = train_config(plan, spec, attempt, run_dir)
    summary: dict[str, Any] = {
        "role": role,
        "preset": plan.preset,
        "attempt": attempt,
        "batch": config.batch,
        "amp": config.amp,
        "channels_last": config.channels_last,
        "lr": plan.lr,
        "started_from": spec.get("init"),
        "disc_from": spec.get("disc"),
        "options": config.options,
    }
    log(role, f"{plan.preset}, batch {config.batch}, attempt {attempt}, options {config.options}")
    earlier = []
    if spec.get("init"):
        earlier = list(find_weights(spec["init"]).card.get("leases", []))
    t0 = time.time()
    try:
        result = train(config, deadline=float(spec["deadline"]))
    except Exception as err:
        summary.update(error=f"{type(err).__name__}: {err}", failed_after_s=time.time() - t0)
        (work / "logs" / f"{role}.json").write_text(json.dumps(summary, indent=2) + "\n")
        log(role, f"training failed: {type(err).__name__}: {err}")
        traceback.print_exc()
        oom = isinstance(err, torch.cuda.OutOfMemoryError) or "out of memory" in str(err)
        return 3 if oom else 1
    assert result.export is not None
    figures = log_figures(run_dir)
    hardware = find_weights(str(result.export)).card.get("hardware", "unknown")
    if torch.cuda.is_available() and config.device != "cpu":
        figures["gpu_mem_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    samples = result.step * config.batch
    summary.update(
        steps=result.step, samples=samples, train_seconds=round(result.wall_s, 1), **figures
    )
    log(role, f"trained {result.step} steps ({samples} samples) in {result.wall_s:.0f} s")
    if plan.gan:
        try:
            summary["disc"] = str(save_discriminator(run_dir, plan, spec, result.step))
        except Exception as err:  # the generator still ships
            summary["disc_error"] = f"{type(err).__name__}: {err}"
    validation: dict[str, Any] = {}
    if time.time() < float(spec["stop_by"]):
        try:
            validation = evaluate_export(result.export, plan, spec)
            log(role, f"evaluation: {validation}")
        except Exception as err:
            summary["eval_error"] = f"{type(err).__name__}: {err}"
            log(role, f"evaluation failed: {summary['eval_error']}")
            traceback.print_exc()
    else:
        summary["eval_error"] = "no time left for the evaluation"
    lease = spec["lease"]
    record = {
        "lease": lease["number"],
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "part": f"{lease['part'] + 1}/{lease['parts']}",
        "faces": lease.get("faces"),
        "steps": result.step,
        "samples": samples,
        "batch": config.batch,
        "gpu_seconds": round(result.wall_s, 1),  # wall time on a GPU shared with the others
        "shared_with": lease.get("trainings", 1) - 1,
        "samples_per_s": figures.get("samples_per_s"),
        "gpu_mem_gib": figures.get("gpu_mem_gib"),
        "losses": figures.get("losses", {}),
        "hardware": hardware,
        "amp": config.amp,
        "started_from": Path(spec["init"]).name.removesuffix(".weights.json")
        if spec.get("init")
        else None,
        "validation": validation,
    }
    summary["validation"] = validation
    summary["manifest"] = str(result.export)
    try:
        record_lease(result.export, record, earlier)
        summary["returned"] = hand_over(result.export, Path(spec["out"]))
    except Exception as err:  # not a training failure: no retry, the lease says so
        summary["error"] = f"hand-over failed: {type(err).__name__}: {err}"
        log(role, summary["error"])
    (work / "logs" / f"{role}.json").write_text(json.dumps(summary, indent=2) + "\n")
    if "returned" not in summary:
        return 4
    log(role, f"done: {summary['returned']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.gpu_lease.worker")
    parser.add_argument("spec", help="the JSON the lease wrote for this training")
    parser.add_argument("--attempt", default="fast", choices=("fast", "plain", "half"))
    args = parser.parse_args(argv)
    spec = json.loads(Path(args.spec).read_text(encoding="utf-8"))
    threads = spec.get("torch_threads")
    if threads:
        import cv2
        import torch

        torch.set_num_threads(int(threads))
        cv2.setNumThreads(1)
    return run(spec, args.attempt)


if __name__ == "__main__":
    sys.exit(main())
