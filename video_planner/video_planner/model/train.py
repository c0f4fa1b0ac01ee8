"""Fitting the video model on episodes: `video-planner train` (`video_planner.train`) with --model video.

Thin wiring: configs from YAML + flags, the data package's clips, the TextEncoder, and the generic Trainer.
`add_arguments` holds the flags every network's training shares. Launch on several processes with
`torchrun --nproc_per_node N -m video_planner.train ...` (same flags; gloo on CPU, nccl on GPUs, one GPU
per process).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

import numpy as np
import torch

from video_planner.data.keyframes import SPACINGS
from video_planner.embodiment import VIEWS
from video_planner.errors import VideoPlannerError
from video_planner.model.config import config_yaml_path, load_model_config, load_yaml_section
from video_planner.model.dataset import ClipTensorDataset, DeviceClips, find_episode_files
from video_planner.model.grid import video_grid
from video_planner.model.trainer import (CHECKPOINT_NAME, COMPILE_BACKENDS, LR_SCHEDULES, MODEL_NAME, PRECISIONS,
                                         TrainConfig, Trainer, overrides_from_args)
from video_planner.model.video_model import KIND, VideoModel


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--data', required=True, nargs='+',
                        help='folder(s) or .hdf5 file(s) written by `video-planner generate`')
    parser.add_argument('--config', default='default',
                        help="'tiny', 'default', 'tokens' (default + the instruction's token states through "
                             "cross-attention) or a YAML file with model:/training: sections")
    parser.add_argument('--out', required=True, help='run folder: checkpoints, samples, loss curve')
    parser.add_argument('--steps', type=int, default=None, help='total optimizer steps (overrides the config)')
    parser.add_argument('--batch-size', type=int, default=None, help='per-process batch size')
    parser.add_argument('--lr', type=float, default=None)
    parser.add_argument('--lr-schedule', choices=LR_SCHEDULES, default=None,
                        help='after warm-up: keep lr, or decay it on a cosine to lr * min_lr_ratio at --steps')
    parser.add_argument('--workers', type=int, default=None, help='data loader worker processes')
    parser.add_argument('--checkpoint-every', type=int, default=None)
    parser.add_argument('--sample-every', type=int, default=None)
    parser.add_argument('--max-minutes', type=float, default=None,
                        help='stop after this much training time (then save as usual)')
    parser.add_argument('--stop-at', type=int, default=None,
                        help='stop (and save) at this step while the lr schedule runs to --steps: a decay cut short')
    parser.add_argument('--stride', type=int, default=None,
                        help='frames between clip frames; default: the K+1 clip frames span the whole episode '
                             '(one clip per episode, the plan covers the whole task, as in AVDC)')
    parser.add_argument('--clip-starts', type=int, default=1,
                        help='without --stride: start frames per episode, spread over its first half; each clip '
                             'runs to the episode end, so the model learns to plan the rest of a task mid-way')
    parser.add_argument('--clip-spacing', choices=SPACINGS, default='time',
                        help="without --stride: clip frames evenly in time, or the path's corners and gripper "
                             "changes first (video_planner.data.keyframes), so a short touch is drawn")
    parser.add_argument('--recolourings', type=int, default=None,
                        help='grounding network: recoloured copies of every frame, objects repainted and the '
                             'instruction naming their new colours (video_planner.data.recolour); default 3')
    parser.add_argument('--view', choices=VIEWS, default=None,
                        help="frames to train on: 'canonical' paints the arm out and draws one canonical gripper "
                             "(arm-independent; `video-planner canonicalize` adds it to older episodes); "
                             "default: the config's (video, idm)")
    parser.add_argument('--resume', action='store_true', help=f'continue from OUT/{CHECKPOINT_NAME}')
    parser.add_argument('--init', default=None, help='start from these weights (fine-tuning); fresh optimizer')
    parser.add_argument('--mix-data', nargs='+', default=None,
                        help='episodes mixed into every batch (e.g. the simulator data when fine-tuning on yours)')
    parser.add_argument('--mix-ratio', type=float, default=0.5,
                        help='share of each batch drawn from --mix-data (video model)')
    parser.add_argument('--seed', type=int, default=None)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads per process')
    parser.add_argument('--text-cache', default=None,
                        help='folder of cached instruction embeddings (default OUT/text_cache)')
    parser.add_argument('--preload', action='store_true', help='hold all clips in memory (small datasets)')
    parser.add_argument('--data-on-device', action='store_true',
                        help='video model: hold all clips as uint8 on --device and gather batches there, '
                             'without loader workers (fast on a GPU; about 110 kB per 64 px clip)')
    parser.add_argument('--precision', choices=PRECISIONS, default=None,
                        help='bf16 autocasts the forward pass (GPUs); weights, EMA and optimizer stay fp32')
    parser.add_argument('--compile', nargs='?', const='inductor', default=None,
                        choices=[b for b in COMPILE_BACKENDS if b],
                        help='torch.compile the training loss (default backend inductor): fewer, fused kernels '
                             'on a GPU, after a compile of a minute or two')


def training_config(args: argparse.Namespace) -> TrainConfig:
    """The YAML's training: section, then the command-line overrides."""
    path = config_yaml_path(args.config)
    values = load_yaml_section(path, 'training') if path is not None else {}
    values.update(overrides_from_args(args))
    return TrainConfig.from_dict(values, source=f'training config {path or args.config}')


def load_clips(files: list[Path], horizon: int, stride: int | None, image_size: int, clip_starts: int = 1,
               view: str = 'camera', spacing: str = 'time'):
    try:
        from video_planner.data.reader import VideoClipDataset
    except ImportError as exc:
        raise VideoPlannerError('train: video_planner.data.VideoClipDataset is not available '
                                f'({exc}); the data package is required to read episodes') from exc
    return VideoClipDataset([str(f) for f in files], horizon=horizon, stride=stride, image_size=image_size,
                            clip_starts=clip_starts, view=view, spacing=spacing)


def make_sample_fn(dataset: ClipTensorDataset, n: int = 4, steps: int = 10):
    """Grid of [true clip; sampled plan] rows for n fixed clips, sampled with the EMA weights."""
    idx = np.linspace(0, len(dataset) - 1, min(n, len(dataset))).round().astype(int)
    clips = [dataset.raw(int(i)) for i in idx]
    frame0 = np.stack([c['frame0'] for c in clips])
    text = dataset.encode_text([c['instruction'] for c in clips])
    # A target_hint model samples with the recorded mask of the named object, its training condition.
    hint = (np.stack([np.asarray(c['target0'], np.float32) for c in clips])
            if all('target0' in c for c in clips) else None)

    def sample_fn(ema_model: VideoModel, step: int) -> np.ndarray:
        plans = ema_model.sample(frame0, text, steps=steps, seed=0, hint=hint)
        rows = []
        for c, plan in zip(clips, plans):
            rows.append(np.concatenate([c['frame0'][None], c['future']]))
            rows.append(np.concatenate([c['frame0'][None], plan]))
        return video_grid(rows)
    return sample_fn


def mixing_weights(clips, mix_files: set[Path], ratio: float) -> torch.Tensor:
    """Per-clip draw weights so that a `ratio` share of every batch comes from `mix_files` (on average)."""
    if not 0.0 <= ratio <= 1.0:
        raise VideoPlannerError(f'--mix-ratio must be in [0, 1], got {ratio}')
    from_mix = torch.tensor([Path(path) in mix_files for path, _ in clips.index], dtype=torch.bool)
    n_mix, n_own = int(from_mix.sum()), int((~from_mix).sum())
    if n_mix == 0 or n_own == 0:
        raise VideoPlannerError(f'--mix-data: need clips in both --data ({n_own}) and --mix-data ({n_mix})')
    return torch.where(from_mix, ratio / n_mix, (1.0 - ratio) / n_own).double()


def run_video(args: argparse.Namespace) -> int:
    from video_planner.text import TextEncoder
    cfg = load_model_config(args.config)
    if args.view:
        cfg = dataclasses.replace(cfg, view=args.view)
    tcfg = training_config(args)
    out = Path(args.out)
    files = find_episode_files(args.data)
    mix_files = find_episode_files(args.mix_data) if args.mix_data else []
    clips = load_clips(files + mix_files, cfg.horizon, args.stride, cfg.image_size, args.clip_starts, cfg.view,
                       args.clip_spacing)
    if args.recolourings:
        raise VideoPlannerError('--recolourings is for --model grounding (recolouring did not help the video model)')
    weights = mixing_weights(clips, set(mix_files), args.mix_ratio) if mix_files else None
    encoder = TextEncoder(cache_dir=args.text_cache or out / 'text_cache')
    dataset = ClipTensorDataset(clips, encoder, cfg.horizon, cfg.image_size,
                                preload=args.preload or args.data_on_device, preload_workers=tcfg.num_workers,
                                text_tokens=cfg.text_tokens)
    model = VideoModel(cfg)
    source = DeviceClips(dataset, args.device) if args.data_on_device else dataset
    trainer = Trainer(model, model.loss, source, tcfg, out, model_config=cfg.to_dict(), kind=KIND,
                      sample_fn=make_sample_fn(dataset), device=args.device, sample_weights=weights)
    if trainer.rank == 0:
        n_params = sum(p.numel() for p in model.parameters())
        mix = f' ({args.mix_ratio:.0%} of each batch from {len(mix_files)} --mix-data file(s))' if mix_files else ''
        print(f'video model: {n_params / 1e6:.2f} M parameters, {len(dataset)} clips from {len(files)} file(s){mix}, '
              f'{tcfg.steps} steps x batch {tcfg.batch_size} x {trainer.world_size} process(es)')
    trainer.start(args.resume, args.init)
    result = trainer.fit()
    if trainer.rank == 0:
        print(f'trained to step {result.step}: {result.steps_per_s:.2f} steps/s '
              f'({result.steps_per_s * tcfg.batch_size * trainer.world_size:.1f} clips/s); '
              f'final loss {result.losses[-1][1] if result.losses else float("nan"):.4f}; '
              f'weights {out / MODEL_NAME}, resume state {out / CHECKPOINT_NAME}')
    return 0


def configure_torch(args: argparse.Namespace) -> None:
    """Threads and device settings from the flags, for whichever network is trained."""
    if args.threads:
        torch.set_num_threads(args.threads)
    if str(args.device) == 'cuda' and 'LOCAL_RANK' in os.environ:
        # torchrun: one GPU per process.
        args.device = f"cuda:{os.environ['LOCAL_RANK']}"
        torch.cuda.set_device(args.device)
    if str(args.device).startswith('cuda'):
        torch.backends.cuda.matmul.allow_tf32 = True  # TF32 convs/matmuls: ~2x on Ampere+ at no visible cost
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
        # cuDNN's fused attention failed in the backward pass under bf16 autocast on an H200 (torch 2.11,
        # 'mha_graph.execute ... is_good()', at 65,536 sequences per call); flash attention serves instead.
        torch.backends.cuda.enable_cudnn_sdp(False)
