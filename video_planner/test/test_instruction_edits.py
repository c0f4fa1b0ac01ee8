"""Edited instructions and recoloured frames: the grounding network's second sentence and colour copies."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from expert_episodes import write_expert_episodes
from video_planner.data.reader import EpisodeReader
from video_planner.data.recolour import random_colours, recolour_frames
from video_planner.sim.arms import get_arm
from video_planner.sim.instruction_edits import naming_other, other_object, recoloured
from video_planner.sim.segmentation import SEG_OBJECT_BASE
from video_planner.sim.tasks import COLORS, sample_task


def task_dict(family: str, seed: int) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(sample_task(get_arm('panda'), family, seed))))


def test_naming_other_names_another_object_in_the_scene():
    task = task_dict('reach', 0)
    other = other_object(task)
    assert other is not None and other['name'] != task['target']
    edited = naming_other(task, other)
    assert other['color'] in edited and edited != task['instruction']
    # Only the object phrase changes: the words before it are the template's.
    prefix = task['template'].split('{obj}')[0]
    assert edited.startswith(prefix) and task['instruction'].startswith(prefix)


def test_an_unparsed_sentence_is_not_edited():
    task = task_dict('lift', 1)
    task['instruction'] = 'do something else entirely'
    assert naming_other(task, other_object(task)) is None and recoloured(task, {task['target']: 'red'}) is None


def test_recoloured_task_says_the_new_colours():
    task = task_dict('pick_place', 1)   # 'pick up the orange block and put it on the red square'
    colours = {task['target']: 'yellow', task['reference']: 'white'}
    new = recoloured(task, colours)
    assert new['instruction'] == task['instruction'].replace('orange', 'yellow').replace('red', 'white')
    assert new['target'] == 'yellow cube' and new['reference'] == 'white pad'
    # The other object of the recoloured task is named by its colour, as before.
    other = other_object(task)
    assert naming_other(new, other_object(new)) == naming_other(task, other).replace('orange', 'yellow') \
        .replace('red', 'white')


def test_random_colours_are_distinct_and_repeatable():
    task = task_dict('pick_place', 1)
    colours = random_colours(task, np.random.default_rng(3))
    assert set(colours) == {o['name'] for o in task['objects']} and len(set(colours.values())) == len(colours)
    assert colours == random_colours(task, np.random.default_rng(3))


@pytest.fixture(scope='module')
def episode(tmp_path_factory):
    return EpisodeReader(write_expert_episodes(tmp_path_factory.mktemp('episodes'), ('reach',)))[0]


def test_recolouring_repaints_only_the_named_object(episode):
    target = next(k for k, o in enumerate(episode.task['objects']) if o['name'] == episode.task['target'])
    new_colour = next(c for c in COLORS if c != episode.task['objects'][target]['color'] and c != 'black')
    frames = recolour_frames(episode.rgb, episode.seg, episode.task, {episode.task['target']: new_colour})
    mask = episode.seg == SEG_OBJECT_BASE + target
    assert mask.any() and np.array_equal(frames[~mask], episode.rgb[~mask])
    # The repainted pixels' hue is the new colour's: their channel order matches it.
    mean = frames[mask].astype(float).mean(0)
    assert np.argmax(mean) == np.argmax(COLORS[new_colour])
