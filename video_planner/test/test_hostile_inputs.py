"""Issue 21, the fast subset of benchmarks/bench_fuzz.py: hostile goals and sensor messages against the real
nodes. Each is answered with its reason, nothing crashes, and the next good goal still plans."""
import time

import pytest
from action_msgs.msg import GoalStatus
from builtin_interfaces.msg import Time
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Float64

from ros_harness import Client, connected_client, start_pipeline, tiny_checkpoint, wait_future, wait_until

NS = 'hostile'
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope='module')
def stack(tmp_path_factory):
    procs = start_pipeline(tmp_path_factory.mktemp('hostile_logs'), tiny_checkpoint(), NS, seed=3)
    client = connected_client('hostile_client', namespace=NS)
    client.wait_for_server()
    yield {'procs': procs, 'client': client}
    client.close()
    for proc in procs.values():
        proc.stop()


def plans(client: Client) -> None:
    status, result = client.plan('reach the red cube', timeout_s=90.0, sampling_steps=1)
    assert status == GoalStatus.STATUS_SUCCEEDED and result.success, result.message


@pytest.mark.parametrize('fields, reason', [
    ({'num_candidates': 255}, 'goal.num_candidates=255 is over the bound max_candidates=8'),
    ({'sampling_steps': 255}, 'goal.sampling_steps=255 is over the bound max_sampling_steps=64'),
    ({'seed': -7}, 'goal.seed=-7 is invalid'),
    ({'instruction': 'push\u202e the cube'}, 'control characters'),
    ({'instruction': ' \t '}, 'goal.instruction is empty'),
])
def test_a_bad_goal_is_aborted_at_once_with_its_reason(stack, fields, reason):
    fields = {'instruction': 'push the red cube', **fields}
    started = time.monotonic()
    status, result = stack['client'].plan(fields.pop('instruction'), timeout_s=60.0, **fields)
    assert status == GoalStatus.STATUS_ABORTED and reason in result.message, result.message
    assert result.plan_time_s < 1.0, f'refusing took {result.plan_time_s:.2f} s'  # no sampling was started
    assert time.monotonic() - started < 30.0


def test_one_frame_stamped_in_the_future_does_not_block_the_real_stream(stack):
    client, planner = stack['client'], stack['procs']['planner']
    pub = client.publisher(Image, 'camera/image_raw')
    real = client.record(Image, 'camera/image_raw', qos_profile_sensor_data)
    wait_until(lambda: len(real) > 0, 10.0, 'a camera frame')
    future = client.node.get_clock().now().nanoseconds + 4_000_000_000  # 4 s ahead, as in the issue
    msg = real[-1]
    msg.header.stamp = Time(sec=future // 10**9, nanosec=future % 10**9)
    wait_until(lambda: pub.get_subscription_count() > 0, 10.0, 'the planner to subscribe')

    def refused() -> bool:  # best effort, and our own recorder counts as a subscriber: publish until one arrives
        pub.publish(msg)
        return 'in the future' in planner.log()
    wait_until(refused, 10.0, 'the future frame to be refused', period_s=0.2)
    started = time.monotonic()
    plans(client)  # before the fix: real frames dropped as out of order for 4 s, and the goal aborted
    assert 'out of order' not in planner.log()
    assert time.monotonic() - started < 60.0


def test_a_nan_gripper_command_is_refused_by_name_and_the_next_goal_plans(stack):
    client, planner = stack['client'], stack['procs']['planner']
    pub = client.publisher(Float64, 'gripper_command')
    wait_until(lambda: pub.get_subscription_count() > 0, 10.0, 'a gripper_command subscriber')

    def refused() -> bool:  # the simulated robot subscribes too: a count > 0 does not say the planner matched us
        pub.publish(Float64(data=float('nan')))
        return 'gripper command nan is not finite' in planner.log()
    wait_until(refused, 10.0, 'the NaN command refused', period_s=0.2)
    plans(client)


def test_an_image_with_more_data_than_step_times_height_is_refused(stack):
    client, planner = stack['client'], stack['procs']['planner']
    pub = client.publisher(Image, 'camera/image_raw')
    stamp = client.node.get_clock().now().to_msg()
    msg = Image(encoding='rgb8', width=64, height=64, step=192, data=bytes(192 * 64 + 192))
    msg.header.stamp, msg.header.frame_id = stamp, 'camera_optical_frame'
    wait_until(lambda: pub.get_subscription_count() > 0, 10.0, 'the planner to subscribe')

    def refused() -> bool:  # the camera subscription is best effort: publish until one arrives
        pub.publish(msg)
        return 'Image.data holds 12480 bytes, expected step*height=192*64=12288' in planner.log()
    wait_until(refused, 10.0, 'the long image to be refused', period_s=0.2)
    plans(client)


def test_a_goal_over_its_time_budget_is_aborted_with_the_reason(stack):
    client = stack['client']
    params = AsyncParameterClient(client.node, f'/{NS}/planner_node')
    assert params.wait_for_services(10.0)

    def budget(seconds: float) -> None:
        result = wait_future(params.set_parameters([Parameter('goal_time_budget_s', value=seconds)]), 10.0, 'set')
        assert result.results[0].successful, result.results[0].reason

    budget(1.0)
    try:
        status, result = client.plan('lift the blue can', timeout_s=60.0, num_candidates=8, sampling_steps=64)
    finally:
        budget(120.0)
    assert status == GoalStatus.STATUS_ABORTED
    assert result.message.startswith('goal ran over goal_time_budget_s=1 s'), result.message
    assert result.plan_time_s < 3.0, f'the goal held the node {result.plan_time_s:.1f} s'
    plans(client)


def test_zz_a_goal_after_the_camera_stopped_is_refused_naming_the_frame_age(stack):
    # Last in this module: it stops the simulated camera.
    client = stack['client']
    plans(client)
    # The default bound (5 camera periods, at least 1 s) stretches when a loaded machine delivers frames
    # unevenly; a fixed bound keeps this test about the refusal, not about the machine's load.
    params = AsyncParameterClient(client.node, f'/{NS}/planner_node')
    assert params.wait_for_services(10.0)
    result = wait_future(params.set_parameters([Parameter('max_frame_staleness_s', value=1.0)]), 10.0, 'set')
    assert result.results[0].successful, result.results[0].reason
    stack['procs']['sim'].stop()
    # The issue: 1.4 s after the camera died a goal still executed on the last frame. 2.5 s leaves 1.5 s for
    # the last frame's own delivery on a busy machine.
    time.sleep(2.5)
    status, result = client.plan('reach the red cube', timeout_s=60.0, sampling_steps=1)
    assert status == GoalStatus.STATUS_ABORTED, result.message
    assert 'the latest camera frame arrived' in result.message and 's ago' in result.message, result.message
