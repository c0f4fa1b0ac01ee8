"""inverse_dynamics_node: frames in, a completed VideoPlan and (only when allowed and safe) commands out.

The frames are what a video model would send; here they are the simulator's own current frame held
still, i.e. "stay where you are", so the expected motion is known: every pose at the current pose.
"""
import uuid

import numpy as np
import pytest
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Path
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import String
from trajectory_msgs.msg import JointTrajectory
from video_planner_interfaces.msg import VideoPlan
from visualization_msgs.msg import MarkerArray

from ros_harness import ARM, OPEN_GATES, Client, start, wait_future, wait_until
from video_planner.kinematics import ArmKinematics
from video_planner.planner import Plan
from video_planner.ros import conversions
from video_planner.sim.arms import get_arm

PLAN_QOS = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
FRAMES = 5
pytestmark = pytest.mark.timeout(150)


@pytest.fixture(scope='module')
def robot(tmp_path_factory):
    logs = tmp_path_factory.mktemp('id_logs')
    sim = start('sim_robot_node', logs, {'arm': ARM, 'task': 'reach', 'seed': 1, 'rate_hz': 10.0})
    client = Client('id_test_client')
    yield logs, client
    client.close()
    sim.stop()


def id_node(logs, **params):
    return start('inverse_dynamics_node', logs, {'arm': ARM, 'frame_period_s': 0.1, **OPEN_GATES, **params})


class Session:
    """Records what the inverse-dynamics node publishes, and sends it still videos."""

    def __init__(self, client: Client):
        self.client = client
        self.camera = client.record(Image, 'camera/image_raw', qos_profile_sensor_data)
        self.plans = client.record(VideoPlan, 'video_plan', PLAN_QOS)
        self.paths = client.record(Path, 'ee_path', LATCHED)
        self.markers = client.record(MarkerArray, 'ee_markers', LATCHED)
        self.trajectories = client.record(JointTrajectory, 'joint_trajectory', 10)
        self.ee_commands = client.record(PoseStamped, 'ee_command', 10)
        self.done = client.record(String, 'execution_done', 10)
        self.ee = client.record(PoseStamped, 'ee_pose', qos_profile_sensor_data)
        self.frames_pub = client.publisher(VideoPlan, 'video_plan/frames', QoSProfile(
            depth=5, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE))
        wait_until(lambda: self.camera and self.ee, 20.0, 'camera frames and ee_pose from the simulator')
        wait_until(lambda: self.frames_pub.get_subscription_count() > 0, 20.0, 'the inverse-dynamics node')
        # The node matches its sensor topics separately; on a loaded machine depth can come last.
        wait_until(lambda: client.node.count_subscribers('camera/depth/image_raw') > 0, 20.0,
                   "the inverse-dynamics node's depth subscription")

    def send_still_video(self, execute: bool) -> str:
        # A frame taken after the node started, so its depth and state are in the node's history.
        seen = len(self.camera)
        wait_until(lambda: len(self.camera) >= seen + 3, 10.0, 'fresh camera frames')
        latest = self.camera[-1]
        rgb = conversions.image_to_rgb(latest)
        plan = Plan(instruction='stay where you are', frames=np.repeat(rgb[None], FRAMES, axis=0),
                    frame_period_s=0.1, T_base_ee=np.zeros((0, 4, 4)), gripper=np.zeros(0, np.float32),
                    confidence=np.zeros(0, np.float32), status='pending')
        plan_id = f'test-{uuid.uuid4().hex[:8]}'
        envelope = conversions.VideoPlanEnvelope(plan=plan, plan_id=plan_id, execute=execute,
                                                 stamp_ns=conversions.time_to_ns(latest.header.stamp),
                                                 camera_frame_id=latest.header.frame_id)
        self.frames_pub.publish(conversions.video_plan_to_msg(envelope))
        return plan_id

    def still_plan(self, execute: bool, tries: int = 3) -> VideoPlan:
        """Sends a still video and returns the node's answer. A node on a loaded machine can miss the depth
        image taken with a frame (it then refuses that plan, saying so); a fresher frame is tried then."""
        for _ in range(tries):
            answer = self.answer(self.send_still_video(execute))
            if not answer.status.startswith('rejected: no depth image'):
                break
        return answer

    def answer(self, plan_id: str, timeout_s: float = 30.0) -> VideoPlan:
        wait_until(lambda: any(p.plan_id == plan_id for p in self.plans), timeout_s, f'the answer to {plan_id}')
        return next(p for p in self.plans if p.plan_id == plan_id)


def test_still_video_gives_a_still_plan_and_commands_when_executing(robot):
    logs, client = robot
    node = id_node(logs, execute_enabled=True, command_rate_hz=20.0)
    try:
        session = Session(client)
        T_now = conversions.pose_to_matrix(session.ee[-1].pose)
        answer = session.still_plan(execute=True)
        plan_id = answer.plan_id
        assert answer.status == 'ok', answer.status
        poses = conversions.path_to_poses(answer.ee_path)
        assert len(poses) == FRAMES and len(answer.frames) == FRAMES
        assert np.linalg.norm(poses[:, :3, 3] - T_now[:3, 3], axis=1).max() < 0.03
        spec = get_arm(ARM)
        urdf_joints = ArmKinematics.from_urdf(spec.urdf_path, spec.base_frame, spec.ee_frame).joint_names
        assert list(answer.joint_trajectory.joint_names) == list(urdf_joints)
        assert answer.arm == ARM
        wait_until(lambda: session.trajectories and len(session.ee_commands) >= 3, 10.0, 'commands')
        assert list(session.trajectories[-1].joint_names) == list(urdf_joints)
        assert len(session.trajectories[-1].points) >= FRAMES  # (+ the current joints as point 0)
        wait_until(lambda: any(d.data == plan_id for d in session.done), 10.0, 'execution_done')
        wait_until(lambda: session.paths and session.markers, 5.0, 'ee_path and ee_markers')
        assert len(session.paths[-1].poses) == FRAMES
        assert session.paths[-1].header.frame_id == spec.base_frame
    finally:
        assert node.stop() == 0, node.log()[-3000:]


def test_no_commands_without_the_plan_flag_or_the_parameter(robot):
    logs, client = robot
    node = id_node(logs, execute_enabled=False)
    try:
        session = Session(client)
        answer = session.still_plan(execute=True)   # node forbids
        assert answer.status == 'ok'
        params = AsyncParameterClient(client.node, 'inverse_dynamics_node')
        assert params.wait_for_services(10.0)
        result = wait_future(params.set_parameters([Parameter('execute_enabled', value=True)]), 10.0, 'set')
        assert result.results[0].successful
        answer = session.still_plan(execute=False)  # plan does not ask
        assert answer.status == 'ok'
        import time
        time.sleep(1.0)
        assert session.trajectories == [] and session.ee_commands == []
    finally:
        node.stop()


def test_a_failed_gate_is_reported_and_nothing_is_commanded(robot):
    logs, client = robot
    # A workspace box that ends below the table: every pose of the arm is outside it.
    node = id_node(logs, execute_enabled=True, workspace_min=[-1.0, -1.0, -1.0], workspace_max=[1.0, 1.0, -0.5])
    try:
        session = Session(client)
        answer = session.still_plan(execute=True)
        assert 'outside the workspace' in answer.status
        import time
        time.sleep(1.0)
        assert session.trajectories == [] and session.ee_commands == []
        assert node.wait_for_log('not executed', 5.0)
    finally:
        node.stop()


def test_a_plan_without_frames_is_answered_with_the_reason(robot):
    logs, client = robot
    node = id_node(logs)
    try:
        session = Session(client)
        session.frames_pub.publish(VideoPlan(plan_id='empty-plan', instruction='do it', execute=True))
        answer = session.answer('empty-plan')
        assert answer.status.startswith('rejected:') and 'frames' in answer.status
        assert node.alive()
    finally:
        node.stop()


def test_a_playhead_arrow_moves_along_the_previewed_plan(robot):
    """RViz plays the plan on the path: while someone watches ee_markers, marker 2 (an arrow) steps
    through the plan's poses in time with the preview frames."""
    logs, client = robot
    node = id_node(logs)
    try:
        session = Session(client)
        answer = session.still_plan(execute=False)
        assert answer.status == 'ok', answer.status
        path = conversions.path_to_poses(answer.ee_path)[:, :3, 3]
        seen = len(session.markers)

        def arrows():   # (the plan's own latched path markers, without a playhead, may arrive in between)
            return [m for markers in session.markers[seen:] for m in markers.markers if m.id == 2]

        wait_until(lambda: len(arrows()) >= FRAMES, 10.0, 'a playhead update per preview frame')
        for arrow in arrows():
            start = np.array([arrow.points[0].x, arrow.points[0].y, arrow.points[0].z])
            assert np.linalg.norm(path - start, axis=1).min() < 1e-6   # on one of the plan's poses
            assert arrow.header.frame_id == get_arm(ARM).base_frame
    finally:
        assert node.stop() == 0, node.log()[-3000:]
