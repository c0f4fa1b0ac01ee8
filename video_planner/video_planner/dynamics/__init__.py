"""Camera model and inverse dynamics: planned frames -> SE(3) end-effector motion in the base frame."""
from video_planner.dynamics.camera import BackprojectedPoints, CameraModel, look_at
from video_planner.dynamics.motion import EeMotion, InverseDynamics, InverseDynamicsRefused

__all__ = ['BackprojectedPoints', 'CameraModel', 'EeMotion', 'InverseDynamics',
           'InverseDynamicsRefused', 'look_at']
