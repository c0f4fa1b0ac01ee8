"""Reading episodes back: `EpisodeReader` (files -> `Episode`s) and `VideoClipDataset` (-> training clips)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator, Sequence

import cv2
import h5py
import numpy as np
import torch

from video_planner.data.episode import (CANONICAL_GRIPPER_MASK, CANONICAL_RGB, Episode, camera_from_attrs,
                                        read_episode)
from video_planner.camera import CameraModel
from video_planner.data.keyframes import SPACINGS, keyframe_indices
from video_planner.errors import VideoPlannerError
from video_planner.sim.segmentation import SEG_GRIPPER, object_segment


def episode_files(path_or_dir: str | Path | Sequence[str | Path]) -> list[Path]:
    """The episode files named by a file, a directory of `*.hdf5`, or a list of either (sorted)."""
    if isinstance(path_or_dir, (list, tuple)):
        return [f for item in path_or_dir for f in episode_files(item)]
    path = Path(path_or_dir)
    if path.is_dir():
        return sorted(f for f in path.glob('*.hdf5') if not f.name.startswith('.'))
    if path.is_file():
        return [path]
    raise VideoPlannerError(f'dataset path {path}: expected an .hdf5 episode file or a directory of them')


class EpisodeReader:
    """`EpisodeReader(path_or_dir)`: len(), [i] and iteration over the episodes, loaded on demand."""

    def __init__(self, path_or_dir: str | Path | Sequence[str | Path]):
        self.files = episode_files(path_or_dir)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Episode:
        return read_episode(self.files[index])

    def __iter__(self) -> Iterator[Episode]:
        for f in self.files:
            yield read_episode(f)


def clip_start_frames(n: int, starts: int) -> list[int]:
    """Up to `starts` distinct start frames, evenly spaced over the first half of an n-frame episode."""
    return [int(t) for t in np.unique(np.round(np.linspace(0, (n - 1) // 2, starts)).astype(int))]


def _rest_of_episode_clips(n: int, horizon: int, starts: int,
                           track: tuple[np.ndarray, np.ndarray] | None = None) -> list[tuple[int, ...]]:
    """Frame indices of clips that each run from a start frame to the episode's end: evenly spaced in time,
    or, given the episode's `track` (TCP positions (n, 3), gripper (n,)), its path's corners first
    (`data.keyframes`)."""
    clips = []
    for t0 in clip_start_frames(n, starts):
        if track is None:
            frames = tuple(int(t) for t in np.round(np.linspace(t0, n - 1, horizon + 1)).astype(int))
        else:
            frames = (t0, *keyframe_indices(track[0], track[1], t0, horizon))
        if frames not in clips:
            clips.append(frames)
    return clips


class VideoClipDataset(torch.utils.data.Dataset):
    """Clips of `horizon` future frames after a start frame, for the video model.

    stride: frames between clip frames; None spreads the K+1 clip frames evenly from the start frame to
    the episode's last frame (rounded; AVDC plans the whole task in one clip).
    spacing (with stride None): 'time' (even) or 'keyframes' (the path's corners and gripper changes first,
    then even in time: `data.keyframes`), so that short events such as a touch are drawn.
    clip_starts (with stride None): how many start frames per episode, evenly spaced over its first half.
    1 = every clip starts at frame 0. More teach the model to plan the rest of a task from a mid-task
    frame, which is what closed-loop replanning asks of it.
    Items: frame0 (H,W,3) uint8, future (K,H,W,3) uint8, ee_poses (K+1,4,4), gripper (K+1,),
    instruction, arm, task_family, camera (CameraModel at image_size), K (3,3), T_base_camera (4,4),
    depth0_m (H,W) float32, ee_mask0 (H,W) bool, target0 (H,W) bool (the pixels of the object the
    instruction names, from the segmentation; all False for an episode without a task record).
    Use `collate_clips` as a DataLoader's collate_fn.
    """

    def __init__(self, paths: str | Path | Sequence[str | Path], horizon: int = 8, stride: int | None = None,
                 image_size: int = 64, arms: Sequence[str] | None = None, only_success: bool = True,
                 clip_starts: int = 1, view: str = 'camera', spacing: str = 'time'):
        from video_planner.embodiment.canonical_view import check_view
        self.view = check_view(view, 'VideoClipDataset view')
        if horizon < 1:
            raise VideoPlannerError(f'horizon: expected >= 1, got {horizon}')
        if stride is not None and stride < 1:
            raise VideoPlannerError(f'stride: expected >= 1 or None, got {stride}')
        if clip_starts < 1 or (stride is not None and clip_starts != 1):
            raise VideoPlannerError(f'clip_starts: expected >= 1 (and 1 when stride is set), got {clip_starts}')
        if spacing not in SPACINGS:
            raise VideoPlannerError(f'spacing: expected one of {SPACINGS}, got {spacing!r}')
        self.files = episode_files(paths)
        self.horizon, self.stride, self.image_size = horizon, stride, image_size
        self.index: list[tuple[Path, tuple[int, ...]]] = []  # (file, recorded frame indices)
        for f in self.files:
            with h5py.File(f, 'r') as h:
                g = h['data/demo_0']
                n, arm, ok = int(g.attrs['num_samples']), str(g.attrs['arm']), bool(g.attrs['success'])
                track = ((np.asarray(g['obs/ee_pose'][:, :3, 3]), np.asarray(g['obs/gripper']))
                         if spacing == 'keyframes' and stride is None else None)
            if (arms is not None and arm not in arms) or (only_success and not ok):
                continue
            if stride is None:
                if n >= horizon + 1:
                    self.index.extend((f, frames) for frames in _rest_of_episode_clips(n, horizon, clip_starts, track))
            else:
                self.index.extend((f, tuple(range(t0, t0 + stride * (horizon + 1), stride)))
                                  for t0 in range(0, n - horizon * stride))
        if not self.index:
            raise VideoPlannerError(f'VideoClipDataset: no clips of horizon {horizon} in {len(self.files)} files')

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict:
        path, frames = self.index[i]
        frames, t0 = list(frames), frames[0]
        with h5py.File(path, 'r') as h:
            g = h['data/demo_0']
            rgb_key = 'obs/rgb' if self.view == 'camera' else f'obs/{CANONICAL_RGB}'
            if rgb_key not in g:
                raise VideoPlannerError(f'{path}: no canonical view (obs/{CANONICAL_RGB}); add it with '
                                        f'`video-planner canonicalize {path.parent}`')
            rgb = g[rgb_key][frames]
            depth0 = g['obs/depth_m'][t0]
            seg0 = g['obs/seg'][t0]
            ee_mask0 = (g[f'obs/{CANONICAL_GRIPPER_MASK}'][t0].astype(bool) if self.view == 'canonical' else
                        seg0 == SEG_GRIPPER)
            ee = g['obs/ee_pose'][frames]
            grip = g['obs/gripper'][frames]
            a = g.attrs
            camera = camera_from_attrs(a)
            instruction, arm, family = str(a['instruction']), str(a['arm']), str(a['task_family'])
            task = json.loads(a['task']) if 'task' in a else {}
            target = object_segment(task, task.get('target'))
        size = self.image_size
        if rgb.shape[1:3] != (size, size):
            rgb = np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA) for im in rgb])
            depth0 = cv2.resize(depth0, (size, size), interpolation=cv2.INTER_NEAREST)
            seg0 = cv2.resize(seg0.astype(np.float32), (size, size), interpolation=cv2.INTER_NEAREST).astype(np.int32)
            ee_mask0 = cv2.resize(ee_mask0.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST) > 0
            camera = camera.resized(size, size)
        return {'frame0': rgb[0], 'future': rgb[1:], 'ee_poses': ee, 'gripper': grip.astype(np.float32),
                'instruction': instruction, 'arm': arm, 'task_family': family, 'camera': camera,
                'K': camera.K.copy(), 'T_base_camera': camera.T_base_camera.copy(),
                'depth0_m': depth0.astype(np.float32), 'ee_mask0': ee_mask0, 'target0': seg0 == target}


def collate_clips(items: list[dict]) -> dict:
    """Batch clip dicts: arrays become stacked tensors, everything else a list."""
    out = {}
    for key in items[0]:
        values = [it[key] for it in items]
        out[key] = torch.from_numpy(np.stack(values)) if isinstance(values[0], np.ndarray) else values
    return out
