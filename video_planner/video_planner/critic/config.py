"""CriticConfig: the shape of the plan critic's network and the augmentations it trains with."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from video_planner.config_fields import dataclass_from_dict
from video_planner.errors import ConfigError


@dataclass
class CriticConfig:
    """A small CNN over a few plan frames stacked as channels, FiLM-modulated by the instruction.

    `frames` are positions along the plan (0 = the camera frame, 1 = the last planned frame): the critic
    judges where the plan goes, which the last frame shows and the middle one confirms.
    """
    image_size: int = 64
    frames: tuple[float, ...] = (0.0, 0.5, 1.0)
    channels: tuple[int, ...] = (32, 64, 96, 96)    # one stride-2 conv block per entry
    text_dim: int = 384                            # all-MiniLM-L6-v2
    hidden: int = 128
    shift_px: int = 2                              # training augmentation: random image shifts
    blur_sigma_px: float = 1.5                     # training augmentation: generated plans are blurrier

    def __post_init__(self):
        self.channels = tuple(int(c) for c in self.channels)
        self.frames = tuple(float(f) for f in self.frames)
        if not (isinstance(self.image_size, int) and self.image_size >= 16):
            raise ConfigError(f'CriticConfig.image_size: expected an int >= 16, got {self.image_size!r}')
        if not self.frames or any(not 0.0 <= f <= 1.0 for f in self.frames):
            raise ConfigError(f'CriticConfig.frames: expected positions in [0, 1], got {self.frames}')
        if not self.channels or any(c < 8 or c % 8 for c in self.channels):
            raise ConfigError(f'CriticConfig.channels: expected multiples of 8, got {self.channels}')
        if self.image_size % (2 ** len(self.channels)):
            raise ConfigError(f'CriticConfig.image_size {self.image_size} must be divisible by '
                              f'2^len(channels) = {2 ** len(self.channels)}')
        for name in ('text_dim', 'hidden'):
            if getattr(self, name) < 1:
                raise ConfigError(f'CriticConfig.{name}: expected >= 1, got {getattr(self, name)}')
        if self.shift_px < 0 or self.blur_sigma_px < 0:
            raise ConfigError('CriticConfig.shift_px and blur_sigma_px: expected >= 0')

    def frame_indices(self, length: int) -> list[int]:
        """Which of a plan's `length` frames (camera frame first) the critic reads."""
        return [int(round(f * (length - 1))) for f in self.frames]

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d['channels'], d['frames'] = list(self.channels), list(self.frames)
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str = 'critic config') -> 'CriticConfig':
        return dataclass_from_dict(cls, d, source)


# A network that trains a few steps in a second; used by the tests.
TINY = CriticConfig(image_size=16, channels=(8, 16), hidden=32, shift_px=1, blur_sigma_px=0.5)
