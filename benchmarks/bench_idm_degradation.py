"""Does the learned inverse dynamics read blurred or noisy frames? -> benchmarks/results/idm_degradation.md.

Generated plans are blurrier than camera frames. This feeds the shipped learned inverse dynamics the
recorded future of held-out episodes, sharp and degraded the way generated frames are (Gaussian blur,
pixel noise; frame 0 stays the real camera frame), and reports the mean end-effector position error
against the recorded path (the `ee error` of `python -m video_planner.evaluation.open_loop`). If the error
stays near the sharp one, a generated plan's error comes from its motion, not from its blur.

    python benchmarks/bench_idm_degradation.py --data data/eval/seen data/eval/heldout_arm
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from error_table import table_lines, utc_stamp, write_lines
from video_planner.data.reader import VideoClipDataset
from video_planner.evaluation.open_loop import ee_error_mm, inverse_dynamics_methods

RESULTS = Path(__file__).resolve().parent / 'results' / 'idm_degradation.md'


def blurred(video: np.ndarray, sigma_px: float) -> np.ndarray:
    return np.concatenate([video[:1], [cv2.GaussianBlur(f, (0, 0), sigma_px) for f in video[1:]]])


def noisy(video: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    out = video.astype(np.float32)
    out[1:] += rng.normal(0.0, std, out[1:].shape)
    return np.clip(out, 0, 255).astype(np.uint8)


DEGRADATIONS = {
    'sharp (recorded)': lambda v, rng: v,
    'blur 1 px': lambda v, rng: blurred(v, 1.0),
    'blur 2 px': lambda v, rng: blurred(v, 2.0),
    'noise 15 (of 255)': lambda v, rng: noisy(v, 15.0, rng),
    'blur 1 px + noise 10': lambda v, rng: noisy(blurred(v, 1.0), 10.0, rng),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', nargs='+', required=True, help='episode folders (one table column each)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', default=str(RESULTS))
    args = ap.parse_args()
    idm = inverse_dynamics_methods(['learned'])['learned']
    columns = {Path(d).name: VideoClipDataset([d], horizon=8, view=idm.config.view) for d in args.data}
    table = {name: {} for name in DEGRADATIONS}
    for column, dataset in columns.items():
        clips = [dataset[i] for i in range(len(dataset))]  # read once, degraded five ways
        videos = [np.concatenate([c['frame0'][None], c['future']]) for c in clips]
        rng = np.random.default_rng(args.seed)
        for name, degrade in DEGRADATIONS.items():
            errors = [ee_error_mm(idm, degrade(video, rng), clip) for video, clip in zip(videos, clips)]
            table[name][column] = float(np.mean(errors))
    lines = [f'Learned inverse dynamics on degraded recorded futures ({utc_stamp()}; `python '
             f'benchmarks/bench_idm_degradation.py --data {" ".join(args.data)}`).', '',
             'Mean end-effector position error over the 8 plan steps, mm (clips per column: '
             + ', '.join(f'{c} {len(d)}' for c, d in columns.items()) + ').', '',
             *table_lines('frames', table)]
    write_lines(args.out, lines)
    print('\n'.join(lines))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
