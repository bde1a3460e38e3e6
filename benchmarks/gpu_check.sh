#!/usr/bin/env bash
# The GPU measurements in one run (about 8 minutes on one H200), for a session that is lent a GPU:
#   bash benchmarks/gpu_check.sh            # results in benchmarks/results/gpu-<date>/ (or $OUT)
# (a CPU smoke run of the script itself: DEVICE=cpu BATCH=8 STEPS=1 TRAIN_STEPS=3 COST_RES=32
#  COST_BATCHES=8 DOMAIN_STEPS=1 OUT=/tmp/gpu-check bash benchmarks/gpu_check.sh)
# 1. the GPU tests (bf16/fp16 correctness), 2. ganx vs the textbook loop for DCGAN-64 at batch 1024
# (REFERENCES.md's ceiling: 83k img/s bf16 + channels_last), 3. `ganx train` end to end at that
# setting, 4. cost growth over resolution x batch, 5. each domain's default step vs its textbook
# loop, 6. DistributedDataParallel over NCCL (one process per GPU the machine has).
# Each part writes its own file, so a part that fails or runs out of time loses nothing else.
set -uo pipefail
cd "$(dirname "$0")/.."
DEVICE=${DEVICE:-cuda}
STEPS=${STEPS:-20}           # timed steps per round in the bench parts
TRAIN_STEPS=${TRAIN_STEPS:-400}
BATCH=${BATCH:-1024}
COST_RES=${COST_RES:-32,64,128}
COST_BATCHES=${COST_BATCHES:-64,256,1024,4096}
DOMAIN_STEPS=${DOMAIN_STEPS:-10}
GANX=${GANX:-ganx}
PY=${PY:-python}
OUT_DIR=${OUT:-benchmarks/results/gpu-$(date +%Y%m%d)}
mkdir -p "$OUT_DIR"
log() { echo "== $*" | tee -a "$OUT_DIR/summary.txt"; }

$GANX info > "$OUT_DIR/info.txt" 2>&1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >> "$OUT_DIR/info.txt" 2>&1

log "1. GPU tests"
$PY -m pytest -q -m gpu tests > "$OUT_DIR/gpu-tests.txt" 2>&1; tail -1 "$OUT_DIR/gpu-tests.txt" | tee -a "$OUT_DIR/summary.txt"

log "2. DCGAN-64, batch 1024: ganx vs textbook"
$GANX bench --plugin image --device "$DEVICE" --set resolution=64 --batch-size "$BATCH" \
    --steps "$STEPS" --warmup 5 --rounds 3 --precision fp32 --precision bf16 --precision fp16 \
    --out "$OUT_DIR/image-64px-b1024.md" > /dev/null 2>> "$OUT_DIR/errors.txt"
cat "$OUT_DIR/image-64px-b1024.md" >> "$OUT_DIR/summary.txt" 2>/dev/null

log "3. ganx train end to end, DCGAN-64, batch 1024, precision/memory format auto"
$GANX train --plugin image --device "$DEVICE" --set resolution=64 --batch-size "$BATCH" \
    --steps "$TRAIN_STEPS" --set log_every=50 --set sample_every=100000 --set eval_every=-1 \
    --run-dir "$OUT_DIR/train-64px" --no-progress > "$OUT_DIR/train-64px.txt" 2>&1
grep -o '"samples_per_s": [0-9.]*' "$OUT_DIR/train-64px/metrics.jsonl" | tail -3 | tee -a "$OUT_DIR/summary.txt"

log "4. cost growth"
$PY benchmarks/cost_growth.py --device "$DEVICE" --precision bf16 --memory-format channels_last \
    --resolutions "$COST_RES" --batches "$COST_BATCHES" --steps "$STEPS" --rounds 2 \
    --out "$OUT_DIR/cost-growth.md" > /dev/null 2>> "$OUT_DIR/errors.txt"
cat "$OUT_DIR/cost-growth.md" >> "$OUT_DIR/summary.txt" 2>/dev/null

log "5. each domain's default step"
for plugin in text audio medical; do
    $GANX bench --plugin "$plugin" --device "$DEVICE" --steps "$DOMAIN_STEPS" --warmup 3 --rounds 3 \
        --precision fp32 --precision bf16 --out "$OUT_DIR/$plugin-default.md" \
        > /dev/null 2>> "$OUT_DIR/errors.txt"
    cat "$OUT_DIR/$plugin-default.md" >> "$OUT_DIR/summary.txt" 2>/dev/null
done

log "6. DDP over NCCL"
NGPU=$(nvidia-smi -L 2>/dev/null | wc -l)
if [ "${NGPU:-0}" -ge 1 ]; then
    $PY -m torch.distributed.run --standalone --nproc-per-node "$NGPU" -m ganx train \
        --plugin image --device cuda --batch-size 256 --steps 100 --set eval_every=-1 \
        --run-dir "$OUT_DIR/ddp" --no-progress > "$OUT_DIR/ddp.txt" 2>&1
    echo "ddp over $NGPU GPU(s): exit $?; $(grep -c '"kind": "train"' "$OUT_DIR/ddp/metrics.jsonl" 2>/dev/null) log rows" | tee -a "$OUT_DIR/summary.txt"
fi
log "done: $OUT_DIR"
