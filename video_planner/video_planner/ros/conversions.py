"""ROS messages <-> the core's numpy / dataclass types. Pure functions; no node, no executor.

Conventions at this boundary (docs/ARCHITECTURE.md):
- geometry_msgs quaternions are in ROS order (x, y, z, w); the core uses 4x4 matrices, and
  transforms3d's (w, x, y, z) order where it needs a quaternion. The reordering happens here only,
  through kinematics.rotations' ``*_xyzw`` helpers.
- Images: rgb8 HxWx3 uint8; depth float32 metres with NaN where unknown (16UC1 is millimetres, REP 118).
- Poses are ``T_<to>_<from>`` 4x4 float64 matrices; a Path's poses are ``T_base_ee`` in ``frame_id``.
"""
from __future__ import annotations

import array
from dataclasses import dataclass

import cv2
import numpy as np
from builtin_interfaces.msg import Duration, Time
from geometry_msgs.msg import Point, Pose, PoseStamped, Quaternion, Transform, Vector3
from nav_msgs.msg import Path
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import ColorRGBA, Header
from trajectory_msgs.msg import JointTrajectory as JointTrajectoryMsg
from trajectory_msgs.msg import JointTrajectoryPoint
from video_planner_interfaces.msg import VideoPlan
from visualization_msgs.msg import Marker, MarkerArray

from video_planner.embodiment.canonical_view import VIEWS
from video_planner.errors import ImageConversionError, VideoPlannerError
from video_planner.kinematics.rotations import pose_from_position_quat_xyzw, pose_to_position_quat_xyzw
from video_planner.data.image_encoding import (  # noqa: F401  (re-exported: the one place nodes import from)
    COLOUR_ENCODINGS, DEPTH_ENCODINGS, PIXEL_FORMATS, any_image_to_rgb, compressed_image_to_rgb, encode_depth,
    encode_rgb, image_to_array, image_to_depth_m, image_to_rgb, validate_image)

NS_PER_S = 1_000_000_000
# sensor_msgs/CompressedImage.format as image_transport's compressed plugin writes it for rgb8 PNG.
PNG_FORMAT = 'rgb8; png compressed bgr8'

# ----------------------------------------------------------------------------------- time


def to_time_msg(stamp: Time | int | float | None) -> Time:
    """A builtin_interfaces/Time from a Time, integer nanoseconds, float seconds or None (zero)."""
    if stamp is None:
        return Time()
    if isinstance(stamp, Time):
        return stamp
    if hasattr(stamp, 'to_msg'):  # rclpy.time.Time
        return stamp.to_msg()
    ns = int(stamp) if isinstance(stamp, (int, np.integer)) else int(round(float(stamp) * NS_PER_S))
    return Time(sec=ns // NS_PER_S, nanosec=ns % NS_PER_S)


def time_to_ns(stamp: Time) -> int:
    return int(stamp.sec) * NS_PER_S + int(stamp.nanosec)


def duration_from_s(seconds: float) -> Duration:
    ns = int(round(float(seconds) * NS_PER_S))
    return Duration(sec=ns // NS_PER_S, nanosec=ns % NS_PER_S)


def duration_to_s(duration: Duration) -> float:
    return int(duration.sec) + int(duration.nanosec) / NS_PER_S


def make_header(stamp=None, frame_id: str = '') -> Header:
    return Header(stamp=to_time_msg(stamp), frame_id=frame_id)

# ----------------------------------------------------------------------------------- images


def _byte_array(raw: memoryview) -> array.array:
    """The uint8[] field value rclpy accepts without a per-element check: one copy of ``raw``."""
    data = array.array('B')
    data.frombytes(raw)
    return data


def rgb_to_image(rgb: np.ndarray, stamp=None, frame_id: str = '') -> Image:
    """HxWx3 uint8 RGB -> sensor_msgs/Image (rgb8, little-endian, no row padding)."""
    height, width, step, data = encode_rgb(rgb)
    return Image(header=make_header(stamp, frame_id), height=height, width=width, encoding='rgb8',
                 is_bigendian=0, step=step, data=_byte_array(data))


def rgb_to_png(rgb: np.ndarray, stamp=None, frame_id: str = '') -> CompressedImage:
    """HxWx3 uint8 RGB -> sensor_msgs/CompressedImage, lossless PNG (image_transport's format string)."""
    encode_rgb(rgb)  # the same shape checks as an Image
    ok, png = cv2.imencode('.png', np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise ImageConversionError(f'PNG encoding failed for an image of shape {rgb.shape}')
    return CompressedImage(header=make_header(stamp, frame_id), format=PNG_FORMAT, data=_byte_array(png.data))


def depth_to_image(depth_m: np.ndarray, stamp=None, frame_id: str = '',
                   encoding: str = '32FC1') -> Image:
    """HxW metres -> sensor_msgs/Image, 32FC1 metres (NaN kept) or 16UC1 millimetres (unknown = 0)."""
    height, width, step, data = encode_depth(depth_m, encoding)
    return Image(header=make_header(stamp, frame_id), height=height, width=width, encoding=encoding,
                 is_bigendian=0, step=step, data=_byte_array(data))

# ----------------------------------------------------------------------------------- camera


def camera_info_to_model(msg: CameraInfo, T_base_camera: np.ndarray | None = None):
    """CameraInfo -> dynamics.CameraModel (intrinsics from ``k``; rectified images assumed).

    ``T_base_camera`` comes from a parameter or tf: CameraInfo does not carry the extrinsics.
    """
    from video_planner.camera import CameraModel

    k = np.asarray(msg.k, dtype=np.float64)
    if k.shape != (9,) or not np.isfinite(k).all() or k[0] <= 0 or k[4] <= 0:
        raise ImageConversionError(
            f'CameraInfo.k must hold 9 finite values with fx, fy > 0 (is the camera calibrated?), '
            f'got {k.tolist()}')
    if int(msg.width) <= 0 or int(msg.height) <= 0:
        raise ImageConversionError(
            f'CameraInfo.width/height must be positive, got {msg.width}x{msg.height}')
    return CameraModel.from_camera_info_fields(
        k, int(msg.width), int(msg.height), T_base_camera=T_base_camera,
        frame_id=msg.header.frame_id or 'camera_optical_frame')


def camera_model_to_info(camera, stamp=None, frame_id: str | None = None) -> CameraInfo:
    """dynamics.CameraModel -> CameraInfo for an ideal (undistorted) pinhole camera."""
    K = np.asarray(camera.K, dtype=np.float64)
    P = np.zeros((3, 4))
    P[:, :3] = K
    return CameraInfo(
        header=make_header(stamp, frame_id or camera.frame_id), width=int(camera.width),
        height=int(camera.height), distortion_model='plumb_bob', d=[0.0] * 5,
        k=K.reshape(-1).tolist(), r=np.eye(3).reshape(-1).tolist(), p=P.reshape(-1).tolist())

# ----------------------------------------------------------------------------------- poses


def _check_pose_matrix(T: np.ndarray, name: str = 'pose') -> np.ndarray:
    T = np.asarray(T, dtype=np.float64)
    if T.shape != (4, 4) or not np.isfinite(T).all():
        raise VideoPlannerError(f'{name}: expected a finite 4x4 homogeneous matrix, got shape {T.shape}')
    return T


def matrix_to_pose(T: np.ndarray) -> Pose:
    position, (x, y, z, w) = pose_to_position_quat_xyzw(_check_pose_matrix(T))
    return Pose(position=Point(x=float(position[0]), y=float(position[1]), z=float(position[2])),
                orientation=Quaternion(x=float(x), y=float(y), z=float(z), w=float(w)))


def pose_to_matrix(pose: Pose) -> np.ndarray:
    """geometry_msgs/Pose -> 4x4; a zero-norm quaternion raises (an unset orientation is 0,0,0,1)."""
    o, p = pose.orientation, pose.position
    return pose_from_position_quat_xyzw((p.x, p.y, p.z), (o.x, o.y, o.z, o.w))


def matrix_to_pose_stamped(T: np.ndarray, stamp=None, frame_id: str = '') -> PoseStamped:
    return PoseStamped(header=make_header(stamp, frame_id), pose=matrix_to_pose(T))


def pose_stamped_to_matrix(msg: PoseStamped) -> np.ndarray:
    return pose_to_matrix(msg.pose)


def matrix_to_transform(T: np.ndarray) -> Transform:
    pose = matrix_to_pose(T)
    p = pose.position
    return Transform(translation=Vector3(x=p.x, y=p.y, z=p.z), rotation=pose.orientation)


def transform_to_matrix(msg: Transform) -> np.ndarray:
    r, t = msg.rotation, msg.translation
    return pose_from_position_quat_xyzw((t.x, t.y, t.z), (r.x, r.y, r.z, r.w))


def poses_to_path(T_frame_poses: np.ndarray, stamp=None, frame_id: str = 'base_link',
                  period_s: float = 0.0) -> Path:
    """(N,4,4) poses in ``frame_id`` -> nav_msgs/Path; pose i is stamped stamp + i * period_s."""
    poses = np.asarray(T_frame_poses, dtype=np.float64)
    if poses.ndim != 3 or poses.shape[1:] != (4, 4):
        raise VideoPlannerError(f'path poses: expected an (N, 4, 4) array, got shape {poses.shape}')
    start_ns = time_to_ns(to_time_msg(stamp))
    msgs = [PoseStamped(header=make_header(start_ns + int(round(i * period_s * NS_PER_S)), frame_id),
                        pose=matrix_to_pose(_check_pose_matrix(T, f'path pose {i}')))
            for i, T in enumerate(poses)]
    return Path(header=make_header(start_ns, frame_id), poses=msgs)


def path_to_poses(msg: Path) -> np.ndarray:
    """nav_msgs/Path -> (N,4,4); (0,4,4) for an empty path."""
    if not msg.poses:
        return np.zeros((0, 4, 4))
    return np.stack([pose_to_matrix(p.pose) for p in msg.poses])

# ----------------------------------------------------------------------------------- joints


def joint_trajectory_to_msg(trajectory, stamp=None, frame_id: str = '') -> JointTrajectoryMsg:
    """kinematics.JointTrajectory (joint_names, positions (N,n), times_s (N,), velocities (N,n) | None)
    -> trajectory_msgs/JointTrajectory with time_from_start = times_s."""
    names = list(trajectory.joint_names)
    q = np.asarray(trajectory.positions, dtype=np.float64)
    t = np.asarray(trajectory.times_s, dtype=np.float64)
    qd = getattr(trajectory, 'velocities', None)
    qd = None if qd is None else np.asarray(qd, dtype=np.float64)
    if q.ndim != 2 or q.shape[1] != len(names) or t.shape != (q.shape[0],):
        raise VideoPlannerError(
            f'joint trajectory: positions {q.shape} must be (N, {len(names)}) and times_s {t.shape} (N,)')
    points = []
    for i in range(q.shape[0]):
        point = JointTrajectoryPoint(positions=array.array('d', q[i].tobytes()),
                                     time_from_start=duration_from_s(t[i]))
        if qd is not None:
            point.velocities = array.array('d', qd[i].tobytes())
        points.append(point)
    return JointTrajectoryMsg(header=make_header(stamp, frame_id), joint_names=names, points=points)


def joint_trajectory_from_msg(msg: JointTrajectoryMsg):
    """trajectory_msgs/JointTrajectory -> kinematics.JointTrajectory (None for an empty message)."""
    if not msg.points:
        return None
    from video_planner.kinematics.trajectory import JointTrajectory

    n = len(msg.joint_names)
    bad = [i for i, p in enumerate(msg.points) if len(p.positions) != n]
    if bad:
        raise VideoPlannerError(
            f'JointTrajectory.points[{bad[0]}].positions has {len(msg.points[bad[0]].positions)} '
            f'values, expected one per joint_names ({n})')
    q = np.array([np.asarray(p.positions, dtype=np.float64) for p in msg.points])
    t = np.array([duration_to_s(p.time_from_start) for p in msg.points])
    if all(len(p.velocities) == n for p in msg.points):
        qd = np.array([np.asarray(p.velocities, dtype=np.float64) for p in msg.points])
    elif len(t) >= 2 and np.all(np.diff(t) > 0):
        qd = np.gradient(q, t, axis=0)  # a sender may omit velocities; the core needs them
    else:
        qd = np.zeros_like(q)
    return JointTrajectory(joint_names=list(msg.joint_names), positions=q, times_s=t, velocities=qd)

# ----------------------------------------------------------------------------------- markers


def gripper_colour(gripper: float) -> ColorRGBA:
    """Green when open (0.0) blending to red when closed (1.0)."""
    g = float(np.clip(gripper, 0.0, 1.0))
    return ColorRGBA(r=g, g=1.0 - g, b=0.1, a=1.0)


def path_markers(T_base_ee: np.ndarray, gripper: np.ndarray | None = None, stamp=None,
                 frame_id: str = 'base_link', ns: str = 'video_plan', sphere_m: float = 0.015,
                 line_m: float = 0.004, playhead: int | None = None) -> MarkerArray:
    """An end-effector path for RViz: a line strip through the positions and one sphere per pose
    coloured by the gripper command (green open .. red closed). Marker ids 0 and 1 in ``ns`` are
    replaced on every call, so republishing updates the same markers. With ``playhead`` (a pose
    index), marker 2 is an arrow at that pose along the gripper's approach axis (its z), so the plan
    can be played along the path in time with its preview frames."""
    poses = np.asarray(T_base_ee, dtype=np.float64)
    if poses.ndim != 3 or poses.shape[1:] != (4, 4):
        raise VideoPlannerError(f'path markers: expected (N, 4, 4) poses, got shape {poses.shape}')
    n = poses.shape[0]
    grip = np.zeros(n) if gripper is None else np.asarray(gripper, dtype=np.float64).reshape(-1)
    if grip.shape[0] != n:
        raise VideoPlannerError(f'path markers: {grip.shape[0]} gripper values for {n} poses')
    header = make_header(stamp, frame_id)
    points = [Point(x=float(T[0, 3]), y=float(T[1, 3]), z=float(T[2, 3])) for T in poses]
    line = Marker(header=header, ns=ns, id=0, type=Marker.LINE_STRIP, action=Marker.ADD,
                  points=points, color=ColorRGBA(r=0.2, g=0.5, b=1.0, a=0.9))
    line.pose.orientation.w = 1.0
    line.scale.x = line_m
    spheres = Marker(header=header, ns=ns, id=1, type=Marker.SPHERE_LIST, action=Marker.ADD,
                     points=points, colors=[gripper_colour(g) for g in grip],
                     color=ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0))
    spheres.pose.orientation.w = 1.0
    spheres.scale.x = spheres.scale.y = spheres.scale.z = sphere_m
    markers = [line, spheres]
    if playhead is not None:
        k = int(np.clip(playhead, 0, n - 1))
        tip = poses[k, :3, 3] + 4 * sphere_m * poses[k, :3, 2]
        arrow = Marker(header=header, ns=ns, id=2, type=Marker.ARROW, action=Marker.ADD,
                       points=[points[k], Point(x=float(tip[0]), y=float(tip[1]), z=float(tip[2]))],
                       color=gripper_colour(grip[k]))
        arrow.pose.orientation.w = 1.0
        arrow.scale.x, arrow.scale.y, arrow.scale.z = line_m * 2, line_m * 4, line_m * 4  # shaft, head width, length
        markers.append(arrow)
    return MarkerArray(markers=markers)

# ----------------------------------------------------------------------------------- VideoPlan


@dataclass
class VideoPlanEnvelope:
    """A planner.Plan plus what the VideoPlan message carries around it."""

    plan: object                   # planner.Plan
    plan_id: str
    arm: str = ''
    execute: bool = False
    stamp_ns: int = 0              # stamp of the conditioning camera frame
    camera_frame_id: str = ''      # header.frame_id: the camera the plan was conditioned on
    base_frame_id: str = 'base_link'  # frame of ee_path / markers
    view: str = 'camera'           # what the frames show (video_planner.embodiment.VIEWS)


def video_plan_to_msg(envelope: VideoPlanEnvelope) -> VideoPlan:
    """planner.Plan (+ id, arm, frames) -> video_planner_interfaces/VideoPlan."""
    plan = envelope.plan
    frames = np.asarray(plan.frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise VideoPlannerError(f'plan.frames: expected (K+1, H, W, 3) uint8, got {frames.shape} {frames.dtype}')
    stamp = envelope.stamp_ns
    period = float(plan.frame_period_s)
    msg = VideoPlan(
        header=make_header(stamp, envelope.camera_frame_id), plan_id=envelope.plan_id,
        instruction=plan.instruction, execute=bool(envelope.execute), arm=envelope.arm,
        frames=[rgb_to_png(f, stamp + int(round(i * period * NS_PER_S)), envelope.camera_frame_id)
                for i, f in enumerate(frames)],
        frame_period_s=period, view=envelope.view,
        ee_path=poses_to_path(plan.T_base_ee, stamp, envelope.base_frame_id, period),
        gripper=array.array('f', np.asarray(plan.gripper, dtype=np.float32).tobytes()),
        confidence=array.array('f', np.asarray(plan.confidence, dtype=np.float32).tobytes()),
        score=float(plan.score), status=plan.status)
    if plan.joint_trajectory is not None:
        msg.joint_trajectory = joint_trajectory_to_msg(plan.joint_trajectory, stamp, envelope.base_frame_id)
    return msg


def video_plan_from_msg(msg: VideoPlan) -> VideoPlanEnvelope:
    """video_planner_interfaces/VideoPlan -> planner.Plan wrapped with the message's id/arm/frames."""
    from video_planner.planner.request import Plan

    if not msg.frames:
        raise VideoPlannerError(f"VideoPlan.frames is empty for plan '{msg.plan_id}'")
    frames = [compressed_image_to_rgb(f) for f in msg.frames]
    if len({f.shape for f in frames}) != 1:
        raise ImageConversionError(
            f"VideoPlan.frames of plan '{msg.plan_id}' differ in size: {sorted({f.shape for f in frames})}")
    plan = Plan(instruction=msg.instruction, frames=np.stack(frames),
                frame_period_s=float(msg.frame_period_s), T_base_ee=path_to_poses(msg.ee_path),
                gripper=np.asarray(msg.gripper, dtype=np.float32),
                confidence=np.asarray(msg.confidence, dtype=np.float32),
                joint_trajectory=joint_trajectory_from_msg(msg.joint_trajectory),
                score=float(msg.score), status=msg.status)
    view = msg.view or 'camera'
    if view not in VIEWS:
        raise VideoPlannerError(f"VideoPlan.view of plan '{msg.plan_id}': expected one of {list(VIEWS)} or '', "
                                f'got {msg.view!r}')
    return VideoPlanEnvelope(plan=plan, plan_id=msg.plan_id, arm=msg.arm, execute=bool(msg.execute),
                             stamp_ns=time_to_ns(msg.header.stamp), camera_frame_id=msg.header.frame_id,
                             base_frame_id=msg.ee_path.header.frame_id or 'base_link', view=view)
