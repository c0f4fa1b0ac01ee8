"""Camera model and inverse dynamics: planned frames -> SE(3) end-effector motion in the base frame.

``FlowDepthInverseDynamics`` (dense flow + depth + PnP, no training) and ``LearnedInverseDynamics``
(a small CNN, ``video-planner train --model idm``) both implement ``InverseDynamics.estimate``;
``postprocess`` checks jumps and confidence and raises ``InverseDynamicsRefused``.
"""
from video_planner.dynamics.camera import BackprojectedPoints, CameraModel, look_at
from video_planner.dynamics.flow_depth import FlowConfig, FlowDepthInverseDynamics
from video_planner.dynamics.motion import EeMotion, InverseDynamics, InverseDynamicsRefused
from video_planner.dynamics.postprocess import PostprocessConfig, postprocess

__all__ = ['BackprojectedPoints', 'CameraModel', 'EeMotion', 'FlowConfig', 'FlowDepthInverseDynamics',
           'InverseDynamics', 'InverseDynamicsRefused', 'LearnedInverseDynamics', 'PostprocessConfig',
           'look_at', 'postprocess']


def __getattr__(name):
    # The learned model pulls in torch: import it only when asked for.
    if name == 'LearnedInverseDynamics':
        from video_planner.dynamics.learned import LearnedInverseDynamics
        return LearnedInverseDynamics
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
