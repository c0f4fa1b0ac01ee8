"""Video-plan sampling time on CPU; writes benchmarks/results/sampling.md.

For the default video model (the shipped checkpoint when present, else freshly initialised weights: the
time does not depend on the weights) and each batch size B, one `VideoModel.sample` call of B candidate
plans from one camera frame is timed ``--repeats`` times after a warm-up, with ``--threads`` torch
threads. Reported: median and best wall time per call and per plan, for each DDIM step count, with and
without guidance towards the target hint (one more network call per step; a model that reads a hint gets
a square mask).

Run: .venv/bin/python benchmarks/bench_sampling.py [--threads 2] [--steps 10 20] [--batch 1 4] [--hint-guidance 1 4]
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
    ap.add_argument('--hint-guidance', type=float, nargs='+', default=[1.0, 8.0])
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
    hint = None
    if cfg.target_hint:
        hint = np.zeros((cfg.image_size, cfg.image_size), np.float32)
        hint[cfg.image_size // 3:cfg.image_size // 2, cfg.image_size // 3:cfg.image_size // 2] = 1.0

    load_before = os.getloadavg()[0]
    rows = []
    settings = [(s, h, b) for s in args.steps for h in args.hint_guidance for b in args.batch]
    for steps, hint_guidance, b in settings:
        f0 = np.repeat(frame0, b, axis=0)
        times = time_call(lambda: model.sample(f0, text, steps=steps, seed=0, hint=hint,
                                               hint_guidance=hint_guidance), args.repeats)
        med, best = float(np.median(times)), float(np.min(times))
        rows.append((steps, hint_guidance, b, med, best, med / b))
        print(f'steps {steps:3d}  hint guidance {hint_guidance:.1f}  batch {b}: '
              f'{med:.3f} s per call (best {best:.3f}), {med / b:.3f} s per plan', flush=True)

    lines = [
        '# Video-plan sampling time (CPU)', '',
        f'Model: {source}; {n_params / 1e6:.2f} M parameters; {cfg.image_size}x{cfg.image_size} RGB, '
        f'K={cfg.horizon} future frames, patch {cfg.patch_size}, '
        f'channels {cfg.base_channels}x{list(cfg.channel_mults)}; target hint input: '
        f'{"yes" if cfg.target_hint else "no"}.',
        f'Machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, '
        f'{args.threads} torch thread(s); one call samples B candidate plans from one frame; '
        f'median of {args.repeats} calls after a warm-up. The machine was shared with other jobs '
        f'(1-min load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, '
        f'on {os.cpu_count()} cores), so times are upper bounds.', '',
        '| DDIM steps | hint guidance | batch B | s per call (median) | s per call (best) | s per plan |',
        '|---|---|---|---|---|---|',
    ]
    lines += [f'| {s} | {h:.1f} | {b} | {m:.3f} | {best:.3f} | {p:.3f} |' for s, h, b, m, best, p in rows]
    lines += ['', 'Command: `.venv/bin/python benchmarks/bench_sampling.py ' +
              f'--threads {args.threads} --steps {" ".join(map(str, args.steps))} '
              f'--batch {" ".join(map(str, args.batch))} '
              f'--hint-guidance {" ".join(map(str, args.hint_guidance))} '
              f'--repeats {args.repeats}`', '']
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text('\n'.join(lines))
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
