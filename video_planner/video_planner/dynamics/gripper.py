"""Gripper commands for a plan, read from the end effector's height profile.

Why not from the pixels: at 64x64 the fingers are a pixel or two, and neither the learned model nor
flow co-motion reads them reliably (benchmarks/results/inverse_dynamics.md: gripper accuracy near
chance). What a video shows clearly is the hand going down to an object and coming back up. So the
gripper toggles at each pronounced low point of the path -- grasp at the first, release at the next --
which is how the expert's demonstrations (and AVDC's grasp heuristic) behave, on any arm. (In the
canonical view the drawn gripper shows its opening and the learned model reads it: the planner takes that
reading instead, `PlannerConfig.gripper_source`.)

A low point where the hand travels sideways while it is down is a push, not a grasp: the gripper closes
at the top of the descent, in the air, and stays closed, as the expert pushes with closed fingers. Closing
at the bottom would grip the object it is about to push (the strict rules fail a push that carries).
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


def low_segment(z: np.ndarray, i: int, tolerance_m: float) -> tuple[int, int]:
    """(first, last) index of the stretch around low point `i` that stays within `tolerance_m` of its height."""
    first, last = i, i
    while first > 0 and z[first - 1] <= z[i] + tolerance_m:
        first -= 1
    while last < len(z) - 1 and z[last + 1] <= z[i] + tolerance_m:
        last += 1
    return first, last


def sideways_travel(positions: np.ndarray, first: int, last: int) -> float:
    """Largest horizontal distance between two waypoints of positions[first..last]."""
    xy = np.asarray(positions)[first:last + 1, :2]
    return float(np.linalg.norm(xy[:, None] - xy[None], axis=-1).max())


def gripper_from_height(positions: np.ndarray, start: float = 0.0, min_dip_m: float = 0.02,
                        sweep_m: float = 0.04) -> np.ndarray:
    """(K+1,) commands, 0 open / 1 closed: `start` (the gripper now) toggled at every low point, except
    at a push (the hand travels `sweep_m` or more sideways while down): closed from the top of its descent.
    The low point after a push is a grasp (the push held nothing): open at the top, closed at the bottom.

    A command at index i takes effect once the arm has reached waypoint i (grasp at the bottom).
    """
    positions = np.asarray(positions, dtype=np.float64)
    z = positions[:, 2]
    events: dict[int, str] = {}   # waypoint -> 'close' | 'open' | 'toggle'
    since, pushed = 0, False
    for i in low_points(z, min_dip_m):
        top = since + int(np.flatnonzero(z[since:i] == z[since:i].max())[-1])
        if sideways_travel(positions, *low_segment(z, i, min_dip_m / 2)) >= sweep_m:
            events[top], pushed = 'close', True
        elif pushed:
            events[top], events[i], pushed = 'open', 'close', False
        else:
            events[i] = 'toggle'
        since = i
    closed = float(start) >= 0.5
    out = np.empty(len(positions))
    for i in range(len(positions)):
        action = events.get(i)
        if action == 'toggle':
            closed = not closed
        elif action:
            closed = action == 'close'
        out[i] = float(closed)
    return out

