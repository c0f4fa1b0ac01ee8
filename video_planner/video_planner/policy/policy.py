"""ImageLanguagePolicy: a trained PolicyNetwork plus the text encoder, acting on one observation at a time."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from video_planner.errors import VideoPlannerError
from video_planner.policy.config import PolicyConfig
from video_planner.policy.dataset import resize_frames
from video_planner.policy.network import PolicyNetwork

KIND = 'policy'


@dataclass
class PolicyAction:
    delta_m: np.ndarray   # (3,) next TCP position minus the current one, base frame, metres
    gripper: float        # 0 open .. 1 closed


class ImageLanguagePolicy:
    def __init__(self, network: PolicyNetwork, text_encoder=None, device: str = 'cpu'):
        self.network = network.to(device).eval()
        self.config: PolicyConfig = network.config
        self.device = device
        self._text_encoder = text_encoder

    @property
    def text_encoder(self):
        if self._text_encoder is None:
            from video_planner.text import TextEncoder
            self._text_encoder = TextEncoder()
        return self._text_encoder

    @classmethod
    def load(cls, path: str | Path, text_encoder=None, device: str = 'cpu') -> 'ImageLanguagePolicy':
        """From a checkpoint written by `video-planner train --model policy` (EMA weights)."""
        from video_planner.model.checkpoint import CheckpointError, load_checkpoint, load_weights_into
        ckpt = load_checkpoint(path, kind=KIND)
        try:
            config = PolicyConfig.from_dict(ckpt.config, source=f'checkpoint {path}')
        except VideoPlannerError as exc:
            raise CheckpointError(str(exc)) from exc
        network = PolicyNetwork(config)
        load_weights_into(network, ckpt.weights(use_ema=True), str(path))
        return cls(network, text_encoder, device)

    @torch.no_grad()
    def act(self, rgb: np.ndarray, instruction: str, gripper: float, arm_scale: float = 1.0) -> PolicyAction:
        """One observation (HxWx3 uint8 frame, instruction, current gripper command) -> next waypoint."""
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise VideoPlannerError(f'rgb: expected an HxWx3 uint8 image, got {rgb.dtype} {rgb.shape}')
        frame = resize_frames(rgb[None], self.config.image_size)[0]
        image = torch.from_numpy(frame).float().div(127.5).sub(1.0).permute(2, 0, 1)[None].to(self.device)
        text = torch.from_numpy(np.asarray(self.text_encoder.encode(instruction), np.float32))[None].to(self.device)
        state = torch.tensor([[float(gripper)]], dtype=torch.float32, device=self.device)
        out = self.network(image, text, state)[0].cpu().double().numpy()
        delta = out[:3] * self.config.position_scale_m * arm_scale
        return PolicyAction(delta_m=delta, gripper=float(out[3] > 0.0))
