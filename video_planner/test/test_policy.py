"""The image+language policy: trains on recorded expert episodes, saves, loads and acts."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from expert_episodes import write_expert_episodes
from video_planner.errors import VideoPlannerError
from video_planner.model.checkpoint import CheckpointError, Checkpoint, save_checkpoint
from video_planner.model.trainer import TrainConfig
from video_planner.policy import ImageLanguagePolicy, PolicyConfig
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


def test_dataset_targets_are_the_next_waypoint(episodes, encoder):
    from video_planner.data.reader import EpisodeReader
    data = PolicyStepDataset(episodes, encoder, TINY)
    assert data.episodes == 2 and len(data) == sum(len(e) - 1 for e in EpisodeReader(episodes))
    item = data[0]
    assert item['image'].shape == (3, 16, 16) and item['text_emb'].shape == (384,)
    # The first move of a reach is toward the object and down from the home pose: a real, non-zero step.
    assert torch.linalg.norm(item['delta']) > 0.05
    assert set(np.unique(data.gripper_next)) <= {0.0, 1.0} and data.gripper_next.max() == 1.0


def test_packed_dataset_is_the_same_data(episodes, encoder, tmp_path):
    data = PolicyStepDataset(episodes, encoder, TINY)
    packed = PolicyStepDataset(data.save_npz(tmp_path / 'steps.npz'), None, TINY)
    assert len(packed) == len(data) and packed.episodes == data.episodes
    for i in (0, len(data) - 1):
        for key, value in data[i].items():
            assert torch.equal(value, packed[i][key]), key
    with pytest.raises(VideoPlannerError, match='position_scale_m'):
        PolicyStepDataset(tmp_path / 'steps.npz', None, PolicyConfig(position_scale_m=0.05))


def test_policy_trains_with_falling_loss_and_round_trips(episodes, encoder, tmp_path):
    cfg = TrainConfig(steps=40, batch_size=16, lr=3e-3, warmup_steps=0, log_every=5, checkpoint_every=0,
                      ema_decay=0.5)
    result, ema = train_policy(episodes, tmp_path, PolicyConfig.from_dict(TINY.to_dict()), cfg, text_encoder=encoder)
    losses = [loss for _, loss in result.losses]
    assert result.step == 40
    assert np.mean(losses[-2:]) < 0.8 * np.mean(losses[:2]), losses

    policy = ImageLanguagePolicy.load(tmp_path / 'model.pt', text_encoder=encoder)
    rgb = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    action = policy.act(rgb, 'lift the red cube', gripper=0.0)
    assert action.delta_m.shape == (3,) and np.all(np.isfinite(action.delta_m))
    assert action.gripper in (0.0, 1.0)
    # The loaded network is the trained EMA network, weight for weight.
    for (name, a), b in zip(policy.network.state_dict().items(), ema.state_dict().values()):
        assert torch.equal(a, b), name
    # The arm scale scales the metric step (small arms take small steps).
    half = policy.act(rgb, 'lift the red cube', gripper=0.0, arm_scale=0.5)
    np.testing.assert_allclose(half.delta_m, 0.5 * action.delta_m, rtol=1e-5)


def test_bad_inputs_raise_clear_errors(tmp_path, encoder):
    from video_planner.policy.network import PolicyNetwork
    policy = ImageLanguagePolicy(PolicyNetwork(PolicyConfig.from_dict(TINY.to_dict())), text_encoder=encoder)
    with pytest.raises(VideoPlannerError, match='rgb'):
        policy.act(np.zeros((16, 16), np.float32), 'lift the cube', 0.0)
    save_checkpoint(tmp_path / 'video.pt', Checkpoint(kind='video', config={}, model={}))
    with pytest.raises(CheckpointError, match="expected 'policy'"):
        ImageLanguagePolicy.load(tmp_path / 'video.pt')
    with pytest.raises(VideoPlannerError, match='channels'):
        PolicyConfig(channels=(7,))
