"""An arm is data: a URDF and a short YAML written anywhere give a working arm, with no code change."""
import json
import re

import numpy as np
import pytest

from ros_harness import tiny_checkpoint
from video_planner import cli
from video_planner.errors import KinematicsError, VideoPlannerError
from video_planner.kinematics import ArmKinematics, IkConfig, IkSolver
from video_planner.kinematics.joint_states import match_joint_states
from video_planner.sim.arm_files import resolve_urdf
from video_planner.sim.arms import ARMS, HELD_OUT_ARMS, SEEN_ARMS, get_arm
from video_planner.sim.segmentation import SEG_GRIPPER
from video_planner.sim.tasks import sample_task
from video_planner.sim.world import TabletopWorld

pytestmark = pytest.mark.timeout(300)

ARM_YAML = """\
description: my arm, a renamed copy of a six-joint arm with one moving jaw
urdf: my_arm.urdf
base_frame: world
tool_frame: gripperStator
gripper: {joints: [jointGripper], open: [-0.8], closed: [-0.3]}
"""


@pytest.fixture(scope='module')
def new_arm(tmp_path_factory):
    """A URDF copied into a temporary folder under a name the package does not know, plus its YAML."""
    folder = tmp_path_factory.mktemp('my_arm')
    text = resolve_urdf('example-robot-data:robots/z1_description/urdf/z1.urdf', folder).read_text()
    (folder / 'my_arm.urdf').write_text(re.sub(r'<robot\s+name="[^"]*"', '<robot name="my_arm"', text, count=1))
    (folder / 'my_arm.yaml').write_text(ARM_YAML)
    return folder / 'my_arm.yaml'


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path_factory, monkeypatch):
    # Derived values are cached per user; a private cache makes the test derive them itself.
    monkeypatch.setenv('VIDEO_PLANNER_CACHE', str(tmp_path_factory.getbasetemp() / 'cache'))


def test_an_unknown_arm_from_files_derives_tcp_home_and_workspace_and_solves_ik(new_arm):
    spec = get_arm(str(new_arm))
    assert spec.name == 'my_arm' and 'my_arm' not in ARMS
    assert spec.dof == 6 and spec.gripper.joints == ('jointGripper',)
    assert spec.tcp is not None and spec.tcp.parent == 'gripperStator'  # derived from the jaw's geometry
    kin = ArmKinematics.from_urdf(spec.urdf_path, spec.base_frame, spec.ee_frame)
    assert kin.chain == list(spec.arm_joints) and 'jointGripper' in kin.locked_joints
    T_home = kin.fk(np.array(spec.home_q))
    assert T_home[2, 2] < -0.99  # straight down
    np.testing.assert_allclose(T_home[:2, 3], spec.workspace_center, atol=0.01)
    assert 0.05 <= spec.workspace_radius <= 0.15
    # The TCP lies beyond the tool frame's origin, between the jaws, not at the flange.
    assert 0.05 < np.linalg.norm(spec.tcp.xyz) < 0.25
    # IK: a top-down pose at the edge of the derived workspace, from the home pose.
    T = T_home.copy()
    T[:2, 3] += [spec.workspace_radius, 0.0]
    T[2, 3] = 0.05 * spec.scale
    result = IkSolver(kin, IkConfig(restarts=2)).solve(T, np.array(spec.home_q))
    assert result.success, result.reason
    np.testing.assert_allclose(kin.fk(result.q)[:3, 3], T[:3, 3], atol=1e-3)


def test_the_simulator_runs_the_new_arm_and_sees_its_gripper(new_arm):
    with TabletopWorld(str(new_arm), seed=0, image_size=64) as world:
        task = sample_task(world.spec, 'reach', np.random.default_rng(0))
        obs = world.reset(task)
        assert (obs.segmentation == SEG_GRIPPER).sum() > 5
        start = obs.T_base_ee.copy()
        target = start.copy()
        target[0, 3] += 0.01
        for _ in range(5):
            world.step_ee(target, gripper=0.0)
        moved = world.T_base_ee()[:3, 3] - start[:3, 3]
        assert moved[0] > 0.005 and abs(moved[1]) < 0.003


def test_arm_check_prints_what_it_derived(new_arm, capsys):
    assert cli.main(['arm', 'check', str(new_arm), '--ik-samples', '10']) == 0
    out = capsys.readouterr().out
    for words in ('6 arm joints', 'jointGripper', 'TCP (derived from the fingertips): gripperStator',
                  'home pose (derived)', 'workspace (derived)', 'camera: eye', 'gripper seen from below', 'cold IK:',
                  'check took'):
        assert words in out, (words, out)


@pytest.mark.parametrize('change, words', [
    (('tool_frame: gripperStator', 'tool_frame: no_such_link'), "tool_frame 'no_such_link' is not a link"),
    (('urdf: my_arm.urdf', 'urdf: missing.urdf'), 'URDF not found'),
    (('urdf: my_arm.urdf', 'urdf: truncated.urdf'), 'broken URDF'),
    (('base_frame: world', 'base_frame: world\nhome_q: [0, 0, 0, 0, 0, 0]'), 'home_q'),
    (('base_frame: world', 'base_frame: world\nworkspace: {center: [3.0, 0.0], radius: 0.1}'), 'unreachable home'),
    (('gripper:', 'grip:'), "unknown key(s) ['grip']"),
])
def test_arm_check_names_what_is_broken(new_arm, tmp_path, capsys, change, words):
    text = (new_arm.parent / 'my_arm.urdf').read_text()
    (tmp_path / 'my_arm.urdf').write_text(text)
    (tmp_path / 'truncated.urdf').write_text(text[:len(text) // 2])
    broken = tmp_path / 'broken.yaml'
    broken.write_text(ARM_YAML.replace(*change))
    assert cli.main(['arm', 'check', str(broken), '--ik-samples', '1']) == 2
    assert words in capsys.readouterr().err


def test_plan_command_plans_on_the_new_arm(new_arm, tmp_path):
    out = tmp_path / 'plan'
    code = cli.main(['plan', '--arm', str(new_arm), '--task', 'reach', '--seed', '1', '--checkpoint',
                     str(tiny_checkpoint()), '--steps', '2', '--out', str(out)])
    summary = json.loads((out / 'plan.json').read_text())
    assert code == (0 if summary['status'] == 'ok' else 1)
    assert len(summary['ee_positions_m']) > 1
    if summary['joint_trajectory'] is not None:  # joint targets come from the new arm's URDF
        assert summary['joint_trajectory']['joint_names'] == list(get_arm(str(new_arm)).arm_joints)


def test_held_out_arms_are_data_and_never_in_the_training_arms():
    import yaml
    from video_planner.resources import config_path
    held = yaml.safe_load(config_path('eval.yaml').read_text())['held_out_arms']
    assert tuple(held) == HELD_OUT_ARMS and len(held) >= 4 and set(held) <= set(ARMS)
    training = yaml.safe_load(config_path('sim.yaml').read_text())['generate']['arms']
    assert not set(held) & set(training) and set(training) <= set(SEEN_ARMS)
    blue, panda = get_arm('panda_blue'), get_arm('panda')
    assert blue.color is not None and blue.source_urdf == panda.source_urdf and blue.home_q == panda.home_q


def test_a_joint_state_of_another_robot_is_refused_with_the_reason():
    panda = [f'panda_joint{i}' for i in range(1, 8)]
    ur5 = list(get_arm('ur5').arm_joints)
    with pytest.raises(KinematicsError, match=r'URDF does not match the robot.*7 actuated joints.*missing'):
        match_joint_states(panda, ur5, np.zeros(6))
    with pytest.raises(KinematicsError, match=r'URDF does not match the robot.*6 positions.*7 actuated joints'):
        match_joint_states(panda, (), np.zeros(6))
    # Extra joints (fingers) and any order are fine: the arm's joints come back in the URDF's order.
    q = match_joint_states(ur5[::-1], ur5 + ['finger'], np.arange(7.0))
    np.testing.assert_array_equal(q, [5, 4, 3, 2, 1, 0])


def test_the_planner_refuses_a_mismatched_urdf_before_sampling():
    from video_planner.planner.config import PlannerConfig
    from video_planner.planner.pipeline import VideoPlanner
    from video_planner.planner.request import PlanRequest
    planner = VideoPlanner(PlannerConfig(checkpoint=str(tiny_checkpoint()), arm='panda', sampling_steps=2))
    with TabletopWorld('ur5', seed=0, image_size=planner.image_size) as world:
        obs = world.reset(sample_task(world.spec, 'reach', 0))
    sampled = []
    request = PlanRequest(instruction=obs.instruction, rgb=obs.rgb, depth_m=obs.depth_m, camera=obs.camera,
                          T_base_ee=obs.T_base_ee, q_current=obs.joint_positions,
                          joint_names=tuple(world.spec.arm_joints))
    with pytest.raises(VideoPlannerError, match='URDF does not match the robot'):
        planner.plan(request, progress=lambda stage, *rest: sampled.append(stage))
    assert 'sampling' not in sampled and 'encoding' not in sampled


def test_planner_node_refuses_a_urdf_of_another_robot_before_sampling(new_arm, tmp_path):
    """The simulated robot is the new arm (sim_robot_node takes its YAML path); the planner is given the
    Panda's URDF: the goal is aborted with the reason, before the video model samples anything."""
    from action_msgs.msg import GoalStatus
    from ros_harness import Client, pipeline_params, start
    get_arm(str(new_arm))  # derive once here; the nodes inherit the cache
    sim = start('sim_robot_node', tmp_path, {'arm': str(new_arm), 'task': 'reach', 'seed': 1, 'rate_hz': 10.0})
    planner = start('planner_node', tmp_path, pipeline_params(tiny_checkpoint(), arm='panda'), timeout_s=120.0)
    client = Client('arm_mismatch_client')
    try:
        client.wait_for_server(60.0)
        feedback = []
        handle = client.send_goal('reach the red cube', timeout_s=60.0, feedback=feedback)
        assert handle is not None
        status, result = client.result(handle, timeout_s=120.0)
        assert status == GoalStatus.STATUS_ABORTED
        assert 'URDF does not match the robot' in result.message and 'jointGripper' not in result.message
        assert 'panda_joint1' in result.message and 'joint1' in result.message
        assert {f.stage for f in feedback} <= {'waiting_for_frame'}, [f.stage for f in feedback]
    finally:
        client.close()
        assert planner.stop() == 0, planner.log()[-3000:]
        assert sim.stop() == 0, sim.log()[-3000:]


def test_the_canonical_view_paints_the_new_arm_out_from_its_files(new_arm):
    # Planning in the canonical view needs nothing of the arm but its URDF, joint states and camera pose.
    from video_planner.embodiment import CanonicalView
    from video_planner.embodiment.canonical_view import arm_mask_from_segmentation
    spec = get_arm(str(new_arm))
    with TabletopWorld(spec, seed=4) as world:
        obs = world.reset(sample_task(spec, 'push', np.random.default_rng(4)), seed=4)
    view = CanonicalView(spec)
    try:
        mask = view.arm_mask(obs.joint_positions, obs.camera, obs.depth_m, obs.gripper)
        frame, gripper = view.frame(obs.rgb, obs.camera, obs.T_base_ee, obs.gripper, mask, obs.depth_m)
    finally:
        view.close()
    truth = arm_mask_from_segmentation(obs.segmentation)
    assert (mask & truth).sum() / (mask | truth).sum() > 0.9
    assert gripper.sum() > 20 and frame.shape == obs.rgb.shape
