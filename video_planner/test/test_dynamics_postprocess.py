"""Post-processing: jump flags, smoothing, refusal; EeMotion validation; dynamics.yaml loading."""
import numpy as np
import pytest

from video_planner.dynamics import EeMotion, InverseDynamicsRefused
from video_planner.dynamics.config import DynamicsConfig, make_inverse_dynamics
from video_planner.dynamics.flow_depth import FlowDepthInverseDynamics
from video_planner.dynamics.postprocess import PostprocessConfig, flag_jumps, postprocess, rotation_angle, smooth
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
    with pytest.raises(InverseDynamicsRefused, match=r'steps \[3\] jumped'):
        postprocess(m, PostprocessConfig(max_step_m=0.05))


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
    m.confidence[4] = 0.2
    with pytest.raises(InverseDynamicsRefused, match=r'steps \[4\] below 0.50'):
        postprocess(m, PostprocessConfig(min_confidence=0.5))
    flagged_only = postprocess(m, PostprocessConfig(min_confidence=0.5), refuse=False)
    assert flagged_only.min_confidence == pytest.approx(0.2)


def test_gripper_binarised():
    m = _line()
    m.gripper[:] = [0.1, 0.4, 0.6, 0.9, 0.5, 0.0]
    assert postprocess(m).gripper.tolist() == [0, 0, 1, 1, 1, 0]


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
