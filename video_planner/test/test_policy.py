"""The ACT-style image+language policy: its action space, training on recorded expert episodes, saving,
loading, acting with the target hint, and temporal ensembling of its chunks."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from expert_episodes import write_expert_episodes
from video_planner.camera import CameraModel
from video_planner.errors import ConfigError, VideoPlannerError
from video_planner.model.checkpoint import CheckpointError, Checkpoint, save_checkpoint
from video_planner.model.trainer import TrainConfig
from video_planner.policy import ChunkEnsemble, ImageLanguagePolicy, PolicyChunk, PolicyConfig
from video_planner.policy.action_space import chunk_targets, offsets_to_positions, state_vectors
from video_planner.policy.config import TINY
from video_planner.policy.dataset import PolicyStepDataset
from video_planner.policy.train import train_policy
from video_planner.text import TextEncoder

torch.set_num_threads(1)


@pytest.fixture(scope='module')
def episodes(tmp_path_factory):
    return write_expert_episodes(tmp_path_factory.mktemp('episodes'), ('reach', 'lift'))


@pytest.fixture(scope='module')
def encoder(tmp_path_factory):
    return TextEncoder(cache_dir=tmp_path_factory.mktemp('text_cache'))


def _tilted_camera() -> CameraModel:
    T = np.eye(4)
    c, s = np.cos(2.3), np.sin(2.3)
    T[:3, :3] = np.array([[1, 0, 0], [0, c, -s], [0, s, c]]) @ np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]])
    T[:3, 3] = [0.5, -0.6, 0.7]
    return CameraModel.from_fov(50.0, 64, 64, T_base_camera=T)


def test_chunk_targets_map_back_to_the_recorded_waypoints():
    camera, cfg, scale = _tilted_camera(), PolicyConfig(chunk=4), 0.7
    rng = np.random.default_rng(0)
    poses = np.repeat(np.eye(4)[None], 6, 0)
    poses[:, :3, 3] = [0.5, 0.0, 0.2] + np.cumsum(rng.normal(0, 0.02, (6, 3)), 0)
    gripper = np.array([0, 0, 1, 1, 1, 0], np.float32)
    offsets, grip = chunk_targets(camera, poses, gripper, scale, cfg)
    assert offsets.shape == (5, 4, 3) and grip.shape == (5, 4)
    # From frame 1: waypoints 2, 3, 4, 5 -- back in the base frame exactly where the arm was.
    np.testing.assert_allclose(offsets_to_positions(camera, poses[1], offsets[1], scale, cfg), poses[2:6, :3, 3],
                               atol=1e-6)
    # Past the end the last waypoint repeats (hold still), and the gripper commands are those of t+i.
    np.testing.assert_allclose(offsets_to_positions(camera, poses[3], offsets[3], scale, cfg)[-1], poses[5, :3, 3],
                               atol=1e-6)
    assert grip[0].tolist() == [0, 1, 1, 1] and grip[4].tolist() == [0, 0, 0, 0]
    # The state puts the TCP where the camera sees it.
    state = state_vectors(camera, poses[2], 1.0, scale)
    u, v = camera.project(poses[2, :3, 3])
    np.testing.assert_allclose(state[:2], [u / 63 * 2 - 1, v / 63 * 2 - 1], atol=1e-5)
    assert state[3] == 1.0 and state_vectors(camera, poses, gripper, scale).shape == (6, 4)


def test_dataset_items_are_chunks_of_real_motion_with_the_target_hint(episodes, encoder):
    from video_planner.data.reader import EpisodeReader
    data = PolicyStepDataset(episodes, encoder, TINY)
    assert data.episodes == 2 and len(data) == sum(len(e) - 1 for e in EpisodeReader(episodes))
    item = data[0]
    assert item['image'].shape == (4, 16, 16) and item['text_emb'].shape == (384,)
    assert item['offsets'].shape == (TINY.chunk, 3) and item['gripper'].shape == (TINY.chunk,)
    # The first moves of a reach go somewhere (toward the object), and the hint marks the named object.
    assert torch.linalg.norm(item['offsets'][-1]) > 0.1
    assert 0 < item['image'][3].sum() < 0.2 * 16 * 16
    assert set(np.unique(data.gripper)) <= {0.0, 1.0} and data.gripper.max() == 1.0


def test_packed_dataset_is_the_same_data(episodes, encoder, tmp_path):
    data = PolicyStepDataset(episodes, encoder, TINY)
    packed = PolicyStepDataset(data.save_npz(tmp_path / 'steps.npz'), None, TINY)
    assert len(packed) == len(data) and packed.episodes == data.episodes
    for i in (0, len(data) - 1):
        for key, value in data[i].items():
            assert torch.equal(value, packed[i][key]), key
    with pytest.raises(VideoPlannerError, match='chunk'):
        PolicyStepDataset(tmp_path / 'steps.npz', None, dataclasses.replace(TINY, chunk=5))


def test_policy_trains_with_falling_loss_round_trips_and_acts(episodes, encoder, tmp_path):
    cfg = TrainConfig(steps=80, batch_size=16, lr=3e-3, warmup_steps=0, log_every=10, checkpoint_every=0,
                      ema_decay=0.5)
    result, ema = train_policy(episodes, tmp_path, PolicyConfig.from_dict(TINY.to_dict()), cfg, text_encoder=encoder)
    losses = [loss for _, loss in result.losses]
    assert result.step == 80
    assert np.mean(losses[-2:]) < 0.8 * np.mean(losses[:2]), losses

    policy = ImageLanguagePolicy.load(tmp_path / 'model.pt', text_encoder=encoder)
    for (name, a), b in zip(policy.network.state_dict().items(), ema.state_dict().values()):
        assert torch.equal(a, b), name      # the loaded network is the trained EMA network
    from video_planner.sim.arms import get_arm
    from video_planner.sim.tasks import sample_task
    from video_planner.sim.world import TabletopWorld
    with TabletopWorld('panda', seed=0, image_size=32) as world:
        obs = world.reset(sample_task(get_arm('panda'), 'lift', np.random.default_rng(3)))
    chunk = policy.act(obs.rgb, 'lift the red cube', obs.camera, obs.T_base_ee, gripper=0.0)
    assert chunk.positions.shape == (TINY.chunk, 3) and np.all(np.isfinite(chunk.positions))
    assert np.all((chunk.gripper >= 0) & (chunk.gripper <= 1))
    # The hint came from the shipped grounding network, at the policy's resolution.
    assert policy.hint(obs.rgb, 'lift the red cube').shape == (16, 16)
    # A small arm takes proportionally small steps from the same TCP.
    half = policy.act(obs.rgb, 'lift the red cube', obs.camera, obs.T_base_ee, gripper=0.0, arm_scale=0.5)
    here = obs.T_base_ee[:3, 3]
    assert np.linalg.norm(half.positions - here, axis=1).sum() < np.linalg.norm(chunk.positions - here, axis=1).sum()


def test_temporal_ensemble_weights_older_chunks_more():
    ensemble = ChunkEnsemble(decay=0.1)
    first = PolicyChunk(positions=np.array([[0.0, 0, 0], [1.0, 0, 0]]), gripper=np.array([0.0, 0.0]))
    second = PolicyChunk(positions=np.array([[3.0, 0, 0], [9.0, 0, 0]]), gripper=np.array([1.0, 1.0]))
    position, gripper = ensemble.add(first)
    assert position[0] == 0.0 and gripper == 0.0
    position, gripper = ensemble.add(second)   # step 1: first's 2nd waypoint (weight 1) and second's 1st (e^-0.1)
    w = np.exp(-0.1)
    assert position[0] == pytest.approx((1.0 + w * 3.0) / (1 + w))
    assert gripper == 0.0                      # closed with weight e^-0.1 / (1 + e^-0.1) < 0.5
    position, _ = ensemble.add(first)          # first has expired: second's 2nd (weight 1), the new one's 1st
    assert position[0] == pytest.approx((9.0 + w * 0.0) / (1 + w))


def test_bad_inputs_raise_clear_errors(tmp_path, encoder):
    from video_planner.policy.network import PolicyNetwork
    policy = ImageLanguagePolicy(PolicyNetwork(PolicyConfig.from_dict(TINY.to_dict())), text_encoder=encoder)
    camera = _tilted_camera()
    with pytest.raises(VideoPlannerError, match='rgb'):
        policy.act(np.zeros((16, 16), np.float32), 'lift the cube', camera, np.eye(4), 0.0)
    with pytest.raises(VideoPlannerError, match='T_base_ee'):
        policy.act(np.zeros((16, 16, 3), np.uint8), 'lift the cube', camera, np.full((4, 4), np.nan), 0.0)
    save_checkpoint(tmp_path / 'video.pt', Checkpoint(kind='video', config={}, model={}))
    with pytest.raises(CheckpointError, match="expected 'policy'"):
        ImageLanguagePolicy.load(tmp_path / 'video.pt')
    with pytest.raises(ConfigError, match='channels'):
        PolicyConfig(channels=(7,))
    with pytest.raises(ConfigError, match='heads'):
        PolicyConfig(d_model=30, heads=4)
