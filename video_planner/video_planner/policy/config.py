"""PolicyConfig: the shapes of the action-chunking policy and how its targets are scaled."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from video_planner.config_fields import dataclass_from_dict
from video_planner.errors import ConfigError


@dataclass
class PolicyConfig:
    """An ACT-style policy (Zhao et al., 2023): a FiLM CNN turns the frame (+ the target hint) into a grid of
    tokens; a transformer encoder reads them with a sentence token and a state token, and a decoder with
    `chunk` learned queries predicts the next `chunk` waypoints at once.

    Targets, per future waypoint i = 1..chunk: the TCP position at t+i minus the one at t, in the camera's
    optical frame (so that image motion and action share axes whatever the camera placement), divided by the
    arm's workspace scale (`ArmSpec.scale`) and by `position_scale_m`; and the gripper command at t+i.
    No CVAE: the scripted expert's demonstrations have one answer per state, so ACT's style latent has
    nothing to model.
    """
    image_size: int = 64
    channels: tuple[int, ...] = (32, 64, 128)   # one stride-2 FiLM conv block each: 64 px -> 8x8 tokens
    text_dim: int = 384                         # all-MiniLM-L6-v2
    d_model: int = 128
    heads: int = 4
    encoder_layers: int = 2
    decoder_layers: int = 2
    chunk: int = 8                              # waypoints predicted per step
    target_hint: bool = True                    # the grounding network's mask of the named object as input
    position_scale_m: float = 0.05              # a move of this many metres (at scale 1) is 1.0
    gripper_weight: float = 0.5
    shift_px: int = 4                           # training augmentation: random image shifts
    ensemble_decay: float = 0.1                 # ACT's temporal ensembling: weight exp(-decay * age rank)
    dropout: float = 0.1

    def __post_init__(self):
        self.channels = tuple(int(c) for c in self.channels)
        if not (isinstance(self.image_size, int) and self.image_size >= 16):
            raise ConfigError(f'PolicyConfig.image_size: expected an int >= 16, got {self.image_size!r}')
        if not self.channels or any(c < 8 or c % 8 for c in self.channels):
            raise ConfigError(f'PolicyConfig.channels: expected multiples of 8, got {self.channels}')
        if self.image_size % (2 ** len(self.channels)):
            raise ConfigError(f'PolicyConfig.image_size {self.image_size} must be divisible by '
                              f'2^len(channels) = {2 ** len(self.channels)}')
        for name in ('text_dim', 'd_model', 'heads', 'encoder_layers', 'decoder_layers', 'chunk'):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ConfigError(f'PolicyConfig.{name}: expected an int >= 1, got {value!r}')
        if self.d_model % self.heads:
            raise ConfigError(f'PolicyConfig.d_model {self.d_model} must be divisible by heads {self.heads}')
        if not isinstance(self.target_hint, bool):
            raise ConfigError(f'PolicyConfig.target_hint: expected true or false, got {self.target_hint!r}')
        if not self.position_scale_m > 0:
            raise ConfigError(f'PolicyConfig.position_scale_m: expected > 0, got {self.position_scale_m}')
        if self.shift_px < 0:
            raise ConfigError(f'PolicyConfig.shift_px: expected >= 0, got {self.shift_px}')
        if self.ensemble_decay < 0:
            raise ConfigError(f'PolicyConfig.ensemble_decay: expected >= 0, got {self.ensemble_decay}')
        if not 0 <= self.dropout < 1:
            raise ConfigError(f'PolicyConfig.dropout: expected in [0, 1), got {self.dropout}')

    @property
    def image_channels(self) -> int:
        return 3 + int(self.target_hint)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d['channels'] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str = 'policy config') -> 'PolicyConfig':
        return dataclass_from_dict(cls, d, source)


# A network that trains a few steps in a second; used by the tests.
TINY = PolicyConfig(image_size=16, channels=(8, 16), d_model=16, heads=2, encoder_layers=1, decoder_layers=1,
                    chunk=3, shift_px=1, dropout=0.0)
