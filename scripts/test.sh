#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
cd "$root/video_planner"
set +e
"$root/.venv/bin/python" -m pytest test -p no:cacheprovider "$@"
rc=$?
set -e
# pytest exits 5 when it collected no tests: that must never pass as green.
if [ "$rc" -eq 5 ]; then echo "[test] no tests were collected: failing" >&2; exit 1; fi
exit "$rc"
