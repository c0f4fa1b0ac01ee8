"""Grounding examples from the episode files: a camera frame, a sentence, and the mask of the object it names.

Each start frame gives two examples when the scene has another movable object: the recorded sentence with
its target's mask, and the same sentence naming the other object (`sim.instruction_edits.naming_other`)
with that object's mask. So a scene never decides the answer; the words do. Recoloured copies
(`data.recolour`) add colour words for the same layouts.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from video_planner.data.recolour import random_colours, recolour_frames
from video_planner.errors import VideoPlannerError
from video_planner.grounding.config import GroundingConfig
from video_planner.model.film_cnn import image_tensor, resize_frames
from video_planner.sim.instruction_edits import naming_other, other_object, recoloured
from video_planner.sim.segmentation import object_segment


def named_objects(task: dict) -> list[tuple[str, int]]:
    """(sentence, segmentation id) pairs for a task: its own sentence and target, and, when the scene has
    another movable object and the sentence parses, the sentence naming that object instead."""
    target = object_segment(task, task.get('target'))
    if target < 0:
        return []
    pairs = [(task['instruction'], target)]
    other = other_object(task)
    sentence = naming_other(task, other) if other is not None else None
    if sentence is not None:
        pairs.append((sentence, object_segment(task, other['name'])))
    return pairs


def named_destinations(task: dict) -> list[tuple[str, int]]:
    """(sentence, segmentation id) pairs for where a task's sentence asks its object to go: the reference (a
    pad to place on, an object to push toward), and, when the sentence parses and the scene has another
    movable object, the sentence naming that object as the destination instead."""
    reference = object_segment(task, task.get('reference')) if task.get('reference') else -1
    if reference < 0:
        return []
    pairs = [(task['instruction'], reference)]
    other = other_object(task)
    sentence = naming_other(task, other, slot='ref') if other is not None else None
    if sentence is not None:
        pairs.append((sentence, object_segment(task, other['name'])))
    return pairs


NAMED_BY_ROLE = {'object': named_objects, 'destination': named_destinations}


def object_mask(seg: np.ndarray, seg_id: int, size: int) -> np.ndarray:
    """(H, W) segmentation -> (size, size) float16 share of each pixel that is object `seg_id`."""
    mask = (seg == seg_id).astype(np.float32)
    if mask.shape != (size, size):
        mask = cv2.resize(mask, (size, size), interpolation=cv2.INTER_AREA)
    return mask.astype(np.float16)


class GroundingDataset(Dataset):
    """Map-style: item i -> {image (3,S,S), text (D,), mask (S,S) float}."""

    def __init__(self, paths: str | Path | Sequence[str | Path], text_encoder, config: GroundingConfig,
                 clip_starts: int = 2, recolourings: int = 0, seed: int = 0):
        from video_planner.data.reader import EpisodeReader, clip_start_frames
        rng = np.random.default_rng(seed)
        frames, masks, sentences = [], [], []
        for episode in EpisodeReader(paths):
            starts = clip_start_frames(len(episode), clip_starts)
            variants = [(episode.task, None)]
            for _ in range(recolourings):
                colours = random_colours(episode.task, rng)
                task = recoloured(episode.task, colours)
                if task is not None:
                    variants.append((task, colours))
            for task, colours in variants:
                pairs = NAMED_BY_ROLE[config.role](task)
                images = episode.rgb[starts]
                if colours is not None:
                    images = recolour_frames(images, episode.seg[starts], episode.task, colours)
                images = resize_frames(images, config.image_size)
                for image, seg in zip(images, episode.seg[starts]):
                    for sentence, seg_id in pairs:
                        frames.append(image)
                        masks.append(object_mask(seg, seg_id, config.image_size))
                        sentences.append(sentence)
        if not frames:
            what = 'a named object' if config.role == 'object' else 'a destination (pick_place, push toward)'
            raise VideoPlannerError(f'grounding data: no episodes with {what} in {paths}; '
                                    'run `video-planner generate`')
        self.sentences = sorted(set(sentences))
        index = {s: i for i, s in enumerate(self.sentences)}
        self.embeddings = np.asarray(text_encoder.encode_batch(self.sentences), np.float32)
        self.frames, self.masks = np.stack(frames), np.stack(masks)
        self.text = np.array([index[s] for s in sentences])

    def text_mean(self) -> np.ndarray:
        return self.embeddings[self.text].mean(0)

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i: int) -> dict:
        return {'image': image_tensor(self.frames[i]), 'text': torch.from_numpy(self.embeddings[self.text[i]]),
                'mask': torch.from_numpy(self.masks[i].astype(np.float32))}
