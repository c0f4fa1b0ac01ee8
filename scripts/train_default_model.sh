#!/usr/bin/env bash
# Reproduces the shipped models in video_planner/models/ with this repository's own pipeline:
#   default.pt        the video model (config 'default', seen arms only)
#   idm_default.pt    the learned inverse-dynamics model
#   policy_default.pt the image+language->action baseline of the benchmark
#   grounding_default.pt  finds the object an instruction names (the video model's target hint)
#   destination.pt    finds where the instruction asks that object to go (place snapping)
# 1. generate the dataset (seeded; the held-out arm kinova is never in it), 2. train the three models
# side by side, 3. export inference-only copies (EMA weights, fp16) into MODELS_OUT.
# On 2 CPU cores this takes hours; on one GPU, give it MINUTES=60. The shipped video model was trained in
# stages on a smaller budget (CHANGELOG.md; MODEL_CARD.md at commit 50bd248 has each stage's command).
# VIEW=canonical trains both the video model and the inverse dynamics in the canonical view (the arm
# painted out, one canonical gripper drawn: video_planner.embodiment); MODEL_CARD.md says which view ships.
# Environment knobs: PYTHON, DATA, RUNS, MODELS_OUT, WORKERS, MINUTES (0 = no limit), SKIP_GENERATE=1, EPISODES, VIEW,
# VIDEO_STEPS, IDM_STEPS, POLICY_STEPS, POLICY_BATCH, BATCH, VIDEO_CONFIG.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then bash "$root/scripts/setup.sh"; PYTHON="$root/.venv/bin/python"; fi
export PYTHONPATH="$root/video_planner${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
DATA="${DATA:-$root/data/sim_train}"
RUNS="${RUNS:-$root/runs}"
MODELS_OUT="${MODELS_OUT:-$root/video_planner/models}"
WORKERS="${WORKERS:-2}"
MINUTES="${MINUTES:-0}"
BATCH="${BATCH:-64}"
VIEW="${VIEW:-camera}"                   # camera | canonical
VIDEO_CONFIG="${VIDEO_CONFIG:-default}"  # or tokens: the instruction's token states through cross-attention
export VIDEO_PLANNER_TEXT_CACHE="${VIDEO_PLANNER_TEXT_CACHE:-$RUNS/text_cache}"
limit=(); [ "$MINUTES" != 0 ] && limit=(--max-minutes "$MINUTES")
# On a GPU the clips live in its memory (no loader workers) and the forward pass runs in bf16.
gpu=(); "$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' \
  && gpu=(--data-on-device --precision bf16)
vp() { "$PYTHON" -m video_planner.cli "$@"; }

if [ "${SKIP_GENERATE:-0}" != 1 ]; then
  vp generate --arms panda iiwa xarm6 ur5 so100 --tasks reach push pick_place lift \
    --episodes "${EPISODES:-2000}" --seed 1000 --out "$DATA" --workers "$WORKERS"
fi
mkdir -p "$RUNS" "$MODELS_OUT"
vp train --model video --data "$DATA" --config "$VIDEO_CONFIG" --out "$RUNS/video" --steps "${VIDEO_STEPS:-60000}" \
  --batch-size "$BATCH" --workers "$WORKERS" --text-cache "$VIDEO_PLANNER_TEXT_CACHE" --clip-starts 8 --seed 0 --view "$VIEW" "${limit[@]}" "${gpu[@]}" \
  > "$RUNS/video.log" 2>&1 &
video=$!
vp train --model idm --data "$DATA" --out "$RUNS/idm" --steps "${IDM_STEPS:-20000}" --workers "$WORKERS" \
  --seed 0 --view "$VIEW" "${limit[@]}" > "$RUNS/idm.log" 2>&1 &
idm=$!
mkdir -p "$RUNS/policy" && cp -r "$VIDEO_PLANNER_TEXT_CACHE" "$RUNS/policy/text_cache" 2>/dev/null || true
vp train --model policy --data "$DATA" --out "$RUNS/policy" --steps "${POLICY_STEPS:-20000}" \
  --batch-size "${POLICY_BATCH:-32}" --workers 0 --seed 0 > "$RUNS/policy.log" 2>&1 &
policy=$!
vp train --model grounding --data "$DATA" --out "$RUNS/grounding" --steps "${GROUNDING_STEPS:-2500}" --clip-starts 2 \
  --recolourings 3 --seed 5 > "$RUNS/grounding.log" 2>&1 &
grounding=$!
vp train --model grounding --config "$root/video_planner/config/grounding_destination.yaml" --data "$DATA" \
  --out "$RUNS/destination" --steps "${GROUNDING_STEPS:-2500}" --clip-starts 2 --recolourings 3 --seed 5 \
  > "$RUNS/destination.log" 2>&1 &
destination=$!
status=0
wait "$video" || { echo "video training failed: $RUNS/video.log"; status=1; }
wait "$idm" || { echo "idm training failed: $RUNS/idm.log"; status=1; }
wait "$policy" || { echo "policy training failed: $RUNS/policy.log"; status=1; }
wait "$grounding" || { echo "grounding training failed: $RUNS/grounding.log"; status=1; }
wait "$destination" || { echo "destination grounding training failed: $RUNS/destination.log"; status=1; }
for pair in video:default idm:idm_default policy:policy_default grounding:grounding_default destination:destination; do
  run="${pair%%:*}"; name="${pair##*:}"
  [ -f "$RUNS/$run/model.pt" ] && "$PYTHON" -m video_planner.model.export "$RUNS/$run/model.pt" "$MODELS_OUT/$name.pt"
done
# Contact intents (planner/contact.py snaps a grasp, release, touch or push only for an instruction that asks
# for one) and which way a push goes: seconds each.
for intent in grasp place touch push way; do
  "$PYTHON" -m video_planner.planner.intent --intent "$intent" --out "$MODELS_OUT/${intent}_intent.npz" || status=1
done
tail -n 2 "$RUNS"/*.log
exit "$status"
