"""Step aside: when the arm hides the object the instruction names, move it out of the camera's way first.

A video model conditioned on a frame where the arm stands over the named object cannot draw a path to it: the
grounding network's map finds no object the depth image shows (`out_of_sight`) and lies on the arm's pixels
(`under_arm`), and a grasp or touch snaps onto a neighbour. At its home pose a small arm seen from close by (a
Z1, a UR5, an xArm 7) hides the named object in some scenes. The arm's pixels at any joint positions are known
from its URDF and the camera pose (`embodiment.arm_mask`), so the planner can tell where the arm stops
covering what it covers now: it tries the tool at the same height and orientation, moved sideways, keeps the
pose whose silhouette leaves the most of today's silhouette uncovered, and plans that move instead of a video.
The next plan sees the object.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import cv2
import numpy as np


@dataclass(frozen=True)
class StepAsideConfig:
    """Distances in metres for a Panda-sized arm (x the arm's scale where used)."""
    # The named object counts as out of sight when the object the depth image shows where the grounding
    # network's map points holds at most this share of the map's mass (the map then lies on the table, or
    # on the arm's pixels, painted out in the canonical view).
    seen_share: float = 0.25
    # ... and the map lies on the arm: at least this share of its mass within `arm_margin_px` of the arm's
    # silhouette. A map off the arm points at the table or a misread object, which moving the arm cannot
    # reveal; without this rule an arm stepped back and forth for a whole episode.
    # Measured on the benchmark's first frames (64 px): a hidden object's map lies within 2 px of the arm
    # (its share there 0.4-1.0), a misread visible one's mostly further off (0-0.3).
    under_arm_share: float = 0.35
    arm_margin_px: int = 2
    distances_m: tuple[float, ...] = (0.08, 0.15)   # how far sideways the tool is tried
    directions: int = 8                              # around the vertical, evenly
    # A pose is kept only if its silhouette covers at most this share of the pixels the arm covers now.
    max_left_covered: float = 0.5
    # Down at the objects (tool lower than this above the table) the gripper hides what it is about to grasp
    # or touch: that is not in the way.
    min_height_m: float = 0.10


def heat_share(heat: np.ndarray, pixels: Optional[np.ndarray]) -> float:
    """The share of the map's mass (`heat`, H x W, >= 0) on `pixels` (H x W bool); 0 without pixels or mass."""
    heat = np.clip(np.asarray(heat, float), 0.0, None)
    total = float(heat.sum())
    if pixels is None or total <= 0.0:
        return 0.0
    return float(heat[np.asarray(pixels, bool)].sum()) / total


def out_of_sight(heat: np.ndarray, object_pixels: Optional[np.ndarray], config: StepAsideConfig) -> bool:
    """Whether the named object is out of the camera's sight: the object found in depth where the grounding
    network's map points (`object_pixels`, None when none) holds little of the map."""
    return float(np.max(heat, initial=0.0)) > 0.0 and heat_share(heat, object_pixels) <= config.seen_share


def under_arm(heat: np.ndarray, silhouette: np.ndarray, config: StepAsideConfig) -> bool:
    """Whether the map (`heat`) lies on the arm: `under_arm_share` of its mass within `arm_margin_px` of
    `silhouette` (H x W bool, the arm's pixels from its URDF)."""
    near = np.asarray(silhouette, np.uint8)
    if config.arm_margin_px > 0:
        size = 2 * config.arm_margin_px + 1
        near = cv2.dilate(near, np.ones((size, size), np.uint8))
    return float(np.max(heat, initial=0.0)) > 0.0 and heat_share(heat, near > 0) >= config.under_arm_share


def sideways_poses(T_now: np.ndarray, scale: float, config: StepAsideConfig) -> list[np.ndarray]:
    """The tool at its pose now moved sideways (nearest first): `distances_m` x `scale` in `directions`."""
    poses = []
    for d in config.distances_m:
        for k in range(config.directions):
            a = 2.0 * np.pi * k / config.directions
            T = np.array(T_now, float)
            T[:2, 3] += d * scale * np.array([np.cos(a), np.sin(a)])
            poses.append(T)
    return poses


def clearing_pose(T_now: np.ndarray, silhouette_now: np.ndarray,
                  silhouette_at: Callable[[np.ndarray], Optional[np.ndarray]], scale: float,
                  config: StepAsideConfig) -> Optional[np.ndarray]:
    """The sideways pose (`sideways_poses`) whose arm silhouette covers the fewest of the pixels that
    `silhouette_now` covers, or None when none leaves at most `max_left_covered` of them covered.
    `silhouette_at(T)` renders the arm with the tool at T (None where the arm cannot reach T)."""
    now = np.asarray(silhouette_now, bool)
    if not now.any():
        return None
    best, best_share = None, config.max_left_covered
    for T in sideways_poses(T_now, scale, config):
        silhouette = silhouette_at(T)
        if silhouette is None:
            continue
        share = float((silhouette & now).sum()) / float(now.sum())
        if share < best_share:
            best, best_share = T, share
    return best
