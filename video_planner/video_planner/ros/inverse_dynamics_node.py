"""inverse_dynamics_node: generated frames -> end-effector poses -> joint targets -> (gated) robot commands.

Subscribes ``video_plan/frames`` (VideoPlans holding only frames), runs ``VideoPlanner.frames_to_plan``
(inverse dynamics, safety gates, IK for the arm in ``robot_description`` / ``urdf_path`` / ``arm``) with
the depth, camera and robot state taken with the plan's conditioning frame, and publishes:

- ``video_plan``         the completed VideoPlan, same plan_id (transient-local: a restarted subscriber gets it)
- ``ee_path``            nav_msgs/Path of the end-effector poses (base frame)
- ``ee_markers``         visualization_msgs/MarkerArray of the same path, coloured by gripper command
- ``joint_trajectory``   trajectory_msgs/JointTrajectory                    } commands: only when the plan
- ``ee_command``         geometry_msgs/PoseStamped at ``command_rate_hz``   } passed every gate AND
- ``gripper_command``    std_msgs/Float64 alongside each ee_command          } execute_enabled AND plan.execute
- ``execution_done``     std_msgs/String: the plan_id, when its command stream has finished
- ``video_plan/preview`` sensor_msgs/Image: the last plan's frames in a loop, for RViz

A new plan always stops the command stream of the previous one.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pinocchio as pin
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Path
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image
from std_msgs.msg import Float64, String
from trajectory_msgs.msg import JointTrajectory
from video_planner_interfaces.msg import VideoPlan
from visualization_msgs.msg import MarkerArray

from video_planner.errors import VideoPlannerError
from video_planner.model.threads import set_torch_threads
from video_planner.planner import Plan, VideoPlanner
from video_planner.ros import conversions
from video_planner.ros.params import NodeParameters, param
from video_planner.ros.planner_node import (FRAMES_QOS, FRAMES_TOPIC, PLAN_QOS, PLAN_TOPIC, PipelineParams,
                                            arm_name, base_frame_of, make_inputs)
from video_planner.ros.spin import run_node

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
# A plan arriving right after start-up waits this long for the first CameraInfo / depth image.
CAMERA_WAIT_S = 3.0
COMMAND_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)


@dataclass
class InverseDynamicsNodeParams(PipelineParams):
    execute_enabled: bool = param(False, 'allow commands to the robot at all (a plan must also ask to be executed)')
    command_rate_hz: float = param(20.0, 'rate of the ee_command / gripper_command stream', low=0.1, high=1000.0)


class CommandStream:
    """Streams a plan's poses as servo targets, interpolated on SE(3) between frames."""

    def __init__(self, plan_id: str, T_base_ee: np.ndarray, gripper: np.ndarray, period_s: float):
        self.plan_id = plan_id
        self.poses = [pin.SE3(T[:3, :3].copy(), T[:3, 3].copy()) for T in T_base_ee]
        self.gripper = np.asarray(gripper, dtype=np.float64)
        self.period_s = period_s
        self.started = time.monotonic()

    @property
    def duration_s(self) -> float:
        return (len(self.poses) - 1) * self.period_s

    def at(self, t: float) -> tuple[np.ndarray, float]:
        """The target pose and gripper command ``t`` seconds into the plan."""
        x = float(np.clip(t / self.period_s, 0.0, len(self.poses) - 1))
        i = min(int(x), len(self.poses) - 2) if len(self.poses) > 1 else 0
        alpha = x - i
        if len(self.poses) == 1:
            return self.poses[0].homogeneous, float(self.gripper[0])
        a, b = self.poses[i], self.poses[i + 1]
        T = a * pin.exp6(alpha * pin.log6(a.actInv(b)))
        return T.homogeneous, float((1 - alpha) * self.gripper[i] + alpha * self.gripper[i + 1])


class InverseDynamicsNode(Node):
    def __init__(self, planner: Optional[VideoPlanner] = None, **node_kwargs):
        super().__init__('inverse_dynamics_node', **node_kwargs)
        self.params = NodeParameters(self, InverseDynamicsNodeParams, on_change=self._on_params)
        p = self.params.config
        set_torch_threads(p.torch_threads)
        self.planner = planner or VideoPlanner(p.planner_config())
        _ = self.planner.inverse_dynamics, self.planner.kinematics  # fail at start-up on a bad URDF / checkpoint
        self.base_frame = base_frame_of(self.planner)
        self.inputs = make_inputs(self, p, self.planner, keep_latest_frame=False)
        self._plan_pub = self.create_publisher(VideoPlan, PLAN_TOPIC, PLAN_QOS)
        self._path_pub = self.create_publisher(Path, 'ee_path', LATCHED)
        self._markers_pub = self.create_publisher(MarkerArray, 'ee_markers', LATCHED)
        self._trajectory_pub = self.create_publisher(JointTrajectory, 'joint_trajectory', COMMAND_QOS)
        self._ee_pub = self.create_publisher(PoseStamped, 'ee_command', COMMAND_QOS)
        self._gripper_pub = self.create_publisher(Float64, 'gripper_command', COMMAND_QOS)
        self._done_pub = self.create_publisher(String, 'execution_done', COMMAND_QOS)
        self._preview_pub = self.create_publisher(Image, 'video_plan/preview', COMMAND_QOS)
        self._preview: Optional[tuple[float, float, list]] = None  # (start, period, frames)
        self._preview_index = -1
        self._playhead_path: Optional[tuple] = None   # (T_base_ee, gripper, stamp) of the previewed plan
        self._stream: Optional[CommandStream] = None
        self._stream_lock = threading.Lock()
        self.create_subscription(VideoPlan, FRAMES_TOPIC, self._on_frames, FRAMES_QOS,
                                 callback_group=MutuallyExclusiveCallbackGroup())
        self._timer = self.create_timer(1.0 / p.command_rate_hz, self._on_tick,
                                        callback_group=MutuallyExclusiveCallbackGroup())
        self.get_logger().info(f'inverse_dynamics_node ready: {self.planner.config.inverse_dynamics} inverse '
                               f'dynamics, arm {arm_name(self.planner) or "(none: no joint targets)"}, '
                               f'execute_enabled={p.execute_enabled}')

    def _on_params(self, config: InverseDynamicsNodeParams) -> None:
        # Gates apply from the next plan; model files are read-only parameters.
        self.planner.config = config.planner_config()
        self.inputs.max_age_s = config.max_frame_age_s
        self._timer.timer_period_ns = int(1e9 / config.command_rate_hz)
        if not config.execute_enabled:
            self._stop_stream('execution disabled')

    # ------------------------------------------------------------------ plans
    def _on_frames(self, msg: VideoPlan) -> None:
        self._stop_stream(f'new plan {msg.plan_id}')
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
            self.get_logger().warning(f'plan {msg.plan_id} not executed: {plan.status}')
        elif envelope.execute and self.params.config.execute_enabled:
            self._execute(envelope.plan_id, plan, completed)

    def _solve(self, envelope) -> Plan:
        frames = envelope.plan.frames
        self.inputs.wait_for_camera(CAMERA_WAIT_S)
        snapshot = self.inputs.inputs_at(envelope.stamp_ns * 1e-9, envelope.camera_frame_id, rgb=None)
        plan = self.planner.frames_to_plan(envelope.plan.instruction, frames, snapshot.depth_m, snapshot.camera,
                                           snapshot.T_base_ee, snapshot.q_current)
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

    # ------------------------------------------------------------------ commands
    def _execute(self, plan_id: str, plan: Plan, completed: VideoPlan) -> None:
        if plan.joint_trajectory is not None:
            self._trajectory_pub.publish(completed.joint_trajectory)
        with self._stream_lock:
            self._stream = CommandStream(plan_id, plan.T_base_ee, plan.gripper, plan.frame_period_s)
        self.get_logger().info(f'executing plan {plan_id}: {len(plan.T_base_ee)} poses over '
                               f'{self._stream.duration_s:.1f} s')

    def _stop_stream(self, why: str) -> None:
        with self._stream_lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            self.get_logger().info(f'stopped executing plan {stream.plan_id}: {why}')
            self._done_pub.publish(String(data=stream.plan_id))

    def _on_tick(self) -> None:
        self._publish_preview()
        with self._stream_lock:
            stream = self._stream
        if stream is None:
            return
        t = time.monotonic() - stream.started
        T, grip = stream.at(t)
        stamp = self.get_clock().now()
        self._ee_pub.publish(conversions.matrix_to_pose_stamped(T, stamp, self.base_frame))
        self._gripper_pub.publish(Float64(data=grip))
        if t >= stream.duration_s:
            with self._stream_lock:
                if self._stream is stream:
                    self._stream = None
            self._done_pub.publish(String(data=stream.plan_id))


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
