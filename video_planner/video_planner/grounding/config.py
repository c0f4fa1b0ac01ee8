"""GroundingConfig: the shape of the grounding network and the augmentations it trains with."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from video_planner.config_fields import dataclass_from_dict
from video_planner.errors import ConfigError


ROLES = ('object', 'destination')


@dataclass
class GroundingConfig:
    """A small encoder-decoder over the camera frame, FiLM-modulated by the instruction at every level."""
    image_size: int = 32                          # objects are 4-20 px at 32 px; 7x cheaper than 64
    channels: tuple[int, ...] = (32, 64, 96)      # one stride-2 FiLM block per entry, mirrored on the way up
    text_dim: int = 384                           # all-MiniLM-L6-v2
    shift_px: int = 2                             # training augmentation: random image shifts
    # 'object': the object the instruction names (to reach, push, pick); 'destination': where it asks that
    # object to go ("... on the blue pad", "push ... toward the red cube"). One network per role.
    role: str = 'object'

    def __post_init__(self):
        self.channels = tuple(int(c) for c in self.channels)
        if not (isinstance(self.image_size, int) and self.image_size >= 16):
            raise ConfigError(f'GroundingConfig.image_size: expected an int >= 16, got {self.image_size!r}')
        if not self.channels or any(c < 8 or c % 8 for c in self.channels):
            raise ConfigError(f'GroundingConfig.channels: expected multiples of 8, got {self.channels}')
        if self.image_size % (2 ** len(self.channels)):
            raise ConfigError(f'GroundingConfig.image_size {self.image_size} must be divisible by '
                              f'2^len(channels) = {2 ** len(self.channels)}')
        if self.role not in ROLES:
            raise ConfigError(f'GroundingConfig.role: expected one of {ROLES}, got {self.role!r}')
        if self.text_dim < 1 or self.shift_px < 0:
            raise ConfigError('GroundingConfig: text_dim >= 1 and shift_px >= 0 expected')

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d['channels'] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str = 'grounding config') -> 'GroundingConfig':
        return dataclass_from_dict(cls, d, source)


# A network that trains a few steps in a second; used by the tests.
TINY = GroundingConfig(image_size=16, channels=(8, 16), shift_px=1)
