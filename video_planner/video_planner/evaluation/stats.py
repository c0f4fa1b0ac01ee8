"""Success rates with Wilson score intervals (good at small n and at 0 % / 100 %, unlike the normal one)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from video_planner.errors import VideoPlannerError

Z_95 = 1.959963984540054  # two-sided 95 % quantile of the standard normal


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """(low, high) Wilson score interval of a binomial proportion; (0, 1) when n == 0."""
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise VideoPlannerError(f'wilson_interval: expected 0 <= successes <= n, got successes={successes}, n={n}')
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # Clamp the rounding error at the ends (p = 0 gives exactly 0 in exact arithmetic).
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class SuccessRate:
    successes: int
    n: int

    @property
    def rate(self) -> float:
        return self.successes / self.n if self.n else float('nan')

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.successes, self.n)

    def format(self) -> str:
        """'62% [41-79] (n=16)': rate and 95 % Wilson interval in percent."""
        if self.n == 0:
            return 'n/a (n=0)'
        lo, hi = self.interval
        return f'{100 * self.rate:.0f}% [{100 * lo:.0f}-{100 * hi:.0f}] (n={self.n})'
