"""Behaviour-cloning samples from the episode files: (frame t, instruction, gripper t) -> waypoint t+1.

The same HDF5 episodes the video model trains on (`video-planner generate`); every recorded frame but
the last is one sample. Frames are kept as uint8 in memory (a 64x64 frame is 12 KiB).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from video_planner.errors import VideoPlannerError
from video_planner.model.film_cnn import image_tensor, resize_frames
from video_planner.policy.config import PolicyConfig


def episode_targets(ee_pose: np.ndarray, gripper: np.ndarray, scale: float,
                    config: PolicyConfig) -> tuple[np.ndarray, np.ndarray]:
    """(N-1, 3) normalised base-frame position deltas t -> t+1 and (N-1,) gripper commands at t+1."""
    delta = (ee_pose[1:, :3, 3] - ee_pose[:-1, :3, 3]) / (scale * config.position_scale_m)
    return delta.astype(np.float32), (np.asarray(gripper[1:]) >= 0.5).astype(np.float32)


class PolicyStepDataset(Dataset):
    """Map-style: item i -> {image (3,S,S) in [-1,1], text_emb (D,), gripper_state (1,), delta (3,),
    gripper_next ()}; built from successful episodes only."""

    def __init__(self, paths: str | Path | Sequence[str | Path], text_encoder, config: PolicyConfig,
                 arms: Sequence[str] | None = None):
        if not isinstance(paths, (str, Path)) and len(paths) == 1:
            paths = paths[0]
        if isinstance(paths, (str, Path)) and str(paths).endswith('.npz'):
            self._load_npz(Path(paths), config)
            return
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

    # A packed copy (arrays + embeddings) trains where neither the simulator nor the text encoder is installed.
    def save_npz(self, path: str | Path) -> Path:
        names = sorted(self.embeddings)
        index = {name: i for i, name in enumerate(names)}
        np.savez_compressed(path, images=self.images, gripper_state=self.gripper_state, delta=self.delta,
                            gripper_next=self.gripper_next, text_index=np.array([index[t] for t in self.texts]),
                            texts=np.array(names), embeddings=np.stack([self.embeddings[n] for n in names]),
                            episodes=np.array(self.episodes), position_scale_m=np.array(self.config.position_scale_m))
        return Path(path)

    def _load_npz(self, path: Path, config: PolicyConfig) -> None:
        if not path.is_file():
            raise VideoPlannerError(f'policy data: {path} does not exist')
        with np.load(path) as z:
            if float(z['position_scale_m']) != config.position_scale_m:
                raise VideoPlannerError(f'policy data {path}: packed with position_scale_m '
                                        f'{float(z["position_scale_m"])}, the config says {config.position_scale_m}')
            texts = [str(t) for t in z['texts']]
            self.config = config
            self.images = resize_frames(z['images'], config.image_size)
            self.embeddings = dict(zip(texts, z['embeddings'].astype(np.float32)))
            self.texts = [texts[i] for i in z['text_index']]
            self.gripper_state, self.delta = z['gripper_state'], z['delta']
            self.gripper_next, self.episodes = z['gripper_next'], int(z['episodes'])

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict:
        return {'image': image_tensor(self.images[i]), 'text_emb': torch.from_numpy(self.embeddings[self.texts[i]]),
                'gripper_state': torch.tensor([self.gripper_state[i]], dtype=torch.float32),
                'delta': torch.from_numpy(self.delta[i]),
                'gripper_next': torch.tensor(self.gripper_next[i], dtype=torch.float32)}
