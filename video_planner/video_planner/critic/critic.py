"""PlanCritic: a trained CriticNetwork plus the text encoder; scores candidate plans against their instruction.

The video model draws where a plan goes mostly from the scene (benchmarks/results/instruction_following.md);
among a few candidates some go to the named object and some do not. The critic tells them apart, so the
planner keeps the one that does what was asked.
"""
from __future__ import annotations

import numpy as np
import torch

from video_planner.critic.config import CriticConfig
from video_planner.critic.dataset import video_tensor
from video_planner.critic.network import CriticNetwork
from video_planner.errors import VideoPlannerError
from video_planner.policy.dataset import resize_frames
from video_planner.text.conditioned import TextConditioned

KIND = 'plan_critic'


class PlanCritic(TextConditioned):
    """`PlanCritic.load(path)`: the network `video-planner train --model critic` wrote."""
    kind, config_type, network_type = KIND, CriticConfig, CriticNetwork
    config: CriticConfig

    @torch.no_grad()
    def score(self, plans: np.ndarray, instruction: str) -> np.ndarray:
        """(C, K+1, H, W, 3) uint8 plans, camera frame first -> (C,) probabilities that each does the task."""
        plans = np.asarray(plans)
        if plans.ndim != 5 or plans.shape[-1] != 3 or plans.dtype != np.uint8 or plans.shape[1] < 2:
            raise VideoPlannerError(f'plans: expected (C, K+1, H, W, 3) uint8 with K >= 1, got {plans.dtype} '
                                    f'{plans.shape}')
        picks = self.config.frame_indices(plans.shape[1])
        video = torch.stack([video_tensor(resize_frames(p[picks], self.config.image_size)) for p in plans])
        text = torch.from_numpy(np.asarray(self.text_encoder.encode(instruction), np.float32))
        logits = self.network(video.to(self.device), text[None].expand(len(plans), -1).to(self.device))
        return torch.sigmoid(logits).cpu().numpy()
