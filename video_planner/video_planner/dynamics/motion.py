"""What inverse dynamics returns (``EeMotion``) and the interface every method implements.

``InverseDynamics.estimate`` turns a planned video into end-effector poses in the robot base frame:
``frames[0]`` is the real camera frame the plan was conditioned on, whose end-effector pose
``T_base_ee0`` is known from the robot state; ``frames[1:]`` are generated.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field

import numpy as np

from video_planner.camera import CameraModel
from video_planner.errors import VideoPlannerError


class InverseDynamicsRefused(VideoPlannerError):
    """The frames do not show a trackable end-effector motion (low confidence or an impossible jump).

    The planner turns this into "plan failed: low inverse-dynamics confidence"; ``motion`` holds the
    estimate that was refused, for logging and display.
    """

    def __init__(self, message: str, motion: 'EeMotion | None' = None):
        super().__init__(message)
        self.motion = motion


@dataclass
class EeMotion:
    """End-effector motion over the K+1 frames of a plan (index 0 = the current, real frame)."""

    T_base_ee: np.ndarray  # (K+1, 4, 4) float64 poses of the ee in the base frame
    gripper: np.ndarray  # (K+1,) float, 0.0 = open .. 1.0 = closed
    confidence: np.ndarray  # (K+1,) float in [0, 1]; index 0 is 1 (known from the robot state)
    method: str = ''
    # Per-step diagnostics a method may fill (e.g. 'inlier_ratio', 'reprojection_px', 'n_points').
    diagnostics: dict = field(default_factory=dict)
    # Steps the post-processing flagged (e.g. a jump beyond the max step), (K+1,) bool.
    flagged: np.ndarray | None = None

    def __post_init__(self):
        self.T_base_ee = np.asarray(self.T_base_ee, dtype=np.float64)
        self.gripper = np.asarray(self.gripper, dtype=np.float64)
        self.confidence = np.asarray(self.confidence, dtype=np.float64)
        n = self.T_base_ee.shape[0] if self.T_base_ee.ndim == 3 else -1
        if self.T_base_ee.shape != (n, 4, 4) or n < 1:
            raise VideoPlannerError(
                f'EeMotion.T_base_ee: expected shape (K+1, 4, 4), got {self.T_base_ee.shape}')
        if self.gripper.shape != (n,):
            raise VideoPlannerError(
                f'EeMotion.gripper: expected shape ({n},), got {self.gripper.shape}')
        if self.confidence.shape != (n,):
            raise VideoPlannerError(
                f'EeMotion.confidence: expected shape ({n},), got {self.confidence.shape}')
        if self.flagged is None:
            self.flagged = np.zeros(n, dtype=bool)
        else:
            self.flagged = np.asarray(self.flagged, dtype=bool)

    def __len__(self) -> int:
        return self.T_base_ee.shape[0]

    @property
    def positions(self) -> np.ndarray:
        """(K+1, 3) end-effector positions in the base frame, metres."""
        return self.T_base_ee[:, :3, 3]

    @property
    def min_confidence(self) -> float:
        return float(self.confidence.min())


class InverseDynamics(abc.ABC):
    """Frames of a planned video -> end-effector motion in the robot base frame."""

    name: str = 'inverse_dynamics'

    @abc.abstractmethod
    def estimate(self, frames: np.ndarray, depth0_m: np.ndarray, camera: CameraModel,
                 T_base_ee0: np.ndarray, ee_mask0: np.ndarray | None = None) -> EeMotion:
        """frames (K+1, H, W, 3) uint8 RGB; depth0_m (H, W) float32 metres (NaN/0 unknown);
        camera sized to the frames; T_base_ee0 (4, 4) the pose in frames[0];
        ee_mask0 (H, W) bool marking the end-effector in frames[0], or None to derive one."""


def check_inputs(frames, depth0_m, camera: CameraModel, T_base_ee0, ee_mask0) -> tuple:
    """Validate ``estimate`` arguments at the edge; returns them as arrays of the expected dtypes."""
    if not isinstance(camera, CameraModel):
        raise VideoPlannerError(f'camera: expected a CameraModel, got {type(camera).__name__}')
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 2:
        raise VideoPlannerError(
            f'frames: expected (K+1, H, W, 3) RGB with K >= 1, got shape {frames.shape}')
    if frames.dtype != np.uint8:
        raise VideoPlannerError(f'frames: expected dtype uint8, got {frames.dtype}')
    camera.check_image(frames[0], 'frames')
    depth0_m = np.asarray(depth0_m, dtype=np.float32)
    if depth0_m.shape != frames.shape[1:3]:
        raise VideoPlannerError(
            f'depth0_m: expected shape {frames.shape[1:3]} (same as the frames), '
            f'got {depth0_m.shape}')
    T = np.asarray(T_base_ee0, dtype=np.float64)
    if T.shape != (4, 4) or not np.all(np.isfinite(T)):
        raise VideoPlannerError(f'T_base_ee0: expected a finite 4x4 pose, got shape {T.shape}')
    R = T[:3, :3]
    if np.abs(R.T @ R - np.eye(3)).max() > 1e-4 or abs(np.linalg.det(R) - 1.0) > 1e-4:
        raise VideoPlannerError('T_base_ee0: rotation block is not a proper rotation')
    if ee_mask0 is not None:
        ee_mask0 = np.asarray(ee_mask0)
        if ee_mask0.shape != frames.shape[1:3]:
            raise VideoPlannerError(
                f'ee_mask0: expected shape {frames.shape[1:3]} (same as the frames), '
                f'got {ee_mask0.shape}')
        ee_mask0 = ee_mask0.astype(bool)
    return frames, depth0_m, T, ee_mask0
