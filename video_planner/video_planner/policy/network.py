"""PolicyNetwork: FiLM CNN tokens + sentence + state -> transformer -> a chunk of waypoints (ACT-style)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from video_planner.model.film_cnn import FilmBlock, random_shift, with_pixel_coordinates
from video_planner.policy.config import PolicyConfig

STATE_DIM = 4   # the TCP's pixel (u, v in [-1, 1]), its depth over the arm scale, the gripper command


class PolicyNetwork(nn.Module):
    """Input: image (B, C, S, S) in [-1, 1] (RGB, plus the target hint in [0, 1] when `target_hint`),
    text (B, D), state (B, STATE_DIM). Output: (B, chunk, 4) = normalised position offsets from the current
    TCP in the camera frame (3) and gripper-closed logits (1), one row per future waypoint."""

    def __init__(self, config: PolicyConfig):
        super().__init__()
        self.config = config
        d = config.d_model
        widths = (config.image_channels + 2,) + config.channels
        self.blocks = nn.ModuleList(FilmBlock(a, b, config.text_dim) for a, b in zip(widths[:-1], widths[1:]))
        cells = (config.image_size // 2 ** len(config.channels)) ** 2
        self.to_token = nn.Linear(config.channels[-1], d)
        self.text_token = nn.Linear(config.text_dim, d)
        self.state_token = nn.Linear(STATE_DIM, d)
        # Learned positions: the image tokens' place in the grid matters; the last two are text and state.
        self.position = nn.Parameter(torch.randn(cells + 2, d) * 0.02)
        self.queries = nn.Parameter(torch.randn(config.chunk, d) * 0.02)
        layer = dict(d_model=d, nhead=config.heads, dim_feedforward=4 * d, dropout=config.dropout,
                     batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(**layer), config.encoder_layers,
                                             enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(**layer), config.decoder_layers)
        self.head = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 4))

    def forward(self, image: torch.Tensor, text: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        x = with_pixel_coordinates(image)
        for block in self.blocks:
            x = block(x, text)
        tokens = torch.cat([self.to_token(x.flatten(2).transpose(1, 2)), self.text_token(text)[:, None],
                            self.state_token(state)[:, None]], 1) + self.position
        memory = self.encoder(tokens)
        queries = self.queries.expand(image.shape[0], -1, -1)
        return self.head(self.decoder(queries, memory))


class PolicyLoss:
    """L1 on the normalised offsets (as ACT) + weighted BCE on the gripper; runs `network` on a batch."""

    def __init__(self, network: PolicyNetwork, seed: int = 0):
        self.network = network
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, batch: dict) -> torch.Tensor:
        cfg = self.network.config
        image = batch['image']
        if self.network.training:
            image = random_shift(image, cfg.shift_px, self.generator)
        out = self.network(image, batch['text_emb'], batch['state'])
        loss = F.l1_loss(out[..., :3], batch['offsets'])
        return loss + cfg.gripper_weight * F.binary_cross_entropy_with_logits(out[..., 3], batch['gripper'])
