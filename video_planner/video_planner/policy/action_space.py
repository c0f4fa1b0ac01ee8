"""The policy's state and action spaces, one definition for training targets and for acting.

State: where the TCP is in the image (pixel, in [-1, 1]) and how far (optical-frame depth / arm scale),
plus the gripper command. Actions: future TCP positions as offsets from the current one in the camera's
optical frame, in units of `arm scale * position_scale_m`. Both read the calibrated camera the planner
also uses, so one network serves every camera placement and arm size.
"""
from __future__ import annotations

import numpy as np

from video_planner.camera import CameraModel
from video_planner.policy.config import PolicyConfig


def state_vectors(camera: CameraModel, T_base_ee: np.ndarray, gripper, scale: float) -> np.ndarray:
    """(N, 4, 4) TCP poses (or one (4, 4)) + gripper commands -> (N, 4) (or (4,)) float32 states."""
    T = np.asarray(T_base_ee, np.float64)
    single = T.ndim == 2
    T = T.reshape(-1, 4, 4)
    Tc = camera.T_camera_base
    p_cam = T[:, :3, 3] @ Tc[:3, :3].T + Tc[:3, 3]
    uv, _ = camera.project_camera(p_cam)
    size = np.array([camera.width - 1, camera.height - 1], np.float64)
    state = np.concatenate([uv / size * 2 - 1, p_cam[:, 2:3] / scale,
                            np.asarray(gripper, np.float64).reshape(-1, 1)], 1).astype(np.float32)
    return state[0] if single else state


def chunk_targets(camera: CameraModel, ee_pose: np.ndarray, gripper: np.ndarray, scale: float,
                  config: PolicyConfig) -> tuple[np.ndarray, np.ndarray]:
    """An episode's (N, 4, 4) TCP poses and (N,) gripper states -> per frame t the next `chunk` waypoints:
    (N-1, chunk, 3) normalised camera-frame offsets and (N-1, chunk) gripper commands in {0, 1}. Past the
    episode's end the last waypoint repeats (hold still), as ACT pads its chunks."""
    n = len(ee_pose)
    R_cam_base = camera.T_camera_base[:3, :3]
    p = np.asarray(ee_pose)[:, :3, 3] @ R_cam_base.T
    future = np.minimum(np.arange(n - 1)[:, None] + np.arange(1, config.chunk + 1)[None], n - 1)
    offsets = (p[future] - p[:n - 1, None]) / (scale * config.position_scale_m)
    grip = (np.asarray(gripper)[future] >= 0.5)
    return offsets.astype(np.float32), grip.astype(np.float32)


def offsets_to_positions(camera: CameraModel, T_base_ee: np.ndarray, offsets: np.ndarray, scale: float,
                         config: PolicyConfig) -> np.ndarray:
    """(chunk, 3) normalised offsets predicted at TCP pose `T_base_ee` -> (chunk, 3) base-frame positions."""
    R_base_cam = camera.T_base_camera[:3, :3]
    metres = np.asarray(offsets, np.float64) * scale * config.position_scale_m
    return np.asarray(T_base_ee)[:3, 3] + metres @ R_base_cam.T
