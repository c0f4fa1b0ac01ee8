"""`video-planner train`: fit one of the project's networks on episodes (--model), or fine-tune it (--init).

Each network's own module does the work; this one picks it, so no lower package imports the ones above
it. Launch on several processes with `torchrun --nproc_per_node N -m video_planner.train ...` (same flags).
"""
from __future__ import annotations

import argparse
import sys

from video_planner.errors import VideoPlannerError
from video_planner.model import train as video_train

NETWORKS = {
    'video': 'the video diffusion model',
    'idm': 'learned inverse dynamics',
    'policy': 'the image+language->action baseline of the benchmark',
    'grounding': "finds the object an instruction names (the shipped video model's target hint)",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    video_train.add_arguments(parser)
    parser.add_argument('--model', choices=list(NETWORKS), default='video',
                        help='; '.join(f'{name}: {what}' for name, what in NETWORKS.items()))


def run(args: argparse.Namespace) -> int:
    video_train.configure_torch(args)
    try:
        return int(_training_entry(args.model)(args) or 0)
    except VideoPlannerError as exc:
        print(f'video-planner train: error: {exc}', file=sys.stderr)
        return 2


def _training_entry(model: str):
    """The run(args) of the network's own training module (imported only when that network is trained)."""
    if model == 'idm':
        from video_planner.dynamics.learned import train_idm
        return train_idm
    if model == 'policy':
        from video_planner.policy.train import run as train_policy
        return train_policy
    if model == 'grounding':
        from video_planner.grounding.train import run as train_grounding
        return train_grounding
    return video_train.run_video


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='video-planner train', description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == '__main__':
    sys.exit(main())
