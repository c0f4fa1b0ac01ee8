"""Scripted experts: per task family, a sequence of end-effector keyframes, densified into one
(T_base_ee target, gripper) command per control step and executed through `TabletopWorld.step_ee`
(pinocchio IK -> joint position control), the same interface the planner drives.

The tool keeps the arm's home orientation (pointing straight down) throughout, which every arm in
the registry (5-DoF SO-100 included) can hold anywhere in its workspace.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from video_planner.errors import VideoPlannerError
from video_planner.sim.tasks import DIRECTIONS, PUSH_TOWARD_MIN_GAIN_M, TaskSpec
from video_planner.sim.world import TabletopWorld


@dataclass(frozen=True)
class ExpertConfig:
    """Distances in metres at scale 1 (Panda-sized workspace); they scale with the arm."""
    step_m: float = 0.009            # largest TCP move per control step
    approach_height_m: float = 0.07  # hover height above an object's top before descending
    push_distance_m: float = 0.085   # how far a directional push moves the pusher past contact
    lift_height_m: float = 0.1
    grasp_dwell_steps: int = 5       # control steps to close/open the gripper
    settle_steps: int = 4
    # Grasping: when the gripper, lowered onto the target in the home orientation, would come closer than
    # this to another object (open, closed or closing: a jaw sweeps), the tool is turned about the vertical
    # to the yaw that keeps it farthest away: fingers landing on a neighbour knock it, and the strict
    # success rules fail an episode that moves another object by 1 cm.
    grasp_clearance_m: float = 0.02


@dataclass(frozen=True)
class Keyframe:
    position: np.ndarray  # TCP position in the base frame
    gripper: float
    dwell: int = 0        # extra control steps holding this keyframe
    yaw: float = 0.0      # tool rotation about the base vertical from the home orientation, radians


class ScriptedExpert:
    """Plans and runs one task in a reset `TabletopWorld`."""

    def __init__(self, world: TabletopWorld, config: ExpertConfig | None = None):
        self.world = world
        self.config = config or ExpertConfig()
        self.R_down = world.kinematics.fk(world.home_q)[:3, :3]

    # ------------------------------------------------------------------ keyframes per family
    def keyframes(self, task: TaskSpec, T_base_ee_start: np.ndarray) -> list[Keyframe]:
        c, s = self.config, self.world.spec.scale
        start = T_base_ee_start[:3, 3]
        obj = task.object(task.target)
        pos = self.world.scene_state().positions[task.target]
        he = np.array(obj.half_extents)
        top = pos[2] + he[2]
        hover = top + c.approach_height_m * s
        above = lambda xy, z: np.array([xy[0], xy[1], z])  # noqa: E731
        g_open, g_closed = 0.0, 1.0
        bare = self.world.spec.gripper.kind == 'none'

        if task.family == 'reach':
            # Close the gripper in the air (nothing between the fingers: no grasp), then touch the top.
            return [Keyframe(start, g_open), Keyframe(above(pos, hover), g_closed, c.grasp_dwell_steps),
                    Keyframe(above(pos, top - 0.004 * s), g_closed, 2),
                    Keyframe(above(pos, hover), g_closed)]

        if task.family == 'push':
            if task.direction is not None:
                u = np.array(DIRECTIONS[task.direction])
                travel = c.push_distance_m * s
            else:
                ref = self.world.scene_state().positions[task.reference]
                d = ref[:2] - pos[:2]
                u = d / max(np.linalg.norm(d), 1e-9)
                ref_he = task.object(task.reference).half_extents
                gap = np.linalg.norm(d) - math.hypot(he[0], he[1]) - math.hypot(ref_he[0], ref_he[1])
                # Stop 1 cm short of the reference (the strict rules fail a push that bumps it), but go
                # at least a little past the distance that counts as "closer".
                travel = max(gap - 0.01 * s, PUSH_TOWARD_MIN_GAIN_M * s + 0.005 * s)
            radius = math.hypot(he[0], he[1])
            behind = pos[:2] - u * (radius + 0.025 * s)
            push_z = max(pos[2], 0.012 * s)
            end = behind + u * (travel + 0.025 * s)
            return [Keyframe(start, g_open), Keyframe(above(behind, hover), g_closed, c.grasp_dwell_steps),
                    Keyframe(above(behind, push_z), g_closed), Keyframe(above(end, push_z), g_closed),
                    Keyframe(above(end, hover), g_closed)]

        # Grasping families: TCP at the top face for a bare flange, between the fingers otherwise.
        grasp_z = top + 0.002 * s if bare else max(top - 0.02 * s, pos[2])
        y = self.grasp_yaw(task, above(pos, grasp_z))
        grasp = [Keyframe(start, g_open), Keyframe(above(pos, hover), g_open, yaw=y),
                 Keyframe(above(pos, grasp_z), g_open, yaw=y),
                 Keyframe(above(pos, grasp_z), g_closed, c.grasp_dwell_steps, yaw=y)]
        if task.family == 'lift':
            return grasp + [Keyframe(above(pos, grasp_z + c.lift_height_m * s), g_closed, 2, yaw=y)]
        if task.family == 'pick_place':
            pad = task.object(task.reference)
            pad_pos = self.world.scene_state().positions[task.reference]
            place_center_z = pad_pos[2] + pad.half_extents[2] + he[2] + 0.004 * s
            place_z = place_center_z + (grasp_z - pos[2])
            carry_z = max(hover, place_z + c.approach_height_m * s)
            return grasp + [Keyframe(above(pos, carry_z), g_closed, yaw=y),
                            Keyframe(above(pad_pos, carry_z), g_closed, yaw=y),
                            Keyframe(above(pad_pos, place_z), g_closed, yaw=y),
                            Keyframe(above(pad_pos, place_z), g_open, c.grasp_dwell_steps, yaw=y),
                            Keyframe(above(pad_pos, carry_z), g_open, yaw=y)]
        raise VideoPlannerError(f'task.family: no scripted expert for {task.family!r}')

    def grasp_yaw(self, task: TaskSpec, grasp_position: np.ndarray) -> float:
        """The tool yaw for grasping: 0 (home) when the gripper at `grasp_position`, open, closed or between, keeps
        `grasp_clearance_m` from every other object; else the yaw (30 deg steps) that keeps it farthest."""
        def clearance(yaw: float) -> float:
            T = self.tool_pose(grasp_position, yaw)
            return min(self.world.gripper_clearance(T, task.target, g) for g in np.linspace(0.0, 1.0, 5))
        home = clearance(0.0)
        if home >= self.config.grasp_clearance_m * self.world.spec.scale:
            return 0.0
        yaws = np.radians(np.arange(-150, 181, 30))
        scores = [clearance(y) if y != 0 else home for y in yaws]
        finite = [(sc, -abs(y), y) for sc, y in zip(scores, yaws) if np.isfinite(sc)]
        return float(max(finite)[2]) if finite else 0.0

    # ------------------------------------------------------------------ dense commands
    def commands(self, task: TaskSpec, T_base_ee_start: np.ndarray) -> list[tuple[np.ndarray, float]]:
        """One (T_base_ee target, gripper) per control step, straight lines between keyframes."""
        step = self.config.step_m * self.world.spec.scale
        frames = self.keyframes(task, T_base_ee_start)
        out: list[tuple[np.ndarray, float]] = []
        for a, b in zip(frames[:-1], frames[1:]):
            n = max(1, int(math.ceil(np.linalg.norm(b.position - a.position) / step)))
            for i in range(1, n + 1):
                out.append((self.tool_pose(a.position + (b.position - a.position) * i / n, a.yaw + (b.yaw - a.yaw) * i / n),
                            b.gripper))
            out.extend((self.tool_pose(b.position, b.yaw), b.gripper) for _ in range(b.dwell))
        out.extend((out[-1][0], out[-1][1]) for _ in range(self.config.settle_steps))
        return out

    def tool_pose(self, position: np.ndarray, yaw: float = 0.0) -> np.ndarray:
        """The home (pointing-down) tool orientation turned by `yaw` about the base vertical, at `position`."""
        c, s = math.cos(yaw), math.sin(yaw)
        T = np.eye(4)
        T[:3, :3] = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ self.R_down
        T[:3, 3] = position
        return T

    def run(self, task: TaskSpec, on_step=None) -> bool:
        """Execute the task in the (already reset) world; `on_step(i, T_target, gripper)` after each
        control step. Stops at the first success, as every method of the closed-loop suite does: a
        script that goes on pushing after the task is done can still knock a neighbour. Returns
        world.success()."""
        commands = self.commands(task, self.world.T_base_ee())
        for i, (T, g) in enumerate(commands):
            self.world.step_ee(T, g)
            if on_step is not None:
                on_step(i, T, g)
            if self.world.success():
                return True
        return self.world.success()
