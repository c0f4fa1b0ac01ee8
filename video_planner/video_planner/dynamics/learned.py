"""UniPi-style learned inverse dynamics: a small CNN reads (frame 0, frame t) -> end-effector motion.

Input (9 channels at the model's ``image_size``): frame 0 RGB, frame t RGB, a Gaussian "hint"
heatmap at the projection of the known ee pose ``T_base_ee0``, and two pixel-coordinate channels.
Outputs per frame t (from frame 0 directly, not chained from t-1, so errors do not drift):
  - the ee pixel in frame t (soft-argmax of a heatmap) and its depth ratio z_t / z_0 in the camera
    frame; with z_0 known from ``T_base_ee0`` this back-projects to the ee position in the base
    frame, which keeps the model independent of where the camera stands;
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

from video_planner.camera import CameraModel
from video_planner.dynamics.motion import EeMotion, InverseDynamics, check_inputs
from video_planner.embodiment import check_view
from video_planner.errors import ConfigError, VideoPlannerError

KIND = 'idm'


@dataclass
class IdmConfig:
    image_size: int = 64
    channels: int = 32  # feature width of the shared frame encoder (runs at image_size / 2)
    blocks: int = 2  # residual blocks (dilations 1, 2, 4, ...) after the stride-2 stem
    hidden: int = 64
    hint_sigma_px: float = 2.5  # at image_size
    cycle_scale_m: float = 0.05  # confidence cycle term: 1 / (1 + (|fwd + bwd| / scale)^4)
    depth_weight: float = 1.0
    gripper_weight: float = 0.1
    validity_weight: float = 0.1
    view: str = 'camera'  # the frames it reads: 'camera' or 'canonical' (video_planner.embodiment)

    def __post_init__(self):
        if not (isinstance(self.image_size, int) and self.image_size >= 16 and self.image_size % 2 == 0):
            raise ConfigError(f'IdmConfig.image_size: expected an even int >= 16, got {self.image_size!r}')
        if not (isinstance(self.channels, int) and self.channels >= 8 and self.channels % 4 == 0):
            raise ConfigError(f'IdmConfig.channels: expected a multiple of 4 >= 8, got {self.channels!r}')
        if not (isinstance(self.blocks, int) and self.blocks >= 1):
            raise ConfigError(f'IdmConfig.blocks: expected an int >= 1, got {self.blocks!r}')
        check_view(self.view, 'IdmConfig.view')
        for name in ('hint_sigma_px', 'cycle_scale_m'):
            if not getattr(self, name) > 0:
                raise ConfigError(f'IdmConfig.{name}: expected > 0, got {getattr(self, name)!r}')

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> 'IdmConfig':
        unknown = sorted(set(d) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(f'IdmConfig: unknown field(s) {unknown}')
        return cls(**d)


class _ResBlock(nn.Module):
    def __init__(self, c: int, dilation: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=dilation, dilation=dilation), nn.GroupNorm(4, c),
                                  nn.SiLU(), nn.Conv2d(c, c, 3, padding=1), nn.GroupNorm(4, c))

    def forward(self, x):
        return F.silu(x + self.body(x))


class IdmNetwork(nn.Module):
    """A Siamese keypoint tracker: where did the ee at the hint in frame 0 go in frame t?

    A shared encoder embeds both frames (+ pixel coordinates) at half resolution; the ee template is
    frame 0's features pooled under the hint; its correlation with frame t's features, with both
    feature maps, gives a heatmap whose soft-argmax is the ee pixel in frame t. Features pooled under
    that heatmap give the ee depth change, the gripper state and a validity logit.
    Input (B, 9, S, S) = frame 0, frame t (RGB in [-1, 1]), hint, u/v coordinates.
    Output: uv (B, 2) pixels at S, log depth ratio z_t / z_0 (B,), gripper logit (B,), validity logit (B,).
    """

    def __init__(self, config: IdmConfig):
        super().__init__()
        self.config = config
        c = config.channels
        self.encoder = nn.Sequential(
            nn.Conv2d(5, c, 3, stride=2, padding=1), nn.GroupNorm(4, c), nn.SiLU(),
            *[_ResBlock(c, 2 ** i) for i in range(config.blocks)])
        self.heatmap = nn.Sequential(nn.Conv2d(2 * c + 2, c, 3, padding=1), nn.GroupNorm(4, c), nn.SiLU(),
                                     _ResBlock(c, 2), nn.Conv2d(c, 1, 1))
        self.heads = nn.Sequential(nn.Linear(3 * c + 1, config.hidden), nn.SiLU(), nn.Linear(config.hidden, 3))

    def forward(self, x: torch.Tensor):
        B, _, S, _ = x.shape
        coords = x[:, 7:9]
        f0 = self.encoder(torch.cat([x[:, 0:3], coords], 1))
        ft = self.encoder(torch.cat([x[:, 3:6], coords], 1))
        h = F.avg_pool2d(x[:, 6:7], 2)
        w = h / h.sum(dim=(2, 3), keepdim=True).clamp_min(1e-6)
        template = (f0 * w).sum(dim=(2, 3))  # (B, c)
        corr = (ft * template[:, :, None, None]).sum(1, keepdim=True) / ft.shape[1] ** 0.5
        logits = self.heatmap(torch.cat([ft, f0, corr, h], 1))  # (B, 1, S/2, S/2)
        att = torch.softmax(logits.flatten(1), dim=1).view_as(logits)
        s2 = S // 2
        g = (torch.arange(s2, dtype=x.dtype, device=x.device) + 0.5) * 2 - 0.5  # half-res centres in px at S
        u = (att.sum(2).squeeze(1) * g).sum(1)
        v = (att.sum(3).squeeze(1) * g).sum(1)
        pooled_t = (ft * att).sum(dim=(2, 3))
        change = (ft - f0).abs().mean(dim=(2, 3))
        peak = logits.flatten(1).max(1).values[:, None]
        out = self.heads(torch.cat([pooled_t, template, change, peak], 1))
        return torch.stack([u, v], 1), out[:, 0], out[:, 1], out[:, 2]


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


def ee_camera_depth(camera: CameraModel, position_base: np.ndarray) -> float:
    """z of a base-frame point in the camera optical frame (metres)."""
    return float((camera.T_camera_base[:3, :3] @ position_base + camera.T_camera_base[:3, 3])[2])


class IdmPairDataset(Dataset):
    """Clips {frame0, future (K,H,W,3), ee_poses (K+1,4,4), gripper (K+1,), camera} -> one item per (clip, t).

    Targets: the ee pixel in frame t at the model's resolution, log(z_t / z_0) of the ee in the camera
    frame, the gripper state at t.
    """

    def __init__(self, clips, config: IdmConfig):
        self.config = config
        self.clips = clips if hasattr(clips, '__getitem__') and hasattr(clips, '__len__') else list(clips)
        if len(self.clips) == 0:
            raise VideoPlannerError('idm training data: no clips found (episodes shorter than the horizon?)')
        self.horizon = int(np.asarray(self.clips[0]['future']).shape[0])

    def __len__(self) -> int:
        return len(self.clips) * self.horizon

    def __getitem__(self, i: int) -> dict:
        clip = self.clips[i // self.horizon]
        t = i % self.horizon + 1
        camera = camera_from_clip(clip['camera'])
        cam_s = camera.resized(self.config.image_size, self.config.image_size)
        poses = np.asarray(clip['ee_poses'], dtype=np.float64)
        p0, pt = poses[0, :3, 3], poses[t, :3, 3]
        gripper = float(np.asarray(clip['gripper'], dtype=np.float64).reshape(-1)[t])
        x = make_input(np.asarray(clip['frame0']), np.asarray(clip['future'])[t - 1], p0, camera, self.config)
        log_z = np.log(ee_camera_depth(camera, pt) / ee_camera_depth(camera, p0))
        return {'x': torch.from_numpy(x),
                'uv': torch.tensor(cam_s.project(pt), dtype=torch.float32),
                'log_z': torch.tensor(log_z, dtype=torch.float32),
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
    """ee pixel + depth-ratio regression and gripper BCE on real pairs; validity BCE on real vs corrupted."""

    def __init__(self, network: IdmNetwork, seed: int = 0):
        self.network = network
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, batch: dict) -> torch.Tensor:
        cfg = self.network.config
        x = batch['x']
        B = x.shape[0]
        n_bad = max(1, B // 4)
        bad = corrupt(x[:n_bad].cpu(), self.generator).to(x.device)
        uv, log_z, grip, valid = self.network(torch.cat([x, bad]))
        loss = F.smooth_l1_loss(uv[:B], batch['uv'], beta=1.0)  # pixels
        # About 60 per unit log ratio: one pixel at 0.5 m is ~8 mm ~ 0.016 in log z.
        loss = loss + cfg.depth_weight * F.smooth_l1_loss(60.0 * log_z[:B], 60.0 * batch['log_z'], beta=1.0)
        loss = loss + cfg.gripper_weight * F.binary_cross_entropy_with_logits(grip[:B], batch['gripper'])
        target_valid = torch.cat([torch.ones(B), torch.zeros(n_bad)]).to(x.device)
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
    def _track(self, frames_a, frames_b, starts_base: np.ndarray, camera: CameraModel):
        """Pairs (a, b) and the ee position in a -> ee positions in b (base frame), gripper, validity."""
        cfg = self.config
        x = np.stack([make_input(a, b, p, camera, cfg) for a, b, p in zip(frames_a, frames_b, starts_base)])
        uv, log_z, grip, valid = self.network(torch.from_numpy(x).to(self.device))
        cam_s = camera.resized(cfg.image_size, cfg.image_size)
        z0 = np.array([ee_camera_depth(camera, p) for p in starts_base])
        z = z0 * np.exp(log_z.cpu().double().numpy())
        uv = uv.cpu().double().numpy()
        points = cam_s.backproject(uv[:, 0], uv[:, 1], z).points_base
        return points, torch.sigmoid(grip).cpu().numpy(), torch.sigmoid(valid).cpu().numpy()

    def estimate(self, frames, depth0_m, camera, T_base_ee0, ee_mask0=None) -> EeMotion:
        frames, depth0_m, T_base_ee0, _ = check_inputs(frames, depth0_m, camera, T_base_ee0, ee_mask0)
        n = len(frames)
        p0 = T_base_ee0[:3, 3]
        if ee_camera_depth(camera, p0) <= 0:
            raise VideoPlannerError('T_base_ee0: the end-effector is behind the camera; check T_base_camera')
        rest = frames[1:]
        positions, grip, valid = self._track([frames[0]] * (n - 1), rest, np.repeat(p0[None], n - 1, 0), camera)
        # Cycle check: track each frame back to frame 0 from the predicted position.
        safe = np.where(np.isfinite(positions), positions, p0)
        back, _, valid_back = self._track(rest, [frames[0]] * (n - 1), safe, camera)
        cycle = np.linalg.norm(back - p0, axis=1)
        cycle = np.where(np.isfinite(cycle) & np.all(np.isfinite(positions), axis=1), cycle, np.inf)
        cycle_term = 1.0 / (1.0 + (cycle / self.config.cycle_scale_m) ** 4)
        T = np.repeat(T_base_ee0[None], n, axis=0)
        T[1:, :3, 3] = safe  # orientation of frame 0 kept (position-only model)
        conf = np.ones(n)
        conf[1:] = np.minimum(valid, valid_back) * cycle_term
        gripper = np.concatenate([[grip[0]], grip])  # frame 0 has no pair: the first step's state
        return EeMotion(T, gripper, np.clip(conf, 0, 1), method=self.name,
                        diagnostics={'validity': np.concatenate([[1.0], valid]),
                                     'cycle_m': np.concatenate([[0.0], cycle])})


# ---------------------------------------------------------------------------------------------- training
def train_on_clips(clips, out_dir: str | Path, train_config=None, config: IdmConfig | None = None,
                   device: str = 'cpu', progress: bool = False, resume: bool = False, init: str | None = None):
    """Fit an IdmNetwork on clips with the project's Trainer; returns (TrainResult, network (EMA))."""
    from video_planner.model.trainer import TrainConfig, Trainer
    config = config or IdmConfig()
    train_config = train_config or TrainConfig()
    network = IdmNetwork(config)
    dataset = IdmPairDataset(clips, config)
    trainer = Trainer(network, IdmLoss(network, seed=train_config.seed), dataset, train_config, out_dir,
                      model_config=config.to_dict(), kind=KIND, device=device, progress=progress)
    trainer.start(resume, init)
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
    """`video-planner train --model idm --data DIR --out DIR --steps N` (wired by video_planner/train.py)."""
    from video_planner.model.dataset import find_episode_files
    from video_planner.model.trainer import TrainConfig, overrides_from_args
    config_path = args.config if getattr(args, 'config', None) not in (None, 'default', 'tiny') else None
    config, training, horizon = load_idm_config(config_path)
    training.update(overrides_from_args(args))
    if getattr(args, 'view', None):
        config = dataclasses.replace(config, view=args.view)
    tcfg = TrainConfig.from_dict(training, source='dynamics.yaml learned.training')
    files = find_episode_files(args.data)
    from video_planner.data import VideoClipDataset
    clips = VideoClipDataset([str(f) for f in files], horizon=horizon,
                             stride=getattr(args, 'stride', 1) or 1, image_size=config.image_size,
                             view=config.view)
    if getattr(args, 'preload', False):
        clips = [c for c in clips]
    result, _ = train_on_clips(clips, args.out, tcfg, config, device=getattr(args, 'device', 'cpu'),
                               progress=True, resume=getattr(args, 'resume', False),
                               init=getattr(args, 'init', None))
    print(f'idm trained to step {result.step}: {result.steps_per_s:.2f} steps/s; weights {result.checkpoint}')
    return 0


