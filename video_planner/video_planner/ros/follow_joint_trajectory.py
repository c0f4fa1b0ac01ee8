"""The control_msgs/FollowJointTrajectory action server of a simulated arm, like ros2_control's
joint_trajectory_controller: goals are checked and followed by `kinematics.trajectory_follower`; this module
only moves messages and goal states.

The arm's control loop (sim_robot_node's tick) drives it: ``command(now)`` is where the joints should go
this tick (the running goal's desired state, or the position held after a goal ended; None when no goal has
run), and ``measured(now, q)`` reports where they are, which publishes feedback and ends the goal when
the follower gives its verdict. The execute callback only waits for that verdict (or a cancel).

Goals that cannot run are accepted and then aborted with INVALID_GOAL / INVALID_JOINTS /
OLD_HEADER_TIMESTAMP and an error_string, so the client learns why. (joint_trajectory_controller refuses
them at the goal response instead, with no reason attached; a client must handle both.)
A new goal pre-empts the running one, which ends ABORTED; a cancel holds the arm where it is and ends
CANCELED (error_code SUCCESSFUL, as joint_trajectory_controller does).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from trajectory_msgs.msg import JointTrajectoryPoint

from video_planner.kinematics.trajectory_follower import (GoalRefused, Outcome, RequestedTolerance, Sample,
                                                          ToleranceDefaults, TrajectoryFollower, Verdict,
                                                          parse_goal, start_delay_s)
from video_planner.ros import conversions

# How often a waiting execute callback looks at cancel requests.
WAIT_POLL_S = 0.02


def import_action_type():
    """control_msgs' FollowJointTrajectory action, or None where control_msgs is not installed."""
    try:
        from control_msgs.action import FollowJointTrajectory
    except ImportError:
        return None
    return FollowJointTrajectory


@dataclass
class _Run:
    goal_handle: object
    follower: TrajectoryFollower
    done: threading.Event = field(default_factory=threading.Event)
    verdict: Optional[Verdict] = None
    canceled: bool = False


def _tolerances(entries) -> list[RequestedTolerance]:
    return [RequestedTolerance(e.name, e.position, e.velocity, e.acceleration) for e in entries]


def _point(q: np.ndarray, qd: np.ndarray, t_s: float) -> JointTrajectoryPoint:
    return JointTrajectoryPoint(positions=q.tolist(), velocities=qd.tolist(),
                                time_from_start=conversions.duration_from_s(max(t_s, 0.0)))


class FollowJointTrajectoryServer:
    """Serves ``action_type`` on ``action_name`` for the arm joints ``arm_joints`` (limits ``lower``/``upper``).

    ``selected()`` says whether this server drives the arm now (sim_robot_node's command_input);
    ``defaults()`` gives the tolerances a goal leaves at 0. Thread-safe: the action callbacks and the
    control loop run on different executor threads.
    """

    def __init__(self, node, action_type, action_name: str, arm_joints, lower: np.ndarray, upper: np.ndarray,
                 selected: Callable[[], bool], defaults: Callable[[], ToleranceDefaults]):
        self._node = node
        self._type = action_type
        self._arm_joints = tuple(arm_joints)
        self._lower, self._upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
        self._selected, self._defaults = selected, defaults
        self._lock = threading.Lock()
        self._run: Optional[_Run] = None
        self._hold: Optional[np.ndarray] = None
        self._q: Optional[np.ndarray] = None            # last measured joints, and when
        self._qd = np.zeros(len(self._arm_joints))
        self._q_time = 0.0
        self._server = ActionServer(node, action_type, action_name, execute_callback=self._execute,
                                    goal_callback=lambda _goal: GoalResponse.ACCEPT,
                                    cancel_callback=lambda _handle: CancelResponse.ACCEPT,
                                    callback_group=ReentrantCallbackGroup())

    # ------------------------------------------------------------------ the control loop's side
    def command(self, now_s: float) -> Optional[np.ndarray]:
        """Joint targets for this tick (arm order): the running goal's desired positions, else the held ones."""
        with self._lock:
            if self._run is not None:
                return self._run.follower.desired(now_s)[0]
            return None if self._hold is None else self._hold.copy()

    def measured(self, now_s: float, q: np.ndarray) -> None:
        """The joints after this tick: feedback for the running goal, and its end when the follower says so."""
        q = np.asarray(q, dtype=float)
        with self._lock:
            if self._q is not None and now_s > self._q_time:
                self._qd = (q - self._q) / (now_s - self._q_time)
            self._q, self._q_time = q, now_s
            run = self._run
            if run is None:
                return
            if not self._selected():
                self._finish(run, Verdict(Outcome.INVALID_GOAL, 'command_input no longer selects '
                                                                'follow_joint_trajectory'), hold=q)
                return
            verdict = run.follower.update(now_s, q, self._qd)
            # Under the lock, so that this tick's feedback goes out before the result it may lead to.
            run.goal_handle.publish_feedback(self._feedback(run.follower.last))
            if verdict is not None:
                hold = run.follower.goal.positions[-1] if verdict.outcome == Outcome.SUCCESSFUL else q
                self._finish(run, verdict, hold=hold)

    def abort_active(self, reason: str, keep_holding: bool = True) -> None:
        """End the running goal (ABORTED, INVALID_GOAL + ``reason``); the arm holds where it is, or with
        ``keep_holding`` False (another input takes over, or the world was reset) this server lets go of it."""
        with self._lock:
            if self._run is not None:
                self._finish(self._run, Verdict(Outcome.INVALID_GOAL, reason), hold=self._q)
            if not keep_holding:
                self._hold = None

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._run is not None

    # ------------------------------------------------------------------ the action's side
    def _finish(self, run: _Run, verdict: Verdict, hold: Optional[np.ndarray], canceled: bool = False) -> None:
        """Caller holds the lock."""
        run.verdict, run.canceled = verdict, canceled
        if self._run is run:
            self._run = None
            self._hold = None if hold is None else np.array(hold, dtype=float)
        run.done.set()

    def _feedback(self, sample: Sample):
        feedback = self._type.Feedback()
        feedback.header = conversions.make_header(self._node.get_clock().now().to_msg())
        feedback.joint_names = list(self._arm_joints)
        feedback.desired = _point(sample.desired_q, sample.desired_qd, sample.t_s)
        feedback.actual = _point(sample.actual_q, sample.actual_qd, sample.t_s)
        feedback.error = _point(sample.error_q, sample.error_qd, sample.t_s)
        if hasattr(feedback, 'index'):  # control_msgs >= 6.3 (Kilted); Jazzy's feedback has no index
            feedback.index = sample.index
        return feedback

    def _start(self, goal_handle) -> _Run | Verdict:
        """A running goal, or the verdict on one that cannot run."""
        goal = goal_handle.request
        if not self._selected():
            return Verdict(Outcome.INVALID_GOAL, "sim_robot_node's command_input is not follow_joint_trajectory: "
                                                 'set it to follow this action')
        trajectory = goal.trajectory
        try:
            checked = parse_goal(
                self._arm_joints, self._lower, self._upper, list(trajectory.joint_names),
                [list(p.positions) for p in trajectory.points], [list(p.velocities) for p in trajectory.points],
                [conversions.duration_to_s(p.time_from_start) for p in trajectory.points],
                _tolerances(goal.path_tolerance), _tolerances(goal.goal_tolerance),
                conversions.duration_to_s(goal.goal_time_tolerance), self._defaults(),
                multi_dof_joint_names=list(goal.multi_dof_trajectory.joint_names),
                component_tolerance_joints=[t.joint_name for t in (*goal.component_path_tolerance,
                                                                   *goal.component_goal_tolerance)],
                accelerations=[list(p.accelerations) for p in trajectory.points])
            stamp_s = conversions.time_to_ns(trajectory.header.stamp) * 1e-9
            delay = start_delay_s(stamp_s, self._node.get_clock().now().nanoseconds * 1e-9, checked.duration_s)
        except GoalRefused as exc:
            return Verdict(exc.outcome, str(exc))
        with self._lock:
            if self._q is None:
                return Verdict(Outcome.INVALID_GOAL, 'no joint state measured yet; try again')
            if self._run is not None:
                self._finish(self._run, Verdict(Outcome.INVALID_GOAL, 'pre-empted by a newer goal'), hold=self._q)
            run = _Run(goal_handle, TrajectoryFollower(checked, self._q, time.monotonic() + delay))
            self._run = run
        return run

    def _execute(self, goal_handle):
        run = self._start(goal_handle)
        if isinstance(run, Verdict):
            return self._end(goal_handle, run, canceled=False)
        while not run.done.wait(WAIT_POLL_S):
            if goal_handle.is_cancel_requested:
                with self._lock:
                    if not run.done.is_set():
                        self._finish(run, Verdict(Outcome.SUCCESSFUL, 'canceled: holding the position reached'),
                                     hold=self._q, canceled=True)
        return self._end(goal_handle, run.verdict, run.canceled)

    def _end(self, goal_handle, verdict: Verdict, canceled: bool):
        result = self._type.Result(error_code=getattr(self._type.Result, verdict.outcome.value),
                                   error_string=verdict.message)
        if canceled:
            goal_handle.canceled()
        elif verdict.outcome == Outcome.SUCCESSFUL:
            goal_handle.succeed()
        else:
            goal_handle.abort()
        line = f'follow_joint_trajectory goal {"canceled" if canceled else verdict.outcome.value}: {verdict.message}'
        # rclpy wants one severity per call site, hence two calls.
        if verdict.outcome == Outcome.SUCCESSFUL:
            self._node.get_logger().info(line)
        else:
            self._node.get_logger().warning(line)
        return result
