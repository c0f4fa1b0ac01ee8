"""Gripper commands for a plan, read from the end effector's height profile.

Why not from the pixels: at 64x64 the fingers are a pixel or two, and neither the learned model nor
flow co-motion reads them reliably (benchmarks/results/inverse_dynamics.md: gripper accuracy near
chance). What a video shows clearly is the hand going down to an object and coming back up. So the
gripper toggles at each pronounced low point of the path -- grasp at the first, release at the next --
which is how the expert's demonstrations (and AVDC's grasp heuristic) behave, on any arm.
"""
from __future__ import annotations

import numpy as np

GRIPPER_SOURCES = ('height', 'estimate')  # height: this rule; estimate: the inverse-dynamics method's own


def low_points(z: np.ndarray, min_dip_m: float) -> list[int]:
    """Indices 1..K-1 where the path bottoms out: at least `min_dip_m` below the highest point since the
    previous low point and at least `min_dip_m` below some later point (the hand comes back up)."""
    z = np.asarray(z, dtype=np.float64)
    found, since = [], 0
    for i in range(1, len(z) - 1):
        if not (z[i] <= z[i - 1] and z[i] <= z[i + 1]):
            continue
        if z[since:i].max() - z[i] >= min_dip_m and z[i + 1:].max() - z[i] >= min_dip_m:
            found.append(i)
            since = i
    return found


def gripper_from_height(positions: np.ndarray, start: float = 0.0, min_dip_m: float = 0.02) -> np.ndarray:
    """(K+1,) commands, 0 open / 1 closed: `start` (the gripper now) toggled at every low point.

    A command at index i takes effect once the arm has reached waypoint i (grasp at the bottom).
    """
    closed = float(start) >= 0.5
    out = np.empty(len(positions))
    toggles = set(low_points(np.asarray(positions)[:, 2], min_dip_m))
    for i in range(len(positions)):
        if i in toggles:
            closed = not closed
        out[i] = float(closed)
    return out
