"""Recoloured copies of recorded clips: the objects repainted, the instruction naming their new colours.

The segmentation stored with every episode says which pixels belong to which object, so a clip can be
repainted and its instruction rewritten to match ("reach the red puck" -> "reach the green puck"). The
motion stays the same, so a model sees the same scene layout with many colour words and has to read
which object the words name instead of remembering scenes. Used by the plan critic's training data and,
optionally, by the video model's (`video-planner train --recolourings N`).
"""
from __future__ import annotations

import json

import cv2
import h5py
import numpy as np
from torch.utils.data import Dataset

from video_planner.sim.instruction_edits import recoloured
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


class RecolouredClips(Dataset):
    """A `VideoClipDataset` followed, clip by clip, by `copies` recoloured versions of each clip.

    Item (1 + copies) * i is clip i as recorded; the next `copies` items are recoloured with colours drawn
    from (seed, i, copy), so the data are the same on every run. A clip whose sentence does not match its
    template comes back unchanged."""

    def __init__(self, clips, copies: int, seed: int = 0):
        if copies < 0:
            raise ValueError(f'copies: expected >= 0, got {copies}')
        self.clips, self.copies, self.seed = clips, copies, seed
        self.index = [entry for entry in clips.index for _ in range(1 + copies)]

    def __len__(self) -> int:
        return len(self.clips) * (1 + self.copies)

    def __getitem__(self, i: int) -> dict:
        base, copy = divmod(i, 1 + self.copies)
        clip = self.clips[base]
        if copy == 0:
            return clip
        path, frames = self.clips.index[base]
        with h5py.File(path, 'r') as h:
            g = h['data/demo_0']
            task = json.loads(g.attrs['task'])
            seg = g['obs/seg'][list(frames)]
        colours = random_colours(task, np.random.default_rng((self.seed, base, copy)))
        edited = recoloured(task, colours)
        if edited is None:
            return clip
        video = np.concatenate([clip['frame0'][None], clip['future']])
        if seg.shape[1:] != video.shape[1:3]:
            seg = np.stack([cv2.resize(s.astype(np.float32), video.shape[2:0:-1], interpolation=cv2.INTER_NEAREST)
                            for s in seg]).astype(np.int32)
        video = recolour_frames(video, seg, task, colours)
        return {**clip, 'frame0': video[0], 'future': video[1:], 'instruction': edited['instruction']}
