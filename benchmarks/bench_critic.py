"""Does the plan critic tell a recorded clip's own instruction from a counterfactual one?
-> benchmarks/results/critic.md.

Held-out recorded episodes (the expert's camera frames, not generated plans): for every clip the critic
scores the clip with its own instruction and with each counterfactual instruction for the same scene
(`video_planner.sim.instruction_edits`: another object named, the opposite push direction). A pair is
right when the own instruction scores higher. Chance is 50 %. How the critic does on generated plans is
in benchmarks/results/instruction_following.md (`critic` rows).

    python benchmarks/bench_critic.py --data data/eval/seen data/eval/heldout_arm data/eval/heldout_paraphrase \
        --critic runs/critic/model.pt
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from error_table import utc_stamp, write_lines
from video_planner.critic import PlanCritic
from video_planner.data.reader import EpisodeReader, clip_start_frames
from video_planner.sim.instruction_edits import counterfactuals, naming_other, other_object
from video_planner.text import TextEncoder

RESULTS = Path(__file__).resolve().parent / 'results' / 'critic.md'


def folder_scores(critic: PlanCritic, folder: str, clip_starts: int) -> dict[str, list[bool]]:
    """{'other object' | 'opposite direction': [own instruction scored higher, ...]} over the folder's clips."""
    right: dict[str, list[bool]] = {'other object': [], 'opposite direction': []}
    for episode in EpisodeReader(folder):
        if not episode.success:
            continue
        other = other_object(episode.task)
        renamed = naming_other(episode.task, other) if other is not None else None
        for t0 in clip_start_frames(len(episode), clip_starts):
            clip = episode.rgb[t0:][None]
            own = critic.score(clip, episode.instruction)[0]
            for edit in counterfactuals(episode.task):
                kind = 'other object' if edit == renamed else 'opposite direction'
                right[kind].append(bool(own > critic.score(clip, edit)[0]))
    return right


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', nargs='+', required=True, help='held-out episode folders (one table row each)')
    ap.add_argument('--critic', required=True, help='plan critic checkpoint')
    ap.add_argument('--clip-starts', type=int, default=2, help='clips per episode (start frames in its first half)')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--out', default=str(RESULTS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    critic = PlanCritic.load(args.critic, TextEncoder())
    rows = []
    for folder in args.data:
        right = folder_scores(critic, folder, args.clip_starts)
        cells = [f'{100 * np.mean(v):.0f} % of {len(v)}' if v else '-' for v in right.values()]
        rows.append(f'| {Path(folder).name} | ' + ' | '.join(cells) + ' |')
        print(rows[-1], flush=True)
    write_lines(args.out, [
        '# Plan critic on recorded held-out clips', '',
        f'Run {utc_stamp()}; critic `{args.critic}`; {args.clip_starts} clips per episode. Share of (clip, '
        'counterfactual) pairs where the clip\'s own instruction scores higher (chance 50 %).', '',
        '| episodes | another object named | opposite push direction |', '|---|---|---|', *rows, '',
        f'Command: `python benchmarks/bench_critic.py --data {" ".join(args.data)} --critic {args.critic} '
        f'--clip-starts {args.clip_starts} --threads {args.threads}`'])
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
