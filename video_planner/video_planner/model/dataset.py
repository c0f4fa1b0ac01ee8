"""Turns the data package's clips into training tensors with cached instruction embeddings.

`video_planner.data.VideoClipDataset` yields dicts {frame0 (H,W,3) uint8, instruction, future (K,H,W,3) uint8,
ee_poses, gripper, arm, camera}; the video model trains on {frame0 (3,H,W), future (K,3,H,W) in [-1,1],
text_emb (text_features,)}. Embeddings come from a TextEncoder (memory + optional disk cache), so each distinct
instruction goes through the transformer once per machine.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from video_planner.errors import VideoPlannerError
from video_planner.model.video_model import images_to_tensor, uint8_to_unit


def _as_read(item):
    return item  # keep the clip's numpy arrays (the loader's default would make them tensors)


class ClipTensorDataset(Dataset):
    """Map-style adapter over a clip dataset (map-style or iterable); `preload` keeps every clip in memory."""

    def __init__(self, clips, text_encoder, horizon: int, image_size: int, preload: bool = False,
                 preload_workers: int = 0, text_tokens: int = 0):
        """`preload_workers` > 0 reads the clips in that many processes (many episode files, many cores);
        `text_tokens` is the model config's (how many token states follow the pooled instruction vector)."""
        self.text_encoder = text_encoder
        self.text_tokens = text_tokens
        self.horizon = horizon
        self.image_size = image_size
        mapped = hasattr(clips, '__getitem__') and hasattr(clips, '__len__')
        if preload and mapped and preload_workers > 0:
            clips = torch.utils.data.DataLoader(clips, batch_size=None, num_workers=preload_workers,
                                                collate_fn=_as_read)
        if preload or not mapped:
            clips = [self._check(c) for c in clips]
        self.clips = clips
        if len(self.clips) == 0:
            raise VideoPlannerError('training data: no clips found (episodes shorter than the horizon?)')

    def _check(self, clip: dict) -> dict:
        k, s = self.horizon, self.image_size
        f0, fut = np.asarray(clip['frame0']), np.asarray(clip['future'])
        if f0.shape != (s, s, 3) or fut.shape != (k, s, s, 3):
            raise VideoPlannerError(
                f'training clip: expected frame0 ({s},{s},3) and future ({k},{s},{s},3), got {f0.shape} and '
                f'{fut.shape}; generate data at image_size {s} / horizon {k} or pick a matching model config')
        return clip

    def __len__(self) -> int:
        return len(self.clips)

    def raw(self, i: int) -> dict:
        return self._check(self.clips[i])

    def encode_text(self, instructions: list[str]) -> np.ndarray:
        return self.text_encoder.encode_batch(instructions, tokens=self.text_tokens)

    def __getitem__(self, i: int) -> dict:
        clip = self.raw(i)
        return {
            'frame0': images_to_tensor(clip['frame0']),
            'future': images_to_tensor(clip['future']),
            'text_emb': torch.from_numpy(self.encode_text([clip['instruction']])[0]),
            'hint': hint_tensor(clip),
        }


def hint_tensor(clip: dict) -> torch.Tensor:
    """(1, H, W) float: the clip's target mask (zeros where the clip has none)."""
    if 'target0' in clip:
        return torch.from_numpy(np.asarray(clip['target0'], np.float32))[None]
    return torch.zeros((1,) + np.asarray(clip['frame0']).shape[:2])


class DeviceClips:
    """Every clip of a ClipTensorDataset stacked as uint8 on one device; `get_batch` gathers a batch there.

    The Trainer takes batches from `get_batch` instead of a DataLoader. On a GPU this removes the loader
    workers and the host-to-device copy of float clips, which bound the small video model's training
    speed there. A clip at 64 px with K = 8 takes 110 kB, so ten thousand clips need about 1.1 GB.
    """

    def __init__(self, dataset: ClipTensorDataset, device: str | torch.device):
        raws = [dataset.raw(i) for i in range(len(dataset))]
        frames = np.stack([np.concatenate([r['frame0'][None], r['future']]) for r in raws])  # (N, K+1, H, W, 3)
        self.frames = torch.from_numpy(frames).to(device)
        self.hints = torch.stack([hint_tensor(r) for r in raws]).to(torch.uint8).to(device)
        # One row per distinct instruction: with token states a row is 26 kB, too much to repeat per clip.
        sentences, which = np.unique([r['instruction'] for r in raws], return_inverse=True)
        self.text_rows = torch.from_numpy(dataset.encode_text(list(sentences))).to(device)
        self.text_index = torch.from_numpy(which.reshape(-1)).to(device)
        self.source = dataset
        self.text_encoder = dataset.text_encoder

    def __len__(self) -> int:
        return len(self.source)

    def raw(self, i: int) -> dict:
        return self.source.raw(i)

    def get_batch(self, indices) -> dict:
        idx = torch.as_tensor(indices, dtype=torch.long, device=self.frames.device)
        clips = self.frames[idx]
        # As images_to_tensor + default_collate lay them out (channels last in memory), so that
        # randn_like draws the same noise for the same batch whichever path delivered it.
        return {'frame0': uint8_to_unit(clips[:, 0].contiguous()),
                'future': uint8_to_unit(clips[:, 1:].contiguous()), 'text_emb': self.text_rows[self.text_index[idx]],
                'hint': self.hints[idx].float()}


def find_episode_files(data: str | Path | Sequence[str | Path]) -> list[Path]:
    """Folder(s) / .hdf5 file(s) -> the episode files (the data package's listing), never an empty list."""
    from video_planner.data.reader import episode_files
    items = [data] if isinstance(data, (str, Path)) else list(data)
    files = episode_files([Path(p) for p in items])
    if not files:
        raise VideoPlannerError(f'--data: no .hdf5 episode files in {", ".join(map(str, items))}; '
                                'run `video-planner generate` first')
    return files
