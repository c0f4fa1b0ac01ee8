"""recorder_node: record demonstrations from a robot's topics into the project's episode files.

Subscribes (names are parameters; defaults match sim_robot_node):
  camera/image_raw (Image), camera/depth/image_raw (optional), camera/camera_info, camera/pose
  (PoseStamped of the optical frame in the base frame), ee_pose (PoseStamped) -- or joint_states
  (JointState) with FK through ``urdf`` when ``ee_pose_topic`` is '' --, and the gripper joint.
Episodes:
  ~/instruction (std_msgs/String) starts one with that instruction (so does setting the
  ``instruction`` parameter); ~/stop (std_msgs/Empty) ends it; a new instruction ends the running one.
  Each finished episode is written at once, atomically (temporary file + rename), to
  ``output_dir/<prefix>_<k>.hdf5`` and announced on ~/episode_saved (String: the path), so a crash
  loses at most the episode in progress. Shutting the node down (SIGINT) saves the running episode.
With ``bag_path`` set, the raw streams (and the instruction/stop messages) also go into a rosbag2
that ``video-planner import --from rosbag`` with config/import_rosbag.yaml turns into the same episodes.

Each RGB frame is one step, paired with the pose/gripper/depth stamped nearest to it (header stamps;
arrival time for unstamped messages) within ``max_sync_gap_s``, else the frame is skipped.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Empty, String

from video_planner.data.importers.assembler import EpisodeAssembler
from video_planner.data.importers.dataset import write_imported_episode
from video_planner.data.importers.mapping import (CameraMapping, EeMapping, GripperMapping, ImportMapping,
                                                  InstructionMapping)
from video_planner.errors import ConfigError, VideoPlannerError
from video_planner.ros.params import NodeParameters, param
from video_planner.ros.spin import run_node

NODE_NAME = 'recorder_node'
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
CONTROL_QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


@dataclass
class RecorderConfig:
    output_dir: str = param('episodes', 'folder for the episode .hdf5 files', read_only=True)
    prefix: str = param('recorded', 'episode file name prefix', read_only=True)
    rgb_topic: str = param('camera/image_raw', 'RGB image topic (any colour encoding)', read_only=True)
    depth_topic: str = param('', "depth image topic (16UC1 mm / 32FC1 m); '' = no depth", read_only=True)
    camera_info_topic: str = param('camera/camera_info', "CameraInfo topic; '' = fov_y_deg", read_only=True)
    fov_y_deg: float = param(0.0, 'vertical field of view when there is no CameraInfo (0 = unset)',
                             low=0.0, high=179.0, read_only=True)
    camera_pose_topic: str = param('camera/pose', "PoseStamped of the optical frame in the base; '' = T_base_camera",
                                   read_only=True)
    T_base_camera: list[float] = param([], 'fixed camera pose: x y z qx qy qz qw, or 16 numbers', read_only=True)
    ee_pose_topic: str = param('ee_pose', "PoseStamped of the end effector in the base; '' = FK from joints",
                               read_only=True)
    joint_states_topic: str = param('joint_states', "JointState topic ('' = none)", read_only=True)
    urdf: str = param('', 'URDF path or simulator arm name, for FK when ee_pose_topic is empty', read_only=True)
    base_frame: str = param('', 'URDF base frame (default: the root link)', read_only=True)
    ee_frame: str = param('', 'URDF end-effector frame (default: guessed)', read_only=True)
    gripper_joint: str = param('', "JointState joint giving the gripper opening ('' = always open)", read_only=True)
    gripper_open_value: float = param(0.0, 'gripper joint value when open', read_only=True)
    gripper_closed_value: float = param(1.0, 'gripper joint value when closed', read_only=True)
    arm: str = param('', 'arm name stored with each episode', read_only=True)
    image_size: int = param(0, 'store frames resized to this square size (0 = as received)', low=0, high=4096,
                            read_only=True)
    max_sync_gap_s: float = param(0.1, 'largest stamp difference between a frame and its pose/depth (s)',
                                  low=0.001, high=10.0)
    use_header_stamps: bool = param(True, 'pair messages by header stamp (else by arrival time)', read_only=True)
    min_steps: int = param(2, 'episodes with fewer frames are discarded', low=1)
    instruction: str = param('', 'setting this starts an episode with this instruction')
    bag_path: str = param('', "also record the raw streams into this new rosbag2 folder ('' = no bag)",
                          read_only=True)

    def validate(self) -> None:
        self.to_mapping().validate()

    def to_mapping(self) -> ImportMapping:
        return ImportMapping(
            camera=CameraMapping(rgb=self.rgb_topic, depth=self.depth_topic, camera_info=self.camera_info_topic,
                                 pose=self.camera_pose_topic, fov_y_deg=self.fov_y_deg,
                                 T_base_camera=list(self.T_base_camera)),
            ee=EeMapping(pose=self.ee_pose_topic, joint_states=self.joint_states_topic, urdf=self.urdf,
                         base_frame=self.base_frame, ee_frame=self.ee_frame),
            gripper=GripperMapping(joint=self.gripper_joint, open_value=self.gripper_open_value,
                                   closed_value=self.gripper_closed_value),
            instruction=InstructionMapping(), arm=self.arm, image_size=self.image_size,
            max_sync_gap_s=self.max_sync_gap_s, use_header_stamps=self.use_header_stamps, min_steps=self.min_steps)


class RecorderNode(Node):
    def __init__(self, **node_kwargs):
        super().__init__(NODE_NAME, **node_kwargs)
        self.params = NodeParameters(self, RecorderConfig, on_change=self._on_params)
        config = self.params.config
        try:
            self.assembler = EpisodeAssembler(config.to_mapping(), source=f'{self.get_fully_qualified_name()}')
        except VideoPlannerError as exc:
            raise ConfigError(f"node '{NODE_NAME}': {exc}") from None
        self.saved: list[Path] = []
        self.bag = None
        if config.bag_path:
            from video_planner.ros.bag import BagWriter
            self.bag = BagWriter(config.bag_path)
        self._saved_pub = self.create_publisher(String, '~/episode_saved', LATCHED)
        sensor = qos_profile_sensor_data
        self._subscribe(Image, config.rgb_topic, sensor, self.assembler.on_rgb, stamped=True)
        self._subscribe(Image, config.depth_topic, sensor, self.assembler.on_depth, stamped=True)
        self._subscribe(CameraInfo, config.camera_info_topic, sensor, self.assembler.on_camera_info)
        self._subscribe(PoseStamped, config.camera_pose_topic, LATCHED, self.assembler.on_camera_pose)
        self._subscribe(PoseStamped, config.ee_pose_topic, sensor, self.assembler.on_pose, stamped=True)
        if config.joint_states_topic and (config.urdf or config.gripper_joint):
            self._subscribe(JointState, config.joint_states_topic, sensor, self.assembler.on_joint_state, stamped=True)
        self._instruction_topic = self._subscribe(String, '~/instruction', CONTROL_QOS,
                                                  lambda msg: self.start_episode(msg.data, from_topic=True))
        self._stop_topic = self._subscribe(Empty, '~/stop', CONTROL_QOS, lambda msg: self.stop_episode(from_topic=True))
        if config.instruction:
            self.start_episode(config.instruction)
        self.get_logger().info(f'recording {config.rgb_topic} into {config.output_dir}'
                               + (f' and {config.bag_path}' if config.bag_path else ''))

    def _subscribe(self, msg_type, topic: str, qos, handler, stamped: bool = False) -> str:
        """Subscribe ``handler``; every message also goes to the bag first. Returns the resolved topic."""
        if not topic:
            return ''
        subscription = None

        def callback(msg):
            now_ns = self.get_clock().now().nanoseconds
            if self.bag is not None:
                self.bag.write(subscription.topic_name, msg, now_ns)
            try:
                if stamped:
                    handler(msg, now_ns)
                else:
                    handler(msg)
            except VideoPlannerError as exc:
                self.get_logger().error(f'{subscription.topic_name}: {exc}', throttle_duration_sec=5.0)

        subscription = self.create_subscription(msg_type, topic, callback, qos)
        return subscription.topic_name

    def _mark_in_bag(self, topic: str, msg) -> None:
        """Episode boundaries that did not arrive as messages (parameter, shutdown) go into the bag
        as if they had, so importing the bag finds the same episodes."""
        if self.bag is not None:
            self.bag.write(topic, msg, self.get_clock().now().nanoseconds)

    def _on_params(self, config: RecorderConfig) -> None:
        self.assembler.mapping.max_sync_gap_s = config.max_sync_gap_s
        self.assembler.mapping.min_steps = config.min_steps
        if config.instruction:
            self.start_episode(config.instruction)

    # ------------------------------------------------------------------ episodes
    def start_episode(self, instruction: str, from_topic: bool = False) -> None:
        finished = self.assembler.start(instruction)  # raises on an empty instruction, before the bag sees it
        if not from_topic:
            self._mark_in_bag(self._instruction_topic, String(data=instruction))
        self._save(finished)
        self.get_logger().info(f'episode started: "{instruction.strip()}"')

    def stop_episode(self, from_topic: bool = False) -> Path | None:
        if not self.assembler.recording:
            self.get_logger().warning('~/stop received but no episode is being recorded')
            return None
        if not from_topic:
            self._mark_in_bag(self._stop_topic, Empty())
        steps = self.assembler.n_steps
        path = self._save(self.assembler.finish())
        if path is None:
            self.get_logger().warning(f'episode discarded: {steps} step(s), fewer than min_steps '
                                      f'({self.params.config.min_steps}); '
                                      f'{self.assembler.skipped_frames} frame(s) lacked a fresh pose/depth so far')
        return path

    def _save(self, episode) -> Path | None:
        if episode is None:
            return None
        config = self.params.config
        try:
            path = write_imported_episode(episode, config.output_dir, config.prefix,
                                          env={'recorder': self.get_fully_qualified_name()})
        except VideoPlannerError as exc:
            self.get_logger().error(f'episode "{episode.instruction}" not saved: {exc}')
            return None
        self.saved.append(path)
        self._saved_pub.publish(String(data=str(path)))
        self.get_logger().info(f'saved {len(episode)} steps of "{episode.instruction}" to {path}')
        return path

    def destroy_node(self):
        # Shutting down mid-episode keeps what was recorded; the bag gets its index and metadata.
        if self.assembler.recording:
            self.stop_episode()
        if self.bag is not None:
            self.bag.close()
            self.bag = None
        return super().destroy_node()


def main(args=None) -> int:
    return run_node(RecorderNode, args, threads=1)


if __name__ == '__main__':
    raise SystemExit(main())
