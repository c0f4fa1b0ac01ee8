"""How far an arm's gripper reaches below its tool centre point, at every spot around it, seen from below.

The collision check and the choice of a contact's yaw need the gripper's footprint: a Panda's open fingers
stand 4 cm either side of its TCP, a Z1's jaw 6 cm to one side, a touch with a closed Panda hand covers 2 cm.
One cylinder sized to a Panda misses most of that, so the footprint is read from the arm's own URDF:
rays cast up through the gripper's collision geometry (pybullet, a DIRECT client of its own), fingers open
and closed, on a grid in the TCP frame. The result is a height map: `reach_m[state][row, col]` is how far
below the TCP (along the tool's +z, down when the tool points down) the gripper's lowest surface lies at
that spot; `NOTHING` where no part of the gripper is.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from video_planner.errors import VideoPlannerError

NOTHING = -1.0            # metres: "no gripper here" (far above any TCP-relative height the gripper has)
CELL_M = 0.003            # grid spacing, metres
BEYOND_M = 0.1            # rays start this far beyond the TCP (below the fingertips) ...
BEHIND_M = 0.25           # ... and end this far behind it (up through the hand)
MAX_EXTENT_M = 0.2        # the grid's half width is the gripper's own, at most this


@dataclass(frozen=True)
class GripperUnderside:
    """`reach_m`: (2, n, n) float32, [open, closed]; row i, column j is the TCP-frame spot
    (x, y) = ((j - half) * cell_m, (i - half) * cell_m), half = n // 2."""
    reach_m: np.ndarray
    cell_m: float

    def __post_init__(self):
        r = np.asarray(self.reach_m)
        if r.ndim != 3 or r.shape[0] != 2 or r.shape[1] != r.shape[2] or r.shape[1] % 2 != 1:
            raise VideoPlannerError(f'gripper underside: expected a (2, n, n) map with n odd, got {r.shape}')

    @property
    def half(self) -> int:
        return self.reach_m.shape[1] // 2

    def grown(self, margin_m: float) -> 'GripperUnderside':
        """Every surface widened sideways by `margin_m` (a grey dilation): keeps that much room around it."""
        cells = int(round(margin_m / self.cell_m))
        if cells <= 0:
            return self
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * cells + 1, 2 * cells + 1))
        return GripperUnderside(np.stack([cv2.dilate(m.astype(np.float32), disk) for m in self.reach_m]), self.cell_m)

    def reach_at(self, local_xy: np.ndarray, closed: np.ndarray) -> np.ndarray:
        """How far below the TCP the gripper reaches at TCP-frame spots `local_xy` (..., 2), in state
        `closed` (bool, broadcastable to local_xy[..., 0]); NOTHING off the grid."""
        idx = np.rint(np.asarray(local_xy) / self.cell_m).astype(np.int64) + self.half
        n = self.reach_m.shape[1]
        inside = np.all((idx >= 0) & (idx < n), axis=-1)
        col, row = np.clip(idx[..., 0], 0, n - 1), np.clip(idx[..., 1], 0, n - 1)
        state = np.broadcast_to(np.asarray(closed, bool), inside.shape).astype(np.int64)
        return np.where(inside, self.reach_m[state, row, col], NOTHING)

    def lowest_m(self, closed: bool) -> float:
        """How far below the TCP the gripper's lowest point is (its fingertips)."""
        return float(self.reach_m[int(closed)].max())

    def footprint_radius_m(self, closed: bool) -> float:
        """The farthest spot from the TCP, sideways, that any part of the gripper covers."""
        rows, cols = np.nonzero(self.reach_m[int(closed)] > NOTHING)
        if not len(rows):
            return 0.0
        return float(np.hypot(rows - self.half, cols - self.half).max() * self.cell_m)


def measure_underside(spec, cell_m: float = CELL_M) -> GripperUnderside:
    """The gripper of `spec` (an ArmSpec: its URDF, TCP frame, gripper root link and finger joints) seen
    from below, fingers open and closed. Only links at or below the gripper root count: the rest of the
    arm does not move rigidly with the TCP."""
    import pybullet as p

    from video_planner.sim.arm_spec import descends_from
    client = p.connect(p.DIRECT)
    try:
        try:
            body = p.loadURDF(str(spec.urdf_path), useFixedBase=True, physicsClientId=client)
        except p.error as exc:
            raise VideoPlannerError(f'arm {spec.name!r}: cannot load {spec.urdf_path} to measure its gripper '
                                    f'({exc})') from exc
        joints, links, parents = {}, {}, {}
        for j in range(p.getNumJoints(body, physicsClientId=client)):
            info = p.getJointInfo(body, j, physicsClientId=client)
            joints[info[1].decode()], links[info[12].decode()], parents[j] = j, j, info[16]
        if spec.gripper_root_link not in links or spec.ee_frame not in links:
            raise VideoPlannerError(f'arm {spec.name!r}: URDF lacks the gripper root link '
                                    f'{spec.gripper_root_link!r} or the TCP link {spec.ee_frame!r}')
        root = links[spec.gripper_root_link]
        gripper = {j for j in parents if descends_from(j, root, parents)}
        # Rays see only the gripper (collision group 1); the other links drop out of every ray test.
        for link in range(-1, p.getNumJoints(body, physicsClientId=client)):
            group = 1 if link in gripper else 0
            p.setCollisionFilterGroupMask(body, link, group, group, physicsClientId=client)
        for name, q in zip(spec.arm_joints, spec.home_q):
            p.resetJointState(body, joints[name], q, physicsClientId=client)
        maps = []
        for q_fingers in (spec.gripper.open_q, spec.gripper.closed_q):
            for name, q in zip(spec.gripper.joints, q_fingers):
                if name in joints:
                    p.resetJointState(body, joints[name], q, physicsClientId=client)
            maps.append(_height_map(p, client, body, links[spec.ee_frame], gripper, cell_m))
        n = max(m.shape[0] for m in maps)
        return GripperUnderside(np.stack([_pad(m, n) for m in maps]).astype(np.float32), cell_m)
    finally:
        p.disconnect(client)


def _height_map(p, client: int, body: int, tcp_link: int, gripper: set[int], cell_m: float) -> np.ndarray:
    state = p.getLinkState(body, tcp_link, computeForwardKinematics=True, physicsClientId=client)
    R = np.array(p.getMatrixFromQuaternion(state[5])).reshape(3, 3)
    origin = np.array(state[4])
    corners = []
    for link in gripper:
        lo, hi = (np.array(v) for v in p.getAABB(body, link, physicsClientId=client))
        corners += [[(lo, hi)[a][0], (lo, hi)[b][1], (lo, hi)[c][2]] for a in (0, 1) for b in (0, 1) for c in (0, 1)]
    if not corners:
        return np.full((1, 1), NOTHING, np.float32)
    local = (np.array(corners) - origin) @ R
    half = int(np.ceil(min(np.abs(local[:, :2]).max(), MAX_EXTENT_M) / cell_m)) + 1
    ks = np.arange(-half, half + 1) * cell_m
    xs, ys = np.meshgrid(ks, ks)   # row = y, column = x
    spots = np.stack([xs.ravel(), ys.ravel()], axis=1)
    starts = origin + spots @ R[:, :2].T + BEYOND_M * R[:, 2]
    ends = origin + spots @ R[:, :2].T - BEHIND_M * R[:, 2]
    hits = []
    for a in range(0, len(starts), p.MAX_RAY_INTERSECTION_BATCH_SIZE):
        hits += p.rayTestBatch(starts[a:a + p.MAX_RAY_INTERSECTION_BATCH_SIZE].tolist(),
                               ends[a:a + p.MAX_RAY_INTERSECTION_BATCH_SIZE].tolist(),
                               collisionFilterMask=1, physicsClientId=client)
    reach = np.array([BEYOND_M - h[2] * (BEYOND_M + BEHIND_M) if h[0] == body and h[1] in gripper else NOTHING
                      for h in hits], np.float32)
    return reach.reshape(xs.shape)


def _pad(m: np.ndarray, n: int) -> np.ndarray:
    k = (n - m.shape[0]) // 2
    return np.pad(m, k, constant_values=NOTHING) if k else m
