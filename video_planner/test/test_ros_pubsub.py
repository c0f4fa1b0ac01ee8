"""Real rclpy nodes exchanging converted messages over DDS: in one process, and across processes.

Also the parameter layer: a node's parameters declared from a dataclass, changed over the parameter
services by a second node, and the same dataclass loaded from a YAML file without rclpy.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import dataclass

import numpy as np
import pytest
from ros_harness import spin_until
import rclpy
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image
from nav_msgs.msg import Path

from video_planner.errors import ConfigError
from video_planner.ros import conversions as conv
from video_planner.ros.params import NodeParameters, load_yaml_config, param


def test_image_and_path_between_two_nodes_in_one_process(ros_context):
    context, executor = ros_context
    talker = rclpy.create_node('conv_talker', context=context)
    listener = rclpy.create_node('conv_listener', context=context)
    received = {'image': [], 'path': []}
    listener.create_subscription(Image, 'camera/image', lambda m: received['image'].append(m), 10)
    listener.create_subscription(Path, 'plan/path', lambda m: received['path'].append(m), 10)
    image_pub = talker.create_publisher(Image, 'camera/image', 10)
    path_pub = talker.create_publisher(Path, 'plan/path', 10)
    executor.add_node(talker)
    executor.add_node(listener)

    rgb = np.random.default_rng(1).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    poses = np.tile(np.eye(4), (3, 1, 1))
    poses[:, 0, 3] = [0.1, 0.2, 0.3]
    assert spin_until(executor, lambda: image_pub.get_subscription_count() > 0
                      and path_pub.get_subscription_count() > 0, 10.0), 'no discovery within 10 s'

    def publish_and_wait():
        image_pub.publish(conv.rgb_to_image(rgb, talker.get_clock().now(), 'cam'))
        path_pub.publish(conv.poses_to_path(poses, frame_id='base_link'))
        return spin_until(executor, lambda: received['image'] and received['path'], 1.0)

    assert any(publish_and_wait() for _ in range(10)), 'nothing arrived'
    np.testing.assert_array_equal(conv.image_to_rgb(received['image'][0]), rgb)
    assert received['image'][0].header.frame_id == 'cam'
    np.testing.assert_allclose(conv.path_to_poses(received['path'][0]), poses)
    talker.destroy_node()
    listener.destroy_node()


CHILD_PUBLISHER = textwrap.dedent('''
    import sys, time
    import numpy as np
    import rclpy
    from sensor_msgs.msg import Image
    from video_planner.ros import conversions as conv

    rclpy.init()
    node = rclpy.create_node('child_camera')
    rgb_pub = node.create_publisher(Image, 'child/rgb', 10)
    depth_pub = node.create_publisher(Image, 'child/depth', 10)
    seq = 0
    try:
        while rclpy.ok():
            # Frame content encodes its sequence number, so the receiver can check it decoded right.
            rgb = np.full((30, 40, 3), seq % 256, np.uint8)
            rgb[:, :, 1] = np.arange(40, dtype=np.uint8)[None, :]
            rgb[:, :, 2] = np.arange(30, dtype=np.uint8)[:, None]
            stamp = node.get_clock().now()
            # bgr8 with row padding, like many camera drivers
            bgr = np.zeros((30, 48 * 3), np.uint8)
            bgr[:, :120] = rgb[:, :, ::-1].reshape(30, 120)
            msg = Image(height=30, width=40, encoding='bgr8', step=48 * 3, data=bgr.tobytes())
            msg.header = conv.make_header(stamp, 'child_cam')
            rgb_pub.publish(msg)
            depth = np.full((30, 40), 0.5 + 0.001 * seq, np.float32)
            depth_pub.publish(conv.depth_to_image(depth, stamp, 'child_cam', encoding='16UC1'))
            seq += 1
            time.sleep(0.05)
    except KeyboardInterrupt:
        pass
    except Exception:
        # rclpy's SIGINT handler shuts the context down: a publish racing it fails with "context is invalid".
        if rclpy.ok():
            raise
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
''')


def test_images_from_a_child_process_decode(ros_context, tmp_path):
    context, executor = ros_context
    script = tmp_path / 'child_camera.py'
    script.write_text(CHILD_PUBLISHER)
    child = subprocess.Popen([sys.executable, str(script)], env=os.environ.copy(), start_new_session=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    node = rclpy.create_node('parent_listener', context=context)
    rgbs, depths = [], []
    node.create_subscription(Image, 'child/rgb', lambda m: rgbs.append(conv.image_to_rgb(m)), 10)
    node.create_subscription(Image, 'child/depth', lambda m: depths.append(conv.image_to_depth_m(m)), 10)
    executor.add_node(node)
    try:
        ok = spin_until(executor, lambda: len(rgbs) >= 3 and len(depths) >= 3, 30.0)
    finally:
        os.killpg(child.pid, signal.SIGINT)
        output = child.communicate(timeout=15)[0].decode(errors='replace')
        node.destroy_node()
    assert ok, f'no images from the child process; its output:\n{output}'
    for rgb in rgbs:
        assert rgb.shape == (30, 40, 3)
        assert (rgb[:, :, 0] == rgb[0, 0, 0]).all()
        np.testing.assert_array_equal(rgb[0, :, 1], np.arange(40))
        np.testing.assert_array_equal(rgb[:, 0, 2], np.arange(30))
    for depth in depths:
        assert depth.dtype == np.float32 and 0.5 <= depth[0, 0] < 0.8
        assert np.allclose(depth, depth[0, 0])
    assert child.returncode in (0, -signal.SIGINT), output


@dataclass
class DemoConfig:
    rate_hz: float = param(10.0, 'publish rate', low=0.5, high=100.0)
    topic: str = param('image', 'topic name', read_only=True)
    mode: str = param('rgb', 'what to publish', choices=('rgb', 'depth'))
    max_frames: int = param(16, 'frames per burst', low=1)

    def validate(self):
        if self.mode == 'depth' and self.rate_hz > 30.0:
            raise ConfigError(f"parameter 'rate_hz' must be <= 30 in depth mode, got {self.rate_hz}")


def test_parameters_declared_validated_and_guarded_over_the_services(ros_context):
    context, executor = ros_context
    node = rclpy.create_node('param_node', context=context,
                             parameter_overrides=[Parameter('rate_hz', value=20.0)])
    changes = []
    params = NodeParameters(node, DemoConfig, on_change=changes.append)
    assert params.config == DemoConfig(rate_hz=20.0)
    descriptor = node.describe_parameter('rate_hz')
    assert descriptor.floating_point_range[0].to_value == 100.0 and 'publish rate' in descriptor.description
    assert node.describe_parameter('topic').read_only

    from rclpy.parameter_client import AsyncParameterClient

    operator = rclpy.create_node('param_operator', context=context)
    client = AsyncParameterClient(operator, 'param_node')
    executor.add_node(node)
    executor.add_node(operator)
    assert spin_until(executor, lambda: client.services_are_ready(), 10.0)

    def set_remote(*parameters):
        future = client.set_parameters_atomically(list(parameters))
        assert spin_until(executor, future.done, 10.0)
        return [future.result().result]

    bad_choice, = set_remote(Parameter('mode', value='ir'))
    assert not bad_choice.successful and "'mode' must be one of rgb, depth" in bad_choice.reason
    cross, = set_remote(Parameter('mode', value='depth'), Parameter('rate_hz', value=50.0))
    assert not cross.successful and 'depth mode' in cross.reason
    good, = set_remote(Parameter('mode', value='depth'), Parameter('rate_hz', value=25.0))
    assert good.successful
    assert params.config.mode == 'depth' and params.config.rate_hz == 25.0 and changes[-1] == params.config
    read_only, = set_remote(Parameter('topic', value='other'))
    assert not read_only.successful and params.config.topic == 'image'
    operator.destroy_node()
    node.destroy_node()

    broken = rclpy.create_node('param_node_bad', context=context,
                               parameter_overrides=[Parameter('mode', value='depth'), Parameter('rate_hz', value=60.0)])
    with pytest.raises(ConfigError, match="param_node_bad.*rate_hz"):
        NodeParameters(broken, DemoConfig)
    broken.destroy_node()


def test_yaml_parameter_file_loads_into_the_same_dataclass(tmp_path):
    good = tmp_path / 'demo.yaml'
    good.write_text('demo_node:\n  ros__parameters:\n    rate_hz: 5\n    mode: depth\n')
    assert load_yaml_config(good, DemoConfig) == DemoConfig(rate_hz=5.0, mode='depth')
    bad = tmp_path / 'bad.yaml'
    bad.write_text('demo_node:\n  ros__parameters:\n    rate_hz: 500.0\n')
    with pytest.raises(ConfigError, match="bad.yaml.*'rate_hz' must be <= 100"):
        load_yaml_config(bad, DemoConfig)
    typo = tmp_path / 'typo.yaml'
    typo.write_text('demo_node:\n  ros__parameters:\n    rate: 5.0\n')
    with pytest.raises(ConfigError, match='unknown parameter.*rate'):
        load_yaml_config(typo, DemoConfig)
    wrong_type = tmp_path / 'type.yaml'
    wrong_type.write_text('demo_node:\n  ros__parameters:\n    max_frames: "many"\n')
    with pytest.raises(ConfigError, match="'max_frames': expected int"):
        load_yaml_config(wrong_type, DemoConfig)
    with pytest.raises(ConfigError, match='no .other_node'):
        load_yaml_config(good, DemoConfig, node_name='other_node')
