#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
#
# Produce the default world model: play data -> JEPA pretraining -> AC predictor -> evaluation.
# Sized for a 2-core CPU (about an hour on a quiet machine): collect ~2-4 min, pretrain 1000
# steps 6-20 min, train-ac 3000 steps ~30-50 min (2 torch threads, ~1-2 steps/s), eval ~2 min.
# Every stage resumes from its checkpoint if the script is run again.
# Usage: scripts/train_default.sh [OUT_DIR]   (env: PY, NPROC for torchrun on several GPUs/CPUs,
# SCALE=0.1 for a quick smoke version of the whole sequence, PRE_STEPS / AC_STEPS / AC_BATCH to
# override the step counts and batch, DEVICE=auto|cpu|cuda, EXTRA_CAMERAS=side for a two-view
# model (front + side; use AC_BATCH=16 to keep the CPU time of one step))
# The shipped jepa_ros/assets/models/default is this recipe (see its README.md); the previous
# default (H200, AC_STEPS=9000) is the `reference_gpu` row of benchmarks/levers.py.
set -euo pipefail
OUT=${1:-runs/default}
PY=${PY:-.venv/bin/python}
NPROC=${NPROC:-1}
SCALE=${SCALE:-1}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
export MUJOCO_GL=${MUJOCO_GL:-egl}

scaled() { "$PY" -c "import sys; print(max(int(sys.argv[2]), int(round(float(sys.argv[1]) * $SCALE))))" "$1" "$2"; }
EPISODES=$(scaled 400 20)
VAL_EPISODES=$(scaled 40 4)
PRE_STEPS=${PRE_STEPS:-$(scaled 1000 40)}
AC_STEPS=${AC_STEPS:-$(scaled 3000 60)}
AC_BATCH=${AC_BATCH:-32}
DEVICE=${DEVICE:-auto}
EXTRA_CAMERAS=${EXTRA_CAMERAS:-}
CAMS=()
[ -n "$EXTRA_CAMERAS" ] && CAMS=(--extra-cameras "$EXTRA_CAMERAS")

if [ "$NPROC" -gt 1 ]; then
  RUN=("$PY" -m torch.distributed.run --standalone --nproc_per_node "$NPROC" -m)
else
  RUN=("$PY" -m)
fi

# 1. Play data (train) and a separate held-out set with another seed (~2 min on 2 cores).
[ -f "$OUT/data/play/.done" ] || {
  "$PY" -m jepa_ros.data.collect --out "$OUT/data/play" --episodes "$EPISODES" --steps 40 \
    --seed 0 --no-append "${CAMS[@]}"
  touch "$OUT/data/play/.done"; }
[ -f "$OUT/data/heldout/.done" ] || {
  "$PY" -m jepa_ros.data.collect --out "$OUT/data/heldout" --episodes "$VAL_EPISODES" \
    --steps 40 --seed 1 --no-append "${CAMS[@]}"
  touch "$OUT/data/heldout/.done"; }

# 2. V-JEPA pretraining of the encoder (tiny preset, 64 px, 4-frame clips).
"${RUN[@]}" jepa_ros.training.pretrain --data "$OUT/data/play" --out "$OUT/pretrain" \
  --steps "$PRE_STEPS" --device "$DEVICE"

# 3. V-JEPA 2-AC predictor on the frozen pretrained encoder.
"${RUN[@]}" jepa_ros.training.train_ac --data "$OUT/data/play" --out "$OUT/ac" \
  --encoder "$OUT/pretrain/model" --steps "$AC_STEPS" --batch-size "$AC_BATCH" \
  --snapshot-every 1000 --device "$DEVICE"

# 4. Held-out evaluation (JSON next to the model).
"$PY" benchmarks/eval_world_model.py --model "$OUT/ac/model" --data "$OUT/data/heldout" \
  --out "$OUT/ac/eval.json" --energy-weighting changed
echo "model: $OUT/ac/model  (load with VJEPA2WorldModel.from_checkpoint)"
