"""Behaviour-cloning samples from the episode files: (frame t, target hint t, instruction, state t) ->
the next `chunk` waypoints.

The same HDF5 episodes the video model trains on (`video-planner generate`); every recorded frame but the
last is one sample. The hint is the named object's mask from the segmentation, as in the video model's
training (at run time the grounding network draws it). Frames and hints stay uint8 in memory.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from video_planner.errors import VideoPlannerError
from video_planner.model.film_cnn import image_tensor, resize_frames
from video_planner.policy.action_space import chunk_targets, state_vectors
from video_planner.policy.config import PolicyConfig

_ARRAYS = ('images', 'hints', 'state', 'offsets', 'gripper')


def resize_masks(masks: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W) bool/uint8 -> (N, size, size) uint8 in {0, 1} (nearest neighbour, as the video model's)."""
    masks = np.asarray(masks, np.uint8)
    if masks.shape[1:3] == (size, size):
        return masks
    return np.stack([cv2.resize(m, (size, size), interpolation=cv2.INTER_NEAREST) for m in masks])


def policy_input(rgb: np.ndarray, hint: np.ndarray | None, config: PolicyConfig) -> torch.Tensor:
    """(S, S, 3) uint8 frame and (S, S) {0, 1} hint -> the network's (C, S, S) image tensor."""
    image = image_tensor(rgb)
    if not config.target_hint:
        return image
    return torch.cat([image, torch.from_numpy(np.asarray(hint, np.float32))[None]], 0)


class PolicyStepDataset(Dataset):
    """Map-style: item i -> {image (C,S,S), text_emb (D,), state (4,), offsets (chunk, 3), gripper (chunk,)};
    built from successful episodes only."""

    def __init__(self, paths: str | Path | Sequence[str | Path], text_encoder, config: PolicyConfig,
                 arms: Sequence[str] | None = None):
        self.config = config
        if not isinstance(paths, (str, Path)) and len(paths) == 1:
            paths = paths[0]
        if isinstance(paths, (str, Path)) and str(paths).endswith('.npz'):
            self._load_npz(Path(paths))
            return
        from video_planner.data.reader import EpisodeReader
        from video_planner.sim.arms import get_arm
        from video_planner.sim.segmentation import object_segment
        parts: dict[str, list] = {name: [] for name in _ARRAYS}
        texts: list[str] = []
        self.embeddings: dict[str, np.ndarray] = {}
        for episode in EpisodeReader(paths):
            if not episode.success or len(episode) < 2 or (arms is not None and episode.arm not in arms):
                continue
            scale = get_arm(episode.arm).scale
            offsets, grip = chunk_targets(episode.camera, episode.ee_pose, episode.gripper, scale, config)
            if episode.instruction not in self.embeddings:
                self.embeddings[episode.instruction] = np.asarray(text_encoder.encode(episode.instruction), np.float32)
            n = len(episode) - 1
            target = object_segment(episode.task, episode.task.get('target'))
            parts['images'].append(resize_frames(episode.rgb[:-1], config.image_size))
            parts['hints'].append(resize_masks(episode.seg[:-1] == target, config.image_size))
            parts['state'].append(state_vectors(episode.camera, episode.ee_pose[:-1], episode.gripper[:-1], scale))
            parts['offsets'].append(offsets)
            parts['gripper'].append(grip)
            texts += [episode.instruction] * n
        if not texts:
            raise VideoPlannerError(f'policy data: no successful episodes with >= 2 frames in {paths}; '
                                    'run `video-planner generate` first')
        for name, values in parts.items():
            setattr(self, name, np.concatenate(values))
        self.texts = texts
        self.episodes = len(parts['images'])

    # A packed copy (arrays + embeddings) trains where neither the simulator nor the text encoder is installed.
    def save_npz(self, path: str | Path) -> Path:
        names = sorted(self.embeddings)
        index = {name: i for i, name in enumerate(names)}
        np.savez_compressed(path, **{name: getattr(self, name) for name in _ARRAYS},
                            text_index=np.array([index[t] for t in self.texts]), texts=np.array(names),
                            embeddings=np.stack([self.embeddings[n] for n in names]), episodes=np.array(self.episodes),
                            position_scale_m=np.array(self.config.position_scale_m), chunk=np.array(self.config.chunk))
        return Path(path)

    def _load_npz(self, path: Path) -> None:
        if not path.is_file():
            raise VideoPlannerError(f'policy data: {path} does not exist')
        with np.load(path) as z:
            for key in ('position_scale_m', 'chunk'):
                if float(z[key]) != getattr(self.config, key):
                    raise VideoPlannerError(f'policy data {path}: packed with {key} {z[key].item()}, the config '
                                            f'says {getattr(self.config, key)}')
            texts = [str(t) for t in z['texts']]
            for name in _ARRAYS:
                setattr(self, name, z[name])
            self.images = resize_frames(self.images, self.config.image_size)
            self.hints = resize_masks(self.hints, self.config.image_size)
            self.embeddings = dict(zip(texts, z['embeddings'].astype(np.float32)))
            self.texts = [texts[i] for i in z['text_index']]
            self.episodes = int(z['episodes'])

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict:
        return {'image': policy_input(self.images[i], self.hints[i], self.config),
                'text_emb': torch.from_numpy(self.embeddings[self.texts[i]]),
                'state': torch.from_numpy(self.state[i]), 'offsets': torch.from_numpy(self.offsets[i]),
                'gripper': torch.from_numpy(self.gripper[i])}
