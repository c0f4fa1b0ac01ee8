"""Post-processing of an estimated end-effector motion: jump check, smoothing, refusal.

Order (``postprocess``): 1. steps that jump more than ``max_step_m`` / ``max_step_rad`` from the
previous pose are flagged, get confidence 0 and are replaced by the previous pose (a robot must never
be sent a jump the video could not have shown); 2. positions and rotations are smoothed with a
confidence-weighted window, frame 0 kept exactly (it is the robot's measured pose); 3. ``check``
raises ``InverseDynamicsRefused`` when the plan's confidence (``plan_confidence``: the mean over steps
1..K, a flagged jump counting 0) is below ``min_confidence``.

The planner (``planner.pipeline``) runs the same steps, with its own ``max_step_m`` / ``min_confidence``,
and its confidence gate is ``confidence_failure`` below: one rule for every place a plan is refused.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import transforms3d

from video_planner.dynamics.gripper import GRIPPER_SOURCES, gripper_from_height
from video_planner.dynamics.motion import EeMotion, InverseDynamicsRefused
from video_planner.errors import ConfigError


@dataclass
class PostprocessConfig:
    max_step_m: float = 0.15  # translation between consecutive frames beyond this: flagged
    max_step_rad: float = 0.6  # rotation between consecutive frames beyond this: flagged
    # Odd; 1 = off (default): on 9-frame plans a window cuts the corner at the bottom of a grasp.
    smoothing_window: int = 1
    min_confidence: float = 0.2  # plan confidence (mean over steps 1..K) below this: the plan is refused
    gripper_threshold: float = 0.5  # gripper output is binarised at this value (0 open, 1 closed)
    # 'height': toggle at the path's low points (dynamics/gripper.py); 'estimate': the method's own output.
    gripper_source: str = 'height'
    gripper_min_dip_m: float = 0.02  # how far the hand must go down and back up for a low point to count
    gripper_sweep_m: float = 0.04   # sideways travel while down that makes a low point a push, not a grasp

    def __post_init__(self):
        if not self.max_step_m > 0:
            raise ConfigError(f'postprocess.max_step_m: expected > 0, got {self.max_step_m!r}')
        if not self.max_step_rad > 0:
            raise ConfigError(f'postprocess.max_step_rad: expected > 0, got {self.max_step_rad!r}')
        if not (isinstance(self.smoothing_window, int) and self.smoothing_window >= 1
                and self.smoothing_window % 2 == 1):
            raise ConfigError(
                f'postprocess.smoothing_window: expected an odd int >= 1, got {self.smoothing_window!r}')
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ConfigError(
                f'postprocess.min_confidence: expected a value in [0, 1], got {self.min_confidence!r}')
        if self.gripper_source not in GRIPPER_SOURCES:
            raise ConfigError(f'postprocess.gripper_source: expected one of {GRIPPER_SOURCES}, '
                              f'got {self.gripper_source!r}')
        if not self.gripper_min_dip_m > 0:
            raise ConfigError(f'postprocess.gripper_min_dip_m: expected > 0, got {self.gripper_min_dip_m!r}')
        if not self.gripper_sweep_m > 0:
            raise ConfigError(f'postprocess.gripper_sweep_m: expected > 0, got {self.gripper_sweep_m!r}')


def rotation_angle(Ra: np.ndarray, Rb: np.ndarray) -> np.ndarray:
    """Angle (rad) of Ra^T Rb, batched over leading dimensions."""
    c = (np.trace(np.swapaxes(Ra, -1, -2) @ Rb, axis1=-2, axis2=-1) - 1.0) / 2.0
    return np.arccos(np.clip(c, -1.0, 1.0))


def flag_jumps(motion: EeMotion, max_step_m: float, max_step_rad: float) -> EeMotion:
    """Flag steps that jump beyond the limits from the last accepted pose; hold that pose instead."""
    T = motion.T_base_ee.copy()
    conf = motion.confidence.copy()
    flagged = motion.flagged.copy()
    last = T[0].copy()
    for i in range(1, len(T)):
        dp = np.linalg.norm(T[i, :3, 3] - last[:3, 3])
        dr = rotation_angle(last[:3, :3], T[i, :3, :3])
        if dp > max_step_m or dr > max_step_rad or not np.all(np.isfinite(T[i])):
            flagged[i] = True
            conf[i] = 0.0
            T[i] = last
        else:
            last = T[i].copy()
    return replace(motion, T_base_ee=T, confidence=conf, flagged=flagged)


def smooth(motion: EeMotion, window: int) -> EeMotion:
    """Confidence-weighted moving average of positions and rotations (quaternion mean); frame 0 fixed."""
    n = len(motion)
    if window <= 1 or n < 3:
        return motion
    half = window // 2
    T = motion.T_base_ee.copy()
    quats = np.array([transforms3d.quaternions.mat2quat(R) for R in motion.T_base_ee[:, :3, :3]])
    for i in range(1, len(quats)):  # one hemisphere, so that averaging is meaningful
        if quats[i] @ quats[i - 1] < 0:
            quats[i] = -quats[i]
    w_all = np.maximum(motion.confidence, 1e-3)
    for i in range(1, n):
        lo, hi = max(0, i - half), min(n, i + half + 1)
        w = w_all[lo:hi]
        T[i, :3, 3] = (w[:, None] * motion.T_base_ee[lo:hi, :3, 3]).sum(0) / w.sum()
        # Weighted quaternion mean: principal eigenvector of sum w q q^T.
        Q = quats[lo:hi]
        _, vecs = np.linalg.eigh((w[:, None, None] * Q[:, :, None] * Q[:, None, :]).sum(0))
        T[i, :3, :3] = transforms3d.quaternions.quat2mat(vecs[:, -1])
    return replace(motion, T_base_ee=T)


def plan_confidence(confidence: np.ndarray) -> float:
    """How far a plan can be trusted: the mean confidence of steps 1..K (step 0 is the measured pose)."""
    confidence = np.asarray(confidence, np.float64)
    value = float(np.mean(confidence[1:])) if len(confidence) > 1 else 0.0
    return value if np.isfinite(value) else 0.0


def confidence_failure(confidence: np.ndarray, min_confidence: float) -> str:
    """Why a plan of this per-step confidence is refused, or '' when it is not."""
    value = plan_confidence(confidence)
    if value >= min_confidence:
        return ''
    low = np.nonzero(np.asarray(confidence)[1:] < min_confidence)[0] + 1
    return (f'inverse-dynamics confidence {value:.2f} is below min_confidence {min_confidence:.2f} '
            f'(low steps {low.tolist()})')


def check(motion: EeMotion, min_confidence: float) -> None:
    """Raise InverseDynamicsRefused if the plan's confidence is below ``min_confidence``."""
    reason = confidence_failure(motion.confidence, min_confidence)
    if reason:
        flagged = np.nonzero(motion.flagged)[0]
        jumps = f'; steps {flagged.tolist()} jumped beyond the max step' if len(flagged) else ''
        raise InverseDynamicsRefused(
            f'plan failed: low inverse-dynamics confidence ({motion.method}): {reason}{jumps}. The generated '
            'video does not show a trackable end-effector motion; replan or check the camera.', motion)


def postprocess(motion: EeMotion, config: PostprocessConfig | None = None,
                refuse: bool = True, gripper_now: float = 0.0) -> EeMotion:
    """Jump check -> smoothing -> gripper commands -> refusal (raise) when ``refuse``.

    gripper_now: the gripper's state when the plan starts (0 open, 1 closed), where the height rule starts.
    """
    cfg = config or PostprocessConfig()
    out = flag_jumps(motion, cfg.max_step_m, cfg.max_step_rad)
    out = smooth(out, cfg.smoothing_window)
    if cfg.gripper_source == 'height':
        gripper = gripper_from_height(out.positions, gripper_now, cfg.gripper_min_dip_m, cfg.gripper_sweep_m)
    else:
        gripper = (out.gripper >= cfg.gripper_threshold).astype(np.float64)
    out = replace(out, gripper=gripper)
    if refuse:
        check(out, cfg.min_confidence)
    return out
