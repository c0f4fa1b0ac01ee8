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


def percent(successes: int, n: int) -> str:
    """'62 % [41-79]': rate and 95 % Wilson interval in percent, as the reports print them."""
    lo, hi = wilson_interval(successes, n)
    return f'{100 * successes / max(n, 1):.0f} % [{100 * lo:.0f}-{100 * hi:.0f}]'


def mcnemar_exact_p(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value for two methods run on the same instances.

    only_a / only_b: instances that only method A / only method B solved (the discordant pairs). Under
    "no difference" each discordant pair is a fair coin, so this is a two-sided binomial test at 1/2.
    """
    if only_a < 0 or only_b < 0:
        raise VideoPlannerError(f'mcnemar_exact_p: expected counts >= 0, got {only_a}, {only_b}')
    n = only_a + only_b
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(only_a, only_b) + 1)) / 2.0 ** n
    return min(1.0, 2.0 * tail)
