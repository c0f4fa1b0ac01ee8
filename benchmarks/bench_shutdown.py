"""Do the nodes stop cleanly when stopped at a random moment, on a loaded machine? Writes
benchmarks/results/shutdown.md.

A simulated robot publishes camera, depth and state throughout. Each round starts one node
(inverse_dynamics_node, planner_node or sim_robot_node, in turn) with the shipped models, lets it run for a
random 0.5-4 s while it receives the robot's topics, stops it with SIGINT or SIGTERM (alternating) and
records the exit code and how long the stop took. ``--load N`` runs N busy-looping processes alongside,
since the shutdown races that CI met show up when the CPUs are short. A clean stop is exit code 0.

Run: .venv/bin/python benchmarks/bench_shutdown.py [--rounds 60] [--load 1] [--seed 0] [--nodes ...] [--out FILE]
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from video_planner.ros.process import start_node

RESULTS = Path(__file__).resolve().parent / 'results' / 'shutdown.md'
NODES = ('inverse_dynamics_node', 'planner_node', 'sim_robot_node')
READY = 'ready:'


def busy_loops(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, '-c', 'while True: pass']) for _ in range(n)]


def one_round(node: str, sig: int, run_s: float, logs: Path) -> tuple[int, float, str]:
    """(exit code, seconds from the signal to the exit, last log lines) of one start-run-stop."""
    params = {'arm': 'panda', 'rate_hz': 10.0} if node == 'sim_robot_node' else {'arm': 'panda'}
    proc = start_node(node, params, log_dir=logs, namespace='' if node != 'sim_robot_node' else 'spare')
    if not proc.wait_for_log(READY, 120.0):
        proc.stop()
        raise SystemExit(f'{node} did not start:\n{proc.log()[-3000:]}')
    time.sleep(run_s)
    started = time.monotonic()
    code = proc.stop(timeout_s=15.0, sig=sig)
    return code, time.monotonic() - started, proc.log()[-1500:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=60)
    parser.add_argument('--load', type=int, default=1, help='busy-looping processes alongside')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--nodes', nargs='+', choices=NODES, default=list(NODES), help='nodes to stop, in turn')
    parser.add_argument('--out', type=Path, default=RESULTS)
    parser.add_argument('--robot-rate', type=float, default=30.0,
                        help="the publishing robot's rate (Hz): more callbacks in flight when the signal comes")
    args = parser.parse_args()
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    os.environ.setdefault('ROS_DOMAIN_ID', str(random.Random(os.getpid()).randint(1, 101)))
    rng = random.Random(args.seed)
    logs = Path(tempfile.mkdtemp(prefix='bench_shutdown_'))
    robot = start_node('sim_robot_node', {'arm': 'panda', 'rate_hz': args.robot_rate}, log_dir=logs / 'robot')
    load = busy_loops(args.load)
    codes: dict[str, Counter] = defaultdict(Counter)
    stop_s: dict[str, list[float]] = defaultdict(list)
    failures = []
    try:
        if not robot.wait_for_log(READY, 60.0):
            raise SystemExit(f'sim_robot_node did not start:\n{robot.log()[-3000:]}')
        for i in range(args.rounds):
            node = args.nodes[i % len(args.nodes)]
            sig = (signal.SIGINT, signal.SIGTERM)[(i // len(args.nodes)) % 2]
            code, seconds, tail = one_round(node, sig, rng.uniform(0.5, 4.0), logs / f'round_{i:03d}')
            codes[node][code] += 1
            stop_s[node].append(seconds)
            if code != 0:
                failures.append((i, node, signal.Signals(sig).name, code, tail))
            print(f'round {i}: {node} {signal.Signals(sig).name} -> exit {code} in {seconds:.2f} s', flush=True)
    finally:
        for proc in load:
            proc.kill()
        robot_code = robot.stop()
    lines = ['# Clean shutdown under load', '',
             f'`python benchmarks/bench_shutdown.py --rounds {args.rounds} --load {args.load} --seed {args.seed} '
             f'--nodes {" ".join(args.nodes)} --robot-rate {args.robot_rate:g}`, '
             f'{time.strftime("%Y-%m-%d")}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, '
             f'{args.load} busy-looping process(es) alongside.', '',
             f'Each round starts a node with the shipped models while sim_robot_node publishes at '
             f'{args.robot_rate:g} Hz, lets it run '
             '0.5-4 s, then stops it with SIGINT or SIGTERM (alternating).', '',
             '| node | rounds | exit 0 | other exit codes | stop time median / max (s) |', '|---|---|---|---|---|']
    for node in args.nodes:
        times = sorted(stop_s[node])
        other = ', '.join(f'{c}: {n}' for c, n in sorted(codes[node].items()) if c != 0) or '-'
        if times:
            lines.append(f'| {node} | {len(times)} | {codes[node][0]} | {other} | '
                         f'{times[len(times) // 2]:.2f} / {times[-1]:.2f} |')
    lines += ['', f'The publishing sim_robot_node, stopped at the end: exit {robot_code}.']
    for i, node, sig_name, code, tail in failures:
        lines += ['', f'## Round {i}: {node}, {sig_name}, exit {code}', '', '```', tail.strip(), '```']
    args.out.write_text('\n'.join(lines) + '\n')
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
