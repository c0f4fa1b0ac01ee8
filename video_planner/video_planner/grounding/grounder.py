"""Grounder: a trained GroundingNetwork plus the text encoder; finds the object an instruction names.

Its mask is the target hint of a `target_hint` video model (`VideoModel.sample(..., hint=...)`): the words
choose the object, the video model draws the arm going there.
"""
from __future__ import annotations

import numpy as np
import torch

from video_planner.errors import VideoPlannerError
from video_planner.grounding.config import GroundingConfig
from video_planner.grounding.network import GroundingNetwork
from video_planner.model.film_cnn import image_tensor, resize_frames
from video_planner.model.conditioned import TextConditioned

KIND = 'grounding'
# On held-out frames the shipped network's map above 0.2 covers as many pixels as the named object (16 vs
# 15 at 64 px) with IoU 0.67; above 0.5 it covers half of them (IoU 0.46). The video model trained on
# whole objects, so the hint should be as large.
HINT_LEVEL = 0.2


class Grounder(TextConditioned):
    """`Grounder.load(path)`: the network `video-planner train --model grounding` wrote."""
    kind, config_type, network_type = KIND, GroundingConfig, GroundingNetwork
    config: GroundingConfig

    @torch.no_grad()
    def locate(self, frame: np.ndarray, instruction: str, size: int | None = None) -> np.ndarray:
        """(H, W, 3) uint8 camera frame -> (size, size) float32 map of where the object `instruction` names is:
        the network's distribution over pixels scaled so that its peak is 1 (size: the network's image_size
        when None). The pixels above HINT_LEVEL are the object's likely extent: the video model's target hint."""
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[-1] != 3 or frame.dtype != np.uint8:
            raise VideoPlannerError(f'frame: expected (H, W, 3) uint8, got {frame.dtype} {frame.shape}')
        image = image_tensor(resize_frames(frame[None], self.config.image_size)[0])[None]
        text = torch.from_numpy(np.asarray(self.text_encoder.encode(instruction), np.float32))[None]
        logits = self.network(image.to(self.device), text.to(self.device))
        if size is not None and size != self.config.image_size:
            logits = torch.nn.functional.interpolate(logits[:, None], size=(size, size), mode='bilinear',
                                                     align_corners=False)[:, 0]
        p = torch.softmax(logits.flatten(1), dim=1).view_as(logits)[0]
        return (p / p.max()).cpu().numpy()

    def hint(self, frame: np.ndarray, instruction: str, size: int) -> np.ndarray:
        """The target hint of a `target_hint` video model: (size, size) float32, 1 where `locate` is above
        HINT_LEVEL. Binary, as the object masks the video model trained on."""
        return (self.locate(frame, instruction, size) > HINT_LEVEL).astype(np.float32)
