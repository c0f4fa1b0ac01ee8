"""Every arm as data: what `video-planner arm check` derives and how long it takes, and whether the
scripted expert succeeds on it; writes benchmarks/results/arms.md.

Per arm (registered names or arm YAML paths): `arm check` run from scratch (no derivation cache: URDF
checks, TCP / workspace / home search where the file leaves them out, pybullet load, cold IK over
`--ik-samples` random reachable poses), then the scripted expert on `--episodes` instances of every
task family (the seeds of tests/test_sim_expert_matrix.py, then more).

Run: .venv/bin/python benchmarks/bench_arms.py [--arms z1 xarm7 ...] [--episodes 3] [--ik-samples 100]
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / 'results' / 'arms.md'


def expert_success(arm: str, episodes: int) -> tuple[int, int, list[str]]:
    from video_planner.sim.expert import ScriptedExpert
    from video_planner.sim.tasks import TASK_FAMILIES, sample_task
    from video_planner.sim.world import TabletopWorld
    wins, failed = 0, []
    with TabletopWorld(arm, seed=0, image_size=32) as world:
        for family in TASK_FAMILIES:
            for k in range(episodes):
                seed = 1000 * k + 7 + 13 * TASK_FAMILIES.index(family)
                task = sample_task(world.spec, family, np.random.default_rng(seed))
                world.reset(task, seed=seed)
                ok = ScriptedExpert(world).run(task)
                wins += ok
                if not ok:
                    failed.append(f'{family}/{seed}')
    return wins, episodes * len(TASK_FAMILIES), failed


def main() -> None:
    from video_planner.sim.arms import ARMS, HELD_OUT_ARMS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--arms', nargs='*', default=list(ARMS), help='registered arm names or arm YAML paths')
    parser.add_argument('--episodes', type=int, default=3, help='expert episodes per task family')
    parser.add_argument('--ik-samples', type=int, default=100)
    args = parser.parse_args()
    # A private derivation cache: every check derives from scratch, as for a new arm.
    os.environ['VIDEO_PLANNER_CACHE'] = tempfile.mkdtemp(prefix='bench_arms_')
    from video_planner.sim.arm_check import check_arm
    rows = []
    for arm in args.arms:
        check = check_arm(arm, ik_samples=args.ik_samples).values
        start = time.perf_counter()
        wins, n, failed = expert_success(arm, args.episodes)
        row = dict(arm=check['name'], held_out=arm in HELD_OUT_ARMS, dof=len(check['joints']),
                   seconds=check['seconds'], ik=check['cold_ik_success'], radius=check['workspace']['radius'],
                   wins=wins, n=n, failed=failed, expert_s=time.perf_counter() - start)
        print(f"{row['arm']}: arm check {row['seconds']:.1f} s, cold IK {100 * row['ik']:.0f} %, "
              f"expert {wins}/{n} {failed or ''}", flush=True)
        rows.append(row)
    lines = ['# Arms as data: `video-planner arm check` and the scripted expert per arm', '',
             f'`python benchmarks/bench_arms.py --episodes {args.episodes} --ik-samples {args.ik_samples}` on '
             f'{platform.processor() or platform.machine()} ({os.cpu_count()} cores, shared), one process. '
             'Arm check from scratch (no derivation cache). Cold IK: random reachable poses (FK of random '
             'joints) from random starts, 10 restarts. Expert: the scripted expert through IK + joint control, '
             f'{args.episodes} instance(s) per task family.', '',
             '| arm | held out | DoF | arm check (s) | cold IK success | workspace radius (m) | expert success |',
             '|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['arm']} | {'yes' if r['held_out'] else 'no'} | {r['dof']} | {r['seconds']:.1f} | "
                     f"{100 * r['ik']:.0f} % | {r['radius']:.2f} | {r['wins']}/{r['n']} |")
    failures = [f"- {r['arm']}: {', '.join(r['failed'])}" for r in rows if r['failed']]
    if failures:
        lines += ['', 'Expert failures (family/seed):', ''] + failures
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text('\n'.join(lines) + '\n')
    print(f'wrote {RESULTS}')


if __name__ == '__main__':
    main()
