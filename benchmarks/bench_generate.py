"""Dataset generation speed; writes benchmarks/results/generate.md.

1. Throughput: `generate` over the seen arms x all task families at 64x64, with 1 and with 2 worker
   processes (the 2-core budget the model is trained on), in episodes per minute (wall clock,
   including process start and world loading).
2. Where the time goes, per arm, in one process, in CPU seconds (robust to a shared machine):
   scene rebuild (URDF load), expert control (IK + physics), rendering of the recorded frames,
   HDF5 write. On an idle machine, wall time per episode ~ this CPU time.

The machine may be shared: the load average before and after is recorded next to the numbers.

Run: .venv/bin/python benchmarks/bench_generate.py [--episodes 24]
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from video_planner.data.episode import write_episode
from video_planner.data.generate import GenerateConfig, generate
from video_planner.data.recording import record_expert_episode
from video_planner.sim.arms import ARMS, SEEN_ARMS
from video_planner.sim.tasks import TASK_FAMILIES, sample_task
from video_planner.sim.world import TabletopWorld

RESULTS = Path(__file__).resolve().parent / 'results' / 'generate.md'


def throughput(episodes: int, workers: int) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as out:
        config = GenerateConfig(arms=SEEN_ARMS, tasks=TASK_FAMILIES, episodes=episodes, seed=0, out=Path(out),
                                workers=workers)
        start = time.perf_counter()
        counts = generate(config, progress=False)
        elapsed = time.perf_counter() - start
        size = sum(f.stat().st_size for f in Path(out).glob('*.hdf5'))
    counts['mb_per_episode'] = size / max(counts['success'], 1) / 1e6
    return 60.0 * episodes / elapsed, counts


def breakdown(arm: str, episodes: int) -> dict:
    """CPU seconds per episode (this process) in scene rebuild, control (IK + physics), rendering and
    writing. CPU time, not wall time, so that a shared machine does not distort the split."""
    world = TabletopWorld(arm, seed=0, image_size=64)
    timings = {'rebuild': [], 'total': [], 'render': [], 'write': [], 'frames': []}

    def timed(name, fn):
        def wrapper(*a, **kw):
            t = time.process_time()
            out = fn(*a, **kw)
            timings[name][-1] += time.process_time() - t
            return out
        return wrapper

    world.render = timed('render', world.render)
    world._clear_episode = timed('rebuild', world._clear_episode)
    try:
        with tempfile.TemporaryDirectory() as out:
            for i in range(episodes):
                family = TASK_FAMILIES[i % len(TASK_FAMILIES)]
                task = sample_task(world.spec, family, np.random.default_rng(i))
                timings['render'].append(0.0)
                timings['rebuild'].append(0.0)
                t = time.process_time()
                episode = record_expert_episode(world, task, seed=i)
                timings['total'].append(time.process_time() - t)
                timings['frames'].append(len(episode))
                t = time.process_time()
                write_episode(Path(out) / f'{i}.hdf5', episode)
                timings['write'].append(time.process_time() - t)
    finally:
        world.close()
    mean = {k: float(np.mean(v)) for k, v in timings.items()}
    mean['control'] = mean['total'] - mean['render'] - mean['rebuild']
    mean['episode'] = mean['total'] + mean['write']
    return mean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--episodes', type=int, default=24, help='episodes per throughput run')
    parser.add_argument('--per-arm', type=int, default=4, help='episodes per arm for the breakdown')
    args = parser.parse_args()
    load_before = os.getloadavg()
    rate1, counts1 = throughput(args.episodes // 2, 1)
    rate2, counts2 = throughput(args.episodes, 2)
    rows = {arm: breakdown(arm, args.per_arm) for arm in ARMS}
    load_after = os.getloadavg()

    lines = [
        '# Dataset generation speed',
        '',
        f'Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python '
        f'{platform.python_version()}; load average before/after: {load_before[0]:.1f} / {load_after[0]:.1f} '
        '(the machine is shared: a load above the core count inflates every figure).',
        'Command: `.venv/bin/python benchmarks/bench_generate.py '
        f'--episodes {args.episodes} --per-arm {args.per_arm}`',
        '',
        '## Throughput (seen arms x all task families, 64x64, ~24 recorded frames per episode)',
        '',
        '| workers | episodes | episodes / min | s / episode | expert success | MB / episode |',
        '|---|---|---|---|---|---|',
    ]
    for workers, rate, counts in ((1, rate1, counts1), (2, rate2, counts2)):
        lines.append(f"| {workers} | {counts['done']} | {rate:.1f} | {60.0 / rate:.2f} | "
                     f"{counts['success']}/{counts['done']} | {counts['mb_per_episode']:.2f} |")
    lines += [
        '',
        '## Where the time goes (one process, CPU seconds per episode, mean)',
        '',
        '| arm | frames | scene rebuild | control (IK + physics) | render | HDF5 write | total |',
        '|---|---|---|---|---|---|---|',
    ]
    for arm, m in rows.items():
        lines.append(f"| {arm} | {m['frames']:.0f} | {m['rebuild']:.3f} | {m['control']:.3f} | {m['render']:.3f} | "
                     f"{m['write']:.3f} | {m['episode']:.3f} |")
    lines += [
        '',
        'Scene rebuild = `resetSimulation` + URDF load, done at every reset so that an episode depends on its',
        'seed only (pybullet keeps history no API resets). Rendering is ER_TINY_RENDERER with shadows, only for',
        'recorded frames.',
        '',
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text('\n'.join(lines))
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
