"""What happened during one episode, for the success rules that judge the whole episode, not its last frame.

The strict rules (sim/tasks.py) ask "which object did the gripper touch first?" and "did any other object
move?": neither can be read from the final scene alone (an object knocked and at rest elsewhere looks like
an object that was never there). `TabletopWorld` owns one `EpisodeMonitor`, resets it with the objects'
start positions and feeds it after every control step, so every caller of `world.success()` (evaluation,
data recording, the simulated robot node) is judged on the same history.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class EpisodeMonitor:
    """First contacts and the largest displacement of every object since the episode started."""
    start_positions: dict[str, np.ndarray] = field(default_factory=dict)
    first_touch_step: dict[str, int] = field(default_factory=dict)  # object -> control step of its first touch
    first_top_touch_step: dict[str, int] = field(default_factory=dict)  # object -> first touch on its top face
    max_displacement_m: dict[str, float] = field(default_factory=dict)
    steps: int = 0

    def reset(self, start_positions: dict[str, np.ndarray]) -> None:
        self.start_positions = {k: np.asarray(v, dtype=float).copy() for k, v in start_positions.items()}
        self.first_touch_step = {}
        self.first_top_touch_step = {}
        self.max_displacement_m = {k: 0.0 for k in start_positions}
        self.steps = 0

    def record(self, positions: dict[str, np.ndarray], touching: set[str], top_touching: set[str]) -> None:
        """One control step: the objects' positions now, the objects the gripper touches now, and those of
        them it touches on their top face."""
        self.steps += 1
        for name in touching:
            self.first_touch_step.setdefault(name, self.steps)
        for name in top_touching:
            self.first_top_touch_step.setdefault(name, self.steps)
        for name, pos in positions.items():
            d = float(np.linalg.norm(np.asarray(pos, dtype=float) - self.start_positions[name]))
            self.max_displacement_m[name] = max(self.max_displacement_m.get(name, 0.0), d)
