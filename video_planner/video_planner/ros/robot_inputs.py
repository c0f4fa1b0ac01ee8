"""What the planning nodes read from the robot: camera frame, depth, CameraInfo, camera pose, joints, ee pose.

Both the planner node and the inverse-dynamics node keep the latest of each (and a short history of
depth and robot state, so the inverse-dynamics node can use the ones taken with the frame a plan was
conditioned on). Malformed messages are dropped here, at the edge, with one rate-limited log line per
kind of problem, so a misbehaving driver can neither crash a node nor flood its log.
"""
from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from geometry_msgs.msg import PoseStamped
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Float64

from video_planner.camera import CameraModel
from video_planner.errors import VideoPlannerError
from video_planner.ros import conversions
from video_planner.ros.sensor_history import (MATCH_TOLERANCE_S, FrameArrivals, append_thinned, closest,
                                              new_history)

# Largest image we accept (pixels); anything bigger is a driver bug or an attack, not a camera frame.
MAX_IMAGE_PIXELS = 4096 * 4096
# A message stamped further ahead of this node's clock than this is refused: clocks of two machines
# synchronised by NTP/PTP agree far better, and a message from the future that was accepted would make
# every real message after it look out of order until the clock caught up with it.
FUTURE_TOLERANCE_S = 0.5
# How long to wait for depth / robot state that has not arrived yet for a frame.
STATE_WAIT_S = 1.0
# How long the planner tries newer frames when the latest has no depth image: a depth subscription matched
# after the colour one (a node just started, or restarted, on a loaded machine) has none for the first frames.
DEPTH_CATCH_UP_S = 3.0
CAMERA_POSE_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)


class MissingDepth(VideoPlannerError):
    """No depth image was taken with the frame."""


@dataclass
class InputTopics:
    image: str = 'camera/image_raw'
    depth: str = 'camera/depth/image_raw'        # '' = no depth camera
    camera_info: str = 'camera/camera_info'
    camera_pose: str = 'camera/pose'             # PoseStamped of the optical frame in the base; '' = parameter
    joint_states: str = 'joint_states'
    ee_pose: str = 'ee_pose'                     # '' = forward kinematics from joint_states
    gripper_command: str = 'gripper_command'     # Float64 0 open .. 1 closed, the command in force; '' = open


@dataclass
class Snapshot:
    """Everything a plan is conditioned on, taken together."""

    stamp_s: float
    frame_id: str
    rgb: np.ndarray
    depth_m: Optional[np.ndarray]
    camera: CameraModel
    T_base_ee: np.ndarray
    q_current: Optional[np.ndarray]
    joint_names: tuple[str, ...]
    gripper: float = 0.0   # the gripper command in force at the frame (0 open .. 1 closed)


class ProblemLog:
    """Logs each kind of input problem once, then at most once per ``period_s`` with a count."""

    def __init__(self, logger, period_s: float = 10.0):
        self._logger = logger
        self._period_s = period_s
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()

    @staticmethod
    def kind_of(where: str, reason: str) -> str:
        # Numbers (sizes, stamps) vary within one kind of problem; the words do not.
        return where + ': ' + re.sub(r'-?\d+(\.\d+)?(e-?\d+)?', '#', reason)[:120]

    def report(self, where: str, reason: str) -> None:
        kind = self.kind_of(where, reason)
        now = time.monotonic()
        with self._lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            last = self._last.get(kind)
            if last is not None and now - last < self._period_s:
                self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
                return
            suppressed = self._suppressed.pop(kind, 0)
            self._last[kind] = now
        more = f' (and {suppressed} more like it in the last {self._period_s:.0f} s)' if suppressed else ''
        self._logger.warning(f'dropped a message on {where}: {reason}{more}')


def _stamp_s(header) -> float:
    return float(header.stamp.sec) + 1e-9 * float(header.stamp.nanosec)


class GripperCommands:
    """When the gripper command changed, so that a plan conditioned on a frame knows whether the gripper was
    closed then (holding what it grasped): the planner draws the gripper as it is, and the grasp, touch and
    release rules read it, as the in-process benchmark does. Open (0) before any command."""

    def __init__(self, keep: int = 64):
        self._changes: deque = deque(maxlen=keep)   # (arrival_s, value), only where the value changed

    def add(self, t_s: float, value: float) -> None:
        if not self._changes or abs(self._changes[-1][1] - value) > 1e-3:
            self._changes.append((t_s, value))

    def at(self, t_s: float) -> float:
        """The command in force at ``t_s`` (the last one received by then; commands of the same instant count)."""
        value = 0.0
        for when, command in self._changes:
            if when > t_s + MATCH_TOLERANCE_S:
                break
            value = command
        return value


class RobotInputs:
    """Subscribes the camera and robot-state topics of one node and keeps what it needs."""

    def __init__(self, node, topics: InputTopics, T_base_camera_default: np.ndarray,
                 max_age_s: float = 5.0, forward_kinematics: Optional[Callable] = None,
                 joint_names: tuple[str, ...] = (), keep_latest_frame: bool = True,
                 camera_pose_lookup: Optional[Callable[[str], Optional[np.ndarray]]] = None):
        """camera_pose_lookup(frame_id) -> T_base_camera or None (e.g. tf); None falls back to the topic/parameter."""
        self._node = node
        self._camera_pose_lookup = camera_pose_lookup
        self.topics = topics
        self.max_age_s = max_age_s
        self.problems = ProblemLog(node.get_logger())
        self._fk = forward_kinematics
        self._joint_names = tuple(joint_names)
        self._T_base_camera = np.asarray(T_base_camera_default, dtype=np.float64)
        self._lock = threading.Lock()
        self._rgb: Optional[tuple[float, str, np.ndarray]] = None
        self._rgb_arrivals = FrameArrivals()
        self.max_staleness_s = 0.0  # 0 = derived from the camera's own rate (FrameArrivals)
        self._info: Optional[CameraInfo] = None
        self._depth = new_history()   # (stamp_s, depth_m)
        self._joints = new_history()  # (stamp_s, names, q)
        self._ee = new_history()      # (stamp_s, T_base_ee)
        self._gripper = GripperCommands()
        self.frames_received = 0
        sensor = qos_profile_sensor_data

        def sub(msg_type, topic, callback, qos=sensor):
            # One mutually exclusive group per topic: a topic's messages are taken in arrival order (a shared
            # reentrant group let two depth images race on a multi-threaded executor and dropped the older as
            # out of order), while different topics, and the action server, still run in parallel.
            node.create_subscription(msg_type, topic, callback, qos, callback_group=MutuallyExclusiveCallbackGroup())

        if keep_latest_frame:
            sub(Image, topics.image, self._on_image)
        if topics.depth:
            sub(Image, topics.depth, self._on_depth)
        sub(CameraInfo, topics.camera_info, self._on_info)
        if topics.camera_pose:
            sub(PoseStamped, topics.camera_pose, self._on_camera_pose, CAMERA_POSE_QOS)
        sub(JointState, topics.joint_states, self._on_joints)
        if topics.ee_pose:
            sub(PoseStamped, topics.ee_pose, self._on_ee)
        if topics.gripper_command:
            sub(Float64, topics.gripper_command, self._on_gripper)

    # ------------------------------------------------------------------ callbacks
    def _now_s(self) -> float:
        return self._node.get_clock().now().nanoseconds * 1e-9

    def _not_in_future(self, header) -> float:
        stamp = _stamp_s(header)
        ahead = stamp - self._now_s()
        if ahead > FUTURE_TOLERANCE_S:
            raise VideoPlannerError(f'header.stamp is {ahead:.1f} s in the future (more than {FUTURE_TOLERANCE_S} s '
                                    'ahead of this node\'s clock); are the clocks synchronised?')
        return stamp

    def _check_stamp(self, header, latest_s: Optional[float]) -> float:
        stamp = self._not_in_future(header)
        if self.max_age_s > 0:
            age = self._now_s() - stamp
            if age > self.max_age_s:
                raise VideoPlannerError(f'header.stamp is {age:.1f} s old (max_frame_age_s={self.max_age_s:g})')
        if latest_s is not None and stamp < latest_s:
            raise VideoPlannerError('header.stamp is older than the last accepted message (out of order)')
        return stamp

    def _guarded(self, topic: str, fn, msg) -> None:
        try:
            fn(msg)
        except VideoPlannerError as exc:
            self.problems.report(topic, str(exc))
        except (ValueError, TypeError, IndexError, OverflowError) as exc:  # a field no validator foresaw
            self.problems.report(topic, f'{type(exc).__name__}: {exc}')

    def _expected_size(self) -> Optional[tuple[int, int]]:
        info = self._info
        return (int(info.width), int(info.height)) if info is not None else None

    def _check_pixels(self, msg) -> None:
        conversions.validate_image(msg)  # encoding, sizes, step and data length agree
        if int(msg.width) * int(msg.height) > MAX_IMAGE_PIXELS:
            raise VideoPlannerError(f'Image is {msg.width}x{msg.height}, larger than the {MAX_IMAGE_PIXELS} '
                                    'pixels accepted')
        size = self._expected_size()
        if size is not None and (int(msg.width), int(msg.height)) != size:
            raise VideoPlannerError(f'Image is {msg.width}x{msg.height} but CameraInfo says {size[0]}x{size[1]}')

    def _on_image(self, msg: Image) -> None:
        self._guarded(self.topics.image, self._take_image, msg)

    def _take_image(self, msg: Image) -> None:
        self._check_pixels(msg)
        rgb = conversions.image_to_rgb(msg)
        with self._lock:
            stamp = self._check_stamp(msg.header, self._rgb[0] if self._rgb else None)
            self._rgb = (stamp, msg.header.frame_id, rgb)
            self._rgb_arrivals.arrived(time.monotonic())
            self.frames_received += 1

    def _on_depth(self, msg: Image) -> None:
        self._guarded(self.topics.depth, self._take_depth, msg)

    def _take_depth(self, msg: Image) -> None:
        self._check_pixels(msg)
        depth_m = conversions.image_to_depth_m(msg)
        with self._lock:
            stamp = self._check_stamp(msg.header, self._depth[-1][0] if self._depth else None)
            append_thinned(self._depth, (stamp, depth_m))

    def _on_info(self, msg: CameraInfo) -> None:
        self._guarded(self.topics.camera_info, self._take_info, msg)

    def _take_info(self, msg: CameraInfo) -> None:
        CameraModel.from_camera_info_fields(msg.k, int(msg.width), int(msg.height))  # validates
        with self._lock:
            self._info = msg

    def _on_camera_pose(self, msg: PoseStamped) -> None:
        self._guarded(self.topics.camera_pose, self._take_camera_pose, msg)

    def _take_camera_pose(self, msg: PoseStamped) -> None:
        T = conversions.pose_to_matrix(msg.pose)
        with self._lock:
            self._T_base_camera = T

    def _on_joints(self, msg: JointState) -> None:
        self._guarded(self.topics.joint_states, self._take_joints, msg)

    def _take_joints(self, msg: JointState) -> None:
        names = tuple(msg.name)
        q = np.asarray(msg.position, dtype=np.float64)
        if len(names) != len(q) or not np.all(np.isfinite(q)):
            raise VideoPlannerError(f'JointState has {len(names)} names, {len(q)} finite-checked positions')
        stamp = self._not_in_future(msg.header)
        with self._lock:
            append_thinned(self._joints, (stamp, names, q))

    def _on_ee(self, msg: PoseStamped) -> None:
        self._guarded(self.topics.ee_pose, self._take_ee, msg)

    def _take_ee(self, msg: PoseStamped) -> None:
        T = conversions.pose_to_matrix(msg.pose)
        stamp = self._not_in_future(msg.header)
        with self._lock:
            append_thinned(self._ee, (stamp, T))

    def _on_gripper(self, msg: Float64) -> None:
        self._guarded(self.topics.gripper_command, self._take_gripper, msg)

    def _take_gripper(self, msg: Float64) -> None:
        if not np.isfinite(msg.data):
            raise VideoPlannerError(f'gripper command {msg.data} is not finite')
        now = self._now_s()  # Float64 has no stamp: when it arrived
        with self._lock:
            self._gripper.add(now, float(np.clip(msg.data, 0.0, 1.0)))

    # ------------------------------------------------------------------ queries
    def wait_for_frame(self, timeout_s: float, cancelled: Callable[[], bool] = lambda: False) -> bool:
        deadline = time.monotonic() + timeout_s
        while self._rgb is None and time.monotonic() < deadline and not cancelled():
            time.sleep(0.02)
        return self._rgb is not None

    def wait_for_camera(self, timeout_s: float) -> None:
        """Give a just-started node time to hear CameraInfo (and depth) before it judges a request."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and (self._info is None or (self.topics.depth and not self._depth)):
            time.sleep(0.02)

    def snapshot(self) -> Snapshot:
        """The latest camera frame and the depth/state taken with it; raises with the reason if not ready."""
        with self._lock:
            latest = self._rgb
        if latest is None:
            raise VideoPlannerError(f'no camera frame received on {self._node.resolve_topic_name(self.topics.image)} '
                                    'yet; is the camera (or sim_robot_node) running?')
        self._refuse_stale_frame()
        deadline = time.monotonic() + DEPTH_CATCH_UP_S
        while True:
            with self._lock:
                stamp, frame_id, rgb = self._rgb
            if self.max_age_s > 0 and self._now_s() - stamp > self.max_age_s:
                raise VideoPlannerError(f'the latest camera frame is {self._now_s() - stamp:.1f} s old '
                                        f'(max_frame_age_s={self.max_age_s:g}); has the camera stopped?')
            try:
                return self.inputs_at(stamp, frame_id, rgb)
            except MissingDepth:
                if not self._newer_frame(stamp, deadline):
                    raise

    def _newer_frame(self, stamp: float, deadline: float) -> bool:
        """Wait until `deadline` for a colour frame stamped after `stamp`; whether one came."""
        while time.monotonic() < deadline:
            with self._lock:
                if self._rgb[0] > stamp:
                    return True
            time.sleep(0.02)
        return False

    def _refuse_stale_frame(self) -> None:
        """A frame from a camera that has stopped is not planned on: wait one staleness bound for a newer one."""
        bound_s = self._rgb_arrivals.staleness_bound_s(self.max_staleness_s)
        deadline = time.monotonic() + bound_s
        while (reason := self._rgb_arrivals.stale_reason(time.monotonic(), self.max_staleness_s)) is not None:
            if time.monotonic() > deadline:
                raise VideoPlannerError(reason)
            time.sleep(0.02)

    def inputs_at(self, stamp: float, frame_id: str, rgb: Optional[np.ndarray]) -> Snapshot:
        """The depth, camera and robot state taken closest to ``stamp``, around the given frame.

        With ``rgb`` None (the inverse-dynamics node: frames come in the plan) the camera and depth
        stay at the camera's own resolution.
        """
        deadline = time.monotonic() + STATE_WAIT_S
        while True:
            with self._lock:
                info, T_base_camera = self._info, self._T_base_camera
                depth = closest(self._depth, stamp)
                joints = closest(self._joints, stamp)
                ee = closest(self._ee, stamp)
            complete = (ee is not None or joints is not None) and (depth is not None or not self.topics.depth)
            if complete or time.monotonic() > deadline:
                break
            time.sleep(0.02)  # a loaded machine can deliver the state after the frame it goes with
        if info is None:
            raise VideoPlannerError(f'no CameraInfo received on {self.topics.camera_info} yet')
        if self._camera_pose_lookup is not None:
            from_tf = self._camera_pose_lookup(frame_id or info.header.frame_id)
            T_base_camera = T_base_camera if from_tf is None else from_tf
        camera = CameraModel.from_camera_info_fields(info.k, int(info.width), int(info.height),
                                                     T_base_camera=T_base_camera,
                                                     frame_id=info.header.frame_id or 'camera_optical_frame')
        if rgb is not None and (rgb.shape[1], rgb.shape[0]) != (camera.width, camera.height):
            camera = camera.resized(rgb.shape[1], rgb.shape[0])
        depth_m = None
        if self.topics.depth:
            if depth is None:
                raise MissingDepth(f'no depth image within {MATCH_TOLERANCE_S} s of the frame on '
                                   f'{self.topics.depth}; set depth_topic to "" if there is no depth camera')
            depth_m = depth[1]
            if rgb is not None and depth_m.shape != rgb.shape[:2]:
                raise VideoPlannerError(f'depth is {depth_m.shape[1]}x{depth_m.shape[0]} but the colour frame '
                                        f'is {rgb.shape[1]}x{rgb.shape[0]}')
        q, names = None, ()
        if joints is not None:
            names, q = joints[1], joints[2]
            if self._joint_names:
                q, names = _ordered(names, q, self._joint_names), self._joint_names
        if ee is not None:
            T_base_ee = ee[1]
        elif q is not None and self._fk is not None:
            T_base_ee = self._fk(q)
        else:
            raise VideoPlannerError(f'no end-effector pose within {MATCH_TOLERANCE_S} s of the frame: need '
                                    f'{self.topics.ee_pose or "ee_pose"} (PoseStamped) or joint_states + a URDF')
        with self._lock:
            gripper = self._gripper.at(stamp)
        return Snapshot(stamp_s=stamp, frame_id=frame_id, rgb=rgb, depth_m=depth_m, camera=camera,
                        T_base_ee=np.asarray(T_base_ee, dtype=np.float64), q_current=q, joint_names=names,
                        gripper=gripper)

    def latest_state(self) -> tuple[Optional[np.ndarray], Optional[np.ndarray]]:
        """The newest measured (T_base_ee, q in the arm's joint order); either is None when not heard.
        This is the pose a stopped arm is told to hold."""
        with self._lock:
            joints = self._joints[-1] if self._joints else None
            ee = self._ee[-1] if self._ee else None
        q = None
        if joints is not None:
            q = joints[2]
            if self._joint_names:
                try:
                    q = _ordered(joints[1], q, self._joint_names)
                except VideoPlannerError:
                    q = None
        T_base_ee = ee[1] if ee is not None else (self._fk(q) if q is not None and self._fk else None)
        return T_base_ee, q


def _ordered(names: tuple[str, ...], q: np.ndarray, wanted: tuple[str, ...]) -> np.ndarray:
    from video_planner.kinematics.joint_states import match_joint_states
    return match_joint_states(wanted, names, q)
