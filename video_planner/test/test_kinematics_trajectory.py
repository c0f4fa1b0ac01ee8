"""Cartesian path -> joint trajectory on every registry arm: reaches the poses, within limits, no flips."""
import numpy as np
import pinocchio as pin
import pytest

from video_planner.errors import KinematicsError
from video_planner.kinematics import (
    BRANCH_FLIP,
    ArmKinematics,
    IkConfig,
    IkSolver,
    JointTrajectory,
    TrajectoryError,
    cartesian_to_joint_trajectory,
    time_parameterize,
)
from video_planner.sim.arms import ARMS

N_POSES = 12


@pytest.fixture(scope='module')
def arms():
    return {name: ArmKinematics.from_urdf(spec.urdf_path, spec.base_frame, spec.ee_frame)
            for name, spec in ARMS.items()}


def reachable_path(arm, q_start, seed, span_rad=0.25):
    """Poses along a straight joint-space move from q_start: reachable by construction, any DoF."""
    rng = np.random.default_rng(seed)
    q_end = arm.clip(q_start + rng.uniform(-span_rad, span_rad, arm.n))
    return [arm.fk(q_start + s * (q_end - q_start)) for s in np.linspace(0.0, 1.0, N_POSES + 1)[1:]]


def segment_velocities(traj):
    return np.diff(traj.positions, axis=0) / np.diff(traj.times_s)[:, None]


def point_accelerations(traj):
    """Discrete accelerations at each point, starting and ending at rest (see trajectory.py)."""
    u = segment_velocities(traj)
    n = u.shape[1]
    u = np.vstack((np.zeros(n), u, np.zeros(n)))
    dt = np.concatenate(([0.0], np.diff(traj.times_s), [0.0]))
    return np.diff(u, axis=0) / (0.5 * (dt[:-1] + dt[1:]))[:, None]


@pytest.mark.parametrize('name', list(ARMS))
def test_path_becomes_a_trajectory_within_limits_without_flips(arms, name):
    arm = arms[name]
    q_home = np.array(ARMS[name].home_q)
    poses = reachable_path(arm, q_home, seed=1)
    traj = cartesian_to_joint_trajectory(arm, poses, q_home)

    assert isinstance(traj, JointTrajectory)
    assert traj.joint_names == arm.joint_names
    assert traj.positions.shape == traj.velocities.shape == (N_POSES + 1, arm.n)
    assert traj.q is traj.positions and traj.t is traj.times_s
    assert np.allclose(traj.positions[0], q_home) and traj.times_s[0] == 0.0
    assert np.all(np.diff(traj.times_s) > 0)
    for q, T in zip(traj.positions[1:], poses):
        reached = arm.fk(q)
        assert np.linalg.norm(reached[:3, 3] - T[:3, 3]) <= 1e-4
        assert np.linalg.norm(pin.log3(reached[:3, :3].T @ T[:3, :3])) <= 1e-3
        assert arm.within_limits(q)
    assert np.all(np.abs(segment_velocities(traj)) <= arm.velocity_limits * (1 + 1e-9))
    assert np.all(np.abs(point_accelerations(traj)) <= arm.acceleration_limits * (1 + 1e-6))
    assert np.all(np.abs(traj.velocities) <= arm.velocity_limits * (1 + 1e-9))
    assert np.allclose(traj.velocities[[0, -1]], 0.0)
    # Continuity: each waypoint is a small joint move, the same size as the commanded one.
    assert np.abs(np.diff(traj.positions, axis=0)).max() < 0.15
    print(f'\n{name}: {len(traj.times_s)} points in {traj.duration_s:.2f} s, largest joint step '
          f'{np.abs(np.diff(traj.positions, axis=0)).max():.4f} rad')


def test_caller_limits_are_respected_and_slow_the_motion(arms):
    arm = arms['panda']
    q_home = np.array(ARMS['panda'].home_q)
    poses = reachable_path(arm, q_home, seed=2, span_rad=0.5)
    fast = cartesian_to_joint_trajectory(arm, poses, q_home)
    slow = cartesian_to_joint_trajectory(arm, poses, q_home, max_vel=0.2, max_acc=0.5)
    assert np.all(np.abs(segment_velocities(slow)) <= 0.2 * (1 + 1e-9))
    assert np.all(np.abs(point_accelerations(slow)) <= 0.5 * (1 + 1e-6))
    assert slow.duration_s > fast.duration_s
    # A long move must take at least distance / speed for its busiest joint.
    assert slow.duration_s >= np.abs(slow.positions[-1] - slow.positions[0]).max() / 0.2


def test_without_start_point_there_is_one_point_per_pose(arms):
    arm = arms['ur5']
    q_home = np.array(ARMS['ur5'].home_q)
    poses = reachable_path(arm, q_home, seed=3)
    traj = cartesian_to_joint_trajectory(arm, poses, q_home, include_start=False)
    assert traj.positions.shape == (N_POSES, arm.n) and traj.times_s[0] > 0
    assert np.allclose(traj.sample(traj.times_s[3]), traj.positions[3])


def test_unreachable_waypoint_fails_with_its_index_and_reason(arms):
    arm = arms['xarm6']
    q_home = np.array(ARMS['xarm6'].home_q)
    poses = reachable_path(arm, q_home, seed=4)
    far = poses[5].copy()
    far[:3, 3] = [3.0, 0.0, 0.3]
    poses[6] = far
    with pytest.raises(TrajectoryError, match=r'poses\[6\]') as info:
        cartesian_to_joint_trajectory(arm, poses, q_home)
    assert info.value.reason == 'unreachable' and info.value.waypoint_index == 6
    assert isinstance(info.value, KinematicsError)


def test_branch_flip_is_rejected_with_reason(arms):
    """A joint moving more than the threshold within one small Cartesian step is refused."""
    arm = arms['iiwa']
    q_home = np.array(ARMS['iiwa'].home_q)
    poses = reachable_path(arm, q_home, seed=5)
    with pytest.raises(TrajectoryError, match='switched branches') as info:
        cartesian_to_joint_trajectory(arm, poses, q_home, max_joint_jump_rad=1e-3)
    assert info.value.reason == BRANCH_FLIP and info.value.waypoint_index == 0


def test_tracking_stays_on_the_branch_it_starts_on(arms):
    """UR5: the same path tracked from two IK branches of its first pose stays on each branch."""
    arm = arms['ur5']
    q_a = np.array(ARMS['ur5'].home_q)
    poses = reachable_path(arm, q_a, seed=6)
    T0 = arm.fk(q_a)
    solver = IkSolver(arm, IkConfig(restarts=0))
    rng = np.random.default_rng(0)
    q_b = None
    for _ in range(200):  # another IK solution of the same start pose, far away in joint space
        result = solver.solve(T0, arm.random_configuration(rng))
        if result.success and np.abs(result.q - q_a).max() > 1.0:
            q_b = result.q
            break
    assert q_b is not None
    traj_a = cartesian_to_joint_trajectory(arm, poses, q_a)
    traj_b = cartesian_to_joint_trajectory(arm, poses, q_b)
    for traj in (traj_a, traj_b):
        assert np.abs(np.diff(traj.positions, axis=0)).max() < 0.15
    # Same Cartesian path, different joint paths: each run kept its own branch to the end.
    assert np.abs(traj_a.positions[-1] - traj_b.positions[-1]).max() > 0.5


def test_path_through_the_wrist_singularity_is_tracked_without_a_flip(arms):
    """UR5 wrist_2 crossing 0 (wrist_1 and wrist_3 axes aligned): the tracker stays on its branch."""
    arm = arms['ur5']
    q_a = np.array(ARMS['ur5'].home_q)
    q_a[4] = 0.3
    q_b = q_a + np.array([0.0, 0.0, 0.0, 0.5, -0.6, -0.5])
    poses = [arm.fk(q_a + s * (q_b - q_a)) for s in np.linspace(0.0, 1.0, 13)[1:]]
    traj = cartesian_to_joint_trajectory(arm, poses, q_a)
    assert np.abs(np.diff(traj.positions, axis=0)).max() < 0.2
    assert np.abs(traj.positions[-1] - q_b).max() < 0.05  # ended on the branch it started on


def test_time_parameterize_random_points_within_limits():
    rng = np.random.default_rng(0)
    positions = np.cumsum(rng.normal(scale=0.2, size=(30, 4)), axis=0)
    v_max, a_max = np.array([1.0, 0.5, 2.0, 1.0]), np.array([2.0, 1.0, 0.5, 3.0])
    times, velocities = time_parameterize(positions, v_max, a_max)
    traj = JointTrajectory(['a', 'b', 'c', 'd'], positions, times, velocities)
    assert np.all(np.abs(segment_velocities(traj)) <= v_max * (1 + 1e-9))
    assert np.all(np.abs(point_accelerations(traj)) <= a_max * (1 + 1e-6))
    # Not absurdly slow: some point uses at least half the allowed acceleration or velocity.
    usage = max((np.abs(point_accelerations(traj)) / a_max).max(), (np.abs(segment_velocities(traj)) / v_max).max())
    assert usage > 0.5


def test_bad_trajectory_input_is_rejected(arms):
    arm = arms['panda']
    q_home = np.array(ARMS['panda'].home_q)
    with pytest.raises(KinematicsError, match='poses: expected at least one'):
        cartesian_to_joint_trajectory(arm, [], q_home)
    with pytest.raises(KinematicsError, match=r'poses\[0\]'):
        cartesian_to_joint_trajectory(arm, [np.zeros((4, 4))], q_home)
    with pytest.raises(KinematicsError, match='max_vel'):
        cartesian_to_joint_trajectory(arm, [arm.fk(q_home)], q_home, max_vel=-1.0)
    with pytest.raises(KinematicsError, match='q_start'):
        cartesian_to_joint_trajectory(arm, [arm.fk(q_home)], q_home[:3])
    with pytest.raises(KinematicsError, match='JointTrajectory.positions'):
        JointTrajectory(['a'], np.zeros((2, 2)), np.zeros(2), np.zeros((2, 1)))


def test_a_five_dof_arm_follows_a_plan_whose_orientation_it_cannot_hold_exactly(arms):
    """A video plan's orientations are a few milliradians off top-down. Asked for exactly, a 5-DoF SO-100
    fails at the first waypoint (it cannot tilt its tool out of its own vertical plane); `IkConfig.for_arm`
    solves the position and meets the orientation within its tolerance."""
    spec, arm = ARMS['so100'], arms['so100']
    q_home = np.array(spec.home_q)
    T0 = arm.fk(q_home)
    tilt = pin.exp3(np.array([0.004, -0.003, 0.0]))  # 0.3 degrees about the tool's x and y axes
    poses = []
    for k in range(1, 7):
        T = T0.copy()
        T[:3, :3] = T0[:3, :3] @ tilt
        T[:3, 3] += [0.01 * k, 0.012 * k, -0.006 * k]
        poses.append(T)
    with pytest.raises(TrajectoryError, match='poses\\[0\\]: IK failed'):
        cartesian_to_joint_trajectory(arm, poses, q_home)
    traj = cartesian_to_joint_trajectory(arm, poses, q_home, ik_config=IkConfig.for_arm(arm.n))
    for q, T in zip(traj.positions[1:], poses):
        reached = arm.fk(q)
        assert np.linalg.norm(reached[:3, 3] - T[:3, 3]) < 2e-4
        assert np.linalg.norm(pin.log3(reached[:3, :3].T @ T[:3, :3])) < IkConfig.for_arm(5).rotation_tolerance_rad
    assert IkConfig.for_arm(6) == IkConfig() and IkConfig.for_arm(7, restarts=0).restarts == 0
    assert IkConfig.for_arm(4).position_only
