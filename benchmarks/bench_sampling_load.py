"""Per-plan sampling time idle and with one busy process per core alongside; writes
benchmarks/results/sampling_under_load.md.

A robot computer is rarely idle. torch's default thread count (every core, spinning OpenMP workers) slowed one
plan from 0.45 s to 49.7 s when other processes held the cores (issue 21). For each torch thread count (the
nodes' default from video_planner/model/threads.py, 1, and every core) this runs one planner-node-like plan at
a time (the shipped model, 1 candidate, the node's default steps and hint guidance) in a fresh process, first
with nothing of ours alongside, then with one busy-looping process per usable core, and reports the median and
worst time per plan. Target: loaded within 2x of idle with the default.

Run: .venv/bin/python benchmarks/bench_sampling_load.py [--plans 6] [--steps 10] [--limit 240] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from video_planner.model.threads import default_torch_threads, usable_cores

RESULTS = Path(__file__).resolve().parent / 'results' / 'sampling_under_load.md'

# One process per measurement: torch fixes its inter-op pool once per process.
WORKER = '''
import json, sys, time
import numpy as np
from video_planner.model.threads import set_torch_threads
threads = set_torch_threads(int(sys.argv[1]))
from video_planner.planner import PlannerConfig, PlanRequest, VideoPlanner
from video_planner.sim.arms import ARMS
from video_planner.sim.tasks import sample_task
from video_planner.sim.world import TabletopWorld
planner = VideoPlanner(PlannerConfig(arm='panda', num_candidates=1, sampling_steps=int(sys.argv[3])))
world = TabletopWorld('panda', seed=0, image_size=planner.image_size)
obs = world.reset(sample_task(ARMS['panda'], 'push', 0, split='heldout'))
world.close()
request = PlanRequest(instruction=obs.instruction, rgb=obs.rgb, depth_m=obs.depth_m, camera=obs.camera,
                      T_base_ee=obs.T_base_ee, num_candidates=1, seed=0)
planner.sample_video(request)  # warm-up: loads the model, the sentence encoder, oneDNN kernels
times = []
for i in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    planner.sample_video(request)
    times.append(time.perf_counter() - t0)
print(json.dumps({'threads': threads, 'times': times}))
'''


def busy_loops(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, '-c', 'while True: pass']) for _ in range(n)]


def measure(threads: int, plans: int, steps: int, load: int, limit_s: float) -> dict:
    """{'threads', 'times'}; times is None when the plans did not finish within ``limit_s``."""
    hogs = busy_loops(load)
    try:
        time.sleep(0.5 if load else 0.0)
        try:
            out = subprocess.run([sys.executable, '-c', WORKER, str(threads), str(plans), str(steps)],
                                 capture_output=True, text=True, timeout=limit_s)
        except subprocess.TimeoutExpired:
            return {'threads': threads, 'times': None}
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    if out.returncode != 0:
        raise SystemExit(f'worker failed:\n{out.stderr[-3000:]}')
    return json.loads(out.stdout.strip().splitlines()[-1])


def median(xs: list[float]) -> float:
    return sorted(xs)[len(xs) // 2]


def cell(times, args) -> str:
    if times is None:
        return f'over {args.limit:g} s for {args.plans} plans + loading'
    return f'{median(times):.2f} / {max(times):.2f}'


def load_average() -> str:
    try:
        return ' / '.join(f'{x:.1f}' for x in os.getloadavg())
    except OSError:
        return 'n/a'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--plans', type=int, default=6, help='timed plans per setting (after one warm-up)')
    parser.add_argument('--steps', type=int, default=10, help='sampler steps (the node default is 10)')
    parser.add_argument('--threads', type=int, nargs='+', default=None,
                        help='torch thread counts to compare (default: the nodes\' default, 1, every core)')
    parser.add_argument('--limit', type=float, default=240.0,
                        help='seconds one setting may take (model loading included); slower = reported as over it')
    parser.add_argument('--out', type=Path, default=RESULTS)
    args = parser.parse_args()
    cores = usable_cores()
    default = default_torch_threads(cores)
    counts = args.threads or sorted({default, 1, cores})
    rows, background = [], load_average()
    for threads in counts:
        idle = measure(threads, args.plans, args.steps, 0, args.limit)
        loaded = measure(threads, args.plans, args.steps, cores, args.limit)
        rows.append((threads, idle['times'], loaded['times']))
        print(f'{threads} thread(s): idle {cell(idle["times"], args)}, loaded {cell(loaded["times"], args)}',
              flush=True)

    lines = [
        '# Sampling time per plan, idle and under load',
        '',
        f'`python benchmarks/bench_sampling_load.py --plans {args.plans} --steps {args.steps} --limit {args.limit:g}`, '
        f'{time.strftime("%Y-%m-%d")}, {platform.machine()}, {cores} usable cores, torch default threads of the '
        f'nodes = {default}. Load average (1/5/15 min) when the run began: {background} (other users\' work was '
        'running too: "idle" means nothing of ours alongside).',
        '',
        'One plan = `VideoPlanner.sample_video` of the shipped model: 1 candidate, node-default hint guidance, '
        f'{args.steps} steps, in a fresh process per row. "Loaded" = {cores} busy-looping processes (one per '
        'core) alongside.',
        '',
        '| torch threads | idle median / max (s) | loaded median / max (s) | loaded / idle (median) |',
        '|---|---|---|---|',
    ]
    for threads, idle, loaded in rows:
        mark = ' (nodes\' default)' if threads == default else ''
        ratio = f'{median(loaded) / median(idle):.1f}x' if idle and loaded else 'n/a'
        lines.append(f'| {threads}{mark} | {cell(idle, args)} | {cell(loaded, args)} | {ratio} |')
    lines += ['', 'Target (issue 21): loaded within 2x of idle with the nodes\' default thread count.']
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text('\n'.join(lines) + '\n')
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
