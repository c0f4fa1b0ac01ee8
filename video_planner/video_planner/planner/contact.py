"""Grasp where the depth image shows the named object (as AVDC grasps at the object's segmented pixels).

A plan drawn at 64 px closes its gripper a centimetre or two to the side of the object and several above
it: one pixel is about a centimetre of table, and the drawn gripper closes while still descending. When a
plan closes the open gripper within `snap_radius_m` (sideways) of the object the instruction names, the
grasp is moved onto that object as the depth image shows it: the waypoint before it hovers
`approach_height_m` above the object's top, the closing waypoint lowers the tool centre point
`grasp_depth_m` below the top (at most to the object's middle); a drawn lift then goes straight up to
the hover height (or the drawn one, if higher), and a drawn carry goes where it was drawn. Nothing else
of the plan changes. A plan that closes the gripper and then goes on down (to touch or push with it, as
in reach and push) and one that never closes it near the object are left alone.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Optional

import cv2
import numpy as np

from video_planner.camera import CameraModel
from video_planner.planner.collision import table_heights


@dataclass(frozen=True)
class ContactConfig:
    """Distances in metres for a Panda-sized arm; `scaled` sizes them to another arm's workspace."""
    snap_radius_m: float = 0.05       # a grasp drawn this near the object (sideways) is moved onto it
    approach_height_m: float = 0.07   # the waypoint before the grasp hovers this far above the object's top
    grasp_depth_m: float = 0.02       # the tool centre point closes this far below the top (half the height at most)
    min_height_m: float = 0.012       # a surface this far above the table belongs to an object (depth noise below)
    top_band_m: float = 0.01          # points this near the highest one are the top face, whose centre is the grasp's
    # A gripper closed and then lowered further than this is closed to touch or push with (as the expert
    # reaches and pushes: it closes in the air, then goes down), not to grasp.
    descent_after_close_m: float = 0.03

    def scaled(self, scale: float) -> 'ContactConfig':
        return ContactConfig(**{f.name: getattr(self, f.name) * scale for f in fields(self)})


@dataclass(frozen=True)
class SeenObject:
    """The named object as the depth image shows it, in the robot's base frame."""
    centre_xy: np.ndarray   # (2,) centre of its top face
    top_z: float
    table_z: float


def locate_object(depth_m: np.ndarray, camera: CameraModel, heat: np.ndarray, ignore: Optional[np.ndarray],
                  config: ContactConfig) -> Optional[SeenObject]:
    """The object the grounding network's `heat` map (H, W in [0, 1]) points at: of the above-table blobs, the
    one holding the most heat (a coarse map spills onto neighbours, and a small object holds few pixels).
    None when no blob holds any."""
    heights = table_heights(depth_m, camera, ignore)
    if heights is None:
        return None
    above = (heights.keep & (heights.height > config.min_height_m)).reshape(depth_m.shape)
    count, blobs = cv2.connectedComponents(above.astype(np.uint8), connectivity=4)
    if count < 2:
        return None
    # Each blob grown by a pixel: at 64 px an object's rim pixels mix with the table.
    grown = cv2.dilate(blobs.astype(np.uint16), np.ones((3, 3), np.uint8))
    grown = np.where(blobs > 0, blobs, grown)
    mass = np.bincount(grown.reshape(-1), weights=np.asarray(heat, float).reshape(-1), minlength=count)[1:]
    if not mass.max() > 0:
        return None
    label = int(np.argmax(mass)) + 1
    xyz = heights.points[(blobs == label).reshape(-1)]
    top_z = float(xyz[:, 2].max())
    top = xyz[xyz[:, 2] > top_z - config.top_band_m]
    return SeenObject(centre_xy=top[:, :2].mean(axis=0), top_z=top_z, table_z=heights.table_z)


def grasp_index(gripper: np.ndarray, gripper_now: float) -> Optional[int]:
    """The first waypoint (>= 1) where the plan closes the gripper that is open now, or None. `gripper_now` is
    the robot's own reading (the plan's first value is the inverse dynamics' guess). A closed gripper may hold
    the object, which the depth image then shows in the air or hidden by the gripper: no grasp is moved."""
    if gripper_now >= 0.5:
        return None
    closing = np.flatnonzero(np.asarray(gripper, float)[1:] >= 0.5)
    return int(closing[0]) + 1 if len(closing) else None


def snap_grasp(T_base_ee: np.ndarray, gripper: np.ndarray, seen: Optional[SeenObject], gripper_now: float,
               config: ContactConfig) -> tuple[np.ndarray, np.ndarray, Optional[int]]:
    """(poses, gripper, index of the moved grasp or None): the plan with its first grasp moved onto `seen`
    when it closes within `snap_radius_m` of it; the inputs unchanged otherwise."""
    i = grasp_index(gripper, gripper_now)
    if seen is None or i is None or i == len(T_base_ee) - 1:  # closing at the end: grasp or touch, not yet told
        return T_base_ee, gripper, None
    if T_base_ee[i + 1:, 2, 3].min() < T_base_ee[i, 2, 3] - config.descent_after_close_m:
        return T_base_ee, gripper, None
    offset = seen.centre_xy - T_base_ee[i, :3, 3][:2]
    if np.linalg.norm(offset) > config.snap_radius_m:
        return T_base_ee, gripper, None
    poses, g = T_base_ee.copy(), np.asarray(gripper, np.float32).copy()
    grasp_z = max(seen.top_z - config.grasp_depth_m, (seen.top_z + seen.table_z) / 2.0)
    poses[i, :3, 3] = (*seen.centre_xy, grasp_z)
    if i >= 2:  # the waypoint before becomes the hover above the object; at i == 1 the tool goes straight there
        poses[i - 1, :3, 3] = (*seen.centre_xy, max(poses[i - 1, 2, 3], seen.top_z + config.approach_height_m))
        g[i - 1] = min(float(g[i - 1]), 0.0)
    # A drawn lift (the next waypoint near the grasp, sideways) goes straight up to the hover height: drawn, it
    # drifts as the grasp did and carries the object off its spot. A drawn carry goes where it was drawn: the
    # place is where the video wants the object, not relative to where it drew the grasp.
    if np.linalg.norm(T_base_ee[i + 1, :2, 3] - T_base_ee[i, :2, 3]) <= config.snap_radius_m:
        poses[i + 1, :3, 3] = (*seen.centre_xy, max(poses[i + 1, 2, 3], seen.top_z + config.approach_height_m))
    poses[i + 1:, 2, 3] = np.maximum(poses[i + 1:, 2, 3], grasp_z)
    return poses, g, i
