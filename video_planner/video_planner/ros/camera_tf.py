"""The camera's pose in the robot base frame from tf2, on a ROS install that has tf2_ros.

tf2_ros is not among the PyPI ROS wheels, so here (and in CI) the lookup is simply unavailable and the
nodes use `camera_pose_topic` / `camera_pose`. On a real install (`ros-<distro>-tf2-ros-py`, listed in
package.xml) the camera driver's or the calibration's tf is used, REP 103/105: `base_frame` <- the
frame_id of the camera's Image / CameraInfo (an optical frame: z forward, x right, y down).
sim_robot_node publishes exactly that pair on /tf_static (`ros/robot_description.py`: its arm's base
frame, the planners' default `base_frame`, <- `camera_optical_frame`, its images' frame_id).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from video_planner.ros.conversions import transform_to_matrix


class CameraPoseFromTf:
    """`T_base_camera(frame_id)`: the latest tf base_frame <- frame_id, or None when there is none."""

    def __init__(self, node, base_frame: str):
        self.base_frame = base_frame
        self._node = node
        self._buffer = None
        self._warned: set[str] = set()
        try:
            import tf2_ros
        except ImportError:
            node.get_logger().info('tf2_ros is not installed: the camera pose comes from camera_pose_topic / '
                                   'camera_pose')
            return
        self._buffer = tf2_ros.Buffer()
        self._listener = tf2_ros.TransformListener(self._buffer, node)

    @property
    def available(self) -> bool:
        return self._buffer is not None and bool(self.base_frame)

    def T_base_camera(self, frame_id: str) -> Optional[np.ndarray]:
        if not self.available or not frame_id:
            return None
        from rclpy.time import Time
        try:
            msg = self._buffer.lookup_transform(self.base_frame, frame_id, Time())
        except Exception as exc:  # tf2 raises LookupException, ConnectivityException, ExtrapolationException
            if frame_id not in self._warned:  # once per frame: the fallback is fine, the user should know
                self._warned.add(frame_id)
                self._node.get_logger().warning(f'no tf {self.base_frame} <- {frame_id} ({exc}); using '
                                                'camera_pose_topic / camera_pose')
            return None
        return transform_to_matrix(msg.transform)
