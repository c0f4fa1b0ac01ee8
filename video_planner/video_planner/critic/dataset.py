"""Critic training examples from the episode files: a few frames of each clip, its instruction, and
counterfactual instructions for the same scene (`video_planner.sim.instruction_edits`).

Clips run from a start frame to the episode's end, as the video model's do (`VideoClipDataset`), so the
last frame shows the task done. Frames are kept as uint8 in memory (3 frames of 64 px: 36 KiB a clip).

Recoloured copies (`video_planner.data.recolour`) multiply the data: the same motion goes with many colour
words, so the critic has to read which object the arm went to instead of remembering scenes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from video_planner.critic.config import CriticConfig
from video_planner.data.recolour import random_colours, recolour_frames
from video_planner.errors import VideoPlannerError
from video_planner.policy.dataset import resize_frames
from video_planner.sim.instruction_edits import counterfactuals, recoloured


def video_tensor(frames: np.ndarray) -> torch.Tensor:
    """(F, S, S, 3) uint8 -> (3F, S, S) float in [-1, 1], the frames stacked as channels."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).float().div(127.5).sub(1.0)
    return x.permute(0, 3, 1, 2).reshape(-1, *x.shape[1:3])


class CriticClipDataset(Dataset):
    """Map-style: item i -> {video (3F,S,S), text (D,), text_counter (D,), text_id ()}.

    text_counter is one of the clip's counterfactual instructions, drawn at random, or, for a task with
    none, the instruction of a random other clip."""

    def __init__(self, paths: str | Path | Sequence[str | Path], text_encoder, config: CriticConfig,
                 clip_starts: int = 2, recolourings: int = 0, seed: int = 0):
        from video_planner.data.reader import EpisodeReader, clip_start_frames
        self.config = config
        self.rng = np.random.default_rng(seed)
        videos, own, counter = [], [], []
        for episode in EpisodeReader(paths):
            if not episode.success or len(episode) < 2:
                continue
            variants = [(episode.task, None)]
            for _ in range(recolourings):
                colours = random_colours(episode.task, self.rng)
                task = recoloured(episode.task, colours)
                if task is not None:
                    variants.append((task, colours))
            for t0 in clip_start_frames(len(episode), clip_starts):
                picks = [t0 + i for i in config.frame_indices(len(episode) - t0)]
                for task, colours in variants:
                    frames = episode.rgb[picks]
                    if colours is not None:
                        frames = recolour_frames(frames, episode.seg[picks], episode.task, colours)
                    videos.append(resize_frames(frames, config.image_size))
                    own.append(task['instruction'])
                    counter.append(counterfactuals(task))
        if not videos:
            raise VideoPlannerError(f'critic data: no successful episodes in {paths}; run `video-planner generate`')
        self.sentences = sorted(set(own) | {s for edits in counter for s in edits})
        index = {s: i for i, s in enumerate(self.sentences)}
        self.embeddings = np.asarray(text_encoder.encode_batch(self.sentences), np.float32)
        self.videos = np.stack(videos)
        self.own = np.array([index[s] for s in own])
        self.counter = [[index[s] for s in edits] for edits in counter]

    def text_mean(self) -> np.ndarray:
        """Mean embedding of the clips' own instructions (the network centres its text input on it)."""
        return self.embeddings[self.own].mean(0)

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, i: int) -> dict:
        edits = self.counter[i]
        counter = edits[int(self.rng.integers(len(edits)))] if edits else self.own[i]
        while counter == self.own[i] and len(self.sentences) > 1:   # a task with no edit: another clip's words
            counter = self.own[int(self.rng.integers(len(self)))]
        return {'video': video_tensor(self.videos[i]), 'text': torch.from_numpy(self.embeddings[self.own[i]]),
                'text_counter': torch.from_numpy(self.embeddings[counter]),
                'text_id': torch.tensor(int(self.own[i]))}
