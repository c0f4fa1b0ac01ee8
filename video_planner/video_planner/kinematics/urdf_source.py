"""Read a URDF (file path or XML text) into a form pinocchio can build a kinematic model from.

Only kinematics is needed here, so meshes are never resolved. Two edits are made to the XML before
pinocchio sees it:
- ``continuous`` joints become ``revolute`` with wide limits. Pinocchio stores a continuous joint as
  (cos, sin) -- two configuration numbers for one angle -- while simulators and controllers speak
  one angle per joint; one angle per joint keeps q, limits and velocities the same length.
- a joint named like a link (SO-100's 'gripper') is renamed, because pinocchio's
  buildReducedModel refuses ambiguous frame names. ``renamed_joints`` maps the new names back.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from video_planner.errors import KinematicsError

# Range given to a continuous joint once it is rewritten as revolute: two turns either way, so
# tracking a path never hits an artificial wall, while the posture term keeps it near home.
CONTINUOUS_JOINT_RANGE_RAD = 2.0 * math.pi


@dataclass(frozen=True)
class UrdfSource:
    """A parsed URDF: the XML pinocchio will build from plus facts read from the tree."""

    xml: str
    robot_name: str
    root_link: str
    continuous_joints: tuple[str, ...]
    renamed_joints: dict[str, str]  # name given to pinocchio -> name in the URDF
    origin: str  # the file path, or '<string>' when XML text was given


def read_urdf(urdf: str | Path) -> UrdfSource:
    """Load ``urdf`` (a path, or XML text starting with '<') and validate its structure."""
    text, origin = _read_text(urdf)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise KinematicsError(f'urdf: malformed XML in {origin}: {exc}') from exc
    if root.tag != 'robot':
        raise KinematicsError(f"urdf: root element of {origin} is <{root.tag}>, expected <robot>")
    links = [link.get('name') for link in root.findall('link')]
    if not links:
        raise KinematicsError(f'urdf: {origin} has no <link> elements')
    children = set()
    for joint in root.findall('joint'):
        name = joint.get('name')
        parent, child = joint.find('parent'), joint.find('child')
        if parent is None or child is None:
            raise KinematicsError(f"urdf: joint '{name}' in {origin} lacks a <parent> or <child> link")
        for role, link in (('parent', parent.get('link')), ('child', child.get('link'))):
            if link not in links:
                raise KinematicsError(f"urdf: joint '{name}' in {origin} names {role} link '{link}', "
                                      'which is not a <link> of the robot')
        children.add(child.get('link'))
    roots = [link for link in links if link not in children]
    if len(roots) != 1:
        raise KinematicsError(f'urdf: {origin} must have exactly one root link, found {roots}')
    continuous = _continuous_to_revolute(root)
    renamed = _rename_joints_named_like_links(root, set(links))
    return UrdfSource(
        xml=ET.tostring(root, encoding='unicode'),
        robot_name=root.get('name', ''),
        root_link=roots[0],
        continuous_joints=tuple(continuous),
        renamed_joints=renamed,
        origin=origin,
    )


def _read_text(urdf: str | Path) -> tuple[str, str]:
    if isinstance(urdf, str) and urdf.lstrip().startswith('<'):
        return urdf, '<string>'
    path = Path(urdf)
    if not path.is_file():
        raise KinematicsError(f'urdf: file not found: {path} (pass a URDF path or its XML text)')
    return path.read_text(), str(path)


def _continuous_to_revolute(root: ET.Element) -> list[str]:
    """Rewrite continuous joints in place as wide revolute ones; return their names."""
    names = []
    for joint in root.findall('joint'):
        if joint.get('type') != 'continuous':
            continue
        joint.set('type', 'revolute')
        limit = joint.find('limit')
        if limit is None:
            limit = ET.SubElement(joint, 'limit', {'effort': '0', 'velocity': '0'})
        limit.set('lower', repr(-CONTINUOUS_JOINT_RANGE_RAD))
        limit.set('upper', repr(CONTINUOUS_JOINT_RANGE_RAD))
        names.append(joint.get('name'))
    return names


def _rename_joints_named_like_links(root: ET.Element, link_names: set[str]) -> dict[str, str]:
    renamed = {}
    for joint in root.findall('joint'):
        name = joint.get('name')
        if name in link_names:
            new = f'{name}__joint'
            joint.set('name', new)
            renamed[new] = name
    return renamed
