"""Which of several sampled plans should run? -> benchmarks/results/candidate_selection.md.

For each held-out episode this samples C candidate plans from frame 0 (one batched call, seeded), reads
each with the shipped learned inverse dynamics, and scores the end-effector path against the recorded
one (mean position error over the K steps, mm; the `ee error` of `python -m video_planner.model.evaluate`).
It then compares selection rules on the same candidates:

- `first`: one sample (what `num_candidates: 1` runs);
- `confidence`: the most confident plan (what the planner does with `num_candidates` > 1);
- `medoid`: the plan whose path is closest to the other candidates' paths (a consensus vote);
- `oracle`: the plan closest to the truth, which no planner can know: the best any rule could do;
- `mean of candidates`: the average candidate, for scale.

If even the oracle is far from the truth, the candidates all share the error, and drawing more of them
cannot fix it.

    python benchmarks/bench_candidate_selection.py --data data/eval/seen data/eval/heldout_arm \
        data/eval/heldout_paraphrase
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from error_table import table_lines, utc_stamp, write_lines
from video_planner.data.reader import VideoClipDataset
from video_planner.dynamics.postprocess import plan_confidence
from video_planner.model import VideoModel, shipped_checkpoint
from video_planner.model.evaluate import inverse_dynamics_methods
from video_planner.text import TextEncoder

RESULTS = Path(__file__).resolve().parent / 'results' / 'candidate_selection.md'


def candidate_paths(model, idm, clip: dict, emb: np.ndarray, count: int, steps: int, seed: int,
                    guidance_scale: float = 1.0, eta: float = 0.0, hint: np.ndarray | None = None,
                    hint_guidance: float = 1.0):
    """(C, K, 3) end-effector paths the inverse dynamics reads from C plans sampled for the instruction row
    `emb` (VideoModel.encode_text) from the clip's first frame, their confidences, and the (C, K+1, S, S, 3)
    plans themselves (camera frame first). `hint`: the target mask of a `target_hint` model, followed with
    `hint_guidance`."""
    frame0 = clip['frame0']
    plans = model.sample(np.repeat(frame0[None], count, 0), np.repeat(emb[None], count, 0), steps=steps, seed=seed,
                         guidance_scale=guidance_scale, eta=eta, hint=hint, hint_guidance=hint_guidance)
    paths, confidences = [], []
    for plan in plans:
        motion = idm.estimate(np.concatenate([frame0[None], plan]), clip['depth0_m'], clip['camera'],
                              clip['ee_poses'][0], clip['ee_mask0'])
        paths.append(motion.positions[1:])
        confidences.append(plan_confidence(motion.confidence))
    videos = np.concatenate([np.repeat(frame0[None, None], count, 0), plans], 1)
    return np.stack(paths), np.asarray(confidences), videos


def path_error_mm(paths: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.mean(np.linalg.norm(paths - truth[None], axis=2), axis=1) * 1000.0


def medoid(paths: np.ndarray) -> int:
    spread = np.mean(np.linalg.norm(paths[:, None] - paths[None], axis=3), axis=2)
    return int(np.argmin(spread.sum(axis=1)))


def selections(paths: np.ndarray, confidences: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    errors = path_error_mm(paths, truth)
    return {'first': errors[0], 'confidence': errors[int(np.argmax(confidences))],
            'medoid': errors[medoid(paths)], 'oracle': errors.min(), 'mean of candidates': errors.mean()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', nargs='+', required=True, help='episode folders (one table column each)')
    ap.add_argument('--candidates', type=int, nargs='+', default=[4, 8], help='candidate counts C to compare')
    ap.add_argument('--steps', type=int, default=10, help='DDIM steps')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--out', default=str(RESULTS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = VideoModel.load(shipped_checkpoint())
    idm = inverse_dynamics_methods(['learned'])['learned']
    encoder = TextEncoder()
    most = max(args.candidates)
    table: dict[str, dict[str, float]] = {}
    for folder in args.data:
        dataset = VideoClipDataset([folder], horizon=model.config.horizon)
        rows: dict[str, list[float]] = {}
        for i in range(len(dataset)):
            clip = dataset[i]
            emb = model.encode_text(encoder, [clip['instruction']])[0]
            paths, confidences, _ = candidate_paths(model, idm, clip, emb, most, args.steps, args.seed)
            truth = np.asarray(clip['ee_poses'])[1:, :3, 3]
            # The first C of the same draws: C = 4 is a subset of C = 8, so the columns are paired.
            for count in args.candidates:
                for rule, error in selections(paths[:count], confidences[:count], truth).items():
                    if rule == 'first' and count != min(args.candidates):
                        continue
                    key = rule if rule == 'first' else f'{rule}, C={count}'
                    rows.setdefault(key, []).append(float(error))
        table[Path(folder).name] = {k: float(np.mean(v)) for k, v in rows.items()}
        print(Path(folder).name, {k: round(v, 1) for k, v in table[Path(folder).name].items()}, flush=True)
    write_results(Path(args.out), table, args)
    print(f'wrote {args.out}')
    return 0


def write_results(path: Path, table: dict, args: argparse.Namespace) -> None:
    rules = list(next(iter(table.values())))
    rows = {rule: {folder: values[rule] for folder, values in table.items()} for rule in rules}
    counts = ' '.join(str(c) for c in args.candidates)
    write_lines(path, [
        '# Choosing among sampled plans (open loop)', '',
        f'Run {utc_stamp()}; video model `default.pt`, learned inverse dynamics `idm_default.pt`; '
        f'{args.steps} DDIM steps, seed {args.seed}. Mean end-effector position error over the K plan steps '
        'against the recorded path, mm (lower is better).', '',
        *table_lines('selection', rows), '',
        f'Command: `python benchmarks/bench_candidate_selection.py --data {" ".join(args.data)} --candidates '
        f'{counts} --steps {args.steps} --seed {args.seed} --threads {args.threads}`'])


if __name__ == '__main__':
    raise SystemExit(main())
