"""A toy instruction-following task: does a video-model config learn to do what the words say?

A white square sits on a black frame; the instruction says which way to push it, and the K future frames
show it sliding that way one pixel per frame. The first frame is the same for every direction, so only the
instruction can tell the model where to move. A config that reads the instruction well learns this in a
few hundred CPU steps; `follow_rate` counts the sampled plans that move the square the named way.

Used by the tests and by benchmarks/bench_text_conditioning.py to compare instruction features (the
pooled sentence vector vs the token states) without the cost of the simulator data.
"""
from __future__ import annotations

import numpy as np
import torch

from video_planner.model.video_model import VideoModel, images_to_tensor

# (row, column) step per frame; "forward" is up in the image, as with the simulator's camera.
DIRECTIONS: dict[str, tuple[int, int]] = {'left': (0, -1), 'right': (0, 1), 'forward': (-1, 0), 'backward': (1, 0)}
SENTENCES: dict[str, str] = {
    'left': 'push the white cube to the left', 'right': 'push the white cube to the right',
    'forward': 'push the white cube forward', 'backward': 'push the white cube backward'}
SQUARE = 3  # pixels


def toy_clip(direction: str, row: int, col: int, size: int, horizon: int) -> np.ndarray:
    """(K+1, size, size, 3) uint8: the square's top-left corner at (row, col), then moving one pixel a frame."""
    frames = np.zeros((horizon + 1, size, size, 3), np.uint8)
    dr, dc = DIRECTIONS[direction]
    for k in range(horizon + 1):
        r, c = row + dr * k, col + dc * k
        frames[k, r:r + SQUARE, c:c + SQUARE] = 255
    return frames


def start_range(size: int, horizon: int) -> tuple[int, int]:
    """Corner positions from which the square stays inside the frame whichever way it moves."""
    low, high = horizon, size - SQUARE - horizon
    if high < low:
        raise ValueError(f'toy task: a {size}-px frame is too small for {horizon} one-pixel moves')
    return low, high


def toy_batch(text_rows: dict[str, np.ndarray], n: int, size: int, horizon: int,
              rng: np.random.Generator) -> dict[str, torch.Tensor]:
    """A training batch {frame0, future, text_emb} of n random directions and start positions."""
    low, high = start_range(size, horizon)
    names = rng.choice(list(DIRECTIONS), n)
    rows, cols = rng.integers(low, high + 1, n), rng.integers(low, high + 1, n)
    video = images_to_tensor(np.stack([toy_clip(d, r, c, size, horizon) for d, r, c in zip(names, rows, cols)]))
    return {'frame0': video[:, 0], 'future': video[:, 1:],
            'text_emb': torch.from_numpy(np.stack([text_rows[d] for d in names]).astype(np.float32))}


def train_toy(model: VideoModel, text_rows: dict[str, np.ndarray], steps: int, batch_size: int = 32,
              lr: float = 2e-3, seed: int = 0, start_step: int = 0, optimizer=None):
    """Train `model` on the toy task for `steps` steps; returns the optimizer (to continue) and the losses."""
    cfg = model.config
    rng = np.random.default_rng(seed + 1000 * start_step)
    optimizer = optimizer or torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        loss = model.loss(toy_batch(text_rows, batch_size, cfg.image_size, cfg.horizon, rng))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return optimizer, losses


def follow_rate(model: VideoModel, text_rows: dict[str, np.ndarray], draws: int = 4, seed: int = 1,
                steps: int = 10) -> tuple[int, int]:
    """(plans whose square ends at least 2 px the named way, plans), draws per direction, from the centre."""
    cfg = model.config
    low, high = start_range(cfg.image_size, cfg.horizon)
    start = (low + high) // 2
    follows = total = 0
    for direction, row in text_rows.items():
        frame0 = toy_clip(direction, start, start, cfg.image_size, cfg.horizon)[0]
        plans = model.sample(np.repeat(frame0[None], draws, 0), np.repeat(row[None], draws, 0), steps=steps,
                             seed=seed)
        dr, dc = DIRECTIONS[direction]
        for plan in plans:
            total += 1
            bright = np.argwhere(plan[-1].mean(-1) > 127)
            if len(bright):
                moved = bright.mean(0) - start
                follows += int(moved[0] * dr + moved[1] * dc >= 2.0)
    return follows, total
