"""IK throughput when tracking a smooth path, per arm; writes benchmarks/results/ik.md.

For each arm in the simulator's registry: a smooth closed Cartesian curve (a 3-D Lissajous figure
spanning the arm's tabletop workspace, with the tool orientation wobbling +-0.2 rad around its home
top-down orientation) is sampled at ``--steps`` poses, i.e. steps of a millimetre or two, like a
control loop tracking a motion. Each pose is solved warm-started from the previous solution with
restarts off, as the simulator tracks a motion. 5-DoF arms (SO-100) cannot follow an arbitrary
orientation, so they track position only. Reported: solves per second (wall clock, one process, one
thread), median and 95th-percentile iterations, success rate and errors. Also a cold-start figure
(random reachable pose from a random start, restarts on) for contrast.

Run: .venv/bin/python benchmarks/bench_ik.py [--steps 1000] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import pinocchio as pin

from video_planner.kinematics import ArmKinematics, IkConfig, IkSolver
from video_planner.sim.arms import ARMS, arm_label, get_arm

RESULTS = Path(__file__).resolve().parent / 'results' / 'ik.md'


def lissajous_path(T_home: np.ndarray, radius_m: float, steps: int) -> list[np.ndarray]:
    """Closed curve of poses around ``T_home``: position within ``radius_m``, rotation within 0.2 rad."""
    poses = []
    for s in np.linspace(0.0, 2.0 * np.pi, steps):
        T = T_home.copy()
        T[:3, 3] += radius_m * np.array([np.sin(s), 0.8 * np.sin(2 * s), 0.5 * np.sin(3 * s)])
        wobble = 0.2 * np.array([np.sin(2 * s), np.sin(3 * s + 1.0), np.sin(s + 2.0)])
        T[:3, :3] = T_home[:3, :3] @ pin.exp3(wobble)
        poses.append(T)
    return poses


def bench_arm(name: str, steps: int, repeats: int) -> dict:
    spec = get_arm(name)  # a registered arm or an arm YAML path
    arm = ArmKinematics.from_urdf(spec.urdf_path, spec.base_frame, spec.ee_frame)
    q_home = np.array(spec.home_q)
    targets = lissajous_path(arm.fk(q_home), 0.8 * spec.workspace_radius, steps)
    step_mm = np.median([np.linalg.norm(b[:3, 3] - a[:3, 3]) for a, b in zip(targets, targets[1:])]) * 1e3
    solver = IkSolver(arm, IkConfig(restarts=0, position_only=arm.n < 6))
    best_wall, best_cpu = np.inf, np.inf
    for _ in range(repeats):  # the machine is shared: keep the least-disturbed pass
        q = q_home.copy()
        iterations, successes, pos_err, rot_err = [], 0, [], []
        wall, cpu = time.perf_counter(), time.process_time()
        for T in targets:
            result = solver.solve(T, q)
            q = result.q
            iterations.append(result.iterations)
            successes += result.success
            pos_err.append(result.position_error_m)
            rot_err.append(result.rotation_error_rad)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)

    cold_solver = IkSolver(arm, IkConfig())
    rng = np.random.default_rng(1)
    cold_n, cold_ok = 100, 0
    cold_start = time.perf_counter()
    for _ in range(cold_n):
        target = arm.fk(arm.random_configuration(rng))
        cold_ok += cold_solver.solve(target, arm.random_configuration(rng)).success
    cold_elapsed = time.perf_counter() - cold_start
    return dict(arm=arm_label(name), dof=arm.n, steps=steps, step_mm=step_mm, position_only=arm.n < 6,
                solves_per_s=steps / best_wall, solves_per_cpu_s=steps / best_cpu, median_iter=float(np.median(iterations)),
                p95_iter=float(np.percentile(iterations, 95)), success=successes / steps,
                max_pos_err_mm=1e3 * max(pos_err), max_rot_err_mrad=1e3 * max(rot_err),
                cold_success=cold_ok / cold_n, cold_ms=1e3 * cold_elapsed / cold_n)


def write_report(rows: list[dict], steps: int, repeats: int) -> str:
    header = ('| arm | DoF | warm solves/s (wall) | warm solves/s (CPU) | median iters | p95 iters | warm success | max pos err (mm) '
              '| max rot err (mrad) | median step (mm) | cold success | cold ms/solve |')
    lines = [
        '# IK benchmark (written by benchmarks/bench_ik.py)',
        '',
        f'Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared), '
        f'Python {platform.python_version()}; one process, single thread; load average at the end '
        f'{os.getloadavg()[0]:.1f}. Date: {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}.',
        '',
        f'Warm: {steps} poses (best of {repeats} passes; wall clock and process CPU time) along a closed Lissajous curve over the arm\'s workspace (tool wobbling '
        '+-0.2 rad; position only for 5-DoF arms), each solved from the previous solution '
        '(IkConfig(restarts=0), tolerances 0.1 mm / 1 mrad). Cold: 100 random reachable poses from '
        'random starts (default IkConfig, up to 10 random restarts).',
        '',
        header,
        '|' + '---|' * (header.count('|') - 1),
    ]
    for r in rows:
        lines.append(f"| {r['arm']} | {r['dof']} | {r['solves_per_s']:.0f} | {r['solves_per_cpu_s']:.0f} | "
                     f"{r['median_iter']:.0f} | "
                     f"{r['p95_iter']:.0f} | {100 * r['success']:.1f} % | {r['max_pos_err_mm']:.3f} | "
                     f"{'n/a (position only)' if r['position_only'] else format(r['max_rot_err_mrad'], '.3f')} | "
                     f"{r['step_mm']:.2f} | {100 * r['cold_success']:.0f} % | "
                     f"{r['cold_ms']:.2f} |")
    lines += ['', f"Target: >= 5000 warm-started solves/s per arm. Slowest arm: "
              f"{min(r['solves_per_s'] for r in rows):.0f} solves/s wall clock, "
              f"{min(r['solves_per_cpu_s'] for r in rows):.0f} per CPU second.", '']
    return '\n'.join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=1000)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--arms', nargs='*', default=list(ARMS), help='registered arm names or arm YAML paths')
    args = parser.parse_args()
    rows = []
    for name in args.arms:
        row = bench_arm(name, args.steps, args.repeats)
        print(f"{row['arm']}: {row['solves_per_s']:.0f} solves/s ({row['solves_per_cpu_s']:.0f} per CPU s), median {row['median_iter']:.0f} iterations, "
              f"success {100 * row['success']:.1f} %, cold success {100 * row['cold_success']:.0f} %")
        rows.append(row)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(write_report(rows, args.steps, args.repeats))
    print(f'wrote {RESULTS}')


if __name__ == '__main__':
    main()
