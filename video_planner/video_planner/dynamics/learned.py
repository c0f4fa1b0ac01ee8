"""UniPi-style learned inverse dynamics: a small CNN reads (frame 0, frame t) -> end-effector motion.

Input (9 channels at the model's ``image_size``): frame 0 RGB, frame t RGB, a Gaussian "hint"
heatmap at the projection of the known ee pose ``T_base_ee0``, and two pixel-coordinate channels.
Outputs per frame t:
  - the ee displacement since frame 0 in the camera optical frame, ``R_camera_base (p_t - p_0)``
    (metres / ``displacement_scale_m``): predicting from frame 0 rather than from t-1 avoids drift;
  - the gripper state at t (logit of closed);
  - a validity logit: trained with corrupted pairs (noise, black, pixel-shuffled, another clip's
    frame) as negatives, so garbage frames get low confidence instead of a confident wrong answer.
Confidence per step = sigmoid(validity) * cycle term, the cycle term checking that reading the pair
backwards (frame t -> frame 0, hint at the predicted pose) gives the opposite displacement.

Orientation: only the position is predicted; the orientation of ``T_base_ee0`` is kept for every
frame (the simulator's grasps are top-down). Use FlowDepthInverseDynamics where rotation matters.
"""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from video_planner.dynamics.camera import CameraModel
from video_planner.dynamics.motion import EeMotion, InverseDynamics, check_inputs
from video_planner.errors import ConfigError, VideoPlannerError

KIND = 'idm'


@dataclass
class IdmConfig:
    image_size: int = 64
    channels: tuple[int, ...] = (32, 64, 96, 128)  # one stride-2 conv block per entry
    hidden: int = 256
    hint_sigma_px: float = 3.0  # at image_size
    displacement_scale_m: float = 0.1  # targets are divided by this
    cycle_scale_m: float = 0.02  # confidence cycle term: 1 / (1 + (|fwd + bwd| / scale)^4)
    gripper_weight: float = 0.2
    validity_weight: float = 0.2

    def __post_init__(self):
        self.channels = tuple(int(c) for c in self.channels)
        if self.image_size < 16 or self.image_size % (2 ** len(self.channels)) != 0:
            raise ConfigError(f'IdmConfig.image_size: expected a multiple of 2^{len(self.channels)} >= 16, '
                              f'got {self.image_size}')
        if not self.channels or min(self.channels) < 4:
            raise ConfigError(f'IdmConfig.channels: expected ints >= 4, got {self.channels}')
        for name in ('hint_sigma_px', 'displacement_scale_m', 'cycle_scale_m'):
            if not getattr(self, name) > 0:
                raise ConfigError(f'IdmConfig.{name}: expected > 0, got {getattr(self, name)!r}')

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d['channels'] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> 'IdmConfig':
        unknown = sorted(set(d) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(f'IdmConfig: unknown field(s) {unknown}')
        return cls(**d)


class IdmNetwork(nn.Module):
    """(B, 9, S, S) -> displacement (B, 3), gripper logit (B,), validity logit (B,)."""

    def __init__(self, config: IdmConfig):
        super().__init__()
        self.config = config
        layers, c_in = [], 9
        for c in config.channels:
            layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.GroupNorm(4, c), nn.SiLU(),
                       nn.Conv2d(c, c, 3, padding=1), nn.GroupNorm(4, c), nn.SiLU()]
            c_in = c
        self.encoder = nn.Sequential(*layers)
        side = config.image_size // 2 ** len(config.channels)
        # Flatten rather than pool: where things are in the image is the signal.
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(c_in * side * side, config.hidden), nn.SiLU(),
                                  nn.Linear(config.hidden, 5))

    def forward(self, x: torch.Tensor):
        out = self.head(self.encoder(x))
        return out[:, :3], out[:, 3], out[:, 4]


# ---------------------------------------------------------------------------------------------- inputs
def _coords(size: int) -> np.ndarray:
    g = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    return np.stack(np.meshgrid(g, g, indexing='xy'))  # (2, S, S): u then v


def hint_map(uv: np.ndarray, size: int, sigma: float) -> np.ndarray:
    """(S, S) Gaussian at pixel ``uv`` (at model resolution); zeros if uv is not finite."""
    if not np.all(np.isfinite(uv)):
        return np.zeros((size, size), np.float32)
    g = np.arange(size, dtype=np.float32)
    return np.exp(-((g[None, :] - uv[0]) ** 2 + (g[:, None] - uv[1]) ** 2) / (2 * sigma ** 2)).astype(np.float32)


def make_input(frame_a: np.ndarray, frame_b: np.ndarray, ee_pos_base: np.ndarray, camera: CameraModel,
               config: IdmConfig) -> np.ndarray:
    """Two RGB frames at the camera's size + the ee position they start from -> (9, S, S) float32."""
    S = config.image_size
    cam = camera.resized(S, S)  # every resize goes through the camera model

    def prep(img):
        if img.shape[:2] != (S, S):
            img = cv2.resize(img, (S, S), interpolation=cv2.INTER_AREA)
        return img.astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0
    hint = hint_map(cam.project(ee_pos_base), S, config.hint_sigma_px)
    return np.concatenate([prep(frame_a), prep(frame_b), hint[None], _coords(S)], axis=0)


def camera_from_clip(camera) -> CameraModel:
    """The data package's camera entry (a CameraModel, or a dict of K/width/height/T_base_camera)."""
    if isinstance(camera, CameraModel):
        return camera
    if isinstance(camera, dict):
        return CameraModel(K=np.asarray(camera['K']), width=int(camera['width']), height=int(camera['height']),
                           T_base_camera=np.asarray(camera['T_base_camera']))
    raise VideoPlannerError(f'clip camera: expected a CameraModel or dict, got {type(camera).__name__}')


class IdmPairDataset(Dataset):
    """Clips {frame0, future (K,H,W,3), ee_poses (K+1,4,4), gripper (K+1,), camera} -> one item per (clip, t)."""

    def __init__(self, clips, config: IdmConfig):
        self.config = config
        self.clips = clips if hasattr(clips, '__getitem__') and hasattr(clips, '__len__') else list(clips)
        if len(self.clips) == 0:
            raise VideoPlannerError('idm training data: no clips found (episodes shorter than the horizon?)')
        first = self.clips[0]
        self.horizon = int(np.asarray(first['future']).shape[0])

    def __len__(self) -> int:
        return len(self.clips) * self.horizon

    def __getitem__(self, i: int) -> dict:
        clip = self.clips[i // self.horizon]
        t = i % self.horizon + 1
        camera = camera_from_clip(clip['camera'])
        poses = np.asarray(clip['ee_poses'], dtype=np.float64)
        frame0 = np.asarray(clip['frame0'])
        frame_t = np.asarray(clip['future'])[t - 1]
        p0, pt = poses[0, :3, 3], poses[t, :3, 3]
        d_cam = camera.T_camera_base[:3, :3] @ (pt - p0)
        gripper = float(np.asarray(clip['gripper'], dtype=np.float64).reshape(-1)[t])
        return {'x': torch.from_numpy(make_input(frame0, frame_t, p0, camera, self.config)),
                'displacement': torch.tensor(d_cam / self.config.displacement_scale_m, dtype=torch.float32),
                'gripper': torch.tensor(float(gripper >= 0.5), dtype=torch.float32)}


def corrupt(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Replace frame t (channels 3:6) by garbage: noise, black, pixel-shuffled, or another item's frame."""
    x = x.clone()
    B, _, S, _ = x.shape
    kinds = torch.randint(0, 4, (B,), generator=generator)
    noise = torch.rand(B, 3, S, S, generator=generator) * 2 - 1
    perm = torch.randperm(S * S, generator=generator)
    shuffled = x[:, 3:6].reshape(B, 3, -1)[:, :, perm].reshape(B, 3, S, S)
    other = torch.roll(x[:, 3:6], 1, dims=0)
    choices = torch.stack([noise, -torch.ones_like(noise), shuffled, other])  # (4, B, 3, S, S)
    x[:, 3:6] = choices[kinds, torch.arange(B)]
    return x


class IdmLoss:
    """Displacement MSE + gripper BCE on real pairs, validity BCE on real vs corrupted pairs."""

    def __init__(self, network: IdmNetwork, seed: int = 0):
        self.network = network
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, batch: dict) -> torch.Tensor:
        cfg = self.network.config
        x = batch['x']
        bad = corrupt(x, self.generator).to(x.device)
        disp, grip, valid = self.network(torch.cat([x, bad]))
        B = x.shape[0]
        loss = F.smooth_l1_loss(disp[:B], batch['displacement'], beta=0.05)
        loss = loss + cfg.gripper_weight * F.binary_cross_entropy_with_logits(grip[:B], batch['gripper'])
        target_valid = torch.cat([torch.ones(B), torch.zeros(B)]).to(x.device)
        return loss + cfg.validity_weight * F.binary_cross_entropy_with_logits(valid, target_valid)


# ---------------------------------------------------------------------------------------------- inference
class LearnedInverseDynamics(InverseDynamics):
    name = 'learned'

    def __init__(self, network: IdmNetwork, device: str = 'cpu'):
        self.network = network.to(device).eval()
        self.config = network.config
        self.device = device

    @classmethod
    def load(cls, path: str | Path, device: str = 'cpu') -> 'LearnedInverseDynamics':
        from video_planner.model.checkpoint import load_checkpoint, load_weights_into
        ckpt = load_checkpoint(path, kind=KIND)
        network = IdmNetwork(IdmConfig.from_dict(ckpt.config))
        load_weights_into(network, ckpt.weights(use_ema=True), str(path))
        return cls(network, device)

    @torch.no_grad()
    def _predict(self, inputs: list[np.ndarray]):
        x = torch.from_numpy(np.stack(inputs)).to(self.device)
        disp, grip, valid = self.network(x)
        return (disp.cpu().double().numpy() * self.config.displacement_scale_m,
                torch.sigmoid(grip).cpu().numpy(), torch.sigmoid(valid).cpu().numpy())

    def estimate(self, frames, depth0_m, camera, T_base_ee0, ee_mask0=None) -> EeMotion:
        frames, depth0_m, T_base_ee0, _ = check_inputs(frames, depth0_m, camera, T_base_ee0, ee_mask0)
        cfg = self.config
        n = len(frames)
        p0 = T_base_ee0[:3, 3]
        R_base_camera = camera.T_base_camera[:3, :3]
        fwd_in = [make_input(frames[0], frames[t], p0, camera, cfg) for t in range(1, n)]
        d_fwd, grip, valid = self._predict(fwd_in)
        positions = p0 + d_fwd @ R_base_camera.T
        # Cycle check: read each pair backwards, starting from the predicted position.
        bwd_in = [make_input(frames[t], frames[0], positions[t - 1], camera, cfg) for t in range(1, n)]
        d_bwd, _, valid_bwd = self._predict(bwd_in)
        cycle = np.linalg.norm(d_fwd + d_bwd, axis=1)
        cycle_term = 1.0 / (1.0 + (cycle / cfg.cycle_scale_m) ** 4)
        T = np.repeat(T_base_ee0[None], n, axis=0)
        T[1:, :3, 3] = positions
        conf = np.ones(n)
        conf[1:] = np.minimum(valid, valid_bwd) * cycle_term
        gripper = np.empty(n)
        gripper[1:] = grip
        gripper[0] = grip[0]  # frame 0 has no pair; the first step's state is the best guess
        return EeMotion(T, gripper, np.clip(conf, 0, 1), method=self.name,
                        diagnostics={'validity': np.concatenate([[1.0], valid]),
                                     'cycle_m': np.concatenate([[0.0], cycle])})


# ---------------------------------------------------------------------------------------------- training
def train_on_clips(clips, out_dir: str | Path, train_config=None, config: IdmConfig | None = None,
                   device: str = 'cpu', progress: bool = False, resume: bool = False, init: str | None = None):
    """Fit an IdmNetwork on clips with the project's Trainer; returns (TrainResult, network (EMA))."""
    from video_planner.model.trainer import CHECKPOINT_NAME, TrainConfig, Trainer
    config = config or IdmConfig()
    train_config = train_config or TrainConfig()
    network = IdmNetwork(config)
    dataset = IdmPairDataset(clips, config)
    trainer = Trainer(network, IdmLoss(network, seed=train_config.seed), dataset, train_config, out_dir,
                      model_config=config.to_dict(), kind=KIND, device=device, progress=progress)
    if resume:
        trainer.resume(Path(out_dir) / CHECKPOINT_NAME)
    elif init:
        trainer.init_from(init)
    result = trainer.fit()
    return result, trainer.ema


def load_idm_config(path: str | Path | None) -> tuple[IdmConfig, dict, int]:
    """IdmConfig, training settings and clip horizon from dynamics.yaml's ``learned:`` section."""
    from video_planner.dynamics.config import load_dynamics_yaml
    section = load_dynamics_yaml(path).get('learned', {}) or {}
    training = dict(section.get('training', {}) or {})
    model = {k: v for k, v in section.items() if k not in ('training', 'checkpoint', 'horizon')}
    return IdmConfig.from_dict(model), training, int(section.get('horizon', 8))


def train_idm(args: argparse.Namespace) -> int:
    """`video-planner train --model idm --data DIR --out DIR --steps N` (wired by model/train.py)."""
    from video_planner.model.dataset import find_episode_files
    from video_planner.model.trainer import TrainConfig
    config_path = args.config if getattr(args, 'config', None) not in (None, 'default', 'tiny') else None
    config, training, horizon = load_idm_config(config_path)
    overrides = {'steps': args.steps, 'batch_size': getattr(args, 'batch_size', None),
                 'lr': getattr(args, 'lr', None), 'num_workers': getattr(args, 'workers', None),
                 'checkpoint_every': getattr(args, 'checkpoint_every', None), 'seed': getattr(args, 'seed', None)}
    training.update({k: v for k, v in overrides.items() if v is not None})
    tcfg = TrainConfig.from_dict(training, source='dynamics.yaml learned.training')
    files = find_episode_files(args.data)
    from video_planner.data import VideoClipDataset
    clips = VideoClipDataset([str(f) for f in files], horizon=horizon,
                             stride=getattr(args, 'stride', 1) or 1, image_size=config.image_size)
    if getattr(args, 'preload', False):
        clips = [c for c in clips]
    result, _ = train_on_clips(clips, args.out, tcfg, config, device=getattr(args, 'device', 'cpu'),
                               progress=True, resume=getattr(args, 'resume', False),
                               init=getattr(args, 'init', None))
    print(f'idm trained to step {result.step}: {result.steps_per_s:.2f} steps/s; weights {result.checkpoint}')
    return 0


run_training = train_idm  # the name model/train.py looks up
