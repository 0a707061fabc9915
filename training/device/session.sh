#!/usr/bin/env bash
# One call of a lent GPU machine (at most 10 minutes a command, 30 minutes a session):
#   hd     SPARNetHD (sparnethd_lite256) on packs/utk256-train7k, Eq. 14 degradations
#   small  SPARNet x8 and CAGFace x4 lite side by side on packs/utk128-train44
# Each run stops itself at its time limit (validate, checkpoint, export), then is
# evaluated on the carried validation pack. Everything that must come back goes to
# $OUT: fp16 weight shards (<= 15 MiB each) and their manifests, plus one
# results-*.tar.gz with the logs, evaluations and the GPU's description.
# docs/gpu-training.md has the plan, the device calls and what came back.
#
# A dry run on a CPU (tiny nets, seconds): see tests/test_device_session.py.
set -u -o pipefail

MODE=${1:?usage: session.sh hd|small}
PY=${PYTHON:-python3}
OUT=${OUT:-runs/device-out}
DEVICE=${REVIVE_DEVICE:-cuda}
AMP=${REVIVE_AMP:-bf16}
WORKERS=${REVIVE_WORKERS:-12}
WORK=${REVIVE_WORK:-/tmp/revive-device}
FAST=(--amp "$AMP" --channels-last)
[ "$DEVICE" = cpu ] && FAST=()
COMMON=(--device "$DEVICE" --no-progress --log-every 25 --val-every 100000000
        --sample-every 100000000 --checkpoint-every 100000000 --steps 100000000)
P256=${PACK_256:-packs/utk256-train7k} P256_VAL=${PACK_256_VAL:-packs/utk256-val}
P128=${PACK_128:-packs/utk128-train44} P128_VAL=${PACK_128_VAL:-packs/utk128-val}
mkdir -p "$OUT" "$WORK/logs"

describe() {
    { date -u; "$PY" -c 'import torch; print("torch", torch.__version__)'
      nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || true
      nproc; } > "$WORK/logs/machine.txt" 2>&1
}

# train NAME LOGNAME ARGS...: train, and if the fast path fails early, again in plain fp32.
train() {
    local name=$1 log=$2; shift 2
    if ! "$PY" -m training train "$@" "${FAST[@]}" "${COMMON[@]}" > "$WORK/logs/$log.txt" 2>&1; then
        echo "$name: the fast path failed; plain fp32 instead" | tee -a "$WORK/logs/$log.txt"
        tail -5 "$WORK/logs/$log.txt"
        "$PY" -m training train "$@" "${COMMON[@]}" >> "$WORK/logs/$log.txt" 2>&1 || return 1
    fi
    grep -E "finished at step|time limit" "$WORK/logs/$log.txt" | tail -2
}

evaluate() {  # evaluate MANIFEST PACK DEGRADATION JSON-NAME
    "$PY" -m training evaluate --weights "$1" --data "$2" --degradation "$3" --seed 0 \
        --metrics psnr,ssim --device "$DEVICE" --json "$WORK/logs/$4.json" \
        > "$WORK/logs/$4.txt" 2>&1 && tail -4 "$WORK/logs/$4.txt"
}

last_step() { sed -n 's/.*finished at step \([0-9]*\).*/\1/p' "$WORK/logs/$1.txt" | tail -1; }

bundle() {  # the logs and run folders' CSVs and configs, one file back
    for run in "$WORK"/run-*; do
        [ -d "$run" ] || continue
        mkdir -p "$WORK/logs/$(basename "$run")"
        cp "$run"/*.csv "$run"/config.json "$run"/*.png "$WORK/logs/$(basename "$run")/" 2>/dev/null
    done
    tar -czf "$OUT/results-$MODE.tar.gz" -C "$WORK" logs
}
trap bundle EXIT
describe

case "$MODE" in
hd)
    train sparnethd_lite256 hd sparnethd_lite256 --data "$P256" \
        --val-data "$P256_VAL" --val-count 64 --batch "${BATCH_HD:-16}" \
        --time-limit "${TIME_HD:-420}" --ema 0.999 --workers "$WORKERS" \
        --out "$WORK/run-hd" --name sparnethd_lite256-utkface --export-dir "$OUT" \
        ${EXTRA_HD:-}
    evaluate "$OUT/sparnethd_lite256-utkface.weights.json" "$P256_VAL" eq14 eval-hd
    ;;
small)
    half=$(( WORKERS / 2 ))
    # SPARNet x8, the paper's recipe: L2, Adam 2e-4, batch 64, flips/rescale/rotations.
    train sparnet_x8 x8 sparnet_x8_attn2d --data "$P128" \
        --val-data "$P128_VAL" --val-count 64 --batch "${BATCH_X8:-64}" \
        --time-limit "${TIME_SMALL:-450}" --workers "$half" \
        --out "$WORK/run-x8" --name sparnet_x8-utkface --export-dir "$OUT" \
        ${EXTRA_X8:-} &
    x8=$!
    # CAGFace: stage 1 alone for the first part, then both stages from that checkpoint.
    stage_time=$(( ${TIME_SMALL:-450} * 2 / 5 ))
    (train cagface_x4_lite cag1 cagface_x4_lite --data "$P128" \
        --val-data "$P128_VAL" --val-count 64 --batch "${BATCH_CAG:-32}" \
        --stage1-steps 100000000 --time-limit "$stage_time" --workers "$half" \
        --out "$WORK/run-cag" --no-export \
        ${EXTRA_CAG:-} \
     && train cagface_x4_lite cag2 cagface_x4_lite --resume --out "$WORK/run-cag" \
        --stage1-steps "$(last_step cag1)" \
        --time-limit $(( ${TIME_SMALL:-450} - stage_time )) \
        --name cagface_x4_lite-utkface --export-dir "$OUT") &
    cag=$!
    wait $x8; x8_rc=$?
    wait $cag; cag_rc=$?
    [ $x8_rc = 0 ] && evaluate "$OUT/sparnet_x8-utkface.weights.json" "$P128_VAL" \
        bicubic8x eval-x8
    [ $cag_rc = 0 ] && evaluate "$OUT/cagface_x4_lite-utkface.weights.json" \
        "$P128_VAL" bicubic4x eval-cagface
    [ $x8_rc = 0 ] && [ $cag_rc = 0 ]
    ;;
*)
    echo "unknown mode $MODE (hd | small)" >&2
    exit 2
    ;;
esac
