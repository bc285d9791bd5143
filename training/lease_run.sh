#!/usr/bin/env bash
# Runs ON the lent GPU machine, from the repo root, with .lease/ carried (see training/lease.py):
#   bash training/lease_run.sh [MINUTES] [extra training/train.py flags, which override the ones below]
# Installs the carried PyAV wheel, trains from the shipped weights (with the carried teacher, if packed) (LEASE_RESUME=1: from checkpoints/ left by an
# earlier call on the same warm machine), then times the engine on the GPU. Everything lands in $OUT, even when
# training fails, so a lease is never spent for nothing.
set -uo pipefail
MINUTES=${1:-7}
[ $# -gt 0 ] && shift
OUT=${OUT:-$PWD/lease_out}
DEVICE=${LEASE_DEVICE:-cuda}
WORKERS=${LEASE_WORKERS:-$(( $(nproc) - 2 ))}
BENCH_ARGS=${LEASE_BENCH_ARGS:---size 1920x1080 1280x720 --runs 50}
mkdir -p "$OUT"

python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/lease-site \
    .lease/wheels/*.whl || { echo "could not install the carried wheels: run 'python -m training.lease pack'"; exit 3; }
export PYTHONPATH=/tmp/lease-site${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null
  nproc; cat .lease/MANIFEST.json
  python3 -c "import torch, av; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'av', av.__version__)"
} > "$OUT/machine.txt" 2>&1

START=(--init resources/models/restora-small.safetensors --fresh)
[ "${LEASE_RESUME:-0}" = 1 ] && START=()
# Run 14's recipe: learn from the carried peer where it restores better (training/teacher.py); pack --no-teacher omits it.
# --aligned-fraction 0.75: most JPEG patches on the 8-px block grid, as real JPEGs are (model card item 25).
TEACHER=()
for f in .lease/teacher/*; do [ -f "$f" ] && TEACHER=(--teacher "$f"); done
# The training loop stops itself at MINUTES; the limit only guards against a hang (worker start-up, final validation).
timeout --signal=INT $(( ${MINUTES%.*} * 60 + 150 )) python3 -m training.train --data .lease/data "${START[@]}" \
    --device "$DEVICE" --workers "$WORKERS" --batch 64 --patch 128 --codec-frames 3 --echo 3 --ema 0.999 --amp \
    --lr 1e-4 --lr-min 2e-6 --warmup 300 --codec-fraction 0.3 --monotone-weight 20 --identity-weight 0.5 \
    --loss log-mse --aligned-fraction 0.75 --save-minutes 2 --val-every 2000 --print-every 500 --minutes "$MINUTES" \
    "${TEACHER[@]}" "$@" 2>&1 \
    | tee "$OUT/train.log"
for f in model.safetensors ema.safetensors optim.pt log.json; do
    [ -f "checkpoints/$f" ] && cp "checkpoints/$f" "$OUT/"
done
# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
python3 main.py benchmark model --device "$DEVICE" $BENCH_ARGS --json > "$OUT/benchmark.json" 2> "$OUT/benchmark.err"
echo "benchmark rc $?"; cat "$OUT/benchmark.json"
ls -la "$OUT"
