"""Recoloured copies of recorded clips: the objects repainted, the instruction naming their new colours.

The segmentation stored with every episode says which pixels belong to which object, so a clip can be
repainted and its instruction rewritten to match ("reach the red puck" -> "reach the green puck"). The
motion stays the same, so a model sees the same scene layout with many colour words and has to read
which object the words name instead of remembering scenes. Used by the grounding network's training data
(`video-planner train --model grounding --recolourings N`).
"""
from __future__ import annotations

import numpy as np

from video_planner.sim.segmentation import SEG_OBJECT_BASE
from video_planner.sim.tasks import COLORS

LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def recolour_frames(frames: np.ndarray, seg: np.ndarray, task: dict, colours: dict[str, str]) -> np.ndarray:
    """Frames with each object (segmentation id 10 + k, k its index in task['objects']) repainted in its new
    colour, keeping its shading (brightness relative to the old colour)."""
    out = frames.astype(np.float32)
    for k, obj in enumerate(task['objects']):
        if obj['name'] not in colours:
            continue
        mask = seg == SEG_OBJECT_BASE + k
        old = max(float(np.dot(COLORS[obj['color']], LUMA)), 0.05)
        shade = (out[mask] @ LUMA / 255.0) / old
        out[mask] = shade[:, None] * np.asarray(COLORS[colours[obj['name']]], np.float32)[None] * 255.0
    return np.clip(out, 0, 255).astype(np.uint8)


def random_colours(task: dict, rng: np.random.Generator) -> dict[str, str]:
    """A new, distinct colour for every object of the task."""
    names = [o['name'] for o in task['objects']]
    return dict(zip(names, rng.permutation(list(COLORS))[:len(names)].tolist()))

