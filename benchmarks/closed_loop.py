"""Closed-loop benchmark: success of the video planner vs its baselines on the simulator, one command.

Writes benchmarks/results/closed_loop.{json,md,png}, closed_loop_{success,failure}.gif and the
closed-loop section of BENCHMARKS.md (between its markers; the rest of the file is kept). Every flag of
`video-planner eval` works here too (e.g. --episodes 2 --workers 2, --arms panda --families reach).

Run: .venv/bin/python benchmarks/closed_loop.py            # the suite in config/eval.yaml
"""
from __future__ import annotations

import sys
from pathlib import Path

from video_planner.evaluation.suite import main

ROOT = Path(__file__).resolve().parents[1]

if __name__ == '__main__':
    argv = sys.argv[1:]
    if '--out' not in argv:
        argv += ['--out', str(ROOT / 'benchmarks' / 'results')]
    if '--markdown' not in argv:
        argv += ['--markdown', str(ROOT / 'BENCHMARKS.md')]
    sys.exit(main(argv))
