"""DDIM sampling: a deterministic (eta = 0) few-step walk down the diffusion schedule.

The sampler knows nothing of videos: `denoise(x_t, t)` returns the network output for a batch, so the same
loop serves B candidate plans at once, and a different network is a drop-in change.
"""
from __future__ import annotations

from typing import Callable

import torch

from video_planner.errors import VideoPlannerError
from video_planner.model.schedule import DiffusionSchedule


# Candidates are denoised a chunk at a time, and should_cancel is looked at before every step of a chunk, so
# one step of one chunk is the longest a cancel waits. The chunk grows while a step stays under STEP_TARGET_S
# (batching is up to 2x faster per candidate) and shrinks to one candidate on a slow or busy machine: one step
# of the shipped model takes ~0.05 s per candidate on an idle core, 0.2 s on a loaded one.
STEP_TARGET_S = 0.15
MAX_CHUNK = 8


class SamplingCancelled(VideoPlannerError):
    """should_cancel() returned True between two denoising steps; no plan was produced."""


def ddim_timesteps(schedule_steps: int, steps: int, start: int | None = None) -> list[int]:
    """`steps` decreasing, distinct training timesteps from `start` (default T-1) down to 0."""
    if not isinstance(steps, int) or steps < 1:
        raise VideoPlannerError(f'sampling steps: expected an int >= 1, got {steps!r}')
    if steps > schedule_steps:
        raise VideoPlannerError(f'sampling steps: {steps} is more than the {schedule_steps} training timesteps')
    start = schedule_steps - 1 if start is None else start
    if not (isinstance(start, int) and 1 <= start < schedule_steps):
        raise VideoPlannerError(f'start timestep: expected an int in [1, {schedule_steps - 1}], got {start!r}')
    if steps > start + 1:
        raise VideoPlannerError(f'sampling steps: {steps} is more than the {start + 1} timesteps from {start} to 0')
    ts = torch.linspace(start, 0, steps).round().long().tolist()
    return ts


@torch.no_grad()
def ddim_sample(denoise: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], schedule: DiffusionSchedule,
                shape: tuple[int, ...], steps: int, generator: torch.Generator | None = None,
                device: torch.device | str = 'cpu', clip: float | None = 1.0,
                callback: Callable[[int, int], None] | None = None,
                should_cancel: Callable[[], bool] | None = None,
                start: torch.Tensor | None = None, start_t: int | None = None,
                noise: torch.Tensor | None = None) -> torch.Tensor:
    """Run `steps` DDIM steps from Gaussian noise of `shape`; returns the x0 sample.

    With `start` (a clean sample of `shape`) and `start_t`, the run begins from `start` noised to timestep
    `start_t` instead (SDEdit): a low `start_t` keeps its content, `start_t` = T-1 is nearly plain sampling.
    `noise` (of `shape`) is the starting noise; None draws it from `generator`.

    callback(step, total) is called after each step (step = 1..total); should_cancel() is checked before each
    step and raises SamplingCancelled, so a planner can abandon a goal within one network evaluation.
    """
    if (start is None) != (start_t is None):
        raise VideoPlannerError('ddim_sample: give both start and start_t, or neither')
    ts = ddim_timesteps(schedule.steps, steps, start_t)
    if noise is not None and tuple(noise.shape) != tuple(shape):
        raise VideoPlannerError(f'ddim_sample: noise has shape {tuple(noise.shape)}, expected {tuple(shape)}')
    x = (torch.randn(shape, generator=generator, dtype=torch.float32) if noise is None else noise).to(device)
    ab = schedule.alpha_bar.to(device)
    if start is not None:
        x = ab[start_t].sqrt() * start.to(device) + (1 - ab[start_t]).sqrt() * x
    total = len(ts)
    for i, t in enumerate(ts):
        if should_cancel is not None and should_cancel():
            raise SamplingCancelled(f'sampling cancelled before step {i + 1} of {total}')
        t_batch = torch.full((shape[0],), t, dtype=torch.long, device=device)
        x0, eps = schedule.predict_x0_eps(x, t_batch, denoise(x, t_batch))
        if clip is not None:
            x0 = x0.clamp(-clip, clip)
            # Keep eps consistent with the clipped x0 so the next step stays on the data manifold.
            eps = (x - ab[t].sqrt() * x0) / (1 - ab[t]).sqrt()
        ab_prev = ab[ts[i + 1]] if i + 1 < total else torch.tensor(1.0, device=device)
        x = ab_prev.sqrt() * x0 + (1 - ab_prev).sqrt() * eps
        if callback is not None:
            callback(i + 1, total)
    return x
