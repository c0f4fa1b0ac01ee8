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

The spec itself and the URDF rewriting live in `arm_spec.py`; their names are re-exported here.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from video_planner.errors import VideoPlannerError
from video_planner.sim.arm_spec import (  # noqa: F401  (re-exported: the registry is where arms are looked up)
    _PYBULLET_DATA, ArmSpec, GripperSpec, TcpSpec, _cache_dir, descends_from, materialize_urdf)


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


def check_arm_names(arms, what: str) -> None:
    """Every entry of `arms` is a registered arm or a readable arm YAML; else an error naming `what`."""
    if not arms:
        raise VideoPlannerError(f'{what}: empty; expected registered arm names or arm YAML paths')
    for arm in arms:
        try:
            get_arm(arm)
        except VideoPlannerError as exc:
            raise type(exc)(f'{what}: {exc}') from exc
