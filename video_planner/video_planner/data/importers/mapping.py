"""Which topic / column holds what: the YAML mapping an import (or the recorder) is driven by.

One file per source, e.g. config/import_rosbag.yaml::

    camera:
      rgb: /camera/color/image_raw            # topic (rosbag) or video key (LeRobot)
      depth: /camera/depth/image_rect_raw     # optional
      camera_info: /camera/color/camera_info  # optional; else intrinsics / fov_y_deg
      pose: /camera/pose                      # optional PoseStamped of the optical frame in the base ...
      T_base_camera: [x, y, z, qx, qy, qz, qw]  # ... or fixed: 7 numbers, or 16 (row-major 4x4)
    ee:
      pose: /ee_pose                          # PoseStamped topic / 7-number state slice ...
      joint_states: /joint_states             # ... or joints + urdf (FK with pinocchio)
      urdf: panda                             # a path, or an arm name of sim.ARMS
    gripper: {joint: panda_finger_joint1, open_value: 0.04, closed_value: 0.0}
    instruction: {topic: /recorder_node/instruction, stop_topic: /recorder_node/stop}

Unknown keys are errors, so a typo never silently drops a stream.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from video_planner.errors import ConfigError


@dataclass
class CameraMapping:
    rgb: str = ''                      # Image topic (rosbag) / video key, e.g. observation.images.top (LeRobot)
    depth: str = ''                    # depth Image topic (16UC1 mm or 32FC1 m); '' = no depth
    camera_info: str = ''              # CameraInfo topic; '' = use intrinsics or fov_y_deg
    pose: str = ''                     # PoseStamped topic: optical frame in the base frame (overrides T_base_camera)
    intrinsics: list = field(default_factory=list)   # [fx, fy, cx, cy] at the source image size
    fov_y_deg: float = 0.0             # used when neither camera_info nor intrinsics is given
    T_base_camera: list = field(default_factory=list)  # 7 (xyz + quaternion x,y,z,w) or 16 numbers
    frame_id: str = 'camera_optical_frame'

    def camera_pose(self) -> np.ndarray:
        from video_planner.kinematics.rotations import pose_from_position_quat_xyzw

        values = np.asarray(self.T_base_camera, dtype=np.float64)
        if values.size == 0:
            return np.eye(4)
        if values.size == 7:
            return pose_from_position_quat_xyzw(values[:3], values[3:])
        if values.size == 16:
            return values.reshape(4, 4)
        raise ConfigError(f'camera.T_base_camera: expected 7 numbers (x y z qx qy qz qw) or 16 (4x4 '
                          f'row-major), got {values.size}')


@dataclass
class EeMapping:
    pose: str = ''                     # PoseStamped topic / state column holding the ee pose
    pose_indices: list = field(default_factory=list)  # LeRobot: 7 indices (x y z qx qy qz qw) into `pose`
    joint_states: str = ''             # JointState topic / state column holding joint positions
    joint_indices: list = field(default_factory=list)  # LeRobot: indices of the arm joints in that column
    urdf: str = ''                     # URDF path, or an arm name of sim.ARMS, for FK from joints
    base_frame: str = ''
    ee_frame: str = ''


@dataclass
class GripperMapping:
    joint: str = ''                    # rosbag: joint name in the JointState messages
    column: str = ''                   # LeRobot: column (e.g. observation.state) ...
    index: int = -1                    # ... and index into it
    open_value: float = 0.0            # raw value meaning open -> 0.0
    closed_value: float = 1.0          # raw value meaning closed -> 1.0

    def normalise(self, raw: float) -> float:
        span = self.closed_value - self.open_value
        return float(np.clip((raw - self.open_value) / span, 0.0, 1.0))


@dataclass
class InstructionMapping:
    text: str = ''                     # fixed instruction for every episode ('' = from topic / tasks)
    topic: str = ''                    # std_msgs/String: each message starts an episode
    stop_topic: str = ''               # any message here ends the current episode


@dataclass
class ImportMapping:
    camera: CameraMapping = field(default_factory=CameraMapping)
    ee: EeMapping = field(default_factory=EeMapping)
    gripper: GripperMapping = field(default_factory=GripperMapping)
    instruction: InstructionMapping = field(default_factory=InstructionMapping)
    arm: str = ''                      # arm name stored with each episode
    image_size: int = 0                # resize frames (and intrinsics) to image_size x image_size; 0 keeps
    max_sync_gap_s: float = 0.1        # no pose/depth stamped within this of a frame: frame skipped
    use_header_stamps: bool = True     # match by header stamps (else by receive / bag time)
    min_steps: int = 2                 # shorter episodes are dropped

    def validate(self) -> None:
        if not self.camera.rgb:
            raise ConfigError('camera.rgb: name the RGB image topic / video key to import')
        if not (self.ee.pose or (self.ee.joint_states and self.ee.urdf)):
            raise ConfigError('ee: give ee.pose, or ee.joint_states together with ee.urdf, so end-effector '
                              'poses can be recorded')
        if self.gripper.closed_value == self.gripper.open_value:
            raise ConfigError('gripper.closed_value must differ from gripper.open_value')
        if self.image_size < 0 or self.max_sync_gap_s <= 0 or self.min_steps < 1:
            raise ConfigError('image_size must be >= 0, max_sync_gap_s > 0 and min_steps >= 1')
        if self.camera.intrinsics and len(self.camera.intrinsics) != 4:
            raise ConfigError(f'camera.intrinsics: expected [fx, fy, cx, cy], got {self.camera.intrinsics}')
        self.camera.camera_pose()


def _build(cls, values, where: str):
    if values is None:
        return cls()
    if not isinstance(values, dict):
        raise ConfigError(f'{where}: expected a mapping, got {values!r}')
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    kwargs = {}
    for key, value in values.items():
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            kwargs[key] = _build(hint, value, f'{where}.{key}' if where else key)
        elif hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            kwargs[key] = float(value)
        elif hint is bool and not isinstance(value, bool):
            raise ConfigError(f'{where}.{key}: expected true or false, got {value!r}')
        elif hint is list and not isinstance(value, list):
            raise ConfigError(f'{where}.{key}: expected a list, got {value!r}')
        elif hint in (int, str) and not isinstance(value, hint):
            raise ConfigError(f'{where}.{key}: expected {hint.__name__}, got {value!r}')
        else:
            kwargs[key] = value
    return cls(**kwargs)


def mapping_from_dict(values: dict) -> ImportMapping:
    mapping = _build(ImportMapping, values, 'mapping')
    mapping.validate()
    return mapping


def load_mapping(path: str | Path) -> ImportMapping:
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f'mapping file {path} does not exist') from None
    except yaml.YAMLError as exc:
        raise ConfigError(f'mapping file {path} is not valid YAML: {exc}') from None
    try:
        return mapping_from_dict(values or {})
    except ConfigError as exc:
        raise ConfigError(f'{path}: {exc}') from None
