#!/usr/bin/env bash
# One lease of a lent GPU, one command (docs/gpu-training.md):
#
#   bash tools/gpu_lease/session.sh            # all three restorers, 540 s in all
#   bash tools/gpu_lease/session.sh restorer   # only some of them (a retry)
#
# Trains the default restorer (sparnet_blind128_l, SPARNetHD's GAN recipe), SPARNet x8
# (sparnet_x8_lite) and CAGFace x4 (cagface_x4_lite) at the same time on the one GPU,
# each until its own deadline; exports fp16 shards, evaluates them on the carried
# validation faces, records the lease in each model card and leaves in $OUT the weight
# sets and results-lease.tar.gz (7 files of at most 15 MiB). The plan, the time shares
# and the lease counter: tools/gpu_lease/plan.py. Knobs (environment): OUT, LEASE_SECONDS,
# LEASE_PACK, LEASE_VAL_PACK, LEASE_PLAN (JSON), REVIVE_WORK, REVIVE_DEVICE, REVIVE_AMP,
# PYTHON. A dry run on a CPU with tiny nets: tests/test_device_session.py.
set -u -o pipefail
cd "$(dirname "$0")/../.." || exit 2
exec "${PYTHON:-python3}" -m tools.gpu_lease.lease "$@"
