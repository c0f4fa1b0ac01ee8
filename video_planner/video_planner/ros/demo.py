"""`video-planner demo`: the whole product on the simulated robot, closed loop, over real ROS 2.

Starts sim_robot_node, planner_node and inverse_dynamics_node as separate processes, then acts as the
operator: reads the sim task's instruction from ``task/instruction``, sends it to ``plan_video``
(execute = true) through an ActionClient, waits until the plan's commands have been streamed and
executed, checks ``task/success`` (and prints ``task/status``: what the task still misses), and replans
from the new camera frame until success or ``--max-replans`` plans. Writes to ``--out``:

  demo.gif       generated plan (left) next to the executed episode (right), frame by frame
  demo.bag/      rosbag2 (MCAP) of the camera (image, depth, camera_info, pose), robot state, commands, plans
                 (as the action returned them) and task status, under the root-namespace topic names, with
                 the task as one episode marked on the recorder's episode topics: ``video-planner import
                 --from rosbag --src demo.bag --mapping config/import_rosbag.yaml`` reads it
  summary.json   success, the task's status after each plan, number of plans, timings
  logs/          one log per node
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from video_planner.errors import VideoPlannerError

READY = 'ready:'
NODE_START_TIMEOUT_S = 120.0
# Where recorder_node marks an episode's start (String) and end (Empty) in its bags, and so where the
# importer's default mapping (config/import_rosbag.yaml) looks: the demo's task is one such episode.
EPISODE_START_TOPIC, EPISODE_STOP_TOPIC = '/recorder_node/instruction', '/recorder_node/stop'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--arm', default='panda', help='simulator arm: a registered name or an arm YAML path '
                        '(default: panda)')
    parser.add_argument('--task', default='reach', help="task family: reach, push, pick_place, lift, or '' for any")
    parser.add_argument('--seed', type=int, default=0, help='task seed')
    parser.add_argument('--max-replans', type=int, default=10, help='most plans to try before giving up')
    parser.add_argument('--out', default='out/demo', help='output folder (GIF, bag, summary, logs)')
    parser.add_argument('--checkpoint', default='', help='video model checkpoint (default: the shipped canonical.pt, '
                        'which plans with the arm painted out; a bare name such as default.pt: a shipped model)')
    parser.add_argument('--idm-checkpoint', default='', help='learned inverse dynamics in the video model\'s view '
                        '(default: the shipped one of that view)')
    parser.add_argument('--sampling-steps', type=int, default=0, help='sampler steps (0 = planner default)')
    parser.add_argument('--candidates', type=int, default=0,
                        help='video plans sampled per goal, the most confident executed (0 = planner default)')
    parser.add_argument('--goal-timeout', type=float, default=300.0, help='seconds to wait for one plan and its execution')


@dataclass
class PlanRecord:
    plan_id: str
    success: bool
    message: str
    plan_time_s: float
    execution_s: float = 0.0
    frames: list = field(default_factory=list, repr=False)        # generated frames (uint8)
    executed: list = field(default_factory=list, repr=False)      # camera frames while executing
    frame_period_s: float = 0.5
    task_status: str = ''                                         # task/status once the plan was executed


class Operator:
    """The in-process client: action client, task topics, camera frames, and the bag recorder."""

    def __init__(self, bag_path: Path):
        import rclpy
        from rclpy.action import ActionClient
        from rclpy.executors import MultiThreadedExecutor
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
        from sensor_msgs.msg import Image
        from std_msgs.msg import Bool, String
        from video_planner_interfaces.action import PlanVideo

        from video_planner.ros import conversions
        from video_planner.ros.bag import BagWriter

        self._conversions = conversions
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node('video_planner_demo', context=self.context)
        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.instruction: Optional[str] = None
        self.success = False
        self.status = ''
        self.execution_started: Optional[float] = None
        self.camera: list[np.ndarray] = []
        self.recording = False
        self._bag_lock = threading.Lock()
        self.bag = BagWriter(bag_path)
        sub = self.node.create_subscription
        sub(String, 'task/instruction', self._on_instruction, latched)
        sub(Bool, 'task/success', self._on_success, latched)
        sub(String, 'task/status', self._on_status, latched)
        sub(Image, 'camera/image_raw', self._on_camera, qos_profile_sensor_data)
        from geometry_msgs.msg import PoseStamped
        from sensor_msgs.msg import CameraInfo, JointState
        sub(PoseStamped, 'ee_command', lambda m: self._record('ee_command', m), 10)
        sub(JointState, 'joint_states', lambda m: self._record('joint_states', m), qos_profile_sensor_data)
        # What an import needs besides the frames: intrinsics, camera pose, end-effector pose, depth.
        for msg_type, topic, qos in ((CameraInfo, 'camera/camera_info', qos_profile_sensor_data),
                                     (PoseStamped, 'camera/pose', latched),
                                     (PoseStamped, 'ee_pose', qos_profile_sensor_data),
                                     (Image, 'camera/depth/image_raw', qos_profile_sensor_data)):
            sub(msg_type, topic, lambda m, topic=topic: self._record(topic, m), qos)
        self.action = ActionClient(self.node, PlanVideo, 'plan_video')
        self._plan_video = PlanVideo
        self.executor = MultiThreadedExecutor(num_threads=2, context=self.context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def _record(self, topic: str, msg) -> None:
        """Into the bag under the topic's root-namespace name (as `ros2 bag record` writes it)."""
        with self._bag_lock:
            if self.bag is not None:
                self.bag.write('/' + topic.lstrip('/'), msg, self.node.get_clock().now().nanoseconds)

    def _on_instruction(self, msg) -> None:
        if self.instruction is None:
            self._record(EPISODE_START_TOPIC, msg)
        self.instruction = msg.data
        self._record('task/instruction', msg)

    def _on_success(self, msg) -> None:
        if msg.data and not self.success:
            self._record('task/success', msg)
        self.success = bool(msg.data)

    def _on_status(self, msg) -> None:
        self.status = msg.data

    def _on_camera(self, msg) -> None:
        self._record('camera/image_raw', msg)
        if self.recording:
            self.camera.append(self._conversions.image_to_rgb(msg))

    def wait_for(self, predicate, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                raise VideoPlannerError(f'demo: timed out after {timeout_s:.0f} s waiting for {what}')
            time.sleep(0.05)

    def plan(self, instruction: str, sampling_steps: int, timeout_s: float, candidates: int = 0):
        goal = self._plan_video.Goal(instruction=instruction, execute=True, sampling_steps=sampling_steps,
                                     num_candidates=candidates, return_frames=True)
        self.recording, self.execution_started = False, None
        future = self.action.send_goal_async(goal, feedback_callback=self._on_feedback)
        self.wait_for(future.done, 30.0, 'the planner to accept the goal')
        handle = future.result()
        if not handle.accepted:
            raise VideoPlannerError('demo: planner_node rejected the goal')
        result_future = handle.get_result_async()
        try:
            # The result comes when execution has ended; the camera is recorded from the "executing" stage on.
            self.wait_for(result_future.done, timeout_s, 'the plan and its execution')
            if self.recording:
                time.sleep(0.3)  # the simulator follows the last command one tick later
        finally:
            self.recording = False
        result = result_future.result().result
        if result.plan.plan_id:
            # The bag takes the plan from the action's result, which the client is sure to hold, rather
            # than from a subscription to 'video_plan': that large message can still be in flight when
            # a short demo ends and closes the bag (seen once in CI).
            self._record('video_plan', result.plan)
        return result

    def _on_feedback(self, msg) -> None:
        if msg.feedback.stage == 'executing' and not self.recording:
            self.camera = []
            self.execution_started = time.monotonic()
            self.recording = True

    def close(self) -> None:
        if self.instruction is not None:
            from std_msgs.msg import Empty
            self._record(EPISODE_STOP_TOPIC, Empty())
        with self._bag_lock:
            bag, self.bag = self.bag, None
        if bag is not None:
            bag.close()
        self.executor.shutdown()
        self._thread.join(timeout=5.0)  # out of its last spin_once before the node's handles are destroyed
        self.node.destroy_node()
        import rclpy
        rclpy.try_shutdown(context=self.context)
        self._thread.join(timeout=5.0)


def node_params(args) -> dict[str, dict]:
    pipeline = {'arm': args.arm, 'checkpoint': args.checkpoint, 'idm_checkpoint': args.idm_checkpoint}
    return {
        'sim_robot_node': {'arm': args.arm, 'task': args.task, 'seed': args.seed, 'image_size': 64},
        'planner_node': {**pipeline, 'result_timeout_s': 60.0, 'fallback_in_process': False},
        'inverse_dynamics_node': {**pipeline, 'execute_enabled': True},
    }


def start_stack(args, log_dir: Path) -> list:
    from video_planner.ros.process import start_node
    procs = []
    for name, params in node_params(args).items():
        procs.append(start_node(name, params, log_dir=log_dir))
    for proc in procs:
        if not proc.wait_for_log(READY, NODE_START_TIMEOUT_S):
            raise VideoPlannerError(f'demo: {proc.name} did not start; last lines of {proc.log_path}:\n'
                                    + '\n'.join(proc.log().splitlines()[-15:]))
    return procs


def side_by_side(records: list[PlanRecord], size: int = 128) -> list[np.ndarray]:
    """One output frame per executed camera frame: the plan frame due at that time | the camera frame."""
    import cv2
    frames = []
    camera_period_s = 0.1
    for record in records:
        if not record.frames:
            continue
        plan = [cv2.resize(f, (size, size), interpolation=cv2.INTER_NEAREST) for f in record.frames]
        executed = record.executed or [record.frames[0]]
        for i, camera in enumerate(executed):
            k = min(int(i * camera_period_s / max(record.frame_period_s, 1e-3)), len(plan) - 1)
            right = cv2.resize(camera, (size, size), interpolation=cv2.INTER_NEAREST)
            frames.append(np.concatenate([plan[k], np.full((size, 4, 3), 255, np.uint8), right], axis=1))
    return frames


def run(args) -> int:
    if args.max_replans < 1:
        raise VideoPlannerError(f'--max-replans must be at least 1, got {args.max_replans}')
    for flag, value in (('--candidates', args.candidates), ('--sampling-steps', args.sampling_steps)):
        if not 0 <= value <= 255:  # uint8 fields of the PlanVideo goal
            raise VideoPlannerError(f'{flag} must be in 0..255 (0 = the planner default), got {value}')
    from video_planner.planner import PlannerConfig
    config = PlannerConfig(checkpoint=args.checkpoint, idm_checkpoint=args.idm_checkpoint, arm=args.arm)
    for what, checkpoint in (('video model', config.checkpoint_path),
                             ('inverse dynamics', config.idm_checkpoint_for(config.default_view))):
        if not checkpoint.is_file():
            raise VideoPlannerError(f'{what} checkpoint {checkpoint} does not exist: train one with '
                                    '`video-planner train` or pass --checkpoint / --idm-checkpoint PATH')
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bag_path = out / 'demo.bag'
    if bag_path.exists():
        shutil.rmtree(bag_path)
    started = time.monotonic()
    procs: list = []
    operator = None
    records: list[PlanRecord] = []
    try:
        print(f'[demo] starting sim_robot_node, planner_node, inverse_dynamics_node (logs in {out / "logs"})')
        procs = start_stack(args, out / 'logs')
        operator = Operator(bag_path)
        operator.wait_for(lambda: operator.instruction is not None, 30.0, 'the task instruction')
        if not operator.action.wait_for_server(timeout_sec=30.0):
            raise VideoPlannerError('demo: the plan_video action server did not appear')
        print(f'[demo] task: "{operator.instruction}" (arm {args.arm}, seed {args.seed}); '
              f'nodes up in {time.monotonic() - started:.1f} s')
        for attempt in range(1, args.max_replans + 1):
            record = execute_one_plan(operator, args)
            records.append(record)
            print(f'[demo] plan {attempt}: {"ok" if record.success else "failed"} in {record.plan_time_s:.1f} s, '
                  f'executed in {record.execution_s:.1f} s; {record.message}; '
                  f'task {record.task_status or "status unknown"}')
            if operator.success:
                break
    finally:
        if operator is not None:
            operator.close()
        for proc in procs:
            proc.stop()
    return report(records, operator.success if operator else False, out, time.monotonic() - started)


def execute_one_plan(operator: Operator, args) -> PlanRecord:
    result = operator.plan(operator.instruction, args.sampling_steps, args.goal_timeout, args.candidates)
    conversions = operator._conversions
    record = PlanRecord(plan_id=result.plan.plan_id, success=result.success, message=result.message,
                        plan_time_s=float(result.plan_time_s),
                        frames=[conversions.compressed_image_to_rgb(f) for f in result.plan.frames],
                        frame_period_s=float(result.plan.frame_period_s) or 0.5)
    record.executed = list(operator.camera)
    record.task_status = operator.status
    if operator.execution_started is not None:
        # The goal's time includes its execution: report planning and execution apart.
        record.execution_s = time.monotonic() - operator.execution_started
        record.plan_time_s = max(record.plan_time_s - record.execution_s, 0.0)
    return record


def report(records: list[PlanRecord], success: bool, out: Path, total_s: float) -> int:
    import imageio.v2 as imageio
    frames = side_by_side(records)
    if frames:
        imageio.mimsave(out / 'demo.gif', frames, duration=0.1, loop=0)
    summary = {
        'success': bool(success), 'plans': len(records), 'total_s': round(total_s, 2),
        'plan_time_s': [round(r.plan_time_s, 3) for r in records],
        'execution_s': [round(r.execution_s, 3) for r in records],
        'plans_detail': [{k: v for k, v in asdict(r).items() if k not in ('frames', 'executed')} for r in records],
    }
    (out / 'summary.json').write_text(json.dumps(summary, indent=2))
    why = f' ({records[-1].task_status})' if records and not success and records[-1].task_status else ''
    print(f'[demo] task {"SUCCEEDED" if success else "not completed"} after {len(records)} plan(s){why}, '
          f'{total_s:.1f} s in all; wrote {out / "demo.gif"}, {out / "demo.bag"}, {out / "summary.json"}')
    return 0
