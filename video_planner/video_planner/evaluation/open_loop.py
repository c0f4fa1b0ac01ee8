"""Open-loop quality of sampled plans: per-frame PSNR / SSIM against the true future on held-out episodes.

Clips are grouped by what they hold out: `seen` (training arms, training phrasings), `held_out_arm`
(the arm never trained on: cross-embodiment transfer) and `held_out_paraphrase` (instructions phrased
with the held-out templates: language generalisation). A "copy frame0" baseline (predict that nothing
moves) is scored alongside, so a number can be read as better or worse than doing nothing.

With inverse-dynamics methods given (the CLI uses flow+depth and the shipped learned model), every sampled
plan is also turned into end-effector positions and compared with the recorded ones (mean error over the
K steps, in mm); the same method run on the true future gives that method's own floor.
"""
from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from video_planner.errors import VideoPlannerError
from video_planner.planner.config import PlannerConfig

GROUPS = ('seen', 'held_out_arm', 'held_out_paraphrase')


# -- image metrics -----------------------------------------------------------------------------
def psnr(pred: np.ndarray, target: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two uint8 images, in dB (inf when identical)."""
    mse = np.mean((pred.astype(np.float64) - target.astype(np.float64)) ** 2)
    return float('inf') if mse == 0 else float(10.0 * np.log10(255.0 ** 2 / mse))


def ssim(pred: np.ndarray, target: np.ndarray) -> float:
    """Structural similarity (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5), mean over channels."""
    x, y = pred.astype(np.float64), target.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(im):
        return cv2.GaussianBlur(im, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx ** 2, blur(y * y) - my ** 2, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    return float(s.mean())


# -- grouping ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _heldout_patterns() -> list[re.Pattern]:
    from video_planner.sim.tasks import TEMPLATES
    pats = []
    for by_split in TEMPLATES.values():
        for template in by_split.get('heldout', ()):
            parts = re.split(r'\{\w+\}', template)
            pats.append(re.compile('^' + '.+'.join(re.escape(p) for p in parts) + '$'))
    return pats


def clip_group(clip: dict, held_out_arm, heldout_patterns: list[re.Pattern] | None = None) -> str:
    """The held-out arms dominate: a held-out arm's clip counts there whatever its phrasing.

    held_out_arm: one arm name or a collection of them.

    The paraphrase split is the clip's 'split' field when it has one, else found by matching the
    instruction against the simulator's held-out templates.
    """
    held = (held_out_arm,) if isinstance(held_out_arm, str) else tuple(held_out_arm)
    if clip.get('arm') in held:
        return 'held_out_arm'
    split = clip.get('split')
    if split is not None:
        return 'held_out_paraphrase' if split == 'heldout' else 'seen'
    text = ' '.join(str(clip['instruction']).lower().split())
    patterns = heldout_patterns if heldout_patterns is not None else _heldout_patterns()
    return 'held_out_paraphrase' if any(p.match(text) for p in patterns) else 'seen'


# -- evaluation --------------------------------------------------------------------------------
@dataclass
class GroupScores:
    psnr: list[np.ndarray] = field(default_factory=list)     # one (K,) array per clip
    ssim: list[np.ndarray] = field(default_factory=list)
    copy_psnr: list[np.ndarray] = field(default_factory=list)
    copy_ssim: list[np.ndarray] = field(default_factory=list)
    ee_mm: dict = field(default_factory=dict)        # method -> [mean error of the plan's ee path, per clip]
    ee_mm_true: dict = field(default_factory=dict)   # method -> [same, run on the true future]

    def summary(self) -> dict:
        def per_frame(rows):
            return np.mean(np.stack(rows), axis=0).round(3).tolist() if rows else []

        def mean(rows):
            return round(float(np.mean(np.stack(rows))), 3) if rows else None
        return {'clips': len(self.psnr), 'psnr': mean(self.psnr), 'ssim': mean(self.ssim),
                'copy_frame0_psnr': mean(self.copy_psnr), 'copy_frame0_ssim': mean(self.copy_ssim),
                'psnr_per_frame': per_frame(self.psnr), 'ssim_per_frame': per_frame(self.ssim),
                'ee_error_mm': {m: {'plan': round(float(np.mean(v)), 1),
                                    'true_video': round(float(np.mean(self.ee_mm_true[m])), 1)}
                                for m, v in self.ee_mm.items() if v}}


def ee_error_mm(idm, frames: np.ndarray, clip: dict) -> float:
    """Mean distance (mm) over the K steps between the ee path `idm` reads from `frames` and the recorded one."""
    motion = idm.estimate(frames, clip['depth0_m'], clip['camera'], clip['ee_poses'][0], clip['ee_mask0'])
    truth = np.asarray(clip['ee_poses'])[:, :3, 3]
    return float(np.mean(np.linalg.norm(motion.positions[1:] - truth[1:], axis=1)) * 1000.0)


def _finite(values: list[float]) -> np.ndarray:
    # Identical frames give inf PSNR; cap at 100 dB so means stay finite.
    return np.minimum(np.asarray(values, np.float64), 100.0)


TEXT_ABLATIONS = ('none', 'shuffle', 'drop')


def hint_source(model, hint: str, text_encoder=None):
    """How a `target_hint` model's plans get their target mask: clip dict -> (H, W) float32, or None
    (no hint: the model's hint channel stays empty, a condition its training knows).

    'auto': the shipped grounding network, as the planner does; 'truth': the clip's recorded mask of
    the named object (`target0`: what a perfect grounding would give); 'none'; or a grounding
    checkpoint's path. A model that reads no hint gets none whatever is asked.
    """
    if not getattr(model.config, 'target_hint', False) or hint == 'none':
        return None
    if hint == 'truth':
        def truth(clip: dict) -> np.ndarray:
            if 'target0' not in clip:
                raise VideoPlannerError("hint 'truth': the clips carry no target mask (target0)")
            return np.asarray(clip['target0'], np.float32)
        return truth
    from video_planner.grounding import Grounder
    checkpoint = PlannerConfig(grounding_checkpoint='' if hint == 'auto' else hint).grounding_checkpoint_path
    grounder = Grounder.load(checkpoint, text_encoder)
    return lambda clip: grounder.hint(clip['frame0'], clip['instruction'], clip['frame0'].shape[0])


def ablate_text(text: np.ndarray, ablation: str) -> np.ndarray:
    """The instruction embeddings a plan is conditioned on under an ablation: 'none' (as given), 'shuffle'
    (each clip gets the instruction of another clip in its batch) or 'drop' (zeros: the model's unconditional
    mode, the one text dropout trains). If plans are as good without their own instruction, the model ignores
    it. An unknown ablation is an error at the first batch, before anything is sampled."""
    if ablation == 'none':
        return text
    if ablation == 'shuffle':
        return np.roll(text, 1, axis=0)
    if ablation == 'drop':
        return np.zeros_like(text)
    raise VideoPlannerError(f'text ablation: expected one of {TEXT_ABLATIONS}, got {ablation!r}')


def evaluate_plans(model, clips: Iterable[dict], text_encoder, steps: int = 10, seed: int = 0,
                   text_ablation: str = 'none', batch_size: int = 8,
                   max_clips: int | None = None, held_out_arm: str | None = None,
                   dynamics: dict | None = None, examples: list | None = None, per_arm: int = 2,
                   hint_fn=None, hint_name: str = 'none', hint_guidance: float = 1.0) -> dict:
    """Sample one plan per clip and score it; returns {group: summary} plus the settings used.

    hint_fn: clip -> target mask for a `target_hint` model (`hint_source`; None: no hint), named
    `hint_name` in the report and followed with `hint_guidance` (VideoModel.sample). The text ablations
    treat the hint as part of the instruction: 'shuffle' moves it with the words, 'drop' drops it with
    them (as text dropout does in training).

    dynamics: {name: InverseDynamics} to score the plans' end-effector paths with (None: images only).
    examples: if a list, the first `per_arm` clips of every arm are appended to it as dicts
    (arm, group, instruction, truth (K+1 frames), plan (K+1 frames)), for sample grids.
    """
    if held_out_arm is None:
        from video_planner.sim.arms import HELD_OUT_ARMS as held_out_arm
    scores = {g: GroupScores() for g in GROUPS}
    pending: list[dict] = []

    def flush():
        frame0 = np.stack([c['frame0'] for c in pending])
        text = ablate_text(model.encode_text(text_encoder, [c['instruction'] for c in pending]), text_ablation)
        hint = None
        if hint_fn is not None and text_ablation != 'drop':
            hint = np.stack([hint_fn(c) for c in pending])
            hint = np.roll(hint, 1, axis=0) if text_ablation == 'shuffle' else hint
        plans = model.sample(frame0, text, steps=steps, seed=seed, hint=hint,
                             hint_guidance=hint_guidance)
        for clip, plan in zip(pending, plans):
            group = clip_group(clip, held_out_arm)
            s = scores[group]
            truth = clip['future']
            planned_video = np.concatenate([clip['frame0'][None], plan])   # K+1 frames, frame 0 first
            true_video = np.concatenate([clip['frame0'][None], truth])
            if examples is not None and sum(e['arm'] == clip['arm'] for e in examples) < per_arm:
                examples.append({'arm': clip['arm'], 'group': group, 'instruction': clip['instruction'],
                                 'truth': true_video, 'plan': planned_video})
            s.psnr.append(_finite([psnr(p, t) for p, t in zip(plan, truth)]))
            s.ssim.append(np.array([ssim(p, t) for p, t in zip(plan, truth)]))
            s.copy_psnr.append(_finite([psnr(clip['frame0'], t) for t in truth]))
            s.copy_ssim.append(np.array([ssim(clip['frame0'], t) for t in truth]))
            for name, idm in (dynamics or {}).items():
                s.ee_mm.setdefault(name, []).append(ee_error_mm(idm, planned_video, clip))
                s.ee_mm_true.setdefault(name, []).append(ee_error_mm(idm, true_video, clip))
        pending.clear()

    n = 0
    for clip in clips:
        if max_clips is not None and n >= max_clips:
            break
        pending.append(clip)
        n += 1
        if len(pending) == batch_size:
            flush()
    if pending:
        flush()
    if n == 0:
        raise VideoPlannerError('evaluate: no clips to evaluate; check --data')
    return {'settings': {'steps': steps, 'seed': seed,
                         'text_ablation': text_ablation, 'hint': hint_name if hint_fn is not None else 'none',
                         'hint_guidance': hint_guidance if hint_fn is not None else 1.0,
                         'clips': n,
                         'held_out_arm': held_out_arm if isinstance(held_out_arm, str) else ', '.join(held_out_arm)},
            'groups': {g: s.summary() for g, s in scores.items()}}


def to_markdown(result: dict) -> str:
    s = result['settings']
    lines = [f"Sampled plans vs true future ({s['clips']} clips, {s['steps']} DDIM steps, seed {s['seed']}, "
             f"text ablation {s.get('text_ablation', 'none')}, "
             f"target hint {s.get('hint', 'none')} (guidance {s.get('hint_guidance', 1.0):g}), "
             f"held-out arm `{s['held_out_arm']}`).", '',
             '| group | clips | PSNR dB | SSIM | copy-frame0 PSNR dB | copy-frame0 SSIM |',
             '|---|---|---|---|---|---|']
    for g, r in result['groups'].items():
        def f(v):
            return '-' if v is None else f'{v:.3f}'
        lines.append(f"| {g} | {r['clips']} | {f(r['psnr'])} | {f(r['ssim'])} | {f(r['copy_frame0_psnr'])} | "
                     f"{f(r['copy_frame0_ssim'])} |")
    methods = sorted({m for r in result['groups'].values() for m in r.get('ee_error_mm', {})})
    if methods:
        lines += ['', 'End-effector path after inverse dynamics: mean position error over the K steps, mm '
                  '(plan / the same method on the true future):', '',
                  '| group | ' + ' | '.join(methods) + ' |', '|---|' + '---|' * len(methods)]
        for g, r in result['groups'].items():
            e = r.get('ee_error_mm', {})
            cells = [f"{e[m]['plan']:.1f} / {e[m]['true_video']:.1f}" if m in e else '-' for m in methods]
            lines.append(f'| {g} | ' + ' | '.join(cells) + ' |')
    lines += ['', 'Per-frame PSNR (frame 1..K):', '']
    for g, r in result['groups'].items():
        if r['psnr_per_frame']:
            lines.append(f"- {g}: {', '.join(f'{v:.2f}' for v in r['psnr_per_frame'])}")
    return '\n'.join(lines) + '\n'


# -- command line ------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--checkpoint', required=True, help='video model checkpoint (model.pt)')
    parser.add_argument('--data', required=True, nargs='+', help='held-out episode folder(s) / .hdf5 file(s)')
    parser.add_argument('--out', required=True, help='folder for eval.json and eval.md')
    parser.add_argument('--steps', type=int, default=10)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--text-ablation', choices=TEXT_ABLATIONS, default='none',
                        help="condition plans on each clip's instruction (none), another clip's (shuffle) or "
                             'none at all (drop): does the model use its instruction?')
    parser.add_argument('--hint', default='auto',
                        help="target hint for a model that reads one (target_hint: true): 'auto' (the shipped "
                             "grounding network, as the planner does), 'truth' (the recorded mask of the named "
                             "object), 'none', or a grounding checkpoint")
    parser.add_argument('--hint-guidance', type=float, default=PlannerConfig.hint_guidance,
                        help='guidance towards the target hint (1 = none; else one more network call per step); '
                             "default: the planner's")
    parser.add_argument('--max-clips', type=int, default=None)
    parser.add_argument('--text-cache', default=None, help='folder of cached instruction embeddings')
    parser.add_argument('--stride', type=int, default=None,
                        help='frames between clip frames; default: clip frames span the whole episode')
    parser.add_argument('--dynamics', nargs='*', default=['flow', 'learned'], choices=['flow', 'learned'],
                        help='inverse-dynamics methods to score the plans\' end-effector paths with '
                             '(learned: the shipped idm_default.pt); none: images only')
    parser.add_argument('--idm-checkpoint', default=None,
                        help='learned inverse-dynamics checkpoint for --dynamics learned (default: the shipped one)')


def inverse_dynamics_methods(names: list[str], idm_checkpoint: str | None = None) -> dict:
    from video_planner.dynamics import DynamicsConfig, make_inverse_dynamics
    from video_planner.resources import model_path
    learned = str(idm_checkpoint or model_path('idm_default.pt'))
    return {name: make_inverse_dynamics(DynamicsConfig(
        method=name, learned_checkpoint=learned if name == 'learned' else None)) for name in names}


def run(args: argparse.Namespace) -> int:
    from video_planner.model.dataset import find_episode_files
    from video_planner.model.train import load_clips
    from video_planner.model.video_model import VideoModel
    from video_planner.text import TextEncoder
    try:
        model = VideoModel.load(args.checkpoint)
        cfg = model.config
        clips = load_clips(find_episode_files(args.data), cfg.horizon, args.stride, cfg.image_size, view=cfg.view)
        examples: list[dict] = []
        encoder = TextEncoder(cache_dir=args.text_cache)
        result = evaluate_plans(model, clips, encoder, steps=args.steps, seed=args.seed,
                                text_ablation=args.text_ablation,
                                max_clips=args.max_clips,
                                dynamics=inverse_dynamics_methods(args.dynamics, args.idm_checkpoint),
                                examples=examples, hint_fn=hint_source(model, args.hint, encoder),
                                hint_name=args.hint, hint_guidance=args.hint_guidance)
    except VideoPlannerError as exc:
        print(f'video-planner evaluate-model: error: {exc}', file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / 'eval.json').write_text(json.dumps(result, indent=2))
    (out / 'eval.md').write_text(to_markdown(result))
    write_sample_grids(examples, out)
    print(to_markdown(result))
    return 0


def write_sample_grids(examples: list[dict], out: Path, scale: int = 2) -> list[Path]:
    """samples_<arm>.png per arm and samples.png for all: each clip as a row of the true episode above a
    row of the sampled plan (frame 0 first), upscaled `scale`x; the captions go to samples.md."""
    from video_planner.model.grid import video_grid
    def write(name: str, chosen: list[dict]) -> Path:
        grid = video_grid([frames for e in chosen for frames in (e['truth'], e['plan'])])
        grid = cv2.resize(grid, (grid.shape[1] * scale, grid.shape[0] * scale), interpolation=cv2.INTER_NEAREST)
        cv2.imwrite(str(out / name), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
        return out / name

    paths, lines = [], ['Rows in pairs: the recorded episode (top), the sampled plan (below); frame 0 first.', '']
    arms = list(dict.fromkeys(e['arm'] for e in examples))
    for arm in arms:
        chosen = [e for e in examples if e['arm'] == arm]
        paths.append(write(f'samples_{arm}.png', chosen))
        lines.append(f'- `samples_{arm}.png`: ' + '; '.join(f'"{e["instruction"]}" ({e["group"]})' for e in chosen))
    if examples:
        paths.append(write('samples.png', [next(e for e in examples if e['arm'] == arm) for arm in arms]))
        lines.append('- `samples.png`: the first clip of every arm, in the order ' + ', '.join(arms))
    (out / 'samples.md').write_text('\n'.join(lines) + '\n')
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m video_planner.evaluation.open_loop', description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == '__main__':
    sys.exit(main())
