"""Episode records of finished `video-planner eval` runs, keyed by task instance for paired comparisons.

Two runs with the same instance seeds meet the very same instances, so a record is found by its instance:
(suite_seed, arm, family, split, index). A run with several instance seeds (`--seeds`) holds one instance
per seed at each position, hence suite_seed in the key.
"""
from __future__ import annotations

import json
from pathlib import Path

from video_planner.errors import VideoPlannerError

INSTANCE_KEY = ('suite_seed', 'arm', 'family', 'split', 'index')


def instance_key(record: dict) -> tuple:
    return tuple(record.get(k) for k in INSTANCE_KEY)


def read_run(path: str | Path) -> dict:
    """The parsed closed_loop.json of a run (the file, or the folder holding it)."""
    path = Path(path)
    path = path / 'closed_loop.json' if path.is_dir() else path
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise VideoPlannerError(f'{path}: not a closed_loop.json of `video-planner eval` ({exc})') from exc
    if not isinstance(data, dict) or not isinstance(data.get('records'), list):
        raise VideoPlannerError(f'{path}: not a closed_loop.json of `video-planner eval` (no list of records)')
    return data


def load_records(*paths: str | Path) -> list[dict]:
    """The episode records of the runs in `paths` (closed_loop.json files or folders holding one); where two
    runs hold the same method on the same instance, the later run's record is kept."""
    out: dict[tuple, dict] = {}
    for path in paths:
        for r in read_run(path)['records']:
            out[(r['method'],) + instance_key(r)] = r
    return list(out.values())


def by_instance(records, method: str) -> dict[tuple, dict]:
    """{instance key: record} of one method's records."""
    return {instance_key(r): r for r in records if r['method'] == method}


def solved(records) -> tuple[int, int]:
    """(successes, episodes) of some records."""
    records = list(records)
    return sum(bool(r['success']) for r in records), len(records)
