"""ImageLanguagePolicy: a trained PolicyNetwork plus the text encoder, acting on one observation at a time."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from video_planner.errors import VideoPlannerError
from video_planner.policy.config import PolicyConfig
from video_planner.model.film_cnn import image_tensor, resize_frames
from video_planner.policy.network import PolicyNetwork
from video_planner.model.conditioned import TextConditioned

KIND = 'policy'


@dataclass
class PolicyAction:
    delta_m: np.ndarray   # (3,) next TCP position minus the current one, base frame, metres
    gripper: float        # 0 open .. 1 closed


class ImageLanguagePolicy(TextConditioned):
    """`ImageLanguagePolicy.load(path)`: the network `video-planner train --model policy` wrote."""
    kind, config_type, network_type = KIND, PolicyConfig, PolicyNetwork
    config: PolicyConfig

    @torch.no_grad()
    def act(self, rgb: np.ndarray, instruction: str, gripper: float, arm_scale: float = 1.0) -> PolicyAction:
        """One observation (HxWx3 uint8 frame, instruction, current gripper command) -> next waypoint."""
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise VideoPlannerError(f'rgb: expected an HxWx3 uint8 image, got {rgb.dtype} {rgb.shape}')
        frame = resize_frames(rgb[None], self.config.image_size)[0]
        image = image_tensor(frame)[None].to(self.device)
        text = torch.from_numpy(np.asarray(self.text_encoder.encode(instruction), np.float32))[None].to(self.device)
        state = torch.tensor([[float(gripper)]], dtype=torch.float32, device=self.device)
        out = self.network(image, text, state)[0].cpu().double().numpy()
        delta = out[:3] * self.config.position_scale_m * arm_scale
        return PolicyAction(delta_m=delta, gripper=float(out[3] > 0.0))
