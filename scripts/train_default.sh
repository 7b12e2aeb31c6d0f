#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 jepa_ros contributors
#
# Produce the default world model. The shipped `default` is this script's defaults
# (FAMILY=compact): play data from both sim cameras (front + side) -> `jepa-ros train-wm`, a
# compact JEPA trained end to end (encoder + predictor, prediction and rollout loss + SIGReg),
# 3000 steps (WM_STEPS) -> OUT/wm/model, then 1000 steps of fine-tuning under random scene
# appearances (FT_STEPS) -> OUT/wm_ft/model, then its state probe (PROBE_STEPS, `jepa-ros
# fit-probe`: latents -> end-effector position, fitted on the play data plus 200 episodes under
# `--variation train`; the model then recommends goal_state_weight 10 to the planner). On 2 CPU cores: collect ~2-4 min, train-wm 50-80 min (0.6-1.0 steps/s
# with 2 threads), fine-tuning ~17-20 min, the probe ~2 min. Held-out closed loop:
# `jepa-ros eval --checkpoint OUT/wm_ft/model`.
# FAMILY=vjepa2_ac makes the previous default (`vjepa2ac_rand2000`): the V-JEPA 2-AC predictor
# on a random-init tiny encoder (it beat the JEPA-pretrained encoder in benchmarks/levers.py:
# reach 13/20 against 0/20 at 1000 AC steps, 18/20 at 2000), trained 2000 steps in the two stages
# that were measured (AC_STAGES; "4000:1000 3000:3000" trains on to 3000 steps: reach 19/20 but
# pick-and-place 2/15 against 5/15, row len_rand_3000_shipped); train-ac ~20-50 min, then the
# held-out evaluation.
# Every stage resumes from its checkpoint if the script is run again.
# Usage: scripts/train_default.sh [OUT_DIR]   (env: PY, NPROC for torchrun on several GPUs/CPUs,
# SCALE=0.1 for a quick smoke version of the whole sequence, DEVICE=auto|cpu|cuda,
# FAMILY=compact|vjepa2_ac, WM_STEPS, FT_STEPS (0: no appearance fine-tuning), PROBE_STEPS (0: no
# state probe), CONTACT_PROB (contact play: push-throughs and
# grasp-and-lifts in the play data), and for vjepa2_ac: ENCODER=random|jepa (jepa: pretrain the
# encoder first, PRE_STEPS steps), AC_STAGES (space-separated SCHEDULE:STOP pairs run one after
# the other, each resuming the last: the cosine lr schedule spans SCHEDULE steps and the stage
# ends at step STOP), AC_BATCH, EXTRA_CAMERAS=side for a two-view model (front + side)).
# The default before issue 8 (JEPA encoder, H200, AC 9000 steps) ships as `h200_9000`.
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
VAR_EPISODES=$(scaled 200 10)
PRE_STEPS=${PRE_STEPS:-$(scaled 1000 40)}
AC_STAGES=${AC_STAGES:-"$(scaled 4000 60):$(scaled 1000 30) $(scaled 3000 45):$(scaled 2000 40)"}
AC_BATCH=${AC_BATCH:-32}
ENCODER=${ENCODER:-random}
FAMILY=${FAMILY:-compact}
WM_STEPS=${WM_STEPS:-$(scaled 3000 40)}
FT_STEPS=${FT_STEPS:-$(scaled 1000 20)}
FT_WARMUP=$(scaled 50 2)
PROBE_STEPS=${PROBE_STEPS:-$(scaled 4000 50)}
CONTACT_PROB=${CONTACT_PROB:-0}
DEVICE=${DEVICE:-auto}
EXTRA_CAMERAS=${EXTRA_CAMERAS:-}
[ "$FAMILY" = compact ] && [ -z "$EXTRA_CAMERAS" ] && EXTRA_CAMERAS=side
CAMS=()
[ -n "$EXTRA_CAMERAS" ] && CAMS=(--extra-cameras "$EXTRA_CAMERAS")
CAMS+=(--contact-prob "$CONTACT_PROB")

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
# Play under random scene colours, light and camera jitter (`--variation train`), for the compact
# model's state probe only (~40 s).
if [ "$FAMILY" = compact ] && [ "$PROBE_STEPS" -gt 0 ] && [ ! -f "$OUT/data/play_var/.done" ]; then
  "$PY" -m jepa_ros.data.collect --out "$OUT/data/play_var" --episodes "$VAR_EPISODES" \
    --steps 40 --seed 2 --variation train --no-append "${CAMS[@]}"
  touch "$OUT/data/play_var/.done"
fi

# 2'. The compact family trains encoder and predictor together; the planner reads its folder.
#     Then FT_STEPS of fine-tuning from that model with half of each batch under a random
#     scene appearance and an invariance term (what made the unseen-appearance scene plannable:
#     README "Compact world models"); FT_STEPS=0 stops at the first model.
if [ "$FAMILY" = compact ]; then
  "${RUN[@]}" jepa_ros.training.train_wm --data "$OUT/data/play" --out "$OUT/wm" \
    --steps "$WM_STEPS" --snapshot-every 1000 --device "$DEVICE"
  MODEL="$OUT/wm/model"
  if [ "$FT_STEPS" -gt 0 ]; then
    "${RUN[@]}" jepa_ros.training.train_wm --data "$OUT/data/play" --out "$OUT/wm_ft" \
      --init-from "$MODEL" --steps "$FT_STEPS" --lr 2e-4 --warmup-steps "$FT_WARMUP" \
      --augment appearance --augment-fraction 0.5 --invariance-weight 1 \
      --snapshot-every 500 --device "$DEVICE"
    MODEL="$OUT/wm_ft/model"
  fi
  if [ "$PROBE_STEPS" -gt 0 ]; then
    "$PY" -m jepa_ros.training.fit_probe --model "$MODEL" \
      --data "$OUT/data/play" "$OUT/data/play_var" --steps "$PROBE_STEPS"
  fi
  echo "model: $MODEL  (jepa-ros eval --checkpoint $MODEL)"
  exit 0
fi

# 2. The frozen encoder: random-init tiny preset (seed 0), or V-JEPA pretraining on the play
#    clips (tiny preset, 64 px, 4-frame clips) with ENCODER=jepa.
if [ "$ENCODER" = jepa ]; then
  "${RUN[@]}" jepa_ros.training.pretrain --data "$OUT/data/play" --out "$OUT/pretrain" \
    --steps "$PRE_STEPS" --device "$DEVICE"
  ENC="$OUT/pretrain/model"
else
  ENC=preset:tiny
fi

# 3. V-JEPA 2-AC predictor on the frozen encoder, stage by stage; the last stage's final
#    snapshot is the model.
for stage in $AC_STAGES; do
  SCHEDULE=${stage%%:*}
  STOP=${stage##*:}
  "${RUN[@]}" jepa_ros.training.train_ac --data "$OUT/data/play" --out "$OUT/ac" \
    --encoder "$ENC" --steps "$SCHEDULE" --stop-at "$STOP" --batch-size "$AC_BATCH" \
    --snapshot-every "$STOP" --device "$DEVICE"
done
MODEL="$OUT/ac/snapshots/$(printf 'step_%06d' "$STOP")"

# 4. Held-out evaluation (JSON next to the model).
"$PY" benchmarks/eval_world_model.py --model "$MODEL" --data "$OUT/data/heldout" \
  --out "$MODEL/eval.json" --energy-weighting changed
echo "model: $MODEL  (jepa-ros eval --checkpoint $MODEL; VJEPA2WorldModel.from_checkpoint)"
