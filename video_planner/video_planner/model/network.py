"""VideoUNet: the denoiser of the video plan, factorised into per-frame 2D convs and temporal mixing.

As in UniPi / AVDC, the observed first frame is concatenated on channels to every noisy future frame, so the
network only has to learn how the scene changes; the instruction embedding and the diffusion time enter every
residual block through FiLM (per-channel scale and shift). With `text_tokens` > 0 the instruction's token
states also enter through cross-attention (every pixel queries the words, as in text-to-image UNets), which
can tie a word such as "red" to where red is in the frame; FiLM alone can only scale whole channels. The K
frames are processed as a batch of images by 2D convolutions, and mixed along time by a temporal conv at every
level and temporal self-attention at the coarser levels, which is far cheaper than 3D convolutions and lets one
network serve any arm seen on camera.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from video_planner.model.config import VideoModelConfig


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of (possibly fractional) diffusion times t (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


def _groups(ch: int) -> int:
    return 8 if ch % 8 == 0 else 1


class FilmResBlock(nn.Module):
    """Conv residual block whose second normalisation is modulated by the conditioning vector (FiLM)."""

    def __init__(self, in_ch: int, out_ch: int, cond_dim: int, dropout: float):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(in_ch), in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.film = nn.Linear(cond_dim, 2 * out_ch)
        self.norm2 = nn.GroupNorm(_groups(out_ch), out_ch)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()
        # Start as identity so a deep stack trains stably from step 0.
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.film(cond).chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale[:, :, None, None]) + shift[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


class TemporalConv(nn.Module):
    """Residual 1D conv along the K frames at every pixel: cheap local motion coupling."""

    def __init__(self, ch: int, horizon: int):
        super().__init__()
        self.horizon = horizon
        self.norm = nn.GroupNorm(_groups(ch), ch)
        self.conv = nn.Conv1d(ch, ch, 3, padding=1)
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bk, c, h, w = x.shape
        k = self.horizon
        y = F.silu(self.norm(x)).view(bk // k, k, c, h, w).permute(0, 3, 4, 2, 1).reshape(-1, c, k)
        y = self.conv(y).view(bk // k, h, w, c, k).permute(0, 4, 3, 1, 2).reshape(bk, c, h, w)
        return x + y


class TemporalAttention(nn.Module):
    """Residual self-attention over the K frames at every pixel, with a learned frame-position embedding."""

    # One sequence per pixel: batch 256 at 16x16 px is 65,536 sequences, one more than CUDA's fused
    # attention kernels take on a grid axis (bf16 training failed there on an H200). Bigger batches of
    # sequences go through in slices.
    max_sequences = 32768

    def __init__(self, ch: int, horizon: int, heads: int):
        super().__init__()
        self.horizon = horizon
        self.norm = nn.LayerNorm(ch)
        self.pos = nn.Parameter(torch.zeros(1, horizon, ch))
        self.attn = nn.MultiheadAttention(ch, heads, batch_first=True)
        nn.init.zeros_(self.attn.out_proj.weight)
        nn.init.zeros_(self.attn.out_proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bk, c, h, w = x.shape
        k = self.horizon
        seq = x.view(bk // k, k, c, h, w).permute(0, 3, 4, 1, 2).reshape(-1, k, c)
        q = self.norm(seq) + self.pos
        out = torch.cat([self.attn(part, part, part, need_weights=False)[0]
                         for part in q.split(self.max_sequences)])
        seq = seq + out
        return seq.view(bk // k, h, w, k, c).permute(0, 3, 4, 1, 2).reshape(bk, c, h, w)


class TextCrossAttention(nn.Module):
    """Residual attention from every pixel of a frame to the instruction's tokens (plus a learned null token).

    The null token keeps the softmax defined when the instruction is dropped (in training) and
    gives pixels that no word concerns somewhere to look. Starts as the identity (zero output projection).
    """

    def __init__(self, ch: int, text_dim: int, heads: int):
        super().__init__()
        self.norm = nn.GroupNorm(_groups(ch), ch)
        self.attn = nn.MultiheadAttention(ch, heads, kdim=text_dim, vdim=text_dim, batch_first=True)
        nn.init.zeros_(self.attn.out_proj.weight)
        nn.init.zeros_(self.attn.out_proj.bias)

    def forward(self, x: torch.Tensor, tokens: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """x (N,C,H,W); tokens (N,L,D) normalised, pad (N,L) True where there is no token."""
        n, c, h, w = x.shape
        q = self.norm(x).flatten(2).transpose(1, 2)
        out = self.attn(q, tokens, tokens, key_padding_mask=pad, need_weights=False)[0]
        return x + out.transpose(1, 2).reshape(n, c, h, w)


class Level(nn.Module):
    """The residual blocks of one resolution, each followed by text cross-attention (optional) and temporal mixing."""

    def __init__(self, in_ch: int, out_ch: int, n_blocks: int, cfg: VideoModelConfig, cond_dim: int,
                 attention: bool, cross_attention: bool = False):
        super().__init__()
        self.blocks = nn.ModuleList()
        self.cross = nn.ModuleList()
        self.temporal = nn.ModuleList()
        for i in range(n_blocks):
            self.blocks.append(FilmResBlock(in_ch if i == 0 else out_ch, out_ch, cond_dim, cfg.dropout))
            if cross_attention:
                self.cross.append(TextCrossAttention(out_ch, cfg.text_dim, cfg.attention_heads))
            mix = [TemporalConv(out_ch, cfg.horizon)]
            if attention:
                mix.append(TemporalAttention(out_ch, cfg.horizon, cfg.attention_heads))
            self.temporal.append(nn.Sequential(*mix))

    def forward(self, x: torch.Tensor, cond: torch.Tensor, words: tuple | None = None) -> torch.Tensor:
        for i, (block, mix) in enumerate(zip(self.blocks, self.temporal)):
            x = block(x, cond)
            if len(self.cross):
                x = self.cross[i](x, *words)
            x = mix(x)
        return x


class VideoUNet(nn.Module):
    """(noisy future (B,K,C,H,W), first frame (B,C,H,W), t (B,), text (B,F)) -> prediction (B,K,C,H,W).

    F = cfg.text_features: the pooled instruction vector, then cfg.text_tokens token states (zero = padding).
    """

    def __init__(self, cfg: VideoModelConfig):
        super().__init__()
        self.cfg = cfg
        c, e = cfg.base_channels, cfg.time_embed_dim
        self.time_mlp = nn.Sequential(nn.Linear(e, e), nn.SiLU(), nn.Linear(e, e))
        self.text_mlp = nn.Sequential(nn.Linear(cfg.text_dim, e), nn.SiLU(), nn.Linear(e, e))
        # Each future frame also knows which step of the plan it is.
        self.frame_embed = nn.Parameter(torch.zeros(cfg.horizon, e))
        if cfg.text_tokens:
            self.token_norm = nn.LayerNorm(cfg.text_dim)
            self.null_token = nn.Parameter(torch.zeros(1, 1, cfg.text_dim))
        # Pixel-unshuffle: the UNet runs on (patch x patch) cells, 1/patch^2 of the pixels, which is
        # what keeps a 10-step plan under a second on two CPU cores.
        p2 = cfg.patch_size ** 2
        self.stem = nn.Conv2d((2 * cfg.in_channels + int(cfg.target_hint)) * p2, c, 3, padding=1)

        chans = [c * m for m in cfg.channel_mults]
        attn, cross = set(cfg.temporal_attention_levels), set(cfg.cross_attention_levels)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        prev = c
        for i, ch in enumerate(chans):
            self.down.append(Level(prev, ch, cfg.blocks_per_level, cfg, e, i in attn, i in cross))
            prev = ch
            if i < len(chans) - 1:
                self.downsample.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1))
        self.mid = Level(prev, prev, 1, cfg, e, True, cfg.text_tokens > 0)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for i in reversed(range(len(chans))):
            self.up.append(Level(prev + chans[i], chans[i], cfg.blocks_per_level, cfg, e, i in attn, i in cross))
            prev = chans[i]
            if i > 0:
                self.upsample.append(nn.Conv2d(prev, prev, 3, padding=1))
        self.out_norm = nn.GroupNorm(_groups(prev), prev)
        self.out = nn.Conv2d(prev, cfg.in_channels * p2, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def conditioning(self, t: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """(B,) timesteps + (B, D) instruction embeddings -> (B, E) conditioning vector, before the frame index."""
        time = self.time_mlp(timestep_embedding(t, self.cfg.time_embed_dim))
        instruction = self.text_mlp(text)
        if self.cfg.balance_conditioning:
            e = time.shape[-1]
            time, instruction = F.layer_norm(time, (e,)), F.layer_norm(instruction, (e,))
        return time + instruction

    def words(self, text: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(B, text_features) -> the token states (B*K, 1+L, D) for cross-attention, with their padding mask."""
        if not self.cfg.text_tokens:
            return None
        b, d = text.shape[0], self.cfg.text_dim
        states = text[:, d:].reshape(b, self.cfg.text_tokens, d)
        # Zero rows are padding (short sentences) or a dropped instruction; the null token is never masked.
        pad = torch.cat([torch.zeros(b, 1, dtype=torch.bool, device=text.device), states.eq(0).all(-1)], dim=1)
        states = torch.cat([self.null_token.expand(b, 1, d), self.token_norm(states)], dim=1)
        n = states.shape[1]
        return (states[:, None].expand(b, k, n, d).reshape(b * k, n, d),
                pad[:, None].expand(b, k, n).reshape(b * k, n))

    def forward(self, x: torch.Tensor, frame0: torch.Tensor, t: torch.Tensor, text: torch.Tensor,
                hint: torch.Tensor | None = None) -> torch.Tensor:
        """hint (B,1,H,W) in [0, 1]: the target mask of a cfg.target_hint model (None: zeros, not known)."""
        b, k, ch, h, w = x.shape
        words = self.words(text, k)
        text = text[:, :self.cfg.text_dim]
        cond = self.conditioning(t, text)
        cond = (cond[:, None, :] + self.frame_embed[None, :k]).reshape(b * k, -1)
        cond = F.silu(cond)
        ctx = frame0[:, None].expand(b, k, ch, h, w)
        if self.cfg.target_hint:
            hint = torch.zeros_like(frame0[:, :1]) if hint is None else hint.to(frame0.dtype)
            ctx = torch.cat([ctx, hint[:, None].expand(b, k, 1, h, w)], dim=2)
        inp = torch.cat([x, ctx], dim=2).reshape(b * k, -1, h, w)
        hid = self.stem(F.pixel_unshuffle(inp, self.cfg.patch_size))

        skips = []
        for i, level in enumerate(self.down):
            hid = level(hid, cond, words)
            skips.append(hid)
            if i < len(self.downsample):
                hid = self.downsample[i](hid)
        hid = self.mid(hid, cond, words)
        for j, level in enumerate(self.up):
            hid = level(torch.cat([hid, skips.pop()], dim=1), cond, words)
            if j < len(self.upsample):
                hid = self.upsample[j](F.interpolate(hid, scale_factor=2.0, mode='nearest'))
        out = F.pixel_shuffle(self.out(F.silu(self.out_norm(hid))), self.cfg.patch_size)
        return out.view(b, k, ch, h, w)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
