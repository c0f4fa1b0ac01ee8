"""What an arm is: its spec (URDF, frames, gripper, TCP, home pose, workspace) and the rewritten URDF copy
that pinocchio and pybullet both load.

URDFs are used through a rewritten copy in a cache directory: `package://` and relative mesh paths
become absolute (so pybullet loads them offline from any working directory), continuous joints become
revolute with +-2 pi limits (so q has one entry per joint in pinocchio), and the optional TCP link and
unlocked finger joints are added. The copy is written once, atomically, so parallel workers can
race on it safely.
"""
from __future__ import annotations

import functools
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pybullet_data

from video_planner.errors import VideoPlannerError

_PYBULLET_DATA = Path(pybullet_data.getDataPath())

# Camera placement relative to the workspace centre, in metres at scale 1: behind and above the
# robot looking forward, slightly off to the right, so image-left is base +y and image-up is base +x.
CAMERA_EYE_OFFSET = (-0.28, -0.38, 0.95)
CAMERA_TARGET_OFFSET = (-0.06, 0.0, 0.1)


def _example_robot_data_share() -> Path:
    """The `share/` folder of the example-robot-data wheel (cmeel layout)."""
    import sys
    for root in sys.path:
        candidate = Path(root) / 'cmeel.prefix' / 'share'
        if (candidate / 'example-robot-data').is_dir():
            return candidate
    raise VideoPlannerError('example-robot-data is not installed: expected '
                            'site-packages/cmeel.prefix/share/example-robot-data (run scripts/setup.sh)')


@dataclass(frozen=True)
class GripperSpec:
    """How the gripper looks and moves. Grasping itself is a weld constraint for every arm.

    kind: 'parallel' (finger joints that open/close visibly) or 'none' (bare flange, suction-like).
    joints: finger joint names; open_q/closed_q: their positions at gripper 0.0 (open) / 1.0 (closed).
    """
    kind: str
    joints: tuple[str, ...] = ()
    open_q: tuple[float, ...] = ()
    closed_q: tuple[float, ...] = ()


@dataclass(frozen=True)
class TcpSpec:
    """A fixed TCP link added to the URDF copy: child of `parent`, at xyz/rpy (URDF convention)."""
    parent: str
    xyz: tuple[float, float, float]
    rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class ArmSpec:
    """One arm on the tabletop.

    home_q: joint angles (one per `arm_joints` entry, radians) with the TCP pointing straight down
    0.25 * scale metres above the workspace centre; scripted motions keep this orientation.
    workspace_center/workspace_radius (metres, base frame, on the table) is where objects are placed
    for this arm; camera placement and object sizes scale with it, so small arms get a closer camera.
    """
    name: str
    source_urdf: Path
    base_frame: str
    ee_frame: str
    arm_joints: tuple[str, ...]
    gripper: GripperSpec
    gripper_root_link: str  # this link and its descendants are "the gripper" (segmentation, touch)
    home_q: tuple[float, ...]
    workspace_center: tuple[float, float] = (0.5, 0.0)
    workspace_radius: float = 0.15
    base_position: tuple[float, float, float] = (0.0, 0.0, 0.0)
    tcp: TcpSpec | None = None
    unlock_joints: tuple[tuple[str, float, float], ...] = ()  # (joint, lower, upper): fixed -> revolute
    rename_joints: tuple[tuple[str, str], ...] = ()  # (old, new): e.g. a joint named like a link
    mount: TcpSpec | None = None  # new root link `base_frame`, parent of `mount.parent` (the old root)
    collision_from_visual: bool = False  # links without <collision> get their visual meshes as one
    description: str = ''
    color: tuple[float, float, float, float] | None = None  # RGBA painted over every link; None = URDF's
    source: Path | None = None  # the arm YAML this spec was read from

    @property
    def urdf_path(self) -> Path:
        """Absolute path of the rewritten URDF (created on first use) that pinocchio and pybullet load."""
        return materialize_urdf(self)

    @property
    def dof(self) -> int:
        return len(self.arm_joints)

    @property
    def scale(self) -> float:
        """Size of this arm's workspace relative to a Panda's (0.15 m radius); sizes scale with it."""
        return self.workspace_radius / 0.15


def _cache_dir() -> Path:
    root = os.environ.get('VIDEO_PLANNER_CACHE') or os.path.join(Path.home(), '.cache', 'video_planner')
    path = Path(root) / 'urdf'
    path.mkdir(parents=True, exist_ok=True)
    return path


def _rewrite_mesh_paths(text: str, urdf_dir: Path, share: Path | None) -> str:
    def fix(match: re.Match) -> str:
        name = match.group(1)
        if name.startswith('package://'):
            # A ROS package path: look under the installed package share first, then next to the URDF
            # (pybullet_data's Panda says package://meshes/... for its own folder).
            relative = name[len('package://'):]
            resolved = urdf_dir / relative
            if share is not None and (share / relative).exists():
                resolved = share / relative
        elif name.startswith('/') or name.endswith('.so'):
            return match.group(0)
        else:
            resolved = (urdf_dir / name).resolve()
        return f'filename="{resolved}"'
    return re.sub(r'filename="([^"]+)"', fix, text)


def _unlock_joint(text: str, joint: str, lower: float, upper: float) -> str:
    pattern = re.compile(r'(<joint\s+name="%s"\s+type=")fixed(")' % re.escape(joint))
    if not pattern.search(text):
        raise VideoPlannerError(f'URDF has no fixed joint {joint!r} to unlock')
    text = pattern.sub(r'\1revolute\2', text)
    # Give the unlocked joint a usable limit (the shipped one may say 0..0 for a fixed joint).
    block = re.compile(r'(<joint\s+name="%s".*?<limit[^>]*?)lower="[^"]*"([^>]*?)upper="[^"]*"' % re.escape(joint),
                       re.S)
    return block.sub(lambda m: f'{m.group(1)}lower="{lower}"{m.group(2)}upper="{upper}"', text, count=1)


def _fixed_link_xml(link: str, parent: str, child: str, origin: TcpSpec) -> str:
    """A new link and the fixed joint `<link>_joint` from `parent` to `child` at `origin`'s xyz/rpy."""
    xyz = ' '.join(f'{v:.6f}' for v in origin.xyz)
    rpy = ' '.join(f'{v:.6f}' for v in origin.rpy)
    return (f'\n  <link name="{link}"/>\n'
            f'  <joint name="{link}_joint" type="fixed">\n'
            f'    <parent link="{parent}"/>\n    <child link="{child}"/>\n'
            f'    <origin xyz="{xyz}" rpy="{rpy}"/>\n  </joint>\n')


def _add_tcp(text: str, ee_frame: str, tcp: TcpSpec) -> str:
    addition = _fixed_link_xml(ee_frame, tcp.parent, ee_frame, tcp)
    end = text.rfind('</robot>')
    return text[:end] + addition + text[end:]


def _collision_from_visual(text: str) -> str:
    """Copy each visual as a collision element in links that have none (pybullet uses convex hulls)."""
    def fix(match: re.Match) -> str:
        block = match.group(0)
        if '<collision' in block:
            return block
        visuals = re.findall(r'<visual>.*?</visual>', block, re.S)
        collisions = ''.join(re.sub(r'<material[^>]*/>|<material.*?</material>', '', v, flags=re.S)
                             .replace('<visual>', '<collision>').replace('</visual>', '</collision>')
                             for v in visuals)
        return block.replace('</link>', collisions + '</link>')
    return re.sub(r'<link\s+name="[^"]*"\s*>.*?</link>', fix, text, flags=re.S)


def _add_mount(text: str, base_frame: str, mount: TcpSpec) -> str:
    """A new root link so that the arm's base frame has +x pointing at its workspace."""
    addition = _fixed_link_xml(base_frame, base_frame, mount.parent, mount)
    start = text.find('>', text.find('<robot')) + 1
    return text[:start] + addition + text[start:]


def rewritten_urdf_text(spec: ArmSpec) -> str:
    """The URDF text of `spec` with absolute mesh paths, unlocked finger joints and the TCP link."""
    if not spec.source_urdf.is_file():
        raise VideoPlannerError(f'arm {spec.name!r}: URDF not found at {spec.source_urdf}')
    text = spec.source_urdf.read_text()
    share = None
    if 'package://example-robot-data' in text:
        share = _example_robot_data_share()
    text = _rewrite_mesh_paths(text, spec.source_urdf.parent, share)
    # Continuous joints become revolute with their +-2 pi limits, so every arm has nq == nv == dof
    # in pinocchio (a continuous joint would take (cos, sin) in q).
    text = re.sub(r'type="continuous"', 'type="revolute"', text)
    for old, new in spec.rename_joints:
        text = re.sub(r'(<joint\s+name=")%s(")' % re.escape(old), r'\g<1>%s\2' % new, text)
    for joint, lower, upper in spec.unlock_joints:
        text = _unlock_joint(text, joint, lower, upper)
    if spec.collision_from_visual:
        text = _collision_from_visual(text)
    if spec.tcp is not None:
        text = _add_tcp(text, spec.ee_frame, spec.tcp)
    if spec.mount is not None:
        text = _add_mount(text, spec.base_frame, spec.mount)
    return text


@functools.lru_cache(maxsize=None)
def materialize_urdf(spec: ArmSpec) -> Path:
    """Write the rewritten URDF of `spec` to the cache (atomically) and return its path."""
    text = rewritten_urdf_text(spec)
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    path = _cache_dir() / f'{spec.name}_{digest}.urdf'
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix='.tmp')
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
        os.replace(tmp, path)
    return path


def descends_from(link: int, root: int, parents: dict[int, int]) -> bool:
    """True when pybullet link `link` is `root` or below it (`parents`: link -> parent link, -1 = base)."""
    while link != -1:
        if link == root:
            return True
        link = parents[link]
    return False
