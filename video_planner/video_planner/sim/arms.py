"""The arm registry: which robot arms the tabletop knows, where their URDFs are and how to drive them.

An arm is data: a URDF plus a short YAML file (`config/arms/<name>.yaml`, format in
`video_planner/sim/arm_files.py`). The YAML is read into one `ArmSpec`; what it leaves out (tool centre
point, home pose, workspace) is derived from the URDF (`arm_derivation.py`). Kinematics
(`ArmKinematics.from_urdf(spec.urdf_path, spec.base_frame, spec.ee_frame)`) and the simulator read the
same spec, so the frames they use agree. `get_arm` takes a registered name or the path of any arm YAML.

Frame conventions shared by all arms:
- `base_frame` is the URDF root link, z up; pybullet places it at `base_position` on the table.
- `ee_frame` is a tool-centre point (TCP) whose +z axis is the approach direction (out of the
  gripper, between the fingertips). Where the shipped URDF has no such frame, `tcp` adds one to the
  rewritten copy of the URDF (`urdf_path`), so pinocchio and pybullet see the same link.

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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pybullet_data

from video_planner.errors import VideoPlannerError

_PYBULLET_DATA = Path(pybullet_data.getDataPath())


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


def _add_tcp(text: str, ee_frame: str, tcp: TcpSpec) -> str:
    xyz = ' '.join(f'{v:.6f}' for v in tcp.xyz)
    rpy = ' '.join(f'{v:.6f}' for v in tcp.rpy)
    addition = (f'\n  <link name="{ee_frame}"/>\n'
                f'  <joint name="{ee_frame}_joint" type="fixed">\n'
                f'    <parent link="{tcp.parent}"/>\n    <child link="{ee_frame}"/>\n'
                f'    <origin xyz="{xyz}" rpy="{rpy}"/>\n  </joint>\n')
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
    xyz = ' '.join(f'{v:.6f}' for v in mount.xyz)
    rpy = ' '.join(f'{v:.6f}' for v in mount.rpy)
    addition = (f'\n  <link name="{base_frame}"/>\n'
                f'  <joint name="{base_frame}_joint" type="fixed">\n'
                f'    <parent link="{base_frame}"/>\n    <child link="{mount.parent}"/>\n'
                f'    <origin xyz="{xyz}" rpy="{rpy}"/>\n  </joint>\n')
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




class ArmRegistry(Mapping):
    """The arms shipped in `config/arms/`, by name, read from their YAML files on first use.

    Order (which fixes the evaluation's per-arm instance seeds) is `config/arms/registry.yaml`'s
    `order` list, then any other YAML file of the folder by name.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self._specs: dict[str, ArmSpec] = {}
        self._names: tuple[str, ...] | None = None

    def _files(self) -> dict[str, Path]:
        return {path.stem: path for path in sorted(self.folder.glob('*.yaml')) if path.stem != 'registry'}

    def names(self) -> tuple[str, ...]:
        if self._names is None:
            files = self._files()
            order = [name for name in _read_yaml_list(self.folder / 'registry.yaml', 'order') if name in files]
            self._names = tuple(order + [name for name in files if name not in order])
        return self._names

    def __getitem__(self, name: str) -> ArmSpec:
        if name not in self._specs:
            if name not in self.names():
                raise KeyError(name)
            from video_planner.sim.arm_files import load_arm_file
            self._specs[name] = load_arm_file(self._files()[name])
        return self._specs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())


def _read_yaml_list(path: Path, key: str) -> list[str]:
    import yaml
    if not path.is_file():
        return []
    data = yaml.safe_load(path.read_text()) or {}
    values = data.get(key, []) if isinstance(data, dict) else []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise VideoPlannerError(f'{path}: {key!r} must be a list of arm names, got {values!r}')
    return values


def _arms_folder() -> Path:
    from video_planner.resources import config_path
    return config_path('arms')


ARMS: ArmRegistry = ArmRegistry(_arms_folder())

# Held-out arms never appear in training data; they test cross-embodiment transfer. The list is data:
# `held_out_arms` in config/eval.yaml.
HELD_OUT_ARMS: tuple[str, ...] = tuple(_read_yaml_list(_arms_folder().parent / 'eval.yaml', 'held_out_arms'))
SEEN_ARMS: tuple[str, ...] = tuple(name for name in ARMS if name not in HELD_OUT_ARMS)


def is_arm_file(name_or_path: str | Path) -> bool:
    """True when `name_or_path` names an arm YAML file rather than a registered arm."""
    text = str(name_or_path)
    return text.endswith(('.yaml', '.yml')) or os.sep in text


def get_arm(name_or_path: str | Path) -> ArmSpec:
    """The spec of a registered arm, or of the arm YAML at a path; a VideoPlannerError otherwise."""
    if isinstance(name_or_path, ArmSpec):
        return name_or_path
    if is_arm_file(name_or_path):
        from video_planner.sim.arm_files import load_arm_file
        return load_arm_file(Path(name_or_path))
    try:
        return ARMS[str(name_or_path)]
    except KeyError:
        raise VideoPlannerError(f'unknown arm {name_or_path!r}: expected one of {list(ARMS)} '
                                'or the path of an arm YAML file') from None


def arm_label(name_or_path: str | Path) -> str:
    """A short name for reports: the registered name, or the `name` inside an arm YAML."""
    return get_arm(name_or_path).name if is_arm_file(name_or_path) else str(name_or_path)


def arm_seed_index(name_or_path: str | Path) -> int:
    """A stable integer per arm for seeding: its place in the registry, else one from its YAML's name."""
    import zlib
    names = ARMS.names()
    if str(name_or_path) in names:
        return names.index(str(name_or_path))
    return 1000 + zlib.crc32(arm_label(name_or_path).encode()) % 1_000_000


def descends_from(link: int, root: int, parents: dict[int, int]) -> bool:
    """True when pybullet link `link` is `root` or below it (`parents`: link -> parent link, -1 = base)."""
    while link != -1:
        if link == root:
            return True
        link = parents[link]
    return False


def check_arm_names(arms, what: str) -> None:
    """Every entry of `arms` is a registered arm or a readable arm YAML; else an error naming `what`."""
    if not arms:
        raise VideoPlannerError(f'{what}: empty; expected registered arm names or arm YAML paths')
    for arm in arms:
        try:
            get_arm(arm)
        except VideoPlannerError as exc:
            raise type(exc)(f'{what}: {exc}') from exc
