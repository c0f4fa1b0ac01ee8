"""Training the plan critic with the project's generic Trainer (`video_planner.text.training`).

`video-planner train --model critic ...` lands here (`run`), as does `python -m video_planner.critic.train`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from video_planner.critic.config import TINY, CriticConfig
from video_planner.critic.critic import KIND
from video_planner.critic.dataset import CriticClipDataset
from video_planner.critic.network import CriticLoss, CriticNetwork
from video_planner.text import training

CRITIC = training.Recipe(
    title='plan critic', kind=KIND, section='critic', config_type=CriticConfig, tiny=TINY,
    dataset_type=CriticClipDataset, network_type=CriticNetwork, loss_type=CriticLoss,
    defaults=training.SMALL_NETWORK_DEFAULTS)


def train_critic(data, out_dir: str | Path, critic_config: CriticConfig | None = None, train_config=None,
                 text_encoder=None, device: str = 'cpu', **kwargs):
    """Fit a CriticNetwork on the episodes under `data`; returns (TrainResult, trained EMA network)."""
    return training.train(CRITIC, data, out_dir, critic_config, train_config, text_encoder, device, **kwargs)


def run(args: argparse.Namespace) -> int:
    return training.run(CRITIC, args)


def main(argv: list[str] | None = None) -> int:
    return training.main(CRITIC, argv)


if __name__ == '__main__':
    sys.exit(main())
