"""Training the grounding network with the project's generic Trainer (`video_planner.model.recipe`).

`video-planner train --model grounding ...` lands here (`run`), as does `python -m video_planner.grounding.train`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from video_planner.grounding.config import TINY, GroundingConfig
from video_planner.grounding.dataset import GroundingDataset
from video_planner.grounding.grounder import KIND
from video_planner.grounding.network import GroundingLoss, GroundingNetwork
from video_planner.model import recipe

GROUNDING = recipe.Recipe(
    title='grounding', kind=KIND, section='grounding', config_type=GroundingConfig, tiny=TINY,
    dataset_type=GroundingDataset, network_type=GroundingNetwork, loss_type=GroundingLoss,
    defaults=recipe.SMALL_NETWORK_DEFAULTS)


def train_grounding(data, out_dir: str | Path, config: GroundingConfig | None = None, train_config=None,
                    text_encoder=None, device: str = 'cpu', **kwargs):
    """Fit a GroundingNetwork on the episodes under `data`; returns (TrainResult, trained EMA network)."""
    return recipe.train(GROUNDING, data, out_dir, config, train_config, text_encoder, device, **kwargs)


def run(args: argparse.Namespace) -> int:
    return recipe.run(GROUNDING, args)


def main(argv: list[str] | None = None) -> int:
    return recipe.main(GROUNDING, argv)


if __name__ == '__main__':
    sys.exit(main())
