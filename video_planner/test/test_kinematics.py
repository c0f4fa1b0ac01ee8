"""URDF loading, forward kinematics and IK on every arm of the simulator's registry.

Run with -s to see each arm's round-trip success rate and errors.
"""
from pathlib import Path

import numpy as np
import pinocchio as pin
import pybullet_data
import pytest

from video_planner.errors import KinematicsError
from video_planner.kinematics import ArmKinematics, IkConfig, IkReason, IkSolver
from video_planner.sim.arms import ARMS

PYBULLET_DATA = pybullet_data.getDataPath()
ROUND_TRIP_SAMPLES = 25


@pytest.fixture(scope='module')
def arms():
    return {name: ArmKinematics.from_urdf(spec.urdf_path, spec.base_frame, spec.ee_frame)
            for name, spec in ARMS.items()}


def _erd(relative):
    from video_planner.sim.arm_files import resolve_urdf
    return resolve_urdf(f'example-robot-data:robots/{relative}', Path('.'))


def _position_error(T_a, T_b):
    return float(np.linalg.norm(T_a[:3, 3] - T_b[:3, 3]))


def _rotation_error(T_a, T_b):
    return float(np.linalg.norm(pin.log3(T_a[:3, :3].T @ T_b[:3, :3])))


def test_registry_covers_six_and_seven_dof_arms(arms):
    dofs = {name: arm.n for name, arm in arms.items()}
    assert len(dofs) >= 5
    assert 6 in dofs.values() and 7 in dofs.values(), dofs
    for name, arm in arms.items():
        spec = ARMS[name]
        assert arm.joint_names == list(spec.arm_joints), name
        assert arm.chain == arm.joint_names
        assert arm.lower.shape == arm.upper.shape == arm.velocity_limits.shape == (arm.n,)
        assert np.all(arm.lower < arm.upper) and np.all(arm.velocity_limits > 0)
        assert arm.within_limits(np.array(spec.home_q), tol=1e-3), name


@pytest.mark.parametrize('name', list(ARMS))
def test_fk_matches_pinocchio_frame_placement(arms, name):
    """fk() is the ee pose relative to the base frame, independent of where the base sits in the URDF."""
    arm = arms[name]
    q = np.array(ARMS[name].home_q)
    T_base_ee = arm.fk(q)
    T_world_base = arm.frame_pose(q, arm.base_frame)
    assert np.allclose(T_world_base, np.eye(4), atol=1e-12)  # base seen from itself
    assert np.allclose(T_base_ee[3], [0, 0, 0, 1])
    assert np.allclose(T_base_ee[:3, :3].T @ T_base_ee[:3, :3], np.eye(3), atol=1e-9)
    # Moving the first joint moves the ee: the chain really is actuated.
    q2 = q.copy()
    q2[0] += 0.1
    assert _position_error(arm.fk(q2), T_base_ee) > 1e-4 or _rotation_error(arm.fk(q2), T_base_ee) > 1e-4


@pytest.mark.parametrize('name', list(ARMS))
def test_ik_round_trip_from_a_different_start(arms, name):
    """Sample q in limits -> FK -> IK from another random q -> FK of the answer matches the target."""
    arm = arms[name]
    solver = IkSolver(arm, IkConfig())
    rng = np.random.default_rng(7)
    successes, pos_errors, rot_errors, iterations = 0, [], [], []
    for _ in range(ROUND_TRIP_SAMPLES):
        target = arm.fk(arm.random_configuration(rng, margin=0.02))
        result = solver.solve(target, arm.random_configuration(rng))
        assert arm.within_limits(result.q)
        if result.success:
            successes += 1
            reached = arm.fk(result.q)
            pos_errors.append(_position_error(reached, target))
            rot_errors.append(_rotation_error(reached, target))
            iterations.append(result.iterations)
            assert pos_errors[-1] <= solver.config.position_tolerance_m * 1.0001
            assert rot_errors[-1] <= solver.config.rotation_tolerance_rad * 1.0001
            assert abs(pos_errors[-1] - result.position_error_m) < 1e-9
    rate = successes / ROUND_TRIP_SAMPLES
    print(f'\n{name} ({arm.n}-DoF): round-trip success {rate:.0%}, max position error '
          f'{1e3 * max(pos_errors):.4f} mm, max rotation error {1e3 * max(rot_errors):.4f} mrad, '
          f'median iterations {np.median(iterations):.0f}')
    assert rate >= 0.9


@pytest.mark.parametrize('name', list(ARMS))
def test_warm_start_converges_in_few_iterations(arms, name):
    arm = arms[name]
    solver = IkSolver(arm, IkConfig(restarts=0))
    rng = np.random.default_rng(3)
    q_home = np.array(ARMS[name].home_q)
    for _ in range(5):
        q_target = arm.clip(q_home + rng.uniform(-0.03, 0.03, arm.n))
        result = solver.solve(arm.fk(q_target), q_home)
        assert result.success and result.reason == IkReason.CONVERGED
        assert result.iterations <= 6, result
        assert result.attempts == 1


@pytest.mark.parametrize('name', list(ARMS))
def test_target_beyond_reach_is_reported_unreachable(arms, name):
    arm = arms[name]
    target = arm.fk(arm.home)
    target[:3, 3] = arm.first_joint_origin_in_base() + np.array([3.0 * arm.reach_m, 0.0, 0.0])
    result = IkSolver(arm).solve(target, arm.home)
    assert not result.success
    assert result.reason == IkReason.UNREACHABLE == 'unreachable'
    assert result.iterations == 0
    assert result.position_error_m > arm.reach_m


def test_five_dof_arm_position_only_mode_reaches_any_orientation_request(arms):
    """SO-100 cannot take an arbitrary orientation; position-only IK still places the tool."""
    arm = arms['so100']
    rng = np.random.default_rng(11)
    full, position_only = IkSolver(arm, IkConfig(restarts=2)), IkSolver(arm, IkConfig(position_only=True))
    full_failures = 0
    for _ in range(5):
        target = arm.fk(arm.random_configuration(rng, margin=0.1))
        target[:3, :3] = pin.exp3(rng.normal(size=3))  # an orientation the arm almost surely lacks
        result = position_only.solve(target, arm.home)
        assert result.success, result
        assert _position_error(arm.fk(result.q), target) <= 1e-4
        full_failures += not full.solve(target, arm.home).success
    assert full_failures >= 4


def test_per_axis_weights_free_the_roll_about_the_tool_axis(arms):
    arm = arms['panda']
    rng = np.random.default_rng(5)
    solver = IkSolver(arm, IkConfig(weights=(1, 1, 1, 1, 1, 0)))
    for _ in range(5):
        target = arm.fk(arm.random_configuration(rng, margin=0.05))
        spun = target.copy()
        spun[:3, :3] = target[:3, :3] @ pin.exp3(np.array([0.0, 0.0, rng.uniform(0.5, 1.5)]))
        result = solver.solve(spun, arm.home)
        assert result.success, result
        reached = arm.fk(result.q)
        assert _position_error(reached, spun) <= 1e-4
        assert np.dot(reached[:3, 2], spun[:3, 2]) > np.cos(2e-3)  # tool axis matches
        assert result.rotation_error_rad > 1e-2  # the full error is reported, not the weighted one


def test_redundant_arm_keeps_posture_in_null_space(arms):
    """With a posture term the 7-DoF solution stays closer to the posture than without one."""
    arm = arms['panda']
    q_home = np.array(ARMS['panda'].home_q)
    target = arm.fk(arm.clip(q_home + 0.2))
    with_posture = IkSolver(arm, IkConfig(posture_gain=0.2, restarts=0, max_iterations=300))
    without = IkSolver(arm, IkConfig(posture_gain=0.0, restarts=0))
    q_start = arm.clip(q_home - 0.3)
    a = with_posture.solve(target, q_start, q_posture=q_home)
    b = without.solve(target, q_start)
    assert a.success and b.success
    assert np.linalg.norm(a.q - q_home) < np.linalg.norm(b.q - q_home)


# ---------------------------------------------------------------- failure reasons on tiny arms
ONE_JOINT_URDF = """<robot name="one_joint">
  <link name="base"/><link name="arm"/><link name="tip"/>
  <joint name="j1" type="revolute"><parent link="base"/><child link="arm"/>
    <axis xyz="0 0 1"/><limit lower="-0.5" upper="0.5" effort="1" velocity="1"/></joint>
  <joint name="tip_joint" type="fixed"><parent link="arm"/><child link="tip"/>
    <origin xyz="1 0 0"/></joint>
</robot>"""

PLANAR_URDF = """<robot name="planar">
  <link name="base"/><link name="l1"/><link name="l2"/><link name="tip"/>
  <joint name="j1" type="revolute"><parent link="base"/><child link="l1"/>
    <axis xyz="0 0 1"/><limit lower="-3" upper="3" effort="1" velocity="1"/></joint>
  <joint name="j2" type="revolute"><parent link="l1"/><child link="l2"/><origin xyz="0.5 0 0"/>
    <axis xyz="0 0 1"/><limit lower="-3" upper="3" effort="1" velocity="1"/></joint>
  <joint name="tip_joint" type="fixed"><parent link="l2"/><child link="tip"/><origin xyz="0.5 0 0"/></joint>
</robot>"""


def test_target_behind_a_joint_limit_is_reported_as_limit():
    arm = ArmKinematics.from_urdf(ONE_JOINT_URDF)
    assert arm.ee_frame == 'tip' and arm.joint_names == ['j1']
    target = np.eye(4)
    target[:3, 3] = [np.cos(1.0), np.sin(1.0), 0.0]  # on the circle, but at 1 rad > 0.5 rad limit
    result = IkSolver(arm, IkConfig(position_only=True, restarts=0)).solve(target, np.zeros(1))
    assert not result.success
    assert result.reason == IkReason.JOINT_LIMIT
    assert result.q[0] == pytest.approx(0.5)


def test_target_off_the_plane_of_a_planar_arm_fails_with_a_reason():
    arm = ArmKinematics.from_urdf(PLANAR_URDF)
    target = np.eye(4)
    target[:3, 3] = [0.6, 0.2, 0.3]  # within reach, but the arm only moves in z = 0
    result = IkSolver(arm, IkConfig(position_only=True)).solve(target, np.array([0.3, 0.5]))
    assert not result.success
    assert result.reason in (IkReason.SINGULAR, IkReason.UNREACHABLE)
    assert result.position_error_m == pytest.approx(0.3, abs=1e-3)


# ---------------------------------------------------------------- loading and defaults
def test_default_frames_and_locked_fingers_for_raw_panda():
    arm = ArmKinematics.from_urdf(f'{PYBULLET_DATA}/franka_panda/panda.urdf')
    assert arm.base_frame == 'panda_link0' and arm.ee_frame == 'panda_grasptarget'
    assert arm.n == 7 and 'panda_finger_joint1' in arm.locked_joints
    assert 'panda_finger_joint1' not in arm.joint_names


def test_raw_so100_chain_stops_before_the_jaw_named_like_a_link():
    arm = ArmKinematics.from_urdf(_erd('so_arm_description/urdf/so100.urdf'))
    assert arm.ee_frame == 'gripper'
    assert arm.joint_names == ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll']
    assert list(arm.locked_joints) == ['gripper']  # the jaw joint, reported by its URDF name


def test_continuous_joints_get_one_angle_each():
    arm = ArmKinematics.from_urdf(_erd('kinova_description/robots/kinova.urdf'))
    assert arm.n == 6 and len(arm.continuous_joints) == 3
    i = arm.joint_names.index(arm.continuous_joints[0])
    assert arm.upper[i] == pytest.approx(2 * np.pi)


def test_xml_string_and_file_give_the_same_model(tmp_path):
    path = tmp_path / 'planar.urdf'
    path.write_text(PLANAR_URDF)
    q = np.array([0.4, -0.7])
    assert np.allclose(ArmKinematics.from_urdf(path).fk(q), ArmKinematics.from_urdf(PLANAR_URDF).fk(q))
    assert np.allclose(ArmKinematics.from_urdf(str(path)).fk(q)[:3, 3],
                       [0.5 * np.cos(0.4) + 0.5 * np.cos(-0.3), 0.5 * np.sin(0.4) + 0.5 * np.sin(-0.3), 0])


def test_overridden_frames_shorten_the_chain():
    arm = ArmKinematics.from_urdf(f'{PYBULLET_DATA}/kuka_iiwa/model.urdf', base_frame='lbr_iiwa_link_2',
                                  ee_frame='lbr_iiwa_link_5')
    assert arm.joint_names == ['lbr_iiwa_joint_3', 'lbr_iiwa_joint_4', 'lbr_iiwa_joint_5']
    assert set(arm.locked_joints) == {'lbr_iiwa_joint_1', 'lbr_iiwa_joint_2', 'lbr_iiwa_joint_6',
                                      'lbr_iiwa_joint_7'}


# ---------------------------------------------------------------- broken input -> clear errors
@pytest.mark.parametrize('urdf, message', [
    ('<robot name="x"><link name="a"></robot>', 'malformed XML'),
    ('/nonexistent/arm.urdf', 'file not found'),
    ('<robot name="x"><link name="a"/><link name="b"/><joint name="j" type="fixed">'
     '<parent link="a"/><child link="b"/></joint></robot>', 'no movable joints'),
    ('<notrobot/>', 'expected <robot>'),
    ('<robot name="x"><link name="a"/><link name="b"/></robot>', 'exactly one root link'),
    ('<robot name="x"><link name="a"/><joint name="j" type="revolute"><parent link="a"/>'
     '<child link="ghost"/></joint></robot>', "child link 'ghost'"),
])
def test_broken_urdf_raises_kinematics_error(urdf, message):
    with pytest.raises(KinematicsError, match=message):
        ArmKinematics.from_urdf(urdf)


def test_unknown_frame_names_are_named_in_the_error():
    with pytest.raises(KinematicsError, match="ee_frame: no frame named 'gripper_tip'"):
        ArmKinematics.from_urdf(PLANAR_URDF, ee_frame='gripper_tip')
    with pytest.raises(KinematicsError, match="base_frame: no frame named 'table'"):
        ArmKinematics.from_urdf(PLANAR_URDF, base_frame='table')
    with pytest.raises(KinematicsError, match='not upstream'):
        ArmKinematics.from_urdf(PLANAR_URDF, base_frame='tip', ee_frame='l1')


def test_floating_joint_on_the_chain_is_rejected():
    urdf = PLANAR_URDF.replace('<joint name="j1" type="revolute">', '<joint name="j1" type="floating">')
    with pytest.raises(KinematicsError, match="joint 'j1'.*only 1-DoF"):
        ArmKinematics.from_urdf(urdf)


def test_bad_joint_vector_and_bad_target_are_rejected():
    arm = ArmKinematics.from_urdf(PLANAR_URDF)
    with pytest.raises(KinematicsError, match=r'q: expected shape \(2,\)'):
        arm.fk(np.zeros(3))
    with pytest.raises(KinematicsError, match='NaN'):
        arm.fk(np.array([0.0, np.nan]))
    solver = IkSolver(arm)
    with pytest.raises(KinematicsError, match='T_base_ee_target'):
        solver.solve(np.eye(3), np.zeros(2))
    mirrored = np.diag([1.0, 1.0, -1.0, 1.0])
    with pytest.raises(KinematicsError, match='not a rotation'):
        solver.solve(mirrored, np.zeros(2))
    with pytest.raises(KinematicsError, match='q_init'):
        solver.solve(np.eye(4), np.zeros(5))
    with pytest.raises(KinematicsError, match='weights'):
        IkSolver(arm, IkConfig(weights=(0, 0, 0, 0, 0, 0)))
