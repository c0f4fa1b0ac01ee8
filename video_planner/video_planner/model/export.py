"""Inference-only copies of checkpoints: the EMA weights and the config, nothing else.

A training checkpoint holds raw + EMA weights, optimizer state and RNG state; the model shipped in
`models/` needs only what sampling uses. Storing the EMA weights as the file's weights removes the
classic "EMA vs raw weights" mix-up: there is one set of weights, and it is the EMA one.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from video_planner.model.checkpoint import Checkpoint, load_checkpoint, save_checkpoint


def export_for_inference(src: str | Path, dst: str | Path, half: bool = True) -> Path:
    ckpt = load_checkpoint(src)
    weights = ckpt.weights(use_ema=True)
    if half:  # loading casts back to the module's dtype; fp16 halves the file at no visible cost
        weights = {k: v.half() if v.is_floating_point() else v for k, v in weights.items()}
    extra = {k: v for k, v in ckpt.extra.items() if k in ('train_config', 'data', 'exported_from')}
    extra['exported_from'] = {'file': Path(src).name, 'step': ckpt.step, 'ema': ckpt.ema is not None,
                              'dtype': 'float16' if half else 'float32'}
    slim = Checkpoint(kind=ckpt.kind, config=ckpt.config, model=weights, ema=weights, step=ckpt.step, extra=extra)
    return save_checkpoint(dst, slim)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description='Write an inference-only (EMA, fp16) copy of a checkpoint.')
    parser.add_argument('src')
    parser.add_argument('dst')
    parser.add_argument('--fp32', action='store_true', help='keep float32 weights')
    args = parser.parse_args(argv)
    path = export_for_inference(args.src, args.dst, half=not args.fp32)
    print(f'{args.src} -> {path} ({path.stat().st_size / 2**20:.2f} MiB)')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
