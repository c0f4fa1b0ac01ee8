"""Benchmark inverse dynamics on ground-truth videos -> benchmarks/results/inverse_dynamics.md.

Ground truth: simulator episodes recorded by `video-planner generate` (every arm, the held-out one
included, all task families, seeds disjoint from the training set's) cut into the clip a video plan is:
K+1 frames spread over the whole episode. Plus the synthetic rigid-block rig (textured, random walk).
Methods: FlowDepthInverseDynamics with the segmentation ee mask and with the projected-pose disc, the
shipped learned model (models/idm_default.pt, or --learned-checkpoint), and "still": the end effector
stays where it is, the error of doing nothing, so every other row can be read against it.
Errors are of the raw estimate (before post-processing); refusal = postprocess() refused the plan.

    python benchmarks/bench_inverse_dynamics.py            # full run (2 CPU cores, ~5 min)
    python benchmarks/bench_inverse_dynamics.py --quick    # smoke run
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from video_planner.data.generate import GenerateConfig, generate
from video_planner.dynamics.evaluate import dataset_clips, evaluate, synthetic_clips
from video_planner.dynamics.flow_depth import FlowDepthInverseDynamics
from video_planner.dynamics.learned import LearnedInverseDynamics
from video_planner.dynamics.motion import EeMotion, InverseDynamics
from video_planner.planner.pipeline import view_read_by
from video_planner.resources import model_path
from video_planner.sim.arms import ARMS, HELD_OUT_ARMS
from video_planner.sim.tasks import TASK_FAMILIES

RESULTS = Path(__file__).resolve().parent / 'results' / 'inverse_dynamics.md'
TEST_SEED = 50_000  # the training set (scripts/train_default_model.sh) uses seeds 1000..1999


class StandStill(InverseDynamics):
    """Reference: the end effector never moves (what a method that learned nothing would answer)."""
    name = 'still'

    def estimate(self, frames, depth0_m, camera, T_base_ee0, ee_mask0=None) -> EeMotion:
        n = len(frames)
        return EeMotion(np.repeat(np.asarray(T_base_ee0, float)[None], n, 0), np.zeros(n), np.ones(n), self.name)


def record_test_episodes(out: Path, per_arm: int, workers: int) -> dict[str, Path]:
    folders = {}
    for arm in ARMS:
        folder = out / arm
        generate(GenerateConfig(arms=(arm,), tasks=tuple(TASK_FAMILIES), episodes=per_arm, seed=TEST_SEED,
                                out=folder, workers=workers), progress=False)
        folders[arm] = folder
    return folders


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--episodes-per-arm', type=int, default=8)
    ap.add_argument('--synthetic', type=int, default=16, help='synthetic test clips')
    ap.add_argument('--learned-checkpoint', default=str(model_path('idm_default.pt')))
    ap.add_argument('--workers', type=int, default=2, help='processes recording sim episodes')
    ap.add_argument('--out', default=str(RESULTS))
    ap.add_argument('--run-dir', default='/tmp/bench_idm', help='where the test episodes are recorded (reused)')
    args = ap.parse_args()
    if args.quick:
        args.episodes_per_arm, args.synthetic = 2, 4
    torch.set_num_threads(2)
    t_start = time.time()

    print('recording simulator episodes ...', flush=True)
    folders = record_test_episodes(Path(args.run_dir) / f'episodes_{args.episodes_per_arm}', args.episodes_per_arm,
                                   args.workers)
    # Each method reads the view it was trained in: flow+depth the camera's, a learned model its config's.
    synthetic = synthetic_clips(args.synthetic, seed=100, horizon=8)
    datasets = [('synthetic block', {'camera': synthetic, 'canonical': synthetic})]
    datasets += [(f'sim {arm}{" (held out)" if arm in HELD_OUT_ARMS else ""}',
                  {view: dataset_clips(folder, view=view) for view in ('camera', 'canonical')})
                 for arm, folder in folders.items()]
    print(f'  {time.time() - t_start:.0f} s: {sum(len(c["camera"]) for _, c in datasets)} clips', flush=True)

    methods: list[tuple[str, InverseDynamics, bool]] = [
        ('flow+depth, seg mask', FlowDepthInverseDynamics(), True),
        ('flow+depth, pose disc', FlowDepthInverseDynamics(), False),
        ('learned (shipped)', LearnedInverseDynamics.load(args.learned_checkpoint), False),
        ('still (reference)', StandStill(), False)]
    rows = [run_row(idm, clips[view_read_by(idm) or 'camera'], mask, name, label)
            for name, clips in datasets for label, idm, mask in methods]
    write_markdown(Path(args.out), rows, args, time.time() - t_start)
    return 0


def run_row(idm, clips, use_mask, dataset, label) -> dict:
    s = evaluate(idm, clips, use_mask=use_mask).summary()
    s.update(dataset=dataset, variant=label)
    print(f"  {dataset:24s} {label:22s} trans {s['translation_mm_mean']:6.1f} mm  "
          f"step {s['step_mm_mean']:5.1f} mm  rot {s['rotation_deg_mean']:4.1f} deg  "
          f"refused {s['refusal_rate']:.2f}  {s['ms_per_plan_median']:.1f} ms", flush=True)
    return s


def write_markdown(path: Path, rows, args, total_s) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    head = ('| ground truth | method | clips | trans. err mean (mm) | p95 | step err mean (mm) | p95 | '
            'rot. err (deg) | gripper acc. | refused | ms / plan |')
    lines = [
        '# Inverse dynamics on ground-truth videos',
        '',
        f'Written by `benchmarks/bench_inverse_dynamics.py` on {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} '
        f'UTC ({platform.machine()}, Python {platform.python_version()}, CPU, 2 threads; other jobs may have '
        'shared the cores: timings are upper bounds).',
        f'Command: `python benchmarks/bench_inverse_dynamics.py {" ".join(sys.argv[1:])}`',
        '',
        f'Clips: {args.episodes_per_arm} simulator episodes per arm (`video-planner generate`, seeds from '
        f'{TEST_SEED}, all task families, never trained on), each cut like a video plan: K+1 = 9 frames at '
        '64x64 spread over the whole episode (about 2-3 cm of end-effector motion between frames). Synthetic '
        'block: random-walk steps of up to 2 cm per axis. Errors per step t=1..8, of the raw estimate before '
        'post-processing; "trans." is |p_t - p_t true|, "step" is the error of p_t - p_(t-1); "refused" is '
        'the fraction of plans `postprocess` refused (min confidence 0.5, max step 6 cm).',
        f'Learned: `{Path(args.learned_checkpoint).name}` (trained on the seen arms only; held-out arms '
        f'`{", ".join(HELD_OUT_ARMS)}` never seen). It is position-only: frame 0\'s orientation is kept, so its rotation '
        'error is the true rotation over the clip. "still" answers that nothing moves.',
        f'Total run time {total_s / 60:.1f} min.',
        '',
        head,
        '|' + '---|' * 11,
    ]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['variant']} | {r['clips']} | {r['translation_mm_mean']:.1f} | "
            f"{r['translation_mm_p95']:.1f} | {r['step_mm_mean']:.1f} | {r['step_mm_p95']:.1f} | "
            f"{r['rotation_deg_mean']:.1f} | {r['gripper_accuracy']:.2f} | {r['refusal_rate']:.2f} | "
            f"{r['ms_per_plan_median']:.1f} |")
    lines += ['', '<details><summary>raw rows (JSON)</summary>', '', '```json', json.dumps(rows, indent=1),
              '```', '</details>', '']
    path.write_text('\n'.join(lines))
    print(f'wrote {path}')


if __name__ == '__main__':
    sys.exit(main())
