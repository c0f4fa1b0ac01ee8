"""Time-stamped robot streams -> episodes: one step per RGB frame, with the latest depth, pose and gripper.

The same assembler serves the recorder node (live messages) and the rosbag importer (messages read
back from a bag): it reads messages by field name only (``sensor_msgs/Image``, ``CameraInfo``,
``JointState``, ``PoseStamped``), so rclpy messages and ``rosbags`` messages both work, and this
module imports without rclpy.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from video_planner.data.importers.mapping import ImportMapping
from video_planner.camera import CameraModel
from video_planner.errors import ConfigError, VideoPlannerError
from video_planner.kinematics.rotations import pose_from_position_quat_xyzw
from video_planner.data.image_encoding import any_image_to_rgb, image_to_depth_m


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
    from video_planner.sim.arms import ARMS, get_arm, is_arm_file

    if urdf not in ARMS and not is_arm_file(urdf):
        raise ConfigError(f"ee.urdf: '{urdf}' is neither a URDF file, an arm YAML nor one of the arms {list(ARMS)}")
    spec = get_arm(urdf)
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


class StreamHistory:
    """The last few (stamp_ns, value) samples of one stream, to pair a frame with its nearest sample."""

    def __init__(self, maxlen: int = 256):
        self._items: deque[tuple[int, object]] = deque(maxlen=maxlen)

    def add(self, stamp_ns: int, value) -> None:
        self._items.append((int(stamp_ns), value))

    @property
    def latest_stamp(self) -> int | None:
        return self._items[-1][0] if self._items else None

    def nearest(self, stamp_ns: int, max_gap_ns: int):
        """The value stamped closest to ``stamp_ns`` (ties: the earlier), or None beyond ``max_gap_ns``."""
        best = min(self._items, key=lambda item: abs(item[0] - stamp_ns), default=None)
        return best[1] if best is not None and abs(best[0] - stamp_ns) <= max_gap_ns else None


def message_stamp_ns(msg, received_ns: int) -> int:
    """The header stamp when the sender set one, else the receive (bag) time.

    Header stamps pair a frame with the pose of the same observation even when the two arrive in
    either order or the receiver is slow; a zero stamp means the sender did not set it."""
    header = getattr(msg, 'header', None)
    if header is not None:
        ns = int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)
        if ns > 0:
            return ns
    return int(received_ns)


class EpisodeAssembler:
    """Feed messages in arrival order; ``start`` / ``finish`` delimit episodes.

    A frame waits until the pose (and depth, when mapped) streams have caught up with its stamp, then
    takes the samples stamped nearest to it; a frame with no pose/depth within ``max_sync_gap_s``
    is skipped (counted in ``skipped_frames``).
    """

    def __init__(self, mapping: ImportMapping, kinematics=None, source: str = ''):
        self.mapping = mapping
        self.kinematics = kinematics
        if kinematics is None and not mapping.ee.pose and mapping.ee.urdf:
            self.kinematics = load_arm_kinematics(mapping.ee.urdf, mapping.ee.base_frame, mapping.ee.ee_frame)
        self.source = source
        self.camera_info = None
        self.T_base_camera = None
        self.skipped_frames = 0
        self._poses = StreamHistory()
        self._depths = StreamHistory(maxlen=32)
        self._joints = StreamHistory()
        self._grippers = StreamHistory()
        self._pending: deque[tuple[int, np.ndarray]] = deque()  # frames waiting for their pose/depth
        self._newest_ns = 0
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
        self._resolve(flush=True)
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

    def on_depth(self, msg, received_ns: int) -> None:
        stamp = self._seen(msg, received_ns)
        self._depths.add(stamp, image_to_depth_m(msg, allow_all_invalid=True))
        self._resolve()

    def on_pose(self, msg, received_ns: int) -> None:
        """geometry_msgs/PoseStamped (or Pose) of the end effector in the base frame."""
        stamp = self._seen(msg, received_ns)
        pose = getattr(msg, 'pose', msg)
        p, o = pose.position, pose.orientation
        self._poses.add(stamp, pose_from_position_quat_xyzw((p.x, p.y, p.z), (o.x, o.y, o.z, o.w)))
        self._resolve()

    def on_joint_state(self, msg, received_ns: int) -> None:
        """sensor_msgs/JointState: arm joints -> FK pose (when configured), gripper joint -> 0..1."""
        stamp = self._seen(msg, received_ns)
        names = list(msg.name)
        positions = np.asarray(msg.position, dtype=np.float64)
        grip = self.mapping.gripper.joint
        if grip and grip in names:
            self._grippers.add(stamp, self.mapping.gripper.normalise(positions[names.index(grip)]))
        if self.kinematics is not None:
            index = {n: i for i, n in enumerate(names)}
            # A JointState of another group (e.g. only the gripper) carries no arm pose.
            if all(j in index for j in self.kinematics.joint_names):
                q = positions[[index[j] for j in self.kinematics.joint_names]]
                self._joints.add(stamp, q)
                if not self.mapping.ee.pose:
                    self._poses.add(stamp, self.kinematics.fk(q))
        self._resolve()

    def on_rgb(self, msg, received_ns: int) -> None:
        """(Image or CompressedImage) Queue this frame as a step (if recording).

        It is matched with its pose (and depth) once the other streams catch up."""
        stamp = self._seen(msg, received_ns)
        if self.recording:
            rgb = any_image_to_rgb(msg)
            expected = self._episode_frame_shape()
            if expected is not None and rgb.shape != expected:
                # Refused here, at the edge, so that the episode already recorded stays intact and savable.
                raise VideoPlannerError(f'frame dropped: its size {rgb.shape} differs from the {expected} of '
                                        f'the episode being recorded (one camera stream per episode)')
            self._pending.append((stamp, rgb))
        self._resolve()

    def _episode_frame_shape(self) -> tuple[int, ...] | None:
        if self._steps:
            return self._steps[0]['rgb'].shape
        return self._pending[0][1].shape if self._pending else None

    # ------------------------------------------------------------------ matching
    def _seen(self, msg, received_ns: int) -> int:
        stamp = message_stamp_ns(msg, received_ns) if self.mapping.use_header_stamps else int(received_ns)
        self._newest_ns = max(self._newest_ns, stamp)
        return stamp

    def _required(self) -> list[StreamHistory]:
        return [self._poses] + ([self._depths] if self.mapping.camera.depth else [])

    def _resolve(self, flush: bool = False) -> None:
        gap_ns = int(self.mapping.max_sync_gap_s * 1e9)
        while self._pending:
            stamp, rgb = self._pending[0]
            caught_up = all((h.latest_stamp or -1) >= stamp for h in self._required())
            if not (flush or caught_up or self._newest_ns > stamp + gap_ns):
                return
            self._pending.popleft()
            self._add_step(stamp, rgb, gap_ns)

    def _add_step(self, stamp: int, rgb: np.ndarray, gap_ns: int) -> None:
        pose = self._poses.nearest(stamp, gap_ns)
        depth = self._depths.nearest(stamp, gap_ns) if self.mapping.camera.depth else None
        if pose is None or (self.mapping.camera.depth and depth is None):
            self.skipped_frames += 1
            return
        gripper = self._grippers.nearest(stamp, gap_ns)
        step = {'rgb': rgb, 'T_base_ee': pose, 'gripper': 0.0 if gripper is None else gripper, 'stamp_ns': stamp}
        if depth is not None:
            step['depth_m'] = depth
        q = self._joints.nearest(stamp, gap_ns)
        if q is not None:
            step['q'] = q
        self._steps.append(step)

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
