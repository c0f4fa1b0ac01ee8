"""rosbag2 (or ROS 1 .bag) files -> episodes, through ``rosbags`` (no rclpy needed).

Messages are replayed in bag (receive) time through an :class:`EpisodeAssembler`, the same one the
recorder node uses live. Episodes are delimited by ``instruction.topic`` (std_msgs/String starts one)
and ``instruction.stop_topic``; with a fixed ``instruction.text`` and no topic the whole bag is one
episode. Message types come from the bag itself where it stores them, else from Kilted's.

Topic names match with or without the leading slash (``camera/image_raw`` in a bag written with
relative names is the mapping's ``/camera/image_raw``: both resolve there in the root namespace).
A folder with a ``metadata.yaml`` is a rosbag2 whatever its name (``demo.bag/`` included).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from rosbags.highlevel import AnyReader
from rosbags.rosbag2 import Reader as Rosbag2Reader
from rosbags.typesys import Stores, get_typestore

from video_planner.data.importers.assembler import EpisodeAssembler, ImportedEpisode
from video_planner.data.importers.mapping import ImportMapping
from video_planner.errors import VideoPlannerError


def resolved(topic: str) -> str:
    """The topic's name in the root namespace: 'camera/image_raw' and '/camera/image_raw' are one topic."""
    return '/' + topic.lstrip('/') if topic else ''


def _open_reader(bag_path: Path) -> AnyReader:
    reader = AnyReader([bag_path], default_typestore=get_typestore(Stores.ROS2_KILTED))
    if bag_path.is_dir() and (bag_path / 'metadata.yaml').is_file() and not reader.is2:
        # rosbags tells ROS 1 from rosbag2 by the '.bag' suffix alone; a rosbag2 folder named *.bag is
        # still a rosbag2 (its metadata.yaml says so).
        reader.is2, reader.readers = True, [Rosbag2Reader(bag_path)]
    return reader


def _topic_roles(mapping: ImportMapping) -> dict[str, str]:
    """Resolved topic name -> its role in the episode."""
    roles = {
        mapping.camera.rgb: 'rgb', mapping.camera.depth: 'depth', mapping.camera.camera_info: 'camera_info',
        mapping.camera.pose: 'camera_pose',
        mapping.ee.pose: 'pose', mapping.ee.joint_states: 'joint_states',
        mapping.instruction.topic: 'instruction', mapping.instruction.stop_topic: 'stop'}
    roles.pop('', None)
    return {resolved(topic): role for topic, role in roles.items()}


def read_rosbag_episodes(bag_path: str | Path, mapping: ImportMapping) -> Iterator[ImportedEpisode]:
    """Every episode in the bag, in order."""
    bag_path = Path(bag_path)
    if not bag_path.exists():
        raise VideoPlannerError(f'--src {bag_path} does not exist')
    if not mapping.instruction.topic and not mapping.instruction.text:
        raise VideoPlannerError('mapping: give instruction.topic (std_msgs/String per episode) or a fixed '
                                'instruction.text for the whole bag')
    roles = _topic_roles(mapping)
    # Joint states also carry the gripper when no pose topic is used.
    if mapping.gripper.joint and not mapping.ee.joint_states:
        raise VideoPlannerError('mapping: gripper.joint needs ee.joint_states (the JointState topic)')
    assembler = EpisodeAssembler(mapping, source=str(bag_path))
    try:
        reader = _open_reader(bag_path)
        reader.open()
    except Exception as exc:  # rosbags raises several unrelated types for unreadable input
        raise VideoPlannerError(f'{bag_path} is not a readable rosbag2/rosbag file: {exc}') from None
    try:
        present = {resolved(c.topic) for c in reader.connections}
        missing = [t for t, role in roles.items() if t not in present and role not in ('instruction', 'stop')]
        if missing:
            raise VideoPlannerError(f'{bag_path}: mapped topic(s) {missing} are not in the bag; it has '
                                    f'{sorted(present)}')
        if mapping.instruction.text and not mapping.instruction.topic:
            assembler.start(mapping.instruction.text)
        connections = [c for c in reader.connections if resolved(c.topic) in roles]
        for connection, stamp_ns, raw in reader.messages(connections=connections):
            role = roles[resolved(connection.topic)]
            msg = reader.deserialize(raw, connection.msgtype)
            episode = None
            if role == 'rgb':
                assembler.on_rgb(msg, stamp_ns)
            elif role == 'depth':
                assembler.on_depth(msg, stamp_ns)
            elif role == 'camera_info':
                assembler.on_camera_info(msg)
            elif role == 'camera_pose':
                assembler.on_camera_pose(msg)
            elif role == 'pose':
                assembler.on_pose(msg, stamp_ns)
            elif role == 'joint_states':
                assembler.on_joint_state(msg, stamp_ns)
            elif role == 'instruction' and (mapping.instruction.text or msg.data.strip()):
                # (an empty instruction was refused by the recorder too: it starts nothing)
                episode = assembler.start(mapping.instruction.text or msg.data)
            elif role == 'stop':
                episode = assembler.finish()
            if episode is not None:
                yield episode
    finally:
        reader.close()
    episode = assembler.finish()
    if episode is not None:
        yield episode
