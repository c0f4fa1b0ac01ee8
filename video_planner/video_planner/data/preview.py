"""Pictures of episodes: a strip of evenly spaced frames per episode, and one strip per arm.

`python -m video_planner.data.preview --out docs/media` records one pick-and-place episode per arm
(held-out arm included) at 128x128 and writes `episodes_per_arm.png` (one row per arm) and a GIF
per arm.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import imageio.v2 as imageio
import numpy as np

from video_planner.data.episode import Episode


def episode_strip(episode: Episode, frames: int = 8, label: bool = True) -> np.ndarray:
    """(H, frames * W, 3) uint8: `frames` evenly spaced frames of the episode, first to last."""
    idx = np.round(np.linspace(0, len(episode) - 1, frames)).astype(int)
    strip = np.concatenate([episode.rgb[i] for i in idx], axis=1).copy()
    if label:
        text = f'{episode.arm}: "{episode.instruction}"' + ('' if episode.success else ' (failed)')
        scale = strip.shape[0] / 256
        cv2.putText(strip, text, (4, int(14 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.9 * scale, (0, 0, 0),
                    max(1, int(3 * scale)), cv2.LINE_AA)
        cv2.putText(strip, text, (4, int(14 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.9 * scale,
                    (255, 255, 255), max(1, int(1.2 * scale)), cv2.LINE_AA)
    return strip


def write_arm_previews(out: Path, family: str = 'pick_place', seed: int = 0, image_size: int = 128) -> list[Path]:
    from video_planner.data.recording import record_expert_episode
    from video_planner.sim.arms import ARMS, HELD_OUT_ARMS
    from video_planner.sim.tasks import sample_task
    from video_planner.sim.world import TabletopWorld

    out.mkdir(parents=True, exist_ok=True)
    rows, written = [], []
    for arm in ARMS:
        with TabletopWorld(arm, seed=seed, image_size=image_size) as world:
            task = sample_task(world.spec, family, np.random.default_rng(seed))
            episode = record_expert_episode(world, task, seed=seed)
        if arm in HELD_OUT_ARMS:
            episode.arm = f'{arm} (held out)'
        rows.append(episode_strip(episode))
        gif = out / f'episode_{arm}.gif'
        imageio.mimsave(gif, list(episode.rgb), duration=0.12, loop=0)
        written.append(gif)
    png = out / 'episodes_per_arm.png'
    imageio.imwrite(png, np.concatenate(rows, axis=0))
    written.append(png)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', type=Path, default=Path('docs/media'))
    parser.add_argument('--task', default='pick_place')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--image-size', type=int, default=128)
    args = parser.parse_args(argv)
    for path in write_arm_previews(args.out, args.task, args.seed, args.image_size):
        print(path)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
