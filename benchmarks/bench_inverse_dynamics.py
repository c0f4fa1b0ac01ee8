"""Benchmark inverse dynamics on ground-truth videos -> benchmarks/results/inverse_dynamics.md.

Ground truth: the synthetic rigid-block rig (dynamics/synthetic.py) and the simulator (every arm,
the held-out one included, run by the scripted expert; clips of K+1 frames `--stride` control steps
apart). Methods: FlowDepthInverseDynamics with the segmentation ee mask and with the projected-pose
disc, and LearnedInverseDynamics trained here on synthetic clips + the seen arms' sim clips.
Errors are of the raw estimate (before post-processing); refusal = postprocess() refused the plan.

    python benchmarks/bench_inverse_dynamics.py                    # full run (CPU, ~15-25 min)
    python benchmarks/bench_inverse_dynamics.py --quick            # smoke run
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from video_planner.dynamics.evaluate import (clips_from_observations, evaluate, record_sim_episode,
                                             synthetic_clips)
from video_planner.dynamics.flow_depth import FlowDepthInverseDynamics
from video_planner.dynamics.learned import IdmConfig, LearnedInverseDynamics, train_on_clips
from video_planner.model.trainer import TrainConfig
from video_planner.sim.arms import ARMS, HELD_OUT_ARM, SEEN_ARMS

RESULTS = Path(__file__).resolve().parent / 'results' / 'inverse_dynamics.md'
FAMILIES = ('pick_place', 'lift', 'push', 'reach')


def _record(job):
    arm, seed, family, size = job
    return arm, record_sim_episode(arm, seed, family, size)


def record_all(jobs, workers):
    if workers <= 1:
        return [_record(j) for j in jobs]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(_record, jobs))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--synthetic', type=int, default=16, help='synthetic test clips')
    ap.add_argument('--sim-test-episodes', type=int, default=1, help='per arm')
    ap.add_argument('--sim-train-episodes', type=int, default=1, help='per seen arm, for the learned model')
    ap.add_argument('--synthetic-train', type=int, default=150)
    ap.add_argument('--stride', type=int, default=2, help='control steps between clip frames')
    ap.add_argument('--steps', type=int, default=400, help='learned model training steps')
    ap.add_argument('--idm-size', type=int, default=32, help='learned model image size')
    ap.add_argument('--idm-channels', type=int, default=16)
    ap.add_argument('--workers', type=int, default=1, help='processes recording sim episodes')
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--out', default=str(RESULTS))
    ap.add_argument('--run-dir', default='/tmp/bench_idm')
    args = ap.parse_args()
    if args.quick:
        args.synthetic, args.sim_test_episodes, args.sim_train_episodes = 4, 1, 1
        args.synthetic_train, args.steps = 20, 30
    torch.set_num_threads(2)
    t_start = time.time()
    horizon = 8

    print('recording simulator episodes ...', flush=True)
    test_jobs = [(arm, 1000 + i, FAMILIES[i % 2], 64) for arm in ARMS for i in range(args.sim_test_episodes)]
    train_jobs = [(arm, i, FAMILIES[i % len(FAMILIES)], 64) for arm in SEEN_ARMS
                  for i in range(args.sim_train_episodes)]
    recorded = record_all(test_jobs + train_jobs, args.workers)
    sim_test = {arm: [] for arm in ARMS}
    for arm, obs in recorded[:len(test_jobs)]:
        sim_test[arm] += clips_from_observations(obs, horizon, args.stride, arm)
    sim_train = []
    for arm, obs in recorded[len(test_jobs):]:
        sim_train += clips_from_observations(obs, horizon, args.stride, arm, every=2)
    synth_test = synthetic_clips(args.synthetic, seed=100, horizon=horizon)
    synth_train = synthetic_clips(args.synthetic_train, seed=0, horizon=horizon)
    print(f'  {time.time() - t_start:.0f} s: {sum(map(len, sim_test.values()))} sim test clips, '
          f'{len(sim_train)} sim train clips', flush=True)

    datasets = [('synthetic block', synth_test)] + [
        (f'sim {arm}{" (held out)" if arm == HELD_OUT_ARM else ""}', clips) for arm, clips in sim_test.items()]
    flow = FlowDepthInverseDynamics()
    rows = []
    datasets = [(name, clips) for name, clips in datasets if clips]
    for name, clips in datasets:
        for label, mask in [('flow+depth, seg mask', True), ('flow+depth, pose disc', False)]:
            rows.append(run_row(flow, clips, mask, name, label))
    # Flow results first: the learned model's training is the long part.
    write_markdown(Path(args.out), rows, args, None, 0.0, time.time() - t_start)

    print('training the learned model ...', flush=True)
    t0 = time.time()
    cfg = IdmConfig(image_size=args.idm_size, channels=args.idm_channels, blocks=1, hidden=64)
    tcfg = TrainConfig(batch_size=32, lr=2e-3, steps=args.steps, warmup_steps=50, ema_decay=0.99,
                       checkpoint_every=0, log_every=50)
    result, _ = train_on_clips([c.as_training_clip() for c in synth_train + sim_train], args.run_dir, tcfg, cfg,
                               device=args.device)
    train_s = time.time() - t0
    learned = LearnedInverseDynamics.load(Path(args.run_dir) / 'model.pt')
    for name, clips in datasets:
        rows.append(run_row(learned, clips, False, name, 'learned'))
    rows.sort(key=lambda r: [d for d, _ in datasets].index(r['dataset']))
    write_markdown(Path(args.out), rows, args, result, train_s, time.time() - t_start)
    return 0


def run_row(idm, clips, use_mask, dataset, label) -> dict:
    s = evaluate(idm, clips, use_mask=use_mask).summary()
    s.update(dataset=dataset, variant=label)
    print(f"  {dataset:24s} {label:22s} trans {s['translation_mm_mean']:6.1f} mm  "
          f"step {s['step_mm_mean']:5.1f} mm  rot {s['rotation_deg_mean']:4.1f} deg  "
          f"refused {s['refusal_rate']:.2f}  {s['ms_per_plan_median']:.1f} ms", flush=True)
    return s


def write_markdown(path: Path, rows, args, result, train_s, total_s) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    head = ('| ground truth | method | clips | trans. err mean (mm) | p95 | step err mean (mm) | p95 | '
            'rot. err (deg) | gripper acc. | refused | ms / plan |')
    lines = [
        '# Inverse dynamics on ground-truth videos',
        '',
        f'Written by `benchmarks/bench_inverse_dynamics.py` on {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} '
        f'UTC ({platform.machine()}, Python {platform.python_version()}, {args.device}; shared, loaded CPU: '
        'timings are upper bounds).',
        f'Command: `python benchmarks/bench_inverse_dynamics.py {" ".join(sys.argv[1:])}`',
        '',
        f'Clips: K+1 = 9 frames at 64x64, {args.stride} control steps apart (simulator) / random-walk steps '
        'of up to 2 cm per axis (synthetic block). Errors per step t=1..8, of the raw estimate before '
        'post-processing; "trans." is |p_t - p_t true|, "step" is the error of p_t - p_(t-1); "refused" is '
        'the fraction of plans `postprocess` refused (min confidence 0.5, max step 6 cm).',
        (f'Learned model: IdmConfig(image_size={args.idm_size}, channels={args.idm_channels}, blocks=1), '
         f'{args.steps} steps x batch 32 in {train_s:.0f} s on {args.synthetic_train} synthetic clips + '
         f'{args.sim_train_episodes} episode(s) of each seen arm (held-out arm `{HELD_OUT_ARM}` never seen); '
         f'final loss {result.losses[-1][1] if result.losses else float("nan"):.3f}. Position only: the '
         'orientation of frame 0 is kept, so its rotation error is the true rotation over the clip.')
        if result is not None else 'Learned model: still training when this file was written (flow rows only).',
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
