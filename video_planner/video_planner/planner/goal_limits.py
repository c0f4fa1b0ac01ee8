"""Per-goal bounds: what one plan_video goal may ask for, checked once where the goal enters (no ROS types).

The goal's ``num_candidates`` and ``sampling_steps`` are uint8 fields (0 = the node's default): without a
per-goal bound one goal asking for 255 candidates held the planner for minutes and gigabytes. A goal that
breaks a bound is refused with a message naming the field, its value and the bound.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from video_planner.errors import VideoPlannerError

MAX_INSTRUCTION_CHARS = 300


@dataclass(frozen=True)
class GoalLimits:
    max_candidates: int = 8            # largest num_candidates one goal may ask for
    max_sampling_steps: int = 64       # largest sampling_steps one goal may ask for
    max_instruction_chars: int = MAX_INSTRUCTION_CHARS


@dataclass(frozen=True)
class GoalRequest:
    """The goal's fields as the planner reads them (0 = the node's default)."""

    instruction: str
    num_candidates: int = 0
    sampling_steps: int = 0
    seed: int = -1


def check_instruction(text: str, max_chars: int = MAX_INSTRUCTION_CHARS, field: str = 'goal.instruction') -> str:
    """The instruction, stripped, or a VideoPlannerError saying what is wrong with it."""
    text = (text or '').strip()
    if not text:
        raise VideoPlannerError(f'{field} is empty: say what the robot should do, '
                                'e.g. "push the red cube to the left"')
    if len(text) > max_chars:
        raise VideoPlannerError(f'{field} has {len(text)} characters; at most {max_chars} are accepted')
    # Category C* = control, format, unassigned, private use, surrogate: NUL, newlines, tabs, escapes,
    # bidi overrides. A NUL would cut the text where the middleware copies it as a C string.
    for i, char in enumerate(text):
        if unicodedata.category(char)[0] == 'C' or unicodedata.category(char) in ('Zl', 'Zp'):
            raise VideoPlannerError(f'{field} contains control characters: {char!r} (U+{ord(char):04X}) at '
                                    f'position {i}; send plain printable text')
    return text


def check_goal(goal: GoalRequest, limits: GoalLimits) -> str:
    """Every field of a goal within its bound; returns the stripped instruction, or raises naming the field."""
    instruction = check_instruction(goal.instruction, limits.max_instruction_chars)
    for field, value, bound, name in (
            ('num_candidates', goal.num_candidates, limits.max_candidates, 'max_candidates'),
            ('sampling_steps', goal.sampling_steps, limits.max_sampling_steps, 'max_sampling_steps')):
        if not 0 <= int(value) <= bound:
            raise VideoPlannerError(f'goal.{field}={value} is over the bound {name}={bound}; '
                                    f'send 0 for the default or a value in 1..{bound}')
    if int(goal.seed) < -1:
        raise VideoPlannerError(f'goal.seed={goal.seed} is invalid: send -1 for a random seed or a seed >= 0')
    return instruction
