"""Domain randomisation knobs of the tabletop and the per-episode draw from them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from video_planner.errors import VideoPlannerError

# Table-top colours (RGB 0..1) the randomiser picks from before jittering: wood, grey, light blue.
TABLE_COLORS = ((0.62, 0.5, 0.38), (0.55, 0.55, 0.55), (0.6, 0.66, 0.72), (0.7, 0.68, 0.6))


@dataclass(frozen=True)
class DomainRandomization:
    """How much each episode's look varies. `DomainRandomization.none()` gives a fixed look.

    camera_position_jitter_m / camera_target_jitter_m scale with the arm's workspace size.
    """
    table_color_jitter: float = 0.06
    randomize_table_color: bool = True
    light_direction_jitter: float = 0.6  # added to a unit light direction, then renormalised
    light_ambient_range: tuple[float, float] = (0.45, 0.7)
    light_diffuse_range: tuple[float, float] = (0.45, 0.7)
    camera_position_jitter_m: float = 0.03
    camera_target_jitter_m: float = 0.015
    object_color_jitter: float = 0.05

    def __post_init__(self):
        for name in ('table_color_jitter', 'light_direction_jitter', 'camera_position_jitter_m',
                     'camera_target_jitter_m', 'object_color_jitter'):
            if getattr(self, name) < 0:
                raise VideoPlannerError(f'DomainRandomization.{name}: expected >= 0, got {getattr(self, name)}')
        for name in ('light_ambient_range', 'light_diffuse_range'):
            low, high = getattr(self, name)
            if not 0.0 <= low <= high <= 1.5:
                raise VideoPlannerError(f'DomainRandomization.{name}: expected 0 <= low <= high <= 1.5, '
                                        f'got {(low, high)}')

    @classmethod
    def none(cls) -> 'DomainRandomization':
        return cls(table_color_jitter=0.0, randomize_table_color=False, light_direction_jitter=0.0,
                   light_ambient_range=(0.6, 0.6), light_diffuse_range=(0.55, 0.55),
                   camera_position_jitter_m=0.0, camera_target_jitter_m=0.0, object_color_jitter=0.0)


@dataclass(frozen=True)
class SceneLook:
    """One draw from `DomainRandomization`: everything about an episode's appearance."""
    table_color: tuple[float, float, float]
    light_direction: tuple[float, float, float]
    light_ambient: float
    light_diffuse: float
    camera_position_offset: tuple[float, float, float]  # metres, before scaling by the arm's size
    camera_target_offset: tuple[float, float, float]


def sample_look(randomization: DomainRandomization, rng: np.random.Generator) -> SceneLook:
    r = randomization
    base = TABLE_COLORS[int(rng.integers(len(TABLE_COLORS)))] if r.randomize_table_color else TABLE_COLORS[0]
    table = np.clip(np.array(base) + rng.uniform(-r.table_color_jitter, r.table_color_jitter, 3), 0, 1)
    light = np.array([0.4, -0.3, 1.0]) + rng.uniform(-r.light_direction_jitter, r.light_direction_jitter, 3)
    light[2] = abs(light[2]) + 0.3  # keep the light above the table
    light /= np.linalg.norm(light)
    return SceneLook(
        table_color=tuple(float(v) for v in table),
        light_direction=tuple(float(v) for v in light),
        light_ambient=float(rng.uniform(*r.light_ambient_range)),
        light_diffuse=float(rng.uniform(*r.light_diffuse_range)),
        camera_position_offset=tuple(float(v) for v in rng.normal(0, r.camera_position_jitter_m, 3)),
        camera_target_offset=tuple(float(v) for v in rng.normal(0, r.camera_target_jitter_m, 3)),
    )
