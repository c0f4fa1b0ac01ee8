"""How does the planner read a push goal in the scene: the push asked for, the way, and the object found?

For `--scenes` fresh push tasks per (arm, phrasing split), seeds from `--seed`, the start frame is read as
the nodes read it (`VideoPlanner.scene_masks` with `snap_pushes`, the model's view, the arm's pixels from
its URDF), and counted against the simulator's truth:

- read as a push (`planner/intent.py` push probe, and no grasp read first);
- the way: a direction word read as that base-frame axis; toward an object, the push direction within
  30 deg of the line from the object to the reference (`PushWay` and the destination grounding network);
- the object found within 2 cm (x the arm's scale) of the named one (whatever the probes read), with the
  pixels of the reference (as the destination network finds it) left out as the planner does, and without.

    python benchmarks/bench_push_reading.py --arms panda kinova xarm7 --scenes 12
"""
from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from video_planner.planner import PlannerConfig, VideoPlanner
from video_planner.planner.contact import locate_object
from video_planner.sim.arms import get_arm
from video_planner.sim.randomization import DomainRandomization
from video_planner.sim.tasks import DIRECTIONS, SPLITS, sample_task
from video_planner.sim.world import TabletopWorld

FOUND_WITHIN_M = 0.02
WAY_WITHIN_DEG = 30.0


def read_scenes(arm: str, seeds: range) -> list[dict]:
    spec = get_arm(arm)
    planner = VideoPlanner(PlannerConfig(arm=arm, snap_pushes=True))
    rows = []
    with TabletopWorld(arm, seed=0, image_size=64, randomization=DomainRandomization()) as world:
        for seed in seeds:
            for split in SPLITS:
                task = sample_task(spec, 'push', np.random.default_rng(seed), split=split)
                obs = world.reset(task, seed=seed)
                frame, mask = planner.in_model_view(obs.rgb, obs.camera, obs.T_base_ee, obs.gripper,
                                                    obs.joint_positions, obs.depth_m, obs.ee_mask)
                scene = planner.scene_masks(task.instruction, frame, obs.depth_m, obs.camera, obs.joint_positions,
                                            mask, obs.gripper)
                truth = world.scene_state().positions
                target = truth[task.target][:2]
                want = (np.asarray(DIRECTIONS[task.direction], float) if task.direction else
                        (truth[task.reference][:2] - target) / np.linalg.norm(truth[task.reference][:2] - target))
                alone = locate_object(obs.depth_m, obs.camera, scene.heat, scene.ignore, planner.contact_config)
                found = alone
                if task.reference is not None:  # as the planner looks for the object of a push toward another
                    _, pixels = planner._locate_reference(task.instruction, frame, obs.depth_m, obs.camera,
                                                          scene.ignore)
                    if pixels is not None:
                        found = locate_object(obs.depth_m, obs.camera, scene.heat, scene.ignore | pixels,
                                              planner.contact_config)
                near = lambda seen: seen is not None and bool(  # noqa: E731
                    np.linalg.norm(seen.centre_xy - target) <= FOUND_WITHIN_M * spec.scale)
                along = scene.push_along
                rows.append({'variant': 'direction' if task.direction else 'toward',
                             'push': scene.contact == 'push',
                             'way': along is not None and bool(
                                 np.dot(along, want) >= np.cos(np.radians(WAY_WITHIN_DEG))),
                             'found': near(found), 'found_alone': near(alone)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--arms', nargs='+', default=['panda', 'kinova', 'xarm7'])
    parser.add_argument('--scenes', type=int, default=12)
    parser.add_argument('--seed', type=int, default=100)
    args = parser.parse_args(argv)
    by_variant = defaultdict(list)
    for arm in args.arms:
        for row in read_scenes(arm, range(args.seed, args.seed + args.scenes)):
            by_variant[row['variant']].append(row)
    print('| push | scenes | read as a push | way right | object found | object found, reference not left out |')
    print('|---|---|---|---|---|---|')
    for variant, rows in sorted(by_variant.items()):
        mean = lambda key: f'{np.mean([r[key] for r in rows]):.0%}'  # noqa: E731
        print(f'| {variant} | {len(rows)} | {mean("push")} | {mean("way")} | {mean("found")} | {mean("found_alone")} |')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
