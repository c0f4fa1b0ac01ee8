"""GroundingNetwork: (camera frame, instruction) -> per-pixel logits of "this is the object the words name"."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from video_planner.grounding.config import GroundingConfig
from video_planner.model.film_cnn import FilmBlock, random_shift, with_pixel_coordinates


class GroundingNetwork(nn.Module):
    """Input: image (B, 3, S, S) in [-1, 1] (2 pixel-coordinate channels are added inside) and text (B, D)
    pooled sentence embeddings. Output: (B, S, S) logits."""

    def __init__(self, config: GroundingConfig):
        super().__init__()
        self.config = config
        # Colour words change the pooled vector little, so centre it on the training
        # sentences' mean (set from the data, saved with the weights) and normalise.
        self.register_buffer('text_mean', torch.zeros(config.text_dim))
        self.text_norm = nn.LayerNorm(config.text_dim)
        widths = (5,) + config.channels
        self.down = nn.ModuleList(FilmBlock(a, b, config.text_dim) for a, b in zip(widths[:-1], widths[1:]))
        # Up: upsample, join the skip of the same size, conv, FiLM again (the words pick one object of many).
        self.up = nn.ModuleList(nn.Conv2d(widths[i + 1] + widths[i], widths[i] if i else 32, 3, padding=1)
                                for i in reversed(range(len(config.channels))))
        self.up_film = nn.ModuleList(nn.Linear(config.text_dim, 2 * conv.out_channels) for conv in self.up)
        # The logit of a pixel is its feature's dot product with a projection of the sentence (as LSeg): the
        # words pick pixels directly, not only through the FiLM scales.
        self.pixel = nn.Conv2d(32, 32, 1)
        self.query = nn.Linear(config.text_dim, 32)

    def forward(self, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        text = self.text_norm(text - self.text_mean)
        x = with_pixel_coordinates(image)
        skips = [x]
        for block in self.down:
            x = block(x, text)
            skips.append(x)
        skips.pop()
        for conv, film in zip(self.up, self.up_film):
            x = F.interpolate(x, scale_factor=2.0, mode='nearest')
            x = conv(torch.cat([x, skips.pop()], 1))
            gamma, beta = film(text).chunk(2, dim=1)
            x = F.silu(x * (1 + gamma[:, :, None, None]) + beta[:, :, None, None])
        return torch.einsum('bchw,bc->bhw', self.pixel(x), self.query(text)) / 32 ** 0.5


class GroundingLoss:
    """Cross-entropy between the softmax over the image's pixels and the named object's mask, normalised to
    sum to one: "where is it" is one distribution per image. (A per-pixel BCE collapses to "nowhere" on
    objects of a few pixels.)"""

    def __init__(self, network: GroundingNetwork, seed: int = 0):
        self.network = network
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, batch: dict) -> torch.Tensor:
        cfg = self.network.config
        image, mask = batch['image'], batch['mask']
        if self.network.training:
            # Shift image and mask together: stack the mask as a 4th channel for the same offsets.
            both = random_shift(torch.cat([image, mask[:, None]], 1), cfg.shift_px, self.generator)
            image, mask = both[:, :3], both[:, 3]
        logits = self.network(image, batch['text']).flatten(1)
        target = mask.flatten(1)
        target = target / target.sum(1, keepdim=True).clamp_min(1e-6)
        has_object = (mask.flatten(1).sum(1) > 0).float()   # a fully hidden object teaches nothing
        loss = -(target * F.log_softmax(logits, dim=1)).sum(1)
        return (loss * has_object).sum() / has_object.sum().clamp_min(1.0)
