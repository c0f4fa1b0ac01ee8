"""Learned inverse dynamics: train a tiny model on rendered ground truth with the project's Trainer."""
import numpy as np
import pytest
import torch

from video_planner.dynamics.evaluate import synthetic_clips
from video_planner.dynamics.learned import (IdmConfig, IdmNetwork, IdmPairDataset, LearnedInverseDynamics,
                                            train_on_clips)
from video_planner.dynamics.motion import EeMotion
from video_planner.errors import ConfigError, VideoPlannerError
from video_planner.model.checkpoint import CheckpointError
from video_planner.model.trainer import TrainConfig

torch.set_num_threads(1)
TINY = IdmConfig(image_size=32, channels=16, blocks=1, hidden=32)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp('idm')
    train = synthetic_clips(24, seed=0, horizon=4)
    result, _ = train_on_clips([c.as_training_clip() for c in train], out,
                               TrainConfig(batch_size=16, lr=3e-3, steps=300, warmup_steps=10, ema_decay=0.9,
                                           checkpoint_every=0, log_every=25), TINY)
    return out, result


def test_dataset_targets_match_projection():
    clip = synthetic_clips(1, seed=3, horizon=4)[0]
    ds = IdmPairDataset([clip.as_training_clip()], TINY)
    assert len(ds) == 4
    item = ds[2]  # frame t = 3
    assert item['x'].shape == (9, 32, 32)
    cam = clip.camera.resized(32, 32)
    np.testing.assert_allclose(item['uv'].numpy(), cam.project(clip.T_base_ee[3, :3, 3]), atol=1e-4)
    # The hint peaks at the projection of the frame-0 ee position.
    hint = item['x'][6].numpy()
    v, u = np.unravel_index(np.argmax(hint), hint.shape)
    assert np.hypot(*(np.array([u, v]) - cam.project(clip.T_base_ee[0, :3, 3]))) < 1.0


def test_training_learns_the_motion(trained):
    out, result = trained
    first, last = result.losses[0][1], result.losses[-1][1]
    assert last < 0.5 * first, result.losses
    idm = LearnedInverseDynamics.load(out / 'model.pt')
    test = synthetic_clips(6, seed=100, horizon=8)
    errors, still = [], []
    for c in test:
        motion = idm.estimate(c.frames, c.depth0_m, c.camera, c.T_base_ee[0], None)
        assert isinstance(motion, EeMotion) and motion.T_base_ee.shape == (9, 4, 4)
        # Position-only model: orientation of frame 0 kept.
        np.testing.assert_allclose(motion.T_base_ee[:, :3, :3], np.repeat(c.T_base_ee[:1, :3, :3], 9, 0))
        errors.append(np.linalg.norm(motion.positions - c.T_base_ee[:, :3, 3], axis=1)[1:])
        still.append(np.linalg.norm(c.T_base_ee[0, :3, 3] - c.T_base_ee[1:, :3, 3], axis=1))
    # 300 CPU steps of a tiny model (at 150 it sat on the threshold, by thread order): well below "no motion",
    # far from the benchmark's long run.
    assert np.mean(errors) < 0.6 * np.mean(still), (np.mean(errors), np.mean(still))


def test_checkpoint_errors(tmp_path, trained):
    out, _ = trained
    with pytest.raises(CheckpointError, match='does not exist'):
        LearnedInverseDynamics.load(tmp_path / 'nope.pt')
    bad = tmp_path / 'bad.pt'
    bad.write_bytes(b'not a checkpoint')
    with pytest.raises(CheckpointError):
        LearnedInverseDynamics.load(bad)


def test_bad_inputs_and_configs(trained):
    out, _ = trained
    idm = LearnedInverseDynamics.load(out / 'model.pt')
    c = synthetic_clips(1, seed=5, horizon=2)[0]
    with pytest.raises(VideoPlannerError, match='frames'):
        idm.estimate(c.frames[:1], c.depth0_m, c.camera, c.T_base_ee[0])
    behind = c.T_base_ee[0].copy()
    behind[:3, 3] = c.camera.T_base_camera[:3, 3] - c.camera.T_base_camera[:3, 2]  # 1 m behind the lens
    with pytest.raises(VideoPlannerError, match='behind the camera'):
        idm.estimate(c.frames, c.depth0_m, c.camera, behind)
    with pytest.raises(ConfigError, match='channels'):
        IdmConfig(channels=6)
    with pytest.raises(ConfigError, match=r"IdmConfig.view: expected one of \['camera', 'canonical'\]"):
        IdmConfig(view='Canonical')
    with pytest.raises(ConfigError, match='unknown'):
        IdmConfig.from_dict({'colour': 1})


def test_network_shapes():
    net = IdmNetwork(TINY)
    uv, log_z, grip, valid = net(torch.zeros(3, 9, 32, 32))
    assert uv.shape == (3, 2) and log_z.shape == grip.shape == valid.shape == (3,)
    assert torch.all((uv >= -0.5) & (uv <= 31.5))
