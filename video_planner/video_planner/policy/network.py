"""PolicyNetwork: CNN + FiLM on the instruction embedding -> next waypoint delta (3) + gripper logit."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from video_planner.policy.config import PolicyConfig


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


class PolicyNetwork(nn.Module):
    """Input: image (B,3,S,S) in [-1,1] (+ 2 pixel-coordinate channels added inside), text (B,D), gripper
    state (B,1). Output: (B,4) = normalised position delta (3) and gripper-closed logit (1)."""

    def __init__(self, config: PolicyConfig):
        super().__init__()
        self.config = config
        widths = (5,) + config.channels
        self.blocks = nn.ModuleList(FilmBlock(a, b, config.text_dim) for a, b in zip(widths[:-1], widths[1:]))
        cells = (config.image_size // 2 ** len(config.channels)) ** 2
        # Flatten (not pool) the last map: where things are in the image is the whole point.
        self.head = nn.Sequential(nn.Linear(config.channels[-1] * cells + config.text_dim + 1, config.hidden),
                                  nn.SiLU(), nn.Linear(config.hidden, config.hidden), nn.SiLU(),
                                  nn.Linear(config.hidden, 4))

    def forward(self, image: torch.Tensor, text: torch.Tensor, gripper: torch.Tensor) -> torch.Tensor:
        x = with_pixel_coordinates(image)
        for block in self.blocks:
            x = block(x, text)
        return self.head(torch.cat([x.flatten(1), text, gripper], 1))


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


class PolicyLoss:
    """Smooth-L1 on the normalised delta + weighted BCE on the gripper; runs `network` on a batch."""

    def __init__(self, network: PolicyNetwork, seed: int = 0):
        self.network = network
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, batch: dict) -> torch.Tensor:
        cfg = self.network.config
        image = batch['image']
        if self.network.training:
            image = random_shift(image, cfg.shift_px, self.generator)
        out = self.network(image, batch['text_emb'], batch['gripper_state'])
        loss = F.smooth_l1_loss(out[:, :3], batch['delta'], beta=0.1)
        return loss + cfg.gripper_weight * F.binary_cross_entropy_with_logits(out[:, 3], batch['gripper_next'])
