"""Counterfactual instructions: a task's recorded sentence changed to ask for something else in the same scene.

"reach the red puck" -> "reach the blue cube" (another movable object in the scene), "push the red block to
the left" -> "push the red block to the right". The plan critic learns from them which plan matches its
words (they are its hard negatives), and the instruction-following benchmark plans with them.
Works on the task dicts stored in every episode (`Episode.task`), so it needs no simulator.
"""
from __future__ import annotations

import re

from video_planner.sim.tasks import DIRECTION_PHRASES, MOVABLE_SHAPES, SHAPE_NOUNS

OPPOSITE = {'left': 'right', 'right': 'left', 'forward': 'backward', 'backward': 'forward'}


def other_object(task: dict) -> dict | None:
    """A movable object that is neither the target nor the reference, or None."""
    for obj in task.get('objects', ()):
        if obj['shape'] in MOVABLE_SHAPES and obj['name'] not in (task.get('target'), task.get('reference')):
            return obj
    return None


def _slots(task: dict) -> re.Match | None:
    """The recorded instruction matched against its template, one named group per {slot}."""
    if not task.get('template') or not task.get('instruction'):
        return None
    pattern = re.escape(task['template'])
    # Every object phrase is a colour word and a noun ("red puck"), so {obj} is exactly two words.
    for slot, words in (('obj', r'\S+ \S+'), ('ref', '.+?'), ('dir', '.+?')):
        pattern = pattern.replace(re.escape('{' + slot + '}'), f'(?P<{slot}>{words})')
    return re.fullmatch(pattern, task['instruction'])


def _replace(task: dict, match: re.Match, slot: str, words: str) -> str:
    start, end = match.span(slot)
    return task['instruction'][:start] + words + task['instruction'][end:]


def naming_other(task: dict, other: dict) -> str | None:
    """The recorded instruction with its {obj} phrase naming `other` instead, or None if it does not parse."""
    match = _slots(task)
    if match is None or 'obj' not in match.groupdict():
        return None
    noun = match.group('obj').split()[-1]
    target_shape = next((o['shape'] for o in task['objects'] if o['name'] == task['target']), None)
    if other['shape'] != target_shape:
        noun = SHAPE_NOUNS[other['shape']][0]
    return _replace(task, match, 'obj', f"{other['color']} {noun}")


def opposite_direction(task: dict) -> str | None:
    """A push-direction instruction asking for the opposite direction, or None."""
    direction = task.get('direction')
    match = _slots(task)
    if direction not in OPPOSITE or match is None or 'dir' not in match.groupdict():
        return None
    return _replace(task, match, 'dir', DIRECTION_PHRASES[OPPOSITE[direction]][0])


def counterfactuals(task: dict) -> list[str]:
    """Every edit above that applies to this task (possibly none)."""
    other = other_object(task)
    edits = [naming_other(task, other) if other is not None else None, opposite_direction(task)]
    return [e for e in edits if e and e != task.get('instruction')]


def recoloured(task: dict, colours: dict[str, str]) -> dict | None:
    """The task with objects recoloured ({object name: new colour word}) and its instruction's object phrases
    saying so ("reach the red puck" -> "reach the green puck"), or None if the sentence does not parse.
    Pairs with recolouring the objects' pixels: the same scene and motion under other words and colours."""
    match = _slots(task)
    if match is None:
        return None
    rename = {o['name']: f"{colours.get(o['name'], o['color'])} {o['shape']}" for o in task['objects']}
    edited = dict(task, objects=[dict(o, color=colours.get(o['name'], o['color']), name=rename[o['name']])
                                 for o in task['objects']],
                  target=rename.get(task.get('target'), task.get('target')),
                  reference=rename.get(task.get('reference'), task.get('reference')))
    sentence = task['instruction']
    slots = [(match.span(slot), colours[name]) for slot, name in (('obj', task.get('target')),
                                                                  ('ref', task.get('reference')))
             if slot in match.groupdict() and name in colours]
    # Right to left, so an earlier slot's span stays valid after a later one is rewritten.
    for (start, end), colour in sorted(slots, reverse=True):
        noun = sentence[start:end].split(' ', 1)[1:]   # the phrase is "<colour> <noun>"
        sentence = sentence[:start] + ' '.join([colour] + noun) + sentence[end:]
    edited['instruction'] = sentence
    return edited
