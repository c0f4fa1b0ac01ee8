"""What an arm YAML may leave out, found from the URDF: the TCP, the workspace on the table, a home pose.

- TCP (arms with finger joints and no `tcp`): from the gripper's collision geometry, in the tool frame.
  The approach axis is the tool axis pointing from the tool origin to the centre of the gripper's
  bounding box (fingers open); along it the TCP sits a quarter of the fingers' length back from the
  tips, across it in the middle of the widest gap between the open fingers (found by casting rays
  through the gripper at that depth), +z along the approach.
- Workspace: the largest disc on the table (radius 0.15 m down to 0.05 m, centre on the base's +x axis)
  over which the TCP, pointing straight down, reaches every test point: the centre and a ring of
  1.2 radii, at grasp height and at home height (both scale with the radius, as the tasks do).
  The centre is the middle of the feasible centres for that radius.
- Home pose: straight down, `HOME_HEIGHT_M` x scale above the workspace centre, from many IK starts;
  the solution nearest the middle of the joint ranges whose joints all stay above the table wins.

A 5-DoF arm cannot choose its tool's roll: its searches leave the rotation about the tool axis free.
"""
from __future__ import annotations

import math

import numpy as np
import pybullet as p

from video_planner.errors import ConfigError
from video_planner.kinematics.arm import ArmKinematics
from video_planner.kinematics.ik import IkConfig, IkSolver
from video_planner.sim.arm_spec import (CAMERA_EYE_OFFSET, CAMERA_TARGET_OFFSET, ArmSpec, TcpSpec, descends_from,
                                        materialize_urdf)

PANDA_RADIUS_M = 0.15          # workspace radius at scale 1
HOME_HEIGHT_M = 0.25           # TCP height above the table at home, at scale 1
GRASP_HEIGHT_M = 0.03          # lowest TCP height the tasks need, at scale 1
RING_FACTOR = 1.2              # objects are placed up to about this many radii from the centre
RADII_M = tuple(np.round(np.arange(0.15, 0.049, -0.01), 3))
CENTRES_M = tuple(np.round(np.arange(0.1, 0.901, 0.025), 3))
R_DOWN = np.diag([1.0, -1.0, -1.0])  # tool z down, tool x along base +x
TIP_BACKOFF = 0.25             # TCP distance back from the fingertips, as a fraction of the fingers' length


def derive(spec: ArmSpec, data: dict) -> dict:
    """Derived values of `spec` (a JSON-able dict for the cache): tcp, arm_joints, workspace, home_q."""
    tcp = spec.tcp
    if tcp is None and spec.gripper.joints and not data.get('tcp_frame'):
        tcp = fingertip_tcp(spec)
        spec = _replace(spec, tcp=tcp)
    kin = arm_kinematics(spec)
    arm_joints = list(spec.arm_joints) or kin.chain
    if list(arm_joints) != kin.chain:
        raise ConfigError(f'arm {spec.name!r}: arm_joints {list(arm_joints)} are not the URDF chain from '
                          f'{spec.base_frame} to {spec.ee_frame}: {kin.chain}')
    given = data.get('workspace')
    if given is not None:
        center, radius = (float(given['center'][0]), float(given['center'][1])), float(given['radius'])
    else:
        center, radius = search_workspace(kin)
    if data.get('home_q') is not None:
        home_q = [float(v) for v in data['home_q']]
        check_home(kin, np.array(home_q), center, spec.name)
    else:
        home_q = search_home(kin, center, radius / PANDA_RADIUS_M, spec.name).tolist()
    return {'tcp': None if tcp is None else {'parent': tcp.parent, 'xyz': list(tcp.xyz), 'rpy': list(tcp.rpy)},
            'arm_joints': arm_joints, 'home_q': home_q,
            'workspace': {'center': list(center), 'radius': radius}}


def _replace(spec: ArmSpec, **changes) -> ArmSpec:
    import dataclasses
    return dataclasses.replace(spec, **changes)


def arm_kinematics(spec: ArmSpec) -> ArmKinematics:
    return ArmKinematics.from_urdf(materialize_urdf(spec), spec.base_frame, spec.ee_frame)


def ik_solver(kin: ArmKinematics, restarts: int = 4) -> IkSolver:
    """Top-down IK; a 5-DoF arm leaves the roll about its tool axis free."""
    weights = (1.0, 1.0, 1.0, 1.0, 1.0, 0.0 if kin.n < 6 else 1.0)
    return IkSolver(kin, IkConfig(restarts=restarts, weights=weights, position_tolerance_m=5e-4,
                                  rotation_tolerance_rad=5e-3))


def top_down(x: float, y: float, z: float) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R_DOWN, (x, y, z)
    return T


# ---------------------------------------------------------------------------------------- TCP
def fingertip_tcp(spec: ArmSpec) -> TcpSpec:
    """A TCP between the open fingertips, in the tool frame (`gripper_root_link`)."""
    client = p.connect(p.DIRECT)
    try:
        body = p.loadURDF(str(materialize_urdf(spec)), useFixedBase=True, physicsClientId=client)
        joints, links, parents = {}, {}, {}
        for j in range(p.getNumJoints(body, physicsClientId=client)):
            info = p.getJointInfo(body, j, physicsClientId=client)
            joints[info[1].decode()], links[info[12].decode()], parents[j] = j, j, info[16]
        missing = [n for n in spec.gripper.joints if n not in joints]
        if missing or spec.gripper_root_link not in links:
            raise ConfigError(f'arm {spec.name!r}: URDF lacks gripper joints {missing} or tool_frame link '
                              f'{spec.gripper_root_link!r}')
        for name, q in zip(spec.gripper.joints, spec.gripper.open_q):
            p.resetJointState(body, joints[name], q, physicsClientId=client)
        root = links[spec.gripper_root_link]
        state = p.getLinkState(body, root, computeForwardKinematics=True, physicsClientId=client)
        # Turn the whole robot so the tool frame is aligned with the world axes: the world-aligned
        # bounding boxes pybullet gives are then tight boxes in the tool frame.
        R_root = np.array(p.getMatrixFromQuaternion(state[5])).reshape(3, 3)
        base_pos, base_orn = p.getBasePositionAndOrientation(body, physicsClientId=client)
        R_base = np.array(p.getMatrixFromQuaternion(base_orn)).reshape(3, 3)
        turn = R_root.T
        p.resetBasePositionAndOrientation(body, (turn @ np.array(base_pos)).tolist(),
                                          _quat_xyzw(turn @ R_base), physicsClientId=client)
        origin = np.array(p.getLinkState(body, root, computeForwardKinematics=True, physicsClientId=client)[4])

        def box(link_ids) -> tuple[np.ndarray, np.ndarray]:
            lows, highs = zip(*(p.getAABB(body, j, physicsClientId=client) for j in link_ids))
            return np.min(lows, axis=0) - origin, np.max(highs, axis=0) - origin

        gripper = [j for j in parents if descends_from(j, root, parents)]
        moving_roots = {joints[n] for n in spec.gripper.joints}
        fingers = [j for j in parents if any(descends_from(j, m, parents) for m in moving_roots)]
        lo, hi = box(gripper)
        f_lo, f_hi = box(fingers)
        centre = 0.5 * (lo + hi)
        axis = int(np.argmax(np.abs(centre)))
        sign = 1.0 if centre[axis] >= 0 else -1.0
        tip = hi[axis] if sign > 0 else -lo[axis]
        xyz = centre.copy()
        xyz[axis] = sign * (tip - TIP_BACKOFF * (f_hi[axis] - f_lo[axis]))
        # Across the approach axis: the middle of the open fingers' gap at the TCP's depth.
        xyz = _between_fingers(body, set(gripper), origin, xyz, axis, lo, hi, client)
    finally:
        p.disconnect(client)
    z = np.zeros(3)
    z[axis] = sign
    x = np.zeros(3)
    x[(axis + 1) % 3] = 1.0
    R = np.column_stack([x, np.cross(z, x), z])
    return TcpSpec(spec.gripper_root_link, tuple(round(float(v), 4) for v in xyz),
                   tuple(round(float(v), 6) for v in _rpy(R)))


def _between_fingers(body: int, links: set[int], origin: np.ndarray, xyz: np.ndarray, axis: int,
                     lo: np.ndarray, hi: np.ndarray, client: int, samples: int = 101) -> np.ndarray:
    """`xyz` moved, across the approach `axis`, to the centre of the widest free gap between gripper
    geometry (rays cast through the gripper at the TCP's depth, along each lateral axis in turn).
    Unchanged when no lateral axis shows a gap with geometry on both sides."""
    best_width, best = 0.0, xyz
    for lateral in [a for a in range(3) if a != axis]:
        third = 3 - axis - lateral
        ks = np.linspace(lo[lateral], hi[lateral], samples)
        starts, ends = [], []
        for k in ks:
            point = xyz.copy()
            point[lateral] = k
            a, b = point.copy(), point.copy()
            a[third], b[third] = lo[third] - 0.05, hi[third] + 0.05
            starts.append((origin + a).tolist())
            ends.append((origin + b).tolist())
        hits = p.rayTestBatch(starts, ends, physicsClientId=client)
        occupied = np.array([h[0] == body and h[1] in links for h in hits])
        if occupied.sum() < 2:
            continue
        first, last = np.flatnonzero(occupied)[[0, -1]]
        run_start, width, centre = None, 0.0, None
        for i in range(first, last + 1):
            if not occupied[i] and run_start is None:
                run_start = i
            elif occupied[i] and run_start is not None:
                if ks[i] - ks[run_start] > width:
                    width, centre = ks[i] - ks[run_start], 0.5 * (ks[i - 1] + ks[run_start])
                run_start = None
        if centre is not None and width > best_width:
            best_width, best = width, xyz.copy()
            best[lateral] = centre
    return best


def _quat_xyzw(R: np.ndarray) -> list[float]:
    import pinocchio as pin
    q = pin.Quaternion(R)
    return [q.x, q.y, q.z, q.w]


def _rpy(R: np.ndarray) -> np.ndarray:
    import pinocchio as pin
    return pin.rpy.matrixToRpy(R)


# ---------------------------------------------------------------------------------------- workspace
def workspace_points(center_x: float, center_y: float, radius: float) -> list[np.ndarray]:
    """Top-down TCP poses the tasks need: far and near ring points first (they fail first)."""
    s = radius / PANDA_RADIUS_M
    ring = RING_FACTOR * radius
    angles = [0.0, math.pi, 0.5 * math.pi, -0.5 * math.pi, 0.25 * math.pi, -0.25 * math.pi,
              0.75 * math.pi, -0.75 * math.pi]
    out = []
    for z in (GRASP_HEIGHT_M * s, HOME_HEIGHT_M * s):
        out += [top_down(center_x + ring * math.cos(a), center_y + ring * math.sin(a), z) for a in angles]
        out.append(top_down(center_x, center_y, z))
    return out


def reaches_all(solver: IkSolver, targets: list[np.ndarray], q_init: np.ndarray) -> bool:
    return all(solver.solve(T, q_init).success for T in targets)


def search_workspace(kin: ArmKinematics) -> tuple[tuple[float, float], float]:
    """(centre xy, radius): the largest disc of `RADII_M` with every test point reachable.

    Each point is solved warm-started from a top-down configuration above that centre, as the arm
    reaches it from home; IK is local, so a cold start from a stretched-out neutral pose would miss
    reachable points."""
    solver = ik_solver(kin, restarts=2)
    for radius in RADII_M:
        feasible = []
        for cx in CENTRES_M:
            home = best_top_down(kin, (cx, 0.0), HOME_HEIGHT_M * radius / PANDA_RADIUS_M, starts=8)
            if home is not None and reaches_all(solver, workspace_points(cx, 0.0, radius), home):
                feasible.append(cx)
        if feasible:
            return (float(feasible[len(feasible) // 2]), 0.0), float(radius)
    raise ConfigError(f'arm {kin.ee_frame!r}: no workspace on the table: the TCP cannot point straight down '
                      f'over a disc of radius {RADII_M[-1]} m anywhere on the base +x axis (check base_frame, '
                      'the TCP orientation (+z out of the gripper) and the joint limits)')


# ---------------------------------------------------------------------------------------- home pose
def joints_above_table(kin: ArmKinematics, q: np.ndarray, margin_m: float = 0.0) -> bool:
    """True when every joint origin of the chain is above the table plane z = 0."""
    import pinocchio as pin
    pin.forwardKinematics(kin.model, kin.data, q)
    heights = [(kin.T_base_world * kin.data.oMi[j]).translation[2] for j in range(1, kin.model.njoints)]
    return min(heights) > margin_m


def centredness(kin: ArmKinematics, q: np.ndarray) -> float:
    """Minus the squared distance of q from the middle of its joint ranges (each range scaled to 1)."""
    span = np.maximum(kin.upper - kin.lower, 1e-9)
    return -float(np.sum(((q - 0.5 * (kin.upper + kin.lower)) / span) ** 2))


def best_top_down(kin: ArmKinematics, xy: tuple[float, float], z: float, starts: int = 24) -> np.ndarray | None:
    """The top-down solution at (xy, z) nearest the middle of its joint ranges, every joint above the table,
    over `starts` IK starts (neutral, then seeded random ones); None when no start succeeds."""
    solver = ik_solver(kin, restarts=0)
    target = top_down(xy[0], xy[1], z)
    rng = np.random.default_rng(0)
    best, best_score = None, -np.inf
    for i in range(starts):
        q0 = kin.neutral() if i == 0 else kin.random_configuration(rng, margin=0.05)
        result = solver.solve(target, q0)
        if not result.success or not joints_above_table(kin, result.q):
            continue
        score = centredness(kin, result.q)
        if score > best_score:
            best, best_score = result.q, score
    return best


def search_home(kin: ArmKinematics, center: tuple[float, float], scale: float, name: str,
                starts: int = 24) -> np.ndarray:
    """A top-down configuration above the workspace centre, far from joint limits, above the table."""
    best = best_top_down(kin, center, HOME_HEIGHT_M * scale, starts)
    if best is None:
        raise ConfigError(f'arm {name!r}: unreachable home: no configuration puts the TCP straight down '
                          f'{HOME_HEIGHT_M * scale:.3f} m above the workspace centre {list(center)} with every joint '
                          'above the table')
    return np.round(best, 4)


def check_home(kin: ArmKinematics, q: np.ndarray, center: tuple[float, float], name: str) -> None:
    """A given home pose: the right length, within limits, TCP straight down above the centre."""
    if q.shape != (kin.n,):
        raise ConfigError(f'arm {name!r}: home_q has {q.size} values, the arm has {kin.n} joints {kin.chain}')
    if not kin.within_limits(q, tol=1e-3):
        raise ConfigError(f'arm {name!r}: home_q {q.tolist()} is outside the joint limits')
    T = kin.fk(q)
    if T[2, 2] > -0.99 or np.linalg.norm(T[:2, 3] - np.array(center)) > 0.01:
        raise ConfigError(f'arm {name!r}: at home_q the TCP is at {np.round(T[:3, 3], 3).tolist()} pointing '
                          f'{np.round(T[:3, 2], 2).tolist()}; expected straight down above the workspace centre '
                          f'{list(center)}')


def camera_placement(spec: ArmSpec) -> tuple[np.ndarray, np.ndarray]:
    """(eye, target) of the nominal camera in the base frame (before domain randomisation)."""
    center = np.array([*spec.workspace_center, 0.0])
    return (center + spec.scale * np.array(CAMERA_EYE_OFFSET), center + spec.scale * np.array(CAMERA_TARGET_OFFSET))
