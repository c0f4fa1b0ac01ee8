"""`video-planner plan`: one plan from a fresh simulator frame (or an image file), written as a GIF."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from video_planner.errors import VideoPlannerError
from video_planner.planner.config import PlannerConfig
from video_planner.planner.pipeline import VideoPlanner
from video_planner.planner.request import Plan, PlanRequest


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--arm', default='panda',
                        help='simulator arm that provides the frame and the URDF: a registered name or an arm YAML')
    parser.add_argument('--task', default='push', help='simulator task family (reach, push, pick_place, lift)')
    parser.add_argument('--seed', type=int, default=0, help='task and sampling seed')
    parser.add_argument('--instruction', default='', help="overrides the simulator task's instruction")
    parser.add_argument('--config', default='', help='planner YAML (plain mapping or planner_node ros__parameters)')
    parser.add_argument('--checkpoint', default='', help='video model checkpoint (default: the shipped canonical.pt, '
                        'which plans with the arm painted out; a bare name such as default.pt: a shipped model)')
    parser.add_argument('--idm-checkpoint', default='', help='learned inverse dynamics, in the video model\'s view '
                        '(default: the shipped one of that view)')
    parser.add_argument('--inverse-dynamics', choices=['flow', 'learned'], default=None)
    parser.add_argument('--candidates', type=int, default=0)
    parser.add_argument('--steps', type=int, default=0, help='sampler steps')
    parser.add_argument('--out', default='out/plan', help='folder for plan.gif and plan.json')


def planner_config(args: argparse.Namespace) -> PlannerConfig:
    values = PlannerConfig.from_yaml(args.config).__dict__ if args.config else {}
    values['arm'] = args.arm
    if args.checkpoint:
        values['checkpoint'] = args.checkpoint
    if args.idm_checkpoint:
        values['idm_checkpoint'] = args.idm_checkpoint
    if args.inverse_dynamics:
        values['inverse_dynamics'] = args.inverse_dynamics
    return PlannerConfig.from_dict(values)


def write_plan(plan: Plan, out: Path) -> None:
    import imageio.v2 as imageio
    out.mkdir(parents=True, exist_ok=True)
    frames = [np.kron(f, np.ones((4, 4, 1), np.uint8)) for f in plan.frames]
    imageio.mimsave(out / 'plan.gif', frames, duration=plan.frame_period_s, loop=0)
    summary = {
        'instruction': plan.instruction, 'status': plan.status, 'kind': plan.kind, 'score': plan.score,
        'ee_positions_m': np.round(plan.T_base_ee[:, :3, 3], 4).tolist(),
        'gripper': np.round(plan.gripper, 3).tolist(), 'confidence': np.round(plan.confidence, 3).tolist(),
        'joint_trajectory': None if plan.joint_trajectory is None else {
            'joint_names': list(plan.joint_trajectory.joint_names),
            'positions': np.round(plan.joint_trajectory.positions, 4).tolist(),
            'times_s': np.round(plan.joint_trajectory.times_s, 3).tolist()},
        'timings_s': {k: round(v, 4) for k, v in plan.timings.items()},
    }
    (out / 'plan.json').write_text(json.dumps(summary, indent=1))


def run(args: argparse.Namespace) -> int:
    from video_planner.sim.arms import get_arm
    from video_planner.sim.tasks import sample_task
    from video_planner.sim.world import TabletopWorld
    spec = get_arm(args.arm)  # a clear error for an unknown name or a broken arm file, before any loading
    planner = VideoPlanner(planner_config(args))
    world = TabletopWorld(spec, seed=args.seed, image_size=planner.image_size)
    try:
        obs = world.reset(sample_task(spec, args.task, args.seed, split='heldout'))
        request = PlanRequest(instruction=args.instruction or obs.instruction, rgb=obs.rgb, depth_m=obs.depth_m,
                              camera=obs.camera, T_base_ee=obs.T_base_ee, q_current=obs.joint_positions,
                              ee_mask=obs.ee_mask, num_candidates=args.candidates, sampling_steps=args.steps,
                              seed=args.seed)
        plan = planner.plan(request)
    finally:
        world.close()
    write_plan(plan, Path(args.out))
    aside = ' (a step aside: the arm hides the named object; plan again from there)' \
        if plan.kind == 'step_aside' else ''
    print(f'instruction: {plan.instruction!r}\nstatus: {plan.status}{aside} (score {plan.score:.2f})\n'
          f'timings: ' + ', '.join(f'{k} {v * 1000:.0f} ms' for k, v in plan.timings.items()) +
          f'\nwrote {Path(args.out) / "plan.gif"} and plan.json')
    return 0 if plan.ok else 1
