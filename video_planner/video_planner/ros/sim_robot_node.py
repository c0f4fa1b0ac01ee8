"""sim_robot_node: the simulated tabletop arm and its camera, as a ROS robot (no hardware needed).

Publishes (every ``1 / rate_hz`` s, one simulator observation, all with the same stamp):
  camera/image_raw (rgb8), camera/depth/image_raw (32FC1 m), camera/camera_info, joint_states,
  ee_pose (PoseStamped, base frame), task/success (Bool);
  latched (transient-local): camera/pose (optical frame in the base frame), task/instruction (String),
  task/status (String, on change: 'solved', or 'unsolved: ' + what the success rule still misses),
  robot_description (String, the arm's URDF), /tf_static (base -> camera_optical_frame, with tf2_msgs).
Accepts:
  joint_trajectory (trajectory_msgs/JointTrajectory: followed through joint targets),
  ee_command (PoseStamped: through IK) + gripper_command (Float64, 0 open .. 1 closed),
  the control_msgs/FollowJointTrajectory action (where control_msgs is installed; name: parameter
  ``follow_joint_trajectory_action``), like ros2_control's joint_trajectory_controller,
  task/reset (std_msgs/Int64: a new task with that seed; -1 = the next seed).
Which of the three drives the arm is the ``command_input`` parameter, so a controller that publishes
both topics (inverse_dynamics_node does) never has two masters: commands on the others are dropped with a
throttled warning, and a running FollowJointTrajectory goal is aborted when command_input changes.

The physics and rendering run in one timer callback; nothing else touches the world, so the
executor's other callbacks (commands, resets) only swap small pieces of state under a lock.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Bool, Float64, Int64, String
from trajectory_msgs.msg import JointTrajectory

from video_planner.errors import ConfigError, VideoPlannerError
from video_planner.kinematics.rotations import interpolate_pose
from video_planner.ros import conversions
from video_planner.ros.params import NodeParameters, param
from video_planner.ros.robot_description import CameraTfBroadcaster, publish_robot_description
from video_planner.ros.spin import run_node
from video_planner.ros.robot_inputs import ProblemLog

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
COMMAND_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)
CAMERA_FRAME = 'camera_optical_frame'
FOLLOW_JOINT_TRAJECTORY = 'follow_joint_trajectory'
COMMAND_INPUTS = ('ee_command', 'joint_trajectory', FOLLOW_JOINT_TRAJECTORY)


@dataclass
class SimRobotParams:
    arm: str = param('panda', 'simulator arm: a registered name (config/arms/) or the path of an arm YAML',
                     read_only=True)
    task: str = param('', "task family ('' = drawn from all families with the seed)", read_only=True)
    seed: int = param(0, 'seed of the first task (objects, placement, instruction)', low=0, high=2**31 - 1)
    image_size: int = param(64, 'camera image width = height (pixels)', low=16, high=1024, read_only=True)
    rate_hz: float = param(10.0, 'simulation + camera publishing rate', low=0.5, high=100.0)
    command_input: str = param('ee_command', 'which command input drives the arm',
                               choices=COMMAND_INPUTS)
    physics_steps_per_tick: int = param(24, 'physics steps per tick when following a command', low=1, high=1000)
    follow_joint_trajectory_action: str = param(
        '/arm_controller/follow_joint_trajectory', 'name of the FollowJointTrajectory action server',
        read_only=True)
    path_tolerance_rad: float = param(0.0, 'FollowJointTrajectory: default path tolerance per joint '
                                      '(rad; 0 = unchecked)', low=0.0, high=10.0)
    goal_tolerance_rad: float = param(0.03, 'FollowJointTrajectory: default goal tolerance per joint '
                                      '(rad; 0 = unchecked)', low=0.0, high=10.0)
    goal_time_tolerance_s: float = param(1.0, 'FollowJointTrajectory: default time after the trajectory end '
                                         'to reach the goal tolerance', low=0.0, high=60.0)

    def validate(self) -> None:
        from video_planner.sim.arms import get_arm
        from video_planner.sim.tasks import TASK_FAMILIES
        try:
            get_arm(self.arm)
        except VideoPlannerError as exc:
            raise ConfigError(f"parameter 'arm': {exc}") from exc
        if self.task and self.task not in TASK_FAMILIES:
            raise ConfigError(f"parameter 'task': {self.task!r} is not a task family; known: {list(TASK_FAMILIES)}")
        from video_planner.ros.follow_joint_trajectory import import_action_type
        if self.command_input == FOLLOW_JOINT_TRAJECTORY and import_action_type() is None:
            raise ConfigError(f"parameter 'command_input': {FOLLOW_JOINT_TRAJECTORY} needs control_msgs, which is "
                              'not installed')

    def tolerance_defaults(self):
        from video_planner.kinematics.trajectory_follower import ToleranceDefaults
        return ToleranceDefaults(path_position=self.path_tolerance_rad, goal_position=self.goal_tolerance_rad,
                                 goal_time_s=self.goal_time_tolerance_s)


class SimRobotNode(Node):
    def __init__(self, **node_kwargs):
        super().__init__('sim_robot_node', **node_kwargs)
        self.params = NodeParameters(self, SimRobotParams, on_change=self._on_params)
        p = self.params.config
        from video_planner.sim.world import TabletopWorld
        from video_planner.sim.arms import get_arm
        self.spec = get_arm(p.arm)
        self.world = TabletopWorld(p.arm, seed=p.seed, image_size=p.image_size)
        self.problems = ProblemLog(self.get_logger())
        self._lock = threading.Lock()
        self._seed = p.seed
        self._pending_reset: Optional[int] = p.seed
        self._ee_target: Optional[np.ndarray] = None
        self._gripper = 0.0
        self._trajectory = None          # (start monotonic, kinematics.JointTrajectory)
        self.task = None
        pub = self.create_publisher
        self._image_pub = pub(Image, 'camera/image_raw', qos_profile_sensor_data)
        self._depth_pub = pub(Image, 'camera/depth/image_raw', qos_profile_sensor_data)
        self._info_pub = pub(CameraInfo, 'camera/camera_info', qos_profile_sensor_data)
        self._camera_pose_pub = pub(PoseStamped, 'camera/pose', LATCHED)
        self._joints_pub = pub(JointState, 'joint_states', qos_profile_sensor_data)
        self._ee_pub = pub(PoseStamped, 'ee_pose', qos_profile_sensor_data)
        self._instruction_pub = pub(String, 'task/instruction', LATCHED)
        self._success_pub = pub(Bool, 'task/success', LATCHED)
        self._status_pub = pub(String, 'task/status', LATCHED)
        self._status = ''
        self._camera_tf = CameraTfBroadcaster(self)            # /tf_static where tf2_msgs is installed
        self._description_pub = publish_robot_description(self, self.spec.urdf_path.read_text())
        commands = ReentrantCallbackGroup()
        self.create_subscription(JointTrajectory, 'joint_trajectory', self._on_trajectory, COMMAND_QOS,
                                 callback_group=commands)
        self.create_subscription(PoseStamped, 'ee_command', self._on_ee_command, COMMAND_QOS,
                                 callback_group=commands)
        self.create_subscription(Float64, 'gripper_command', self._on_gripper, COMMAND_QOS, callback_group=commands)
        self.create_subscription(Int64, 'task/reset', self._on_reset, COMMAND_QOS, callback_group=commands)
        self._fjt = self._follow_joint_trajectory_server(p)
        self._timer = self.create_timer(1.0 / p.rate_hz, self._on_tick, callback_group=MutuallyExclusiveCallbackGroup())
        self._tick()  # the first task and frame are out before anyone asks
        self.get_logger().info(f'sim_robot_node ready: arm {p.arm}, {p.image_size}x{p.image_size} camera at '
                               f'{p.rate_hz:g} Hz, task "{self.task.instruction}"')

    def _follow_joint_trajectory_server(self, p: SimRobotParams):
        from video_planner.ros.follow_joint_trajectory import FollowJointTrajectoryServer, import_action_type
        action_type = import_action_type()
        if action_type is None:
            self.get_logger().info('control_msgs is not installed: no FollowJointTrajectory action server '
                                   '(the joint_trajectory and ee_command topics still drive the arm)')
            return None
        kinematics = self.world.kinematics
        server = FollowJointTrajectoryServer(
            self, action_type, p.follow_joint_trajectory_action, self.spec.arm_joints, kinematics.lower,
            kinematics.upper, selected=lambda: self.params.config.command_input == FOLLOW_JOINT_TRAJECTORY,
            defaults=lambda: self.params.config.tolerance_defaults())
        self.get_logger().info(f'FollowJointTrajectory server on {p.follow_joint_trajectory_action} '
                               f'(drives the arm while command_input is {FOLLOW_JOINT_TRAJECTORY})')
        return server

    def _on_params(self, config: SimRobotParams) -> None:
        self._timer.timer_period_ns = int(1e9 / config.rate_hz)
        if config.command_input != self.params.config.command_input:
            # The newly selected input starts from scratch: no stale command of another input takes over.
            with self._lock:
                self._ee_target, self._trajectory = None, None
            if self._fjt is not None:
                self._fjt.abort_active(f'command_input changed to {config.command_input}', keep_holding=False)

    @property
    def busy(self) -> bool:
        """A FollowJointTrajectory goal is running (spin.run_node waits for its result at shutdown)."""
        return self._fjt is not None and self._fjt.busy

    def request_stop(self) -> None:
        if self._fjt is not None:
            self._fjt.abort_active('sim_robot_node is shutting down')

    # ------------------------------------------------------------------ commands (small state swaps only)
    def _selected(self, command_input: str) -> bool:
        """Whether ``command_input`` drives the arm now; if not, a throttled warning that its command is dropped."""
        selected = self.params.config.command_input
        if selected != command_input:
            self.problems.report(command_input, f"command_input is '{selected}', not '{command_input}': ignored")
        return selected == command_input

    def _on_trajectory(self, msg: JointTrajectory) -> None:
        if not self._selected('joint_trajectory'):
            return
        try:
            trajectory = conversions.joint_trajectory_from_msg(msg)
            if trajectory is not None:
                missing = [j for j in self.spec.arm_joints if j not in trajectory.joint_names]
                if missing:
                    raise VideoPlannerError(f'JointTrajectory.joint_names lacks joint(s) {missing} of {self.spec.name}')
        except VideoPlannerError as exc:
            self.problems.report('joint_trajectory', str(exc))
            return
        with self._lock:
            self._trajectory = None if trajectory is None else (time.monotonic(), trajectory)

    def _on_ee_command(self, msg: PoseStamped) -> None:
        if not self._selected('ee_command'):
            return
        try:
            T = conversions.pose_to_matrix(msg.pose)
        except (VideoPlannerError, ValueError) as exc:
            self.problems.report('ee_command', str(exc))
            return
        with self._lock:
            self._ee_target = T

    def _on_gripper(self, msg: Float64) -> None:
        if not np.isfinite(msg.data):
            self.problems.report('gripper_command', f'gripper command {msg.data} is not finite')
            return
        with self._lock:
            self._gripper = float(np.clip(msg.data, 0.0, 1.0))

    def _on_reset(self, msg: Int64) -> None:
        with self._lock:
            self._pending_reset = int(msg.data) if msg.data >= 0 else self._seed + 1

    # ------------------------------------------------------------------ the simulation tick
    def _on_tick(self) -> None:
        try:
            self._tick()
        except VideoPlannerError as exc:
            self.problems.report('simulation', str(exc))
        except Exception as exc:  # pybullet error: report, keep the robot (and its topics) alive
            self.problems.report('simulation', f'{type(exc).__name__}: {exc}')

    def _tick(self) -> None:
        with self._lock:
            reset, self._pending_reset = self._pending_reset, None
            ee_target, trajectory, gripper = self._ee_target, self._trajectory, self._gripper
            if reset is not None:
                self._ee_target, self._trajectory = None, None
        p = self.params.config
        # The physics of this tick covers the next `horizon` seconds: the FollowJointTrajectory target is the
        # desired state at its end, and the state it reaches is the state at that time.
        horizon_s = p.physics_steps_per_tick / self.world.physics_hz
        control_time = time.monotonic() + horizon_s
        if reset is not None:
            if self._fjt is not None:
                self._fjt.abort_active('the task was reset', keep_holding=False)
            self._reset(reset)
        elif p.command_input == 'ee_command' and ee_target is not None:
            start = self.world.T_base_ee()
            for fraction, steps in self._control_steps(p.physics_steps_per_tick):
                self.world.step_ee(interpolate_pose(start, ee_target, fraction), gripper, steps=steps)
        elif p.command_input == 'joint_trajectory' and trajectory is not None:
            self._follow(trajectory, gripper, p.physics_steps_per_tick, horizon_s)
        elif p.command_input == FOLLOW_JOINT_TRAJECTORY and self._fjt is not None:
            now = control_time - horizon_s
            for fraction, steps in self._control_steps(p.physics_steps_per_tick):
                target = self._fjt.command(now + fraction * horizon_s)
                if target is not None:
                    self.world.set_joint_targets(target, gripper=gripper, steps=steps)
        observation = self.world.observe()
        if self._fjt is not None:
            self._fjt.measured(control_time, np.asarray(observation.joint_positions)[:self.spec.dof])
        unmet = self.world.unmet_conditions()
        self._publish(observation, not unmet)
        self._publish_status(task_status(unmet))

    def _reset(self, seed: int) -> None:
        from video_planner.sim.tasks import TASK_FAMILIES, sample_task
        rng = np.random.default_rng(seed)
        family = self.params.config.task or TASK_FAMILIES[int(rng.integers(len(TASK_FAMILIES)))]
        self._seed = seed
        self.task = sample_task(self.spec, family, rng)
        self.world.reset(self.task)
        self._instruction_pub.publish(String(data=self.task.instruction))
        self.get_logger().info(f'new task (seed {seed}): "{self.task.instruction}"')

    def _control_steps(self, physics_steps: int) -> list[tuple[float, int]]:
        """A tick's physics steps as control steps of the world's size: (fraction of the tick at the step's end,
        physics steps). A real controller interpolates between commands far faster than they arrive; one jump
        per tick drove the fingers into an object hard enough to fling it (the expert's touch streamed at plan
        timing knocked the puck 6 cm: test_sim_robot_node's touch-plan test)."""
        n = max(1, physics_steps // self.world.control_substeps)
        sizes = [physics_steps // n + (1 if k < physics_steps % n else 0) for k in range(n)]
        return [((k + 1) / n, size) for k, size in enumerate(sizes)]

    def _follow(self, trajectory, gripper: float, steps: int, horizon_s: float) -> None:
        start, traj = trajectory
        t = time.monotonic() - start
        times, positions = np.asarray(traj.times_s), np.asarray(traj.positions)
        order = [traj.joint_names.index(name) for name in self.spec.arm_joints]
        for fraction, substeps in self._control_steps(steps):
            q = np.array([np.interp(t + fraction * horizon_s, times, positions[:, k]) for k in order])
            self.world.set_joint_targets(q, gripper=gripper, steps=substeps)

    def _publish(self, obs, success: bool) -> None:
        stamp = self.get_clock().now().to_msg()
        base = self.spec.base_frame
        self._image_pub.publish(conversions.rgb_to_image(obs.rgb, stamp, CAMERA_FRAME))
        self._depth_pub.publish(conversions.depth_to_image(obs.depth_m, stamp, CAMERA_FRAME))
        self._info_pub.publish(conversions.camera_model_to_info(obs.camera, stamp, CAMERA_FRAME))
        self._camera_pose_pub.publish(conversions.matrix_to_pose_stamped(obs.camera.T_base_camera, stamp, base))
        self._camera_tf.publish(obs.camera.T_base_camera, stamp, base, CAMERA_FRAME)
        names = list(self.spec.arm_joints)
        q = np.asarray(obs.joint_positions, dtype=np.float64)[:len(names)]
        self._joints_pub.publish(JointState(header=conversions.make_header(stamp, base), name=names,
                                            position=q.tolist()))
        self._ee_pub.publish(conversions.matrix_to_pose_stamped(obs.T_base_ee, stamp, base))
        self._success_pub.publish(Bool(data=bool(success)))

    def _publish_status(self, status: str) -> None:
        if status != self._status:
            self._status = status
            self._status_pub.publish(String(data=status))

    def destroy_node(self):
        try:
            self.world.close()
        finally:
            super().destroy_node()


def task_status(unmet: list[str]) -> str:
    """task/status: 'solved', or what the task's success rule still misses (sim.tasks.unmet_conditions)."""
    return 'solved' if not unmet else 'unsolved: ' + '; '.join(unmet)


def main(args=None) -> int:
    # Timer, commands, and up to two FollowJointTrajectory goals waiting for their verdicts (one pre-empting).
    return run_node(SimRobotNode, args, threads=5)


if __name__ == '__main__':
    raise SystemExit(main())
