#!/usr/bin/env bash
# Set up (idempotent) and run the closed-loop planning demo on the built-in simulated robot.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
exec "$root/.venv/bin/video-planner" demo "$@"
