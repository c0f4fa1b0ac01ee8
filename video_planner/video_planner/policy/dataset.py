"""Behaviour-cloning samples from the episode files: (frame t, instruction, gripper t) -> waypoint t+1.

The same HDF5 episodes the video model trains on (`video-planner generate`); every recorded frame but
the last is one sample. Frames are kept as uint8 in memory (a 64x64 frame is 12 KiB).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from video_planner.errors import VideoPlannerError
from video_planner.policy.config import PolicyConfig


def episode_targets(ee_pose: np.ndarray, gripper: np.ndarray, scale: float,
                    config: PolicyConfig) -> tuple[np.ndarray, np.ndarray]:
    """(N-1, 3) normalised base-frame position deltas t -> t+1 and (N-1,) gripper commands at t+1."""
    delta = (ee_pose[1:, :3, 3] - ee_pose[:-1, :3, 3]) / (scale * config.position_scale_m)
    return delta.astype(np.float32), (np.asarray(gripper[1:]) >= 0.5).astype(np.float32)


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    if frames.shape[1:3] == (size, size):
        return frames
    return np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in frames])


class PolicyStepDataset(Dataset):
    """Map-style: item i -> {image (3,S,S) in [-1,1], text_emb (D,), gripper_state (1,), delta (3,),
    gripper_next ()}; built from successful episodes only."""

    def __init__(self, paths: str | Path | Sequence[str | Path], text_encoder, config: PolicyConfig,
                 arms: Sequence[str] | None = None):
        from video_planner.data.reader import EpisodeReader
        from video_planner.sim.arms import get_arm
        self.config = config
        images, texts, states, deltas, grips = [], [], [], [], []
        embeddings: dict[str, np.ndarray] = {}
        for episode in EpisodeReader(paths):
            if not episode.success or len(episode) < 2 or (arms is not None and episode.arm not in arms):
                continue
            delta, grip = episode_targets(episode.ee_pose, episode.gripper, get_arm(episode.arm).scale, config)
            if episode.instruction not in embeddings:
                embeddings[episode.instruction] = np.asarray(text_encoder.encode(episode.instruction), np.float32)
            n = len(episode) - 1
            images.append(resize_frames(episode.rgb[:-1], config.image_size))
            texts += [episode.instruction] * n
            states.append(np.asarray(episode.gripper[:-1], np.float32))
            deltas.append(delta)
            grips.append(grip)
        if not images:
            raise VideoPlannerError(f'policy data: no successful episodes with >= 2 frames in {paths}; '
                                    'run `video-planner generate` first')
        self.images = np.concatenate(images)
        self.embeddings = embeddings
        self.texts = texts
        self.gripper_state = np.concatenate(states)
        self.delta = np.concatenate(deltas)
        self.gripper_next = np.concatenate(grips)
        self.episodes = len(images)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict:
        image = torch.from_numpy(self.images[i]).float().div(127.5).sub(1.0).permute(2, 0, 1)
        return {'image': image, 'text_emb': torch.from_numpy(self.embeddings[self.texts[i]]),
                'gripper_state': torch.tensor([self.gripper_state[i]], dtype=torch.float32),
                'delta': torch.from_numpy(self.delta[i]),
                'gripper_next': torch.tensor(self.gripper_next[i], dtype=torch.float32)}
