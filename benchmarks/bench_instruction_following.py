"""Does a plan go to the object its instruction names? -> benchmarks/results/instruction_following.md.

For every held-out episode whose scene has a second movable object (the "other" object), this plans twice
from frame 0: with the recorded instruction, and with the same sentence naming the other object instead of
the target ("reach the red puck" -> "reach the blue cube"). The learned inverse dynamics reads each plan;
the plan "goes to" whichever of the two objects its end-effector path passes closest to (in the table
plane). Every task family reaches its target first, so this is the first thing a plan must get right.

- `goes to the named object`: share of plans whose path passes closer to the object the words name
  (both instructions pooled);
- `... with the true instruction`: the same share for the recorded instruction alone (a model that ignores
  the words but guesses the target from the scene can score high here, never on the two below);
- `moved by the words`: share of (episode, draw) pairs where the two instructions send the path to
  different objects. A model that ignores its instruction scores 0 here and about 50 % above;
- `follows both`: both plans of a pair go to their named object;
- `recorded path`: the same test on the recorded end-effector path with the true instruction (the
  ceiling: the expert always reaches its target; the path may pass the other object on the way).

With `--candidates C` every kept plan is one of C sampled for the same instruction, and each table row is
one way of keeping it (`plan kept`): the first sample (no choice), the most confident one (the learned
inverse dynamics' confidence: what the planner does with `num_candidates` > 1), and the oracle: one that
goes to the named object if any does (the ceiling of any choice among these samples).

With `--hint` (for a video model that reads a target hint, `target_hint: true`), every plan also gets a
mask of the object its sentence names: the recorded segmentation (`truth`: what the model can do with a
perfect grounding), or the grounding network's (a checkpoint: what the planner does). Then `moved by the
words` measures how far the plan follows the hint and the words together.

    python benchmarks/bench_instruction_following.py --data data/eval/seen data/eval/heldout_arm \
        data/eval/heldout_paraphrase --checkpoints video_planner/models/default.pt \
        --hint video_planner/models/grounding_default.pt --hint-guidance 1 8
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import h5py
import numpy as np
import torch

from error_table import utc_stamp, write_lines
from video_planner.data.reader import VideoClipDataset
from video_planner.dynamics.postprocess import plan_confidence
from video_planner.grounding import Grounder
from video_planner.model import VideoModel
from video_planner.evaluation.open_loop import inverse_dynamics_methods
from video_planner.sim.instruction_edits import naming_other, other_object
from video_planner.sim.segmentation import object_segment
from video_planner.text import TextEncoder

RESULTS = Path(__file__).resolve().parent / 'results' / 'instruction_following.md'


def read_task(path: str, frame: int) -> tuple[dict, dict[str, np.ndarray]]:
    """The episode's task JSON and each object's (x, y) in the base frame at `frame`."""
    with h5py.File(path, 'r') as h:
        g = h['data/demo_0']
        task = json.loads(g.attrs['task'])
        poses = g['obs/object_poses'][frame]
    return task, {o['name']: poses[k, :2, 3] for k, o in enumerate(task['objects'])}


def goes_to(path_xyz: np.ndarray, named: np.ndarray, other: np.ndarray) -> bool:
    """True when the path passes closer to `named` than to `other` (closest approach, table plane)."""
    closest = lambda xy: np.min(np.linalg.norm(path_xyz[:, :2] - xy[None], axis=1))  # noqa: E731
    return bool(closest(named) < closest(other))


def selection_rules(candidates: int) -> list[str]:
    """How one plan is kept of `candidates` samples: the first, the most confident (learned IDM), the oracle's."""
    if candidates == 1:
        return ['first']
    return ['first', f'confidence, C={candidates}', f'oracle, C={candidates}']


def chosen(rule: str, hits: np.ndarray, confidences: np.ndarray) -> np.ndarray:
    """Index of the kept plan in each (draws, C) group; the oracle keeps one that goes to the named object."""
    if rule.startswith('oracle'):
        return np.argmax(hits, axis=1)
    if rule.startswith('confidence'):
        return np.argmax(confidences, axis=1)
    return np.zeros(len(confidences), int)


def candidate_paths(model, idm, clip: dict, emb: np.ndarray, count: int, steps: int, seed: int,
                    hint: np.ndarray | None = None, hint_guidance: float = 1.0):
    """(C, K, 3) end-effector paths the inverse dynamics reads from C plans sampled for the instruction row
    `emb` (VideoModel.encode_text) from the clip's first frame, and their confidences. `hint`: the target
    mask of a `target_hint` model, followed with `hint_guidance`."""
    frame0 = clip['frame0']
    plans = model.sample(np.repeat(frame0[None], count, 0), np.repeat(emb[None], count, 0), steps=steps, seed=seed,
                         hint=hint, hint_guidance=hint_guidance)
    paths, confidences = [], []
    for plan in plans:
        motion = idm.estimate(np.concatenate([frame0[None], plan]), clip['depth0_m'], clip['camera'],
                              clip['ee_poses'][0], clip['ee_mask0'])
        paths.append(motion.positions[1:])
        confidences.append(plan_confidence(motion.confidence))
    return np.stack(paths), np.asarray(confidences)


def hints(grounder, clip: dict, sentences: list[str], objects: list[str], task: dict, path: str, frame: int) -> list:
    """The target hint for each sentence: None (no hint), the named object's true mask ('truth'), or the
    grounding network's mask."""
    if grounder is None:
        return [None] * len(sentences)
    if grounder == 'truth':
        with h5py.File(path, 'r') as h:
            seg = h['data/demo_0/obs/seg'][frame]
        return [seg == object_segment(task, name) for name in objects]
    return [grounder.hint(clip['frame0'], s, clip['frame0'].shape[0]) for s in sentences]


def episode_scores(model, idm, encoder, clip: dict, path: str, frame: int, args, grounder=None,
                   hint_guidance: float = 1.0):
    """({rule: (named-object hits, true-instruction hits, moved-by-words flags, follows-both flags)}, recorded
    hit) of one episode, or None."""
    task, xy = read_task(path, frame)
    other = other_object(task)
    other_sentence = naming_other(task, other) if other is not None else None
    if other_sentence is None:
        return None
    target_xy, other_xy = xy[task['target']], xy[other['name']]
    sentences = [clip['instruction'], other_sentence]
    emb = model.encode_text(encoder, sentences)
    groups = (args.draws, args.candidates)
    reached, confidences = [], []
    where = hints(grounder, clip, sentences, [task['target'], other['name']], task, path, frame)
    for row, hint, (named, unnamed) in zip(emb, where,
                                                     ((target_xy, other_xy), (other_xy, target_xy))):
        paths, confidence = candidate_paths(model, idm, clip, row, args.draws * args.candidates, args.steps,
                                            args.seed, hint, hint_guidance)
        reached.append(np.asarray([goes_to(p, named, unnamed) for p in paths]).reshape(groups))
        confidences.append(confidence.reshape(groups))
    scores = {}
    for rule in selection_rules(args.candidates):
        own, swapped = (hits[np.arange(args.draws), chosen(rule, hits, conf)]
                        for hits, conf in zip(reached, confidences))
        # own hit = went to target; swapped hit = went to other: a different object exactly when both or neither.
        scores[rule] = (np.concatenate([own, swapped]), own, own == swapped, own & swapped)
    recorded = goes_to(np.asarray(clip['ee_poses'])[:, :3, 3], target_xy, other_xy)
    return scores, recorded


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', nargs='+', required=True, help='episode folders (one table row each)')
    ap.add_argument('--checkpoints', nargs='+', required=True, help='video model checkpoints to compare')
    ap.add_argument('--draws', type=int, default=3, help='kept plans per instruction (one seeded batched call)')
    ap.add_argument('--candidates', type=int, default=1,
                    help='plans sampled for each kept one (> 1 adds rows: kept by IDM confidence, the oracle)')
    ap.add_argument('--steps', type=int, default=10, help='DDIM steps')
    ap.add_argument('--hint-guidance', type=float, nargs='+', default=[1.0],
                    help='guidance towards the target hint to compare (> 1: one more network call per step)')
    ap.add_argument('--hint', default=None,
                    help="target hint for `target_hint` models: 'truth' (the named object's recorded mask) or a "
                         'grounding checkpoint (its mask, as the planner does)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--out', default=str(RESULTS))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    idm = inverse_dynamics_methods(['learned'])['learned']
    encoder = TextEncoder()
    grounder = args.hint if args.hint in (None, 'truth') else Grounder.load(args.hint, encoder)
    rows = []
    for checkpoint in args.checkpoints:
        model = VideoModel.load(checkpoint)
        for hint_guidance, folder in ((h, f) for h in args.hint_guidance for f in args.data):
            dataset = VideoClipDataset([folder], horizon=model.config.horizon, view=model.config.view)
            flags: dict[str, list[list]] = {}
            recorded, skipped = [], 0
            for i in range(len(dataset)):
                path, frames = dataset.index[i]
                scores = episode_scores(model, idm, encoder, dataset[i], str(path), int(frames[0]), args, grounder,
                                        hint_guidance)
                if scores is None:
                    skipped += 1
                    continue
                recorded.append(scores[1])
                for rule, values in scores[0].items():
                    for column, value in zip(flags.setdefault(rule, [[], [], [], []]), values):
                        column.append(value)
            for rule, columns in flags.items():
                row = [f'`{checkpoint}`', f'{hint_guidance:g}', rule, Path(folder).name,
                       f'{len(recorded)} ({skipped} skipped)', *(pct(np.concatenate(c)) for c in columns),
                       pct(np.asarray(recorded))]
                rows.append(row)
                print(' | '.join(row), flush=True)
    header = ['checkpoint', 'hint guidance', 'plan kept', 'episodes', 'used', 'goes to the named object',
              '... with the true instruction', 'moved by the words', 'follows both', 'recorded path']
    hint_note = f' Target hint: `{args.hint}`.' if args.hint else ''
    write_lines(args.out, [
        '# Does the plan go to the object its instruction names? (open loop)', '',
        f'Run {utc_stamp()}; learned inverse dynamics `idm_default.pt`; {args.draws} kept plans per instruction, '
        f'each from {args.candidates} sampled; {args.steps} DDIM steps, seed {args.seed}; '
        '`hint guidance`: guidance towards the target hint (1 = none); `plan kept`: the first sample, the most '
        'confident one (learned inverse dynamics), or (oracle) one that goes to the named object if any does.'
        f'{hint_note} '
        'Episodes without a second movable object, or whose '
        'sentence does not match its template, are skipped. How the columns are computed: the docstring of '
        '`benchmarks/bench_instruction_following.py`. An instruction-blind model scores about 50 % in the first '
        'column and 0 % in `moved by the words` and `follows both`.',
        '', '| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header),
        *['| ' + ' | '.join(r) + ' |' for r in rows], '',
        f'Command: `python benchmarks/bench_instruction_following.py --data {" ".join(args.data)} --checkpoints '
        f'{" ".join(args.checkpoints)} --draws {args.draws} --candidates {args.candidates}'
        f'{" --hint " + args.hint if args.hint else ""} --steps {args.steps} '
        f'--hint-guidance {" ".join(f"{h:g}" for h in args.hint_guidance)} --seed {args.seed} '
        f'--threads {args.threads}`'])
    print(f'wrote {args.out}')
    return 0


def pct(flags: np.ndarray) -> str:
    return f'{100.0 * float(np.mean(flags)):.0f} %'


if __name__ == '__main__':
    raise SystemExit(main())
