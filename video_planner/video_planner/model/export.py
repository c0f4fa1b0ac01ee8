"""`python -m video_planner.model.export SRC DST`: the inference-only copy of a checkpoint that we ship.

It keeps the config and the EMA weights only, as float16, so a shipped model has one set of weights
(the EMA one) and is a quarter of the training checkpoint's size.
"""
from __future__ import annotations

import argparse

import torch

from video_planner.model.checkpoint import export_for_inference


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description='Write an inference-only (EMA, fp16) copy of a checkpoint.')
    parser.add_argument('src')
    parser.add_argument('dst')
    parser.add_argument('--fp32', action='store_true', help='keep float32 weights')
    args = parser.parse_args(argv)
    path = export_for_inference(args.src, args.dst, dtype=torch.float32 if args.fp32 else torch.float16,
                                ema_only=True)
    print(f'{args.src} -> {path} ({path.stat().st_size / 2**20:.2f} MiB)')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
