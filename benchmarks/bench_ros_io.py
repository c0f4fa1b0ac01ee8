"""Message conversion and bag I/O costs; writes benchmarks/results/ros_io.md.

Measured, median of ``--repeats`` runs, one process, wall clock:
- sensor_msgs/Image <-> numpy for 640x480 and 1280x720 rgb8 (rgb_to_image, image_to_rgb), bgr8 with
  row padding, and 16UC1 depth -> float32 metres;
- rclpy CDR serialization of a 720p Image (what a publisher pays) plus the exact-size trim bag.py adds;
- writing a plan bag (VideoPlan of 9 frames at 64x64 + frame stream + path + markers) and reading it
  back with read_plan_bag, MCAP and sqlite3.

Run: .venv/bin/python benchmarks/bench_ros_io.py [--repeats 20]
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
             f'Command: `.venv/bin/python benchmarks/bench_ros_io.py --repeats {args.repeats}`  ',
             f'Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs (shared), '
             f'Python {platform.python_version()}; median wall-clock ms of {args.repeats} runs '
             '(bag rows: of max(3, repeats/4)).', '', '| operation | ms |', '|---|---:|']
    lines += [f'| {name} | {ms:.2f} |' for name, ms in rows]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
