"""Contact snapping: where a plan touches the scene, it touches what the depth image shows there.

A plan drawn at 64 px makes contact a centimetre or two off: one pixel is about a centimetre of table. The
video says what happens and when (grasp, touch, push, release); the scene says where. Each rule runs only
when the instruction asks for that contact (`planner/intent.py`) and moves only the waypoints of it:

- grasp (`snap_grasps`, on): a plan that closes the open gripper within `snap_radius_m` (sideways, or where
  the camera ray through it meets the object's top: a height read wrong moves a point along that ray) of the
  named object closes on it (the tool `grasp_depth_m` below its top, at most to its middle), the waypoint
  before hovers `approach_height_m` above it, a drawn lift goes straight up, a drawn carry where it was
  drawn. When the grasp probe reads >= 0.5 (it surely asks for one): a drawn gripper that closes and then goes
  on down closed early (its state blurs at 64 px), and the grasp is made at the bottom; a gripper closed on
  nothing, away from the object (a missed grasp), grasps where the plan opens and closes it again. Below
  that, such a plan is left as drawn (a touch or a push is drawn closing in the air and going down).
- touch (`snap_touches`, on): the plan's lowest point near the object lands on the centre of its top,
  the gripper closed at the hover before it.
- push (`snap_pushes`, on): the drawn push is redrawn straight through the object, 5-6 cm, the way the
  instruction asks (a direction word, or toward the object it names: `planner/intent.py` PushWay).
- place (`snap_places`, on): a held object's release moves over the destination the destination grounding
  network finds, at the height that sets it down there (the step gate reads the unsnapped poses: the
  release may lie farther than a frame's step from the waypoint before it).
- closed gripper for a touch or a push (with `snap_touches` / `snap_pushes`): the gripper is closed from the
  first waypoint on, as the expert touches and pushes. Neither needs it open, and a drawn gripper that
  closes beside another object (a 64 px plan often visits the wrong one first) holds it and carries it off.
- table (whenever the scene is read): no waypoint goes below `floor_clearance_m` above the table top seen
  in depth. A height read off a 64 px frame can be centimetres low; the gates allow 5 cm under the table
  plane (no depth needed), and a tool driven into the table drives what is under it through it.
(benchmarks/results/grasp_snapping.md, contact_snapping.md.)
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
    # ... if it covers this share of the depth image at least (3 pixels at 64x64; at 32x32 an object is one)
    min_blob_share: float = 3 / 4096
    top_band_m: float = 0.01          # points this near the highest one are the top face, whose centre is the grasp's
    # A grasp drawn closing and then lowered further than this is made at the bottom of the descent (the
    # drawn gripper closed early, in the air) when the instruction surely asks for a grasp; else left as drawn.
    descent_after_close_m: float = 0.03
    # An object whose top's centre is within its radius plus this of the closed tool, sideways, may be held.
    held_within_m: float = 0.03
    release_clearance_m: float = 0.01  # a placed object is let go this far above the surface under it
    touch_depth_m: float = 0.004       # a touch presses the closed gripper this far below the object's top
    push_gap_m: float = 0.025          # a push starts with the tool this far behind the object's side
    push_min_m: float = 0.05           # a drawn push moves the object at least this far ...
    # ... and at most this far: a 64 px plan overshoots, and a puck slides on (8.5 cm of push sent one 13 cm)
    push_max_m: float = 0.06
    push_clearance_m: float = 0.015    # a push toward an object stops the pushed one this far short of it
    destination_level: float = 0.5     # the destination is the pixels where its map is above this (peak 1)
    # The tool centre point stays this far above the table, a push included (the expert's lowest).
    floor_clearance_m: float = 0.012

    def scaled(self, scale: float) -> 'ContactConfig':
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return ContactConfig(**{name: value * scale if name.endswith('_m') else value
                                for name, value in values.items()})


@dataclass(frozen=True)
class SeenObject:
    """The named object as the depth image shows it, in the robot's base frame."""
    centre_xy: np.ndarray   # (2,) centre of its top face
    top_z: float
    table_z: float
    radius_m: float = 0.0   # from the centre to the farthest point of its top face


@dataclass(frozen=True)
class SeenPlace:
    """Where the instruction asks the object to go, as the depth image shows it, in the robot's base frame."""
    centre_xy: np.ndarray   # (2,)
    surface_z: float        # the top of what is there (a pad: the table plus its thickness)


def locate_destination(depth_m: np.ndarray, camera: CameraModel, heat: np.ndarray, ignore: Optional[np.ndarray],
                       config: ContactConfig) -> Optional[SeenPlace]:
    """The destination the destination grounding network's `heat` map (H, W, peak 1) points at: the centre of
    the pixels above `destination_level`, weighted by the map, and the height of its surface (a flat pad is
    not above the table in depth, so no blob is looked for). None without depth there."""
    heights = table_heights(depth_m, camera, ignore)
    if heights is None:
        return None
    weight = np.asarray(heat, float).reshape(-1)
    use = heights.keep & (weight > config.destination_level)
    if not use.any():
        return None
    xyz, w = heights.points[use], weight[use]
    centre = (xyz[:, :2] * w[:, None]).sum(axis=0) / w.sum()
    # The surface under the centre: the map spills onto neighbours, whose tops must not count.
    near = np.linalg.norm(xyz[:, :2] - centre, axis=1) <= config.snap_radius_m / 2
    surface = float(np.median(xyz[near, 2])) if near.any() else heights.table_z
    return SeenPlace(centre_xy=centre, surface_z=max(surface, heights.table_z))


def locate_object(depth_m: np.ndarray, camera: CameraModel, heat: np.ndarray, ignore: Optional[np.ndarray],
                  config: ContactConfig) -> Optional[SeenObject]:
    """The object the grounding network's `heat` map (H, W in [0, 1]) points at: of the above-table blobs, the
    one holding the most heat (a coarse map spills onto neighbours, and a small object holds few pixels).
    None when no blob holds any."""
    return locate_object_pixels(depth_m, camera, heat, ignore, config)[0]


def locate_object_pixels(depth_m: np.ndarray, camera: CameraModel, heat: np.ndarray, ignore: Optional[np.ndarray],
                         config: ContactConfig) -> tuple[Optional[SeenObject], Optional[np.ndarray]]:
    """`locate_object`, and the (H, W) pixels of the blob it found (None with it)."""
    heights = table_heights(depth_m, camera, ignore)
    if heights is None:
        return None, None
    above = (heights.keep & (heights.height > config.min_height_m)).reshape(depth_m.shape)
    count, blobs = cv2.connectedComponents(above.astype(np.uint8), connectivity=4)
    if count < 2:
        return None, None
    # Each blob grown by a pixel: at 64 px an object's rim pixels mix with the table.
    grown = cv2.dilate(blobs.astype(np.uint16), np.ones((3, 3), np.uint8))
    grown = np.where(blobs > 0, blobs, grown)
    mass = np.bincount(grown.reshape(-1), weights=np.asarray(heat, float).reshape(-1), minlength=count)[1:]
    # A blob of a pixel or two is no object: a neighbour's rim left over once the reference's pixels are taken
    # out, or depth noise. Found as the named object, it sent a push's gate to a point beside the object.
    mass[np.bincount(blobs.reshape(-1), minlength=count)[1:] < config.min_blob_share * blobs.size] = 0.0
    if not mass.max() > 0:
        return None, None
    label = int(np.argmax(mass)) + 1
    xyz = heights.points[(blobs == label).reshape(-1)]
    top_z = float(xyz[:, 2].max())
    top = xyz[xyz[:, 2] > top_z - config.top_band_m]
    centre = top[:, :2].mean(axis=0)
    seen = SeenObject(centre_xy=centre, top_z=top_z, table_z=heights.table_z,
                      radius_m=float(np.linalg.norm(top[:, :2] - centre, axis=1).max()))
    return seen, grown == label


def grasp_index(gripper: np.ndarray, gripper_now: float, empty_handed: bool = False) -> Optional[int]:
    """The first waypoint (>= 1) where the plan closes the gripper that is open now, or None. `gripper_now` is
    the robot's own reading (the plan's first value is the inverse dynamics' guess). A closed gripper may hold
    the object, which the depth image then shows in the air or hidden by the gripper: no grasp is moved. One
    closed on nothing (`empty_handed`: a grasp that missed) grasps where the plan closes it after opening it."""
    g = np.asarray(gripper, float)
    start = 1
    if gripper_now >= 0.5:
        opening = np.flatnonzero(g[1:] < 0.5) if empty_handed else []
        if not len(opening):
            return None
        start = int(opening[0]) + 1
    closing = np.flatnonzero(g[start:] >= 0.5)
    return int(closing[0]) + start if len(closing) else None


def goes_on_down(T_base_ee: np.ndarray, i: int, config: ContactConfig) -> bool:
    """Whether the plan goes more than `descent_after_close_m` below waypoint i after it."""
    z = T_base_ee[:, 2, 3]
    return i + 1 < len(z) and bool(z[i + 1:].min() < z[i] - config.descent_after_close_m)


def grasp_bottom(T_base_ee: np.ndarray, i: int, config: ContactConfig) -> int:
    """Where a grasp that the plan closes at waypoint i is made: at i, or, when the plan goes on down more
    than `descent_after_close_m` after closing, at the bottom of that descent. At 64 px the gripper's state
    blurs and the drawn gripper closes a frame or two early, in the air above the object, and the tool then
    goes down to it; closed there, it would press onto the object instead of taking it."""
    if not goes_on_down(T_base_ee, i, config):
        return i
    z = T_base_ee[:, 2, 3]
    bottom = i
    for j in range(i + 1, len(z)):
        if z[j] > z[bottom] + config.descent_after_close_m:   # rising again: the descent has ended
            break
        if z[j] < z[bottom]:
            bottom = j
    return bottom


def empty_handed(tool_xy: np.ndarray, seen: Optional[SeenObject], config: ContactConfig) -> bool:
    """Whether the named object, as the depth image shows it, is out of the gripper's reach: its top's centre
    more than its radius plus `held_within_m` from the tool, sideways. A held object is under the tool."""
    return seen is not None and float(np.linalg.norm(np.asarray(tool_xy, float) - seen.centre_xy)) > \
        seen.radius_m + config.held_within_m


def offset_from(point: np.ndarray, seen: SeenObject, eye: Optional[np.ndarray] = None) -> float:
    """How far (sideways, m) a plan's waypoint is from the object's top centre: directly, or, with the camera's
    position `eye` (base frame), where the camera ray through the waypoint meets the height of the top, if that
    is nearer. A 64 px plan gets a height wrong far more than a pixel: a gripper drawn on the object but read
    18 cm high lies 9 cm off it sideways along the ray of a camera looking 27 degrees off vertical."""
    point = np.asarray(point, float)
    direct = float(np.linalg.norm(point[:2] - seen.centre_xy))
    if eye is None or abs(point[2] - eye[2]) < 1e-6:
        return direct
    s = (seen.top_z - eye[2]) / (point[2] - eye[2])
    if s <= 0:  # the top's height is behind the camera on that ray
        return direct
    along_ray = np.asarray(eye, float) + s * (point - eye)
    return min(direct, float(np.linalg.norm(along_ray[:2] - seen.centre_xy)))


def keep_closed(gripper: np.ndarray) -> np.ndarray:
    """The gripper commands closed from waypoint 1 on (waypoint 0 is the robot's own state)."""
    g = np.asarray(gripper, np.float32).copy()
    g[1:] = 1.0
    return g


def keep_above_table(T_base_ee: np.ndarray, table_z: float, config: ContactConfig) -> np.ndarray:
    """The plan with every waypoint after the first (the measured pose) raised to `floor_clearance_m` above
    the table at `table_z`; the input itself when none is lower."""
    floor = table_z + config.floor_clearance_m
    low = np.flatnonzero(T_base_ee[1:, 2, 3] < floor) + 1
    if not len(low):
        return T_base_ee
    poses = T_base_ee.copy()
    poses[low, 2, 3] = floor
    return poses


def snap_grasp(T_base_ee: np.ndarray, gripper: np.ndarray, seen: Optional[SeenObject], gripper_now: float,
               config: ContactConfig, eye: Optional[np.ndarray] = None,
               sure: bool = False) -> tuple[np.ndarray, np.ndarray, Optional[int]]:
    """(poses, gripper, index of the moved grasp or None): the plan with its first grasp (`grasp_index`) moved
    onto `seen` when it closes within `snap_radius_m` of it (`offset_from`, seen from the camera at `eye` when
    given); the inputs unchanged otherwise. Only an instruction that asks for a grasp gets here
    (`planner/intent.py`). When it surely does (`sure`: its probe reads >= 0.5), the drawn gripper may be
    overruled: a grasp closed early is made at the bottom of the descent after it (`grasp_bottom`), the
    gripper open until then, and a gripper closed on nothing grasps again (`empty_handed`). Otherwise a
    gripper closed in the air and lowered is left as drawn: it is how a touch or a push is drawn."""
    i = None if seen is None else grasp_index(gripper, gripper_now,
                                              sure and empty_handed(T_base_ee[0, :2, 3], seen, config))
    if i is None:
        return T_base_ee, gripper, None
    closes_at = i
    if sure:
        i = grasp_bottom(T_base_ee, i, config)
    elif goes_on_down(T_base_ee, i, config):
        return T_base_ee, gripper, None
    if i == len(T_base_ee) - 1 and closes_at == i:  # closing at the end, not lowered onto: nothing says grasp yet
        return T_base_ee, gripper, None
    if offset_from(T_base_ee[i, :3, 3], seen, eye) > config.snap_radius_m:
        return T_base_ee, gripper, None
    poses, g = T_base_ee.copy(), np.asarray(gripper, np.float32).copy()
    g[closes_at:i] = 0.0
    g[i] = 1.0
    grasp_z = max(seen.top_z - config.grasp_depth_m, (seen.top_z + seen.table_z) / 2.0)
    poses[i, :3, 3] = (*seen.centre_xy, grasp_z)
    if i >= 2:  # the waypoint before becomes the hover above the object; at i == 1 the tool goes straight there
        poses[i - 1, :3, 3] = (*seen.centre_xy, max(poses[i - 1, 2, 3], seen.top_z + config.approach_height_m))
        g[i - 1] = min(float(g[i - 1]), 0.0)
    # A drawn lift (the next waypoint near the grasp, sideways) goes straight up to the hover height: drawn, it
    # drifts as the grasp did and carries the object off its spot. A drawn carry goes where it was drawn: the
    # place is where the video wants the object, not relative to where it drew the grasp.
    _rise_straight_up(poses, T_base_ee, i, seen, config)
    poses[i + 1:, 2, 3] = np.maximum(poses[i + 1:, 2, 3], grasp_z)
    return poses, g, i


def _rise_straight_up(poses: np.ndarray, drawn: np.ndarray, i: int, seen: SeenObject, config: ContactConfig) -> None:
    """In place: a drawn rise after the contact at waypoint i (the next waypoint within `snap_radius_m` of it,
    sideways) goes straight up over the object, to the hover height or the drawn one if higher."""
    if i + 1 < len(poses) and np.linalg.norm(drawn[i + 1, :2, 3] - drawn[i, :2, 3]) <= config.snap_radius_m:
        poses[i + 1, :3, 3] = (*seen.centre_xy, max(poses[i + 1, 2, 3], seen.top_z + config.approach_height_m))


def touch_index(T_base_ee: np.ndarray, seen: SeenObject, config: ContactConfig) -> Optional[int]:
    """The waypoint (>= 1) where the plan comes down to the object: of those within `snap_radius_m` of it
    (sideways) and below the hover height above its top, the lowest; None when none comes down there."""
    xy, z = T_base_ee[1:, :2, 3], T_base_ee[1:, 2, 3]
    near = (np.linalg.norm(xy - seen.centre_xy, axis=1) <= config.snap_radius_m) & \
        (z < seen.top_z + config.approach_height_m)
    if not near.any():
        return None
    candidates = np.flatnonzero(near)
    return int(candidates[np.argmin(z[candidates])]) + 1


def snap_touch(T_base_ee: np.ndarray, gripper: np.ndarray, seen: Optional[SeenObject],
               config: ContactConfig) -> tuple[np.ndarray, np.ndarray, Optional[int]]:
    """(poses, gripper, index of the moved touch or None): the plan's lowest point near the object moved onto
    the centre of its top face, `touch_depth_m` below it, with the gripper closed in the air at the hover
    before it (as a touch is made: nothing between the fingers, no grasp); a drawn rise after it goes
    straight up. At 64 px a drawn touch comes down a centimetre or two off the top and shoves the object
    with the fingers' side. The inputs unchanged when the plan does not come down near the object."""
    i = None if seen is None else touch_index(T_base_ee, seen, config)
    if i is None:
        return T_base_ee, gripper, None
    poses, g = T_base_ee.copy(), np.asarray(gripper, np.float32).copy()
    hover = seen.top_z + config.approach_height_m
    poses[i, :3, 3] = (*seen.centre_xy, seen.top_z - config.touch_depth_m)
    if i >= 2:
        poses[i - 1, :3, 3] = (*seen.centre_xy, max(poses[i - 1, 2, 3], hover))
        g[i - 1] = g[i] = 1.0
    _rise_straight_up(poses, T_base_ee, i, seen, config)
    poses[i + 1:, 2, 3] = np.maximum(poses[i + 1:, 2, 3], seen.top_z)
    return poses, g, i


def push_span(T_base_ee: np.ndarray, seen: SeenObject, config: ContactConfig,
              way_known: bool = False) -> Optional[tuple[int, int]]:
    """(i, j): the plan comes down below the object's top within `snap_radius_m` of its side at waypoint i
    (>= 1: waypoint 0 is where the arm is) and stays that low to waypoint j, the drawn push; j > i, and
    j > 2 when it comes down at once (`snap_push` needs a waypoint to hover at before the push). A plan
    low only up to that waypoint drove along the table into the object: its push is from the waypoint
    before; low there alone, it dipped at the object: a push when the instruction says which way
    (`way_known`). None when the plan draws no push there."""
    z = T_base_ee[:, 2, 3]
    low = z < seen.top_z
    near = np.linalg.norm(T_base_ee[:, :2, 3] - seen.centre_xy, axis=1) <= config.snap_radius_m + seen.radius_m
    starts = np.flatnonzero(low & near)
    starts = starts[starts >= 1]
    if not len(starts):
        return None
    i = j = int(starts[0])
    while j + 1 < len(z) and low[j + 1]:
        j += 1
    if j == i and i >= 2 and low[i - 1]:
        i -= 1
    elif j == i and way_known and i + 1 < len(z):
        j += 1
    return (i, j) if j > max(i, 2) else None


def snap_push(T_base_ee: np.ndarray, gripper: np.ndarray, seen: Optional[SeenObject],
              config: ContactConfig, along: Optional[np.ndarray] = None,
              room_m: Optional[float] = None) -> tuple[np.ndarray, np.ndarray, Optional[int]]:
    """(poses, gripper, index where the push starts or None): the plan's push (`push_span`) redrawn straight
    through the object: the closed gripper comes down behind it, `push_gap_m` from its side, at half its
    height, moves through its centre line and rises straight up after. The direction is `along` (a unit
    vector in the base frame's xy: the way the instruction asks) or else the drawn one; the length is the
    drawn one clipped to `push_min_m`..`push_max_m`, and to `room_m` (the free way ahead, e.g. up to the
    reference object) when given. At 64 px a drawn push comes down on the object or beside it, often
    heads the wrong way and slides on for 10-20 cm, shoving it too far or into the other objects.
    The inputs unchanged when the plan draws no push near the object."""
    span = None if seen is None else push_span(T_base_ee, seen, config, along is not None)
    if span is None:
        return T_base_ee, gripper, None
    i, j = span
    drawn = T_base_ee[j, :2, 3] - T_base_ee[i, :2, 3]
    i = max(i, 2)  # a plan that comes down at once hovers at its first waypoint
    length = float(np.linalg.norm(drawn))
    if along is None and length < config.push_gap_m:  # a press, not a push
        return T_base_ee, gripper, None
    u = drawn / length if along is None else np.asarray(along, float) / np.linalg.norm(along)
    travel = float(np.clip(length, config.push_min_m, config.push_max_m))
    if room_m is not None:
        travel = max(min(travel, room_m), config.push_min_m)
    behind = seen.centre_xy - u * (seen.radius_m + config.push_gap_m)
    end = behind + u * (travel + config.push_gap_m)
    push_z = max((seen.top_z + seen.table_z) / 2.0, seen.table_z + config.floor_clearance_m)
    hover = seen.top_z + config.approach_height_m
    poses, g = T_base_ee.copy(), np.asarray(gripper, np.float32).copy()
    poses[i - 1, :3, 3] = (*behind, max(poses[i - 1, 2, 3], hover))
    for k in range(i, j + 1):
        poses[k, :3, 3] = (*(behind + (end - behind) * (k - i) / (j - i)), push_z)
    g[i - 1:j + 1] = 1.0
    if j + 1 < len(poses):
        poses[j + 1, :3, 3] = (*end, max(poses[j + 1, 2, 3], hover))
    poses[j + 2:, 2, 3] = np.maximum(poses[j + 2:, 2, 3], seen.top_z + config.approach_height_m / 2)
    return poses, g, i


def release_index(gripper: np.ndarray, held_from: int) -> Optional[int]:
    """The first waypoint after `held_from` where the plan opens the gripper, or None."""
    opening = np.flatnonzero(np.asarray(gripper, float)[held_from + 1:] < 0.5)
    return int(opening[0]) + held_from + 1 if len(opening) else None


def snap_place(T_base_ee: np.ndarray, gripper: np.ndarray, place: Optional[SeenPlace], gripper_now: float,
               grasp_height_m: Optional[float], config: ContactConfig,
               grasp_at: Optional[int] = None) -> tuple[np.ndarray, Optional[int]]:
    """(poses, index of the moved release or None): when the plan holds the object (the gripper is closed
    now, or the plan closes it) and then opens it, the release moves over `place`: the tool at
    `grasp_height_m` (its height above the object's bottom when this plan grasped it; unknown: the approach
    height) plus `release_clearance_m` above the place's surface, the waypoint before it hovering there at the
    drawn height or higher, and nothing after it lower than the release. `grasp_at`: the waypoint where this
    plan's snapped grasp holds it from (a re-grasp after a miss opens the gripper first). The inputs
    unchanged otherwise."""
    if place is None:
        return T_base_ee, None
    held_from = grasp_at if grasp_at is not None else 0 if gripper_now >= 0.5 else grasp_index(gripper, gripper_now)
    j = None if held_from is None else release_index(gripper, held_from)
    if j is None:
        return T_base_ee, None
    hang = config.approach_height_m if grasp_height_m is None else grasp_height_m
    release_z = place.surface_z + hang + config.release_clearance_m
    poses = T_base_ee.copy()
    poses[j, :3, 3] = (*place.centre_xy, release_z)
    if j - 1 > held_from:  # a drawn carry waypoint: it brings the object over the destination, above it
        poses[j - 1, :3, 3] = (*place.centre_xy, max(poses[j - 1, 2, 3], release_z + config.approach_height_m / 2))
    poses[j + 1:, 2, 3] = np.maximum(poses[j + 1:, 2, 3], release_z)
    return poses, j


def contact_start(contact: str, span: Optional[tuple[int, int]], T_base_ee: np.ndarray, gripper_now: float,
                  seen: Optional[SeenObject], config: ContactConfig) -> int:
    """The first waypoint the path to which may touch the named object: the contact the plan was snapped to
    (`span`: its first and last waypoint); without one, the first waypoint that comes down near the object
    (`drawn_approach`) from above its top; 1 (anywhere) when no contact is asked or the gripper is closed for
    a grasp (it holds the object, or the plan's re-grasp is not snapped). Otherwise the plan makes no asked
    contact, and the object is an obstacle all along: a 64 px plan that sweeps the gripper through it at its
    height knocks it off its spot."""
    if not contact or (contact == 'grasp' and gripper_now >= 0.5):
        return 1
    if span is not None:
        return span[0]
    d = None if seen is None else drawn_approach(T_base_ee, seen, config)
    if d is not None and T_base_ee[d - 1, 2, 3] >= seen.top_z:
        return d
    return len(T_base_ee)


def drawn_approach(T_base_ee: np.ndarray, seen: SeenObject, config: ContactConfig) -> Optional[int]:
    """The first waypoint (>= 1) within `snap_radius_m` of the object's side and below the hover height
    above its top (`approach_height_m`): where a contact the snapping did not recognise comes down; None."""
    sideways = np.linalg.norm(T_base_ee[1:, :2, 3] - seen.centre_xy, axis=1)
    near = (sideways <= config.snap_radius_m + seen.radius_m) & \
        (T_base_ee[1:, 2, 3] < seen.top_z + config.approach_height_m)
    return int(np.argmax(near)) + 1 if near.any() else None
