"""PolicyNetwork: CNN + FiLM on the instruction embedding -> next waypoint delta (3) + gripper logit."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from video_planner.model.film_cnn import FilmBlock, random_shift, with_pixel_coordinates
from video_planner.policy.config import PolicyConfig


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
