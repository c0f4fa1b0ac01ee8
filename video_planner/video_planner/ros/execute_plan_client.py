"""planner_node's side of execution: one ``execute_plan`` goal to the inverse-dynamics node, followed to its end.

``ExecutePlanClient.run`` blocks the calling (action-execute) thread while the node's executor completes the
futures; it never sends a goal once ``should_stop`` holds, and cancels the goal it sent as soon as it does.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from rclpy.action import ActionClient
from video_planner_interfaces.action import ExecutePlan

from video_planner.ros.execution import FAILED, STOPPED

POLL_S = 0.01
# After a cancel, how long to wait for the inverse-dynamics node to confirm that the arm holds.
CANCEL_WAIT_S = 2.0
# The inverse-dynamics node sends feedback every 0.1 s while it executes; this long without any, it is gone
# (killed, or the network). Discovery alone notices a killed process only after the DDS lease (~20 s).
SERVER_LOST_S = 3.0
# Before its first feedback the server may still be waiting for its controller (controller_wait_s, at most 10 s).
FIRST_FEEDBACK_S = 15.0


@dataclass
class ExecutionReport:
    """What PlanVideo's result says about execution."""

    executed: bool       # a command of the plan reached the robot (as far as the planner can know)
    executed_by: str
    outcome: str         # ExecutePlan.Result.outcome
    message: str


class ExecutePlanClient:
    def __init__(self, node, action_name: str, callback_group=None):
        self._node = node
        self.action_name = action_name
        self._client = ActionClient(node, ExecutePlan, action_name, callback_group=callback_group)

    def run(self, plan_id: str, server_wait_s: float, should_stop: Callable[[], bool],
            on_progress: Callable[[float], None]) -> ExecutionReport:
        """Executes ``plan_id`` and returns how it ended; a stop request cancels it (the arm holds)."""
        deadline = time.monotonic() + server_wait_s
        while not self._client.server_is_ready() or should_stop():
            if should_stop():
                return ExecutionReport(False, '', STOPPED, 'cancelled before execution was requested')
            if time.monotonic() > deadline:
                return ExecutionReport(False, '', FAILED, f'no {self.action_name} action server (is '
                                                          f'inverse_dynamics_node running?): nothing was executed')
            time.sleep(POLL_S)
        heard = [time.monotonic(), FIRST_FEEDBACK_S]  # when the server last spoke, and how long silence may last

        def on_feedback(msg) -> None:
            heard[:] = [time.monotonic(), SERVER_LOST_S]
            on_progress(float(msg.feedback.progress))

        sent = self._client.send_goal_async(ExecutePlan.Goal(plan_id=plan_id), feedback_callback=on_feedback)
        lost = lambda: time.monotonic() - heard[0] > heard[1]  # noqa: E731
        while not sent.done():
            if lost():
                return ExecutionReport(False, '', FAILED, f'the {self.action_name} server vanished before it '
                                                          'answered the goal: nothing is known to be executed')
            time.sleep(POLL_S)
        handle = sent.result()
        if not handle.accepted:
            return ExecutionReport(False, '', FAILED, f'{self.action_name} refused the goal for plan {plan_id}')
        result = handle.get_result_async()
        cancelled_at = None
        while not result.done():
            if cancelled_at is None and should_stop():
                handle.cancel_goal_async()
                cancelled_at = time.monotonic()
            if cancelled_at is not None and time.monotonic() - cancelled_at > CANCEL_WAIT_S:
                return ExecutionReport(True, '', STOPPED, f'cancelled; {self.action_name} did not confirm the stop '
                                                          f'within {CANCEL_WAIT_S:g} s')
            if lost():
                return ExecutionReport(True, '', FAILED, f'the {self.action_name} server vanished during '
                                                         "execution: the arm's state is unknown")
            time.sleep(POLL_S)
        answer = result.result().result
        return ExecutionReport(bool(answer.executed_by), answer.executed_by, answer.outcome, answer.message)
