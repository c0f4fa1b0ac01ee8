"""Text- and first-frame-conditioned video diffusion: config, network, schedule, sampler, trainer, checkpoints.

Split diffusers-style so a new network or sampler is a one-file change: `network.VideoUNet` (denoiser),
`schedule.DiffusionSchedule` (noising), `sampler.ddim_sample` (few-step sampling), `video_model.VideoModel`
(the three together, with `sample` and `load`), `trainer.Trainer` (generic training loop).
"""
from video_planner.model.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from video_planner.model.config import PRESETS, VideoModelConfig, load_model_config
from video_planner.model.network import VideoUNet
from video_planner.model.sampler import SamplingCancelled, ddim_sample
from video_planner.model.schedule import DiffusionSchedule
from video_planner.model.trainer import TrainConfig, Trainer
from video_planner.model.video_model import VideoModel, shipped_checkpoint

__all__ = ['Checkpoint', 'CheckpointError', 'DiffusionSchedule', 'PRESETS', 'SamplingCancelled', 'TrainConfig',
           'Trainer', 'VideoModel', 'VideoModelConfig', 'VideoUNet', 'ddim_sample', 'load_checkpoint',
           'load_model_config', 'save_checkpoint', 'shipped_checkpoint']
