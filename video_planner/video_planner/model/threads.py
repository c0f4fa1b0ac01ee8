"""How many CPU threads torch may use in a node, so a busy robot computer does not slow sampling 100x.

torch's default takes every core for intra-op work and spins its OpenMP threads while waiting for each
other. When other processes hold some cores, a preempted thread stalls all the others: on a 2-core machine
with two busy processes alongside, one plan took 49.7 s with 2 threads against 0.45 s idle, and 1.7 s with
1 thread (issue 21; benchmarks/results/sampling_under_load.md). A node therefore takes half the cores it may
run on (at least one), and one inter-op thread: it runs one goal at a time, eager models have no parallel
branches for inter-op threads to use.
"""
from __future__ import annotations

import os

from video_planner.errors import ConfigError


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, e.g. under taskset or a container's cpuset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def default_torch_threads(cores: int) -> int:
    """Half the cores, at least one: room for the rest of the robot's software."""
    return max(1, cores // 2)


def set_torch_threads(requested: int = 0) -> int:
    """Sets torch's intra-op threads (0 = default_torch_threads) and one inter-op thread; returns the count.

    Call before the first model runs: torch fixes its inter-op pool at the first parallel work.
    """
    import torch
    if requested < 0:
        raise ConfigError(f'torch_threads must be >= 0 (0 = half the usable cores), got {requested}')
    threads = requested or default_torch_threads(usable_cores())
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # the pool exists already (a second node in this process): it keeps its size
        pass
    return threads
