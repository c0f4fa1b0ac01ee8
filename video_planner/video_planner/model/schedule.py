"""DiffusionSchedule: the forward noising process and the conversions between what the network predicts.

Cosine alpha-bar (Nichol & Dhariwal) and v-prediction (Salimans & Ho) by default: v keeps the regression
target well-scaled at every noise level, which matters for a small network sampled in few DDIM steps.
"""
from __future__ import annotations

import math

import torch

from video_planner.errors import ConfigError


def cosine_alpha_bar(steps: int, s: float = 0.008) -> torch.Tensor:
    """alpha_bar(t) for t = 1..T on the squared-cosine curve, betas clipped at 0.999."""
    x = torch.linspace(0, steps, steps + 1, dtype=torch.float64)
    f = torch.cos(((x / steps) + s) / (1 + s) * math.pi / 2) ** 2
    ab = f / f[0]
    betas = (1 - ab[1:] / ab[:-1]).clamp(max=0.999)
    return torch.cumprod(1 - betas, dim=0)


def linear_alpha_bar(steps: int) -> torch.Tensor:
    betas = torch.linspace(1e-4 * 1000 / steps, 0.02 * 1000 / steps, steps, dtype=torch.float64)
    return torch.cumprod(1 - betas, dim=0)


def _bcast(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return v.reshape(-1, *([1] * (x.dim() - 1))).to(x.dtype)


class DiffusionSchedule:
    """Discrete-time schedule with T steps; index t in [0, T) (t = T-1 is almost pure noise)."""

    def __init__(self, steps: int = 1000, kind: str = 'cosine', prediction: str = 'v'):
        if prediction not in ('v', 'eps'):
            raise ConfigError(f"DiffusionSchedule: prediction must be 'v' or 'eps', got {prediction!r}")
        if kind == 'cosine':
            ab = cosine_alpha_bar(steps)
        elif kind == 'linear':
            ab = linear_alpha_bar(steps)
        else:
            raise ConfigError(f"DiffusionSchedule: kind must be 'cosine' or 'linear', got {kind!r}")
        self.steps = steps
        self.kind = kind
        self.prediction = prediction
        self.alpha_bar = ab.float()
        self.sqrt_ab = ab.sqrt().float()
        self.sqrt_1m_ab = (1 - ab).sqrt().float()

    @classmethod
    def from_config(cls, cfg) -> 'DiffusionSchedule':
        return cls(cfg.diffusion_steps, cfg.schedule, cfg.prediction)

    def _coef(self, table: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return _bcast(table.to(x.device)[t.long()], x)

    def sample_timesteps(self, batch: int, generator: torch.Generator | None = None,
                         device: torch.device | str = 'cpu') -> torch.Tensor:
        return torch.randint(0, self.steps, (batch,), generator=generator).to(device)

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t = sqrt(ab_t) x0 + sqrt(1 - ab_t) noise."""
        return self._coef(self.sqrt_ab, t, x0) * x0 + self._coef(self.sqrt_1m_ab, t, x0) * noise

    def target(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """What the network is trained to output at (x_t, t)."""
        if self.prediction == 'eps':
            return noise
        return self._coef(self.sqrt_ab, t, x0) * noise - self._coef(self.sqrt_1m_ab, t, x0) * x0

    def predict_x0_eps(self, x_t: torch.Tensor, t: torch.Tensor, out: torch.Tensor):
        """Network output -> (x0 estimate, eps estimate)."""
        a = self._coef(self.sqrt_ab, t, x_t)
        s = self._coef(self.sqrt_1m_ab, t, x_t)
        if self.prediction == 'eps':
            eps = out
            x0 = (x_t - s * eps) / a
        else:
            x0 = a * x_t - s * out
            eps = s * x_t + a * out
        return x0, eps
