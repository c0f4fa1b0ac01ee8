"""ImageLanguagePolicy: a trained PolicyNetwork, the text encoder and the grounding network, acting on one
observation at a time; ChunkEnsemble: ACT's temporal ensembling of the chunks it predicts."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from video_planner.camera import CameraModel
from video_planner.errors import VideoPlannerError
from video_planner.model.conditioned import TextConditioned
from video_planner.model.film_cnn import resize_frames
from video_planner.policy.action_space import offsets_to_positions, state_vectors
from video_planner.policy.config import PolicyConfig
from video_planner.policy.dataset import policy_input
from video_planner.policy.network import PolicyNetwork

KIND = 'policy'


@dataclass
class PolicyChunk:
    positions: np.ndarray   # (chunk, 3) next TCP positions, robot base frame, metres
    gripper: np.ndarray     # (chunk,) probability that the gripper is closed there


class ImageLanguagePolicy(TextConditioned):
    """`ImageLanguagePolicy.load(path)`: the network `video-planner train --model policy` wrote. Its target
    hint comes from `grounder` (the shipped grounding network unless one is set), as the video model's."""
    kind, config_type, network_type = KIND, PolicyConfig, PolicyNetwork
    config: PolicyConfig
    grounder = None

    def hint(self, rgb: np.ndarray, instruction: str) -> np.ndarray | None:
        if not self.config.target_hint:
            return None
        if self.grounder is None:
            from video_planner.grounding import Grounder
            from video_planner.resources import model_path
            self.grounder = Grounder.load(model_path('grounding_default.pt'), self.text_encoder, self.device)
        return self.grounder.hint(rgb, instruction, self.config.image_size)

    @torch.no_grad()
    def act(self, rgb: np.ndarray, instruction: str, camera: CameraModel, T_base_ee: np.ndarray, gripper: float,
            arm_scale: float = 1.0) -> PolicyChunk:
        """One observation (HxWx3 uint8 frame, instruction, calibrated camera, TCP pose in the base frame,
        current gripper command) -> the next `chunk` waypoints."""
        rgb = np.asarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise VideoPlannerError(f'rgb: expected an HxWx3 uint8 image, got {rgb.dtype} {rgb.shape}')
        T_base_ee = np.asarray(T_base_ee, np.float64)
        if T_base_ee.shape != (4, 4) or not np.all(np.isfinite(T_base_ee)):
            raise VideoPlannerError(f'T_base_ee: expected a finite 4x4 pose, got shape {T_base_ee.shape}')
        if not arm_scale > 0:
            raise VideoPlannerError(f'arm_scale: expected > 0, got {arm_scale}')
        frame = resize_frames(rgb[None], self.config.image_size)[0]
        image = policy_input(frame, self.hint(rgb, instruction), self.config)[None].to(self.device)
        text = torch.from_numpy(np.asarray(self.text_encoder.encode(instruction), np.float32))[None].to(self.device)
        state = torch.from_numpy(state_vectors(camera, T_base_ee, float(gripper), arm_scale))[None].to(self.device)
        out = self.network(image, text, state)[0].cpu().double().numpy()
        positions = offsets_to_positions(camera, T_base_ee, out[:, :3], arm_scale, self.config)
        return PolicyChunk(positions=positions, gripper=1.0 / (1.0 + np.exp(-out[:, 3])))


class ChunkEnsemble:
    """ACT's temporal ensembling: every step's chunk predicts the next `chunk` waypoints; the waypoint for
    step s averages every prediction made for s, weighted exp(-decay * i) with i = 0 the oldest."""

    def __init__(self, decay: float):
        self.decay = decay
        self.step = 0
        self._chunks: list[tuple[int, PolicyChunk]] = []

    def add(self, chunk: PolicyChunk) -> tuple[np.ndarray, float]:
        """Record the chunk predicted now; returns (position, gripper command in {0, 1}) for this step."""
        self._chunks.append((self.step, chunk))
        self._chunks = [(t, c) for t, c in self._chunks if self.step - t < len(c.positions)]
        weights = np.exp(-self.decay * np.arange(len(self._chunks)))
        positions = np.stack([c.positions[self.step - t] for t, c in self._chunks])
        closed = np.array([c.gripper[self.step - t] for t, c in self._chunks])
        self.step += 1
        w = weights / weights.sum()
        return w @ positions, float(w @ closed >= 0.5)
