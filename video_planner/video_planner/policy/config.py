"""PolicyConfig: the shapes of the image+language policy network and how its targets are scaled."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from video_planner.config_fields import dataclass_from_dict
from video_planner.errors import ConfigError


@dataclass
class PolicyConfig:
    """A small CNN over the camera frame, FiLM-modulated by the instruction embedding.

    Targets: the next end-effector waypoint as a position delta in the robot base frame, divided by
    the arm's workspace scale (`ArmSpec.scale`, as the expert scales its motions) and by
    `position_scale_m`, plus the gripper command (closed logit).
    """
    image_size: int = 64
    channels: tuple[int, ...] = (32, 64, 96, 128)   # one stride-2 conv block per entry
    text_dim: int = 384                            # all-MiniLM-L6-v2
    hidden: int = 256
    position_scale_m: float = 0.03                 # a delta of this many metres (at scale 1) is 1.0
    gripper_weight: float = 0.5
    shift_px: int = 4                              # training augmentation: random image shifts

    def __post_init__(self):
        self.channels = tuple(int(c) for c in self.channels)
        if not (isinstance(self.image_size, int) and self.image_size >= 16):
            raise ConfigError(f'PolicyConfig.image_size: expected an int >= 16, got {self.image_size!r}')
        if not self.channels or any(c < 8 or c % 8 for c in self.channels):
            raise ConfigError(f'PolicyConfig.channels: expected multiples of 8, got {self.channels}')
        if self.image_size % (2 ** len(self.channels)):
            raise ConfigError(f'PolicyConfig.image_size {self.image_size} must be divisible by '
                              f'2^len(channels) = {2 ** len(self.channels)}')
        for name in ('text_dim', 'hidden'):
            if getattr(self, name) < 1:
                raise ConfigError(f'PolicyConfig.{name}: expected >= 1, got {getattr(self, name)}')
        if not self.position_scale_m > 0:
            raise ConfigError(f'PolicyConfig.position_scale_m: expected > 0, got {self.position_scale_m}')
        if self.shift_px < 0:
            raise ConfigError(f'PolicyConfig.shift_px: expected >= 0, got {self.shift_px}')

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d['channels'] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str = 'policy config') -> 'PolicyConfig':
        return dataclass_from_dict(cls, d, source)


# A network that trains a few steps in a second; used by the tests.
TINY = PolicyConfig(image_size=16, channels=(8, 16), hidden=32, shift_px=1)
