"""The target hint: the named object's mask as a video-model input, and the grounding network that draws it."""
import dataclasses

import numpy as np
import pytest
import torch

from expert_episodes import write_expert_episodes
from video_planner.data.reader import VideoClipDataset
from video_planner.errors import ConfigError, VideoPlannerError
from video_planner.grounding import Grounder, GroundingConfig
from video_planner.grounding.config import TINY
from video_planner.grounding.dataset import GroundingDataset, named_objects
from video_planner.grounding.network import GroundingNetwork
from video_planner.grounding.train import train_grounding
from video_planner.model import VideoModel, load_model_config
from video_planner.model.checkpoint import load_weights_into
from video_planner.model.dataset import ClipTensorDataset, DeviceClips
from video_planner.model.trainer import TrainConfig, Trainer
from video_planner.sim.segmentation import SEG_OBJECT_BASE
from video_planner.text import TextEncoder

torch.set_num_threads(1)


@pytest.fixture(scope='module')
def episodes(tmp_path_factory):
    return write_expert_episodes(tmp_path_factory.mktemp('hint_episodes'), ('reach', 'push', 'lift'), image_size=32)


@pytest.fixture(scope='module')
def encoder(tmp_path_factory):
    return TextEncoder(cache_dir=tmp_path_factory.mktemp('text_cache'))


def hint_config():
    return dataclasses.replace(load_model_config('tiny'), target_hint=True)


def test_clips_carry_the_named_objects_mask(episodes):
    from video_planner.data.episode import read_episode
    data = VideoClipDataset(episodes, horizon=4, image_size=32)
    clip, (path, frames) = data[0], data.index[0]
    episode = read_episode(path)
    target = [o['name'] for o in episode.task['objects']].index(episode.task['target'])
    expected = episode.seg[frames[0]] == SEG_OBJECT_BASE + target
    assert clip['target0'].dtype == bool and expected.any()
    np.testing.assert_array_equal(clip['target0'], expected)


def test_a_default_model_grown_a_hint_channel_plans_as_before(episodes):
    plain = VideoModel(load_model_config('tiny'))
    torch.manual_seed(0)
    with torch.no_grad():
        for p in plain.parameters():
            p.add_(0.05 * torch.randn_like(p))      # as after training: every input matters
    hinted = VideoModel(hint_config())
    grown = load_weights_into(hinted, plain.state_dict(), 'plain', allow_new=True)
    assert grown == ['network.stem.weight (input channels 6 -> 7)']
    frame = np.random.default_rng(0).integers(0, 255, (2, 16, 16, 3), dtype=np.uint8)
    text = np.random.default_rng(1).normal(size=(2, 384)).astype(np.float32)
    mask = np.zeros((16, 16))
    mask[4:8, 4:8] = 1
    before = plain.sample(frame, text, steps=3, seed=0)
    np.testing.assert_array_equal(before, hinted.sample(frame, text, steps=3, seed=0, hint=mask))
    # Once the new channel has weights, the hint changes the plan.
    with torch.no_grad():
        hinted.network.stem.weight[:, 6:].normal_(0, 0.5)
    assert not np.array_equal(before, hinted.sample(frame, text, steps=3, seed=0, hint=mask))
    # The weights must still fit otherwise: a wider layer elsewhere is not grown.
    with pytest.raises(Exception, match='do not fit'):
        load_weights_into(VideoModel(dataclasses.replace(hint_config(), base_channels=16)), plain.state_dict(),
                          'plain', allow_new=True)


def test_hint_model_trains_on_clips_with_masks(episodes, encoder, tmp_path):
    cfg = hint_config()
    clips = ClipTensorDataset(VideoClipDataset(episodes, horizon=cfg.horizon, image_size=16, clip_starts=2), encoder,
                              cfg.horizon, cfg.image_size, preload=True)
    assert clips[0]['hint'].shape == (1, 16, 16) and any(clips[i]['hint'].sum() > 0 for i in range(len(clips)))
    on_device = DeviceClips(clips, 'cpu')
    batch = on_device.get_batch([0, 1])
    assert torch.equal(batch['hint'][1], clips[1]['hint'])
    model = VideoModel(cfg)
    tcfg = TrainConfig(batch_size=4, steps=40, lr=2e-3, warmup_steps=0, checkpoint_every=0, sample_every=0,
                       log_every=5, num_workers=0)
    result = Trainer(model, model, clips, tcfg, tmp_path, model_config=cfg.to_dict(), kind='video',
                     progress=False).fit()
    losses = [loss for _, loss in result.losses]
    assert np.mean(losses[-2:]) < np.mean(losses[:2])
    loaded = VideoModel.load(tmp_path / 'model.pt')
    assert loaded.config.target_hint
    # The training's sample grids draw each plan with its clip's recorded mask, the model's own condition.
    from video_planner.model.grid import video_grid
    from video_planner.model.train import make_sample_fn
    raws = [clips.raw(i) for i in (0, len(clips) - 1)]
    plans = loaded.sample(np.stack([r['frame0'] for r in raws]), clips.encode_text([r['instruction'] for r in raws]),
                          steps=2, seed=0, hint=np.stack([r['target0'] for r in raws]).astype(np.float32))
    rows = [np.concatenate([r['frame0'][None], video]) for r, plan in zip(raws, plans)
            for video in (r['future'], plan)]
    np.testing.assert_array_equal(make_sample_fn(clips, n=2, steps=2)(loaded, 0), video_grid(rows))


def test_hint_guidance_interpolates_between_no_hint_and_the_hint():
    model = VideoModel(hint_config())
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    frame = np.random.default_rng(0).integers(0, 255, (2, 16, 16, 3), dtype=np.uint8)
    text = np.random.default_rng(1).normal(size=(2, 384)).astype(np.float32)
    mask = np.zeros((16, 16))
    mask[4:8, 4:8] = 1
    plain = model.sample(frame, text, steps=3, seed=0, hint=mask)
    blind = model.sample(frame, text, steps=3, seed=0)
    assert not np.array_equal(plain, blind)
    # Scale 1 is no guidance; scale 0 keeps only the (words, no hint) branch, the plan made without the hint.
    np.testing.assert_array_equal(plain, model.sample(frame, text, steps=3, seed=0, hint=mask, hint_guidance=1.0))
    unhinted = model.sample(frame, text, steps=3, seed=0, hint=mask, hint_guidance=0.0)
    assert np.abs(unhinted.astype(int) - blind.astype(int)).max() <= 1
    pushed = model.sample(frame, text, steps=3, seed=0, hint=mask, hint_guidance=3.0)
    assert pushed.shape == plain.shape and not np.array_equal(pushed, plain)
    # Without a hint there is nothing to guide towards.
    np.testing.assert_array_equal(blind, model.sample(frame, text, steps=3, seed=0, hint_guidance=3.0))
    with pytest.raises(VideoPlannerError, match='finite'):
        model.sample(frame, text, steps=3, seed=0, hint=mask, hint_guidance=float('nan'))


def test_bad_hints_are_refused():
    model = VideoModel(hint_config())
    frame, text = np.zeros((16, 16, 3), np.uint8), np.zeros((1, 384), np.float32)
    with pytest.raises(VideoPlannerError, match='hint: expected'):
        model.sample(frame, text, steps=2, hint=np.zeros((8, 8)))
    with pytest.raises(VideoPlannerError, match='NaN'):
        model.sample(frame, text, steps=2, hint=np.full((16, 16), np.nan))
    with pytest.raises(ConfigError, match='target_hint'):
        dataclasses.replace(hint_config(), target_hint='yes')


def test_grounding_examples_name_each_object_with_its_mask(episodes, encoder):
    from video_planner.data.reader import EpisodeReader
    task = EpisodeReader(episodes)[0].task
    pairs = named_objects(task)
    assert len(pairs) == 2 and pairs[0][0] == task['instruction'] and pairs[0][1] != pairs[1][1]
    data = GroundingDataset(episodes, encoder, TINY, clip_starts=2)
    # 3 episodes x 2 frames x (own sentence + the other object's, where the scene has one)
    assert len(data) == sum(2 * len(named_objects(e.task)) for e in EpisodeReader(episodes))
    item = data[0]
    assert item['image'].shape == (3, 16, 16) and item['mask'].shape == (16, 16)
    assert torch.equal(data[0]['image'], data[1]['image']) and not torch.equal(data[0]['mask'], data[1]['mask'])
    assert not torch.equal(data[0]['text'], data[1]['text'])   # the same frame, the other object named


def test_tiny_grounding_trains_saves_and_finds_the_named_object(episodes, encoder, tmp_path):
    cfg = TrainConfig(batch_size=8, steps=300, lr=3e-3, warmup_steps=0, checkpoint_every=0, log_every=10,
                      ema_decay=0.0)
    result, _ = train_grounding(episodes, tmp_path, TINY, cfg, encoder, clip_starts=2)
    losses = [loss for _, loss in result.losses]
    assert np.mean(losses[-3:]) < 0.7 * np.mean(losses[:3])
    grounder = Grounder.load(tmp_path / 'model.pt', encoder)
    from video_planner.data.reader import EpisodeReader
    checked = []
    for episode in EpisodeReader(episodes):
        seg = episode.seg[0]
        pairs = named_objects(episode.task)
        if len(pairs) < 2 or not all((seg == seg_id).any() for _, seg_id in pairs):
            continue   # an object hidden behind the arm in this frame
        (own, own_id), (other, other_id) = pairs
        for sentence, seg_id, not_id in ((own, own_id, other_id), (other, other_id, own_id)):
            p = grounder.locate(episode.rgb[0], sentence, size=seg.shape[0])
            assert p.shape == seg.shape and 0 <= p.min() and p.max() == 1
            # Trained on this frame, it puts more weight on the object the sentence names than on the other.
            assert (p * (seg == seg_id)).sum() > (p * (seg == not_id)).sum(), sentence
        checked.append((episode.rgb[0], own))
    assert len(checked) >= 2
    hint = grounder.hint(*checked[0], 16)
    assert hint.shape == (16, 16) and set(np.unique(hint)) <= {0.0, 1.0} and hint.max() == 1


def test_grounder_refuses_bad_frames_and_configs(encoder):
    grounder = Grounder(GroundingNetwork(TINY), encoder)
    with pytest.raises(VideoPlannerError, match='uint8'):
        grounder.locate(np.zeros((16, 16, 3), np.float32), 'reach the red puck')
    with pytest.raises(ConfigError, match='channels'):
        GroundingConfig(channels=(12,))


def test_shipped_grounding_finds_the_named_object_in_fresh_scenes(encoder, tmp_path):
    """models/grounding_default.pt on simulator episodes from seeds it never trained on (training: 1000..2999).
    benchmarks/results/grounding.md: the named object gets more weight than the other in 88-98 % of cases;
    the bound leaves room for the few scenes recorded here."""
    from video_planner.data.generate import GenerateConfig, generate
    from video_planner.data.reader import EpisodeReader
    from video_planner.resources import model_path
    generate(GenerateConfig(arms=('panda', 'kinova'), tasks=('reach', 'push'), episodes=8, seed=80_000,
                            out=tmp_path), progress=False)
    grounder = Grounder.load(model_path('grounding_default.pt'), encoder)
    right = []
    for episode in EpisodeReader(tmp_path):
        seg = episode.seg[0]
        pairs = named_objects(episode.task)
        if len(pairs) < 2 or not all((seg == seg_id).any() for _, seg_id in pairs):
            continue
        for (sentence, seg_id), (_, not_id) in (pairs, pairs[::-1]):
            p = grounder.locate(episode.rgb[0], sentence, size=seg.shape[0])
            right.append((p * (seg == seg_id)).sum() > (p * (seg == not_id)).sum())
    assert len(right) >= 8 and np.mean(right) >= 0.75, right
