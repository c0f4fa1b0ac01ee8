"""Run the scripted expert in a world and keep every n-th control step as a recorded frame."""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from video_planner.data.episode import Episode
from video_planner.sim.expert import ScriptedExpert
from video_planner.sim.tasks import TaskSpec
from video_planner.sim.world import TabletopWorld

DEFAULT_FRAMES = 24  # recorded frames per episode: a K=8 clip with stride ~3 covers the whole task


def record_expert_episode(world: TabletopWorld, task: TaskSpec, seed: int,
                          frames: int = DEFAULT_FRAMES) -> Episode:
    """Reset `world` to `task`, run the expert, and record ~`frames` evenly spaced frames.

    Only recorded steps are rendered. The action stored with frame t is the last command sent
    before frame t+1 (the next TCP target and gripper); the final frame repeats its own.
    """
    obs = world.reset(task, seed=seed)
    expert = ScriptedExpert(world)
    commands = expert.commands(task, obs.T_base_ee)
    every = max(1, math.ceil(len(commands) / max(frames - 1, 1)))
    keep = {i for i in range(len(commands)) if (i + 1) % every == 0 or i == len(commands) - 1}

    names = [o.name for o in task.objects]
    rows = [_row(obs, world, names)]
    actions: list[tuple[np.ndarray, float]] = []
    succeeded = False  # at any step: the script runs on after the task is done (a push goes its full length)
    for i, (T, g) in enumerate(commands):
        world.step_ee(T, g)
        succeeded = succeeded or world.success()
        if i in keep:
            actions.append((T, g))
            rows.append(_row(world.observe(), world, names))
    actions.append(actions[-1] if actions else (obs.T_base_ee, obs.gripper))

    stack = lambda key: np.stack([r[key] for r in rows])  # noqa: E731
    return Episode(
        instruction=task.instruction, arm=world.spec.name, task_family=task.family, camera=world.camera,
        rgb=stack('rgb'), depth_m=stack('depth_m'), seg=stack('seg'), ee_pose=stack('ee_pose'),
        gripper=stack('gripper').astype(np.float32), joint_positions=stack('q'), object_poses=stack('objects'),
        action_poses=np.stack([a[0] for a in actions]), action_gripper=np.array([a[1] for a in actions]),
        success=succeeded, seed=seed, split=task.split, template=task.template,
        object_ids=world.object_ids, task=_task_dict(task))


def _row(obs, world: TabletopWorld, names: list[str]) -> dict:
    poses = world.object_poses()
    return {'rgb': obs.rgb, 'depth_m': obs.depth_m, 'seg': obs.segmentation, 'ee_pose': obs.T_base_ee,
            'gripper': obs.gripper, 'q': obs.joint_positions, 'objects': np.stack([poses[n] for n in names])}


def _task_dict(task: TaskSpec) -> dict:
    d = dataclasses.asdict(task)
    d['objects'] = [dataclasses.asdict(o) for o in task.objects]
    return d
