"""rosbag2 files of video plans (and of any rclpy messages), through the ``rosbags`` package.

rosbag2 itself has no PyPI wheel; ``rosbags`` writes the same on-disk format (MCAP or sqlite3,
metadata version 9) with message definitions and RIHS01 type hashes that match Kilted, so
``ros2 bag play`` on a ROS machine accepts these bags. Messages are serialized with rclpy's own
CDR serializer and read back with its deserializer, so what goes in is byte-for-byte what a
publisher would have sent. Our ``video_planner_interfaces/VideoPlan`` type is registered in the
typestore from its installed ``.msg`` files.

A plan bag holds, per plan, on the topics of :class:`PlanTopics`: the VideoPlan message, its frames
as a ``sensor_msgs/Image`` stream stamped one frame period apart, the end-effector ``nav_msgs/Path``,
its RViz ``MarkerArray`` and the ``trajectory_msgs/JointTrajectory`` (when IK solved it).
"""
from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from rclpy.serialization import deserialize_message, serialize_message
from rosbags.rosbag2 import Reader, Writer
from rosbags.rosbag2.enums import StoragePlugin
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from video_planner_interfaces.msg import VideoPlan

from video_planner.errors import VideoPlannerError
from video_planner.ros.conversions import (
    NS_PER_S, VideoPlanEnvelope, joint_trajectory_to_msg, path_markers, poses_to_path, rgb_to_image,
    video_plan_from_msg, video_plan_to_msg)

STORAGES = {'mcap': StoragePlugin.MCAP, 'sqlite3': StoragePlugin.SQLITE3}
INTERFACES_PACKAGE = 'video_planner_interfaces'


@dataclass(frozen=True)
class PlanTopics:
    """Where a plan bag puts each part: the names the live system and config/plan.rviz use, so
    ``ros2 bag play`` shows a stored plan in RViz. The joint trajectory stays off the robot's
    ``joint_trajectory`` command topic: playing a bag must never move an arm."""

    plan: str = '/video_plan'
    frames: str = '/video_plan/preview'
    ee_path: str = '/ee_path'
    markers: str = '/ee_markers'
    joint_trajectory: str = '/video_plan/joint_trajectory'


def interface_msg_files() -> list[Path]:
    """The installed ``.msg`` files of video_planner_interfaces (else the source tree's)."""
    import video_planner_interfaces

    package_dir = Path(video_planner_interfaces.__file__).resolve().parent
    candidates = [parent / 'share' / INTERFACES_PACKAGE / 'msg' for parent in package_dir.parents]
    candidates.append(Path(__file__).resolve().parents[3] / INTERFACES_PACKAGE / 'msg')
    for folder in candidates:
        files = sorted(folder.glob('*.msg'))
        if files:
            return files
    raise VideoPlannerError(f'no .msg files of {INTERFACES_PACKAGE} found (looked in {candidates}); '
                            'run scripts/setup.sh to build the interface package')


@functools.lru_cache(maxsize=1)
def plan_typestore():
    """Kilted's message types plus ours, for message definitions and type hashes in the bag."""
    store = get_typestore(Stores.ROS2_KILTED)
    types = {}
    for msg_file in interface_msg_files():
        types.update(get_types_from_msg(msg_file.read_text(), f'{INTERFACES_PACKAGE}/msg/{msg_file.stem}'))
    store.register(types)
    return store


def type_name(msg) -> str:
    """'sensor_msgs/msg/Image' for an rclpy message instance or class."""
    cls = msg if isinstance(msg, type) else type(msg)
    package, kind = cls.__module__.split('.')[:2]
    return f'{package}/{kind}/{cls.__name__}'


def message_class(name: str):
    """The rclpy message class for 'sensor_msgs/msg/Image'."""
    try:
        package, kind, cls = name.split('/')
        return getattr(importlib.import_module(f'{package}.{kind}'), cls)
    except (ValueError, ImportError, AttributeError):
        raise VideoPlannerError(f"message type '{name}' is not installed in this environment") from None


def exact_cdr(raw: bytes, typename: str) -> bytes:
    """``raw`` cut to the end of the CDR payload.

    rclpy's serialize_message (Kilted, rmw_fastrtps) can return a buffer a few bytes longer than the
    payload -- seen with trajectory_msgs/JointTrajectoryPoint, the tail holding stale memory. DDS
    readers ignore the tail, but other bag readers (rosbags, hence our importers) reject the size
    mismatch, so the tail is measured by decoding once with rosbags and dropped.
    """
    store = plan_typestore()
    msgdef = store.get_msgdef(typename)
    decode = msgdef.deserialize_cdr_le if raw[1] else msgdef.deserialize_cdr_be
    _, end = decode(memoryview(raw)[4:], 0, msgdef.cls, store)
    return raw[:4 + end]


class BagWriter:
    """Write rclpy messages to a new rosbag2 (one connection per topic, made on first use)."""

    def __init__(self, path: str | Path, storage: str = 'mcap'):
        if storage not in STORAGES:
            raise VideoPlannerError(f"bag storage '{storage}' is not supported; use one of {', '.join(STORAGES)}")
        self.path = Path(path)
        if self.path.exists():
            raise VideoPlannerError(f'bag {self.path} exists already; rosbag2 bags are never overwritten, '
                                    'choose a new path')
        self._writer = Writer(self.path, version=Writer.VERSION_LATEST, storage_plugin=STORAGES[storage])
        self._connections = {}
        self._writer.open()

    def write(self, topic: str, msg, stamp_ns: int) -> None:
        connection = self._connections.get(topic)
        if connection is None:
            connection = self._writer.add_connection(topic, type_name(msg), typestore=plan_typestore())
            self._connections[topic] = connection
        elif connection.msgtype != type_name(msg):
            raise VideoPlannerError(f"topic '{topic}' already carries {connection.msgtype}, "
                                    f'cannot also write {type_name(msg)}')
        self._writer.write(connection, int(stamp_ns), exact_cdr(serialize_message(msg), connection.msgtype))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_messages(path: str | Path, topics: list[str] | None = None) -> Iterator[tuple[str, int, object]]:
    """(topic, bag time ns, rclpy message) in time order, optionally only ``topics``."""
    path = Path(path)
    if not (path / 'metadata.yaml').is_file():
        raise VideoPlannerError(f'{path} is not a rosbag2 folder (no metadata.yaml)')
    with Reader(path) as reader:
        connections = [c for c in reader.connections if topics is None or c.topic in topics]
        if not connections:  # rosbags reads every connection when given none
            return
        classes = {c.id: message_class(c.msgtype) for c in connections}
        for connection, stamp_ns, raw in reader.messages(connections=connections):
            yield connection.topic, stamp_ns, deserialize_message(bytes(raw), classes[connection.id])


def write_plan(writer: BagWriter, envelope: VideoPlanEnvelope, topics: PlanTopics = PlanTopics()) -> None:
    """Append one plan (VideoPlan + frames + path + markers + joint trajectory) to an open bag."""
    plan = envelope.plan
    stamp = envelope.stamp_ns
    period_ns = int(round(float(plan.frame_period_s) * NS_PER_S))
    writer.write(topics.plan, video_plan_to_msg(envelope), stamp)
    for i, frame in enumerate(plan.frames):
        t = stamp + i * period_ns
        writer.write(topics.frames, rgb_to_image(frame, t, envelope.camera_frame_id), t)
    writer.write(topics.ee_path, poses_to_path(plan.T_base_ee, stamp, envelope.base_frame_id,
                                               plan.frame_period_s), stamp)
    writer.write(topics.markers, path_markers(plan.T_base_ee, plan.gripper, stamp, envelope.base_frame_id), stamp)
    if plan.joint_trajectory is not None:
        writer.write(topics.joint_trajectory,
                     joint_trajectory_to_msg(plan.joint_trajectory, stamp, envelope.base_frame_id), stamp)


def write_plan_bag(path: str | Path, envelopes: VideoPlanEnvelope | list[VideoPlanEnvelope],
                   storage: str = 'mcap', topics: PlanTopics = PlanTopics()) -> Path:
    """Write one or more plans to a new bag at ``path``; returns the bag folder."""
    if isinstance(envelopes, VideoPlanEnvelope):
        envelopes = [envelopes]
    with BagWriter(path, storage) as writer:
        for envelope in envelopes:
            write_plan(writer, envelope, topics)
    return Path(path)


def plan_topic_of(path: str | Path) -> str:
    """The topic holding the finished VideoPlans: '/video_plan' (or 'video_plan', as the demo writes
    it) when present, else the bag's only VideoPlan topic."""
    path = Path(path)
    if not (path / 'metadata.yaml').is_file():
        raise VideoPlannerError(f'{path} is not a rosbag2 folder (no metadata.yaml)')
    with Reader(path) as reader:
        topics = sorted({c.topic for c in reader.connections if c.msgtype == type_name(VideoPlan)})
    for preferred in (PlanTopics.plan, PlanTopics.plan.lstrip('/')):
        if preferred in topics:
            return preferred
    if len(topics) == 1:
        return topics[0]
    if not topics:
        raise VideoPlannerError(f'bag {path} holds no {type_name(VideoPlan)} messages')
    raise VideoPlannerError(f'bag {path} has VideoPlans on several topics {topics}; name one')


def read_plan_bag(path: str | Path, topic: str | None = None) -> list[VideoPlanEnvelope]:
    """Every VideoPlan in the bag (on ``topic``, default :func:`plan_topic_of`), in bag order."""
    topic = topic or plan_topic_of(path)
    plans = [video_plan_from_msg(msg) for _, _, msg in read_messages(path, [topic])]
    if not plans:
        raise VideoPlannerError(f"bag {path} holds no VideoPlan message on '{topic}'")
    return plans
