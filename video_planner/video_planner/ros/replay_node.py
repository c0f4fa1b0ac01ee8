"""replay_node: republish the plans stored in a rosbag2 file so RViz shows them again.

For each plan in the bag it publishes the VideoPlan message, the end-effector path and its markers
(transient-local, so a late RViz still gets them), then the generated frames as an Image stream at the
plan's frame rate (times ``rate_scale``), restamped with the current time. With ``loop`` it starts
over after the last plan; otherwise it stops, and :func:`replay` returns.

    ros2 run video_planner replay_node --ros-args -p bag_path:=plans.bag -p loop:=true
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import rclpy
from nav_msgs.msg import Path as PathMsg
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile
from sensor_msgs.msg import Image
from video_planner_interfaces.msg import VideoPlan
from visualization_msgs.msg import MarkerArray

from video_planner.errors import ConfigError
from video_planner.ros.bag import read_plan_bag
from video_planner.ros.conversions import path_markers, poses_to_path, rgb_to_image, video_plan_to_msg
from video_planner.ros.params import NodeParameters, param
from video_planner.ros.spin import run_node

NODE_NAME = 'replay_node'


@dataclass
class ReplayConfig:
    bag_path: str = param('', 'rosbag2 folder written by write_plan_bag (video-planner plan --bag)', read_only=True)
    plan_index: int = param(-1, 'replay only this plan of the bag (0-based); -1 replays all in order', low=-1,
                            read_only=True)
    loop: bool = param(False, 'start over after the last plan instead of stopping')
    rate_scale: float = param(1.0, 'playback speed: 2.0 plays the frames twice as fast', low=0.01, high=100.0)
    wait_for_subscriber_s: float = param(
        0.0, 'hold the first frame until something subscribes to the frames topic, at most this long',
        low=0.0, high=3600.0)
    # Defaults: the topics config/plan.rviz displays; the VideoPlan itself goes to a replay-only topic so
    # a running planner never mistakes a replayed plan for a live one.
    frames_topic: str = param('video_plan/preview', 'sensor_msgs/Image stream of the plan frames', read_only=True)
    path_topic: str = param('ee_path', 'nav_msgs/Path of the end-effector poses', read_only=True)
    markers_topic: str = param('ee_markers', 'visualization_msgs/MarkerArray of the path', read_only=True)
    plan_topic: str = param('replay/video_plan', 'the whole video_planner_interfaces/VideoPlan', read_only=True)
    bag_plan_topic: str = param('', "topic of the VideoPlans in the bag ('' = /video_plan or the only one)",
                                read_only=True)

    def validate(self):
        if not self.bag_path:
            raise ConfigError("parameter 'bag_path' is empty: give the rosbag2 folder holding the plans")
        if not (Path(self.bag_path) / 'metadata.yaml').is_file():
            raise ConfigError(f"parameter 'bag_path': {self.bag_path} is not a rosbag2 folder (no metadata.yaml)")


class PlanReplayNode(Node):
    def __init__(self, **node_kwargs):
        super().__init__(NODE_NAME, **node_kwargs)
        self.params = NodeParameters(self, ReplayConfig)
        config = self.params.config
        envelopes = read_plan_bag(config.bag_path, config.bag_plan_topic or None)
        if config.plan_index >= len(envelopes):
            raise ConfigError(f"parameter 'plan_index'={config.plan_index} but the bag holds "
                              f'{len(envelopes)} plan(s)')
        self.envelopes = envelopes if config.plan_index < 0 else [envelopes[config.plan_index]]
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.frames_pub = self.create_publisher(Image, config.frames_topic, 10)
        self.path_pub = self.create_publisher(PathMsg, config.path_topic, latched)
        self.markers_pub = self.create_publisher(MarkerArray, config.markers_topic, latched)
        self.plan_pub = self.create_publisher(VideoPlan, config.plan_topic, latched)
        self.done = False
        self.frames_published = 0
        self._plan_i = 0
        self._frame_i = 0
        self._timer = None
        self._wait_deadline = self.get_clock().now().nanoseconds + int(config.wait_for_subscriber_s * 1e9)
        self._start_plan()
        self.get_logger().info(f'replaying {len(self.envelopes)} plan(s) from {config.bag_path}')

    def _start_plan(self) -> None:
        envelope = self.envelopes[self._plan_i]
        plan = envelope.plan
        stamp = self.get_clock().now()
        period_s = float(plan.frame_period_s) / self.params.config.rate_scale
        self.plan_pub.publish(video_plan_to_msg(envelope))
        self.path_pub.publish(poses_to_path(plan.T_base_ee, stamp, envelope.base_frame_id, period_s))
        self.markers_pub.publish(path_markers(plan.T_base_ee, plan.gripper, stamp, envelope.base_frame_id))
        self._frame_i = 0
        if self._timer is not None:
            self.destroy_timer(self._timer)
        self._timer = self.create_timer(max(period_s, 1e-3), self._publish_frame)

    def _waiting_for_subscriber(self) -> bool:
        return (self.frames_published == 0 and self.frames_pub.get_subscription_count() == 0
                and self.get_clock().now().nanoseconds < self._wait_deadline)

    def _publish_frame(self) -> None:
        if self._waiting_for_subscriber():
            return
        envelope = self.envelopes[self._plan_i]
        frames = envelope.plan.frames
        self.frames_pub.publish(rgb_to_image(frames[self._frame_i], self.get_clock().now(),
                                             envelope.camera_frame_id))
        self.frames_published += 1
        self._frame_i += 1
        if self._frame_i < len(frames):
            return
        self._plan_i += 1
        if self._plan_i == len(self.envelopes):
            if not self.params.config.loop:
                self.destroy_timer(self._timer)
                self._timer = None
                self.done = True
                self.get_logger().info(f'replay finished: {self.frames_published} frames')
                return
            self._plan_i = 0
        self._start_plan()


def replay(bag_path: str | Path, loop: bool = False, rate_scale: float = 1.0, plan_index: int = -1,
           wait_for_subscriber_s: float = 0.0, bag_plan_topic: str = '') -> int:
    """Replay a plan bag until done (or Ctrl-C); for ``video-planner replay``. Returns frames published."""
    from rclpy.parameter import Parameter

    context = rclpy.Context()
    rclpy.init(context=context)
    executor = SingleThreadedExecutor(context=context)
    node = None
    try:
        node = PlanReplayNode(context=context, parameter_overrides=[
            Parameter('bag_path', value=str(bag_path)), Parameter('loop', value=bool(loop)),
            Parameter('rate_scale', value=float(rate_scale)), Parameter('plan_index', value=int(plan_index)),
            Parameter('wait_for_subscriber_s', value=float(wait_for_subscriber_s)),
            Parameter('bag_plan_topic', value=str(bag_plan_topic))])
        executor.add_node(node)
        while context.ok() and not node.done:
            executor.spin_once(timeout_sec=0.1)
        return node.frames_published
    except KeyboardInterrupt:
        return node.frames_published if node is not None else 0
    finally:
        executor.shutdown()
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown(context=context)


def add_arguments(parser) -> None:
    """``video-planner replay BAG``: the same as the node's parameters."""
    parser.add_argument('bag', type=Path, help='rosbag2 folder holding VideoPlan messages (plan or demo bag)')
    parser.add_argument('--loop', action='store_true', help='start over after the last plan (Ctrl-C stops)')
    parser.add_argument('--rate', type=float, default=1.0, help='playback speed multiplier')
    parser.add_argument('--plan-index', type=int, default=-1, help='replay only this plan (0-based)')
    parser.add_argument('--topic', default='', help="the bag's VideoPlan topic (default: /video_plan)")
    parser.add_argument('--wait-for-subscriber', type=float, default=5.0,
                        help='seconds to wait for a viewer (RViz) before the first frame')


def run(args) -> int:
    frames = replay(args.bag, loop=args.loop, rate_scale=args.rate, plan_index=args.plan_index,
                    wait_for_subscriber_s=args.wait_for_subscriber, bag_plan_topic=args.topic)
    print(f'replayed {frames} frame(s) from {args.bag}')
    return 0


def main(args=None) -> int:
    return run_node(PlanReplayNode, args, threads=1, until=lambda node: node.done)


if __name__ == '__main__':
    raise SystemExit(main())
