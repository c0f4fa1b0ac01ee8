"""Training the plan critic with the project's generic Trainer.

`video-planner train --model critic ...` lands here (`run`), as does `python -m video_planner.critic.train`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from video_planner.config_fields import preset_or_yaml
from video_planner.critic.config import TINY, CriticConfig
from video_planner.critic.critic import KIND
from video_planner.critic.dataset import CriticClipDataset
from video_planner.critic.network import CriticLoss, CriticNetwork
from video_planner.errors import VideoPlannerError

CRITIC_TRAINING_DEFAULTS = {'lr': 1e-3, 'batch_size': 64, 'steps': 3000, 'warmup_steps': 100, 'ema_decay': 0.995,
                            'log_every': 50, 'checkpoint_every': 1000, 'sample_every': 0, 'weight_decay': 1e-4,
                            'lr_schedule': 'cosine'}


def load_critic_config(name_or_path: str | None) -> tuple[CriticConfig, dict]:
    """'default' / 'tiny' or a YAML file with optional `critic:` and `training:` sections."""
    return preset_or_yaml(name_or_path, CriticConfig, TINY, 'critic')


def train_critic(data, out_dir: str | Path, critic_config: CriticConfig | None = None, train_config=None,
                 text_encoder=None, device: str = 'cpu', progress: bool = False, resume: bool = False,
                 init: str | None = None, clip_starts: int = 2, recolourings: int = 0):
    """Fit a CriticNetwork on the episodes under `data`; returns (TrainResult, trained EMA network)."""
    from video_planner.model.trainer import TrainConfig, Trainer
    from video_planner.text import TextEncoder
    critic_config = critic_config or CriticConfig()
    train_config = train_config or TrainConfig(**CRITIC_TRAINING_DEFAULTS)
    text_encoder = text_encoder or TextEncoder(cache_dir=Path(out_dir) / 'text_cache')
    dataset = CriticClipDataset(data, text_encoder, critic_config, clip_starts=clip_starts,
                                recolourings=recolourings, seed=train_config.seed)
    network = CriticNetwork(critic_config)
    network.text_mean.copy_(torch.from_numpy(dataset.text_mean()))
    if progress:
        print(f'plan critic: {sum(p.numel() for p in network.parameters()) / 1e6:.2f} M parameters, '
              f'{len(dataset)} clips, {len(dataset.sentences)} sentences, '
              f'{sum(bool(c) for c in dataset.counter)} clips with a counterfactual instruction')
    trainer = Trainer(network, CriticLoss(network, seed=train_config.seed), dataset, train_config, out_dir,
                      model_config=critic_config.to_dict(), kind=KIND, device=device, progress=progress)
    trainer.start(resume, init)
    return trainer.fit(), trainer.ema


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--data', required=True, nargs='+', help='episode folder(s) or .hdf5 file(s)')
    parser.add_argument('--out', required=True, help='run folder: model.pt, checkpoint.pt, loss curve')
    parser.add_argument('--config', default='default', help="'default', 'tiny' or a YAML with critic:/training:")
    parser.add_argument('--steps', type=int, default=None)
    parser.add_argument('--batch-size', type=int, default=None)
    parser.add_argument('--lr', type=float, default=None)
    parser.add_argument('--seed', type=int, default=None)
    parser.add_argument('--clip-starts', type=int, default=2, help='start frames per episode (first half)')
    parser.add_argument('--recolourings', type=int, default=None,
                        help='recoloured copies of every clip (objects repainted, instruction renamed); default 3')
    parser.add_argument('--checkpoint-every', type=int, default=None)
    parser.add_argument('--workers', type=int, default=None, help='data loader worker processes')
    parser.add_argument('--resume', action='store_true')
    parser.add_argument('--init', default=None, help='start from these critic weights (fine-tuning)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--text-cache', default=None,
                        help='folder of cached instruction embeddings (default OUT/text_cache)')


def training_config_from_args(args: argparse.Namespace, yaml_training: dict):
    from video_planner.model.trainer import TrainConfig, overrides_from_args
    values = {**CRITIC_TRAINING_DEFAULTS, **yaml_training}
    values.update(overrides_from_args(args))
    return TrainConfig.from_dict(values, source='critic training config')


def run(args: argparse.Namespace) -> int:
    """Works with this module's arguments and with `video-planner train`'s (extra ones are ignored)."""
    if getattr(args, 'threads', None):
        torch.set_num_threads(args.threads)
    critic_config, yaml_training = load_critic_config(getattr(args, 'config', 'default'))
    tcfg = training_config_from_args(args, yaml_training)
    from video_planner.text import TextEncoder
    encoder = TextEncoder(cache_dir=getattr(args, 'text_cache', None) or Path(args.out) / 'text_cache')
    result, _ = train_critic(args.data, args.out, critic_config, tcfg, encoder, getattr(args, 'device', 'cpu'),
                             progress=True, resume=getattr(args, 'resume', False), init=getattr(args, 'init', None),
                             clip_starts=max(1, int(getattr(args, 'clip_starts', 2) or 2)),
                             recolourings=3 if getattr(args, 'recolourings', None) is None else args.recolourings)
    final = result.losses[-1][1] if result.losses else float('nan')
    print(f'plan critic trained to step {result.step} ({tcfg.steps} x batch {tcfg.batch_size}); final loss '
          f'{final:.4f}; weights {Path(args.out) / "model.pt"}')
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='video-planner train --model critic', description=__doc__.splitlines()[0])
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except VideoPlannerError as exc:
        print(f'critic train: error: {exc}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
