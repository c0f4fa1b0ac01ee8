"""Quaternion order and pose conversions: (w, x, y, z) in the core, (x, y, z, w) for ROS messages."""
import numpy as np
import pinocchio as pin
import pytest

from video_planner.errors import KinematicsError
from video_planner.kinematics.rotations import (
    check_pose,
    interpolate_pose,
    matrix_to_quat_wxyz,
    pose_from_position_quat_wxyz,
    pose_from_position_quat_xyzw,
    pose_to_position_quat_xyzw,
    quat_wxyz_to_matrix,
    quat_wxyz_to_xyzw,
    quat_xyzw_to_wxyz,
    rotation_angle,
)


def test_quarter_turn_about_z_in_both_orders():
    R = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    h = np.sqrt(0.5)
    assert np.allclose(matrix_to_quat_wxyz(R), [h, 0, 0, h])
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = [0.1, 0.2, 0.3]
    position, quat_xyzw = pose_to_position_quat_xyzw(T)
    assert np.allclose(quat_xyzw, [0, 0, h, h]) and np.allclose(position, [0.1, 0.2, 0.3])
    assert np.allclose(pose_from_position_quat_xyzw(position, quat_xyzw), T)


def test_round_trips_on_random_rotations():
    rng = np.random.default_rng(0)
    for _ in range(20):
        R = pin.exp3(rng.normal(size=3))
        q = matrix_to_quat_wxyz(R)
        assert q[0] >= 0 and np.isclose(np.linalg.norm(q), 1.0)
        assert np.allclose(quat_wxyz_to_matrix(q), R)
        assert np.allclose(quat_xyzw_to_wxyz(quat_wxyz_to_xyzw(q)), q)
        T = pose_from_position_quat_wxyz(rng.normal(size=3), q)
        p, q_xyzw = pose_to_position_quat_xyzw(T)
        assert np.allclose(pose_from_position_quat_xyzw(p, q_xyzw), T)
        # The negated quaternion is the same rotation.
        assert np.allclose(pose_from_position_quat_xyzw(p, -q_xyzw), T)


def test_interpolate_pose_is_geodesic():
    T_a = pose_from_position_quat_wxyz([0, 0, 0], [1, 0, 0, 0])
    T_b = pose_from_position_quat_wxyz([1, 2, 3], matrix_to_quat_wxyz(pin.exp3(np.array([0, 0, 1.2]))))
    mid = interpolate_pose(T_a, T_b, 0.5)
    assert np.allclose(mid[:3, 3], [0.5, 1.0, 1.5])
    assert rotation_angle(T_a[:3, :3], mid[:3, :3]) == pytest.approx(0.6)
    assert np.allclose(interpolate_pose(T_a, T_b, 1.0), T_b)


def test_bad_quaternions_and_poses_are_rejected():
    with pytest.raises(KinematicsError, match='quaternion'):
        quat_wxyz_to_matrix([0, 0, 0, 0])
    with pytest.raises(KinematicsError, match='position'):
        pose_from_position_quat_xyzw([0, 0], [0, 0, 0, 1])
    with pytest.raises(KinematicsError, match='not a rotation'):
        check_pose(np.diag([2.0, 1.0, 1.0, 1.0]))
    with pytest.raises(KinematicsError, match='last row'):
        bad = np.eye(4)
        bad[3, 0] = 1.0
        check_pose(bad)
