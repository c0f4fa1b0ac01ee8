"""Time-stamped robot streams -> episodes: one step per RGB frame, with the latest depth, pose and gripper.

The same assembler serves the recorder node (live messages) and the rosbag importer (messages read
back from a bag): it reads messages by field name only (``sensor_msgs/Image``, ``CameraInfo``,
``JointState``, ``PoseStamped``), so rclpy messages and ``rosbags`` messages both work, and this
module imports without rclpy.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from video_planner.data.importers.mapping import ImportMapping
from video_planner.dynamics.camera import CameraModel
from video_planner.errors import ConfigError, VideoPlannerError
from video_planner.kinematics.rotations import pose_from_position_quat_xyzw
from video_planner.ros.image_encoding import image_to_depth_m, image_to_rgb


@dataclass
class ImportedEpisode:
    """One demonstration in core types, ready for the dataset writer."""

    instruction: str
    arm: str
    camera: CameraModel                # intrinsics of ``rgb`` (after any resize) + T_base_camera
    rgb: np.ndarray                    # (T, H, W, 3) uint8
    T_base_ee: np.ndarray              # (T, 4, 4)
    gripper: np.ndarray                # (T,) 0 open .. 1 closed
    depth_m: np.ndarray | None = None  # (T, H, W) float32 metres, NaN unknown
    joint_positions: np.ndarray | None = None  # (T, n) when joints were recorded
    joint_names: list[str] = field(default_factory=list)
    stamps_ns: np.ndarray | None = None  # (T,) source time of each step
    source: str = ''                   # where it came from (bag path, dataset + episode index)

    def __len__(self) -> int:
        return int(self.rgb.shape[0])


def load_arm_kinematics(urdf: str, base_frame: str = '', ee_frame: str = ''):
    """ArmKinematics from a URDF path, or from the name of one of the simulator's arms."""
    from video_planner.kinematics.arm import ArmKinematics

    if Path(urdf).is_file() or urdf.lstrip().startswith('<'):
        return ArmKinematics.from_urdf(urdf, base_frame or None, ee_frame or None)
    from video_planner.sim.arms import ARMS

    if urdf not in ARMS:
        raise ConfigError(f"ee.urdf: '{urdf}' is neither a URDF file nor one of the arms {sorted(ARMS)}")
    spec = ARMS[urdf]
    return ArmKinematics.from_urdf(spec.urdf_path, base_frame or spec.base_frame, ee_frame or spec.ee_frame)


def camera_from_mapping(mapping: ImportMapping, width: int, height: int, camera_info=None,
                        T_base_camera: np.ndarray | None = None) -> CameraModel:
    """The source camera: CameraInfo if one arrived, else the mapping's intrinsics or field of view;
    extrinsics from a received camera pose, else the mapping's fixed T_base_camera."""
    cam = mapping.camera
    T = cam.camera_pose() if T_base_camera is None else T_base_camera
    if camera_info is not None:
        model = CameraModel.from_camera_info_fields(np.asarray(camera_info.k, dtype=np.float64),
                                                    int(camera_info.width), int(camera_info.height), T,
                                                    cam.frame_id)
    elif cam.intrinsics:
        fx, fy, cx, cy = (float(v) for v in cam.intrinsics)
        model = CameraModel.from_intrinsics(fx, fy, cx, cy, width, height, T, cam.frame_id)
    elif cam.fov_y_deg > 0:
        model = CameraModel.from_fov(cam.fov_y_deg, width, height, T, cam.frame_id)
    else:
        raise ConfigError('camera: no CameraInfo received and neither camera.intrinsics nor camera.fov_y_deg '
                          'given; the dataset needs intrinsics')
    if (model.width, model.height) != (width, height):
        raise VideoPlannerError(f'camera info is {model.width}x{model.height} but the images are {width}x{height}')
    return model


class EpisodeAssembler:
    """Feed messages in time order; ``start`` / ``finish`` delimit episodes."""

    def __init__(self, mapping: ImportMapping, kinematics=None, source: str = ''):
        self.mapping = mapping
        self.kinematics = kinematics
        if kinematics is None and not mapping.ee.pose and mapping.ee.urdf:
            self.kinematics = load_arm_kinematics(mapping.ee.urdf, mapping.ee.base_frame, mapping.ee.ee_frame)
        self.source = source
        self.camera_info = None
        self.T_base_camera = None
        self.skipped_frames = 0
        self._depth = None      # (stamp_ns, depth_m)
        self._pose = None       # (stamp_ns, T_base_ee)
        self._joints = None     # (stamp_ns, q)
        self._gripper = 0.0
        self._instruction = None
        self._steps: list[dict] = []

    # ------------------------------------------------------------------ episode boundaries
    @property
    def recording(self) -> bool:
        return self._instruction is not None

    @property
    def n_steps(self) -> int:
        return len(self._steps)

    def start(self, instruction: str) -> ImportedEpisode | None:
        """Begin an episode; a running one is finished first and returned."""
        text = (instruction or '').strip()
        if not text:
            raise VideoPlannerError('instruction is empty: each episode needs the language goal it shows')
        finished = self.finish() if self.recording else None
        self._instruction = text
        self._steps = []
        return finished

    def finish(self) -> ImportedEpisode | None:
        """End the episode; None when it had fewer than ``min_steps`` steps (or none was running)."""
        steps, instruction = self._steps, self._instruction
        self._steps, self._instruction = [], None
        if instruction is None or len(steps) < self.mapping.min_steps:
            return None
        return self._build(instruction, steps)

    # ------------------------------------------------------------------ streams
    def on_camera_info(self, msg) -> None:
        self.camera_info = msg

    def on_camera_pose(self, msg) -> None:
        """geometry_msgs/PoseStamped of the camera optical frame in the base frame."""
        p, o = msg.pose.position, msg.pose.orientation
        self.T_base_camera = pose_from_position_quat_xyzw((p.x, p.y, p.z), (o.x, o.y, o.z, o.w))

    def on_depth(self, msg, stamp_ns: int) -> None:
        self._depth = (stamp_ns, image_to_depth_m(msg, allow_all_invalid=True))

    def on_pose(self, msg, stamp_ns: int) -> None:
        """geometry_msgs/PoseStamped (or Pose) of the end effector in the base frame."""
        pose = getattr(msg, 'pose', msg)
        p, o = pose.position, pose.orientation
        self._pose = (stamp_ns, pose_from_position_quat_xyzw((p.x, p.y, p.z), (o.x, o.y, o.z, o.w)))

    def on_joint_state(self, msg, stamp_ns: int) -> None:
        """sensor_msgs/JointState: arm joints -> FK pose (when configured), gripper joint -> 0..1."""
        names = list(msg.name)
        positions = np.asarray(msg.position, dtype=np.float64)
        grip = self.mapping.gripper.joint
        if grip and grip in names:
            self._gripper = self.mapping.gripper.normalise(positions[names.index(grip)])
        if self.kinematics is None:
            return
        index = {n: i for i, n in enumerate(names)}
        missing = [j for j in self.kinematics.joint_names if j not in index]
        if missing:
            return  # a JointState of another group (e.g. only the gripper); wait for the arm's
        q = positions[[index[j] for j in self.kinematics.joint_names]]
        self._joints = (stamp_ns, q)
        if not self.mapping.ee.pose:
            self._pose = (stamp_ns, self.kinematics.fk(q))

    def set_gripper(self, value: float) -> None:
        self._gripper = float(np.clip(value, 0.0, 1.0))

    def on_rgb(self, msg, stamp_ns: int) -> bool:
        """Add a step at this frame if recording and the other streams are fresh; True when added."""
        if not self.recording:
            return False
        gap_ns = int(self.mapping.max_sync_gap_s * 1e9)
        fresh = lambda item: item is not None and abs(stamp_ns - item[0]) <= gap_ns  # noqa: E731
        if not fresh(self._pose) or (self.mapping.camera.depth and not fresh(self._depth)):
            self.skipped_frames += 1
            return False
        step = {'rgb': image_to_rgb(msg), 'T_base_ee': self._pose[1], 'gripper': self._gripper,
                'stamp_ns': int(stamp_ns)}
        if self.mapping.camera.depth:
            step['depth_m'] = self._depth[1]
        if self._joints is not None and fresh(self._joints):
            step['q'] = self._joints[1]
        if self._steps and step['rgb'].shape != self._steps[0]['rgb'].shape:
            raise VideoPlannerError(f'image size changed within an episode: {self._steps[0]["rgb"].shape} -> '
                                    f'{step["rgb"].shape}')
        self._steps.append(step)
        return True

    # ------------------------------------------------------------------ output
    def _build(self, instruction: str, steps: list[dict]) -> ImportedEpisode:
        rgb = np.stack([s['rgb'] for s in steps])
        height, width = rgb.shape[1:3]
        camera = camera_from_mapping(self.mapping, width, height, self.camera_info, self.T_base_camera)
        depth = np.stack([s['depth_m'] for s in steps]) if 'depth_m' in steps[0] else None
        has_q = all('q' in s for s in steps)
        episode = ImportedEpisode(
            instruction=instruction, arm=self.mapping.arm, camera=camera, rgb=rgb,
            T_base_ee=np.stack([s['T_base_ee'] for s in steps]),
            gripper=np.array([s['gripper'] for s in steps], dtype=np.float32), depth_m=depth,
            joint_positions=np.stack([s['q'] for s in steps]) if has_q else None,
            joint_names=list(self.kinematics.joint_names) if has_q else [],
            stamps_ns=np.array([s['stamp_ns'] for s in steps], dtype=np.int64), source=self.source)
        return resize_episode(episode, self.mapping.image_size)


def resize_episode(episode: ImportedEpisode, size: int) -> ImportedEpisode:
    """Frames (and depth) to size x size, with the intrinsics scaled through CameraModel.resized."""
    if size <= 0 or episode.rgb.shape[1:3] == (size, size):
        return episode
    episode.rgb = np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in episode.rgb])
    if episode.depth_m is not None:
        # Nearest keeps depth edges and NaNs honest (no invented in-between depths).
        episode.depth_m = np.stack([cv2.resize(d, (size, size), interpolation=cv2.INTER_NEAREST)
                                    for d in episode.depth_m])
    episode.camera = episode.camera.resized(size, size)
    return episode
