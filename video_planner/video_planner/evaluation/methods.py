"""The methods the suite compares, each one way of choosing end-effector waypoints for a task.

Every method gets a freshly reset world (same task instance and seed for all methods) and a
`WaypointExecutor`, and returns an `EpisodeOutcome`. An episode ends at the first success (checked
after every executed waypoint), when the method has nothing more to do, or when the executor's
control-step budget is spent -- the same rule for every method.
"""
from __future__ import annotations

import abc
import time
from dataclasses import dataclass, field

import numpy as np

from video_planner.evaluation.executor import BudgetExhausted, WaypointExecutor
from video_planner.sim.expert import ScriptedExpert
from video_planner.sim.tasks import TaskSpec
from video_planner.sim.world import Observation, TabletopWorld


@dataclass
class Episode:
    """What a method sees: the reset world, the task, the first observation and the episode seed."""
    world: TabletopWorld
    task: TaskSpec
    observation: Observation
    seed: int
    executor: WaypointExecutor
    gt_frames: list | None = None   # K+1 Observations of the expert's rollout, for the gt_video methods
    outcome: 'EpisodeOutcome' = None      # the method fills it in as it goes (kept if the budget runs out)


@dataclass
class EpisodeOutcome:
    success: bool = False
    plans: int = 0                                  # plans (or policy steps) asked for
    failed_plans: int = 0                           # plans that failed a gate or IK
    rejections: list[str] = field(default_factory=list)  # why each of those was refused (Plan.status)
    status: str = ''                                # why the episode ended
    unmet: list[str] = field(default_factory=list)  # the success rule's unmet parts at the end (sim.tasks)
    timings: list[dict] = field(default_factory=list)  # per plan: stage -> seconds


class Method(abc.ABC):
    name: str = 'method'
    description: str = ''

    @abc.abstractmethod
    def run(self, episode: Episode) -> None:
        """Act in `episode.world` until done, filling `episode.outcome`; the caller reads success after."""


def _succeeded(world: TabletopWorld) -> bool:
    return world.success()


# ---------------------------------------------------------------------------------------- floors, ceiling
class NoopMethod(Method):
    name = 'noop'
    description = 'holds the start pose (floor: tasks are not solved by waiting)'

    def __init__(self, hold_steps: int = 20):
        self.hold_steps = hold_steps

    def run(self, episode: Episode) -> None:
        episode.outcome.status = 'held still'
        episode.executor.hold(self.hold_steps)


class RandomMethod(Method):
    name = 'random'
    description = 'random waypoints in the arm workspace with random gripper commands (floor)'

    def __init__(self, waypoints: int = 8, max_height_m: float = 0.15):
        self.waypoints = waypoints
        self.max_height_m = max_height_m

    def run(self, episode: Episode) -> None:
        world, spec, out = episode.world, episode.world.spec, episode.outcome
        out.plans, out.status = 1, 'waypoints done'
        rng = np.random.default_rng(episode.seed + 7)
        T0 = episode.observation.T_base_ee
        centre = np.asarray(spec.workspace_center)
        for _ in range(self.waypoints):
            r = spec.workspace_radius * np.sqrt(rng.uniform())
            a = rng.uniform(-np.pi, np.pi)
            T = T0.copy()
            T[:2, 3] = centre + r * np.array([np.cos(a), np.sin(a)])
            T[2, 3] = rng.uniform(0.0, self.max_height_m * spec.scale)
            episode.executor.move_to(T, float(rng.uniform() < 0.5))
            if _succeeded(world):
                return


class ExpertMethod(Method):
    name = 'expert'
    description = 'scripted expert that reads the true object poses (upper bound)'

    def run(self, episode: Episode) -> None:
        episode.outcome.plans, episode.outcome.status = 1, 'script done'
        expert = ScriptedExpert(episode.world)
        for T, g in expert.commands(episode.task, episode.observation.T_base_ee):
            episode.executor.command(T, g)
            if _succeeded(episode.world):
                return


def expert_video(world: TabletopWorld, task: TaskSpec, first: Observation, frames: int,
                 spacing: str = 'time') -> list[Observation]:
    """The expert's rollout from `first` (a just-reset world) observed at `frames` steps, the first being the
    start frame: a ground-truth "video plan" of the plan's length. `spacing` 'time': evenly spaced steps;
    'keyframes': the path's corners and gripper changes first (`data.keyframes`)."""
    commands = ScriptedExpert(world).commands(task, first.T_base_ee)
    if spacing == 'keyframes':
        from video_planner.data.keyframes import SAME_POSITION, keyframe_indices
        positions = np.array([first.T_base_ee[:3, 3]] + [T[:3, 3] for T, _ in commands])
        gripper = np.array([first.gripper] + [g for _, g in commands])
        keep = np.array(keyframe_indices(positions, gripper, 0, frames - 1, SAME_POSITION * world.spec.scale))
    else:
        keep = np.round(np.linspace(0, len(commands), frames)).astype(int)[1:]
    out = [first]
    for i, (T, g) in enumerate(commands, start=1):
        world.step_ee(T, g)
        if i in keep:
            out.extend([world.observe()] * int(np.count_nonzero(keep == i)))
    return out[:frames]


# ---------------------------------------------------------------------------------------- video plans
class VideoPlanMethod(Method):
    """The full pipeline: camera frame -> video plan -> SE(3) waypoints -> IK -> simulated arm.

    Closed loop (`chunk` > 0): execute the first `chunk` waypoints of each plan, then replan from the
    new frame, up to `max_plans` plans (the last one runs to its end). Open loop: `max_plans` = 1 and
    `chunk` = 0 (the whole plan). A plan that fails a safety gate is not executed; the next one is
    sampled from the same frame with another seed.
    """

    def __init__(self, name: str, planners, chunk: int = 4, max_plans: int = 6, description: str = ''):
        self.name = name
        self.planners = planners        # arm -> VideoPlanner (shared model, text encoder, inverse dynamics)
        self.chunk = chunk
        self.max_plans = max_plans
        self.description = description

    def run(self, episode: Episode) -> None:
        from video_planner.planner import PlanRequest
        world, executor, outcome = episode.world, episode.executor, episode.outcome
        planner = self.planners(world.spec.name)
        for k in range(self.max_plans):
            obs = world.observe()
            request = PlanRequest(instruction=episode.task.instruction, rgb=obs.rgb, depth_m=obs.depth_m,
                                  camera=obs.camera, T_base_ee=obs.T_base_ee, q_current=obs.joint_positions,
                                  ee_mask=obs.ee_mask, seed=(episode.seed * 31 + k) % (2 ** 31),
                                  gripper=executor.gripper)
            plan = planner.plan(request)
            outcome.plans += 1
            outcome.timings.append(dict(plan.timings))
            if not plan.ok:
                outcome.failed_plans += 1
                outcome.rejections.append(plan.status)
                outcome.status = f'plan rejected: {plan.status}'
                continue
            last = k == self.max_plans - 1 or self.chunk <= 0
            end = len(plan.T_base_ee) if last else min(len(plan.T_base_ee), 1 + self.chunk)
            executor.follow(plan.T_base_ee[1:end], plan.gripper[1:end], stop=lambda: _succeeded(world))
            outcome.status = 'plans used up'
            if _succeeded(world):
                return


class GroundTruthVideoMethod(Method):
    """The expert's own rollout as the "video plan" + inverse dynamics + IK, executed open loop: what
    the pipeline achieves with a perfect video model (isolates the video model from the rest)."""

    def __init__(self, name: str, planners, description: str = ''):
        self.name = name
        self.planners = planners
        self.description = description

    def run(self, episode: Episode) -> None:
        obs, world, outcome = episode.observation, episode.world, episode.outcome
        planner = self.planners(world.spec.name)
        # The expert's frames in the view the planner's models read (camera, or canonical from the URDF mask).
        views = [planner.in_model_view(o.rgb, o.camera, o.T_base_ee, o.gripper, o.joint_positions, o.depth_m,
                                       o.ee_mask) for o in episode.gt_frames]
        frames = np.stack([frame for frame, _ in views])
        plan = planner.frames_to_plan(episode.task.instruction, frames, obs.depth_m, obs.camera,
                                      obs.T_base_ee, obs.joint_positions, views[0][1])
        outcome.plans, outcome.timings = 1, [dict(plan.timings)]
        if not plan.ok:
            outcome.failed_plans, outcome.status = 1, f'plan rejected: {plan.status}'
            outcome.rejections.append(plan.status)
            return
        outcome.status = 'plan done'
        episode.executor.follow(plan.T_base_ee[1:], plan.gripper[1:], stop=lambda: _succeeded(world))


# ---------------------------------------------------------------------------------------- policy
class PolicyMethod(Method):
    """Image + language -> a chunk of waypoints every step, temporally ensembled (ACT-style behaviour
    cloning): re-observes after every waypoint, one waypoint per recorded frame of the expert's episodes."""
    name = 'policy'
    description = 'image+language+target hint -> chunks of waypoints (ACT-style behaviour cloning)'

    def __init__(self, policy, max_steps: int = 40):
        self.policy = policy
        self.max_steps = max_steps

    def run(self, episode: Episode) -> None:
        from video_planner.policy import ChunkEnsemble
        world, executor, outcome = episode.world, episode.executor, episode.outcome
        R = episode.observation.T_base_ee[:3, :3]
        ensemble = ChunkEnsemble(self.policy.config.ensemble_decay)
        outcome.status = 'steps used up'
        for _ in range(self.max_steps):
            obs = world.observe()
            t0 = time.perf_counter()
            chunk = self.policy.act(obs.rgb, episode.task.instruction, obs.camera, obs.T_base_ee,
                                    executor.gripper, world.spec.scale)
            position, gripper = ensemble.add(chunk)
            outcome.timings.append({'policy': time.perf_counter() - t0})
            outcome.plans += 1
            T = np.eye(4)
            T[:3, :3] = R
            T[:3, 3] = position
            executor.move_to(T, gripper)
            if _succeeded(world):
                return


def description(name: str) -> str:
    """What the suite's method `name` is, in the report's words."""
    fixed = {m.name: m.description for m in (NoopMethod, RandomMethod, ExpertMethod, PolicyMethod)}
    if name in fixed:
        return fixed[name]
    kind, _, idm = name.rpartition('_')
    kinds = {'video': f'video plan + {idm} inverse dynamics', 'gt_video': f'expert video + {idm} inverse dynamics'}
    return kinds.get(kind, '')


def budget_status(status: str) -> str:
    """The status of an episode stopped by the control-step budget while `status` was its last news. The
    reason stays before any ':' detail, where the report's "ended by" table cuts a status."""
    reason, _, detail = status.partition(':')
    return (f'control-step budget spent ({reason})' if reason else 'control-step budget spent') + \
        (f':{detail}' if detail else '')


def run_method(method: Method, episode: Episode) -> EpisodeOutcome:
    """`method.run` with the budget rule applied; success is read at the end (after settling when the
    method stopped without it)."""
    episode.outcome = outcome = EpisodeOutcome()
    try:
        method.run(episode)
    except BudgetExhausted:
        outcome.status = budget_status(outcome.status)
    if not _succeeded(episode.world):
        episode.executor.hold(episode.executor.config.settle_steps)
    outcome.unmet = episode.world.unmet_conditions()
    outcome.success = not outcome.unmet
    if outcome.success:
        outcome.status = 'success'
    return outcome
