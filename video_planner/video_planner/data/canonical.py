"""The canonical view of recorded episodes (`video_planner.embodiment`), stored beside the camera frames.

`video-planner canonicalize DIR...` adds to each episode file obs/rgb_canonical (N, H, W, 3) uint8, the
frames with the arm painted out and the canonical gripper drawn at the recorded end effector, and
obs/ee_mask_canonical (N, H, W) bool, the canonical gripper's pixels. The arm's pixels come from the
recorded segmentation, which for a simulated camera are exactly what the URDF mask finds
(`embodiment.arm_mask`; tested). New episodes from `video-planner generate` carry both views already.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
from pathlib import Path

import h5py
import numpy as np

from video_planner.data.episode import CANONICAL_GRIPPER_MASK, CANONICAL_RGB, camera_from_attrs
from video_planner.errors import VideoPlannerError
_VIEWS: dict = {}  # arm name -> CanonicalView (per process)


def canonical_frames(arm: str, camera, rgb: np.ndarray, seg: np.ndarray, depth_m: np.ndarray,
                     ee_pose: np.ndarray, gripper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, H, W, 3) canonical frames and (N, H, W) canonical gripper masks of one episode's frames."""
    from video_planner.embodiment.canonical_view import CanonicalView, arm_mask_from_segmentation
    from video_planner.sim.arms import get_arm
    view = _VIEWS.get(arm)
    if view is None:
        view = _VIEWS[arm] = CanonicalView(get_arm(arm))
    frames, masks = [], []
    for i in range(len(rgb)):
        frame, mask = view.frame(rgb[i], camera, ee_pose[i], float(gripper[i]), arm_mask_from_segmentation(seg[i]),
                                 depth_m[i])
        frames.append(frame)
        masks.append(mask)
    return np.stack(frames), np.stack(masks)


def write_canonical_view(group: h5py.Group, frames: np.ndarray, masks: np.ndarray) -> None:
    """Store (or replace) the canonical view in an episode's obs group."""
    for name in (CANONICAL_RGB, CANONICAL_GRIPPER_MASK):
        if name in group:
            del group[name]
    group.create_dataset(CANONICAL_RGB, data=frames.astype(np.uint8), chunks=(1,) + frames.shape[1:],
                         compression='gzip', compression_opts=4)
    group.create_dataset(CANONICAL_GRIPPER_MASK, data=masks.astype(bool), compression='gzip', compression_opts=4)


def add_canonical_view(path: str | Path, overwrite: bool = False) -> bool:
    """Add the canonical view to one episode file in place; False when it had one and not `overwrite`."""
    path = Path(path)
    try:
        f = h5py.File(path, 'r+')
    except OSError as exc:
        raise VideoPlannerError(f'{path}: not a writable HDF5 episode file ({exc})') from exc
    with f:
        g = f['data/demo_0']
        obs = g['obs']
        if CANONICAL_RGB in obs and not overwrite:
            return False
        a = g.attrs
        camera = camera_from_attrs(a)
        frames, masks = canonical_frames(str(a['arm']), camera, obs['rgb'][()], obs['seg'][()], obs['depth_m'][()],
                                         obs['ee_pose'][()], obs['gripper'][()])
        write_canonical_view(obs, frames, masks)
    return True


def _work(args: tuple[str, bool]) -> tuple[str, str]:
    try:
        return args[0], 'added' if add_canonical_view(*args) else 'had it'
    except (VideoPlannerError, KeyError) as exc:
        return args[0], f'error: {exc}'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('data', nargs='+', help='episode folders or .hdf5 files')
    parser.add_argument('--workers', type=int, default=1)
    parser.add_argument('--overwrite', action='store_true', help='recompute a canonical view already there')


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from video_planner.data.reader import episode_files
    files = episode_files(args.data)
    if not files:
        raise VideoPlannerError(f'no episode files in {args.data}')
    jobs = [(str(f), args.overwrite) for f in files]
    pool = mp.get_context('spawn').Pool(args.workers) if args.workers > 1 else None
    results = pool.imap_unordered(_work, jobs, chunksize=8) if pool else map(_work, jobs)
    counts: dict[str, int] = {}
    errors = []
    try:
        for path, what in tqdm(results, total=len(jobs), desc='episodes', unit='ep'):
            key = 'error' if what.startswith('error') else what
            counts[key] = counts.get(key, 0) + 1
            if key == 'error':
                errors.append(f'{path}: {what}')
    finally:
        if pool:
            pool.close()
            pool.join()
    print(f"canonical view: added to {counts.get('added', 0)}, already in {counts.get('had it', 0)}, "
          f"failed {counts.get('error', 0)} of {len(files)} episodes")
    for line in errors[:10]:
        print(line, file=sys.stderr)
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='video-planner canonicalize', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == '__main__':
    raise SystemExit(main())
