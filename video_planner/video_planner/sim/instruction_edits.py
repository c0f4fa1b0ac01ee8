"""Edited instructions: a task's recorded sentence changed to name another object or other colours.

"reach the red puck" -> "reach the blue cube" (another movable object in the scene): the grounding network
learns from both sentences, and the instruction-following benchmark plans with them. "reach the red puck"
-> "reach the green puck" goes with the recoloured frames of `data.recolour`.
Works on the task dicts stored in every episode (`Episode.task`), so it needs no simulator.
"""
from __future__ import annotations

import re

from video_planner.sim.tasks import MOVABLE_SHAPES, SHAPE_NOUNS


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


def naming_other(task: dict, other: dict, slot: str = 'obj') -> str | None:
    """The recorded instruction with its {obj} phrase (or its {ref} phrase, `slot` 'ref') naming `other`
    instead, or None if it does not parse."""
    match = _slots(task)
    if match is None or slot not in match.groupdict():
        return None
    noun = match.group(slot).split()[-1]
    named = task['target'] if slot == 'obj' else task.get('reference')
    named_shape = next((o['shape'] for o in task['objects'] if o['name'] == named), None)
    if other['shape'] != named_shape:
        noun = SHAPE_NOUNS[other['shape']][0]
    return _replace(task, match, slot, f"{other['color']} {noun}")


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
