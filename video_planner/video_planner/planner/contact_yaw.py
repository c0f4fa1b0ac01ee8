"""Which way the gripper turns about the vertical where it makes contact: away from the neighbours.

The inverse dynamics read positions; every waypoint keeps the tool's current orientation. A gripper is
not round: open fingers stand 4-10 cm either side of the tool centre point, a Z1's jaw 6 cm to one side,
so a contact made at the drawn (home) yaw lands a finger on the object next to the named one whenever the
two stand along the fingers' line. The scripted expert turns its grasps for room; the planner does the same
with what it can see: the obstacles in the depth image and the arm's own gripper, as its URDF shapes it
(`sim/gripper_underside.py`). Only a contact that would hit something turns: by the smallest of
the 30 degree steps that clears everything, else by the one with the most room; it keeps that yaw to the
end of the plan.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from video_planner.planner.collision import tool_axes_xy, underside_gaps, walk_path

YAW_STEPS_DEG = (0, 30, -30, 60, -60, 90, -90, 120, -120, 150, -150, 180)


def turned(T_base_ee: np.ndarray, yaw: float) -> np.ndarray:
    """The poses turned by `yaw` (radians) about the base vertical through each one's own position."""
    c, s = np.cos(yaw), np.sin(yaw)
    Rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    out = np.array(T_base_ee, float, copy=True)
    out[..., :3, :3] = Rz @ out[..., :3, :3]
    return out


def room(poses: np.ndarray, obstacles: np.ndarray, underside, step_m: float) -> float:
    """The least height (metres) by which the gripper, open or closed, passes over the obstacles along the
    path from the first of `poses` (N >= 2, 4 x 4) through the others; inf when it passes over none; negative:
    that far into one."""
    if len(obstacles) == 0:
        return float('inf')
    path, leads_to = walk_path(poses[0, :3, 3], poses[1:, :3, 3], step_m)
    axes = tool_axes_xy(poses[1:])[leads_to]
    gaps = [underside_gaps(path, axes, np.full(len(path), shut), obstacles, underside).min() for shut in (False, True)]
    return float(min(gaps))


def contact_yaw(T_base_ee: np.ndarray, span: tuple[int, int], obstacles: np.ndarray, underside,
                step_m: float, reachable: Optional[Callable[[np.ndarray], bool]] = None) -> float:
    """The yaw (radians) for the contact at waypoints span[0]..span[1] (>= 1): 0 when the gripper, from the
    waypoint before it to the one after, passes over every obstacle; else the smallest 30 degree step that
    clears them all, or the one with the most room; 0 when none has more. `reachable(pose)`: whether the arm
    can take a pose (its IK); a yaw at which it cannot make the contact is passed over."""
    a, b = span
    window = T_base_ee[max(a - 1, 0):min(b + 2, len(T_base_ee))]
    best_yaw, best = 0.0, room(window, obstacles, underside, step_m)
    if best >= 0.0:
        return 0.0
    for deg in YAW_STEPS_DEG[1:]:
        yaw = float(np.radians(deg))
        candidate = turned(window, yaw)
        r = room(candidate, obstacles, underside, step_m)
        if r <= best + 1e-6:
            continue
        if reachable is not None and not all(reachable(T) for T in turned(T_base_ee[a:b + 1], yaw)):
            continue
        best_yaw, best = yaw, r
        if best >= 0.0:
            break
    return best_yaw


def turn_contact(T_base_ee: np.ndarray, span: Optional[tuple[int, int]], obstacles: np.ndarray, underside,
                 step_m: float, reachable: Optional[Callable[[np.ndarray], bool]] = None) -> np.ndarray:
    """The plan with the contact at `span` (None: no contact) and every waypoint from the one before it to
    the end turned to `contact_yaw`; the input itself when it keeps its yaw."""
    if span is None or underside is None:
        return T_base_ee
    yaw = contact_yaw(T_base_ee, span, obstacles, underside, step_m, reachable)
    if yaw == 0.0:
        return T_base_ee
    poses = np.array(T_base_ee, copy=True)
    start = max(span[0] - 1, 1)
    poses[start:] = turned(poses[start:], yaw)
    return poses
