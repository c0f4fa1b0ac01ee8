"""What RViz and MoveIt read from the running system: robot_description, the camera on /tf_static (where
tf2_msgs is installed), and the playhead arrow that moves along the plan's path."""
import importlib.util
import xml.etree.ElementTree as ET

import numpy as np
import pinocchio as pin
import pytest
from geometry_msgs.msg import PoseStamped
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import String
from visualization_msgs.msg import Marker

from ros_harness import ARM, Client, start, wait_until
from video_planner.ros import conversions
from video_planner.ros.robot_description import LATCHED, TF_STATIC_TOPIC, static_transform
from video_planner.ros.rviz_config import urdf_root_link
from video_planner.sim.arms import get_arm

pytestmark = pytest.mark.timeout(120)
HAS_TF2_MSGS = importlib.util.find_spec('tf2_msgs') is not None


def test_sim_robot_node_publishes_what_rviz_and_moveit_read(tmp_path):
    proc = start('sim_robot_node', tmp_path, {'arm': ARM, 'task': 'reach', 'seed': 1, 'rate_hz': 10.0})
    client = Client('description_test_client')
    try:
        check_robot_description(client)
        check_camera_pose(client)
    finally:
        client.close()
        assert proc.stop() == 0, proc.log()[-3000:]


def check_robot_description(client):
    """A late subscriber gets the arm's URDF, with meshes RViz can load."""
    descriptions = client.record(String, 'robot_description', LATCHED)   # subscribed after the node started
    wait_until(lambda: descriptions, 20.0, 'robot_description')
    urdf = descriptions[-1].data
    spec = get_arm(ARM)
    assert urdf_root_link(urdf) == spec.base_frame
    model = pin.buildModelFromXML(urdf)
    assert set(spec.arm_joints) <= set(model.names)
    meshes = [m.get('filename') for m in ET.fromstring(urdf).iter('mesh')]
    assert meshes and all(name.startswith(('file://', 'package://')) for name in meshes), meshes[:3]


def check_camera_pose(client):
    """camera/pose always; /tf_static (base <- the image's frame_id, what camera_tf looks up) with tf2_msgs."""
    poses = client.record(PoseStamped, 'camera/pose', LATCHED)
    images = client.record(Image, 'camera/image_raw', qos_profile_sensor_data)
    wait_until(lambda: poses and images, 20.0, 'camera/pose and an image')
    spec = get_arm(ARM)
    assert poses[-1].header.frame_id == spec.base_frame
    T_base_camera = conversions.pose_to_matrix(poses[-1].pose)
    if not HAS_TF2_MSGS:
        assert client.node.count_publishers(TF_STATIC_TOPIC) == 0
        return
    from tf2_msgs.msg import TFMessage
    static = client.record(TFMessage, TF_STATIC_TOPIC, LATCHED)
    wait_until(lambda: static, 20.0, '/tf_static')
    (transform,) = static[-1].transforms
    assert transform.header.frame_id == spec.base_frame
    assert transform.child_frame_id == images[-1].header.frame_id
    assert np.allclose(conversions.transform_to_matrix(transform.transform), T_base_camera, atol=1e-6)


def test_a_static_transform_reads_back_as_the_same_pose():
    T = np.eye(4)
    T[:3, :3] = pin.rpy.rpyToMatrix(0.3, -1.2, 2.0)
    T[:3, 3] = [0.5, -0.2, 0.9]
    msg = static_transform(T, 1.5, 'panda_link0', 'camera_optical_frame')
    assert (msg.header.frame_id, msg.child_frame_id) == ('panda_link0', 'camera_optical_frame')
    assert msg.header.stamp.sec == 1 and msg.header.stamp.nanosec == 500_000_000
    assert np.allclose(conversions.transform_to_matrix(msg.transform), T)


def test_the_playhead_arrow_sits_on_the_path_pose_it_is_given():
    poses = np.repeat(np.eye(4)[None], 5, axis=0)
    poses[:, 0, 3] = np.linspace(0.3, 0.7, 5)
    gripper = np.array([0.0, 0.0, 1.0, 1.0, 0.0])
    markers = conversions.path_markers(poses, gripper, 0, 'panda_link0').markers
    assert [m.id for m in markers] == [0, 1]
    for index in (0, 2, 4):
        arrow = conversions.path_markers(poses, gripper, 0, 'panda_link0', playhead=index).markers[2]
        assert arrow.type == Marker.ARROW and arrow.header.frame_id == 'panda_link0'
        start, tip = arrow.points
        assert np.isclose(start.x, poses[index, 0, 3])
        assert tip.z > start.z                          # along the gripper's z (approach) axis
        assert arrow.color == conversions.gripper_colour(gripper[index])
