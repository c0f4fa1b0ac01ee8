"""Routing a plan's path over what it would drive the gripper through, instead of refusing the plan.

The collision gate (`planner/collision.py`) finds the first straight segment of a plan's path that drives the
gripper into an object seen in depth. The video model often draws the right waypoints joined at the wrong
height: the approach to a push start behind the object runs through the object, a grasp's approach skims
another one. A pick-and-place planner would lift the tool over it, so this does: the segment a -> b becomes
a -> a' -> b' -> b, a' and b' straight above a and b at the lowest height (in `rise_step_m` steps, up to
`max_rise_m` above the higher end) that clears it, plus `clearance_m` (the gate lets a gripper graze a top
face, and a tracking arm lags its commands), the gripper held as it was on that segment. Up to
`max_detours` segments are routed so; a path still blocked then, or blocked at a waypoint itself, is refused
as before. A segment inside a touch or a push (after its first contact) is never lifted: that would break the
contact the instruction asks for.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable, NamedTuple, Optional

import numpy as np


@dataclass(frozen=True)
class DetourConfig:
    """Distances in metres for a Panda-sized arm; `scaled` sizes them to another arm's workspace."""
    rise_step_m: float = 0.01
    max_rise_m: float = 0.15
    clearance_m: float = 0.03
    max_detours: int = 3

    def scaled(self, scale: float) -> 'DetourConfig':
        return DetourConfig(**{f.name: getattr(self, f.name) * scale for f in fields(self) if f.name.endswith('_m')},
                            max_detours=self.max_detours)


class Route(NamedTuple):
    """A plan with via points: `index`, for each of the new rows, the row of the plan it copies (frames,
    confidence); `touch_from`, the contact's first waypoint in the new rows."""
    T_base_ee: np.ndarray
    gripper: np.ndarray
    index: np.ndarray
    touch_from: int


# (poses, gripper, touch_from) -> the pose index (1..) the first colliding segment leads to, or None
FirstHit = Callable[[np.ndarray, np.ndarray, int], Optional[int]]


def lift_over(T_base_ee: np.ndarray, gripper: np.ndarray, index: np.ndarray, j: int, z: float,
              held: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The plan with two waypoints at height `z` before waypoint `j`: above waypoint j - 1, then above j,
    the gripper commanded `held` (its state on that segment) at both."""
    above = np.stack([T_base_ee[j - 1], T_base_ee[j]]).copy()
    above[:, 2, 3] = z
    poses = np.concatenate([T_base_ee[:j], above, T_base_ee[j:]])
    commands = np.concatenate([gripper[:j], [held, held], gripper[j:]]).astype(gripper.dtype)
    rows = np.concatenate([index[:j], index[[j - 1, j]], index[j:]])
    return poses, commands, rows


def lowest_clear(poses: np.ndarray, commands: np.ndarray, index: np.ndarray, j: int, held: float,
                 touch_from: int, first_hit: FirstHit, config: DetourConfig):
    """`lift_over` at the lowest height that clears the segment to waypoint `j` (a later segment may still
    collide), raised by `clearance_m` where that clears too; None when no height up to `max_rise_m` does."""
    def clears(z):
        lifted = lift_over(poses, commands, index, j, z, held)
        hit = first_hit(lifted[0], lifted[1], touch_from)
        return lifted if hit is None or hit > j + 2 else None
    low = max(poses[j - 1, 2, 3], poses[j, 2, 3])
    for rise in np.arange(1, int(round(config.max_rise_m / config.rise_step_m)) + 1) * config.rise_step_m:
        lifted = clears(low + rise)
        if lifted is not None:
            return clears(low + rise + config.clearance_m) or lifted
    return None


def route_over(T_base_ee: np.ndarray, gripper: np.ndarray, gripper_now: float, touch_from: int,
               first_hit: FirstHit, config: DetourConfig, keep_contact: bool = False) -> Optional[Route]:
    """The plan with its colliding segments lifted over what they hit (see the module), or None when one
    cannot be. `first_hit` is the collision gate; `keep_contact`: no segment after waypoint `touch_from` may
    be lifted (a touch's or a push's contact)."""
    poses, commands = np.asarray(T_base_ee, float), np.asarray(gripper)
    index = np.arange(len(poses))
    for _ in range(config.max_detours):
        j = first_hit(poses, commands, touch_from)
        if j is None:
            return Route(poses, commands, index, touch_from)
        if keep_contact and j > touch_from:
            return None
        held = gripper_now if j == 1 else float(commands[j - 1])
        shift = 2 if j <= touch_from else 0
        lifted = lowest_clear(poses, commands, index, j, held, touch_from + shift, first_hit, config)
        if lifted is None:
            return None
        poses, commands, index = lifted
        touch_from += shift
    return Route(poses, commands, index, touch_from) if first_hit(poses, commands, touch_from) is None else None
