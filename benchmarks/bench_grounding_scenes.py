"""Does a grounding network's map peak on the named object, per task family, on fresh simulator scenes?

Samples `--scenes` tasks per (family, arm, phrasing split) with seeds from `--seed`, renders the start frame
with domain randomisation, and counts the scenes whose map peaks on the named object; a push toward an
object (which names two) is also counted on its own. No episode files needed (`bench_grounding.py` reads
recorded ones).

    python benchmarks/bench_grounding_scenes.py --grounding video_planner/models/grounding_default.pt --arms panda kinova xarm7
"""
from __future__ import annotations

import argparse

import numpy as np

from video_planner.grounding import Grounder
from video_planner.sim.arms import get_arm
from video_planner.sim.randomization import DomainRandomization
from video_planner.sim.segmentation import SEG_OBJECT_BASE
from video_planner.sim.tasks import SPLITS, TASK_FAMILIES, sample_task
from video_planner.sim.world import TabletopWorld
from video_planner.text import TextEncoder


def peaks_on_target(grounder: Grounder, arm: str, family: str, seeds: range) -> list[tuple[bool, bool]]:
    """(peak on the named object, the sentence names a reference too) per scene."""
    out = []
    with TabletopWorld(arm, seed=0, image_size=64, randomization=DomainRandomization()) as world:
        for seed in seeds:
            for split in SPLITS:
                task = sample_task(get_arm(arm), family, np.random.default_rng(seed), split=split)
                obs = world.reset(task, seed=seed)
                heat = grounder.locate(obs.rgb, task.instruction, obs.rgb.shape[0])
                k = next(i for i, o in enumerate(task.objects) if o.name == task.target)
                out.append((bool(obs.segmentation.reshape(-1)[heat.argmax()] == SEG_OBJECT_BASE + k),
                            task.reference is not None))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--grounding', required=True)
    parser.add_argument('--arms', nargs='+', default=['panda', 'kinova', 'xarm7'])
    parser.add_argument('--scenes', type=int, default=12)
    parser.add_argument('--seed', type=int, default=100)
    args = parser.parse_args(argv)
    grounder = Grounder.load(args.grounding, TextEncoder())
    print('| family | scenes | peak on the named object | of those naming a reference too |')
    print('|---|---|---|---|')
    for family in TASK_FAMILIES:
        rows = np.array([r for arm in args.arms
                         for r in peaks_on_target(grounder, arm, family, range(args.seed, args.seed + args.scenes))])
        with_ref = rows[rows[:, 1], 0]
        print(f'| {family} | {len(rows)} | {rows[:, 0].mean():.0%} | '
              + (f'{with_ref.mean():.0%} ({len(with_ref)})' if len(with_ref) else '-') + ' |')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
