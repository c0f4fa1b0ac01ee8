"""A short history of stamped sensor messages, thinned in time (no ROS types: tested without rclpy).

The inverse-dynamics node looks up the depth and robot state of a frame that sampling took a while to turn
into a video, so each is kept for HISTORY_S seconds. Messages come at 10-100 Hz: the history keeps one per
HISTORY_SPACING_S, and always the newest.
"""
from __future__ import annotations

from collections import deque
from typing import Optional

HISTORY_S = 60.0
HISTORY_SPACING_S = 0.2
# Entries kept: every entry but the newest is at least HISTORY_SPACING_S after the one before it, so the
# history spans at least HISTORY_S whatever the message rate and its jitter.
HISTORY = int(round(HISTORY_S / HISTORY_SPACING_S)) + 2
# Depth and robot state this far (s) from the frame's stamp are still "taken with it".
MATCH_TOLERANCE_S = 0.5


def new_history() -> deque:
    return deque(maxlen=HISTORY)


def append_thinned(history: deque, item: tuple, spacing_s: float = HISTORY_SPACING_S) -> None:
    """Append ``item`` (stamp first), thinning the history to one entry per ``spacing_s``.

    The newest entry holds its slot until it is ``spacing_s`` after the entry before it: until then a newer
    message replaces it. Comparing the new message with the entry two back instead (as before) let two
    entries share one slot whenever the rate did not divide the spacing exactly, so timer jitter halved
    the time the history spanned (31-35 s of 60 s, issue 21).
    """
    if len(history) >= 2 and history[-1][0] - history[-2][0] < spacing_s:
        history[-1] = item
    else:
        history.append(item)


def closest(history: deque, stamp: float, tolerance_s: float = MATCH_TOLERANCE_S) -> Optional[tuple]:
    """The entry stamped closest to ``stamp``, or None when none is within ``tolerance_s``."""
    if not history:
        return None
    best = min(history, key=lambda item: abs(item[0] - stamp))
    return best if abs(best[0] - stamp) <= tolerance_s else None


# A camera frame is stale (the camera has likely stopped) once no newer one came for this many of the
# camera's own periods; never less than STALE_MIN_S, so one late frame on a busy machine is not "dead".
STALE_PERIODS = 5.0
STALE_MIN_S = 1.0


class FrameArrivals:
    """When the frames of one topic arrive (monotonic clock), and so when the latest one is stale."""

    def __init__(self, smoothing: float = 0.2):
        self._smoothing = smoothing
        self.last_s: Optional[float] = None
        self.period_s: Optional[float] = None

    def arrived(self, now_s: float) -> None:
        if self.last_s is not None:
            gap = now_s - self.last_s
            self.period_s = gap if self.period_s is None else (1 - self._smoothing) * self.period_s + \
                self._smoothing * gap
        self.last_s = now_s

    def staleness_bound_s(self, override_s: float = 0.0) -> float:
        """``override_s`` when > 0, else STALE_PERIODS camera periods (at least STALE_MIN_S)."""
        if override_s > 0:
            return override_s
        return max(STALE_PERIODS * (self.period_s or 0.0), STALE_MIN_S)

    def stale_reason(self, now_s: float, override_s: float = 0.0) -> Optional[str]:
        """Why the latest frame is too old to plan on, or None while it is fresh."""
        if self.last_s is None:
            return None
        age, bound = now_s - self.last_s, self.staleness_bound_s(override_s)
        if age <= bound:
            return None
        rule = (f'max_frame_staleness_s={override_s:g}' if override_s > 0 else
                f'{STALE_PERIODS:g} periods of the camera\'s {self.period_s or 0.0:.3f} s, at least {STALE_MIN_S:g} s')
        return f'the latest camera frame arrived {age:.2f} s ago, more than {bound:.2f} s ({rule}); has the camera stopped?'
