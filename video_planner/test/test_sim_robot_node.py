"""sim_robot_node as a user sees it: a camera, an arm state, a task, and an arm that follows commands."""
import signal
import time

import numpy as np
import pytest
from geometry_msgs.msg import PoseStamped
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Bool, Int64, String
from trajectory_msgs.msg import JointTrajectory

from ros_harness import ARM, Client, start, wait_future, wait_until
from video_planner.ros import conversions
from video_planner.ros.process import start_node
from video_planner.sim.arms import get_arm

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope='module')
def sim(tmp_path_factory):
    proc = start('sim_robot_node', tmp_path_factory.mktemp('sim_logs'),
                 {'arm': ARM, 'task': 'reach', 'seed': 3, 'image_size': 64, 'rate_hz': 20.0})
    client = Client('sim_test_client')
    yield proc, client
    client.close()
    assert proc.stop() == 0, proc.log()[-3000:]


def test_publishes_camera_depth_state_and_task(sim):
    _, client = sim
    images = client.record(Image, 'camera/image_raw', qos_profile_sensor_data)
    depths = client.record(Image, 'camera/depth/image_raw', qos_profile_sensor_data)
    infos = client.record(CameraInfo, 'camera/camera_info', qos_profile_sensor_data)
    joints = client.record(JointState, 'joint_states', qos_profile_sensor_data)
    ee = client.record(PoseStamped, 'ee_pose', qos_profile_sensor_data)
    camera_pose = client.record(PoseStamped, 'camera/pose', LATCHED)
    instruction = client.record(String, 'task/instruction', LATCHED)
    success = client.record(Bool, 'task/success', LATCHED)
    wait_until(lambda: all([images, depths, infos, joints, ee, camera_pose, instruction, success]), 20.0,
               'every sim topic')
    rgb = conversions.image_to_rgb(images[-1])
    assert images[-1].encoding == 'rgb8' and rgb.shape == (64, 64, 3) and rgb.std() > 0
    depth = conversions.image_to_depth_m(depths[-1])
    assert depths[-1].encoding == '32FC1' and depth.shape == (64, 64)
    assert 0.05 < np.nanmedian(depth) < 5.0
    model = conversions.camera_info_to_model(infos[-1])
    assert (model.width, model.height) == (64, 64) and model.fx > 0
    spec = get_arm(ARM)
    assert list(joints[-1].name) == list(spec.arm_joints)
    assert ee[-1].header.frame_id == spec.base_frame
    assert images[-1].header.stamp == depths[-1].header.stamp  # one observation, one stamp
    T = conversions.pose_to_matrix(ee[-1].pose)
    assert 0.1 < np.linalg.norm(T[:2, 3]) < 1.2
    assert instruction[-1].data.strip()


def test_ee_command_moves_the_arm(sim):
    _, client = sim
    ee = client.record(PoseStamped, 'ee_pose', qos_profile_sensor_data)
    wait_until(lambda: ee, 10.0, 'ee_pose')
    start_T = conversions.pose_to_matrix(ee[-1].pose)
    target = start_T.copy()
    target[1, 3] += 0.06
    commands = client.publisher(PoseStamped, 'ee_command')
    spec = get_arm(ARM)
    deadline = time.monotonic() + 8.0
    while time.monotonic() < deadline:
        commands.publish(conversions.matrix_to_pose_stamped(target, None, spec.base_frame))
        time.sleep(0.1)
        now = conversions.pose_to_matrix(ee[-1].pose)
        if np.linalg.norm(now[:3, 3] - target[:3, 3]) < 0.01:
            break
    moved = conversions.pose_to_matrix(ee[-1].pose)
    assert np.linalg.norm(moved[:3, 3] - target[:3, 3]) < 0.015, (moved[:3, 3], target[:3, 3])


def test_joint_trajectory_is_followed_when_selected(sim):
    _, client = sim
    params = AsyncParameterClient(client.node, 'sim_robot_node')
    assert params.wait_for_services(10.0)
    result = wait_future(params.set_parameters([Parameter('command_input', value='joint_trajectory')]), 10.0,
                         'set_parameters')
    assert result.results[0].successful
    joints = client.record(JointState, 'joint_states', qos_profile_sensor_data)
    wait_until(lambda: joints, 10.0, 'joint_states')
    q0 = np.asarray(joints[-1].position)
    goal = q0.copy()
    goal[0] += 0.25
    from video_planner.kinematics.trajectory import JointTrajectory as CoreTrajectory
    spec = get_arm(ARM)
    trajectory = CoreTrajectory(joint_names=list(spec.arm_joints), positions=np.stack([q0, goal]),
                                times_s=np.array([0.0, 1.0]),
                                velocities=np.zeros((2, len(q0))))
    client.publisher(JointTrajectory, 'joint_trajectory').publish(conversions.joint_trajectory_to_msg(trajectory))
    wait_until(lambda: abs(joints[-1].position[0] - goal[0]) < 0.03, 10.0, 'joint 1 to reach its target')
    wait_future(params.set_parameters([Parameter('command_input', value='ee_command')]), 10.0, 'set_parameters')


def test_rejects_an_invalid_parameter_change_naming_it(sim):
    _, client = sim
    params = AsyncParameterClient(client.node, 'sim_robot_node')
    assert params.wait_for_services(10.0)
    result = wait_future(params.set_parameters([Parameter('command_input', value='teleport')]), 10.0, 'set')
    assert not result.results[0].successful
    assert 'command_input' in result.results[0].reason
    result = wait_future(params.set_parameters([Parameter('rate_hz', value=0.0)]), 10.0, 'set')
    assert not result.results[0].successful and 'rate_hz' in result.results[0].reason


def test_reset_starts_a_new_seeded_task(sim):
    proc, client = sim
    instruction = client.record(String, 'task/instruction', LATCHED)
    wait_until(lambda: instruction, 10.0, 'task/instruction')
    before = len(instruction)
    client.publisher(Int64, 'task/reset').publish(Int64(data=11))
    wait_until(lambda: len(instruction) > before, 10.0, 'a new instruction after task/reset')
    assert proc.wait_for_log('new task (seed 11)', 5.0)


def test_unknown_arm_fails_at_start_up_naming_the_parameter(tmp_path):
    proc = start_node('sim_robot_node', {'arm': 'robby'}, log_dir=tmp_path)
    proc.popen.wait(timeout=60)
    assert proc.popen.returncode != 0
    assert "parameter 'arm'" in proc.log() and 'robby' in proc.log()
    proc.stop()


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM], ids=['SIGINT', 'SIGTERM'])
def test_a_signal_stops_the_node_cleanly(tmp_path, sig):
    """Ctrl-C and a service manager's SIGTERM both end in the same clean shutdown: exit code 0."""
    proc = start('sim_robot_node', tmp_path, {'rate_hz': 20.0}, namespace=f'signal_{sig}')
    time.sleep(1.0)  # publishing, so that the stop races the node's timers and callbacks
    code = proc.stop(sig=sig)
    assert code == 0, proc.log()[-3000:]
