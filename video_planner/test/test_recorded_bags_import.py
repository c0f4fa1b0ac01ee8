"""What the package records is a valid input to its own importer with the default mapping:
the demo's bag (its operator recording a live sim_robot_node) imports with config/import_rosbag.yaml,
from a folder named *.bag, into episodes that VideoClipDataset reads."""
import time

import numpy as np
import pytest

from ros_harness import ARM, start, wait_until
from video_planner.data.importers import cli
from video_planner.data.reader import VideoClipDataset
from video_planner.ros.bag import read_messages
from video_planner.ros.demo import EPISODE_START_TOPIC, EPISODE_STOP_TOPIC, Operator
from video_planner.resources import config_path

pytestmark = pytest.mark.timeout(180)


def test_the_demo_recording_imports_with_the_default_mapping(tmp_path):
    sim = start('sim_robot_node', tmp_path / 'logs', {'arm': ARM, 'task': 'reach', 'seed': 2, 'image_size': 64,
                                                      'rate_hz': 10.0})
    bag = tmp_path / 'demo.bag'           # the demo's name: a rosbag2 folder that reads like a ROS 1 file name
    operator = Operator(bag)
    try:
        operator.wait_for(lambda: operator.instruction is not None, 30.0, 'the task instruction')
        # 25 camera frames recorded (2.5 s idle; a fixed 2.5 s gave fewer than 5 on a loaded CI machine).
        operator.recording = True
        operator.wait_for(lambda: len(operator.camera) >= 25, 30.0, '25 camera frames')
        time.sleep(0.3)                    # the poses and depth images stamped with the last frames
    finally:
        operator.close()
        assert sim.stop() == 0, sim.log()[-3000:]
    topics = {topic for topic, _, _ in read_messages(bag)}
    assert {'/camera/image_raw', '/camera/camera_info', '/camera/pose', '/ee_pose', '/camera/depth/image_raw',
            EPISODE_START_TOPIC, EPISODE_STOP_TOPIC} <= topics
    written = cli.import_episodes('rosbag', bag, config_path('import_rosbag.yaml'), tmp_path / 'episodes')
    assert len(written) == 1
    dataset = VideoClipDataset(written, horizon=4)
    assert len(dataset) > 0
    clip = dataset[0]
    assert clip['instruction'] == operator.instruction
    assert clip['frame0'].shape == (64, 64, 3) and len(clip['future']) == 4
    assert np.isfinite(clip['ee_poses']).all() and clip['K'][0, 0] > 0


def test_relative_topic_names_in_a_bag_match_the_mappings_absolute_ones(tmp_path):
    """Bags written with relative names (the demo before, or any rclpy writer) import with the same mapping."""
    from sensor_msgs.msg import CameraInfo, Image
    from geometry_msgs.msg import PoseStamped
    from std_msgs.msg import Empty, String
    from video_planner.ros import conversions
    from video_planner.ros.bag import BagWriter
    from video_planner.camera import CameraModel

    camera = CameraModel.from_intrinsics(60.0, 60.0, 32.0, 32.0, 64, 64)
    with BagWriter(tmp_path / 'rel.bag') as writer:
        writer.write('recorder_node/instruction', String(data='reach the red block'), 0)
        for i in range(6):
            t = (i + 1) * 100_000_000
            rgb = np.full((64, 64, 3), 20 * i, np.uint8)
            writer.write('camera/image_raw', conversions.rgb_to_image(rgb, t, 'camera_optical_frame'), t)
            writer.write('camera/camera_info', conversions.camera_model_to_info(camera, t, 'camera_optical_frame'), t)
            writer.write('camera/pose', conversions.matrix_to_pose_stamped(np.eye(4), t, 'panda_link0'), t)
            T = np.eye(4)
            T[0, 3] = 0.4 + 0.01 * i
            writer.write('ee_pose', conversions.matrix_to_pose_stamped(T, t, 'panda_link0'), t)
        writer.write('recorder_node/stop', Empty(), 700_000_000)
    (episode,) = cli.import_episodes('rosbag', tmp_path / 'rel.bag', config_path('import_rosbag.yaml'),
                                     tmp_path / 'episodes')
    assert episode.is_file()
