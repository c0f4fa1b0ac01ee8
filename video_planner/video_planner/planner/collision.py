"""Would a plan drive the gripper through an object? A 2.5-D check against the frame's depth image.

The depth image shows the top of everything on the table. Back-projected into the base frame, the points
that stand above the table are obstacles, each reaching down to the table (one camera cannot see under
it); the arm and whatever the gripper holds are left out, and the object the instruction names (whole)
counts apart: an obstacle only until the plan's contact with it (`Obstacles`, `contact.contact_start`). The
gripper is the arm's own, seen from below (`sim/gripper_underside.py`: from its URDF, fingers open
or closed, turned with the tool), or a vertical cylinder of radius `gripper_radius_m` on the tool centre
point. The plan's path, the straight lines the executor follows from the current pose through every
waypoint, is walked in small steps; it collides where the gripper's underside passes more than
`penetration_m` below an obstacle's top (the cylinder: the tool centre point, within its radius). A video
model that draws the arm sweeping across the table at object height plans exactly that, and it knocks
whatever stands there.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import NamedTuple, Optional

import cv2
import numpy as np

from video_planner.camera import CameraModel


@dataclass(frozen=True)
class CollisionConfig:
    """Distances in metres for a Panda-sized arm; `scaled` sizes them to another arm's workspace."""
    gripper_radius_m: float = 0.025   # the gripper's footprint seen from above, about its tool centre point
    min_height_m: float = 0.012       # a surface this far above the table is an obstacle (depth noise below)
    # How far below an obstacle's top the tool must pass to count: a graze at the rim of a top face (or of
    # the named object's coarse mask) is not a collision, a gripper driven into the side of an object is.
    penetration_m: float = 0.01
    held_radius_m: float = 0.05       # points this near the current tool centre point are the gripper or its load
    # Taller than anything set on the table for the gripper: the arm itself where no URDF masks its pixels.
    max_height_m: float = 0.2
    path_step_m: float = 0.004        # spacing of the checked points along the path

    def scaled(self, scale: float) -> 'CollisionConfig':
        return CollisionConfig(**{f.name: getattr(self, f.name) * scale for f in fields(self)})


@dataclass(frozen=True)
class SceneMasks:
    """Pixels of one depth frame: `ignore`, the arm's own (and what it holds); `target`, the named object's;
    `heat`, the grounding network's map of the named object that `target` thresholds; `seen`, the object to
    grasp, touch or push as the depth image shows it (`contact.locate_object`), when that contact is snapped for this
    instruction (`contact` says which);
    `destination`, where the instruction asks the object to go (`contact.locate_destination`), when places are;
    `push_along` and `push_room_m`, which way and how far a push should go, when pushes are;
    `table_z`, the table's height in the base frame (the median depth point off the arm), None without one."""
    ignore: np.ndarray
    target: np.ndarray
    heat: np.ndarray
    seen: Optional[object] = None   # a contact.SeenObject (contact.py imports this module)
    # (H, W) bool: the object the grounding network's map points at in depth (`seen`'s, when a contact is
    # asked); None when neither a contact nor stepping aside looks for it
    seen_pixels: Optional[np.ndarray] = None
    contact: str = ''               # what the instruction asks to do at `seen`: 'grasp', 'touch' or 'push'
    contact_sure: bool = False      # its probe reads >= 0.5: snapping may overrule the drawn gripper
    destination: Optional[object] = None   # a contact.SeenPlace, when the instruction asks for a place
    push_along: Optional[np.ndarray] = None  # (2,) unit base-frame xy: the way the instruction asks to push
    push_room_m: Optional[float] = None      # how far the pushed object may go that way (up to a reference)
    table_z: Optional[float] = None


class Obstacles(NamedTuple):
    """What a plan's path must not drive the gripper into, as (N, 3) base-frame tops."""
    others: np.ndarray   # everything on the table but the named object and what the gripper stands in now
    target: np.ndarray   # the named object: an obstacle until the plan's contact with it (empty: none)


class TableHeights(NamedTuple):
    points: np.ndarray   # (H*W, 3) every pixel back-projected into the base frame (NaN without depth)
    keep: np.ndarray     # (H*W,) valid depth, outside the ignored pixels
    height: np.ndarray   # (H*W,) above the table
    table_z: float


def table_heights(depth_m: np.ndarray, camera: CameraModel, ignore: Optional[np.ndarray]) -> Optional[TableHeights]:
    """The depth image as heights above the table, the pixels of `ignore` (the arm) left out; None when no
    pixel is left. The table fills most of a tabletop frame: its height is the median one (a real table need
    not be at z = 0)."""
    points = camera.backproject_image(np.asarray(depth_m, np.float32))
    keep = points.valid.copy()
    if ignore is not None:
        keep &= ~np.asarray(ignore, bool).reshape(-1)
    if not keep.any():
        return None
    z = points.points_base[:, 2]
    table_z = float(np.median(z[keep]))
    return TableHeights(points.points_base, keep, z - table_z, table_z)


@dataclass(frozen=True)
class Collision:
    waypoint: int          # index of the waypoint the colliding segment leads to (0-based)
    obstacle: np.ndarray   # the obstacle point hit, base frame (3,)
    tool: np.ndarray       # the tool centre point there, base frame (3,)
    what: str = 'an object'

    def reason(self) -> str:
        return (f'the path to waypoint {self.waypoint} drives the gripper through {self.what}: its top at '
                f'{np.round(self.obstacle, 3).tolist()} m stands {self.obstacle[2] - self.tool[2]:.3f} m above the '
                f'tool at {np.round(self.tool, 3).tolist()} m (seen in the depth image)')


def above_table(heights: TableHeights, config: CollisionConfig) -> np.ndarray:
    """(H*W,) bool: the pixels that stand on the table as obstacles (off the ignored ones, above depth
    noise, below the arm's own height)."""
    return heights.keep & (heights.height > config.min_height_m) & (heights.height < config.max_height_m)


def obstacle_points(depth_m: np.ndarray, camera: CameraModel, ignore: Optional[np.ndarray],
                    tool_now: np.ndarray, config: CollisionConfig,
                    allowed: Optional[np.ndarray] = None,
                    heights: Optional[TableHeights] = None,
                    within: Optional[np.ndarray] = None) -> np.ndarray:
    """(N, 3) base-frame tops of what stands above the table, outside `ignore` (the arm) and away from the
    tool. `allowed`: pixels of an object the plan may touch; every blob of above-table pixels it overlaps
    (grown by a pixel) is left out whole, so a coarse mask (the grounding network's, at 64 px) still
    covers its object. `within`: pixels of one object: only the blobs it overlaps count (that object's
    points alone). `heights`: `table_heights(depth_m, camera, ignore)` when the caller has it."""
    heights = table_heights(depth_m, camera, ignore) if heights is None else heights
    if heights is None:
        return np.zeros((0, 3))
    above = above_table(heights, config)
    if allowed is not None and above.any():
        above &= ~blobs_under(above, allowed, depth_m.shape)
    if within is not None and above.any():
        above &= blobs_under(above, within, depth_m.shape)
    xyz = heights.points[above]
    return xyz[np.linalg.norm(xyz - tool_now, axis=1) > config.held_radius_m]


def blobs_under(above: np.ndarray, pixels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H*W,) bool: the `above` pixels (flat) of every 4-connected blob that `pixels` (H, W), grown by one
    pixel, overlaps: whole objects from a coarse mask of them."""
    blobs = cv2.connectedComponents(above.reshape(shape).astype(np.uint8), connectivity=4)[1].reshape(-1)
    near = cv2.dilate(np.asarray(pixels, np.uint8), np.ones((3, 3), np.uint8)).reshape(-1) > 0
    return above & np.isin(blobs, np.unique(blobs[near & above]))


def walk_path(start: np.ndarray, waypoints: np.ndarray, step_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every `step_m` along the straight lines start -> waypoint 0 -> ... and, for each, the index
    of the waypoint its segment leads to."""
    corners = np.vstack([start[None], waypoints])
    points, leads_to = [], []
    for i, (a, b) in enumerate(zip(corners[:-1], corners[1:])):
        n = max(1, int(np.ceil(np.linalg.norm(b - a) / step_m)))
        t = np.arange(1, n + 1)[:, None] / n
        points.append(a + (b - a) * t)
        leads_to.append(np.full(n, i))
    return np.vstack(points), np.concatenate(leads_to)


def underside_gaps(tools: np.ndarray, axes_xy: np.ndarray, closed: np.ndarray, obstacles: np.ndarray,
                   underside) -> np.ndarray:
    """(N, M): how far the gripper's underside (a `GripperUnderside`) passes above each obstacle top, with the
    TCP at `tools` (N, 3), its x and y axes' base-frame xy components `axes_xy` (N, 2, 2) and the fingers
    `closed` (N,) bool; negative: that far into the obstacle; inf where no part of the gripper is over it."""
    from video_planner.sim.gripper_underside import NOTHING
    d = obstacles[None, :, :2] - tools[:, None, :2]
    local = np.einsum('nmk,njk->nmj', d, axes_xy)
    reach = underside.reach_at(local, closed[:, None])
    gaps = tools[:, None, 2] - reach - obstacles[None, :, 2]
    return np.where(reach > NOTHING, gaps, np.inf)


def tool_axes_xy(T_base_ee: np.ndarray) -> np.ndarray:
    """(N, 2, 2): the base-frame xy components of each pose's tool x and y axes (rows), for a tool pointing
    roughly down: the offsets of a spot beside the TCP along them."""
    return np.swapaxes(np.asarray(T_base_ee)[:, :2, :2], 1, 2)


def first_collision(start: np.ndarray, waypoints: np.ndarray, obstacles: np.ndarray,
                    config: CollisionConfig, underside=None, poses: Optional[np.ndarray] = None,
                    closed: Optional[np.ndarray] = None, what: str = 'an object') -> Optional[Collision]:
    """The first point of the path where an obstacle stands inside the gripper, or None. The gripper is
    the cylinder of `config`, or with `underside` (a `GripperUnderside`) the arm's own gripper as its
    URDF shapes it, turned as `poses` (the waypoints' 4x4 poses) and open or `closed` (bool per segment:
    the state the gripper holds on the way to each waypoint)."""
    if len(obstacles) == 0 or len(waypoints) == 0:
        return None
    path, leads_to = walk_path(np.asarray(start, float), np.asarray(waypoints, float), config.path_step_m)
    if underside is None:
        sideways = np.linalg.norm(path[:, None, :2] - obstacles[None, :, :2], axis=2)
        hit = (sideways < config.gripper_radius_m) & (obstacles[None, :, 2] > path[:, None, 2] + config.penetration_m)
    else:
        axes = tool_axes_xy(np.asarray(poses))[leads_to]
        shut = np.asarray(closed, bool)[leads_to]
        hit = underside_gaps(path, axes, shut, obstacles, underside) < -config.penetration_m
    rows = np.flatnonzero(hit.any(axis=1))
    if len(rows) == 0:
        return None
    i = int(rows[0])
    j = int(np.argmax(np.where(hit[i], obstacles[:, 2], -np.inf)))
    return Collision(int(leads_to[i]), obstacles[j].copy(), path[i].copy(), what)
