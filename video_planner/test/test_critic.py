"""The plan critic: counterfactual instructions, its training data, training, and scoring plans."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from expert_episodes import write_expert_episodes
from video_planner.critic import CriticConfig, PlanCritic
from video_planner.critic.config import TINY
from video_planner.critic.dataset import CriticClipDataset
from video_planner.critic.network import CriticNetwork, random_blur
from video_planner.critic.train import train_critic
from video_planner.data.recolour import recolour_frames
from video_planner.errors import ConfigError, VideoPlannerError
from video_planner.model.trainer import TrainConfig
from video_planner.sim.arms import get_arm
from video_planner.sim.instruction_edits import (counterfactuals, naming_other, opposite_direction, other_object,
                                                 recoloured)
from video_planner.sim.segmentation import SEG_OBJECT_BASE
from video_planner.sim.tasks import COLORS, DIRECTION_PHRASES, sample_task
from video_planner.text import TextEncoder

torch.set_num_threads(1)


def task_dict(family: str, seed: int) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(sample_task(get_arm('panda'), family, seed))))


def test_counterfactual_names_another_object_in_the_scene():
    task = task_dict('reach', 0)
    other = other_object(task)
    assert other is not None and other['name'] != task['target']
    edited = naming_other(task, other)
    assert other['color'] in edited and edited != task['instruction']
    # Only the object phrase changes: the words before it are the template's.
    prefix = task['template'].split('{obj}')[0]
    assert edited.startswith(prefix) and task['instruction'].startswith(prefix)


def test_counterfactual_reverses_a_push_direction():
    task = next(t for t in (task_dict('push', s) for s in range(40)) if t['direction'])
    flipped = opposite_direction(task)
    opposite = {'left': 'right', 'right': 'left', 'forward': 'backward', 'backward': 'forward'}[task['direction']]
    assert flipped is not None and DIRECTION_PHRASES[opposite][0] in flipped
    assert flipped in counterfactuals(task) and task['instruction'] not in counterfactuals(task)


def test_counterfactuals_of_an_unparsed_sentence_are_none():
    task = task_dict('lift', 1)
    task['instruction'] = 'do something else entirely'
    assert naming_other(task, other_object(task)) is None and counterfactuals(task) == []


def test_recoloured_task_says_the_new_colours():
    task = task_dict('pick_place', 1)   # 'pick up the orange block and put it on the red square'
    colours = {task['target']: 'yellow', task['reference']: 'white'}
    new = recoloured(task, colours)
    assert new['instruction'] == task['instruction'].replace('orange', 'yellow').replace('red', 'white')
    assert new['target'] == 'yellow cube' and new['reference'] == 'white pad'
    # Counterfactuals of the recoloured task name objects by their new colours.
    other = other_object(task)
    assert naming_other(new, other_object(new)) == naming_other(task, other).replace('orange', 'yellow') \
        .replace('red', 'white')


@pytest.fixture(scope='module')
def episodes(tmp_path_factory):
    return write_expert_episodes(tmp_path_factory.mktemp('critic_episodes'), ('reach', 'reach', 'lift'))


@pytest.fixture(scope='module')
def encoder(tmp_path_factory):
    return TextEncoder(cache_dir=tmp_path_factory.mktemp('text_cache'))


def test_dataset_pairs_each_clip_with_its_words_and_a_counterfactual(episodes, encoder):
    data = CriticClipDataset(episodes, encoder, TINY, clip_starts=2)
    assert len(data) == 6 and data.videos.shape == (6, 3, 16, 16, 3)   # 3 episodes x 2 starts, 3 frames each
    item = data[0]
    assert item['video'].shape == (9, 16, 16) and -1.0 <= float(item['video'].min()) < float(item['video'].max())
    assert not torch.equal(item['text'], item['text_counter'])
    assert all(edits for edits in data.counter)   # every scene here has a second movable object
    # The clip's last frame is the episode's last frame: the critic sees the task done.
    from video_planner.data.reader import EpisodeReader
    first = EpisodeReader(episodes)[0]
    from video_planner.policy.dataset import resize_frames
    assert np.array_equal(data.videos[0, -1], resize_frames(first.rgb[-1:], 16)[0])


def test_recolouring_repaints_only_the_objects(episodes):
    from video_planner.data.reader import EpisodeReader
    episode = EpisodeReader(episodes)[0]
    target = next(k for k, o in enumerate(episode.task['objects']) if o['name'] == episode.task['target'])
    new_colour = next(c for c in COLORS if c != episode.task['objects'][target]['color'] and c != 'black')
    frames = recolour_frames(episode.rgb, episode.seg, episode.task, {episode.task['target']: new_colour})
    mask = episode.seg == SEG_OBJECT_BASE + target
    assert mask.any() and np.array_equal(frames[~mask], episode.rgb[~mask])
    # The repainted pixels' hue is the new colour's: their channel order matches it.
    mean = frames[mask].astype(float).mean(0)
    assert np.argmax(mean) == np.argmax(COLORS[new_colour])


def test_recoloured_copies_multiply_the_clips(episodes, encoder):
    plain = CriticClipDataset(episodes, encoder, TINY, clip_starts=1)
    more = CriticClipDataset(episodes, encoder, TINY, clip_starts=1, recolourings=2)
    assert len(more) == 3 * len(plain) and len(more.sentences) > len(plain.sentences)


def test_tiny_critic_trains_saves_and_ranks(episodes, encoder, tmp_path):
    cfg = TrainConfig(batch_size=6, steps=120, lr=3e-3, warmup_steps=0, checkpoint_every=0, log_every=10,
                      ema_decay=0.0)
    result, _ = train_critic(episodes, tmp_path, TINY, cfg, encoder, clip_starts=2)
    losses = [loss for _, loss in result.losses]
    assert np.mean(losses[-3:]) < 0.8 * np.mean(losses[:3])
    critic = PlanCritic.load(tmp_path / 'model.pt', encoder)
    assert torch.count_nonzero(critic.network.text_mean) > 0   # centring vector travels with the weights
    from video_planner.data.reader import EpisodeReader
    episode = EpisodeReader(episodes)[0]
    plans = np.stack([episode.rgb[::3], episode.rgb[::3][::-1]])     # (2, 4, 32, 32, 3): forward and reversed
    scores = critic.score(plans, episode.instruction)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    assert np.array_equal(scores, critic.score(plans, episode.instruction))
    # Trained on this clip, the critic prefers its own words to the counterfactual ones.
    own = critic.score(plans[:1], episode.instruction)[0]
    assert own > critic.score(plans[:1], counterfactuals(episode.task)[0])[0]


def test_critic_rejects_bad_plans_and_configs(encoder):
    critic = PlanCritic(CriticNetwork(TINY), encoder)
    with pytest.raises(VideoPlannerError, match='uint8'):
        critic.score(np.zeros((2, 4, 16, 16, 3), np.float32), 'reach the red puck')
    with pytest.raises(VideoPlannerError, match='K >= 1'):
        critic.score(np.zeros((2, 1, 16, 16, 3), np.uint8), 'reach the red puck')
    with pytest.raises(ConfigError, match='frames'):
        CriticConfig(frames=(0.0, 1.5))
    with pytest.raises(ConfigError, match='divisible'):
        CriticConfig(image_size=20)


def test_blur_augmentation_keeps_shape_and_smooths():
    g = torch.Generator().manual_seed(0)
    video = torch.rand(4, 9, 16, 16) * 2 - 1
    blurred = random_blur(video, 1.5, g)
    assert blurred.shape == video.shape
    # Neighbouring pixels get closer on average (a blur), and nothing leaves [-1, 1].
    tv = lambda x: (x[..., 1:, :] - x[..., :-1, :]).abs().mean()  # noqa: E731
    assert tv(blurred) < tv(video) and float(blurred.abs().max()) <= 1.0
