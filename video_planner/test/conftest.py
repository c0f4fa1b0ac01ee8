"""Shared test set-up: keep DDS traffic on this machine and off other test runs."""
import os
import random

# Set before rclpy is imported anywhere, so every node in this run (and every child process, which
# inherits the environment) uses one private domain on the loopback interface only.
os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ.setdefault('ROS_DOMAIN_ID', str(random.Random(os.getpid()).randint(1, 101)))
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
os.environ.setdefault('OMP_NUM_THREADS', '2')


import pytest  # noqa: E402  (after the environment above is set)


@pytest.fixture
def ros_context():
    """A private rclpy context and a single-threaded executor for in-process node tests."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    context = rclpy.Context()
    rclpy.init(context=context)
    executor = SingleThreadedExecutor(context=context)
    yield context, executor
    executor.shutdown()
    rclpy.shutdown(context=context)


@pytest.fixture(scope='module', autouse=True)
def no_node_outlives_its_module():
    """A node process left running publishes into the next module's tests (CI once saw a stray camera
    break the recorder's episode), so each module must stop what it started; leftovers fail it."""
    yield
    from video_planner.ros.process import running_nodes

    leftovers = running_nodes()
    for proc in leftovers:
        proc.stop()
    if leftovers:
        pytest.fail(f'node processes still running after the module: {[proc.name for proc in leftovers]}')
