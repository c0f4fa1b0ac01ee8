"""VideoModel: network + schedule + config, i.e. everything needed to train on clips and to sample plans."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from video_planner.errors import VideoPlannerError
from video_planner.model.checkpoint import CheckpointError, load_checkpoint, load_weights_into
from video_planner.model.config import VideoModelConfig
from video_planner.model.network import VideoUNet
from video_planner.model.sampler import MAX_CHUNK, STEP_TARGET_S, ddim_sample
from video_planner.model.schedule import DiffusionSchedule

KIND = 'video'
SHIPPED_NAME = 'default.pt'


def shipped_checkpoint() -> Path:
    """Path of the shipped default video model: the source tree's models/, else the installed share/."""
    import sys
    candidates = [Path(__file__).resolve().parents[2] / 'models' / SHIPPED_NAME,
                  Path(sys.prefix) / 'share' / 'video_planner' / 'models' / SHIPPED_NAME]
    for path in candidates:
        if path.is_file():
            return path
    raise CheckpointError(f'no shipped video model: looked for {" and ".join(map(str, candidates))}; '
                          'train one with `video-planner train --config default` and pass its model.pt')


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (..., H, W, 3) -> float32 (..., 3, H, W) in [-1, 1]."""
    return uint8_to_unit(torch.from_numpy(np.array(images, dtype=np.uint8)))


def uint8_to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 tensor (..., H, W, 3), on any device -> float32 (..., 3, H, W) in [-1, 1]."""
    return images.float().div_(127.5).sub_(1.0).movedim(-1, -3)


def tensor_to_images(t: torch.Tensor) -> np.ndarray:
    """float (..., 3, H, W) in [-1, 1] -> uint8 (..., H, W, 3)."""
    t = ((t.clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return t.movedim(-3, -1).cpu().numpy()


class VideoModel(nn.Module):
    """Text- and first-frame-conditioned video diffusion model: train with `loss`, plan with `sample`."""

    def __init__(self, config: VideoModelConfig):
        super().__init__()
        self.config = config
        self.network = VideoUNet(config)
        self.schedule = DiffusionSchedule.from_config(config)

    # -- training --------------------------------------------------------------------------------
    def loss(self, batch: dict) -> torch.Tensor:
        """Denoising loss on a batch {frame0 (B,3,H,W), future (B,K,3,H,W) in [-1,1], text_emb (B,D)}."""
        x0, frame0, text = batch['future'], batch['frame0'], batch['text_emb']
        b = x0.shape[0]
        t = torch.randint(0, self.schedule.steps, (b,), device=x0.device)
        noise = torch.randn_like(x0)
        hint = batch.get('hint') if self.config.target_hint else None
        if self.training and self.config.text_dropout > 0:
            # Drop the instruction now and then, so a plan without it is a condition the model knows. The
            # target hint goes with it (it says what the words say) and is also dropped on its own, so a plan
            # with words and no hint is known too: hint guidance compares the two, and a model without a
            # grounding network at hand plans that way.
            keep = (torch.rand(b, device=x0.device) >= self.config.text_dropout).float()[:, None]
            text = text * keep
            if hint is not None:
                keep_hint = keep * (torch.rand(b, 1, device=x0.device) >= self.config.text_dropout).float()
                hint = hint * keep_hint[:, :, None, None]
        out = self.network(self.schedule.q_sample(x0, t, noise), frame0, t, text, hint)
        return F.mse_loss(out, self.schedule.target(x0, t, noise))

    def forward(self, batch: dict) -> torch.Tensor:
        return self.loss(batch)

    # -- inference -------------------------------------------------------------------------------
    def encode_text(self, text_encoder, instructions) -> np.ndarray:
        """Instructions -> the (N, text_features) rows this model reads (pooled vector [+ token states])."""
        return text_encoder.encode_batch(list(instructions), tokens=self.config.text_tokens)

    def _check_inputs(self, frame0: np.ndarray, text_emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        frame0 = np.asarray(frame0)
        if frame0.ndim == 3:
            frame0 = frame0[None]
        if frame0.ndim != 4 or frame0.shape[1:] != (cfg.image_size, cfg.image_size, cfg.in_channels):
            raise VideoPlannerError(
                f'frame0: expected uint8 (B, {cfg.image_size}, {cfg.image_size}, {cfg.in_channels}) RGB, got shape '
                f'{frame0.shape}; resize the camera image (and CameraModel.resized) to the model image_size')
        if frame0.dtype != np.uint8:
            raise VideoPlannerError(f'frame0: expected dtype uint8, got {frame0.dtype}')
        text_emb = np.asarray(text_emb, dtype=np.float32)
        if text_emb.ndim == 1:
            text_emb = text_emb[None]
        if text_emb.ndim != 2 or text_emb.shape[1] != cfg.text_features:
            hint = (f' (the pooled vector and {cfg.text_tokens} token states: VideoModel.encode_text)'
                    if cfg.text_tokens else '')
            raise VideoPlannerError(f'text_emb: expected (B, {cfg.text_features}) float{hint}, got shape '
                                    f'{text_emb.shape}')
        if not np.all(np.isfinite(text_emb)):
            raise VideoPlannerError('text_emb: contains NaN or inf')
        b = max(frame0.shape[0], text_emb.shape[0])
        # A single frame or a single instruction is shared by all B candidates.
        if frame0.shape[0] not in (1, b) or text_emb.shape[0] not in (1, b):
            raise VideoPlannerError(f'frame0 batch {frame0.shape[0]} and text_emb batch {text_emb.shape[0]} '
                                    'must be equal (or one of them 1)')
        return np.broadcast_to(frame0, (b,) + frame0.shape[1:]), np.broadcast_to(text_emb, (b, cfg.text_features))

    @torch.no_grad()
    def sample(self, frame0: np.ndarray, text_emb: np.ndarray, steps: int = 10, seed: int | None = 0,
               callback: Callable[[int, int], None] | None = None,
               should_cancel: Callable[[], bool] | None = None,
               start_video: np.ndarray | None = None,
               start_t: int | None = None, hint: np.ndarray | None = None,
               hint_guidance: float = 1.0) -> np.ndarray:
        """frame0 (B,H,W,3) uint8 + text_emb (B,F) from encode_text -> B candidate plans (B,K,H,W,3) uint8.

        The same seed gives the same plans. callback(done, total) reports progress in candidate-steps
        (`_sample_in_chunks`); should_cancel() raises SamplingCancelled.
        hint ((B,)H,W) in [0, 1]: where the instruction's target is (`target_hint` models; None: not known).
        hint_guidance > 1 pushes the plan towards the hint: guidance between the plan with and without it,
        both with the words (one more network call per step; `_guided_denoiser`).
        start_video (B,K,H,W,3) uint8 with start_t: re-render that future instead of sampling from noise
        (noised to timestep start_t, then denoised: SDEdit), to see what the model keeps of a known video.
        """
        frame0, text_emb = self._check_inputs(frame0, text_emb)
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        cfg = self.config
        f0 = images_to_tensor(frame0).to(device)
        txt = torch.from_numpy(np.array(text_emb, dtype=np.float32)).to(device)
        b = f0.shape[0]
        where = self._hint_tensor(hint, b, device)

        gen = torch.Generator().manual_seed(int(seed)) if seed is not None else None
        shape = (b, cfg.horizon, cfg.in_channels, cfg.image_size, cfg.image_size)
        start = None if start_video is None else images_to_tensor(start_video)
        if start is not None and tuple(start.shape) != shape:
            raise VideoPlannerError(f'start_video: expected {b} videos of {cfg.horizon} frames of '
                                    f'{cfg.image_size}x{cfg.image_size} RGB, got shape {np.shape(start_video)}')
        try:
            video = self._sample_in_chunks(f0, txt, where, shape, steps, gen, device, callback, should_cancel, start,
                                           start_t, hint_guidance)
        finally:
            self.train(was_training)
        return tensor_to_images(video)

    def _sample_in_chunks(self, f0, txt, where, shape, steps, gen, device, callback, should_cancel, start,
                          start_t, hint_guidance) -> torch.Tensor:
        """DDIM over the B candidates a chunk at a time, so cancel is looked at after each step of a chunk.

        Every candidate's starting noise is drawn up front, as one batch would draw it, and DDIM is
        deterministic from there: the plans do not depend on the chunking. The chunk adapts to the machine's
        speed (STEP_TARGET_S). callback(done, total) counts candidate-steps (steps x B in all; for one
        candidate, the sampler steps).
        """
        b = shape[0]
        noise = torch.randn(shape, generator=gen, dtype=torch.float32)
        total, done, chunk, lo = steps * b, 0, 1, 0
        videos = []
        while lo < b:
            hi = min(lo + chunk, b)

            def on_step(step: int, _steps: int, size=hi - lo, before=done) -> None:
                if callback is not None:
                    callback(before + step * size, total)

            denoise = self._guided_denoiser(f0[lo:hi], txt[lo:hi], None if where is None else where[lo:hi],
                                            hint_guidance)
            t0 = time.perf_counter()
            videos.append(ddim_sample(denoise, self.schedule, (hi - lo,) + tuple(shape[1:]), steps, generator=gen,
                                      device=device, callback=on_step, should_cancel=should_cancel,
                                      start=None if start is None else start[lo:hi], start_t=start_t,
                                      noise=noise[lo:hi]))
            per_candidate_step_s = (time.perf_counter() - t0) / (steps * (hi - lo))
            chunk = int(np.clip(STEP_TARGET_S / max(per_candidate_step_s, 1e-6), 1, MAX_CHUNK))
            done += steps * (hi - lo)
            lo = hi
        return torch.cat(videos)

    def _guided_denoiser(self, f0: torch.Tensor, txt: torch.Tensor, where: torch.Tensor | None,
                         hint_guidance: float) -> Callable:
        """(noisy x, t) -> the network's prediction, guided towards the hint where asked.

        Hint guidance compares (words, hint) with (words, no hint): training drops the hint on its own too,
        so both are conditions the model knows. The prediction is (words) + s * (words and hint - words).
        """
        if not np.isfinite(hint_guidance):
            raise VideoPlannerError(f'hint_guidance must be finite, got {hint_guidance}')
        if where is None or hint_guidance == 1.0:
            return lambda x, t: self.network(x, f0, t, txt, where)
        # Both conditions are the same at every step: batch them once.
        frames, texts, hints = torch.cat([f0, f0]), torch.cat([txt, txt]), torch.cat([where, torch.zeros_like(where)])

        def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            hinted, plain = self.network(torch.cat([x, x]), frames, torch.cat([t, t]), texts, hints).chunk(2)
            return plain + hint_guidance * (hinted - plain)
        return denoise

    def _hint_tensor(self, hint: np.ndarray | None, b: int, device) -> torch.Tensor | None:
        """((B,)H,W) target mask -> (B,1,H,W) float on `device`; None when there is none or the model reads none."""
        if hint is None or not self.config.target_hint:
            return None
        s = self.config.image_size
        h = np.asarray(hint, np.float32)
        h = h[None] if h.ndim == 2 else h
        if h.ndim != 3 or h.shape[1:] != (s, s) or h.shape[0] not in (1, b):
            raise VideoPlannerError(f'hint: expected a ({s}, {s}) target mask or {b} of them, got shape '
                                    f'{np.shape(hint)}')
        if not np.all(np.isfinite(h)):
            raise VideoPlannerError('hint: contains NaN or inf')
        return torch.from_numpy(np.array(np.broadcast_to(h, (b, s, s))))[:, None].clamp(0, 1).to(device)

    # -- files -----------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path, use_ema: bool = True, map_location: str = 'cpu') -> 'VideoModel':
        """Rebuild from a checkpoint; sampling uses the EMA weights unless use_ema=False."""
        ckpt = load_checkpoint(path, kind=KIND, map_location=map_location)
        try:
            config = VideoModelConfig.from_dict(ckpt.config, source=f'checkpoint {path}')
        except VideoPlannerError as exc:
            raise CheckpointError(str(exc)) from exc
        model = cls(config)
        load_weights_into(model, ckpt.weights(use_ema), str(path))
        model.eval()
        model.checkpoint_step = ckpt.step
        return model
