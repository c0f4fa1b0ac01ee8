"""What the canonical view costs per camera frame, and how well the URDF mask matches the arm the camera shows;
writes benchmarks/results/canonical_view_timing.md.

Per arm and image size: the simulator renders a frame a few steps off the home pose; `CanonicalView` then
finds the arm from the URDF, joint positions and camera pose (`arm_mask`, pybullet renders the arm alone) and
paints it out and draws the canonical gripper (`frame`). Median and 90th percentile over `--repeats` calls,
after one warm-up call (the renderer loads the URDF once per node). IoU against the simulator's segmentation.

Run: .venv/bin/python benchmarks/bench_canonical_view.py [--arms panda kinova ...] [--sizes 64 256] [--repeats 20]
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / 'results' / 'canonical_view_timing.md'


def observe(arm: str, image_size: int, seed: int = 3):
    from video_planner.sim.arms import get_arm
    from video_planner.sim.tasks import sample_task
    from video_planner.sim.world import TabletopWorld
    with TabletopWorld(arm, seed=seed, image_size=image_size) as world:
        obs = world.reset(sample_task(get_arm(arm), 'push', np.random.default_rng(seed)), seed=seed)
        for _ in range(2):  # off the home pose
            T = obs.T_base_ee.copy()
            T[:3, 3] += [0.03, -0.02, -0.02]
            world.step_ee(T, 1.0)
            obs = world.observe()
        return obs, world.spec


def timed(fn, repeats: int) -> tuple[np.ndarray, object]:
    out = fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return np.array(times) * 1000.0, out


def measure(arm: str, image_size: int, repeats: int) -> dict:
    from video_planner.embodiment import CanonicalView
    from video_planner.embodiment.canonical_view import arm_mask_from_segmentation
    obs, spec = observe(arm, image_size)
    view = CanonicalView(spec)
    try:
        mask_ms, mask = timed(lambda: view.arm_mask(obs.joint_positions, obs.camera, obs.depth_m, obs.gripper),
                              repeats)
        frame_ms, _ = timed(lambda: view.frame(obs.rgb, obs.camera, obs.T_base_ee, obs.gripper, mask, obs.depth_m),
                            repeats)
    finally:
        view.close()
    truth = arm_mask_from_segmentation(obs.segmentation)
    iou = float((mask & truth).sum() / max(1, (mask | truth).sum()))
    return {'arm': arm, 'size': image_size, 'mask_ms': mask_ms, 'frame_ms': frame_ms, 'iou': iou,
            'arm_px': int(truth.sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--arms', nargs='*', default=['panda', 'so100', 'kinova', 'z1', 'xarm7'],
                        help='registered arm names or arm YAML paths')
    parser.add_argument('--sizes', nargs='*', type=int, default=[64, 256])
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--out', type=Path, default=RESULTS)
    args = parser.parse_args()
    load = os.getloadavg()
    rows = [measure(arm, size, args.repeats) for size in args.sizes for arm in args.arms]
    lines = [
        '# The canonical view: cost per frame and mask quality',
        '',
        f'`benchmarks/bench_canonical_view.py`, {time.strftime("%Y-%m-%d")}, {platform.machine()}, '
        f'{os.cpu_count()} cores, load average {load[0]:.2f} at the start (other jobs ran beside it). '
        f'Median [90th percentile] of {args.repeats} calls after one warm-up. `arm mask`: the arm found from its '
        'URDF, joint positions and the camera pose (pybullet renders the arm alone, depth-tested); `paint`: '
        'inpainting plus the canonical gripper. IoU against the simulator\'s own arm segmentation.',
        '',
        '| image | arm | arm mask ms | paint ms | total ms | IoU | arm pixels |',
        '|---|---|---|---|---|---|---|',
    ]
    for r in rows:
        total = np.median(r['mask_ms']) + np.median(r['frame_ms'])
        lines.append(f"| {r['size']} px | {r['arm']} | {np.median(r['mask_ms']):.1f} "
                     f"[{np.percentile(r['mask_ms'], 90):.1f}] | {np.median(r['frame_ms']):.1f} "
                     f"[{np.percentile(r['frame_ms'], 90):.1f}] | {total:.1f} | {r['iou']:.2f} | {r['arm_px']} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
