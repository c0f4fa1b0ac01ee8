"""Trainer: a model-agnostic training loop with EMA, checkpoint/resume, sample grids, a loss curve and DDP.

It knows nothing of videos: give it a torch module, `loss_fn(batch) -> scalar loss` that runs the module,
a map-style dataset whose items the collate function batches, and a TrainConfig. The video model and the
learned inverse-dynamics model both train with it.

Batches are drawn by a generator seeded with (seed, step, rank), so a resumed run sees exactly the batches
the uninterrupted run would have seen, and each DDP rank sees different ones. Under torchrun (WORLD_SIZE > 1)
the ranks start from rank 0's weights and average their gradients with torch.distributed all-reduce (gloo
on CPU, nccl on GPU) before every optimizer step, which keeps the weights identical on every rank.
"""
from __future__ import annotations

import copy
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate

from video_planner.config_fields import dataclass_from_dict
from video_planner.errors import ConfigError
from video_planner.model.checkpoint import (
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    load_weights_into,
    save_checkpoint,
)

CHECKPOINT_NAME = 'checkpoint.pt'   # full state, for --resume
MODEL_NAME = 'model.pt'             # weights + EMA + config only, for shipping / inference
PRECISIONS = ('fp32', 'bf16')
LR_SCHEDULES = ('constant', 'cosine')
COMPILE_BACKENDS = ('', 'inductor', 'aot_eager', 'eager')  # '' = no torch.compile


@dataclass
class TrainConfig:
    batch_size: int = 16              # per rank
    lr: float = 2e-4
    weight_decay: float = 0.0
    steps: int = 1000                 # total optimizer steps (a resumed run continues up to this)
    warmup_steps: int = 100
    lr_schedule: str = 'constant'     # 'cosine': after warm-up, decay to lr * min_lr_ratio at `steps`
    min_lr_ratio: float = 0.1
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    checkpoint_every: int = 500
    sample_every: int = 0             # 0 = only at the end (if a sample function is given)
    log_every: int = 10
    seed: int = 0
    num_workers: int = 0
    max_seconds: float = 0.0          # > 0: stop (and save) after this much training wall time
    stop_at: int = 0                  # > 0: stop (and save) at this step, the lr schedule still running to `steps`
    precision: str = 'fp32'           # 'bf16': autocast the forward pass (GPUs; weights and optimizer stay fp32)
    compile: str = ''                 # torch.compile backend for the loss ('inductor' fuses the small kernels)

    def __post_init__(self):
        checks = [
            (self.batch_size >= 1, f'batch_size must be >= 1, got {self.batch_size}'),
            (self.lr > 0, f'lr must be > 0, got {self.lr}'),
            (self.steps >= 0, f'steps must be >= 0, got {self.steps}'),
            (self.warmup_steps >= 0, f'warmup_steps must be >= 0, got {self.warmup_steps}'),
            (self.lr_schedule in LR_SCHEDULES,
             f'lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}'),
            (0.0 <= self.min_lr_ratio <= 1.0, f'min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}'),
            (0.0 <= self.ema_decay < 1.0, f'ema_decay must be in [0, 1), got {self.ema_decay}'),
            (self.checkpoint_every >= 0, f'checkpoint_every must be >= 0, got {self.checkpoint_every}'),
            (self.sample_every >= 0, f'sample_every must be >= 0, got {self.sample_every}'),
            (self.log_every >= 1, f'log_every must be >= 1, got {self.log_every}'),
            (self.num_workers >= 0, f'num_workers must be >= 0, got {self.num_workers}'),
            (self.max_seconds >= 0, f'max_seconds must be >= 0, got {self.max_seconds}'),
            (0 <= self.stop_at <= self.steps, f'stop_at must be in 0..steps ({self.steps}), got {self.stop_at}'),
            (self.precision in PRECISIONS, f'precision must be one of {PRECISIONS}, got {self.precision!r}'),
            (self.compile in COMPILE_BACKENDS, f'compile must be one of {COMPILE_BACKENDS}, got {self.compile!r}'),
        ]
        for ok, msg in checks:
            if not ok:
                raise ConfigError(f'TrainConfig: {msg}')

    @classmethod
    def from_dict(cls, d: dict, source: str = 'training config') -> 'TrainConfig':
        return dataclass_from_dict(cls, d, source, 'training field(s)')


def overrides_from_args(args) -> dict:
    """The TrainConfig fields set by `video-planner train` flags (any --model; flags not given are left out),
    to lay over a config file's training section. Flags a parser lacks count as not given."""
    same_name = ('steps', 'batch_size', 'lr', 'lr_schedule', 'checkpoint_every', 'sample_every', 'seed',
                 'precision', 'compile', 'stop_at')
    values = {name: getattr(args, name, None) for name in same_name}
    values['num_workers'] = getattr(args, 'workers', None)
    minutes = getattr(args, 'max_minutes', None)
    values['max_seconds'] = None if minutes is None else 60.0 * minutes
    return {k: v for k, v in values.items() if v is not None}


@dataclass
class TrainResult:
    step: int
    losses: list[tuple[int, float]] = field(default_factory=list)
    steps_per_s: float = 0.0
    checkpoint: Path | None = None


class StepSeededSampler(Sampler):
    """Yields one batch of indices per step, drawn from a generator seeded by (seed, step, rank)."""

    def __init__(self, n: int, batch_size: int, start_step: int, end_step: int, seed: int, rank: int,
                 weights: torch.Tensor | None = None):
        """`weights` (n,), optional: relative draw probability of each item (e.g. to mix two datasets)."""
        self.n, self.batch_size, self.seed, self.rank = n, batch_size, seed, rank
        self.start_step, self.end_step = start_step, end_step
        if weights is not None and (len(weights) != n or not bool(torch.all(weights >= 0)) or not weights.sum() > 0):
            raise ConfigError(f'sample weights: expected {n} non-negative weights with a positive sum')
        self.weights = None if weights is None else torch.as_tensor(weights, dtype=torch.float64)

    def __iter__(self):
        for step in range(self.start_step, self.end_step):
            g = torch.Generator().manual_seed((self.seed * 1_000_003 + step * 1009 + self.rank) % (2 ** 63))
            if self.weights is None:
                yield torch.randint(0, self.n, (self.batch_size,), generator=g).tolist()
            else:
                yield torch.multinomial(self.weights, self.batch_size, replacement=True, generator=g).tolist()

    def __len__(self):
        return max(0, self.end_step - self.start_step)


def distributed_context() -> tuple[int, int]:
    """(rank, world_size); initialises the process group when launched by torchrun (WORLD_SIZE > 1)."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    world = int(os.environ.get('WORLD_SIZE', '1'))
    if world > 1:
        backend = 'nccl' if torch.cuda.is_available() else 'gloo'
        dist.init_process_group(backend=backend)
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class Trainer:
    def __init__(self, model: nn.Module, loss_fn: Callable[[Any], torch.Tensor], dataset: Dataset,
                 config: TrainConfig, out_dir: str | Path, model_config: dict | None = None,
                 kind: str = 'model', collate_fn: Callable | None = None,
                 sample_fn: Callable[[nn.Module, int], np.ndarray | None] | None = None,
                 device: str | torch.device = 'cpu', progress: bool = True,
                 sample_weights: torch.Tensor | None = None):
        """`loss_fn(batch)` must run `model` (the same object) so gradients land on its parameters.

        `sample_fn(ema_model, step)` returns an (H, W, 3) uint8 image (e.g. a grid of sampled plans) that is
        written to out_dir/samples/step_<n>.png; `model_config` is stored in every checkpoint so the model
        can be rebuilt from the file alone.
        """
        if len(dataset) == 0:
            raise ConfigError('Trainer: the dataset is empty; generate data first or check --data')
        self.model = model.to(device)
        # Compiling the loss call (not the module) keeps parameter names, so checkpoints and EMA are as before.
        self.loss_fn = torch.compile(loss_fn, backend=config.compile) if config.compile else loss_fn
        self.sample_weights = sample_weights  # per item of `dataset`; None = uniform
        self.dataset = dataset
        self.config = config
        self.out_dir = Path(out_dir)
        self.model_config = model_config or {}
        self.kind = kind
        self.collate_fn = collate_fn or default_collate
        self.sample_fn = sample_fn
        self.device = torch.device(device)
        self.rank, self.world_size = distributed_context()
        self.progress = progress and self.rank == 0
        self.step = 0
        self.loss_history: list[tuple[int, float]] = []
        torch.manual_seed(config.seed + self.rank)
        self.ema = copy.deepcopy(self.model).eval().requires_grad_(False)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.lr,
                                           weight_decay=config.weight_decay)
        self._sync_initial_weights()

    # -- state -----------------------------------------------------------------------------------
    def _sync_initial_weights(self) -> None:
        if self.world_size == 1:
            return
        import torch.distributed as dist
        with torch.no_grad():
            for t in list(self.model.state_dict().values()):
                dist.broadcast(t, src=0)
        self.ema.load_state_dict(self.model.state_dict())

    def init_from(self, path: str | Path) -> None:
        """Start from another checkpoint's weights (fine-tuning): step, optimizer and RNG start fresh.

        Layers this model has and the checkpoint lacks (e.g. text cross-attention added to a trained model)
        keep their initialisation; layers that gained input channels (the target hint) start with zeros there.
        Both are named on stdout.
        """
        ckpt = load_checkpoint(path, kind=self.kind)
        new = load_weights_into(self.model, ckpt.weights(use_ema=True), str(path), allow_new=True)
        if new and self.rank == 0:
            print(f'--init {path}: {len(new)} tensors are new (their initialisation) or wider (zeros in the new '
                  f'part): {", ".join(new[:4])}{", ..." if len(new) > 4 else ""}', flush=True)
        self.ema.load_state_dict(self.model.state_dict())

    def resume(self, path: str | Path | None = None) -> None:
        """Continue from a full checkpoint: weights, EMA, optimizer, step, loss history and RNG."""
        path = Path(path) if path is not None else self.out_dir / CHECKPOINT_NAME
        ckpt = load_checkpoint(path, kind=self.kind)
        load_weights_into(self.model, ckpt.model, str(path))
        load_weights_into(self.ema, ckpt.ema if ckpt.ema is not None else ckpt.model, str(path))
        if ckpt.optimizer is not None:
            self.optimizer.load_state_dict(ckpt.optimizer)
        self.step = int(ckpt.step)
        self.loss_history = [tuple(x) for x in ckpt.extra.get('loss_history', [])]
        if 'torch' in ckpt.rng and self.world_size == 1:
            torch.set_rng_state(ckpt.rng['torch'])
        else:
            torch.manual_seed(self.config.seed + self.rank + 7919 * self.step)

    def start(self, resume: bool = False, init: str | Path | None = None) -> None:
        """Where a run begins: OUT/checkpoint.pt (resume), another model's weights (init) or fresh."""
        if resume:
            if not (self.out_dir / CHECKPOINT_NAME).is_file():
                raise CheckpointError(f'--resume: no {CHECKPOINT_NAME} in {self.out_dir}; drop --resume to start fresh')
            self.resume()
        elif init:
            self.init_from(init)

    def _checkpoint(self, full: bool = True) -> Checkpoint:
        return Checkpoint(
            kind=self.kind, config=self.model_config, model=self.model.state_dict(),
            ema=self.ema.state_dict(), optimizer=self.optimizer.state_dict() if full else None,
            step=self.step, rng={'torch': torch.get_rng_state()} if full else {},
            extra={'train_config': asdict(self.config), 'loss_history': [list(x) for x in self.loss_history],
                   'world_size': self.world_size})

    def save(self) -> Path | None:
        if self.rank != 0:
            return None
        save_checkpoint(self.out_dir / MODEL_NAME, self._checkpoint(full=False))
        return save_checkpoint(self.out_dir / CHECKPOINT_NAME, self._checkpoint(full=True))

    # -- one step --------------------------------------------------------------------------------
    def _lr(self, step: int) -> float:
        cfg = self.config
        if cfg.warmup_steps > 0 and step < cfg.warmup_steps:
            return cfg.lr * (step + 1) / cfg.warmup_steps
        if cfg.lr_schedule == 'constant':
            return cfg.lr
        # Step-based (not time-based) so a resumed run follows exactly the curve of an uninterrupted one.
        span = max(1, cfg.steps - cfg.warmup_steps)
        progress = min(1.0, (step - cfg.warmup_steps) / span)
        floor = cfg.lr * cfg.min_lr_ratio
        return floor + (cfg.lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def _average_gradients(self) -> None:
        import torch.distributed as dist
        grads = [p.grad for p in self.model.parameters() if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world_size
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    @torch.no_grad()
    def _update_ema(self) -> None:
        # Warm the decay up so early EMA weights are not dominated by the random initialisation.
        decay = min(self.config.ema_decay, (1 + self.step) / (10 + self.step))
        # One fused call for all tensors: per-tensor lerps were a few hundred tiny kernel launches per step.
        torch._foreach_lerp_(list(self.ema.parameters()), [p.detach() for p in self.model.parameters()], 1 - decay)
        for e, b in zip(self.ema.buffers(), self.model.buffers()):
            e.copy_(b)

    def _to_device(self, batch: Any) -> Any:
        if isinstance(batch, torch.Tensor):
            return batch.to(self.device, non_blocking=True)
        if isinstance(batch, dict):
            return {k: self._to_device(v) for k, v in batch.items()}
        if isinstance(batch, (list, tuple)):
            return type(batch)(self._to_device(v) for v in batch)
        return batch

    def train_step(self, batch: Any) -> float:
        self.model.train()
        for group in self.optimizer.param_groups:
            group['lr'] = self._lr(self.step)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.config.precision == 'bf16'):
            loss = self.loss_fn(self._to_device(batch))
        if not torch.isfinite(loss):
            raise FloatingPointError(f'Trainer: loss became {loss.item()} at step {self.step}; lower lr')
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.world_size > 1:
            self._average_gradients()
        if self.config.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        self.step += 1
        self._update_ema()
        return float(loss.detach())

    # -- outputs ---------------------------------------------------------------------------------
    def write_samples(self) -> Path | None:
        if self.sample_fn is None or self.rank != 0:
            return None
        image = self.sample_fn(self.ema, self.step)
        if image is None:
            return None
        import cv2
        path = self.out_dir / 'samples' / f'step_{self.step:07d}.png'
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), cv2.cvtColor(np.asarray(image, np.uint8), cv2.COLOR_RGB2BGR))
        return path

    def recent_loss(self, logs: int = 10) -> float:
        """Mean of the last `logs` logged losses: one log is a mean over log_every batches, and a diffusion
        loss varies by tens of percent from one such window to the next (the noise levels drawn)."""
        recent = [loss for _, loss in self.loss_history[-logs:]]
        return float(np.mean(recent)) if recent else math.nan

    def write_loss_curve(self) -> Path | None:
        if self.rank != 0 or not self.loss_history:
            return None
        import matplotlib
        matplotlib.use('Agg')
        from matplotlib import pyplot as plt
        steps, losses = zip(*self.loss_history)
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(steps, losses, lw=0.8, alpha=0.5, label='loss')
        if len(losses) >= 5:
            w = max(2, len(losses) // 20)
            smooth = np.convolve(losses, np.ones(w) / w, mode='valid')
            ax.plot(steps[w - 1:], smooth, lw=1.5, label=f'mean of {w}')
        ax.set_xlabel('step')
        ax.set_ylabel('loss')
        ax.set_yscale('log')
        ax.set_title(f'{self.kind} training loss')
        ax.legend()
        fig.tight_layout()
        path = self.out_dir / 'loss.png'
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return path

    # -- the loop --------------------------------------------------------------------------------
    def _out_of_time(self, t0: float) -> bool:
        """All ranks stop at the same step: rank 0's clock decides."""
        flag = torch.tensor([float(time.perf_counter() - t0 > self.config.max_seconds)])
        if self.world_size > 1:
            import torch.distributed as dist
            dist.broadcast(flag, src=0)
        return bool(flag.item())

    def _batches(self, sampler: StepSeededSampler):
        """One batch per step: gathered by the dataset itself when it can (`get_batch(indices)`, e.g. clips
        already on the GPU, where loader workers would only copy them back and forth), else by a DataLoader."""
        if callable(getattr(self.dataset, 'get_batch', None)):
            return (self.dataset.get_batch(indices) for indices in sampler)
        # The loader's own generator keeps it from drawing on the global RNG, whose state the checkpoint
        # restores: otherwise a resumed run would see different noise than an uninterrupted one.
        return DataLoader(self.dataset, batch_sampler=sampler, collate_fn=self.collate_fn,
                          num_workers=self.config.num_workers, persistent_workers=False,
                          generator=torch.Generator().manual_seed(self.config.seed + 7919 * self.step + self.rank))

    def fit(self) -> TrainResult:
        cfg = self.config
        self.out_dir.mkdir(parents=True, exist_ok=True)
        sampler = StepSeededSampler(len(self.dataset), cfg.batch_size, self.step, cfg.steps, cfg.seed, self.rank,
                                    weights=self.sample_weights)
        loader = self._batches(sampler)
        from tqdm import tqdm
        bar = tqdm(total=cfg.steps, initial=self.step, disable=not self.progress, desc=f'train {self.kind}',
                   unit='step', dynamic_ncols=True)
        start_step, t0 = self.step, time.perf_counter()
        window: list[float] = []
        for batch in loader:
            loss = self.train_step(batch)
            window.append(loss)
            bar.update(1)
            if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                mean = float(np.mean(window))
                self.loss_history.append((self.step, mean))
                window.clear()
                rate = (self.step - start_step) / max(1e-9, time.perf_counter() - t0)
                bar.set_postfix(loss=f'{mean:.4f}', steps_per_s=f'{rate:.2f}')
            if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0 and self.step < cfg.steps:
                self.save()
                self.write_loss_curve()
            if cfg.sample_every and self.step % cfg.sample_every == 0 and self.step < cfg.steps:
                self.write_samples()
            if cfg.max_seconds and self._out_of_time(t0):
                break
            if cfg.stop_at and self.step >= cfg.stop_at:
                break
        if window:  # stopped between two log points (time or step limit): keep the last partial mean
            self.loss_history.append((self.step, float(np.mean(window))))
        bar.close()
        elapsed = time.perf_counter() - t0
        done = self.step - start_step
        rate = done / elapsed if elapsed > 0 and done else 0.0
        path = self.save()
        self.write_loss_curve()
        self.write_samples()
        if self.rank == 0:
            (self.out_dir / 'train_summary.json').write_text(json.dumps({
                'kind': self.kind, 'step': self.step, 'steps_this_run': done, 'seconds': round(elapsed, 3),
                'steps_per_s': round(rate, 4), 'world_size': self.world_size,
                'final_loss': self.loss_history[-1][1] if self.loss_history else math.nan,
                'recent_loss': self.recent_loss()}, indent=2))
        return TrainResult(step=self.step, losses=list(self.loss_history), steps_per_s=rate, checkpoint=path)
