"""Post-processing: jump flags, smoothing, refusal; EeMotion validation; dynamics.yaml loading."""
import numpy as np
import pytest

from video_planner.dynamics import EeMotion, InverseDynamicsRefused
from video_planner.dynamics import DynamicsConfig, make_inverse_dynamics
from video_planner.dynamics.flow_depth import FlowDepthInverseDynamics
from video_planner.dynamics.postprocess import (PostprocessConfig, confidence_failure, flag_jumps, plan_confidence,
                                                postprocess, rotation_angle, smooth)
from video_planner.dynamics.synthetic import pose
from video_planner.errors import ConfigError, VideoPlannerError


def _line(n=6, step=0.01, conf=0.9):
    T = np.stack([pose([0.4 + step * i, 0.0, 0.2], [np.pi, 0, 0]) for i in range(n)])
    return EeMotion(T, np.zeros(n), np.full(n, conf), method='test')


def test_jump_is_flagged_held_and_refused():
    m = _line()
    m.T_base_ee[3, :3, 3] += [0.2, 0, 0]  # one wild step
    out = flag_jumps(m, max_step_m=0.05, max_step_rad=0.5)
    assert out.flagged.tolist() == [False, False, False, True, False, False]
    assert out.confidence[3] == 0.0
    np.testing.assert_allclose(out.T_base_ee[3], m.T_base_ee[2])  # held at the last accepted pose
    assert not out.flagged[4]  # step 4 is 2 cm from step 2: accepted again
    # The held step counts 0 towards the plan's confidence: (4 x 0.9) / 5 = 0.72.
    kept = postprocess(m, PostprocessConfig(max_step_m=0.05, min_confidence=0.7))
    assert np.linalg.norm(np.diff(kept.positions, axis=0), axis=1).max() < 0.05
    with pytest.raises(InverseDynamicsRefused, match=r'steps \[3\] jumped'):
        postprocess(m, PostprocessConfig(max_step_m=0.05, min_confidence=0.75))


def test_rotation_jump_is_flagged():
    m = _line()
    m.T_base_ee[2, :3, :3] = m.T_base_ee[2, :3, :3] @ pose([0, 0, 0], [0, 0, 1.0])[:3, :3]
    out = flag_jumps(m, max_step_m=0.05, max_step_rad=0.5)
    assert out.flagged[2] and out.confidence[2] == 0.0


def test_smooth_keeps_a_straight_line_and_frame0():
    m = _line(conf=0.8)
    noisy = EeMotion(m.T_base_ee.copy(), m.gripper, m.confidence)
    rng = np.random.default_rng(0)
    noisy.T_base_ee[1:, :3, 3] += rng.normal(0, 0.003, (5, 3))
    out = smooth(noisy, 3)
    np.testing.assert_allclose(out.T_base_ee[0], m.T_base_ee[0])
    err_before = np.linalg.norm(noisy.positions - m.positions, axis=1)[1:-1].mean()
    err_after = np.linalg.norm(out.positions - m.positions, axis=1)[1:-1].mean()
    assert err_after < err_before
    assert np.all(rotation_angle(out.T_base_ee[:, :3, :3], m.T_base_ee[:, :3, :3]) < 1e-9)


def test_low_confidence_refused_and_accepted_when_high():
    m = _line(conf=0.9)
    out = postprocess(m, PostprocessConfig(min_confidence=0.5))
    np.testing.assert_allclose(out.T_base_ee, m.T_base_ee)
    # One weak step does not sink a plan whose mean confidence is high ...
    m.confidence[4] = 0.2
    assert plan_confidence(postprocess(m, PostprocessConfig(min_confidence=0.5)).confidence) > 0.5
    # ... a plan that is weak throughout is refused, naming its weak steps.
    m.confidence[2:] = 0.1
    with pytest.raises(InverseDynamicsRefused, match=r'confidence 0\.26 is below min_confidence 0\.50 '
                                                      r'\(low steps \[2, 3, 4, 5\]\)'):
        postprocess(m, PostprocessConfig(min_confidence=0.5))
    flagged_only = postprocess(m, PostprocessConfig(min_confidence=0.5), refuse=False)
    assert flagged_only.min_confidence == pytest.approx(0.1)


def test_planner_gate_and_postprocess_share_one_rule():
    from video_planner.planner import gates
    from video_planner.planner.config import PlannerConfig
    for conf in ([1.0, 0.3, 0.3, 0.3], [1.0, 0.9, 0.0, 0.0], [1.0, np.nan, 0.9, 0.9], [1.0, 0.0, 0.0, 0.0]):
        conf = np.array(conf)
        gate = gates.check_confidence(conf, PlannerConfig(min_confidence=0.25))
        assert gate == confidence_failure(conf, 0.25)
        assert bool(gate) == (not plan_confidence(conf) >= 0.25)


def test_gripper_binarised_when_the_method_gives_it():
    m = _line()
    m.gripper[:] = [0.1, 0.4, 0.6, 0.9, 0.5, 0.0]
    assert postprocess(m, PostprocessConfig(gripper_source='estimate')).gripper.tolist() == [0, 0, 1, 1, 1, 0]


def _path(heights, ys=None):
    ys = [0.1] * len(heights) if ys is None else ys   # straight up and down unless the hand travels sideways
    return np.stack([pose([0.5, y, z], [np.pi, 0, 0]) for y, z in zip(ys, heights)])


@pytest.mark.parametrize('heights, start, expected', [
    # lift: down to the object, grasp at the bottom, carry it up
    ([0.30, 0.20, 0.10, 0.05, 0.05, 0.15, 0.25], 0.0, [0, 0, 0, 1, 1, 1, 1]),
    # pick and place: grasp at the first low point, release at the second
    ([0.30, 0.10, 0.05, 0.20, 0.20, 0.06, 0.20], 0.0, [0, 0, 1, 1, 1, 0, 0]),
    # a replan while carrying: the next low point is the release
    ([0.20, 0.20, 0.06, 0.20], 1.0, [1, 1, 0, 0]),
    # a path that never comes back up, or wiggles by less than the dip: nothing toggles
    ([0.30, 0.20, 0.10, 0.05], 0.0, [0, 0, 0, 0]),
    ([0.10, 0.09, 0.10, 0.095, 0.10], 1.0, [1, 1, 1, 1, 1]),
])
def test_gripper_toggles_at_the_low_points_of_the_path(heights, start, expected):
    from video_planner.dynamics.gripper import gripper_from_height
    T = _path(heights)
    assert gripper_from_height(T[:, :3, 3], start, min_dip_m=0.02).tolist() == expected
    m = EeMotion(T, np.full(len(T), 0.5), np.ones(len(T)), method='test')
    out = postprocess(m, PostprocessConfig(max_step_m=1.0), gripper_now=start)
    assert out.gripper.tolist() == expected


@pytest.mark.parametrize('heights, ys, start, expected', [
    # push: down behind the object, 8 cm sideways while down, up: closed at the top of the descent, in the
    # air, and kept closed (closing at the bottom would grip the object it pushes)
    ([0.20, 0.25, 0.08, 0.08, 0.08, 0.20], [0.0, 0.0, 0.0, 0.04, 0.08, 0.08], 0.0, [0, 1, 1, 1, 1, 1]),
    # the same push from a closed gripper: nothing changes
    ([0.20, 0.25, 0.08, 0.08, 0.08, 0.20], [0.0, 0.0, 0.0, 0.04, 0.08, 0.08], 1.0, [1, 1, 1, 1, 1, 1]),
    # a grasp whose bottom drifts 2 cm (a generated plan's noise) is still a grasp
    ([0.25, 0.10, 0.05, 0.05, 0.20], [0.0, 0.0, 0.0, 0.02, 0.02], 0.0, [0, 0, 1, 1, 1]),
    # a push, then a grasp elsewhere: closed for the push; opened above the object, closed at the bottom
    ([0.25, 0.08, 0.08, 0.25, 0.06, 0.25], [0.0, 0.0, 0.06, 0.06, 0.3, 0.3], 0.0, [1, 1, 1, 0, 1, 1]),
])
def test_a_push_closes_the_gripper_in_the_air(heights, ys, start, expected):
    from video_planner.dynamics.gripper import gripper_from_height
    T = _path(heights, ys)
    assert gripper_from_height(T[:, :3, 3], start, min_dip_m=0.02, sweep_m=0.04).tolist() == expected
    m = EeMotion(T, np.full(len(T), 0.5), np.ones(len(T)), method='test')
    assert postprocess(m, PostprocessConfig(max_step_m=1.0), gripper_now=start).gripper.tolist() == expected
    with pytest.raises(ConfigError, match='gripper_sweep_m'):
        PostprocessConfig(gripper_sweep_m=0)


def test_ee_motion_validates_shapes():
    with pytest.raises(VideoPlannerError, match='T_base_ee'):
        EeMotion(np.zeros((3, 3, 3)), np.zeros(3), np.zeros(3))
    with pytest.raises(VideoPlannerError, match='gripper'):
        EeMotion(np.repeat(np.eye(4)[None], 3, 0), np.zeros(2), np.zeros(3))
    with pytest.raises(VideoPlannerError, match='confidence'):
        EeMotion(np.repeat(np.eye(4)[None], 3, 0), np.zeros(3), np.zeros(4))


def test_postprocess_config_validation():
    with pytest.raises(ConfigError, match='smoothing_window'):
        PostprocessConfig(smoothing_window=2)
    with pytest.raises(ConfigError, match='min_confidence'):
        PostprocessConfig(min_confidence=1.5)
    with pytest.raises(ConfigError, match='gripper_source'):
        PostprocessConfig(gripper_source='vibes')


def test_dynamics_yaml_loads_and_builds(tmp_path):
    cfg = DynamicsConfig.from_yaml()  # the package's config/dynamics.yaml
    assert cfg.method == 'flow' and cfg.flow.flow_method == 'dis'
    assert isinstance(make_inverse_dynamics(cfg), FlowDepthInverseDynamics)
    bad = tmp_path / 'd.yaml'
    bad.write_text('flow:\n  nonsense: 1\n')
    with pytest.raises(ConfigError, match='nonsense'):
        DynamicsConfig.from_yaml(bad)
    bad.write_text('method: learned\n')
    with pytest.raises(ConfigError, match='learned.checkpoint'):
        make_inverse_dynamics(DynamicsConfig.from_yaml(bad))
    with pytest.raises(ConfigError, match='does not exist'):
        DynamicsConfig.from_yaml(tmp_path / 'missing.yaml')
