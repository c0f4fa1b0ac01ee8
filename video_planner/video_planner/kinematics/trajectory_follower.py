"""Following a FollowJointTrajectory goal the way ros2_control's joint_trajectory_controller does, without ROS.

`parse_goal` checks a goal against the arm (joint names in any order, increasing times, finite values within
the joint limits, tolerances naming the arm's joints) and returns it in the arm's joint order, or raises
`GoalRefused` with the control_msgs error code name and a sentence saying what is wrong.
`TrajectoryFollower` then answers, at each control tick, where the joints should be (`desired`) and, given
where they are, whether the goal still runs, succeeded or broke a tolerance (`update`).

Tolerance values follow control_msgs/JointTolerance: > 0 is the tolerance, 0 means the server's default,
< 0 means unchecked. Acceleration tolerances are accepted and not checked (the simulator measures none).
Time: the trajectory starts from the joints' position when the goal was accepted (unless its first point is
at t = 0) and is interpolated in time, cubic Hermite when every point carries velocities, else linear.
A goal succeeds once, at or after the last point's time, every joint is within the goal tolerance; if that
has not happened goal_time_tolerance after the last point's time, it fails with GOAL_TOLERANCE_VIOLATED.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Optional

import numpy as np
from scipy.interpolate import CubicHermiteSpline

from video_planner.errors import VideoPlannerError

# Joint positions this far outside a limit (rad or m) still count as within it: a planner that samples a
# trajectory at a limit lands there only up to rounding.
LIMIT_SLACK = 1e-6


class Outcome(str, Enum):
    """How a goal ends; the names are control_msgs/action/FollowJointTrajectory.Result's error codes."""
    SUCCESSFUL = 'SUCCESSFUL'
    INVALID_GOAL = 'INVALID_GOAL'
    INVALID_JOINTS = 'INVALID_JOINTS'
    OLD_HEADER_TIMESTAMP = 'OLD_HEADER_TIMESTAMP'
    PATH_TOLERANCE_VIOLATED = 'PATH_TOLERANCE_VIOLATED'
    GOAL_TOLERANCE_VIOLATED = 'GOAL_TOLERANCE_VIOLATED'


class GoalRefused(VideoPlannerError):
    """A goal that cannot be executed: `outcome` is the error code, the message says why."""

    def __init__(self, outcome: Outcome, message: str):
        super().__init__(message)
        self.outcome = outcome


@dataclass(frozen=True)
class RequestedTolerance:
    """One control_msgs/JointTolerance entry as sent."""
    name: str
    position: float = 0.0
    velocity: float = 0.0
    acceleration: float = 0.0


@dataclass(frozen=True)
class ToleranceDefaults:
    """The server's tolerances where a goal leaves them at 0 (0 here: unchecked)."""
    path_position: float = 0.0
    goal_position: float = 0.03
    goal_time_s: float = 1.0


@dataclass(frozen=True)
class Tolerances:
    """Per arm joint (arm order); inf = unchecked."""
    position: np.ndarray
    velocity: np.ndarray


@dataclass(frozen=True)
class TrajectoryGoal:
    """A checked goal in the arm's joint order. ``order[k]`` is the goal's column of arm joint k."""
    joint_names: tuple[str, ...]
    times_s: np.ndarray                  # (N,), strictly increasing, >= 0
    positions: np.ndarray                # (N, n)
    velocities: Optional[np.ndarray]     # (N, n) when every point had them
    path_tolerance: Tolerances
    goal_tolerance: Tolerances
    goal_time_tolerance_s: float

    @property
    def duration_s(self) -> float:
        return float(self.times_s[-1])


@dataclass(frozen=True)
class Sample:
    """Desired and measured joint state at one tick (arm order): what a feedback message carries."""
    t_s: float               # since the trajectory's start
    index: int               # the goal point being approached
    desired_q: np.ndarray
    desired_qd: np.ndarray
    actual_q: np.ndarray
    actual_qd: np.ndarray

    @property
    def error_q(self) -> np.ndarray:
        return self.desired_q - self.actual_q

    @property
    def error_qd(self) -> np.ndarray:
        return self.desired_qd - self.actual_qd


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    message: str


def _tolerance_value(requested: float, default: float) -> float:
    if requested > 0:
        return float(requested)
    if requested < 0:
        return math.inf
    return math.inf if default <= 0 else float(default)


def _tolerances(entries: Sequence[RequestedTolerance], arm_joints: Sequence[str], default_position: float,
                what: str) -> Tolerances:
    position = np.full(len(arm_joints), _tolerance_value(0.0, default_position))
    velocity = np.full(len(arm_joints), math.inf)
    index = {name: k for k, name in enumerate(arm_joints)}
    for entry in entries:
        if entry.name not in index:
            raise GoalRefused(Outcome.INVALID_JOINTS, f'{what} names joint {entry.name!r}, which is not one of '
                                                      f'the arm joints {list(arm_joints)}')
        values = (entry.position, entry.velocity, entry.acceleration)
        if not all(math.isfinite(v) for v in values):
            raise GoalRefused(Outcome.INVALID_GOAL, f'{what} for joint {entry.name!r} is not finite: {values}')
        k = index[entry.name]
        position[k] = _tolerance_value(entry.position, default_position)
        velocity[k] = _tolerance_value(entry.velocity, 0.0)
    return Tolerances(position, velocity)


def _check_joint_names(joint_names: Sequence[str], arm_joints: Sequence[str]) -> list[int]:
    """The goal's column of each arm joint; INVALID_JOINTS unless the names are the arm's, in any order."""
    duplicated = sorted({n for n in joint_names if list(joint_names).count(n) > 1})
    missing = [n for n in arm_joints if n not in joint_names]
    unknown = [n for n in joint_names if n not in arm_joints]
    if duplicated or missing or unknown:
        parts = [f'{label} {names}' for label, names in (('missing', missing), ('unknown', unknown),
                                                         ('repeated', duplicated)) if names]
        raise GoalRefused(Outcome.INVALID_JOINTS, f'trajectory.joint_names must be the arm joints {list(arm_joints)} '
                                                  f'in any order: {", ".join(parts)}')
    return [list(joint_names).index(name) for name in arm_joints]


def _point_array(rows: Sequence[Sequence[float]], n: int, field: str, optional: bool) -> Optional[np.ndarray]:
    """(N, n) array of one JointTrajectoryPoint field; None when optional and every point left it empty."""
    lengths = {len(r) for r in rows}
    if optional and lengths == {0}:
        return None
    for k, row in enumerate(rows):
        if len(row) != n:
            raise GoalRefused(Outcome.INVALID_GOAL, f'trajectory.points[{k}].{field} has {len(row)} values, expected '
                                                    f'{n} (one per joint name){" or none" if optional else ""}')
    array = np.array([np.asarray(r, dtype=float) for r in rows]).reshape(len(rows), n)
    bad = np.argwhere(~np.isfinite(array))
    if len(bad):
        k, j = bad[0]
        raise GoalRefused(Outcome.INVALID_GOAL, f'trajectory.points[{k}].{field}[{j}] is {array[k, j]}: '
                                                f'every value must be finite')
    return array


def _check_times(times_s: Sequence[float]) -> np.ndarray:
    times = np.asarray(times_s, dtype=float)
    if not np.all(np.isfinite(times)) or np.any(times < 0):
        raise GoalRefused(Outcome.INVALID_GOAL, f'time_from_start must be finite and >= 0; got {times.tolist()}')
    steps = np.diff(times)
    if np.any(steps <= 0):
        k = int(np.argmax(steps <= 0)) + 1
        raise GoalRefused(Outcome.INVALID_GOAL, f'time_from_start must increase from point to point: point {k} is at '
                                                f'{times[k]:.3f} s, point {k - 1} at {times[k - 1]:.3f} s')
    if times[-1] <= 0:
        raise GoalRefused(Outcome.INVALID_GOAL, 'the last point must have time_from_start > 0')
    return times


def _check_limits(positions: np.ndarray, arm_joints: Sequence[str], lower: np.ndarray, upper: np.ndarray) -> None:
    outside = (positions < lower - LIMIT_SLACK) | (positions > upper + LIMIT_SLACK)
    if np.any(outside):
        k, j = np.argwhere(outside)[0]
        raise GoalRefused(Outcome.INVALID_GOAL, f'trajectory.points[{k}]: joint {arm_joints[j]!r} at '
                                                f'{positions[k, j]:.4f} is outside its limits '
                                                f'[{lower[j]:.4f}, {upper[j]:.4f}]')


def parse_goal(arm_joints: Sequence[str], lower: np.ndarray, upper: np.ndarray, joint_names: Sequence[str],
               positions: Sequence[Sequence[float]], velocities: Sequence[Sequence[float]],
               times_s: Sequence[float], path_tolerance: Sequence[RequestedTolerance] = (),
               goal_tolerance: Sequence[RequestedTolerance] = (), goal_time_tolerance_s: float = 0.0,
               defaults: ToleranceDefaults = ToleranceDefaults(), multi_dof_joint_names: Sequence[str] = (),
               component_tolerance_joints: Sequence[str] = (),
               accelerations: Sequence[Sequence[float]] | None = None) -> TrajectoryGoal:
    """Check one goal against the arm (see the module doc); the goal in arm joint order, or GoalRefused.

    Accelerations are checked (one finite value per joint, or none) but not used for interpolation."""
    if multi_dof_joint_names or component_tolerance_joints:
        raise GoalRefused(Outcome.INVALID_JOINTS, 'multi-DOF trajectories and component tolerances are not '
                                                  f'supported: the arm has single-DOF joints only '
                                                  f'(got {list(multi_dof_joint_names or component_tolerance_joints)})')
    if len(positions) == 0:
        raise GoalRefused(Outcome.INVALID_GOAL, 'trajectory.points is empty')
    order = _check_joint_names(joint_names, arm_joints)
    n = len(joint_names)
    if len(times_s) != len(positions) or len(velocities) != len(positions):
        raise VideoPlannerError('parse_goal: positions, velocities and times_s need one entry per point')
    q = _point_array(positions, n, 'positions', optional=False)[:, order]
    qd = _point_array(velocities, n, 'velocities', optional=True)
    if accelerations is not None:
        _point_array(accelerations, n, 'accelerations', optional=True)
    times = _check_times(times_s)
    _check_limits(q, arm_joints, np.asarray(lower, dtype=float), np.asarray(upper, dtype=float))
    if not math.isfinite(goal_time_tolerance_s) or goal_time_tolerance_s < 0:
        raise GoalRefused(Outcome.INVALID_GOAL, f'goal_time_tolerance must be >= 0, got {goal_time_tolerance_s} s')
    return TrajectoryGoal(
        joint_names=tuple(arm_joints), times_s=times, positions=q, velocities=None if qd is None else qd[:, order],
        path_tolerance=_tolerances(path_tolerance, arm_joints, defaults.path_position, 'path_tolerance'),
        goal_tolerance=_tolerances(goal_tolerance, arm_joints, defaults.goal_position, 'goal_tolerance'),
        goal_time_tolerance_s=float(goal_time_tolerance_s) if goal_time_tolerance_s > 0 else defaults.goal_time_s)


def start_delay_s(header_stamp_s: float, now_s: float, duration_s: float) -> float:
    """Seconds from now until the trajectory starts: a zero stamp means now, a stamp in the future waits.

    OLD_HEADER_TIMESTAMP when the whole trajectory would already be over."""
    if header_stamp_s == 0.0:
        return 0.0
    if header_stamp_s + duration_s < now_s:
        raise GoalRefused(Outcome.OLD_HEADER_TIMESTAMP, f'trajectory.header.stamp is {now_s - header_stamp_s:.3f} s '
                                                        f'in the past, longer than the trajectory ({duration_s:.3f} s)')
    return header_stamp_s - now_s


def _worst(excess: np.ndarray) -> int:
    return int(np.argmax(excess))


class TrajectoryFollower:
    """One accepted goal: the desired joint state over time, and its verdict from the measured state."""

    def __init__(self, goal: TrajectoryGoal, q_start: np.ndarray, start_s: float):
        self.goal = goal
        self.start_s = float(start_s)
        q_start = np.asarray(q_start, dtype=float)
        times, q, qd = goal.times_s, goal.positions, goal.velocities
        if times[0] > 0:  # from where the arm is to the first point
            times = np.concatenate([[0.0], times])
            q = np.vstack([q_start, q])
            qd = None if qd is None else np.vstack([np.zeros_like(q_start), qd])
        self._times, self._q = times, q
        # parse_goal guarantees a last time > 0, so there are always >= 2 knots here.
        self._spline = CubicHermiteSpline(times, q, qd, axis=0) if qd is not None else None
        self._final_qd = np.zeros(q.shape[1]) if goal.velocities is None else goal.velocities[-1]
        self.last: Optional[Sample] = None

    def desired(self, now_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Desired joint positions and velocities (arm order); held at the ends."""
        t = float(np.clip(now_s - self.start_s, 0.0, self._times[-1]))
        if self._spline is not None:
            return self._spline(t), self._spline(t, 1)
        k = int(np.clip(np.searchsorted(self._times, t, side='right') - 1, 0, len(self._times) - 2))
        slope = (self._q[k + 1] - self._q[k]) / (self._times[k + 1] - self._times[k])
        return self._q[k] + slope * (t - self._times[k]), slope

    def update(self, now_s: float, q_actual: np.ndarray, qd_actual: np.ndarray) -> Optional[Verdict]:
        """Record the measured state (``self.last``); the verdict once the goal is over, else None."""
        t = now_s - self.start_s
        desired_q, desired_qd = self.desired(now_s)
        index = int(min(np.searchsorted(self.goal.times_s, max(t, 0.0), side='right'), len(self.goal.times_s) - 1))
        sample = Sample(t, index, desired_q, desired_qd, np.asarray(q_actual, dtype=float),
                        np.asarray(qd_actual, dtype=float))
        self.last = sample
        end = self.goal.duration_s
        if 0.0 <= t < end:
            return self._path_verdict(sample)
        if t >= end:
            return self._goal_verdict(sample, t - end)
        return None

    def _path_verdict(self, s: Sample) -> Optional[Verdict]:
        tol = self.goal.path_tolerance
        for what, error, limit, unit in (('position', s.error_q, tol.position, ''),
                                         ('velocity', s.error_qd, tol.velocity, '/s')):
            excess = np.abs(error) - limit
            if np.any(excess > 0):
                j = _worst(excess)
                return Verdict(Outcome.PATH_TOLERANCE_VIOLATED,
                               f'joint {self.goal.joint_names[j]!r} {what} is {abs(error[j]):.4f}{unit} off its path '
                               f'at t = {s.t_s:.2f} s (path tolerance {limit[j]:.4f}{unit})')
        return None

    def _goal_verdict(self, s: Sample, late_s: float) -> Optional[Verdict]:
        tol = self.goal.goal_tolerance
        position_error = np.abs(self.goal.positions[-1] - s.actual_q)
        velocity_error = np.abs(self._final_qd - s.actual_qd)
        position_excess = position_error - tol.position
        velocity_excess = velocity_error - tol.velocity
        if np.all(position_excess <= 0) and np.all(velocity_excess <= 0):
            return Verdict(Outcome.SUCCESSFUL, f'reached the goal within tolerance {late_s:.2f} s after the '
                                               f'trajectory end (largest joint error {position_error.max():.4f})')
        if late_s <= self.goal.goal_time_tolerance_s:
            return None
        if np.any(position_excess > 0):
            j, what, error, limit = _worst(position_excess), 'position', position_error, tol.position
        else:
            j, what, error, limit = _worst(velocity_excess), 'velocity', velocity_error, tol.velocity
        return Verdict(Outcome.GOAL_TOLERANCE_VIOLATED,
                       f'joint {self.goal.joint_names[j]!r} {what} is {error[j]:.4f} from the goal '
                       f'{self.goal.goal_time_tolerance_s:.2f} s after the trajectory end '
                       f'(goal tolerance {limit[j]:.4f})')
