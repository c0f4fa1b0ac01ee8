"""Training the image+language policy by behaviour cloning, with the project's generic Trainer.

`video-planner train --model policy ...` lands here (`add_arguments` / `run`), as does
`python -m video_planner.policy.train ...`. Budget: unless --steps/--batch-size say otherwise, the
policy gets the same optimizer steps and batch size as the video model's training config
(config/model_default.yaml `training:`), so the comparison in the benchmark is at a comparable budget.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from video_planner.config_fields import preset_or_yaml
from video_planner.errors import VideoPlannerError
from video_planner.policy.config import TINY, PolicyConfig
from video_planner.policy.dataset import PolicyStepDataset
from video_planner.policy.network import PolicyLoss, PolicyNetwork
from video_planner.policy.policy import KIND

POLICY_TRAINING_DEFAULTS = {'lr': 3e-4, 'warmup_steps': 200, 'ema_decay': 0.995, 'log_every': 50,
                            'checkpoint_every': 2000, 'sample_every': 0, 'weight_decay': 1e-4}


def load_policy_config(name_or_path: str | None) -> tuple[PolicyConfig, dict]:
    """'default' / 'tiny' or a YAML file with optional `policy:` and `training:` sections."""
    return preset_or_yaml(name_or_path, PolicyConfig, TINY, 'policy')


def video_model_budget() -> dict:
    """batch_size and steps of the shipped video model's training config (the comparable budget)."""
    from video_planner.model.config import config_yaml_path, load_yaml_section
    path = config_yaml_path('default')
    section = load_yaml_section(path, 'training') if path is not None else {}
    return {k: section[k] for k in ('batch_size', 'steps') if k in section}


def train_policy(data, out_dir: str | Path, policy_config: PolicyConfig | None = None, train_config=None,
                 text_encoder=None, device: str = 'cpu', progress: bool = False, resume: bool = False,
                 init: str | None = None):
    """Fit a PolicyNetwork on the episodes under `data`; returns (TrainResult, trained EMA network)."""
    from video_planner.model.trainer import TrainConfig, Trainer
    from video_planner.text import TextEncoder
    policy_config = policy_config or PolicyConfig()
    train_config = train_config or TrainConfig(**POLICY_TRAINING_DEFAULTS)
    text_encoder = text_encoder or TextEncoder(cache_dir=Path(out_dir) / 'text_cache')
    dataset = PolicyStepDataset(data, text_encoder, policy_config)
    network = PolicyNetwork(policy_config)
    trainer = Trainer(network, PolicyLoss(network, seed=train_config.seed), dataset, train_config, out_dir,
                      model_config=policy_config.to_dict(), kind=KIND, device=device, progress=progress)
    trainer.start(resume, init)
    return trainer.fit(), trainer.ema


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--data', required=True, nargs='+', help='episode folder(s) or .hdf5 file(s)')
    parser.add_argument('--out', required=True, help='run folder: model.pt, checkpoint.pt, loss curve')
    parser.add_argument('--config', default='default', help="'default', 'tiny' or a YAML with policy:/training:")
    parser.add_argument('--steps', type=int, default=None, help="default: the video model's training steps")
    parser.add_argument('--batch-size', type=int, default=None, help="default: the video model's batch size")
    parser.add_argument('--lr', type=float, default=None)
    parser.add_argument('--seed', type=int, default=None)
    parser.add_argument('--checkpoint-every', type=int, default=None)
    parser.add_argument('--workers', type=int, default=None, help='data loader worker processes')
    parser.add_argument('--resume', action='store_true')
    parser.add_argument('--init', default=None, help='start from these policy weights (fine-tuning)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')


def training_config_from_args(args: argparse.Namespace, yaml_training: dict):
    from video_planner.model.trainer import TrainConfig, overrides_from_args
    values = {**POLICY_TRAINING_DEFAULTS, **video_model_budget(), **yaml_training}
    values.update(overrides_from_args(args))
    return TrainConfig.from_dict(values, source='policy training config')


def run(args: argparse.Namespace) -> int:
    """Works with this module's arguments and with `video-planner train`'s (extra ones are ignored)."""
    if getattr(args, 'threads', None):
        torch.set_num_threads(args.threads)
    config_name = getattr(args, 'config', 'default')
    policy_config, yaml_training = load_policy_config(config_name)
    tcfg = training_config_from_args(args, yaml_training)
    result, _ = train_policy(args.data, args.out, policy_config, tcfg, device=getattr(args, 'device', 'cpu'),
                             progress=True, resume=getattr(args, 'resume', False), init=getattr(args, 'init', None))
    final = result.losses[-1][1] if result.losses else float('nan')
    print(f'policy trained to step {result.step} ({tcfg.steps} x batch {tcfg.batch_size}); final loss {final:.4f}; '
          f'weights {Path(args.out) / "model.pt"}')
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='video-planner train --model policy', description=__doc__.splitlines()[0])
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except VideoPlannerError as exc:
        print(f'policy train: error: {exc}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
