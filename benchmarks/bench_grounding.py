"""Does the grounding network find the object an instruction names? -> benchmarks/results/grounding.md.

Held-out recorded episodes: at a few start frames of each, the network reads the camera frame with the
recorded sentence and, when the scene has another movable object, with the sentence naming that object
instead (`video_planner.grounding.dataset.named_objects`). Per (frame, sentence):

- `peak on the named object`: the most probable pixel lies on the named object (within 1 px);
- `named over the other`: more probability on the named object than on the other one (only sentences of
  scenes with another movable object; chance 50 %): what the video model's target hint must get right;
- `IoU`: of the mask thresholded at 0.5 with the named object's mask;
- `one blob`: the target hint (the map above `HINT_LEVEL`) is one connected region, and how often the
  peak is right when it is one region / several: can the planner tell when the grounding is unsure?
- `AUC`: how well the share of the map's mass inside the hint (its concentration, known at run time)
  ranks right peaks above wrong ones (0.5: no better than chance).

    python benchmarks/bench_grounding.py --data data/eval/seen data/eval/heldout_arm \
        data/eval/heldout_paraphrase --grounding runs/grounding/model.pt
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch

from error_table import utc_stamp, write_lines
from video_planner.data.reader import EpisodeReader, clip_start_frames
from video_planner.grounding import Grounder
from video_planner.grounding.dataset import named_objects
from video_planner.grounding.grounder import HINT_LEVEL
from video_planner.text import TextEncoder

RESULTS = Path(__file__).resolve().parent / 'results' / 'grounding.md'


def frame_scores(grounder: Grounder, frame: np.ndarray, seg: np.ndarray, task: dict) -> list[tuple]:
    """(peak on named, named over other or None, IoU, hint regions, concentration) for each sentence naming an
    object of the frame."""
    pairs = named_objects(task)
    ids = [seg_id for _, seg_id in pairs]
    out = []
    for sentence, seg_id in pairs:
        p = grounder.locate(frame, sentence, size=seg.shape[0])
        named = seg == seg_id
        near = cv2.dilate(named.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        peak = bool(near.flat[int(np.argmax(p))])
        others = [i for i in ids if i != seg_id]
        over = None if not others else bool((p * named).sum() > (p * (seg == others[0])).sum())
        union = np.logical_or(p > 0.5, named).sum()
        hint = p > HINT_LEVEL
        regions = cv2.connectedComponents(hint.astype(np.uint8))[0] - 1
        out.append((peak, over, float(np.logical_and(p > 0.5, named).sum() / max(union, 1)), regions,
                    float(p[hint].sum() / p.sum())))
    return out


def _percent(values: np.ndarray) -> str:
    return f'{100 * values.mean():.0f} % ({len(values)})' if len(values) else '-'


def _auc(score: np.ndarray, label: np.ndarray) -> str:
    """Probability that a random positive scores above a random negative (ties count half)."""
    pos, neg = score[label], score[~label]
    if not len(pos) or not len(neg):
        return '-'
    return f'{np.mean([(s > neg).mean() + 0.5 * (s == neg).mean() for s in pos]):.2f}'


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', nargs='+', required=True, help='episode folders (one table row each)')
    ap.add_argument('--grounding', required=True, help='grounding checkpoint (`video-planner train --model grounding`)')
    ap.add_argument('--clip-starts', type=int, default=2)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--out', default=str(RESULTS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    grounder = Grounder.load(args.grounding, TextEncoder())
    rows = []
    for folder in args.data:
        scores = [s for ep in EpisodeReader(folder) for t0 in clip_start_frames(len(ep), args.clip_starts)
                  for s in frame_scores(grounder, ep.rgb[t0], ep.seg[t0], ep.task)]
        peak = np.mean([s[0] for s in scores])
        over = [s[1] for s in scores if s[1] is not None]
        right = np.array([s[0] for s in scores])
        one = np.array([s[3] == 1 for s in scores])
        rows.append(f'| {Path(folder).name} | {len(scores)} | {100 * peak:.0f} % | {100 * np.mean(over):.0f} % '
                    f'({len(over)}) | {np.mean([s[2] for s in scores]):.2f} | {100 * one.mean():.0f} % | '
                    f'{_percent(right[one])} / {_percent(right[~one])} | '
                    f'{_auc(np.array([s[4] for s in scores]), right)} |')
        print(rows[-1], flush=True)
    write_lines(args.out, [
        '# Does the grounding network find the object an instruction names? (recorded held-out frames)', '',
        f'Run {utc_stamp()}; grounding `{args.grounding}`; {args.clip_starts} start frames per episode, each read '
        'with its recorded sentence and with the sentence naming the other movable object. Columns: the '
        'docstring of `benchmarks/bench_grounding.py`.', '',
        '| episodes | sentences | peak on the named object | named over the other (pairs) | IoU | one blob | '
        'peak right: one blob / several | AUC |',
        '|---|---|---|---|---|---|---|---|', *rows, '',
        f'Command: `python benchmarks/bench_grounding.py --data {" ".join(args.data)} --grounding {args.grounding} '
        f'--clip-starts {args.clip_starts} --threads {args.threads}`'])
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
