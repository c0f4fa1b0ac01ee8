"""Clip frames by the path's corners (data/keyframes.py): a short touch at the bottom of a reach, skipped by
frames evenly spaced in time, is kept; training clips built that way keep it too."""
import h5py
import numpy as np
import pytest

from video_planner.data.keyframes import corners, keyframe_indices
from video_planner.data.reader import VideoClipDataset
from video_planner.errors import VideoPlannerError
from video_planner.sim.arms import get_arm
from video_planner.sim.expert import ScriptedExpert
from video_planner.sim.tasks import sample_task
from video_planner.sim.world import TabletopWorld


def expert_track(arm: str, family: str, seed: int):
    world = TabletopWorld(arm, seed=0, image_size=32)
    try:
        task = sample_task(get_arm(arm), family, np.random.default_rng(seed))
        obs = world.reset(task, seed=seed)
        commands = ScriptedExpert(world).commands(task, obs.T_base_ee)
    finally:
        world.close()
    positions = np.array([obs.T_base_ee[:3, 3]] + [T[:3, 3] for T, _ in commands])
    gripper = np.array([0.0] + [g for _, g in commands])
    return positions, gripper


@pytest.mark.parametrize('arm', ['panda', 'so100'])
def test_a_reach_keeps_its_touch_and_a_pick_and_place_its_grasp_and_release(arm):
    positions, gripper = expert_track(arm, 'reach', 1)
    keep = keyframe_indices(positions, gripper, 0, 8)
    assert len(keep) == 8 and keep == sorted(set(keep)) and keep[-1] == len(positions) - 1
    assert positions[keep, 2].min() == pytest.approx(positions[:, 2].min(), abs=1e-6)
    even = np.round(np.linspace(0, len(positions) - 1, 9)).astype(int)[1:]
    assert positions[even, 2].min() > positions[:, 2].min() + 0.005 * get_arm(arm).scale  # what time spacing loses

    positions, gripper = expert_track(arm, 'pick_place', 1)
    keep = keyframe_indices(positions, gripper, 0, 8)
    changes = [i for i in range(1, len(gripper)) if gripper[i] != gripper[i - 1]]
    for i in changes:  # the closed and the opened gripper both drawn, at the spot where each happened
        assert any(k >= i and np.allclose(positions[k], positions[i]) for k in keep), (i, keep)


def test_corners_of_a_square_path_and_the_limits():
    square = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0], [2, 0, 0], [2, 1, 0], [2, 2, 0], [1, 2, 0]], float)
    assert corners(square, np.zeros(len(square))) == [3, 5]  # a dwell's last frame stands for it
    closing = np.array([0, 0, 0, 1, 1, 1, 1])
    assert corners(square, closing) == [3, 5]  # the gripper closing where the path dwells: the same frame
    assert keyframe_indices(square, np.zeros(len(square)), 4, 5) == [5, 6, 6, 6, 6]  # too few frames: last repeated
    with pytest.raises(ValueError, match='start'):
        keyframe_indices(square, np.zeros(len(square)), 6, 3)


def test_training_clips_spaced_by_keyframes_reach_the_bottom(tmp_path):
    from video_planner.data.generate import GenerateConfig, generate
    generate(GenerateConfig(arms=['panda'], tasks=['reach'], episodes=2, seed=3, out=tmp_path, image_size=32,
                            workers=1), progress=False)
    by_time = VideoClipDataset(tmp_path, horizon=8, image_size=32)
    by_keys = VideoClipDataset(tmp_path, horizon=8, image_size=32, spacing='keyframes')
    assert len(by_time) == len(by_keys) > 0
    for i in range(len(by_keys)):
        path, frames = by_keys.index[i]
        with h5py.File(path, 'r') as h:
            z = h['data/demo_0/obs/ee_pose'][:, 2, 3]
        assert z[list(frames)].min() == pytest.approx(z.min()) and frames[0] == by_time.index[i][1][0]
        assert by_keys[i]['future'].shape == (8, 32, 32, 3)
    with pytest.raises(VideoPlannerError, match='spacing'):
        VideoClipDataset(tmp_path, horizon=8, image_size=32, spacing='motion')
