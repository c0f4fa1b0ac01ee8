"""Inverse dynamics: planned frames -> SE(3) end-effector motion in the base frame.

``FlowDepthInverseDynamics`` (dense flow + depth + PnP, no training) and ``LearnedInverseDynamics``
(a small CNN, ``video-planner train --model idm``) both implement ``InverseDynamics.estimate``;
``postprocess`` checks jumps and confidence and raises ``InverseDynamicsRefused``.
"""
from __future__ import annotations

from video_planner.dynamics.config import DynamicsConfig
from video_planner.dynamics.flow_depth import FlowConfig, FlowDepthInverseDynamics
from video_planner.dynamics.motion import EeMotion, InverseDynamics, InverseDynamicsRefused
from video_planner.dynamics.postprocess import PostprocessConfig, postprocess
from video_planner.errors import ConfigError

__all__ = ['DynamicsConfig', 'EeMotion', 'FlowConfig', 'FlowDepthInverseDynamics', 'InverseDynamics',
           'InverseDynamicsRefused', 'LearnedInverseDynamics', 'PostprocessConfig', 'make_inverse_dynamics',
           'postprocess']


def make_inverse_dynamics(config: DynamicsConfig | None = None, device: str = 'cpu') -> InverseDynamics:
    """The InverseDynamics the config names."""
    config = config or DynamicsConfig()
    if config.method == 'flow':
        return FlowDepthInverseDynamics(config.flow)
    if not config.learned_checkpoint:
        raise ConfigError("dynamics config: method 'learned' needs learned.checkpoint (a model.pt path)")
    from video_planner.dynamics.learned import LearnedInverseDynamics
    return LearnedInverseDynamics.load(config.learned_checkpoint, device=device)


def __getattr__(name):
    # The learned model pulls in torch: import it only when asked for.
    if name == 'LearnedInverseDynamics':
        from video_planner.dynamics.learned import LearnedInverseDynamics
        return LearnedInverseDynamics
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
