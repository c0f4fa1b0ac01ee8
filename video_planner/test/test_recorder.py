"""recorder_node: a robot's topics over DDS -> episode files, and the raw bag it can keep alongside.

A small "robot" node publishes camera frames whose pixels encode their sequence number, CameraInfo,
the latched camera pose, the end-effector pose and a gripper joint; the test starts and stops
episodes over the recorder's topics and parameter, then reads the episode files back.
"""
from pathlib import Path

import numpy as np
import pytest
from ros_harness import spin_until
import rclpy
import yaml
from geometry_msgs.msg import PoseStamped
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Empty, String
from transforms3d.euler import euler2mat

from video_planner.data.episode import read_episode
from video_planner.data.importers.cli import import_episodes
from video_planner.camera import CameraModel, look_at
from video_planner.ros import conversions as conv
from video_planner.ros.recorder_node import RecorderNode

CONFIG_DIR = Path(__file__).resolve().parents[1] / 'config'
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
SIZE = 24


def ee_pose(seq: int) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = euler2mat(np.pi, 0.0, 0.01 * seq)
    T[:3, 3] = [0.4 + 0.001 * seq, 0.0, 0.3]
    return T


class FakeRobot:
    """Publishes like sim_robot_node; frame ``seq`` has red = seq and the matching ee pose."""

    def __init__(self, context):
        self.node = rclpy.create_node('fake_robot', context=context)
        self.camera = CameraModel.from_fov(60.0, SIZE, SIZE, look_at([0.5, 0.0, 1.0], [0.5, 0.0, 0.0], (1, 0, 0)))
        sensor = qos_profile_sensor_data
        self.image_pub = self.node.create_publisher(Image, 'camera/image_raw', sensor)
        self.info_pub = self.node.create_publisher(CameraInfo, 'camera/camera_info', sensor)
        self.ee_pub = self.node.create_publisher(PoseStamped, 'ee_pose', sensor)
        self.joints_pub = self.node.create_publisher(JointState, 'joint_states', sensor)
        camera_pose_pub = self.node.create_publisher(PoseStamped, 'camera/pose', LATCHED)
        camera_pose_pub.publish(conv.matrix_to_pose_stamped(self.camera.T_base_camera, frame_id='base_link'))
        self.seq = 0
        self.node.create_timer(0.02, self.tick)

    def tick(self):
        seq, stamp = self.seq, self.node.get_clock().now()
        self.seq += 1
        # Pose and gripper first, then the frame they belong to.
        self.ee_pub.publish(conv.matrix_to_pose_stamped(ee_pose(seq), stamp, 'base_link'))
        self.joints_pub.publish(JointState(name=['finger'], position=[0.04 * (seq % 2)]))
        self.info_pub.publish(conv.camera_model_to_info(self.camera, stamp))
        rgb = np.zeros((SIZE, SIZE, 3), np.uint8)
        rgb[:, :, 0] = seq % 256
        rgb[:, :, 1] = np.arange(SIZE, dtype=np.uint8)[None, :]
        self.image_pub.publish(conv.rgb_to_image(rgb, stamp, 'camera_optical_frame'))


def check_episode(path: Path, instruction: str, camera: CameraModel):
    episode = read_episode(path)
    assert episode.instruction == instruction and episode.arm == 'panda' and len(episode) >= 3
    np.testing.assert_allclose(episode.camera.K, camera.K)
    np.testing.assert_allclose(episode.camera.T_base_camera, camera.T_base_camera, atol=1e-9)
    seqs = episode.rgb[:, 0, 0, 0].astype(int)
    assert np.all(np.diff(seqs) > 0), 'frames out of order'
    np.testing.assert_array_equal(episode.rgb[:, 0, :, 1], np.tile(np.arange(SIZE), (len(episode), 1)))
    # Each step's pose is the one stamped with its frame.
    for seq, T in zip(seqs, episode.ee_pose):
        np.testing.assert_allclose(T, ee_pose(seq), atol=1e-9, err_msg=f'pose of frame {seq}')
    assert set(np.unique(episode.gripper)) <= {0.0, 1.0} and len(np.unique(episode.gripper)) == 2
    assert np.isnan(episode.depth_m).all() and episode.joint_positions.shape == (len(episode), 0)
    return episode


def test_recorder_writes_episodes_and_a_bag_that_imports_to_the_same(ros_context, tmp_path):
    context, executor = ros_context
    robot = FakeRobot(context)
    recorder = RecorderNode(context=context, parameter_overrides=[
        Parameter('output_dir', value=str(tmp_path / 'episodes')), Parameter('arm', value='panda'),
        Parameter('gripper_joint', value='finger'), Parameter('gripper_closed_value', value=0.04),
        Parameter('bag_path', value=str(tmp_path / 'raw_bag'))])
    operator = rclpy.create_node('operator', context=context)
    instruction_pub = operator.create_publisher(String, '/recorder_node/instruction', 10)
    stop_pub = operator.create_publisher(Empty, '/recorder_node/stop', 10)
    for node in (robot.node, recorder, operator):
        executor.add_node(node)
    assert spin_until(executor, lambda: instruction_pub.get_subscription_count() and stop_pub.get_subscription_count()
                      and recorder.assembler.T_base_camera is not None, 10.0)

    # Episode 1: started and stopped over the topics.
    instruction_pub.publish(String(data='push the red cube to the left'))
    assert spin_until(executor, lambda: recorder.assembler.n_steps >= 6, 10.0)
    stop_pub.publish(Empty())
    assert spin_until(executor, lambda: len(recorder.saved) == 1, 5.0)
    # Episode 2: started through the parameter, ended by shutting the recorder down.
    refused, = recorder.set_parameters([Parameter('instruction', value='   ')])
    assert not refused.successful and 'instruction is empty' in refused.reason
    recorder.set_parameters([Parameter('instruction', value='open the drawer')])
    assert spin_until(executor, lambda: recorder.assembler.n_steps >= 4, 10.0)
    executor.remove_node(recorder)
    recorder.destroy_node()
    robot.node.destroy_node()
    operator.destroy_node()

    paths = sorted((tmp_path / 'episodes').glob('recorded_*.hdf5'))
    assert [p.name for p in paths] == ['recorded_000000.hdf5', 'recorded_000001.hdf5']
    first = check_episode(paths[0], 'push the red cube to the left', robot.camera)
    second = check_episode(paths[1], 'open the drawer', robot.camera)
    np.testing.assert_allclose(first.action_poses[:-1], first.ee_pose[1:])

    # The bag holds the same streams: importing it reproduces the recorded episodes.
    # The shipped mapping, with this recorder's gripper joint.
    mapping = yaml.safe_load((CONFIG_DIR / 'import_rosbag.yaml').read_text())
    mapping['ee']['joint_states'] = '/joint_states'
    mapping['gripper'].update(joint='finger', closed_value=0.04)
    (tmp_path / 'mapping.yaml').write_text(yaml.safe_dump(mapping))
    imported = import_episodes('rosbag', tmp_path / 'raw_bag', tmp_path / 'mapping.yaml', tmp_path / 'imported')
    assert [p.name for p in imported] == ['rosbag_000000.hdf5', 'rosbag_000001.hdf5']
    for recorded, path in zip((first, second), imported):
        again = read_episode(path)
        assert again.instruction == recorded.instruction
        np.testing.assert_array_equal(again.rgb, recorded.rgb)
        np.testing.assert_allclose(again.ee_pose, recorded.ee_pose)
        np.testing.assert_array_equal(again.gripper, recorded.gripper)
        np.testing.assert_allclose(again.camera.K, recorded.camera.K)
        np.testing.assert_allclose(again.camera.T_base_camera, recorded.camera.T_base_camera)


def test_recorder_rejects_a_configuration_without_poses(ros_context, tmp_path):
    from video_planner.errors import ConfigError

    context, _ = ros_context
    with pytest.raises(ConfigError, match='ee'):
        RecorderNode(context=context, parameter_overrides=[Parameter('ee_pose_topic', value=''),
                                                           Parameter('output_dir', value=str(tmp_path))])


def test_recorder_with_the_default_topics_records_the_simulated_robot(ros_context, tmp_path):
    from video_planner.ros.sim_robot_node import SimRobotNode

    context, executor = ros_context
    sim = SimRobotNode(context=context, parameter_overrides=[Parameter('image_size', value=32),
                                                             Parameter('rate_hz', value=20.0)])
    recorder = RecorderNode(context=context, parameter_overrides=[
        Parameter('output_dir', value=str(tmp_path)), Parameter('arm', value='panda'),
        Parameter('instruction', value=sim.task.instruction)])
    executor.add_node(sim)
    executor.add_node(recorder)
    try:
        assert spin_until(executor, lambda: recorder.assembler.n_steps >= 5, 20.0), \
            f'{recorder.assembler.skipped_frames} frames skipped, none recorded'
        path = recorder.stop_episode()
        observation = sim.world.observe()
    finally:
        executor.remove_node(sim)
        executor.remove_node(recorder)
        recorder.destroy_node()
        sim.destroy_node()
    episode = read_episode(path)
    assert episode.instruction == sim.task.instruction and episode.rgb.shape[1:] == (32, 32, 3)
    assert recorder.assembler.skipped_frames == 0
    np.testing.assert_allclose(episode.camera.K, observation.camera.K)
    np.testing.assert_allclose(episode.camera.T_base_camera, observation.camera.T_base_camera, atol=1e-9)
    # The arm holds still without commands: every recorded pose is the simulator's current one.
    np.testing.assert_allclose(episode.ee_pose, np.tile(observation.T_base_ee, (len(episode), 1, 1)), atol=1e-3)


def test_frames_of_another_size_are_refused_and_the_episode_is_kept(ros_context, tmp_path):
    context, executor = ros_context
    robot = FakeRobot(context)
    recorder = RecorderNode(context=context, parameter_overrides=[
        Parameter('output_dir', value=str(tmp_path)), Parameter('arm', value='panda'),
        Parameter('gripper_joint', value='finger'), Parameter('gripper_closed_value', value=0.04)])
    stray = rclpy.create_node('stray_camera', context=context)
    stray_pub = stray.create_publisher(Image, 'camera/image_raw', qos_profile_sensor_data)
    for node in (robot.node, recorder, stray):
        executor.add_node(node)
    try:
        assert spin_until(executor, lambda: recorder.assembler.T_base_camera is not None
                          and stray_pub.get_subscription_count(), 10.0)
        recorder.start_episode('push the red cube to the left')
        assert spin_until(executor, lambda: recorder.assembler.n_steps >= 3, 10.0)
        # A second camera of another size starts publishing on the same topic mid-episode.
        for _ in range(5):
            stray_pub.publish(conv.rgb_to_image(np.full((SIZE + 8, SIZE + 8, 3), 255, np.uint8),
                                                stray.get_clock().now(), 'other_camera'))
            spin_until(executor, lambda: False, 0.03)
        assert spin_until(executor, lambda: recorder.assembler.n_steps >= 8, 10.0)
        path = recorder.stop_episode()
    finally:
        for node in (robot.node, recorder, stray):
            executor.remove_node(node)
            node.destroy_node()
    assert path is not None, 'the episode was lost'
    episode = check_episode(path, 'push the red cube to the left', robot.camera)
    assert episode.rgb.shape[1:] == (SIZE, SIZE, 3) and len(episode) >= 8


def test_the_assembler_refuses_a_frame_of_another_size_at_once_and_keeps_the_episode():
    from video_planner.data.importers.assembler import EpisodeAssembler
    from video_planner.errors import VideoPlannerError
    from video_planner.ros.recorder_node import RecorderConfig

    camera = CameraModel.from_fov(60.0, SIZE, SIZE, look_at([0.5, 0.0, 1.0], [0.5, 0.0, 0.0], (1, 0, 0)))
    assembler = EpisodeAssembler(RecorderConfig(arm='panda').to_mapping())
    assembler.on_camera_info(conv.camera_model_to_info(camera))
    assembler.on_camera_pose(conv.matrix_to_pose_stamped(camera.T_base_camera, frame_id='base_link'))
    assembler.start('push the red cube to the left')
    stamp_ns = 10**9
    for seq in range(4):
        stamp_ns += 20_000_000
        rgb = np.full((SIZE, SIZE, 3), seq, np.uint8)
        assembler.on_rgb(conv.rgb_to_image(rgb, stamp_ns), stamp_ns)
        assembler.on_pose(conv.matrix_to_pose_stamped(ee_pose(seq), stamp_ns, 'base_link'), stamp_ns)
    # The odd frame is refused when it arrives, not when the episode is saved (which would lose it all).
    with pytest.raises(VideoPlannerError, match='frame dropped'):
        big = np.zeros((SIZE + 8, SIZE + 8, 3), np.uint8)
        assembler.on_rgb(conv.rgb_to_image(big, stamp_ns + 10_000_000), stamp_ns + 10_000_000)
    episode = assembler.finish()
    assert episode is not None and len(episode) == 4 and episode.rgb.shape[1:] == (SIZE, SIZE, 3)
    np.testing.assert_array_equal(episode.rgb[:, 0, 0, 0], np.arange(4))
