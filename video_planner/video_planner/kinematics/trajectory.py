"""Cartesian path (end-effector poses) -> time-stamped joint trajectory within velocity/acceleration limits.

Continuity: the path is tracked in small Cartesian steps (``max_cartesian_step_m`` /
``max_cartesian_step_rad``), each IK solve warm-started from the previous answer and without random
restarts, so the arm stays on one IK branch. A joint moving more than ``max_joint_jump_rad`` within
one such small step means the solver jumped branches (an elbow or wrist flip near a singularity):
the path is rejected with reason 'branch_flip' rather than sent to a robot.

Timing: each segment between consecutive output points gets the shortest duration that keeps every
joint within its velocity limit; then segments around any point whose discrete acceleration
    a_k = (u_k - u_{k-1}) / ((dt_{k-1} + dt_k) / 2),  u_k = (q_{k+1} - q_k) / dt_k,
starting and ending at rest (u_{-1} = u_{N-1} = 0), exceeds the limit are stretched until none does.
Stretching only lowers segment speeds, so the velocity limits stay met.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from video_planner.errors import KinematicsError
from video_planner.kinematics.arm import ArmKinematics
from video_planner.kinematics.ik import IkConfig, IkResult, IkSolver
from video_planner.kinematics.rotations import check_pose, interpolate_pose, rotation_angle

BRANCH_FLIP = 'branch_flip'


@dataclass
class JointTrajectory:
    """trajectory_msgs/JointTrajectory in core form: point k is reached ``times_s[k]`` after start."""

    joint_names: list[str]
    positions: np.ndarray                 # (N, n)
    times_s: np.ndarray                   # (N,), non-decreasing, from the start of execution
    velocities: np.ndarray | None = None  # (N, n); None: finite differences of positions

    def __post_init__(self):
        self.joint_names = list(self.joint_names)
        self.positions = np.asarray(self.positions, dtype=float)
        self.times_s = np.asarray(self.times_s, dtype=float)
        n_points, n_joints = len(self.times_s), len(self.joint_names)
        if self.velocities is None:
            increasing = n_points >= 2 and np.all(np.diff(self.times_s) > 0)
            self.velocities = (np.gradient(self.positions, self.times_s, axis=0)
                               if increasing and self.positions.shape == (n_points, n_joints)
                               else np.zeros_like(self.positions))
        self.velocities = np.asarray(self.velocities, dtype=float)
        if self.times_s.ndim != 1 or np.any(np.diff(self.times_s) < 0):
            raise KinematicsError('JointTrajectory.times_s: expected a non-decreasing 1-D array')
        for name in ('positions', 'velocities'):
            if np.shape(getattr(self, name)) != (n_points, n_joints):
                raise KinematicsError(f'JointTrajectory.{name}: expected shape ({n_points}, {n_joints}), '
                                      f'got {np.shape(getattr(self, name))}')

    # The names used in docs/ARCHITECTURE.md.
    @property
    def q(self) -> np.ndarray:
        return self.positions

    @property
    def t(self) -> np.ndarray:
        return self.times_s

    @property
    def duration_s(self) -> float:
        return float(self.times_s[-1]) if len(self.times_s) else 0.0

    def sample(self, t_s: float) -> np.ndarray:
        """Joint positions at time ``t_s``, linear between points (held at the ends)."""
        return np.array([np.interp(t_s, self.times_s, self.positions[:, j])
                         for j in range(self.positions.shape[1])])


class TrajectoryError(KinematicsError):
    """A Cartesian path could not be turned into a safe joint trajectory.

    ``reason``: an IK failure reason ('unreachable', 'singular', 'joint_limit', 'max_iterations') or
    'branch_flip'; ``waypoint_index``: the index into ``poses`` being approached when it happened.
    """

    def __init__(self, message: str, reason: str, waypoint_index: int, ik_result: IkResult | None = None):
        super().__init__(message)
        self.reason = reason
        self.waypoint_index = waypoint_index
        self.ik_result = ik_result


def cartesian_to_joint_trajectory(
    arm: ArmKinematics,
    poses: Sequence[np.ndarray] | np.ndarray,
    q_start: np.ndarray,
    max_vel: np.ndarray | float | None = None,
    max_acc: np.ndarray | float | None = None,
    *,
    ik_config: IkConfig | None = None,
    max_joint_jump_rad: float = 0.5,
    max_cartesian_step_m: float = 0.01,
    max_cartesian_step_rad: float = 0.05,
    include_start: bool = True,
    min_segment_s: float = 1e-3,
) -> JointTrajectory:
    """Joint trajectory through ``poses`` (each ``T_base_ee``, 4x4) starting at ``q_start``.

    ``max_vel`` / ``max_acc`` default to the arm's limits (a scalar applies to every joint).
    With ``include_start`` the first point is ``q_start`` at t = 0, followed by one point per pose.
    Raises TrajectoryError (with ``reason`` and ``waypoint_index``) when a pose cannot be reached
    continuously.
    """
    q = arm.check_q(q_start, 'q_start')
    targets = _check_poses(poses)
    v_max = _limits(max_vel, arm.velocity_limits, arm.n, 'max_vel')
    a_max = _limits(max_acc, arm.acceleration_limits, arm.n, 'max_acc')
    config = dataclasses.replace(ik_config or IkConfig(), restarts=0)  # restarts would jump branches
    solver = IkSolver(arm, config)
    posture = q.copy()  # redundant joints stay near the start instead of drifting during the path

    points = [q.copy()]
    T_prev = arm.fk(q)
    for index, T_goal in enumerate(targets):
        for T_sub in _substeps(T_prev, T_goal, max_cartesian_step_m, max_cartesian_step_rad):
            result = solver.solve(T_sub, q, q_posture=posture)
            if not result.success:
                raise TrajectoryError(
                    f'poses[{index}]: IK failed ({result.reason}) with position error '
                    f'{result.position_error_m:.4f} m, rotation error {result.rotation_error_rad:.4f} rad',
                    str(result.reason), index, result)
            jump = float(np.abs(result.q - q).max())
            if jump > max_joint_jump_rad:
                joint = arm.joint_names[int(np.abs(result.q - q).argmax())]
                raise TrajectoryError(
                    f'poses[{index}]: joint {joint} jumped {jump:.3f} rad within one small Cartesian step '
                    f'(limit max_joint_jump_rad={max_joint_jump_rad}); the IK switched branches',
                    BRANCH_FLIP, index, result)
            q = result.q
        points.append(q.copy())
        T_prev = T_goal

    positions = np.array(points)
    times, velocities = time_parameterize(positions, v_max, a_max, min_segment_s)
    if not include_start:
        positions, times, velocities = positions[1:], times[1:], velocities[1:]
    return JointTrajectory(list(arm.joint_names), positions, times, velocities)


def time_parameterize(positions: np.ndarray, max_vel: np.ndarray, max_acc: np.ndarray,
                      min_segment_s: float = 1e-3, max_passes: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Times (N,) and velocities (N, n) for ``positions`` (N, n) within the given limits; at rest at
    both ends."""
    positions = np.asarray(positions, dtype=float)
    if len(positions) < 2:
        return np.zeros(len(positions)), np.zeros_like(positions)
    dq = np.diff(positions, axis=0)
    dt = np.maximum((np.abs(dq) / max_vel).max(axis=1), min_segment_s)
    for _ in range(max_passes):
        ratio = _acceleration_ratio(dq, dt, max_acc)
        worst = ratio.max()
        if worst <= 1.0 + 1e-9:
            break
        # Acceleration scales with 1/dt^2: stretch both segments around each offending point.
        stretch = np.sqrt(np.maximum(ratio, 1.0))
        dt = dt * np.maximum(stretch[:-1], stretch[1:])
    else:
        dt = dt * math.sqrt(max(_acceleration_ratio(dq, dt, max_acc).max(), 1.0))  # exact, uniform
    u = dq / dt[:, None]
    velocities = np.zeros_like(positions)
    velocities[1:-1] = 0.5 * (u[:-1] + u[1:])
    return np.concatenate(([0.0], np.cumsum(dt))), velocities


def _acceleration_ratio(dq: np.ndarray, dt: np.ndarray, max_acc: np.ndarray) -> np.ndarray:
    """max_j |a_kj| / max_acc_j at every point k (N,), at rest before the first and after the last."""
    n_joints = dq.shape[1]
    u = np.vstack((np.zeros(n_joints), dq / dt[:, None], np.zeros(n_joints)))
    dt_padded = np.concatenate(([0.0], dt, [0.0]))
    half_spans = 0.5 * (dt_padded[:-1] + dt_padded[1:])
    acc = np.diff(u, axis=0) / half_spans[:, None]
    return (np.abs(acc) / max_acc).max(axis=1)


def _substeps(T_a: np.ndarray, T_b: np.ndarray, step_m: float, step_rad: float):
    distance = float(np.linalg.norm(T_b[:3, 3] - T_a[:3, 3]))
    angle = rotation_angle(T_a[:3, :3], T_b[:3, :3])
    count = max(1, math.ceil(max(distance / step_m, angle / step_rad)))
    for k in range(1, count + 1):
        yield T_b if k == count else interpolate_pose(T_a, T_b, k / count)


def _check_poses(poses) -> list[np.ndarray]:
    if len(poses) == 0:
        raise KinematicsError('poses: expected at least one 4x4 end-effector pose, got none')
    return [check_pose(T, f'poses[{i}]') for i, T in enumerate(poses)]


def _limits(value, default: np.ndarray, n: int, name: str) -> np.ndarray:
    if value is None:
        return default.copy()
    arr = np.broadcast_to(np.asarray(value, dtype=float), (n,)).copy() if np.ndim(value) == 0 \
        else np.asarray(value, dtype=float)
    if arr.shape != (n,) or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise KinematicsError(f'{name}: expected a positive number or {n} positive numbers, got {value}')
    return arr
