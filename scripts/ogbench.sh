#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
#
# OGBench as an external scoreboard: play data from the env's own scripted play policy ->
# `jepa-ros train-wm` (compact family, frames FRAME_STRIDE env steps apart; each planned action
# then runs as FRAME_STRIDE env actions) -> `jepa-ros eval --env` on the env's five tasks, its
# goal images and its success check. Needs the optional ogbench package (make installs it).
# Usage: scripts/ogbench.sh [ENV] [OUT_DIR]
#   ENV defaults to visual-cube-single-v0; any OGBench visual manipulation env works unchanged
#   (visual-cube-double-v0, visual-scene-v0, visual-puzzle-3x3-v0, ...).
# Env: PY, EPISODES (play episodes, split over JOBS processes), STEPS (per episode), JOBS
# (parallel collectors: rendering is ~97 % of collection time), WM_STEPS, FRAME_STRIDE,
# EVAL_EPISODES (per task), EVAL_STEPS (env steps per episode; 0: the env's own limit),
# EVAL_SEED (never the seeds the planner settings were chosen on).
# On 2 CPU cores (cube-single): collect 100 x 200 steps ~15 min (2 jobs, ~13 steps/s each),
# train-wm ~1 s/step, eval 5 x 10 episodes ~15 min.
set -euo pipefail
ENV=${1:-visual-cube-single-v0}
OUT=${2:-runs/ogbench/$ENV}
PY=${PY:-.venv/bin/python}
EPISODES=${EPISODES:-100}
STEPS=${STEPS:-200}
JOBS=${JOBS:-2}
WM_STEPS=${WM_STEPS:-3000}
FRAME_STRIDE=${FRAME_STRIDE:-5}
EVAL_EPISODES=${EVAL_EPISODES:-10}
EVAL_STEPS=${EVAL_STEPS:-0}
EVAL_SEED=${EVAL_SEED:-7}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
export MUJOCO_GL=${MUJOCO_GL:-egl}
JR="$PY -m jepa_ros.cli"

mkdir -p "$OUT/play"
if [ "$(ls "$OUT/play" | grep -c '^episode_.*\.npz$' || true)" -lt "$EPISODES" ]; then
  per=$(( (EPISODES + JOBS - 1) / JOBS ))
  for j in $(seq 1 "$JOBS"); do
    OMP_NUM_THREADS=1 $JR collect --env "ogbench:$ENV" --episodes "$per" --steps "$STEPS" \
      --seed "$j" --out "$OUT/play_job$j" --no-append &
  done
  wait
  i=0
  for j in $(seq 1 "$JOBS"); do
    for f in "$OUT/play_job$j"/episode_*.npz; do
      mv "$f" "$(printf '%s/play/episode_%06d.npz' "$OUT" "$i")"; i=$((i + 1))
    done
    rmdir "$OUT/play_job$j"
  done
fi
$JR train-wm --data "$OUT/play" --out "$OUT/wm" --steps "$WM_STEPS" \
  --frame-stride "$FRAME_STRIDE" --threads 2
$JR eval --env "ogbench:$ENV" --checkpoint "$OUT/wm/model" --episodes "$EVAL_EPISODES" \
  --steps "$EVAL_STEPS" --seed "$EVAL_SEED" --out "$OUT/eval"
