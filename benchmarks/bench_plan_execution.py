"""Where plans fail between inverse dynamics and the arm -> benchmarks/results/plan_execution.md.

1. Gripper source. For expert rollouts cut to the plan's 9 frames (as the closed-loop `gt_video_*`
   methods do), the waypoints are executed with: the true poses and the expert's gripper (ceiling), the
   learned model's poses with its own gripper estimate, the learned poses with the low-point rule
   (`dynamics/gripper.py`), and the true poses with the rule. Success per task family.
2. Confidence calibration of the shipped learned model. On recorded episodes never trained on (cut like
   plans), the share of videos whose plan confidence passes the planner's default gate, for true videos
   and for garbage (noise, black frames, another episode's frames), at the learned model's stored
   `cycle_scale_m` and at the former 0.02 m; and the largest true step between plan frames.

    python benchmarks/bench_plan_execution.py            # ~5 min on 2 cores
    python benchmarks/bench_plan_execution.py --quick
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from video_planner.data.generate import GenerateConfig, generate
from video_planner.dynamics.evaluate import dataset_clips
from video_planner.dynamics.gripper import gripper_from_height
from video_planner.dynamics.learned import LearnedInverseDynamics
from video_planner.dynamics.postprocess import plan_confidence
from video_planner.evaluation.executor import BudgetExhausted, WaypointExecutor
from video_planner.planner.config import PlannerConfig
from video_planner.resources import model_path
from video_planner.sim.arms import HELD_OUT_ARMS, SEEN_ARMS, get_arm
from video_planner.sim.expert import ScriptedExpert
from video_planner.sim.tasks import TASK_FAMILIES, sample_task
from video_planner.sim.world import TabletopWorld

RESULTS = Path(__file__).resolve().parent / 'results' / 'plan_execution.md'
VARIANTS = ('true poses + expert gripper', 'learned poses + learned gripper', 'learned poses + low-point rule',
            'true poses + low-point rule')


def expert_plan(world: TabletopWorld, task, seed: int, frames: int = 9, view: str = 'camera'):
    """The expert's rollout at `frames` evenly spaced steps (as `evaluation.methods.expert_video`), with the
    pose reached and the gripper commanded at each kept step; frames in `view` (the inverse dynamics' own)."""
    from video_planner.embodiment import CanonicalView
    canonical = CanonicalView(world.spec) if view == 'canonical' else None

    def frame(obs):
        if canonical is None:
            return obs.rgb
        return canonical.from_robot_state(obs.rgb, obs.camera, obs.T_base_ee, obs.gripper, obs.joint_positions,
                                          obs.depth_m)[0]
    first = world.reset(task, seed=seed)
    commands = ScriptedExpert(world).commands(task, first.T_base_ee)
    keep = np.round(np.linspace(0, len(commands), frames)).astype(int)
    video, poses, gripper = [frame(first)], [first.T_base_ee], [0.0]
    for i, (T, g) in enumerate(commands, start=1):
        world.step_ee(T, g)
        for _ in range(int(np.count_nonzero(keep[1:] == i))):
            video.append(frame(world.observe()))
            poses.append(world.T_base_ee())
            gripper.append(float(g))
    return first, np.stack(video[:frames]), np.stack(poses[:frames]), np.array(gripper[:frames])


def run_waypoints(world: TabletopWorld, task, seed: int, poses: np.ndarray, gripper: np.ndarray) -> bool:
    world.reset(task, seed=seed)
    executor = WaypointExecutor(world)
    try:
        executor.follow(poses[1:], gripper[1:], stop=world.success)
        if not world.success():
            executor.hold(executor.config.settle_steps)
    except BudgetExhausted:
        pass
    return bool(world.success())


def gripper_study(idm, arms, per_family: int) -> dict:
    wins = defaultdict(lambda: defaultdict(int))
    for arm in arms:
        with TabletopWorld(arm, seed=0, image_size=64) as world:
            for family in TASK_FAMILIES:
                for i in range(per_family):
                    seed = 7000 + i
                    task = sample_task(get_arm(arm), family, np.random.default_rng(seed))
                    first, video, true_T, true_g = expert_plan(world, task, seed, view=idm.config.view)
                    m = idm.estimate(video, first.depth_m, first.camera, first.T_base_ee, None)
                    plans = {VARIANTS[0]: (true_T, true_g), VARIANTS[1]: (m.T_base_ee, m.gripper),
                             VARIANTS[2]: (m.T_base_ee, gripper_from_height(m.positions)),
                             VARIANTS[3]: (true_T, gripper_from_height(true_T[:, :3, 3]))}
                    for name, (T, g) in plans.items():
                        wins[family][name] += run_waypoints(world, task, seed, T, g)
    return {f: dict(v) for f, v in wins.items()}


def garbage_videos(clips, rng) -> dict[str, list[np.ndarray]]:
    out = defaultdict(list)
    for i, c in enumerate(clips):
        f = c.frames
        out['true video'].append(f)
        out['noise'].append(np.concatenate([f[:1], rng.integers(0, 256, f[1:].shape, dtype=np.uint8)]))
        out['black'].append(np.concatenate([f[:1], np.zeros_like(f[1:])]))
        out["another episode's frames"].append(np.concatenate([f[:1], clips[(i + 7) % len(clips)].frames[1:]]))
    return out


def confidence_study(idm, clips, gate: float) -> dict:
    videos = garbage_videos(clips, np.random.default_rng(0))
    table = {}
    for scale in sorted({0.02, idm.config.cycle_scale_m}):
        scaled = LearnedInverseDynamics(idm.network)
        scaled.config = dataclasses.replace(idm.config, cycle_scale_m=scale)
        table[scale] = {kind: float(np.mean([
            plan_confidence(scaled.estimate(v, c.depth0_m, c.camera, c.T_base_ee[0], None).confidence) >= gate
            for v, c in zip(vs, clips)])) for kind, vs in videos.items()}
    return table


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--arms', nargs='+', default=['panda', 'iiwa', 'ur5'], help='gripper study arms')
    ap.add_argument('--per-family', type=int, default=2, help='gripper study episodes per arm and family')
    ap.add_argument('--run-dir', default='/tmp/bench_plan_execution', help='recorded episodes (reused)')
    ap.add_argument('--out', default=str(RESULTS))
    args = ap.parse_args()
    if args.quick:
        args.arms, args.per_family = ['panda'], 1
    t0 = time.time()
    idm = LearnedInverseDynamics.load(model_path('idm_default.pt'))
    gate = PlannerConfig().min_confidence

    wins = gripper_study(idm, args.arms, args.per_family)
    run_dir = Path(args.run_dir)
    n_seen, n_held = (5, 4) if args.quick else (20, 16)
    generate(GenerateConfig(arms=SEEN_ARMS, tasks=TASK_FAMILIES, episodes=n_seen, seed=50_000,
                            out=run_dir / f'seen_{n_seen}'), progress=False)
    generate(GenerateConfig(arms=HELD_OUT_ARMS, tasks=TASK_FAMILIES, episodes=n_held, seed=60_000,
                            out=run_dir / f'held_out_{n_held}'), progress=False)
    clips = dataset_clips([run_dir / f'seen_{n_seen}', run_dir / f'held_out_{n_held}'], view=idm.config.view)
    passing = confidence_study(idm, clips, gate)
    steps = np.array([np.linalg.norm(np.diff(c.T_base_ee[:, :3, 3], axis=0), axis=1).max() for c in clips])

    n = len(args.arms) * args.per_family
    lines = ['# Plan execution: gripper source and confidence calibration', '',
             f'Written by `benchmarks/bench_plan_execution.py` on {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} '
             f'UTC in {(time.time() - t0) / 60:.1f} min. Command: '
             f'`python benchmarks/bench_plan_execution.py {" ".join(sys.argv[1:])}`', '',
             f'## Gripper source: successes out of {n} per family (arms {", ".join(args.arms)}, '
             f'{args.per_family} per arm and family, seeds 7000..)', '',
             'Expert rollouts cut to 9 frames; the learned poses come from `models/idm_default.pt` on those frames.',
             '', '| variant | ' + ' | '.join(TASK_FAMILIES) + ' |', '|---|' + '---|' * len(TASK_FAMILIES)]
    for name in VARIANTS:
        lines.append(f'| {name} | ' + ' | '.join(f'{wins[f].get(name, 0)}/{n}' for f in TASK_FAMILIES) + ' |')
    lines += ['', f'## Confidence: share of videos passing the gate (plan confidence >= {gate})', '',
              f'{len(clips)} recorded episodes never trained on ({n_seen} seen-arm, seed 50000; {n_held} '
              f'{", ".join(HELD_OUT_ARMS)}, seed 60000), each cut like a plan (9 frames over the episode).', '',
              '| cycle_scale_m | ' + ' | '.join(next(iter(passing.values()))) + ' |',
              '|---|' + '---|' * len(next(iter(passing.values())))]
    for scale, row in passing.items():
        mark = ' (shipped)' if scale == idm.config.cycle_scale_m else ''
        lines.append(f'| {scale:g}{mark} | ' + ' | '.join(f'{v:.0%}' for v in row.values()) + ' |')
    lines += ['', f'Largest true step between plan frames: median {np.median(steps):.3f} m, p95 '
              f'{np.percentile(steps, 95):.3f} m, max {steps.max():.3f} m (planner max_step_m: '
              f'{PlannerConfig().max_step_m} m).', '']
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text('\n'.join(lines))
    print('\n'.join(lines))
    return 0


if __name__ == '__main__':
    sys.exit(main())
