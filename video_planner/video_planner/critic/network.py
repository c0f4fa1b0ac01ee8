"""CriticNetwork: (plan frames, instruction) -> logit that the plan does what the instruction says."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from video_planner.critic.config import CriticConfig
from video_planner.policy.network import FilmBlock, random_shift, with_pixel_coordinates


class CriticNetwork(nn.Module):
    """Input: video (B, 3F, S, S) in [-1, 1] (F frames stacked; 2 pixel-coordinate channels are added
    inside) and text (B, D) pooled sentence embeddings. Output: (B,) logits."""

    def __init__(self, config: CriticConfig):
        super().__init__()
        self.config = config
        # Instructions that need different plans have pooled cosines of 0.8-1.0: their shared part swamps
        # the words that differ. Centring on the training sentences' mean and normalising leaves the
        # differences at full scale. The mean is set from the data before training and saved with the weights.
        self.register_buffer('text_mean', torch.zeros(config.text_dim))
        self.text_norm = nn.LayerNorm(config.text_dim)
        widths = (3 * len(config.frames) + 2,) + config.channels
        self.blocks = nn.ModuleList(FilmBlock(a, b, config.text_dim) for a, b in zip(widths[:-1], widths[1:]))
        cells = (config.image_size // 2 ** len(config.channels)) ** 2
        # Flatten (not pool) the last map: whether the arm ends at the named object is a question of where.
        self.head = nn.Sequential(nn.Linear(config.channels[-1] * cells + config.text_dim, config.hidden),
                                  nn.SiLU(), nn.Linear(config.hidden, 1))

    def forward(self, video: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        text = self.text_norm(text - self.text_mean)
        x = with_pixel_coordinates(video)
        for block in self.blocks:
            x = block(x, text)
        return self.head(torch.cat([x.flatten(1), text], 1))[:, 0]


def random_blur(video: torch.Tensor, max_sigma: float, generator: torch.Generator) -> torch.Tensor:
    """Gaussian blur of a random strength (0..max_sigma px) per sample, so camera-sharp training clips look
    like the model's softer plans too."""
    if max_sigma <= 0:
        return video
    sigma = torch.rand(video.shape[0], generator=generator) * max_sigma
    radius = max(1, int(round(2 * max_sigma)))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernels = torch.exp(-0.5 * (offsets[None] / sigma.clamp_min(1e-3)[:, None]) ** 2)
    kernels = (kernels / kernels.sum(1, keepdim=True)).to(video.device, video.dtype)   # (B, 2r+1)
    b, c, s, _ = video.shape
    x = F.pad(video.reshape(1, b * c, s, s), (radius,) * 4, mode='replicate')
    k = kernels.repeat_interleave(c, 0)                                               # (B*C, 2r+1)
    x = F.conv2d(x, k[:, None, :, None], groups=b * c)
    x = F.conv2d(x, k[:, None, None, :], groups=b * c)
    return x.reshape(b, c, s, s)


class CriticLoss:
    """Binary cross-entropy: the clip with its own instruction is 1; with a counterfactual instruction
    (another object, the opposite direction) and with another clip's instruction it is 0."""

    def __init__(self, network: CriticNetwork, seed: int = 0):
        self.network = network
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, batch: dict) -> torch.Tensor:
        cfg = self.network.config
        video = batch['video']
        if self.network.training:
            video = random_blur(random_shift(video, cfg.shift_px, self.generator), cfg.blur_sigma_px, self.generator)
        # Another clip's instruction: the batch rolled by one (a different scene, almost always).
        texts = torch.cat([batch['text'], batch['text_counter'], batch['text'].roll(1, 0)])
        logits = self.network(video.repeat(3, 1, 1, 1), texts)
        b = video.shape[0]
        target = torch.zeros(3 * b, device=video.device)
        target[:b] = 1.0
        weight = torch.ones(3 * b, device=video.device)
        weight[2 * b:] = (batch['text_id'] != batch['text_id'].roll(1, 0)).float()   # same sentence: no negative
        return F.binary_cross_entropy_with_logits(logits, target, weight=weight)
