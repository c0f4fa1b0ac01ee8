"""Executing a stored plan: the plan store, the command timeline and one execution's life, without rclpy.

The inverse-dynamics node keeps every plan it completed by plan_id (``PlanStore``, the newest N) and sends
commands only for an ``execute_plan`` goal naming one of them (``check_executable``). One ``Execution`` is
active at a time; it ends exactly once, with one of the ExecutePlan outcomes below, whoever ends it first
(the controller finishing, a cancel, a newer plan or goal, execution being disabled, the node stopping).
The node's backends (``ros/command_backends.py``) turn an Execution into messages.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import pinocchio as pin

from video_planner.errors import VideoPlannerError

# ExecutePlan's outcomes (video_planner_interfaces/action/ExecutePlan.action), as plain strings so the core
# needs no message package.
NOT_REQUESTED = 'not_requested'
FINISHED = 'finished'
STOPPED = 'stopped'
FAILED = 'failed'
TOLERANCE_VIOLATED = 'tolerance_violated'


@dataclass
class StoredPlan:
    """A completed plan as the inverse-dynamics node answered it."""

    plan_id: str
    plan: Any                  # planner.Plan (poses, gripper, joint trajectory, status)
    message: Any               # the completed VideoPlan message (its joint_trajectory is sent as is)
    stored_at: float           # time.monotonic()


class PlanStore:
    """The newest ``capacity`` completed plans by plan_id; older ones are forgotten first."""

    def __init__(self, capacity: int):
        if capacity < 1:
            raise VideoPlannerError(f'the plan store must hold at least one plan, got capacity {capacity}')
        self.capacity = capacity
        self._plans: OrderedDict[str, StoredPlan] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, plan_id: str, plan, message) -> None:
        with self._lock:
            self._plans.pop(plan_id, None)
            self._plans[plan_id] = StoredPlan(plan_id, plan, message, time.monotonic())
            while len(self._plans) > self.capacity:
                self._plans.popitem(last=False)

    def get(self, plan_id: str) -> Optional[StoredPlan]:
        with self._lock:
            return self._plans.get(plan_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._plans)


def check_executable(store: PlanStore, plan_id: str, execute_enabled: bool) -> StoredPlan:
    """The stored plan ``plan_id`` if it may be executed now; else a VideoPlannerError saying why not."""
    if not execute_enabled:
        raise VideoPlannerError('execution is disabled on this node (parameter execute_enabled is false)')
    if not plan_id:
        raise VideoPlannerError('goal.plan_id is empty: pass the plan_id of a PlanVideo result or a video_plan '
                                'message')
    stored = store.get(plan_id)
    if stored is None:
        raise VideoPlannerError(f"unknown plan_id '{plan_id}': this node keeps the newest {store.capacity} plans "
                                'it completed (parameter plan_store_size); plan again')
    if not stored.plan.ok:
        raise VideoPlannerError(f"plan '{plan_id}' did not pass the safety gates and is never executed: "
                                f'{stored.plan.status}')
    if len(stored.plan.T_base_ee) == 0:
        raise VideoPlannerError(f"plan '{plan_id}' holds no end-effector poses")
    return stored


def check_start_state(stored: StoredPlan, q_now: Optional[np.ndarray], tolerance_rad: float) -> None:
    """A stored plan starts where the arm was when it was planned: refuse it (VideoPlannerError) when the arm
    has moved since, instead of letting the controller jump to the plan's first point. Needs the plan's
    joint trajectory and the measured joints; without either there is nothing to compare."""
    trajectory = stored.plan.joint_trajectory
    if trajectory is None or q_now is None or len(q_now) != len(trajectory.joint_names):
        return
    gap = np.abs(np.asarray(q_now, dtype=np.float64) - np.asarray(trajectory.positions)[0])
    worst = int(gap.argmax())
    if gap[worst] > tolerance_rad:
        raise VideoPlannerError(f"the arm has moved since plan '{stored.plan_id}' was made: joint "
                                f'{trajectory.joint_names[worst]} is {gap[worst]:.3f} rad from the plan\'s start '
                                f'(start_tolerance_rad={tolerance_rad:g}); plan again from here')


class PoseTimeline:
    """A plan's end-effector poses and gripper commands over time, interpolated on SE(3) between frames."""

    def __init__(self, T_base_ee: np.ndarray, gripper: np.ndarray, period_s: float):
        self.poses = [pin.SE3(T[:3, :3].copy(), T[:3, 3].copy()) for T in T_base_ee]
        self.gripper = np.asarray(gripper, dtype=np.float64)
        if len(self.gripper) != len(self.poses):
            self.gripper = np.zeros(len(self.poses))
        self.period_s = float(period_s)

    @property
    def duration_s(self) -> float:
        return (len(self.poses) - 1) * self.period_s

    def at(self, t: float) -> tuple[np.ndarray, float]:
        """The target pose and gripper command ``t`` seconds into the plan."""
        if len(self.poses) == 1:
            return self.poses[0].homogeneous, float(self.gripper[0])
        x = float(np.clip(t / self.period_s, 0.0, len(self.poses) - 1))
        i = min(int(x), len(self.poses) - 2)
        alpha = x - i
        a, b = self.poses[i], self.poses[i + 1]
        T = a * pin.exp6(alpha * pin.log6(a.actInv(b)))
        return T.homogeneous, float((1 - alpha) * self.gripper[i] + alpha * self.gripper[i + 1])


class Execution:
    """One stored plan being executed. It ends once; the first ``end`` wins and later ones change nothing."""

    def __init__(self, stored: StoredPlan, executed_by: str):
        self.plan_id = stored.plan_id
        self.stored = stored
        self.executed_by = executed_by
        plan = stored.plan
        self.timeline = PoseTimeline(plan.T_base_ee, plan.gripper, plan.frame_period_s)
        self.expected_duration_s = self.timeline.duration_s  # a backend with its own timing replaces it
        self.started = time.monotonic()
        self.ended_at: Optional[float] = None
        self.outcome = ''
        self.message = ''
        self.commands_sent = False     # set by the backend when the first command left the node
        self.cancel_requested = False  # the execute_plan goal behind it was cancelled by its client
        self.backend_state: Any = None  # what the backend needs to stop this execution (e.g. a goal handle)
        self.controller_done = threading.Event()  # a controller-side backend's goal has its final result
        self._done = threading.Event()
        self._lock = threading.Lock()

    @property
    def ended(self) -> bool:
        return self._done.is_set()

    def elapsed_s(self) -> float:
        return (self.ended_at or time.monotonic()) - self.started

    def progress(self) -> float:
        duration = self.expected_duration_s
        return 1.0 if duration <= 0 else float(np.clip(self.elapsed_s() / duration, 0.0, 1.0))

    def end(self, outcome: str, message: str) -> bool:
        """Ends the execution with ``outcome``; True when this call ended it."""
        with self._lock:
            if self._done.is_set():
                return False
            self.outcome, self.message, self.ended_at = outcome, message, time.monotonic()
            self._done.set()
            return True

    def wait(self, timeout_s: float) -> bool:
        return self._done.wait(timeout_s)
