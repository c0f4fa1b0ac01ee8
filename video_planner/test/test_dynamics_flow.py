"""Flow + depth inverse dynamics on pybullet renders of a rigid block moved by known SE(3) steps."""
import numpy as np
import pytest

from video_planner.dynamics import InverseDynamicsRefused
from video_planner.dynamics.flow_depth import FlowConfig, FlowDepthInverseDynamics, gripper_from_comotion
from video_planner.dynamics.postprocess import PostprocessConfig, postprocess
from video_planner.dynamics.synthetic import RigidBlockScene, pose, random_trajectory
from video_planner.errors import ConfigError, VideoPlannerError

# Measured on this rig at 64x64 (benchmarks/bench_inverse_dynamics.py, 8 episodes): per-step error
# <= 18 mm both ways; mean absolute error per plan <= 11 mm with the segmentation mask, <= 22 mm with
# the disc around the projected ee (it catches some background pixels).
MAX_STEP_ERROR_M = 0.02  # per-step (relative) translation error
MAX_MEAN_ERROR_M = {True: 0.012, False: 0.025}  # mean absolute position error over the plan


@pytest.fixture(scope='module')
def scene():
    with RigidBlockScene(with_object=False) as s:
        yield s


@pytest.fixture(scope='module')
def episodes(scene):
    rng = np.random.default_rng(0)
    return [scene.episode(random_trajectory(rng, 8, max_step_m=0.02)) for _ in range(4)]


@pytest.mark.parametrize('use_mask', [True, False])
def test_recovers_true_motion(episodes, use_mask):
    idm = FlowDepthInverseDynamics()
    for e in episodes:
        motion = idm.estimate(e.frames, e.depth0_m, e.camera, e.T_base_ee[0], e.ee_mask0 if use_mask else None)
        assert motion.T_base_ee.shape == (9, 4, 4) and motion.method == 'flow_depth'
        np.testing.assert_allclose(motion.T_base_ee[0], e.T_base_ee[0])
        err = np.linalg.norm(motion.positions - e.T_base_ee[:, :3, 3], axis=1)
        step_err = np.linalg.norm(np.diff(motion.positions, axis=0) - np.diff(e.T_base_ee[:, :3, 3], axis=0), axis=1)
        assert step_err.max() < MAX_STEP_ERROR_M, step_err
        assert err.mean() < MAX_MEAN_ERROR_M[use_mask], err
        assert motion.confidence.min() > 0.5, motion.confidence
        # The true motion is far from "no motion": the estimate must beat that trivial answer.
        still = np.linalg.norm(e.T_base_ee[:, :3, 3] - e.T_base_ee[0, :3, 3], axis=1)
        assert err.sum() < 0.5 * still.sum()
        postprocess(motion, PostprocessConfig())  # accepted: no refusal


def _garbage(frames, kind, rng):
    f = frames.copy()
    if kind == 'noise':
        f[1:] = rng.integers(0, 256, f[1:].shape, dtype=np.uint8)
    elif kind == 'black':
        f[1:] = 0
    elif kind == 'pixel_shuffle':
        for i in range(1, len(f)):
            flat = f[i].reshape(-1, 3)
            f[i] = flat[rng.permutation(len(flat))].reshape(f[i].shape)
    return f


@pytest.mark.parametrize('kind', ['noise', 'black', 'pixel_shuffle'])
def test_garbage_frames_are_refused(episodes, kind):
    idm = FlowDepthInverseDynamics()
    rng = np.random.default_rng(1)
    for e in episodes[:2]:
        motion = idm.estimate(_garbage(e.frames, kind, rng), e.depth0_m, e.camera, e.T_base_ee[0], e.ee_mask0)
        assert motion.confidence[1:].max() < 0.3, motion.confidence
        # Low-confidence steps hold the last trusted pose: no wild command even before the refusal.
        assert np.linalg.norm(motion.positions - e.T_base_ee[0, :3, 3], axis=1).max() < 0.1
        with pytest.raises(InverseDynamicsRefused, match='low inverse-dynamics confidence') as info:
            postprocess(motion, PostprocessConfig())
        assert info.value.motion is not None


def test_time_shuffled_frames_are_flagged_as_jumps(scene):
    """Frames of a real plan in a random order: trackable, but the jumps exceed the max step."""
    traj = np.stack([pose([0.40 + 0.02 * i, -0.08 + 0.02 * i, 0.15], [np.pi, 0, 0]) for i in range(9)])
    e = scene.episode(traj)
    order = np.array([0, 8, 1, 7, 2, 6, 3, 5, 4])
    motion = FlowDepthInverseDynamics().estimate(e.frames[order], e.depth0_m, e.camera, e.T_base_ee[0],
                                                 e.ee_mask0)
    with pytest.raises(InverseDynamicsRefused, match='low inverse-dynamics confidence') as info:
        postprocess(motion, PostprocessConfig(max_step_m=0.06))
    refused = info.value.motion
    # Each refused step either jumped (flagged) or lost its track; no jump reaches the output.
    assert np.all(refused.flagged[1:] | (refused.confidence[1:] < 0.5))
    assert np.linalg.norm(np.diff(refused.positions, axis=0), axis=1).max() <= 0.06


def test_keep_rotation_mode_keeps_frame0_orientation(episodes):
    """At 64x64 a 6 cm block's rotation is sub-pixel flow; 'keep' reports frame 0's orientation."""
    e = episodes[1]
    motion = FlowDepthInverseDynamics(FlowConfig(rotation='keep')).estimate(
        e.frames, e.depth0_m, e.camera, e.T_base_ee[0], e.ee_mask0)
    np.testing.assert_allclose(motion.T_base_ee[:, :3, :3], np.repeat(e.T_base_ee[:1, :3, :3], 9, axis=0),
                               atol=1e-9)
    assert np.linalg.norm(motion.positions - e.T_base_ee[:, :3, 3], axis=1).mean() < MAX_MEAN_ERROR_M[True]


def test_gripper_from_carried_object():
    """Approach, descend, pause (grasp), lift and carry an object: the carry steps read as closed."""
    obj = np.array([0.45, 0.08, 0.02])
    offsets = [[0.06, -0.04, 0.14], [0.03, -0.02, 0.1], [0, 0, 0.07], [0, 0, 0.05], [0, 0, 0.05],
               [0, 0, 0.08], [0, -0.03, 0.11], [0, -0.06, 0.13], [0, -0.09, 0.14]]
    truth = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1], float)
    traj = np.stack([pose(obj + o, [np.pi, 0, 0.3]) for o in offsets])
    with RigidBlockScene(with_object=True) as s:
        s.place_object(obj)
        e = s.episode(traj, truth)
    motion = FlowDepthInverseDynamics().estimate(e.frames, e.depth0_m, e.camera, e.T_base_ee[0], e.ee_mask0)
    np.testing.assert_array_equal(motion.gripper, truth)


def test_gripper_rule():
    nan = np.nan
    np.testing.assert_array_equal(gripper_from_comotion(np.array([0, 0, nan, 1, 1.])), [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(gripper_from_comotion(np.array([1, nan, 0.])), [1, 1, 0, 0])
    np.testing.assert_array_equal(gripper_from_comotion(np.array([nan, nan])), [0, 0, 0])


def test_bad_inputs_raise(episodes):
    e = episodes[0]
    idm = FlowDepthInverseDynamics()
    with pytest.raises(VideoPlannerError, match='frames'):
        idm.estimate(e.frames[:1], e.depth0_m, e.camera, e.T_base_ee[0])
    with pytest.raises(VideoPlannerError, match='uint8'):
        idm.estimate(e.frames.astype(np.float32), e.depth0_m, e.camera, e.T_base_ee[0])
    with pytest.raises(VideoPlannerError, match='resized'):
        idm.estimate(e.frames[:, :32, :32], e.depth0_m[:32, :32], e.camera, e.T_base_ee[0])
    with pytest.raises(VideoPlannerError, match='depth0_m'):
        idm.estimate(e.frames, e.depth0_m[:10], e.camera, e.T_base_ee[0])
    with pytest.raises(VideoPlannerError, match='T_base_ee0'):
        idm.estimate(e.frames, e.depth0_m, e.camera, np.eye(3))
    with pytest.raises(ConfigError, match='rotation'):
        FlowConfig(rotation='sometimes')


def test_no_depth_gives_zero_confidence(episodes):
    e = episodes[0]
    motion = FlowDepthInverseDynamics().estimate(e.frames, np.full_like(e.depth0_m, np.nan), e.camera,
                                                 e.T_base_ee[0], e.ee_mask0)
    assert motion.confidence[1:].max() == 0.0
    np.testing.assert_allclose(motion.T_base_ee, np.repeat(e.T_base_ee[:1], 9, axis=0))
