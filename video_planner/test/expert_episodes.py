"""Recorded expert episodes on the simulated Panda, written as HDF5 files, for tests that train on them."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from video_planner.data.episode import write_episode
from video_planner.data.recording import record_expert_episode
from video_planner.sim.arms import get_arm
from video_planner.sim.tasks import sample_task
from video_planner.sim.world import TabletopWorld


def write_expert_episodes(out: Path, families: tuple[str, ...], image_size: int = 32, frames: int = 12) -> Path:
    """One successful expert episode per task family (task seed = its position), as out/ep_NNNNNN.hdf5."""
    with TabletopWorld('panda', seed=0, image_size=image_size) as world:
        for i, family in enumerate(families):
            task = sample_task(get_arm('panda'), family, np.random.default_rng(i))
            episode = record_expert_episode(world, task, seed=i, frames=frames)
            assert episode.success, f'the expert failed {family!r} (task seed {i})'
            write_episode(out / f'ep_{i:06d}.hdf5', episode)
    return out
