"""inverse_dynamics_node: generated frames -> a completed, stored plan; the `execute_plan` action runs one by id.

Subscribes ``video_plan/frames`` (VideoPlans holding only frames), runs ``VideoPlanner.frames_to_plan``
(inverse dynamics, safety gates, IK for the arm in ``robot_description`` / ``urdf_path`` / ``arm``) with
the depth, camera and robot state taken with the plan's conditioning frame, keeps the result by plan_id
(the newest ``plan_store_size``) and publishes:

- ``video_plan``         the completed VideoPlan, same plan_id (transient-local: a restarted subscriber gets it)
- ``ee_path``            nav_msgs/Path of the end-effector poses (base frame)
- ``ee_markers``         visualization_msgs/MarkerArray of the same path, coloured by gripper command
- ``video_plan/preview`` sensor_msgs/Image: the last plan's frames in a loop, for RViz

A plan is never executed because it arrived. Commands leave only for an ``execute_plan`` goal
(video_planner_interfaces/action/ExecutePlan) naming a stored plan that passed every gate, and only while
``execute_enabled``; through ``command_interface`` (see ``command_backends.py``). Goal policy: the newest
goal wins, and a new plan arriving on ``video_plan/frames`` also stops the running execution; an execution
that is cancelled, pre-empted or disabled ends ``stopped`` with the arm holding its measured pose.
``execution_done`` (std_msgs/String, the plan_id) is published whenever an execution ends.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
from nav_msgs.msg import Path
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import String
from video_planner_interfaces.action import ExecutePlan
from video_planner_interfaces.msg import VideoPlan
from visualization_msgs.msg import MarkerArray

from video_planner.errors import VideoPlannerError
from video_planner.model.threads import set_torch_threads
from video_planner.planner import Plan, VideoPlanner
from video_planner.ros import conversions
from video_planner.ros.command_backends import (COMMAND_QOS, FOLLOW_JOINT_TRAJECTORY, TOPICS, CommandPublishers,
                                                FollowJointTrajectoryCommands, TopicCommands,
                                                load_follow_joint_trajectory)
from video_planner.ros.execution import (FAILED, FINISHED, STOPPED, Execution, PlanStore, check_executable,
                                         check_start_state)
from video_planner.ros.params import NodeParameters, param
from video_planner.ros.planner_node import (FRAMES_QOS, FRAMES_TOPIC, PLAN_QOS, PLAN_TOPIC, PipelineParams,
                                            arm_name, base_frame_of, make_inputs)
from video_planner.ros.spin import run_node

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
# A plan arriving right after start-up waits this long for the first CameraInfo / depth image.
CAMERA_WAIT_S = 3.0
EXECUTE_ACTION = 'execute_plan'
# How often a running execute_plan goal looks at its execution (cancel, end) and sends feedback.
EXECUTION_POLL_S = 0.01
FEEDBACK_PERIOD_S = 0.1
CANCELING_WAIT_S = 1.0
# How long a stopped execution waits for a controller to confirm that it stopped following the plan.
CONTROLLER_STOP_WAIT_S = 5.0


@dataclass
class InverseDynamicsNodeParams(PipelineParams):
    execute_enabled: bool = param(False, 'allow commands to the robot at all (only execute_plan goals send them)')
    command_rate_hz: float = param(20.0, 'rate of the ee_command / gripper_command stream', low=0.1, high=1000.0)
    command_interface: str = param(TOPICS, "how commands reach the robot: 'topics' (joint_trajectory once + "
                                   "ee_command stream) or 'follow_joint_trajectory' (a control_msgs action goal)",
                                   choices=(TOPICS, FOLLOW_JOINT_TRAJECTORY), read_only=True)
    follow_joint_trajectory_action: str = param('/arm_controller/follow_joint_trajectory',
                                                'FollowJointTrajectory action of the arm controller',
                                                read_only=True)
    goal_time_tolerance_s: float = param(0.5, 'FollowJointTrajectory goal_time_tolerance (s)', low=0.0, high=60.0)
    controller_wait_s: float = param(2.0, 'how long an execution waits for the controller action server',
                                     low=0.0, high=10.0)
    start_tolerance_rad: float = param(0.1, 'a stored plan is refused when a measured joint is further than this '
                                       "from the plan's first point (the arm moved since planning)", low=0.0,
                                       high=6.3)
    plan_store_size: int = param(16, 'completed plans kept for execute_plan (the newest)', low=1, high=1000,
                                 read_only=True)

    def validate(self) -> None:
        super().validate()
        if self.command_interface == FOLLOW_JOINT_TRAJECTORY:
            load_follow_joint_trajectory()  # a clear ConfigError at start-up when control_msgs is missing


class InverseDynamicsNode(Node):
    def __init__(self, planner: Optional[VideoPlanner] = None, **node_kwargs):
        super().__init__('inverse_dynamics_node', **node_kwargs)
        self.params = NodeParameters(self, InverseDynamicsNodeParams, on_change=self._on_params)
        p = self.params.config
        set_torch_threads(p.torch_threads)
        self.planner = planner or VideoPlanner(p.planner_config())
        _ = self.planner.inverse_dynamics, self.planner.kinematics  # fail at start-up on a bad URDF / checkpoint
        if self.planner.reads_scene:
            self.planner.load_scene_readers()  # now, not at the first plan
        self.base_frame = base_frame_of(self.planner)
        self.inputs = make_inputs(self, p, self.planner, keep_latest_frame=False)
        self.plans = PlanStore(p.plan_store_size)
        self._plan_pub = self.create_publisher(VideoPlan, PLAN_TOPIC, PLAN_QOS)
        self._path_pub = self.create_publisher(Path, 'ee_path', LATCHED)
        self._markers_pub = self.create_publisher(MarkerArray, 'ee_markers', LATCHED)
        self._done_pub = self.create_publisher(String, 'execution_done', COMMAND_QOS)
        self._preview_pub = self.create_publisher(Image, 'video_plan/preview', COMMAND_QOS)
        self._preview: Optional[tuple[float, float, list]] = None  # (start, period, frames)
        self._preview_index = -1
        self._playhead_path: Optional[tuple] = None   # (T_base_ee, gripper, stamp) of the previewed plan
        actions = ReentrantCallbackGroup()
        publishers = CommandPublishers(self)
        if p.command_interface == FOLLOW_JOINT_TRAJECTORY:
            self.commands = FollowJointTrajectoryCommands(self, publishers, p.follow_joint_trajectory_action,
                                                          p.goal_time_tolerance_s, p.controller_wait_s, actions)
        else:
            self.commands = TopicCommands(self, publishers, self.base_frame)
        # Held while a command is published or an execution is stopped: once stopped, no command of it leaves.
        self._command_lock = threading.Lock()
        self._active: Optional[Execution] = None
        self._active_goal = None
        self._stopping = threading.Event()
        self.create_subscription(VideoPlan, FRAMES_TOPIC, self._on_frames, FRAMES_QOS,
                                 callback_group=MutuallyExclusiveCallbackGroup())
        self._server = ActionServer(self, ExecutePlan, EXECUTE_ACTION, execute_callback=self._execute_goal,
                                    goal_callback=self._on_goal, cancel_callback=self._on_cancel,
                                    callback_group=actions)
        self._timer = self.create_timer(1.0 / p.command_rate_hz, self._on_tick,
                                        callback_group=MutuallyExclusiveCallbackGroup())
        self.get_logger().info(f'inverse_dynamics_node ready: {self.planner.config.inverse_dynamics} inverse '
                               f'dynamics, arm {arm_name(self.planner) or "(none: no joint targets)"}, '
                               f'execute_enabled={p.execute_enabled}, action {EXECUTE_ACTION} through '
                               f'{self.commands.executed_by}')

    def _on_params(self, config: InverseDynamicsNodeParams) -> None:
        # Gates apply from the next plan; model files are read-only parameters.
        self.planner.config = config.planner_config()
        self.inputs.max_age_s = config.max_frame_age_s
        self._timer.timer_period_ns = int(1e9 / config.command_rate_hz)
        if not config.execute_enabled:
            self._stop_active(STOPPED, 'execution was disabled (execute_enabled set to false)')

    # ------------------------------------------------------------------ plans
    def _on_frames(self, msg: VideoPlan) -> None:
        self._stop_active(STOPPED, f'a new plan {msg.plan_id} arrived')
        try:
            envelope = conversions.video_plan_from_msg(msg)
            plan = self._solve(envelope)
        except VideoPlannerError as exc:
            self.inputs.problems.report(FRAMES_TOPIC, str(exc))
            self._answer_failure(msg, f'rejected: {exc}')
            return
        except Exception as exc:  # a bug must not take the node down: answer, log, keep serving
            self.get_logger().error(f'plan {msg.plan_id} failed unexpectedly: {type(exc).__name__}: {exc}')
            self._answer_failure(msg, f'internal error: {type(exc).__name__}: {exc}')
            return
        envelope.plan, envelope.arm, envelope.base_frame_id = plan, arm_name(self.planner), self.base_frame
        completed = conversions.video_plan_to_msg(envelope)
        self.plans.put(envelope.plan_id, plan, completed)
        self._plan_pub.publish(completed)
        self._preview = (time.monotonic(), max(plan.frame_period_s, 0.05),
                         [conversions.rgb_to_image(f, completed.header.stamp, completed.header.frame_id)
                          for f in plan.frames])
        self._playhead_path = ((plan.T_base_ee, plan.gripper, completed.header.stamp)
                               if len(plan.T_base_ee) else None)
        if len(plan.T_base_ee):
            self._path_pub.publish(completed.ee_path)
            self._markers_pub.publish(conversions.path_markers(
                plan.T_base_ee, plan.gripper, completed.header.stamp, self.base_frame))
        if not plan.ok:
            self.get_logger().warning(f'plan {msg.plan_id} failed a gate and will not be executed: {plan.status}')

    def _solve(self, envelope) -> Plan:
        frames = envelope.plan.frames
        view = envelope.view or self.planner.view
        self.planner.inverse_dynamics_for(view)  # frames it cannot read are refused before any sensor wait
        self.inputs.wait_for_camera(CAMERA_WAIT_S)
        snapshot = self.inputs.inputs_at(envelope.stamp_ns * 1e-9, envelope.camera_frame_id, rgb=None)
        plan = self.planner.frames_to_plan(envelope.plan.instruction, frames, snapshot.depth_m, snapshot.camera,
                                           snapshot.T_base_ee, snapshot.q_current, gripper_now=snapshot.gripper,
                                           view=view)
        plan.status = plan.status if not plan.ok else (self._joint_limit_failure(plan) or 'ok')
        return plan

    def _joint_limit_failure(self, plan: Plan) -> str:
        """Last gate before commands leave: every joint target inside the URDF limits."""
        arm, trajectory = self.planner.kinematics, plan.joint_trajectory
        if arm is None or trajectory is None:
            return ''
        for i, q in enumerate(np.asarray(trajectory.positions)):
            if not arm.within_limits(q, tol=1e-6):
                return f'joint target {i} is outside the URDF joint limits'
        return ''

    def _answer_failure(self, msg: VideoPlan, status: str) -> None:
        answer = VideoPlan(header=msg.header, plan_id=msg.plan_id, instruction=msg.instruction,
                           execute=msg.execute, status=status)
        self._plan_pub.publish(answer)

    # ------------------------------------------------------------------ execute_plan goals
    def _on_goal(self, goal: ExecutePlan.Goal) -> GoalResponse:
        # Every goal is accepted so that a refusal (unknown id, failed gate) reaches the client as a result
        # with its reason; the newest goal pre-empts the running one when it starts.
        return GoalResponse.REJECT if self._stopping.is_set() else GoalResponse.ACCEPT

    def _on_cancel(self, goal_handle) -> CancelResponse:
        # Stop here, not in the goal's loop: the hold leaves as soon as the cancel request is read.
        with self._command_lock:  # (held across the check and the flag: the goal cannot change in between)
            mine = self._active_goal is not None and bytes(self._active_goal.goal_id.uuid) == \
                bytes(goal_handle.goal_id.uuid)
            if mine:
                self._active.cancel_requested = True
        if mine:
            received = time.monotonic()
            self._stop_active(STOPPED, 'cancelled by the client')
            # The node's own reaction time, apart from the transport: what a test on a busy machine can hold it to.
            self.get_logger().info(f'hold sent {1000 * (time.monotonic() - received):.1f} ms after the cancel '
                                   'request arrived')
        return CancelResponse.ACCEPT

    @property
    def busy(self) -> bool:
        """An execution is running (spin.py lets it stop before the node goes)."""
        return self._active is not None

    def request_stop(self) -> None:
        """The process is stopping: the running execution stops (the arm holds), new goals are refused."""
        self._stopping.set()
        self._stop_active(STOPPED, 'inverse_dynamics_node is shutting down')

    def _execute_goal(self, goal_handle) -> ExecutePlan.Result:
        plan_id = goal_handle.request.plan_id
        try:
            stored = check_executable(self.plans, plan_id, self.params.config.execute_enabled)
            check_start_state(stored, self.inputs.latest_state()[1], self.params.config.start_tolerance_rad)
        except VideoPlannerError as exc:
            return self._goal_result(goal_handle, None, FAILED, str(exc))
        execution = Execution(stored, self.commands.executed_by)
        with self._command_lock:  # pre-empt and take over in one step: two goals cannot both become active
            if goal_handle.is_cancel_requested or self._stopping.is_set():
                return self._goal_result(goal_handle, None, STOPPED, 'cancelled before execution started')
            self._stop_locked(STOPPED, f'pre-empted by a newer execute_plan goal for plan {plan_id}')
            self._active, self._active_goal = execution, goal_handle
        try:
            self.commands.start(execution)
        except VideoPlannerError as exc:
            execution.end(FAILED, str(exc))
        except Exception as exc:  # a bug must not leave the goal unanswered
            self.get_logger().error(f'execution of {plan_id} failed: {type(exc).__name__}: {exc}')
            execution.end(FAILED, f'internal error: {type(exc).__name__}: {exc}')
        self.get_logger().info(f'executing plan {plan_id}: {len(execution.timeline.poses)} poses over '
                               f'{execution.timeline.duration_s:.1f} s through {self.commands.name}')
        last_feedback = 0.0
        while not execution.wait(EXECUTION_POLL_S):
            if goal_handle.is_cancel_requested:  # (the cancel callback normally got here first)
                self._stop_active(STOPPED, 'cancelled by the client')
            elif time.monotonic() - last_feedback >= FEEDBACK_PERIOD_S:
                last_feedback = time.monotonic()
                goal_handle.publish_feedback(ExecutePlan.Feedback(
                    plan_id=plan_id, progress=execution.progress(), time_from_start_s=execution.elapsed_s()))
        with self._command_lock:  # (also waits for a stop's message to be complete)
            if self._active is execution:
                self._active, self._active_goal = None, None
        if execution.outcome == STOPPED:
            execution.message += self.commands.confirm_stop(execution, CONTROLLER_STOP_WAIT_S)
        self._done_pub.publish(String(data=plan_id))
        self.get_logger().info(f'execution of plan {plan_id} ended {execution.outcome}: {execution.message}')
        return self._goal_result(goal_handle, execution, execution.outcome, execution.message)

    def _goal_result(self, goal_handle, execution: Optional[Execution], outcome: str,
                     message: str) -> ExecutePlan.Result:
        sent = execution is not None and execution.commands_sent
        if execution is not None and execution.cancel_requested:
            # The execution was stopped inside the cancel callback; the goal turns CANCELING only once that
            # callback has returned.
            deadline = time.monotonic() + CANCELING_WAIT_S
            while not goal_handle.is_cancel_requested and time.monotonic() < deadline:
                time.sleep(EXECUTION_POLL_S)
        result = ExecutePlan.Result(success=outcome == FINISHED, outcome=outcome, message=message,
                                    executed_by=execution.executed_by if sent else '',
                                    duration_s=float(execution.elapsed_s()) if sent else 0.0)
        try:
            if goal_handle.is_cancel_requested:
                goal_handle.canceled()
            elif outcome == FINISHED:
                goal_handle.succeed()
            else:
                goal_handle.abort()
        except Exception as exc:  # the goal's state changed underneath (client gone): log, answer anyway
            self.get_logger().warning(f'could not set the final state of execute_plan goal: {exc}')
        if outcome == FAILED and execution is None:
            self.get_logger().warning(f'execute_plan refused: {message}')
        return result

    # ------------------------------------------------------------------ commands
    def _stop_active(self, outcome: str, why: str) -> None:
        """Ends the running execution (if any) and makes the arm hold; no command of it leaves afterwards."""
        with self._command_lock:
            self._stop_locked(outcome, why)

    def _stop_locked(self, outcome: str, why: str) -> None:
        execution = self._active
        if execution is None or not execution.end(outcome, why):
            return
        T_base_ee, q = self.inputs.latest_state()
        arm = self.planner.kinematics
        held = self.commands.stop(execution, T_base_ee, q, list(arm.joint_names) if arm else [])
        execution.message = f'{why}; {held}'
        self.get_logger().info(f'stopped executing plan {execution.plan_id}: {execution.message}')

    def _on_tick(self) -> None:
        self._publish_preview()
        with self._command_lock:
            execution = self._active
            if execution is not None and not execution.ended:
                self.commands.tick(execution)

    def _publish_preview(self) -> None:
        """The plan's frames in a loop, and (on ee_markers) an arrow moving along its path in step."""
        if self._preview is None:
            return
        start, period, frames = self._preview
        index = int((time.monotonic() - start) / period) % len(frames)
        if index == self._preview_index:
            return
        self._preview_index = index
        if self._preview_pub.get_subscription_count():
            self._preview_pub.publish(frames[index])
        if self._playhead_path is not None and self._markers_pub.get_subscription_count():
            T_base_ee, gripper, stamp = self._playhead_path
            self._markers_pub.publish(conversions.path_markers(T_base_ee, gripper, stamp, self.base_frame,
                                                               playhead=index))


def main(args=None) -> int:
    return run_node(InverseDynamicsNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
