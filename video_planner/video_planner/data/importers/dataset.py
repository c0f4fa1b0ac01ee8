"""Imported / recorded episodes -> the project's episode files (data/episode.py format).

Real-robot sources lack what only a simulator knows, so those fields are filled explicitly:
segmentation all 0 (no labels), object poses (N, 0, 4, 4), joint positions (N, 0) when no joints
were recorded, depth NaN when no depth stream was mapped. Actions are the next step's pose and
gripper (the commanded target of a demonstration), the last step holding its own.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from video_planner.data.episode import Episode, write_episode
from video_planner.data.importers.assembler import ImportedEpisode
from video_planner.errors import VideoPlannerError

TASK_FAMILY = 'imported'


def to_dataset_episode(imported: ImportedEpisode, task_family: str = TASK_FAMILY, split: str = 'train',
                       seed: int = 0) -> Episode:
    n = len(imported)
    if n < 1:
        raise VideoPlannerError(f'episode from {imported.source or "?"} has no steps')
    h, w = imported.rgb.shape[1:3]
    imported.camera.check_image(imported.rgb[0], 'rgb')
    depth = imported.depth_m if imported.depth_m is not None else np.full((n, h, w), np.nan, np.float32)
    joints = imported.joint_positions if imported.joint_positions is not None else np.zeros((n, 0))
    next_index = np.minimum(np.arange(n) + 1, n - 1)
    return Episode(
        instruction=imported.instruction, arm=imported.arm, task_family=task_family, camera=imported.camera,
        rgb=imported.rgb, depth_m=depth, seg=np.zeros((n, h, w), np.int32), ee_pose=imported.T_base_ee,
        gripper=imported.gripper.astype(np.float32), joint_positions=joints,
        object_poses=np.zeros((n, 0, 4, 4)), action_poses=imported.T_base_ee[next_index],
        action_gripper=imported.gripper[next_index].astype(np.float64), success=True, seed=seed, split=split,
        task={'source': imported.source, 'joint_names': list(imported.joint_names)})


def next_episode_path(out_dir: Path, prefix: str) -> Path:
    """``<prefix>_<k>.hdf5`` with k one past the highest already there (never overwrites)."""
    taken = [int(p.stem.rsplit('_', 1)[1]) for p in out_dir.glob(f'{prefix}_*.hdf5')
             if p.stem.rsplit('_', 1)[1].isdigit()]
    return out_dir / f'{prefix}_{max(taken, default=-1) + 1:06d}.hdf5'


def write_imported_episode(imported: ImportedEpisode, out_dir: str | Path, prefix: str = 'episode',
                           env: dict | None = None) -> Path:
    """Write one episode atomically to the next free ``<prefix>_<k>.hdf5`` in ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return write_episode(next_episode_path(out_dir, prefix), to_dataset_episode(imported), env)
