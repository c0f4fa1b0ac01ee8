"""Stepping aside (planner/step_aside.py): on the benchmark's instances where the arm hides the named object
at the start, video plans with and without the step aside.

Finds, among the closed-loop suite's instances (config/eval.yaml; --seeds for others), those whose first
frame shows fewer than HIDDEN_PX pixels of the named object (the simulator's segmentation), runs
`video_learned` on them with `step_aside` on and off, and writes benchmarks/results/step_aside.md: per arm,
the hidden instances, solved each way, paired (only on / only off, exact McNemar p), and the step asides
taken. The rest of the suite is `video-planner eval`'s business (step_aside is on there).

Run: .venv/bin/python benchmarks/bench_step_aside.py [--arms ur5 z1] [--seeds 2026 777] [--workers 2]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from video_planner.evaluation import suite
from video_planner.evaluation.config import SuiteConfig, instance_key
from video_planner.evaluation.stats import mcnemar_exact_p

ROOT = Path(__file__).resolve().parents[1]
HIDDEN_PX = 4   # fewer pixels of the named object than this in the first frame: the arm hides it


def hidden_instances(config: SuiteConfig) -> list:
    """The suite's instances whose named object shows fewer than HIDDEN_PX pixels at the start."""
    from video_planner.sim.arms import get_arm
    from video_planner.sim.randomization import DomainRandomization
    from video_planner.sim.segmentation import SEG_OBJECT_BASE
    from video_planner.sim.tasks import sample_task
    from video_planner.sim.world import TabletopWorld
    hidden = []
    randomization = DomainRandomization() if config.randomize else DomainRandomization.none()  # as the suite's
    for arm in config.arms:
        with TabletopWorld(arm, seed=config.seed, image_size=config.image_size, randomization=randomization) as world:
            for inst in (i for i in suite.task_instances(config) if i.arm == arm):
                task = sample_task(get_arm(arm), inst.family, np.random.default_rng(inst.seed), split=inst.split)
                obs = world.reset(task, seed=inst.seed)
                k = next(j for j, o in enumerate(task.objects) if o.name == task.target)
                if int((obs.segmentation == SEG_OBJECT_BASE + k).sum()) < HIDDEN_PX:
                    hidden.append(inst)
    return hidden


def run_on(config: SuiteConfig, instances: list, step_aside: bool) -> dict:
    """{instance key: (solved, step asides taken)} of video_learned on `instances` only."""
    if not instances:
        return {}
    only = [instance_key(i.arm, i.family, i.split, i.index, i.suite_seed) for i in instances]
    result = suite.run_suite(dataclasses.replace(config, methods=['video_learned'], step_aside=step_aside, only=only),
                             progress=False)
    return {(r.arm, r.family, r.split, r.index, r.suite_seed): (bool(r.success),
                                                                sum('step_aside' in t for t in r.timings))
            for r in result.records}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--arms', nargs='+', default=None)
    parser.add_argument('--seeds', type=int, nargs='+', default=None, help='instance seeds (default: eval.yaml)')
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--out', default=str(ROOT / 'benchmarks' / 'results' / 'step_aside.md'))
    args = parser.parse_args()
    config = SuiteConfig.default()
    config = dataclasses.replace(config, workers=args.workers, **({'arms': args.arms} if args.arms else {}),
                                 **({'seeds': args.seeds} if args.seeds else {}))
    t0 = time.perf_counter()
    hidden = hidden_instances(config)
    on, off = run_on(config, hidden, True), run_on(config, hidden, False)
    rows = defaultdict(lambda: [0, 0, 0, 0, 0, 0])   # instances, solved on, solved off, only on, only off, asides
    for key, (solved_on, asides) in on.items():
        solved_off = off[key][0]
        for group in (key[0], 'all'):
            r = rows[group]
            r[0] += 1
            r[1] += solved_on
            r[2] += solved_off
            r[3] += solved_on and not solved_off
            r[4] += solved_off and not solved_on
            r[5] += asides
    total = len(suite.task_instances(config))
    lines = [
        '# Stepping aside when the arm hides the named object',
        '',
        f'`python benchmarks/bench_step_aside.py` ({time.strftime("%Y-%m-%d")}, {(time.perf_counter() - t0) / 60:.0f} min, '
        f'{args.workers} processes on {os.cpu_count()} cores): of the closed-loop suite\'s {total} instances '
        f'(seeds {", ".join(map(str, config.instance_seeds))}), {len(hidden)} start with the named object hidden by '
        f'the arm (fewer than {HIDDEN_PX} of its pixels in the first frame). `video_learned` on those, '
        '`step_aside` on (the default) and off; everything else as in `config/eval.yaml`.',
        '',
        '| arm | hidden at the start | solved, step aside on | off | only on / only off (p) | step asides taken |',
        '|---|---|---|---|---|---|',
    ]
    for group in sorted(rows, key=lambda g: (g == 'all', g)):
        n, s_on, s_off, only_on, only_off, asides = rows[group]
        name = f'**{group}**' if group == 'all' else group
        lines.append(f'| {name} | {n} | {s_on} | {s_off} | {only_on} / {only_off} '
                     f'({mcnemar_exact_p(only_on, only_off):.2f}) | {asides} |')
    Path(args.out).write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
