"""Open-loop quality of sampled plans: per-frame PSNR / SSIM against the true future on held-out episodes.

Clips are grouped by what they hold out: `seen` (training arms, training phrasings), `held_out_arm`
(the arm never trained on: cross-embodiment transfer) and `held_out_paraphrase` (instructions phrased
with the held-out templates: language generalisation). A "copy frame0" baseline (predict that nothing
moves) is scored alongside, so a number can be read as better or worse than doing nothing.
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


def clip_group(clip: dict, held_out_arm: str, heldout_patterns: list[re.Pattern] | None = None) -> str:
    """The held-out arm dominates: a held-out arm clip counts there whatever its phrasing.

    The paraphrase split is the clip's 'split' field when it has one, else found by matching the
    instruction against the simulator's held-out templates.
    """
    if clip.get('arm') == held_out_arm:
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

    def summary(self) -> dict:
        def per_frame(rows):
            return np.mean(np.stack(rows), axis=0).round(3).tolist() if rows else []

        def mean(rows):
            return round(float(np.mean(np.stack(rows))), 3) if rows else None
        return {'clips': len(self.psnr), 'psnr': mean(self.psnr), 'ssim': mean(self.ssim),
                'copy_frame0_psnr': mean(self.copy_psnr), 'copy_frame0_ssim': mean(self.copy_ssim),
                'psnr_per_frame': per_frame(self.psnr), 'ssim_per_frame': per_frame(self.ssim)}


def _finite(values: list[float]) -> np.ndarray:
    # Identical frames give inf PSNR; cap at 100 dB so means stay finite.
    return np.minimum(np.asarray(values, np.float64), 100.0)


def evaluate_plans(model, clips: Iterable[dict], text_encoder, steps: int = 10, seed: int = 0,
                   batch_size: int = 8, max_clips: int | None = None, held_out_arm: str | None = None) -> dict:
    """Sample one plan per clip and score it; returns {group: summary} plus the settings used."""
    if held_out_arm is None:
        from video_planner.sim.arms import HELD_OUT_ARM as held_out_arm
    scores = {g: GroupScores() for g in GROUPS}
    pending: list[dict] = []

    def flush():
        frame0 = np.stack([c['frame0'] for c in pending])
        text = text_encoder.encode_batch([c['instruction'] for c in pending])
        plans = model.sample(frame0, text, steps=steps, seed=seed)
        for clip, plan in zip(pending, plans):
            s = scores[clip_group(clip, held_out_arm)]
            truth = clip['future']
            s.psnr.append(_finite([psnr(p, t) for p, t in zip(plan, truth)]))
            s.ssim.append(np.array([ssim(p, t) for p, t in zip(plan, truth)]))
            s.copy_psnr.append(_finite([psnr(clip['frame0'], t) for t in truth]))
            s.copy_ssim.append(np.array([ssim(clip['frame0'], t) for t in truth]))
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
    return {'settings': {'steps': steps, 'seed': seed, 'clips': n, 'held_out_arm': held_out_arm},
            'groups': {g: s.summary() for g, s in scores.items()}}


def to_markdown(result: dict) -> str:
    s = result['settings']
    lines = [f"Sampled plans vs true future ({s['clips']} clips, {s['steps']} DDIM steps, seed {s['seed']}, "
             f"held-out arm `{s['held_out_arm']}`).", '',
             '| group | clips | PSNR dB | SSIM | copy-frame0 PSNR dB | copy-frame0 SSIM |',
             '|---|---|---|---|---|---|']
    for g, r in result['groups'].items():
        def f(v):
            return '-' if v is None else f'{v:.3f}'
        lines.append(f"| {g} | {r['clips']} | {f(r['psnr'])} | {f(r['ssim'])} | {f(r['copy_frame0_psnr'])} | "
                     f"{f(r['copy_frame0_ssim'])} |")
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
    parser.add_argument('--max-clips', type=int, default=None)
    parser.add_argument('--text-cache', default=None, help='folder of cached instruction embeddings')
    parser.add_argument('--stride', type=int, default=None,
                        help='frames between clip frames; default: clip frames span the whole episode')


def run(args: argparse.Namespace) -> int:
    from video_planner.model.dataset import find_episode_files
    from video_planner.model.train import load_clips
    from video_planner.model.video_model import VideoModel
    from video_planner.text import TextEncoder
    try:
        model = VideoModel.load(args.checkpoint)
        cfg = model.config
        clips = load_clips(find_episode_files(args.data), cfg.horizon, args.stride, cfg.image_size)
        result = evaluate_plans(model, clips, TextEncoder(cache_dir=args.text_cache), steps=args.steps, seed=args.seed,
                                max_clips=args.max_clips)
    except VideoPlannerError as exc:
        print(f'video-planner evaluate-model: error: {exc}', file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / 'eval.json').write_text(json.dumps(result, indent=2))
    (out / 'eval.md').write_text(to_markdown(result))
    print(to_markdown(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='python -m video_planner.model.evaluate', description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == '__main__':
    sys.exit(main())
