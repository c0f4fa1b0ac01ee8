"""Video-plan sampling time on CPU; writes benchmarks/results/sampling.md.

For the default video model (the shipped checkpoint when present, else freshly initialised weights: the
time does not depend on the weights) and each batch size B, one `VideoModel.sample` call of B candidate
plans from one camera frame is timed ``--repeats`` times after a warm-up, with ``--threads`` torch
threads. Reported: median and best wall time per call and per plan, for each DDIM step count, with and
without classifier-free guidance (guidance doubles the network batch).

Run: .venv/bin/python benchmarks/bench_sampling.py [--threads 2] [--steps 10 20] [--batch 1 4]
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from video_planner.model import PRESETS, VideoModel

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / 'results' / 'sampling.md'
SHIPPED = ROOT / 'video_planner' / 'models' / 'default.pt'


def time_call(fn, repeats: int) -> list[float]:
    fn()  # warm-up: allocator, oneDNN kernel selection
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--steps', type=int, nargs='+', default=[10, 20])
    ap.add_argument('--batch', type=int, nargs='+', default=[1, 4])
    ap.add_argument('--guidance', type=float, nargs='+', default=[1.0, 2.0])
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--checkpoint', default=str(SHIPPED))
    ap.add_argument('--out', default=str(RESULTS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    if Path(args.checkpoint).is_file():
        model, source = VideoModel.load(args.checkpoint), f'checkpoint `{Path(args.checkpoint).name}`'
    else:
        torch.manual_seed(0)
        model, source = VideoModel(PRESETS['default']).eval(), 'default config, untrained weights'
    cfg = model.config
    n_params = sum(p.numel() for p in model.parameters())
    rng = np.random.default_rng(0)
    frame0 = rng.integers(0, 256, (1, cfg.image_size, cfg.image_size, 3), dtype=np.uint8)
    text = rng.normal(size=(1, cfg.text_features)).astype(np.float32)  # every token slot filled: the worst case

    load_before = os.getloadavg()[0]
    rows = []
    for steps in args.steps:
        for guidance in args.guidance:
            for b in args.batch:
                f0 = np.repeat(frame0, b, axis=0)
                times = time_call(lambda: model.sample(f0, text, steps=steps, seed=0, guidance_scale=guidance),
                                  args.repeats)
                med, best = float(np.median(times)), float(np.min(times))
                rows.append((steps, guidance, b, med, best, med / b))
                print(f'steps {steps:3d}  guidance {guidance:.1f}  batch {b}: {med:.3f} s per call '
                      f'(best {best:.3f}), {med / b:.3f} s per plan', flush=True)

    lines = [
        '# Video-plan sampling time (CPU)', '',
        f'Model: {source}; {n_params / 1e6:.2f} M parameters; {cfg.image_size}x{cfg.image_size} RGB, '
        f'K={cfg.horizon} future frames, patch {cfg.patch_size}, '
        f'channels {cfg.base_channels}x{list(cfg.channel_mults)}.',
        f'Machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, '
        f'{args.threads} torch thread(s); one call samples B candidate plans from one frame; '
        f'median of {args.repeats} calls after a warm-up. The machine was shared with other jobs '
        f'(1-min load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, '
        f'on {os.cpu_count()} cores), so times are upper bounds.', '',
        '| DDIM steps | guidance | batch B | s per call (median) | s per call (best) | s per plan |',
        '|---|---|---|---|---|---|',
    ]
    lines += [f'| {s} | {g:.1f} | {b} | {m:.3f} | {best:.3f} | {p:.3f} |' for s, g, b, m, best, p in rows]
    lines += ['', 'Command: `.venv/bin/python benchmarks/bench_sampling.py ' +
              f'--threads {args.threads} --steps {" ".join(map(str, args.steps))} '
              f'--batch {" ".join(map(str, args.batch))} --guidance {" ".join(map(str, args.guidance))} '
              f'--repeats {args.repeats}`', '']
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text('\n'.join(lines))
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
