"""One plan per arm, as a picture: the camera frame, the frame the video model reads (its view) and the
plan it draws, one row per arm; held-out arms are marked. Writes docs/media/plans_per_arm_<view>.png.

Run: .venv/bin/python benchmarks/plan_strips.py [--checkpoint default.pt (camera view; default: canonical.pt)] [--idm-checkpoint ...]
     [--arms panda ... kinova z1 xarm7 panda_blue] [--family push] [--seed 5]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def plan_row(arm: str, family: str, seed: int, checkpoint: str, idm_checkpoint: str):
    from video_planner.planner import PlannerConfig, PlanRequest, VideoPlanner
    from video_planner.sim.tasks import sample_task
    from video_planner.sim.world import TabletopWorld
    with TabletopWorld(arm, seed=seed) as world:
        obs = world.reset(sample_task(world.spec, family, np.random.default_rng(seed)), seed=seed)
    planner = VideoPlanner(PlannerConfig(arm=arm, checkpoint=checkpoint, idm_checkpoint=idm_checkpoint,
                                         inverse_dynamics='learned'))
    plan = planner.plan(PlanRequest(instruction=obs.instruction, rgb=obs.rgb, depth_m=obs.depth_m,
                                    camera=obs.camera, T_base_ee=obs.T_base_ee, q_current=obs.joint_positions,
                                    ee_mask=obs.ee_mask, seed=seed))
    return obs.rgb, plan, obs.instruction


def main() -> int:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from video_planner.sim.arms import HELD_OUT_ARMS
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--checkpoint', default='')
    parser.add_argument('--idm-checkpoint', default='')
    parser.add_argument('--arms', nargs='+', default=['panda', 'iiwa', 'xarm6', 'ur5', 'so100',
                                                      'kinova', 'z1', 'xarm7', 'panda_blue'])
    parser.add_argument('--family', default='push')
    parser.add_argument('--seed', type=int, default=5)
    parser.add_argument('--out', type=Path, default=None)
    args = parser.parse_args()
    rows = [(arm, *plan_row(arm, args.family, args.seed, args.checkpoint, args.idm_checkpoint)) for arm in args.arms]
    view = 'canonical' if any(not np.array_equal(r[1], r[2].frames[0]) for r in rows) else 'camera'
    cols = 2 + rows[0][2].frames.shape[0] - 1
    fig, axes = plt.subplots(len(rows), cols, figsize=(cols * 1.1, len(rows) * 1.2))
    for r, (arm, camera_rgb, plan, instruction) in enumerate(rows):
        images = [camera_rgb] + list(plan.frames)
        for c, image in enumerate(images):
            ax = axes[r, c]
            ax.imshow(image)
            ax.set_xticks([])
            ax.set_yticks([])
        held = ' (held out)' if arm in HELD_OUT_ARMS else ''
        axes[r, 0].set_ylabel(f'{arm}{held}', fontsize=6, rotation=0, ha='right', va='center')
        axes[r, 1].set_title(f'"{instruction}" ({plan.status[:30]})', fontsize=5, loc='left')
    axes[0, 0].set_xlabel('camera', fontsize=6)
    axes[-1, 0].set_xlabel('camera', fontsize=6)
    axes[-1, 1].set_xlabel(f'{view} view', fontsize=6)
    for c in range(2, cols):
        axes[-1, c].set_xlabel(f'plan {c - 1}', fontsize=6)
    fig.tight_layout(pad=0.2)
    out = args.out or ROOT / 'docs' / 'media' / f'plans_per_arm_{view}.png'
    fig.savefig(out, dpi=130)
    print(f'wrote {out}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
