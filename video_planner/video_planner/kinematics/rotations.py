"""Rotation and pose conversions, stated once.

Quaternion order: the core uses transforms3d's (w, x, y, z); ROS messages use (x, y, z, w). Only the
``*_xyzw`` helpers below speak ROS order -- the ROS layer calls them at message conversion and
nowhere else. Poses are 4x4 float64 homogeneous matrices ``T_<to>_<from>``.
"""
from __future__ import annotations

import numpy as np
import pinocchio as pin
import transforms3d.quaternions as tq

from video_planner.errors import KinematicsError


def quat_wxyz_to_xyzw(q_wxyz) -> np.ndarray:
    w, x, y, z = np.asarray(q_wxyz, dtype=float)
    return np.array([x, y, z, w])


def quat_xyzw_to_wxyz(q_xyzw) -> np.ndarray:
    x, y, z, w = np.asarray(q_xyzw, dtype=float)
    return np.array([w, x, y, z])


def matrix_to_quat_wxyz(R: np.ndarray) -> np.ndarray:
    """Unit quaternion (w, x, y, z) with w >= 0 (one of the two signs, chosen for determinism)."""
    q = tq.mat2quat(np.asarray(R, dtype=float))
    return -q if q[0] < 0 else q


def quat_wxyz_to_matrix(q_wxyz) -> np.ndarray:
    q = np.asarray(q_wxyz, dtype=float)
    norm = np.linalg.norm(q)
    if q.shape != (4,) or not np.isfinite(norm) or norm < 1e-9:
        raise KinematicsError(f'quaternion: expected 4 finite numbers with non-zero norm, got {q}')
    return tq.quat2mat(q / norm)


def pose_from_position_quat_wxyz(position, quat_wxyz) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = quat_wxyz_to_matrix(quat_wxyz)
    T[:3, 3] = _position(position)
    return T


def pose_from_position_quat_xyzw(position, quat_xyzw) -> np.ndarray:
    """4x4 pose from a ROS-ordered (x, y, z, w) quaternion and a position."""
    return pose_from_position_quat_wxyz(position, quat_xyzw_to_wxyz(quat_xyzw))


def pose_to_position_quat_xyzw(T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position (3,), quaternion (x, y, z, w)) of a 4x4 pose, for ROS messages."""
    T = check_pose(T)
    return T[:3, 3].copy(), quat_wxyz_to_xyzw(matrix_to_quat_wxyz(T[:3, :3]))


def check_pose(T, name: str = 'pose') -> np.ndarray:
    """``T`` as a 4x4 float64 rigid transform, or a KinematicsError saying what is wrong with it."""
    arr = np.asarray(T, dtype=float)
    if arr.shape != (4, 4):
        raise KinematicsError(f'{name}: expected a 4x4 homogeneous matrix, got shape {arr.shape}')
    if not np.all(np.isfinite(arr)):
        raise KinematicsError(f'{name}: contains NaN or inf')
    R = arr[:3, :3]
    if not np.allclose(R.T @ R, np.eye(3), atol=1e-5) or np.linalg.det(R) < 0.0:
        raise KinematicsError(f'{name}: upper-left 3x3 block is not a rotation matrix')
    if not np.allclose(arr[3], [0.0, 0.0, 0.0, 1.0]):
        raise KinematicsError(f'{name}: last row must be [0, 0, 0, 1], got {arr[3]}')
    return arr


def rotation_angle(R_a: np.ndarray, R_b: np.ndarray) -> float:
    """Angle (rad) of the rotation taking R_a to R_b."""
    return float(np.linalg.norm(pin.log3(np.asarray(R_a).T @ np.asarray(R_b))))


def interpolate_pose(T_a: np.ndarray, T_b: np.ndarray, s: float) -> np.ndarray:
    """Pose a fraction ``s`` of the way from T_a to T_b: linear in position, geodesic in rotation."""
    T = np.eye(4)
    T[:3, 3] = (1.0 - s) * T_a[:3, 3] + s * T_b[:3, 3]
    T[:3, :3] = T_a[:3, :3] @ pin.exp3(s * pin.log3(T_a[:3, :3].T @ T_b[:3, :3]))
    return T


def _position(position) -> np.ndarray:
    p = np.asarray(position, dtype=float)
    if p.shape != (3,) or not np.all(np.isfinite(p)):
        raise KinematicsError(f'position: expected 3 finite numbers, got {p}')
    return p
