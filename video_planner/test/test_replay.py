"""replay_node: a plan bag is republished over DDS as an Image stream, a path and markers."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from ros_harness import spin_until
import rclpy
from nav_msgs.msg import Path
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile
from sensor_msgs.msg import Image
from visualization_msgs.msg import MarkerArray

from test_bag import make_envelope
from video_planner.errors import ConfigError
from video_planner.ros.bag import write_plan_bag
from video_planner.ros.conversions import image_to_rgb, path_to_poses
from video_planner.ros.replay_node import PlanReplayNode

LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)


class Viewer:
    """What RViz would subscribe to."""

    def __init__(self, context):
        self.node = rclpy.create_node('viewer', context=context)
        self.frames, self.stamps, self.paths, self.markers = [], [], [], []
        self.node.create_subscription(Image, 'video_plan/preview', self._on_frame, 50)
        self.node.create_subscription(Path, 'ee_path', self.paths.append, LATCHED)
        self.node.create_subscription(MarkerArray, 'ee_markers', self.markers.append, LATCHED)

    def _on_frame(self, msg):
        self.frames.append(image_to_rgb(msg))
        self.stamps.append(msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9)


def test_replay_node_publishes_every_frame_in_order_then_stops(ros_context, tmp_path):
    context, executor = ros_context
    plans = [make_envelope('a', k=4, seed=0), make_envelope('b', k=3, seed=1)]
    bag_path = write_plan_bag(tmp_path / 'plans', plans)
    viewer = Viewer(context)
    node = PlanReplayNode(context=context, parameter_overrides=[
        Parameter('bag_path', value=str(bag_path)), Parameter('rate_scale', value=4.0),
        Parameter('wait_for_subscriber_s', value=10.0)])
    executor.add_node(viewer.node)
    executor.add_node(node)
    t0 = time.monotonic()
    assert spin_until(executor, lambda: node.done and len(viewer.frames) == 9, 20.0), \
        f'got {len(viewer.frames)} of 9 frames'
    expected = np.concatenate([plans[0].plan.frames, plans[1].plan.frames])
    np.testing.assert_array_equal(np.stack(viewer.frames), expected)
    # 0.1 s frame period / rate_scale 4 = 25 ms between frames, restamped with the current time
    # (the timer keeps a fixed schedule, so one late tick shortens the next gap: look at the median).
    gaps = np.diff(viewer.stamps[:5])
    assert np.all(gaps > 0) and np.median(gaps) == pytest.approx(0.025, abs=0.01)
    assert time.monotonic() - t0 < 10.0
    assert spin_until(executor, lambda: len(viewer.paths) >= 1 and len(viewer.markers) >= 1, 5.0)
    np.testing.assert_allclose(path_to_poses(viewer.paths[-1]), plans[-1].plan.T_base_ee, atol=1e-12)
    assert viewer.paths[-1].header.frame_id == 'panda_link0'
    assert len(viewer.markers[-1].markers[1].points) == 4
    node.destroy_node()
    viewer.node.destroy_node()


def test_replay_node_rejects_a_missing_bag(ros_context, tmp_path):
    context, _ = ros_context
    with pytest.raises(ConfigError, match="'bag_path'.*not a rosbag2 folder"):
        PlanReplayNode(context=context, parameter_overrides=[Parameter('bag_path', value=str(tmp_path / 'x'))])
    with pytest.raises(ConfigError, match="'bag_path' is empty"):
        PlanReplayNode(context=context)
    bag_path = write_plan_bag(tmp_path / 'one', make_envelope())
    with pytest.raises(ConfigError, match="'plan_index'=3 but the bag holds 1"):
        PlanReplayNode(context=context, parameter_overrides=[Parameter('bag_path', value=str(bag_path)),
                                                             Parameter('plan_index', value=3)])


def test_replay_entry_point_loops_in_its_own_process(ros_context, tmp_path):
    context, executor = ros_context
    plan = make_envelope('loop', k=2, seed=3)
    bag_path = write_plan_bag(tmp_path / 'plans', plan)
    viewer = Viewer(context)
    executor.add_node(viewer.node)
    child = subprocess.Popen(
        [sys.executable, '-m', 'video_planner.ros.replay_node', '--ros-args', '-p', f'bag_path:={bag_path}',
         '-p', 'loop:=true', '-p', 'rate_scale:=5.0'],
        env=os.environ.copy(), start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        ok = spin_until(executor, lambda: len(viewer.frames) >= 7, 30.0)
    finally:
        os.killpg(child.pid, signal.SIGINT)
        output = child.communicate(timeout=15)[0].decode(errors='replace')
        viewer.node.destroy_node()
    assert ok, f'only {len(viewer.frames)} frames arrived; replay_node said:\n{output}'
    # Looping: the three frames come round again in the same order.
    first = next(i for i, f in enumerate(viewer.frames) if np.array_equal(f, plan.plan.frames[0]))
    for i in range(first, len(viewer.frames)):
        np.testing.assert_array_equal(viewer.frames[i], plan.plan.frames[(i - first) % 3])
    assert child.returncode == 0, output


def test_replay_function_for_the_cli_returns_after_the_last_frame(tmp_path):
    from video_planner.ros.replay_node import replay

    bag_path = write_plan_bag(tmp_path / 'plans', [make_envelope('a', k=3, seed=0), make_envelope('b', k=2, seed=1)])
    t0 = time.monotonic()
    assert replay(bag_path, rate_scale=10.0) == 4 + 3
    assert replay(bag_path, rate_scale=10.0, plan_index=1) == 3
    from video_planner.cli import main as cli_main
    assert cli_main(['replay', str(bag_path), '--rate', '10', '--wait-for-subscriber', '0']) == 0
    assert time.monotonic() - t0 < 10.0
