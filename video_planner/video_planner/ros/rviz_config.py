"""config/plan.rviz for the arm at hand: the fixed frame is the arm's base frame.

config/plan.rviz is a working config for the default arm (the Panda: ``rviz2 -d`` opens it as is) and
the template for any other: the launch file calls :func:`write_rviz_config` with the base frame of the
arm it starts, so the path, markers and commands (all in the base frame) show whatever the arm.
Displays: RobotModel (``/robot_description``), TF (base and camera frames), the plan's frames
(``/video_plan/preview``), the camera, the end-effector path (``/ee_path``), its markers with the
playhead arrow moving along it (``/ee_markers``) and the streamed command (``/ee_command``).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from video_planner.errors import ConfigError
from video_planner.resources import config_path

TEMPLATE = 'plan.rviz'


def urdf_root_link(urdf_xml: str) -> str:
    """The URDF's root link: the one link that is no joint's child."""
    try:
        robot = ET.fromstring(urdf_xml)
    except ET.ParseError as exc:
        raise ConfigError(f'the URDF is not valid XML: {exc}') from None
    links = [link.get('name') for link in robot.findall('link')]
    children = {child.get('link') for child in robot.findall('joint/child')}
    roots = [name for name in links if name not in children]
    if len(roots) != 1:
        raise ConfigError(f'the URDF has {len(roots)} root links {roots}; expected exactly one')
    return roots[0]


def arm_base_frame(arm: str = '', urdf_path: str = '') -> str:
    """The base frame of the arm the launch file starts: the URDF's root link (urdf_path wins, as for
    the nodes), else the simulator arm's base frame."""
    if urdf_path:
        path = Path(urdf_path)
        if not path.is_file():
            raise ConfigError(f"urdf_path '{urdf_path}' is not a file")
        return urdf_root_link(path.read_text())
    from video_planner.sim.arms import ARMS, get_arm
    if arm not in ARMS:
        raise ConfigError(f"arm {arm!r} is not a simulator arm; known: {sorted(ARMS)} (or give urdf_path)")
    return get_arm(arm).base_frame


def write_rviz_config(base_frame: str, path: str | Path, template: str | Path | None = None) -> Path:
    """The template with its fixed frame set to ``base_frame``, written to ``path``."""
    if not base_frame:
        raise ConfigError('the RViz fixed frame (the arm base frame) is empty')
    config = yaml.safe_load(Path(template or config_path(TEMPLATE)).read_text())
    config['Visualization Manager']['Global Options']['Fixed Frame'] = base_frame
    path = Path(path)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
