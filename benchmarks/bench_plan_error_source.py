"""Where does a plan's end-effector error come from? -> benchmarks/results/plan_error_source.md.

The recorded future of each held-out episode is noised to diffusion timestep t0 and denoised back by the
video model (DDIM from t0, conditioned on frame 0 and the instruction: SDEdit). A low t0 keeps the true
motion and adds the model's rendering; t0 = T-1 starts from noise alone and is an ordinary plan. The
shipped learned inverse dynamics then reads each video, and the table gives its mean end-effector
position error against the recorded path (mm; the `ee error` of `python -m video_planner.evaluation.open_loop`).

If the error stays low until t0 is close to T, the inverse dynamics reads the model's frames well and
the error comes from the motion the model picks at the noisiest steps, not from how it draws the arm.

    python benchmarks/bench_plan_error_source.py --data data/eval/seen data/eval/heldout_arm
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from error_table import table_lines, utc_stamp, write_lines
from video_planner.data.reader import VideoClipDataset
from video_planner.model import VideoModel, shipped_checkpoint
from video_planner.evaluation.open_loop import ee_error_mm, inverse_dynamics_methods
from video_planner.text import TextEncoder

RESULTS = Path(__file__).resolve().parent / 'results' / 'plan_error_source.md'


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', nargs='+', required=True, help='episode folders (one table column each)')
    ap.add_argument('--t0', type=int, nargs='+', default=[0, 400, 800, 900, 950, 999],
                    help='noise levels (training timesteps; 0 = the recorded video itself)')
    ap.add_argument('--steps', type=int, default=5, help='DDIM steps from t0 down to 0')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--out', default=str(RESULTS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = VideoModel.load(shipped_checkpoint())
    if not all(0 <= t < model.schedule.steps for t in args.t0):
        ap.error(f'--t0: each level must be in [0, {model.schedule.steps - 1}]')
    idm = inverse_dynamics_methods(['learned'])['learned']
    encoder = TextEncoder()
    table: dict[str, dict[int, float]] = {}
    for folder in args.data:
        dataset = VideoClipDataset([folder], horizon=model.config.horizon, view=model.config.view)
        errors: dict[int, list[float]] = {t: [] for t in args.t0}
        for i in range(len(dataset)):
            clip = dataset[i]
            emb = model.encode_text(encoder, [clip['instruction']])[0]
            for t0 in args.t0:
                future = clip['future'] if t0 == 0 else model.sample(
                    clip['frame0'][None], emb[None], steps=args.steps, seed=args.seed + i,
                    start_video=clip['future'][None], start_t=t0)[0]
                video = np.concatenate([clip['frame0'][None], future])
                errors[t0].append(ee_error_mm(idm, video, clip))
        table[Path(folder).name] = {t: float(np.mean(v)) for t, v in errors.items()}
        print(Path(folder).name, {t: round(v, 1) for t, v in table[Path(folder).name].items()}, flush=True)
    write_results(Path(args.out), table, args, model.schedule.steps)
    print(f'wrote {args.out}')
    return 0


def write_results(path: Path, table: dict, args: argparse.Namespace, schedule_steps: int) -> None:
    def label(t0: int) -> str:
        return 'recorded video' if t0 == 0 else ('noise only (a plan)' if t0 == schedule_steps - 1 else str(t0))
    rows = {label(t0): {folder: values[t0] for folder, values in table.items()} for t0 in args.t0}
    levels = ' '.join(str(t) for t in args.t0)
    write_lines(path, [
        "# Where a plan's end-effector error comes from (SDEdit re-rendering of the true future)", '',
        f'Run {utc_stamp()}; video model `default.pt` (T = {schedule_steps}, cosine schedule), learned inverse '
        f'dynamics `idm_default.pt`; {args.steps} DDIM steps from t0. Mean end-effector position error against '
        'the recorded path, mm.', '',
        *table_lines('t0 (noise level)', rows), '',
        f'Command: `python benchmarks/bench_plan_error_source.py --data {" ".join(args.data)} --t0 {levels} '
        f'--steps {args.steps} --seed {args.seed} --threads {args.threads}`'])


if __name__ == '__main__':
    raise SystemExit(main())
