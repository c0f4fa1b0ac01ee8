"""What RViz and MoveIt read about the robot: ``robot_description`` and the camera's static transform.

- ``robot_description`` (std_msgs/String, transient local): the URDF, as robot_state_publisher
  publishes it. sim_robot_node publishes it for the simulated arm, as a real robot's driver stack
  does; inverse_dynamics_node only reads it (a second, possibly different URDF on the topic would
  confuse RViz and MoveIt).
- ``/tf_static`` (tf2_msgs/TFMessage, transient local, depth 1): base frame -> camera optical frame
  (REP 103: z forward, x right, y down). That is exactly what tf2_ros' StaticTransformBroadcaster
  sends, so only the *message* package is needed, not tf2_ros. tf2_msgs is not among the PyPI ROS
  wheels: without it the pose goes out on ``camera/pose`` only (which is always published, for the
  nodes' fallback and the recorder). The reading side is :mod:`video_planner.ros.camera_tf`: it
  looks up ``base_frame <- <image frame_id>``, the pair published here.
"""
from __future__ import annotations

import re
from typing import Optional

import numpy as np
from geometry_msgs.msg import TransformStamped
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

from video_planner.ros.conversions import make_header, matrix_to_transform

TF_STATIC_TOPIC = '/tf_static'
ROBOT_DESCRIPTION_TOPIC = 'robot_description'
# tf2_ros.StaticBroadcasterQoS and robot_state_publisher's robot_description QoS: a late subscriber
# (RViz started after the robot) still gets the last message.
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


def static_transform(T_parent_child: np.ndarray, stamp, parent_frame: str, child_frame: str) -> TransformStamped:
    """The tf2 message for ``T_parent_child`` (child's pose in the parent frame)."""
    return TransformStamped(header=make_header(stamp, parent_frame), child_frame_id=child_frame,
                            transform=matrix_to_transform(T_parent_child))


class CameraTfBroadcaster:
    """Publishes the camera pose on /tf_static whenever it changes (once, for a fixed camera)."""

    def __init__(self, node):
        self._node = node
        self._pub = None
        self._last: Optional[tuple[str, str, np.ndarray]] = None
        try:
            from tf2_msgs.msg import TFMessage
        except ImportError:
            node.get_logger().info('tf2_msgs is not installed: the camera pose is published on camera/pose only')
            return
        self._message = TFMessage
        self._pub = node.create_publisher(TFMessage, TF_STATIC_TOPIC, LATCHED)

    @property
    def available(self) -> bool:
        return self._pub is not None

    def publish(self, T_base_camera: np.ndarray, stamp, base_frame: str, camera_frame: str) -> bool:
        """True when a new transform went out (the camera moved, or it is the first)."""
        if self._pub is None:
            return False
        last = self._last
        if last is not None and last[:2] == (base_frame, camera_frame) and np.allclose(last[2], T_base_camera):
            return False
        self._last = (base_frame, camera_frame, np.array(T_base_camera, dtype=np.float64))
        self._pub.publish(self._message(transforms=[static_transform(T_base_camera, stamp, base_frame,
                                                                     camera_frame)]))
        return True


def with_file_uris(urdf_xml: str) -> str:
    """Absolute mesh paths as file:// URIs: RViz's resource retriever reads URIs only (package:// or
    file://), while pinocchio and pybullet, which read the file on disk, take plain paths."""
    return re.sub(r'filename="/', 'filename="file:///', urdf_xml)


def publish_robot_description(node, urdf_xml: str):
    """A transient-local ``robot_description`` publisher, with the URDF already sent; keep the
    returned publisher alive (a late subscriber is served from it)."""
    pub = node.create_publisher(String, ROBOT_DESCRIPTION_TOPIC, LATCHED)
    pub.publish(String(data=with_file_uris(urdf_xml)))
    return pub
