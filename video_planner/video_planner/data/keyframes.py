"""Which frames of a demonstration a K-frame plan keeps: its corners first, then evenly in time.

Frames evenly spaced in time skip short events: the touch at the bottom of a reach lasts three control
steps of sixty, so a nine-frame clip misses it about half the time and the plan never reaches down.
A corner is where the end-effector's path turns (the bottom of a descent, the end of a push) or where
the gripper changes; a plan that keeps every corner draws the contact, and executing it straight
between its frames retraces the demonstration's path.
"""
from __future__ import annotations

import numpy as np

SPACINGS = ('time', 'keyframes')  # how a clip's frames are picked: evenly in time, or corners first
CORNER_DEG = 45.0     # a turn of the path sharper than this is a corner
SAME_POSITION = 1e-3  # metres at scale 1: closer than this, two frames are one stop of the path


def corners(positions: np.ndarray, gripper: np.ndarray, same_m: float = SAME_POSITION) -> list[int]:
    """Indices of the frames where the path turns by more than CORNER_DEG or the gripper changes; where the
    path dwells, the dwell's last frame (the gripper has settled there)."""
    positions, gripper = np.asarray(positions, float), np.asarray(gripper, float).round()
    stops: list[list[int]] = []  # runs of frames at one position with one gripper state
    for i in range(len(positions)):
        if stops and np.linalg.norm(positions[i] - positions[stops[-1][0]]) < same_m \
                and gripper[i] == gripper[stops[-1][0]]:
            stops[-1].append(i)
        else:
            stops.append([i])
    out = []
    cos_limit = np.cos(np.radians(CORNER_DEG))
    for j in range(1, len(stops) - 1):
        a, b, c = (positions[stops[k][0]] for k in (j - 1, j, j + 1))
        u, v = b - a, c - b
        turn = np.dot(u, v) < cos_limit * np.linalg.norm(u) * np.linalg.norm(v)
        if turn or gripper[stops[j][0]] != gripper[stops[j - 1][0]]:
            out.append(stops[j][-1])
    return out


def keyframe_indices(positions: np.ndarray, gripper: np.ndarray, start: int, count: int,
                     same_m: float = SAME_POSITION) -> list[int]:
    """`count` increasing frame indices after `start` for a plan from frame `start` to the last frame: the
    last frame, the corners after `start` (the latest ones when there are more than fit), then frames
    evenly in time, each the one farthest from those already chosen."""
    n = len(positions)
    if not 0 <= start < n - 1 or count < 1:
        raise ValueError(f'keyframe_indices: need 0 <= start < {n - 1} and count >= 1, got {start}, {count}')
    if n - 1 - start <= count:  # fewer frames than asked: every frame, the last repeated
        return list(range(start + 1, n)) + [n - 1] * (count - (n - 1 - start))
    chosen = {n - 1}
    later = [i for i in corners(positions, gripper, same_m) if start < i < n - 1]
    chosen.update(later[-(count - 1):] if count > 1 else [])
    while len(chosen) < count:
        anchors = np.array(sorted(chosen | {start}))
        free = np.array([i for i in range(start + 1, n) if i not in chosen])
        gaps = np.abs(free[:, None] - anchors[None]).min(axis=1)
        chosen.add(int(free[int(np.argmax(gaps))]))
    return sorted(chosen)
