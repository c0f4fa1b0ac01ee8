"""How an Execution reaches the robot: the ``command_interface`` parameter of inverse_dynamics_node.

- ``topics``: the plan's JointTrajectory once on ``joint_trajectory``, then PoseStamped ``ee_command`` +
  Float64 ``gripper_command`` at the command rate (servo-style). Stopping publishes the hold: one
  ``ee_command`` at the measured end-effector pose and a one-point JointTrajectory at the measured joints.
- ``follow_joint_trajectory``: one ``control_msgs/action/FollowJointTrajectory`` goal to the controller
  (ros2_control's joint_trajectory_controller), whose result error code gives the outcome; stopping
  cancels that goal, and the execution ends once the controller confirms (it holds). ``gripper_command``
  still streams on its topic.

control_msgs is not on PyPI, so it is imported only when follow_joint_trajectory is chosen.
"""
from __future__ import annotations

import copy
from typing import Optional

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Float64
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from video_planner.errors import ConfigError, VideoPlannerError
from video_planner.ros import conversions
from video_planner.ros.execution import FAILED, FINISHED, STOPPED, TOLERANCE_VIOLATED, Execution

COMMAND_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)
TOPICS = 'topics'
FOLLOW_JOINT_TRAJECTORY = 'follow_joint_trajectory'
# The hold trajectory's single point: reached this long after receipt (a controller refuses a first point at 0).
HOLD_TIME_S = 0.05


def load_follow_joint_trajectory():
    """control_msgs' FollowJointTrajectory action type, or a ConfigError saying how to get it."""
    from video_planner.ros.follow_joint_trajectory import import_action_type
    action_type = import_action_type()
    if action_type is None:
        raise ConfigError("command_interface 'follow_joint_trajectory' needs the control_msgs package "
                          '(apt install ros-$ROS_DISTRO-control-msgs), which is not importable here. '
                          "Use command_interface 'topics' instead.")
    return action_type


def trajectory_to_send(stored_msg: JointTrajectory) -> JointTrajectory:
    """The stored plan's trajectory stamped 0 ("start on receipt"): its own stamp is the camera frame's, in
    the past, which a controller would read as a trajectory already under way."""
    msg = copy.deepcopy(stored_msg)
    msg.header.stamp = conversions.to_time_msg(0)
    return msg


class CommandPublishers:
    """The command topics every backend shares (gripper) and the topics backend streams on."""

    def __init__(self, node):
        self.trajectory = node.create_publisher(JointTrajectory, 'joint_trajectory', COMMAND_QOS)
        self.ee = node.create_publisher(PoseStamped, 'ee_command', COMMAND_QOS)
        self.gripper = node.create_publisher(Float64, 'gripper_command', COMMAND_QOS)


class TopicCommands:
    """Fire-and-forget topics; the node's timer calls ``tick`` at the command rate."""

    name = TOPICS

    def __init__(self, node, publishers: CommandPublishers, base_frame: str):
        self._node = node
        self._pub = publishers
        self._base_frame = base_frame
        self.executed_by = (f'{node.get_fully_qualified_name()} via topics '
                            f'{node.resolve_topic_name("joint_trajectory")} + {node.resolve_topic_name("ee_command")}')

    def start(self, execution: Execution) -> None:
        trajectory = execution.stored.message.joint_trajectory
        if trajectory.points:
            self._pub.trajectory.publish(trajectory_to_send(trajectory))
        execution.commands_sent = True

    def tick(self, execution: Execution) -> None:
        t = execution.elapsed_s()
        T, grip = execution.timeline.at(t)
        self._pub.ee.publish(conversions.matrix_to_pose_stamped(T, self._node.get_clock().now(), self._base_frame))
        self._pub.gripper.publish(Float64(data=grip))
        if t >= execution.timeline.duration_s:
            execution.end(FINISHED, f'all {len(execution.timeline.poses)} poses were commanded')

    def stop(self, execution: Execution, T_base_ee: Optional[np.ndarray], q: Optional[np.ndarray],
             joint_names: list[str]) -> str:
        """Publishes the hold; returns what was held (for the log and the result message)."""
        held = []
        if T_base_ee is not None:
            self._pub.ee.publish(conversions.matrix_to_pose_stamped(T_base_ee, self._node.get_clock().now(),
                                                                    self._base_frame))
            held.append('end-effector pose')
        if q is not None and joint_names:
            point = JointTrajectoryPoint(positions=[float(v) for v in q],
                                         velocities=[0.0] * len(q),
                                         time_from_start=conversions.duration_from_s(HOLD_TIME_S))
            self._pub.trajectory.publish(JointTrajectory(header=conversions.make_header(0, self._base_frame),
                                                         joint_names=list(joint_names), points=[point]))
            held.append('joint positions')
        return ('holding the measured ' + ' and '.join(held)) if held else \
            'no measured robot state to hold (no ee_pose / joint_states heard): the command stream stopped'

    def confirm_stop(self, execution: Execution, timeout_s: float) -> str:
        """Nothing to wait for: the hold left with ``stop``."""
        return ''


class FollowJointTrajectoryCommands:
    """One FollowJointTrajectory goal per execution; the controller's result ends the execution."""

    name = FOLLOW_JOINT_TRAJECTORY

    def __init__(self, node, publishers: CommandPublishers, action_name: str, goal_time_tolerance_s: float,
                 server_wait_s: float, callback_group=None):
        from rclpy.action import ActionClient
        self._action_type = load_follow_joint_trajectory()
        self._node = node
        self._pub = publishers
        self._action_name = action_name
        self._goal_time_tolerance_s = goal_time_tolerance_s
        self._server_wait_s = server_wait_s
        self._client = ActionClient(node, self._action_type, action_name, callback_group=callback_group)
        self.executed_by = f'{node.get_fully_qualified_name()} via FollowJointTrajectory {action_name}'

    def start(self, execution: Execution) -> None:
        try:
            self._send(execution)
        except Exception:
            execution.controller_done.set()  # no goal left: nothing for a stop to wait for
            raise

    def _send(self, execution: Execution) -> None:
        trajectory = execution.stored.message.joint_trajectory
        if not trajectory.points:
            raise VideoPlannerError(f"plan '{execution.plan_id}' has no joint trajectory (the node has no arm "
                                    'URDF), so there is nothing to send to FollowJointTrajectory')
        if not self._client.wait_for_server(timeout_sec=self._server_wait_s):
            raise VideoPlannerError(f'no FollowJointTrajectory server on {self._action_name} (waited '
                                    f'{self._server_wait_s:g} s): is the controller running?')
        if execution.ended:
            raise VideoPlannerError('stopped before the goal was sent')
        execution.expected_duration_s = conversions.duration_to_s(trajectory.points[-1].time_from_start)
        goal = self._action_type.Goal(trajectory=trajectory_to_send(trajectory),
                                      goal_time_tolerance=conversions.duration_from_s(self._goal_time_tolerance_s))
        future = self._client.send_goal_async(goal)
        future.add_done_callback(lambda f: self._on_goal_response(execution, f))

    def _on_goal_response(self, execution: Execution, future) -> None:
        handle = future.result()
        if not handle.accepted:
            execution.end(FAILED, f'the controller on {self._action_name} rejected the trajectory')
            execution.controller_done.set()
            return
        execution.backend_state = handle
        execution.commands_sent = True
        handle.get_result_async().add_done_callback(lambda f: self._on_result(execution, f))
        if execution.ended:  # stopped while the goal was on its way: the controller must not keep it
            handle.cancel_goal_async()

    def _on_result(self, execution: Execution, future) -> None:
        try:
            self._end_with_result(execution, future.result())
        finally:
            execution.controller_done.set()

    def _end_with_result(self, execution: Execution, response) -> None:
        from action_msgs.msg import GoalStatus
        result = self._action_type.Result
        code, text = response.result.error_code, response.result.error_string
        if response.status == GoalStatus.STATUS_CANCELED:
            execution.end(STOPPED, f'the controller goal was cancelled{": " + text if text else ""}')
        elif code in (result.PATH_TOLERANCE_VIOLATED, result.GOAL_TOLERANCE_VIOLATED):
            kind = 'path' if code == result.PATH_TOLERANCE_VIOLATED else 'goal'
            execution.end(TOLERANCE_VIOLATED, f'the controller reported a {kind} tolerance violation '
                                              f'(error_code {code}){": " + text if text else ""}')
        elif code == result.SUCCESSFUL and response.status == GoalStatus.STATUS_SUCCEEDED:
            execution.end(FINISHED, 'the controller finished the trajectory')
        else:
            execution.end(FAILED, f'the controller failed the trajectory (error_code {code}, status '
                                  f'{response.status}){": " + text if text else ""}')

    def tick(self, execution: Execution) -> None:
        _, grip = execution.timeline.at(execution.elapsed_s())
        self._pub.gripper.publish(Float64(data=grip))

    def stop(self, execution: Execution, T_base_ee, q, joint_names) -> str:
        handle = execution.backend_state
        if handle is not None:
            handle.cancel_goal_async()
            return f'cancelled the controller goal on {self._action_name}'
        return 'no controller goal was active'

    def confirm_stop(self, execution: Execution, timeout_s: float) -> str:
        """Waits for the controller's result after ``stop``: only then has the arm stopped following the plan.
        (Returning at the cancel request would report a stop while the arm still moves.)"""
        if not execution.controller_done.wait(timeout_s):
            return (f'; the controller did not confirm the cancel within {timeout_s:g} s: check '
                    f'{self._action_name} (the arm may still be moving)')
        # No handle: the goal never reached the controller (not sent, or rejected), so there is nothing it confirmed.
        return '; the controller confirmed it and holds' if execution.backend_state is not None else ''
