"""`video-planner arm check ARM.yaml`: validate an arm file and print what was derived from its URDF.

Checks, in order, each failing with a message that names the problem: the YAML, the URDF (parses,
frames exist, pinocchio builds it), the derived TCP / workspace / home pose, pybullet loading it on the
tabletop (joints and links found, a few physics steps, home pose in the simulator = pinocchio's), and
cold IK over random reachable poses. `--derive-all` ignores the file's optional hand-tuned values
(tcp, home_q, workspace) and shows what derivation alone would give next to them.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from video_planner.errors import ConfigError

OPTIONAL_TUNED = ('tcp', 'home_q', 'workspace')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest='action', metavar='ACTION', required=True)
    check = sub.add_parser('check', help='validate an arm YAML (or a registered arm name) and print what was derived')
    check.add_argument('arm', help='arm YAML path, or the name of a registered arm')
    check.add_argument('--ik-samples', type=int, default=100, help='random reachable poses for the cold IK rate')
    check.add_argument('--derive-all', action='store_true',
                       help='ignore the file\'s tcp/home_q/workspace and derive them (compare with the file)')


def run(args: argparse.Namespace) -> int:
    report = check_arm(args.arm, ik_samples=args.ik_samples, derive_all=args.derive_all)
    print(report.text())
    return 0


class ArmCheck:
    """What `check_arm` found, as lines of text."""

    def __init__(self):
        self.lines: list[str] = []
        self.values: dict = {}

    def add(self, key: str, value, text: str) -> None:
        self.values[key] = value
        self.lines.append(text)

    def text(self) -> str:
        return '\n'.join(self.lines)


def arm_file_path(arm: str) -> Path:
    from video_planner.sim.arms import ARMS, is_arm_file
    if is_arm_file(arm):
        return Path(arm)
    if arm not in ARMS:
        raise ConfigError(f'arm check: {arm!r} is neither an arm YAML file nor a registered arm {list(ARMS)}')
    return ARMS.folder / f'{arm}.yaml'


def check_arm(arm: str, ik_samples: int = 100, derive_all: bool = False) -> ArmCheck:
    """Validate the arm (a YAML path or a registered name) from scratch (no derivation cache)."""
    from video_planner.sim.arm_derivation import (GRASP_HEIGHT_M, HOME_HEIGHT_M, arm_kinematics, camera_placement,
                                                  derive)
    from video_planner.sim.arm_files import apply_derived, base_spec, check_urdf, read_arm_yaml

    start = time.perf_counter()
    path = arm_file_path(arm).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f'arm check: {path} not found')
    data = read_arm_yaml(path)
    tuned = {k: data[k] for k in OPTIONAL_TUNED if k in data}
    if derive_all:  # a bare flange's tool offset cannot be derived: its tcp stays
        drop = OPTIONAL_TUNED + ('tcp_frame',) if (data.get('gripper') or {}).get('joints') else ('home_q', 'workspace')
        data = {k: v for k, v in data.items() if k not in drop}
    spec = base_spec(data, path)
    check_urdf(spec, path)
    spec = apply_derived(spec, derive(spec, data))
    kin = arm_kinematics(spec)
    out = ArmCheck()
    out.add('name', spec.name, f'arm {spec.name!r} from {path}')
    out.add('urdf', str(spec.source_urdf), f'  URDF: {spec.source_urdf}')
    out.add('frames', (spec.base_frame, spec.ee_frame), f'  base frame {spec.base_frame}, TCP frame {spec.ee_frame}, '
            f'gripper = {spec.gripper_root_link} and below ({spec.gripper.kind})')
    out.add('joints', kin.chain, f'  {kin.n} arm joints, limits (rad or m):')
    for name, lo, hi in zip(kin.chain, kin.lower, kin.upper):
        out.lines.append(f'    {name}: [{lo:+.3f}, {hi:+.3f}]')
    out.add('locked', dict(kin.locked_joints), f'  locked joints (fingers, off the chain): '
            f'{ {k: round(v, 3) for k, v in kin.locked_joints.items()} or "none"}')
    if spec.gripper.joints:
        out.lines.append(f'  gripper joints {list(spec.gripper.joints)}: open {list(spec.gripper.open_q)}, '
                         f'closed {list(spec.gripper.closed_q)}')
    tcp_source = ('file' if 'tcp' in data or data.get('tcp_frame') else
                  'derived from the fingertips' if spec.gripper.joints else 'bare flange: the tool frame')
    if spec.tcp is not None:
        out.add('tcp', {'parent': spec.tcp.parent, 'xyz': list(spec.tcp.xyz), 'rpy': list(spec.tcp.rpy)},
                f'  TCP ({tcp_source}): {spec.tcp.parent} + xyz {_fmt(spec.tcp.xyz)} m, rpy {_fmt(spec.tcp.rpy)} rad')
    else:
        out.add('tcp', None, f'  TCP ({tcp_source}): the frame {spec.ee_frame} itself')
    how = lambda key: 'file' if key in data else 'derived'  # noqa: E731
    out.add('home_q', list(spec.home_q), f'  home pose ({how("home_q")}): {_fmt(spec.home_q)}')
    T_home = kin.fk(np.array(spec.home_q))
    out.lines.append(f'    TCP at home: {_fmt(T_home[:3, 3])} m, pointing {_fmt(T_home[:3, 2], 2)}')
    c, r = spec.workspace_center, spec.workspace_radius
    out.add('workspace', {'center': list(c), 'radius': r},
            f'  workspace ({how("workspace")}): centre {_fmt(c)} m, radius {r:.3f} m (scale {spec.scale:.2f}); '
            f'box x [{c[0] - r:.3f}, {c[0] + r:.3f}] y [{c[1] - r:.3f}, {c[1] + r:.3f}] '
            f'z [{GRASP_HEIGHT_M * spec.scale:.3f}, {HOME_HEIGHT_M * spec.scale:.3f}] (TCP straight down)')
    eye, target = camera_placement(spec)
    out.add('camera', {'eye': eye.tolist(), 'target': target.tolist()},
            f'  camera: eye {_fmt(eye)} m looking at {_fmt(target)} m (before randomisation)')
    if derive_all and tuned:
        out.lines.append(f'  the file sets (kept): {tuned}')
    from video_planner.sim.gripper_underside import measure_underside
    under = measure_underside(spec)
    footprint = {state: {'lowest_m': under.lowest_m(closed), 'radius_m': under.footprint_radius_m(closed)}
                 for state, closed in (('open', False), ('closed', True))}
    out.add('gripper_underside', footprint,
            '  gripper seen from below (collision gate, contact yaw): lowest point '
            f"{100 * footprint['open']['lowest_m']:+.1f} cm open / {100 * footprint['closed']['lowest_m']:+.1f} cm "
            f"closed below the TCP; reaches {100 * footprint['open']['radius_m']:.1f} / "
            f"{100 * footprint['closed']['radius_m']:.1f} cm sideways")
    sim_error = simulate(spec)
    out.add('sim_home_error_m', sim_error, f'  pybullet: loads, steps; TCP at home differs from pinocchio by '
            f'{1000 * sim_error:.2f} mm')
    rate = cold_ik_success(kin, ik_samples)
    out.add('cold_ik_success', rate, f'  cold IK: {100 * rate:.0f} % of {ik_samples} random reachable poses '
            '(random start, 10 restarts)')
    elapsed = time.perf_counter() - start
    out.add('seconds', elapsed, f'  check took {elapsed:.1f} s')
    return out


def simulate(spec, steps: int = 10) -> float:
    """Load the arm on the tabletop, run a few control steps at home; |TCP(pybullet) - TCP(pinocchio)|."""
    from video_planner.sim.tasks import sample_task
    from video_planner.sim.world import TabletopWorld
    with TabletopWorld(spec, seed=0, image_size=32) as world:
        world.reset(sample_task(spec, 'reach', 0))
        for _ in range(steps):
            world.set_joint_targets(world.home_q, gripper=0.0)
        return float(np.linalg.norm(world._tcp_pose()[:3, 3] - world.T_base_ee()[:3, 3]))


def cold_ik_success(kin, samples: int, seed: int = 0) -> float:
    """Share of FK-generated (so reachable) poses solved from a random start with the default solver."""
    from video_planner.kinematics.ik import IkConfig, IkSolver
    if samples < 1:
        return float('nan')
    rng = np.random.default_rng(seed)
    solver = IkSolver(kin, IkConfig())
    ok = sum(solver.solve(kin.fk(kin.random_configuration(rng)), kin.random_configuration(rng)).success
             for _ in range(samples))
    return ok / samples


def _fmt(values, digits: int = 3) -> str:
    return '[' + ', '.join(f'{float(v):+.{digits}f}' for v in values) + ']'
