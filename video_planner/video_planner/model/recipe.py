"""Training the small text-conditioned networks around the video model (the grounding network).

Each is a dataset built from the episode files (clip starts, recoloured copies), a network whose text input
is centred on the training sentences' mean, and a loss, fitted by the project's generic Trainer. A
`Recipe` names those parts; `train` and `run` do the rest the same way for each.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from video_planner.config_fields import preset_or_yaml
from video_planner.errors import VideoPlannerError

# Small networks fit in minutes on the CPU with these (TrainConfig values); a recipe may use others.
SMALL_NETWORK_DEFAULTS = {'lr': 1e-3, 'batch_size': 64, 'steps': 3000, 'warmup_steps': 100, 'ema_decay': 0.995,
                          'log_every': 50, 'checkpoint_every': 1000, 'sample_every': 0, 'weight_decay': 1e-4,
                          'lr_schedule': 'cosine'}


@dataclass(frozen=True)
class Recipe:
    title: str               # as printed: 'grounding'
    kind: str                # checkpoint kind
    section: str             # the YAML config's section holding the network config
    config_type: type
    tiny: object             # the test-sized config
    dataset_type: type       # (data, text_encoder, config, clip_starts=, recolourings=, seed=) -> Dataset
    network_type: type
    loss_type: type          # (network, seed=) -> callable(batch) -> loss
    defaults: dict           # TrainConfig values (e.g. SMALL_NETWORK_DEFAULTS)
    recolourings: int = 3    # default recoloured copies of every clip


def load_config(recipe: Recipe, name_or_path: str | None) -> tuple[object, dict]:
    """'default' / 'tiny' or a YAML file with optional `<section>:` and `training:` sections."""
    return preset_or_yaml(name_or_path, recipe.config_type, recipe.tiny, recipe.section)


def train(recipe: Recipe, data, out_dir: str | Path, config=None, train_config=None, text_encoder=None,
          device: str = 'cpu', progress: bool = False, resume: bool = False, init: str | None = None,
          clip_starts: int = 2, recolourings: int = 0):
    """Fit the recipe's network on the episodes under `data`; returns (TrainResult, trained EMA network)."""
    from video_planner.model.trainer import TrainConfig, Trainer
    from video_planner.text import TextEncoder
    config = config or recipe.config_type()
    train_config = train_config or TrainConfig(**recipe.defaults)
    text_encoder = text_encoder or TextEncoder(cache_dir=Path(out_dir) / 'text_cache')
    dataset = recipe.dataset_type(data, text_encoder, config, clip_starts=clip_starts, recolourings=recolourings,
                                  seed=train_config.seed)
    network = recipe.network_type(config)
    network.text_mean.copy_(torch.from_numpy(dataset.text_mean()))
    if progress:
        print(f'{recipe.title}: {sum(p.numel() for p in network.parameters()) / 1e6:.2f} M parameters, '
              f'{len(dataset)} examples, {len(dataset.sentences)} sentences')
    trainer = Trainer(network, recipe.loss_type(network, seed=train_config.seed), dataset, train_config, out_dir,
                      model_config=config.to_dict(), kind=recipe.kind, device=device, progress=progress)
    trainer.start(resume, init)
    return trainer.fit(), trainer.ema


def add_arguments(parser: argparse.ArgumentParser, recipe: Recipe) -> None:
    parser.add_argument('--data', required=True, nargs='+', help='episode folder(s) or .hdf5 file(s)')
    parser.add_argument('--out', required=True, help='run folder: model.pt, checkpoint.pt, loss curve')
    parser.add_argument('--config', default='default',
                        help=f"'default', 'tiny' or a YAML with {recipe.section}:/training:")
    parser.add_argument('--steps', type=int, default=None)
    parser.add_argument('--batch-size', type=int, default=None)
    parser.add_argument('--lr', type=float, default=None)
    parser.add_argument('--seed', type=int, default=None)
    parser.add_argument('--clip-starts', type=int, default=2, help='start frames per episode (first half)')
    parser.add_argument('--recolourings', type=int, default=None,
                        help='recoloured copies of every clip (objects repainted, instruction renamed); '
                             f'default {recipe.recolourings}')
    parser.add_argument('--checkpoint-every', type=int, default=None)
    parser.add_argument('--workers', type=int, default=None, help='data loader worker processes')
    parser.add_argument('--resume', action='store_true')
    parser.add_argument('--init', default=None, help=f'start from these {recipe.title} weights (fine-tuning)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--text-cache', default=None,
                        help='folder of cached instruction embeddings (default OUT/text_cache)')


def training_config_from_args(recipe: Recipe, args: argparse.Namespace, yaml_training: dict):
    from video_planner.model.trainer import TrainConfig, overrides_from_args
    values = {**recipe.defaults, **yaml_training}
    values.update(overrides_from_args(args))
    return TrainConfig.from_dict(values, source=f'{recipe.title} training config')


def run(recipe: Recipe, args: argparse.Namespace) -> int:
    """Works with `add_arguments`' arguments and with `video-planner train`'s (extra ones are ignored)."""
    if getattr(args, 'threads', None):
        torch.set_num_threads(args.threads)
    config, yaml_training = load_config(recipe, getattr(args, 'config', 'default'))
    tcfg = training_config_from_args(recipe, args, yaml_training)
    from video_planner.text import TextEncoder
    encoder = TextEncoder(cache_dir=getattr(args, 'text_cache', None) or Path(args.out) / 'text_cache')
    recolourings = getattr(args, 'recolourings', None)
    result, _ = train(recipe, args.data, args.out, config, tcfg, encoder, getattr(args, 'device', 'cpu'),
                      progress=True, resume=getattr(args, 'resume', False), init=getattr(args, 'init', None),
                      clip_starts=max(1, int(getattr(args, 'clip_starts', 2) or 2)),
                      recolourings=recipe.recolourings if recolourings is None else recolourings)
    final = result.losses[-1][1] if result.losses else float('nan')
    print(f'{recipe.title} trained to step {result.step} ({tcfg.steps} x batch {tcfg.batch_size}); final loss '
          f'{final:.4f}; weights {Path(args.out) / "model.pt"}')
    return 0


def main(recipe: Recipe, argv: list[str] | None = None) -> int:
    """`python -m video_planner.<network>.train`: the recipe's arguments, errors as one line and exit code 2."""
    parser = argparse.ArgumentParser(prog=f'video-planner train --model {recipe.section}',
                                     description=f'Train the {recipe.title} network.')
    add_arguments(parser, recipe)
    try:
        return run(recipe, parser.parse_args(argv))
    except VideoPlannerError as exc:
        print(f'{recipe.section} train: error: {exc}', file=sys.stderr)
        return 2
