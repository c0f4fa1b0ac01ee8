"""Message conversion and bag I/O costs; writes benchmarks/results/ros_io.md.

Measured, median of ``--repeats`` runs, one process, wall clock:
- sensor_msgs/Image <-> numpy for 640x480 and 1280x720 rgb8 (rgb_to_image, image_to_rgb), bgr8 with
  row padding, and 16UC1 depth -> float32 metres;
- rclpy CDR serialization of a 720p Image (what a publisher pays) plus the exact-size trim bag.py adds;
- writing a plan bag (VideoPlan of 9 frames at 64x64 + frame stream + path + markers) and reading it
  back with read_plan_bag, MCAP and sqlite3;
- plans on the wire (``--wire-plans N``, the shipped 64 px model's plans of N sim tasks): serialized
  bytes of the VideoPlan and of the PlanVideo result with raw rgb8 Image frames (the interface before
  commit 50bd248), PNG CompressedImage frames (now) and no frames (``return_frames: false``), and the
  lines of YAML ``ros2 action send_goal`` prints for the result.

Run: .venv/bin/python benchmarks/bench_ros_io.py [--repeats 20] [--wire-plans 3]
"""
from __future__ import annotations

import argparse
import array
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from rclpy.serialization import serialize_message
from sensor_msgs.msg import Image

from video_planner.planner.request import Plan
from video_planner.ros import bag, conversions as conv

RESULTS = Path(__file__).resolve().parent / 'results' / 'ros_io.md'


def timed(fn, repeats: int) -> float:
    """Median milliseconds of ``fn()``."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def plan_envelope(i: int) -> conv.VideoPlanEnvelope:
    rng = np.random.default_rng(i)
    poses = np.tile(np.eye(4), (9, 1, 1))
    poses[:, 0, 3] = np.linspace(0.3, 0.5, 9)
    plan = Plan(instruction='push the red cube left', frames=rng.integers(0, 256, (9, 64, 64, 3), dtype=np.uint8),
                frame_period_s=0.1, T_base_ee=poses, gripper=np.zeros(9, np.float32),
                confidence=np.ones(9, np.float32))
    return conv.VideoPlanEnvelope(plan=plan, plan_id=f'p{i}', stamp_ns=(i + 1) * 10 ** 9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--wire-plans', type=int, default=3, help='shipped-model plans to size (0: skip)')
    args = parser.parse_args()
    rows = []
    for w, h in ((640, 480), (1280, 720)):
        rgb = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
        msg = conv.rgb_to_image(rgb)
        rows.append((f'rgb_to_image {w}x{h}', timed(lambda: conv.rgb_to_image(rgb), args.repeats)))
        rows.append((f'image_to_rgb {w}x{h} rgb8', timed(lambda: conv.image_to_rgb(msg), args.repeats)))
        step = w * 3 + 64
        padded = Image(height=h, width=w, encoding='bgr8', step=step, data=array.array('B', bytes(step * h)))
        rows.append((f'image_to_rgb {w}x{h} bgr8 padded', timed(lambda: conv.image_to_rgb(padded), args.repeats)))
        depth = conv.depth_to_image(np.full((h, w), 0.8, np.float32), encoding='16UC1')
        rows.append((f'image_to_depth_m {w}x{h} 16UC1', timed(lambda: conv.image_to_depth_m(depth), args.repeats)))
    big = conv.rgb_to_image(np.zeros((720, 1280, 3), np.uint8))
    raw = serialize_message(big)
    rows.append(('serialize_message 1280x720 Image', timed(lambda: serialize_message(big), args.repeats)))
    rows.append(('exact_cdr trim 1280x720 Image', timed(lambda: bag.exact_cdr(raw, 'sensor_msgs/msg/Image'),
                                                         args.repeats)))
    envelopes = [plan_envelope(i) for i in range(10)]
    with tempfile.TemporaryDirectory() as tmp:
        for storage in ('mcap', 'sqlite3'):
            counter = iter(range(10 ** 6))
            last = {}

            def write():
                last['path'] = bag.write_plan_bag(Path(tmp) / f'{storage}_{next(counter)}', envelopes, storage)

            rows.append((f'write_plan_bag 10 plans ({storage})', timed(write, max(3, args.repeats // 4))))
            rows.append((f'read_plan_bag 10 plans ({storage})',
                         timed(lambda: bag.read_plan_bag(last['path']), max(3, args.repeats // 4))))
    lines = ['# ROS message conversion and bag I/O', '',
             f'Command: `.venv/bin/python benchmarks/bench_ros_io.py --repeats {args.repeats} '
             f'--wire-plans {args.wire_plans}`  ',
             f'Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs (shared), '
             f'Python {platform.python_version()}; median wall-clock ms of {args.repeats} runs '
             '(bag rows: of max(3, repeats/4)).', '', '| operation | ms |', '|---|---:|']
    lines += [f'| {name} | {ms:.2f} |' for name, ms in rows]
    if args.wire_plans:
        lines += wire_rows(args.wire_plans)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


# ------------------------------------------------------------------------------------ plans on the wire
def plain(value):
    """A message as the nested dicts/lists rosidl_runtime_py.message_to_ordereddict makes (ros2cli prints
    that with yaml.dump, one array element per line); rosidl_runtime_py has no PyPI wheel, so this
    mirrors it for counting lines."""
    if hasattr(value, 'get_fields_and_field_types'):
        return {name: plain(getattr(value, name)) for name in value.get_fields_and_field_types()}
    if isinstance(value, (list, tuple, array.array, np.ndarray, bytes)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def yaml_lines(message_dict) -> int:
    import sys

    import yaml
    return yaml.safe_dump(message_dict, default_flow_style=False, width=sys.maxsize).count('\n')


def shipped_model_plans(n: int) -> list:
    """(PlanVideo result, the plan's frames) for n sim tasks, planned with the shipped 64 px model."""
    from video_planner.planner import PlannerConfig, VideoPlanner
    from video_planner.planner.request import PlanRequest
    from video_planner.sim.arms import get_arm
    from video_planner.sim.tasks import sample_task
    from video_planner.sim.world import TabletopWorld
    from video_planner_interfaces.action import PlanVideo

    planner = VideoPlanner(PlannerConfig(arm='panda'))
    world = TabletopWorld('panda', seed=0, image_size=64)
    results = []
    try:
        for seed in range(n):
            task = sample_task(get_arm('panda'), 'push', np.random.default_rng(seed))
            obs = world.reset(task)
            plan = planner.plan(PlanRequest(task.instruction, obs.rgb, obs.depth_m, obs.camera, obs.T_base_ee,
                                            q_current=obs.joint_positions, seed=seed))
            envelope = conv.VideoPlanEnvelope(plan=plan, plan_id=f'plan-{seed}', arm='panda',
                                              stamp_ns=(seed + 1) * 10 ** 9, camera_frame_id='camera_optical_frame',
                                              base_frame_id=get_arm('panda').base_frame)
            result = PlanVideo.Result(success=plan.ok, message=plan.status, plan_id=envelope.plan_id,
                                      plan=conv.video_plan_to_msg(envelope), plan_time_s=1.0,
                                      execution_outcome='not_requested')
            results.append((result, plan.frames))
    finally:
        world.close()
    return results


def raw_frames_plan_bytes(plan_msg, frames) -> int:
    """Serialized size of the same VideoPlan with rgb8 sensor_msgs/Image frames (the pre-50bd248 type),
    through rosbags' CDR serializer (the type is no longer built, so rclpy cannot)."""
    from rosbags.typesys import get_types_from_msg

    store = bag.plan_typestore()
    name = 'video_planner_interfaces/msg/VideoPlanRawFrames'
    if name not in store.fielddefs:
        text = next(f for f in bag.interface_msg_files() if f.stem == 'VideoPlan').read_text()
        old = '\n'.join('sensor_msgs/Image[] frames' if line.startswith('sensor_msgs/CompressedImage[] frames')
                        else line for line in text.splitlines())
        store.register(get_types_from_msg(old, name))

    def as_rosbags(msg, typename):
        return store.deserialize_cdr(bag.exact_cdr(serialize_message(msg), typename), typename)

    current = as_rosbags(plan_msg, 'video_planner_interfaces/msg/VideoPlan')
    images = [as_rosbags(conv.rgb_to_image(f), 'sensor_msgs/msg/Image') for f in frames]
    cls = store.types[name]
    fields = {f: getattr(current, f) for f in cls.__dataclass_fields__}
    fields['frames'] = images
    return len(store.serialize_cdr(cls(**fields), name))


def wire_rows(n: int) -> list[str]:
    rows = []
    for result, frames in shipped_model_plans(n):
        frameless = type(result)(**{f: getattr(result, f) for f in result.get_fields_and_field_types()})
        frameless.plan = type(result.plan)(**{f: getattr(result.plan, f)
                                              for f in result.plan.get_fields_and_field_types()})
        frameless.plan.frames = []
        plan_png, result_png = len(serialize_message(result.plan)), len(serialize_message(result))
        plan_none, result_none = len(serialize_message(frameless.plan)), len(serialize_message(frameless))
        plan_raw = raw_frames_plan_bytes(result.plan, frames)
        result_raw = result_png - plan_png + plan_raw   # the result's other fields are the same bytes
        raw_dict = plain(result)
        raw_dict['plan']['frames'] = [plain(conv.rgb_to_image(f, result.plan.header.stamp,
                                                              result.plan.header.frame_id)) for f in frames]
        rows.append(f'| {result.plan_id} ({len(frames)} frames {frames.shape[1]}x{frames.shape[2]}) | '
                    f'{plan_raw:,} / {plan_png:,} / {plan_none:,} | '
                    f'{result_raw:,} / {result_png:,} / {result_none:,} | '
                    f'{yaml_lines(raw_dict):,} / {yaml_lines(plain(result)):,} / {yaml_lines(plain(frameless)):,} |')
    return ['', '## Plans on the wire: raw rgb8 frames / PNG frames / no frames (return_frames: false)', '',
            f'{n} plans of the shipped 64 px model (push tasks, seeds 0..{n - 1}, default sampler). Bytes: rclpy '
            'serialize_message (the raw-frame VideoPlan, a type no longer built, through rosbags\' CDR '
            'serializer; its result = the PNG result with that plan). YAML lines: what `ros2 action send_goal` '
            'prints for the result (message_to_yaml layout, one array element per line).', '',
            '| plan | VideoPlan bytes | PlanVideo result bytes | result YAML lines |', '|---|---:|---:|---:|'] + rows


if __name__ == '__main__':
    main()
