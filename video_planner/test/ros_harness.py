"""What the ROS tests share: a tiny trained video model, node processes, and an in-process client node.

The client plays the user's part: it sends goals through a real ActionClient, listens on the real
topics (DDS on the loopback interface, a private ROS_DOMAIN_ID per run, see conftest.py), and
publishes what a camera or a misbehaving driver would.
"""
from __future__ import annotations

import functools
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import rclpy
from rclpy.action import ActionClient
from rclpy.executors import MultiThreadedExecutor
from rclpy.qos import QoSProfile
from video_planner_interfaces.action import PlanVideo

from video_planner.ros.process import NodeProcess, start_node

ARM = 'panda'
IMAGE_SIZE = 64
READY = 'ready:'

# Gates wide open: the tiny model's videos are noise, and these tests are about the plumbing.
OPEN_GATES = {'min_confidence': 0.0, 'max_step_m': 10.0, 'workspace_min': [-10.0, -10.0, -10.0],
              'workspace_max': [10.0, 10.0, 10.0]}


@functools.lru_cache(maxsize=None)
def tiny_checkpoint() -> Path:
    """One tiny trained checkpoint per test process, shared by every test module."""
    return train_tiny_checkpoint(Path(tempfile.mkdtemp(prefix='video_planner_tiny_model_')))


def train_tiny_checkpoint(out_dir: Path, steps: int = 3, target_hint: bool = False, view: str = 'camera') -> Path:
    """The model engineer's Trainer on the tiny config (with the target hint input if asked), a few steps on
    random clips -> model.pt."""
    import dataclasses

    import torch

    from video_planner.model.config import load_model_config
    from video_planner.model.trainer import TrainConfig, Trainer
    from video_planner.model.video_model import VideoModel

    torch.set_num_threads(1)
    config = dataclasses.replace(load_model_config('tiny'), target_hint=target_hint, view=view)
    torch.manual_seed(0)   # the same weights in every test process, so a test can expect one outcome
    model = VideoModel(config)
    rng = torch.Generator().manual_seed(0)
    s, k = config.image_size, config.horizon
    clips = [{'frame0': torch.rand(3, s, s, generator=rng) * 2 - 1,
              'future': torch.rand(k, 3, s, s, generator=rng) * 2 - 1,
              'text_emb': torch.nn.functional.normalize(torch.randn(config.text_dim, generator=rng), dim=0),
              'hint': (torch.rand(1, s, s, generator=rng) > 0.9).float()}
             for _ in range(4)]
    trainer = Trainer(model, model.loss, clips, TrainConfig(batch_size=2, steps=steps, warmup_steps=0,
                                                            checkpoint_every=0, log_every=1),
                      out_dir, model_config=config.to_dict(), kind='video', progress=False)
    trainer.fit()
    return Path(out_dir) / 'model.pt'


@functools.lru_cache(maxsize=None)
def tiny_hint_checkpoint() -> Path:
    """A tiny video model that reads a target hint (one per test process)."""
    return train_tiny_checkpoint(Path(tempfile.mkdtemp(prefix='video_planner_tiny_hint_')), target_hint=True)


@functools.lru_cache(maxsize=None)
def tiny_canonical_checkpoint() -> Path:
    """A tiny video model that plans in the canonical view (one per test process)."""
    return train_tiny_checkpoint(Path(tempfile.mkdtemp(prefix='video_planner_tiny_canonical_')), view='canonical')


@functools.lru_cache(maxsize=None)
def tiny_grounding_checkpoint() -> Path:
    """A tiny grounding network, a few Trainer steps on random frames -> model.pt (one per test process)."""
    import torch

    from video_planner.grounding.config import TINY
    from video_planner.grounding.grounder import KIND
    from video_planner.grounding.network import GroundingLoss, GroundingNetwork
    from video_planner.model.trainer import TrainConfig, Trainer

    torch.set_num_threads(1)
    network = GroundingNetwork(TINY)
    rng = torch.Generator().manual_seed(0)
    s = TINY.image_size
    examples = [{'image': torch.rand(3, s, s, generator=rng) * 2 - 1,
                 'text': torch.nn.functional.normalize(torch.randn(TINY.text_dim, generator=rng), dim=0),
                 'mask': (torch.rand(s, s, generator=rng) > 0.9).float()} for _ in range(4)]
    out_dir = Path(tempfile.mkdtemp(prefix='video_planner_tiny_grounding_'))
    Trainer(network, GroundingLoss(network), examples, TrainConfig(batch_size=2, steps=3, warmup_steps=0,
                                                                   checkpoint_every=0, log_every=1),
            out_dir, model_config=TINY.to_dict(), kind=KIND, progress=False).fit()
    return out_dir / 'model.pt'


def pipeline_params(checkpoint: Path, **overrides) -> dict[str, Any]:
    """Parameters for planner_node / inverse_dynamics_node against the simulated Panda."""
    params = {'arm': ARM, 'checkpoint': str(checkpoint), 'sampling_steps': 2, 'num_candidates': 1,
              'frame_period_s': 0.2, **OPEN_GATES}
    params.update(overrides)
    return params


def start(node: str, log_dir: Path, params: dict[str, Any], timeout_s: float = 60.0,
          namespace: str = '') -> NodeProcess:
    """Start a node process and wait for its 'ready' line (fails the test with its log if it dies)."""
    proc = start_node(node, params, log_dir=log_dir, namespace=namespace)
    if not proc.wait_for_log(READY, timeout_s):
        log = proc.log()
        proc.stop()
        raise AssertionError(f'{node} did not become ready in {timeout_s} s; its log:\n{log[-4000:]}')
    return proc


def start_pipeline(logs: Path, checkpoint: Path, namespace: str, seed: int = 7) -> dict[str, NodeProcess]:
    """sim_robot_node (reach task, 10 Hz) + inverse_dynamics_node + planner_node, gates open, in ``namespace``."""
    return {
        'sim': start('sim_robot_node', logs, {'task': 'reach', 'seed': seed, 'rate_hz': 10.0}, namespace=namespace),
        'id': start('inverse_dynamics_node', logs, pipeline_params(checkpoint), namespace=namespace),
        'planner': start('planner_node', logs, pipeline_params(checkpoint, result_timeout_s=15.0),
                         namespace=namespace),
    }


class Client:
    """An rclpy node on its own context and executor thread, with helpers to act like a user."""

    def __init__(self, name: str = 'test_client', namespace: str = '', threads: int = 2):
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, namespace=namespace, context=self.context)
        self.executor = MultiThreadedExecutor(num_threads=threads, context=self.context)
        self.executor.add_node(self.node)
        self.spin_errors: list[str] = []   # what the spin thread survived; shown when a wait fails
        self._closing = threading.Event()
        self._camera_heard_at = float('-inf')
        self._camera_watch = None
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()
        self.action = ActionClient(self.node, PlanVideo, 'plan_video')

    def _spin(self) -> None:
        """executor.spin, except that an exception in one wake-up does not end it. The tests create
        subscriptions from the main thread while this one waits on the node's entities; when rclpy raised
        there, executor.spin ended silently and the client heard nothing more (CI: a probe had just heard
        the camera, then every new subscription of the test waited in vain)."""
        while not self._closing.is_set() and self.context.ok():
            try:
                self.executor.spin_once(timeout_sec=0.1)
            except Exception as error:   # noqa: BLE001 - kept and reported, the thread must go on
                if self._closing.is_set() or not self.context.ok():
                    return
                self.spin_errors.append(f'{type(error).__name__}: {error}')

    def spinning(self) -> bool:
        return self._thread.is_alive()

    def camera_heard_since(self, since: float) -> bool:
        """Whether a camera/image_raw frame has arrived after monotonic time ``since``. One watcher per
        client, created on first use and kept: creating and destroying probes is what the spin thread choked
        on."""
        if self._camera_watch is None:
            from rclpy.qos import qos_profile_sensor_data
            from sensor_msgs.msg import Image
            self._camera_watch = self.node.create_subscription(
                Image, 'camera/image_raw', self._on_camera, qos_profile_sensor_data)
        return self._camera_heard_at > since

    def _on_camera(self, _msg) -> None:
        self._camera_heard_at = time.monotonic()

    def record(self, msg_type, topic: str, qos: QoSProfile | int = 10) -> list:
        """Every message on ``topic`` from now on, appended to the returned list."""
        received: list = []
        self.node.create_subscription(msg_type, topic, received.append, qos)
        return received

    def publisher(self, msg_type, topic: str, qos: QoSProfile | int = 10):
        return self.node.create_publisher(msg_type, topic, qos)

    def wait_for_server(self, timeout_s: float = 30.0) -> None:
        assert self.action.wait_for_server(timeout_sec=timeout_s), 'plan_video action server not found'

    def send_goal(self, instruction: str, timeout_s: float = 60.0, feedback: Optional[list] = None,
                  **fields):
        """Send a goal; returns the goal handle (None if rejected). Feedback goes to ``feedback``."""
        goal = PlanVideo.Goal(instruction=instruction, **fields)
        callback = (lambda msg: feedback.append(msg.feedback)) if feedback is not None else None
        future = self.action.send_goal_async(goal, feedback_callback=callback)
        handle = wait_future(future, timeout_s, 'goal response')
        return handle if handle.accepted else None

    def send_goal_until_answered(self, instruction: str, timeout_s: float = 90.0, resend_s: float = 15.0,
                                 **fields):
        """Send a goal to a server that was just restarted, resending until one copy is answered. The graph
        keeps a killed server's endpoints until their lease runs out, so wait_for_server returns at once and a
        goal sent before the new server's endpoints are matched is lost with no error."""
        deadline = time.monotonic() + timeout_s
        goal = PlanVideo.Goal(instruction=instruction, **fields)
        while True:
            future = self.action.send_goal_async(goal)
            try:
                handle = wait_future(future, min(resend_s, max(deadline - time.monotonic(), 0.0)), 'goal response')
            except AssertionError:
                if time.monotonic() >= deadline:
                    raise AssertionError(f'no goal response within {timeout_s} s of resending every {resend_s} s')
                continue
            return handle if handle.accepted else None

    def result(self, handle, timeout_s: float = 60.0):
        """(status, PlanVideo.Result) of an accepted goal."""
        response = wait_future(handle.get_result_async(), timeout_s, 'goal result')
        return response.status, response.result

    def plan(self, instruction: str, timeout_s: float = 60.0, **fields):
        handle = self.send_goal(instruction, timeout_s, **fields)
        assert handle is not None, f'goal {instruction!r} was rejected'
        return self.result(handle, timeout_s)

    def close(self) -> None:
        self._closing.set()
        self.executor.shutdown()
        # The spin thread must be out of its last spin_once before the node's handles go: otherwise it can
        # trigger a guard condition that is being destroyed (InvalidHandle in the thread).
        self._thread.join(timeout=5.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def hears_camera(client: 'Client', timeout_s: float) -> bool:
    """Whether ``client`` receives a frame on ``camera/image_raw`` (in its namespace) within ``timeout_s``."""
    start = time.monotonic()
    while not client.camera_heard_since(start):
        if time.monotonic() - start > timeout_s:
            return False
        time.sleep(0.05)
    return True


def connected_client(name: str, namespace: str = '', tries: int = 3, timeout_s: float = 20.0) -> 'Client':
    """A Client that has received a frame from the sim_robot_node already running in ``namespace``. CI under
    load has twice had a client whose DDS participant matched nothing (it saw the action server, but no
    frame, goal response or parameter reply ever reached it, and every test of the module failed); such a
    client is replaced by a fresh participant."""
    for attempt in range(tries):
        client = Client(name, namespace=namespace)
        if hears_camera(client, timeout_s):
            return client
        client.close()
    raise AssertionError(f'client {name!r} received no camera frame in /{namespace} in {tries} tries of '
                         f'{timeout_s} s')


def start_streaming_sim(logs: Path, params: dict[str, Any], client_name: str, tries: int = 2,
                        timeout_s: float = 30.0) -> tuple[NodeProcess, 'Client']:
    """sim_robot_node and a Client that receives its camera frames. A pair whose DDS discovery never completes
    (seen once in CI under load: every test of a module waited for frames that never came) is replaced by a
    fresh one; the last try's failure names the sim's log."""
    for attempt in range(tries):
        sim, client = start('sim_robot_node', logs, params), Client(client_name)
        if hears_camera(client, timeout_s):
            return sim, client
        log = sim.log()
        client.close()
        sim.stop()
    raise AssertionError(f'no camera frame from sim_robot_node in {tries} tries of {timeout_s} s; its log:\n'
                         f'{log[-3000:]}')


def wait_future(future, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while not future.done():
        if time.monotonic() > deadline:
            raise AssertionError(f'no {what} within {timeout_s} s')
        time.sleep(0.01)
    return future.result()


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str, period_s: float = 0.02) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out after {timeout_s} s waiting for {what}')
        time.sleep(period_s)


def image_msg(rgb: np.ndarray, stamp, frame_id: str = 'camera_optical_frame'):
    from video_planner.ros import conversions
    return conversions.rgb_to_image(rgb, stamp, frame_id)


def spin_until(executor, predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Spins `executor` until `predicate()` holds or the time is up; returns the predicate's last value."""
    deadline = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.02)
    return predicate()
