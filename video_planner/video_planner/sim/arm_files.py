"""Arm YAML files: a URDF plus the few facts a URDF does not say, read into an `ArmSpec`.

    name: z1                                  # optional; default: the file name
    description: Unitree Z1, 6 DoF, one moving jaw
    urdf: example-robot-data:robots/z1_description/urdf/z1.urdf   # or pybullet_data:..., or a path
                                              # (relative paths are relative to this file)
    base_frame: link00                        # URDF link on the table, z up, +x towards the workspace
    tool_frame: gripperStator                 # this link and its descendants are "the gripper"
    gripper:                                  # optional; none = bare flange (grasp is a weld)
      joints: [jointGripper]
      open: [-1.2]                            # joint positions at gripper 0 (open) and 1 (closed)
      closed: [0.0]
    # Optional; derived from the URDF when left out (`video-planner arm check` prints what it derived):
    tcp_frame: panda_grasptarget              # the TCP frame's name: an existing frame (z out of the
                                              # gripper), or the one `tcp` adds (default <name>_tcp)
    tcp: {parent: gripperStator, xyz: [0.1, 0, 0], rpy: [0, 1.5708, 0]}   # a TCP added to the URDF
    home_q: [0.0, 1.2, -1.0, 0.0, 0.0, 0.0]   # TCP straight down above the workspace centre
    workspace: {center: [0.4, 0.0], radius: 0.12}   # metres, base frame, on the table
    color: [0.2, 0.5, 0.9]                    # paint every link (RGB or RGBA in 0..1)
    urdf_edits:                               # for URDFs that need fixing before use
      unlock_joints: [[finger_joint, 0.0, 1.5]]   # fixed -> revolute with these limits
      rename_joints: [[old, new]]
      mount: {parent: base, xyz: [0, 0, 0], rpy: [0, 0, 1.5708]}   # new root link = base_frame
      collision_from_visual: true

The arm joints are the URDF's actuated joints between `base_frame` and the TCP (kinematics/ finds
them); every other joint (fingers) is locked. Derived values are cached beside the rewritten URDFs,
keyed by the YAML and URDF text, so a worker process does not search again.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path

import yaml

from video_planner.errors import ConfigError, VideoPlannerError
from video_planner.sim.arm_spec import (_PYBULLET_DATA, ArmSpec, GripperSpec, TcpSpec, _cache_dir,
                                        _example_robot_data_share, rewritten_urdf_text)

FIELDS = ('name', 'description', 'urdf', 'base_frame', 'tool_frame', 'gripper', 'tcp_frame', 'tcp', 'home_q',
          'workspace', 'color', 'urdf_edits', 'arm_joints')
EDIT_FIELDS = ('unlock_joints', 'rename_joints', 'mount', 'collision_from_visual')
DERIVATION_VERSION = 3  # bump when arm_derivation changes what it finds: cached values are then ignored


@functools.lru_cache(maxsize=64)
def _load_cached(path: Path, mtime_ns: int) -> ArmSpec:
    return build_spec(read_arm_yaml(path), path)


def load_arm_file(path: str | Path) -> ArmSpec:
    """The `ArmSpec` described by the arm YAML at `path` (missing values derived and cached)."""
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f'arm file {path}: not found (expected a YAML file describing an arm)')
    return _load_cached(path, path.stat().st_mtime_ns)


def read_arm_yaml(path: Path) -> dict:
    """The YAML mapping of an arm file, with unknown keys refused."""
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f'arm file {path}: not valid YAML ({exc})') from exc
    if not isinstance(data, dict):
        raise ConfigError(f'arm file {path}: expected a mapping with keys {list(FIELDS)}')
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ConfigError(f'arm file {path}: unknown key(s) {unknown}; known: {list(FIELDS)}')
    for key in ('urdf', 'base_frame', 'tool_frame'):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ConfigError(f'arm file {path}: {key!r} is required (a string)')
    return data


def resolve_urdf(reference: str, relative_to: Path) -> Path:
    """`pybullet_data:<path>`, `example-robot-data:<path>` (inside that package's share folder), an
    absolute path, or a path relative to the arm file's folder."""
    if reference.startswith('pybullet_data:'):
        return _PYBULLET_DATA / reference.split(':', 1)[1]
    if reference.startswith('example-robot-data:'):
        return _example_robot_data_share() / 'example-robot-data' / reference.split(':', 1)[1]
    path = Path(reference).expanduser()
    return path if path.is_absolute() else (relative_to / path).resolve()


def _floats(value, n: int | None, what: str, path: Path) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f'arm file {path}: {what} must be a list of numbers, got {value!r}') from None
    if n is not None and len(out) != n:
        raise ConfigError(f'arm file {path}: {what} must have {n} numbers, got {len(out)}')
    return out


def _frame(value, what: str, path: Path) -> TcpSpec:
    if not isinstance(value, dict) or not isinstance(value.get('parent'), str):
        raise ConfigError(f'arm file {path}: {what} must be a mapping {{parent, xyz, rpy}}, got {value!r}')
    return TcpSpec(value['parent'], _floats(value.get('xyz', (0, 0, 0)), 3, f'{what}.xyz', path),
                   _floats(value.get('rpy', (0, 0, 0)), 3, f'{what}.rpy', path))


def _gripper(value, path: Path) -> GripperSpec:
    if value is None:
        return GripperSpec('none')
    if not isinstance(value, dict) or not value.get('joints'):
        raise ConfigError(f'arm file {path}: gripper must be a mapping {{joints, open, closed}}, got {value!r}')
    joints = tuple(str(j) for j in value['joints'])
    open_q = _floats(value.get('open'), len(joints), 'gripper.open', path)
    closed_q = _floats(value.get('closed'), len(joints), 'gripper.closed', path)
    return GripperSpec('parallel', joints, open_q, closed_q)


def _color(value, path: Path) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    rgba = _floats(value, None, 'color', path)
    if len(rgba) not in (3, 4) or not all(0.0 <= c <= 1.0 for c in rgba):
        raise ConfigError(f'arm file {path}: color must be 3 or 4 numbers in [0, 1], got {value!r}')
    return rgba + (1.0,) * (4 - len(rgba))


def base_spec(data: dict, path: Path) -> ArmSpec:
    """The spec as written in the file; home pose and workspace still at placeholders."""
    edits = data.get('urdf_edits') or {}
    unknown = sorted(set(edits) - set(EDIT_FIELDS))
    if unknown:
        raise ConfigError(f'arm file {path}: unknown urdf_edits {unknown}; known: {list(EDIT_FIELDS)}')
    gripper = _gripper(data.get('gripper'), path)
    name = str(data.get('name') or path.stem)
    tcp = _frame(data['tcp'], 'tcp', path) if data.get('tcp') is not None else None
    # The TCP frame: `tcp_frame` names it (an existing frame, or the one `tcp` adds); a derived TCP
    # (fingers, no tcp given) is added as <name>_tcp; a bare flange's TCP is the tool frame itself.
    ee_frame = data.get('tcp_frame') or (f'{name}_tcp' if tcp is not None or gripper.joints else data['tool_frame'])
    return ArmSpec(
        name=name, description=str(data.get('description', '')),
        source_urdf=resolve_urdf(data['urdf'], path.parent),
        base_frame=data['base_frame'], ee_frame=ee_frame,
        arm_joints=tuple(data.get('arm_joints') or ()), gripper=gripper, gripper_root_link=data['tool_frame'],
        home_q=(), tcp=tcp,
        unlock_joints=tuple((str(j), float(lo), float(hi)) for j, lo, hi in edits.get('unlock_joints', ())),
        rename_joints=tuple((str(a), str(b)) for a, b in edits.get('rename_joints', ())),
        mount=_frame(edits['mount'], 'urdf_edits.mount', path) if edits.get('mount') else None,
        collision_from_visual=bool(edits.get('collision_from_visual', False)),
        color=_color(data.get('color'), path), source=path)


def build_spec(data: dict, path: Path) -> ArmSpec:
    """The complete spec: the file's values, the rest derived (or read back from the derivation cache)."""
    spec = base_spec(data, path)
    check_urdf(spec, path)
    key = _derivation_key(data, spec)
    derived = _read_derived(key)
    if derived is None:
        from video_planner.sim.arm_derivation import derive
        derived = derive(spec, data)
        _write_derived(key, derived)
    return apply_derived(spec, derived)


def check_urdf(spec: ArmSpec, path: Path) -> None:
    """The URDF exists, parses, and has every frame and joint the file names (clear errors, before any search)."""
    from video_planner.kinematics.urdf_source import read_urdf
    try:
        text = rewritten_urdf_text(spec)  # a missing URDF or a bad urdf_edit fails here
        source = read_urdf(text)
    except VideoPlannerError as exc:
        raise ConfigError(f'arm file {path}: broken URDF {spec.source_urdf}: {exc}') from exc
    import xml.etree.ElementTree as ET
    root = ET.fromstring(source.xml)
    links = {link.get('name') for link in root.findall('link')}
    joints = {source.renamed_joints.get(j.get('name'), j.get('name')) for j in root.findall('joint')}
    named = {'base_frame': spec.base_frame, 'tool_frame': spec.gripper_root_link}
    if spec.tcp is None and spec.ee_frame != f'{spec.name}_tcp':
        named['tcp_frame'] = spec.ee_frame
    elif spec.tcp is not None:
        named['tcp.parent'] = spec.tcp.parent
    for key, frame in named.items():
        if frame not in links:
            raise ConfigError(f'arm file {path}: {key} {frame!r} is not a link of {spec.source_urdf}; '
                              f'links: {sorted(links)}')
    missing = [j for j in spec.gripper.joints if j not in joints and j not in {n for _, n in spec.rename_joints}]
    if missing:
        raise ConfigError(f'arm file {path}: gripper joints {missing} are not joints of {spec.source_urdf}; '
                          f'joints: {sorted(joints)}')


def apply_derived(spec: ArmSpec, derived: dict) -> ArmSpec:
    tcp = spec.tcp
    if derived.get('tcp') is not None:
        tcp = TcpSpec(derived['tcp']['parent'], tuple(derived['tcp']['xyz']), tuple(derived['tcp']['rpy']))
    center = derived['workspace']['center']
    return dataclasses.replace(spec, tcp=tcp, arm_joints=tuple(derived['arm_joints']),
                               home_q=tuple(derived['home_q']), workspace_center=(center[0], center[1]),
                               workspace_radius=float(derived['workspace']['radius']))


def _derivation_key(data: dict, spec: ArmSpec) -> str:
    text = json.dumps(data, sort_keys=True, default=str) + rewritten_urdf_text(spec) + str(DERIVATION_VERSION)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _derived_path(key: str) -> Path:
    return _cache_dir().parent / 'arms' / f'{key}.json'


def _read_derived(key: str) -> dict | None:
    path = _derived_path(key)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_derived(key: str, derived: dict) -> None:
    path = _derived_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix='.tmp')
    with os.fdopen(fd, 'w') as handle:
        json.dump(derived, handle)
    os.replace(tmp, path)
