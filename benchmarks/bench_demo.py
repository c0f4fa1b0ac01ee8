"""The README's demo, as a user runs it: how often does the closed loop through the three ROS nodes solve it?

Runs `video-planner demo --task T --seed S` (sim_robot_node, planner_node and inverse_dynamics_node as
processes, the instruction through a real PlanVideo action client, each plan executed by streaming its
commands, replanning until solved or `--max-replans`) for every task family and seed, and writes each run's
outcome, plans used and wall time, with the machine's load, to benchmarks/results/demo.md.

    python benchmarks/bench_demo.py --tasks reach push pick_place lift --seeds 0 1 2
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_demo(task: str, seed: int, max_replans: int, out: Path) -> dict:
    command = [sys.executable, '-m', 'video_planner.cli', 'demo', '--task', task, '--seed', str(seed),
               '--max-replans', str(max_replans), '--out', str(out)]
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    summary_path = out / 'summary.json'
    if done.returncode != 0 or not summary_path.is_file():
        return {'task': task, 'seed': seed, 'success': False, 'plans': 0, 'wall_s': time.monotonic() - started,
                'status': f'demo exited {done.returncode}: {done.stderr.strip()[-200:]}'}
    summary = json.loads(summary_path.read_text())
    details = summary.get('plans_detail', [])
    return {'task': task, 'seed': seed, 'success': bool(summary['success']), 'plans': int(summary['plans']),
            'wall_s': float(summary['total_s']),
            'status': details[-1].get('task_status', '') if details else ''}


def write_report(rows: list[dict], args: argparse.Namespace, load: tuple, minutes: float, path: Path) -> None:
    solved = sum(r['success'] for r in rows)
    lines = [
        '# The demo through ROS: closed loop on the simulated robot',
        '',
        f'Written by `benchmarks/bench_demo.py` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC in '
        f'{minutes:.1f} min; load average at the start {load[0]:.1f} / {load[1]:.1f} (1 / 5 min) on '
        f'{os.cpu_count()} cores. Command: `python benchmarks/bench_demo.py --tasks {" ".join(args.tasks)} '
        f'--seeds {" ".join(map(str, args.seeds))} --max-replans {args.max_replans}`',
        '',
        'Each row is one `video-planner demo` (panda; the three nodes as processes; each plan executed through '
        f'`ee_command` at 20 Hz into `sim_robot_node` at 10 Hz). Solved: {solved} of {len(rows)}.',
        '',
        '| task | seed | solved | plans | wall time | task status at the end |',
        '|---|---|---|---|---|---|',
    ]
    lines += [f"| {r['task']} | {r['seed']} | {'yes' if r['success'] else 'no'} | {r['plans']} | "
              f"{r['wall_s']:.0f} s | {r['status'].replace('|', '/')} |" for r in rows]
    path.write_text('\n'.join(lines) + '\n')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tasks', nargs='+', default=['reach', 'push', 'pick_place', 'lift'])
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--max-replans', type=int, default=10)
    parser.add_argument('--out', default=str(ROOT / 'benchmarks' / 'results' / 'demo.md'))
    args = parser.parse_args()
    load, started, rows = os.getloadavg(), time.monotonic(), []
    with tempfile.TemporaryDirectory(prefix='bench_demo_') as tmp:
        for task in args.tasks:
            for seed in args.seeds:
                rows.append(run_demo(task, seed, args.max_replans, Path(tmp) / f'{task}_{seed}'))
                print(rows[-1], flush=True)
    write_report(rows, args, load, (time.monotonic() - started) / 60, Path(args.out))
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
