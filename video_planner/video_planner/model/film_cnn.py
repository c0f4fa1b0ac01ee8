"""Building blocks of the small image + instruction CNNs (the grounding network and the policy baseline).

A FiLM conv block that reads the sentence vector, pixel-coordinate channels, DrQ-style random shifts, and
the uint8 frame -> tensor conversion both networks train and run on.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class FilmBlock(nn.Module):
    """Stride-2 conv, GroupNorm, then a per-channel scale and shift computed from the text (FiLM)."""

    def __init__(self, c_in: int, c_out: int, text_dim: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, stride=2, padding=1)
        self.norm = nn.GroupNorm(8, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.film = nn.Linear(text_dim, 2 * c_out)
        # Start as the identity modulation so early training sees a plain CNN.
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.norm(self.conv(x)))
        gamma, beta = self.film(text).chunk(2, dim=1)
        h = h * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]
        return F.silu(h + self.conv2(h))


def with_pixel_coordinates(image: torch.Tensor) -> torch.Tensor:
    """(B, C, S, S) -> (B, C + 2, S, S): the column and row of every pixel in [-1, 1] appended, so that
    convolutions can tell where in the image a feature is."""
    b, _, s, _ = image.shape
    g = torch.linspace(-1, 1, s, device=image.device, dtype=image.dtype)
    v, u = torch.meshgrid(g, g, indexing='ij')
    return torch.cat([image, u.expand(b, 1, s, s), v.expand(b, 1, s, s)], 1)


def random_shift(image: torch.Tensor, max_px: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by up to `max_px` pixels (replicate padding): DrQ-style augmentation.
    The offsets come from `generator` (CPU); the indexing runs on the image's device."""
    if max_px <= 0:
        return image
    b, _, s, _ = image.shape
    padded = F.pad(image, (max_px,) * 4, mode='replicate')
    offsets = torch.randint(0, 2 * max_px + 1, (2, b), generator=generator).to(image.device)
    grid = torch.arange(s, device=image.device)
    rows = (grid[None, :] + offsets[0][:, None])[:, :, None]   # (b, s, 1)
    cols = (grid[None, :] + offsets[1][:, None])[:, None, :]   # (b, 1, s)
    batch = torch.arange(b, device=image.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def image_tensor(frame: np.ndarray) -> torch.Tensor:
    """(S, S, 3) uint8 frame -> (3, S, S) float in [-1, 1], as the small CNNs (policy, grounding) read it."""
    return torch.from_numpy(np.ascontiguousarray(frame)).float().div(127.5).sub(1.0).permute(2, 0, 1)


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    if frames.shape[1:3] == (size, size):
        return frames
    return np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in frames])
