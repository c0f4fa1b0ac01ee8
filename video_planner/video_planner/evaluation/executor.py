"""Executes end-effector waypoints (a plan, a policy step, a random target) in a TabletopWorld.

Every method in the suite drives the arm through this one executor, so differences in success come
from the waypoints, not from how they are followed. Between two waypoints the TCP moves in straight
Cartesian steps of at most `step_m` (scaled with the arm, like the scripted expert), each sent with
`world.step_ee` (pinocchio IK on the arm's URDF -> joint position control). The gripper command of a
waypoint is applied when the arm *arrives* there and then held for `gripper_dwell_steps` when it
changed: a real gripper closes at the object, not on the way to it (and the simulator only forms a
grasp within a few control steps of closing).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from video_planner.errors import VideoPlannerError
from video_planner.kinematics.rotations import interpolate_pose
from video_planner.sim.world import TabletopWorld


@dataclass(frozen=True)
class ExecutorConfig:
    step_m: float = 0.009            # largest TCP move per control step at scale 1 (the expert's)
    gripper_dwell_steps: int = 5     # control steps holding still after the gripper command changes
    settle_steps: int = 4            # control steps at the end of an episode before success is read
    max_control_steps: int = 400     # per episode, every method: the budget that ends an episode

    def __post_init__(self):
        if not self.step_m > 0:
            raise VideoPlannerError(f'executor step_m: expected > 0, got {self.step_m}')
        for name in ('gripper_dwell_steps', 'settle_steps', 'max_control_steps'):
            if getattr(self, name) < 0:
                raise VideoPlannerError(f'executor {name}: expected >= 0, got {getattr(self, name)}')


class BudgetExhausted(Exception):
    """The episode used its `max_control_steps`."""


class WaypointExecutor:
    """Moves one world's arm through waypoints and counts control steps against the episode budget."""

    def __init__(self, world: TabletopWorld, config: ExecutorConfig | None = None,
                 on_step: Callable[[], None] | None = None):
        self.world = world
        self.config = config or ExecutorConfig()
        self.on_step = on_step
        self.steps = 0
        self.gripper = 0.0
        self.ik_failures = 0

    def reset(self, gripper: float = 0.0) -> None:
        self.steps = 0
        self.gripper = float(gripper)
        self.ik_failures = 0

    @property
    def budget_left(self) -> int:
        return self.config.max_control_steps - self.steps

    def command(self, T: np.ndarray, gripper: float) -> None:
        """One control step toward pose `T` with gripper command `gripper` (counts against the budget)."""
        if self.steps >= self.config.max_control_steps:
            raise BudgetExhausted()
        result = self.world.step_ee(T, gripper)
        self.ik_failures += int(not result.success)
        self.steps += 1
        if self.on_step is not None:
            self.on_step()

    def move_to(self, T_target: np.ndarray, gripper: float | None = None) -> None:
        """Straight-line TCP motion to `T_target` (orientation slerped), then the gripper command."""
        T_target = np.asarray(T_target, dtype=float)
        if T_target.shape != (4, 4) or not np.all(np.isfinite(T_target)):
            raise VideoPlannerError(f'waypoint: expected a finite 4x4 pose, got shape {T_target.shape}')
        T_start = self.world.T_base_ee()
        step = self.config.step_m * self.world.spec.scale
        n = max(1, int(math.ceil(np.linalg.norm(T_target[:3, 3] - T_start[:3, 3]) / step)))
        for i in range(1, n + 1):
            self.command(interpolate_pose(T_start, T_target, i / n), self.gripper)
        if gripper is not None:
            self.set_gripper(gripper, T_target)

    def set_gripper(self, gripper: float, T_hold: np.ndarray) -> None:
        """Switch the gripper (binarised at 0.5) and hold still while it moves."""
        command = 1.0 if float(gripper) >= 0.5 else 0.0
        if command != self.gripper:
            self.gripper = command
            for _ in range(max(1, self.config.gripper_dwell_steps)):
                self.command(T_hold, command)

    def follow(self, T_waypoints: np.ndarray, gripper: np.ndarray, stop: Callable[[], bool] | None = None) -> None:
        """Visit each waypoint in turn; `stop()` is asked after each one (e.g. task already done)."""
        for T, g in zip(T_waypoints, gripper):
            self.move_to(T, float(g))
            if stop is not None and stop():
                return

    def hold(self, steps: int) -> None:
        """Stay where the arm is for `steps` control steps (within the budget)."""
        T = self.world.T_base_ee()
        for _ in range(min(steps, self.budget_left)):
            self.command(T, self.gripper)
