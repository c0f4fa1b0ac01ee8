#!/usr/bin/env python3
"""Write a compact copy of a generated dataset, for moving it to a training machine.

Same layout and reader as the original (docs/DATASET.md); depth is stored as float16 in 2 mm steps and segmentation
as uint8, everything with gzip level 9, which roughly halves the size. Training reads only RGB, the
first frame's depth and segmentation, and the poses, so nothing it uses loses precision that matters.
With --first-frame-only-depth, depth and segmentation keep only frame 0 (later frames are zeros, which
cost nothing compressed): enough for whole-episode clips (the video model) and for the inverse-dynamics
model, which reads RGB and poses only.
Usage: compact_dataset.py SRC_DIR DST_DIR [--max-episodes N] [--first-frame-only-depth]
"""
import argparse
from pathlib import Path

import h5py
import numpy as np

NARROW = {'depth_m': np.float16, 'seg': np.uint8}


def copy_group(src: h5py.Group, dst: h5py.Group, first_frame_only: bool) -> None:
    dst.attrs.update(dict(src.attrs))
    for name, item in src.items():
        if isinstance(item, h5py.Group):
            copy_group(item, dst.create_group(name), first_frame_only)
            continue
        data = item[()]
        if first_frame_only and name in NARROW:
            data[1:] = 0
        if name == 'depth_m':
            data = np.round(data * 500.0) / 500.0  # 2 mm steps: finer than the 64x64 camera resolves
        if name in NARROW:
            data = data.astype(NARROW[name])
        dst.create_dataset(name, data=data, compression='gzip', compression_opts=9, shuffle=True,
                           chunks=data.shape if data.ndim else None)  # one chunk: least metadata


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src')
    parser.add_argument('dst')
    parser.add_argument('--max-episodes', type=int, default=0)
    parser.add_argument('--first-frame-only-depth', action='store_true')
    args = parser.parse_args()
    files = sorted(Path(args.src).glob('*.hdf5'))
    if args.max_episodes:
        files = files[:args.max_episodes]
    out = Path(args.dst)
    out.mkdir(parents=True, exist_ok=True)
    for f in files:
        target = out / f.name
        if target.exists():
            continue
        tmp = target.with_suffix('.tmp')
        with h5py.File(f, 'r') as src, h5py.File(tmp, 'w', libver='latest') as dst:
            copy_group(src, dst, args.first_frame_only_depth)
        tmp.rename(target)
    total = sum(p.stat().st_size for p in out.glob('*.hdf5'))
    print(f'{len(files)} episodes -> {out} ({total / 2**20:.1f} MiB)')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
