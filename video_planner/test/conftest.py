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
