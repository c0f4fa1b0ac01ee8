"""Paired comparison of two closed-loop runs on the same task instances (exact McNemar test).

Two `video-planner eval` runs with the same seed meet the very same instances, so their difference is
best read pair by pair: how many instances only run A solved, only run B solved, and how likely that
split is if the two do equally well. Prints one Markdown table row per method present in both runs, then
how often each run disturbed the scene: episodes that moved an object other than the named one beyond the
success rules' tolerance (1 cm x the arm's scale), by 5 cm or more, or knocked the named one.

    python benchmarks/compare_closed_loop.py runs/a/closed_loop.json runs/b/closed_loop.json
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from video_planner.evaluation.records import instance_key, load_records
from video_planner.evaluation.stats import mcnemar_exact_p

def outcomes(path: str) -> dict[tuple, bool]:
    """{(method, *instance key): success} of one run's closed_loop.json."""
    return {(r['method'],) + instance_key(r): bool(r['success']) for r in load_records(path)}


OTHER_MOVED = re.compile(r'^(?!target )(.+) moved ([0-9.]+) cm$')  # sim/tasks.py unmet_conditions


def disturbed(path: str, keys: set) -> dict[str, tuple[int, int, int, int]]:
    """{method: (episodes, another object moved, another moved >= 5 cm, the named one knocked)} over the
    episodes whose (method, *instance key) is in `keys`."""
    out: dict[str, list[int]] = {}
    for r in load_records(path):
        if (r['method'],) + instance_key(r) not in keys:
            continue
        moved = [float(m.group(2)) for u in r.get('unmet') or [] if (m := OTHER_MOVED.match(u))]
        knocked = any('knocked' in u for u in r.get('unmet') or [])
        row = out.setdefault(r['method'], [0, 0, 0, 0])
        row[0] += 1
        row[1] += bool(moved)
        row[2] += any(d >= 5.0 for d in moved)
        row[3] += knocked
    return {m: tuple(v) for m, v in out.items()}


def compare(a: dict[tuple, bool], b: dict[tuple, bool], method: str) -> dict:
    keys = [k for k in a if k[0] == method and k in b]
    return {'method': method, 'n': len(keys), 'a': sum(a[k] for k in keys), 'b': sum(b[k] for k in keys),
            'only_a': sum(a[k] and not b[k] for k in keys), 'only_b': sum(b[k] and not a[k] for k in keys)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('run_a', help='closed_loop.json of run A')
    ap.add_argument('run_b', help='closed_loop.json of run B')
    args = ap.parse_args()
    a, b = outcomes(args.run_a), outcomes(args.run_b)
    methods = sorted({k[0] for k in a} & {k[0] for k in b})
    if not methods:
        print('compare_closed_loop: the two runs share no method', file=sys.stderr)
        return 2
    print(f'A = `{args.run_a}`, B = `{args.run_b}`\n')
    print('| method | instances | A solved | B solved | only A | only B | exact McNemar p |')
    print('|---|---|---|---|---|---|---|')
    for m in methods:
        c = compare(a, b, m)
        print(f"| `{m}` | {c['n']} | {c['a']} | {c['b']} | {c['only_a']} | {c['only_b']} | "
              f"{mcnemar_exact_p(c['only_a'], c['only_b']):.3f} |")
    both = set(a) & set(b)
    da, db = disturbed(args.run_a, both), disturbed(args.run_b, both)
    print('\n| method | episodes | another object moved: A / B | by >= 5 cm: A / B | named object knocked: A / B |')
    print('|---|---|---|---|---|')
    for m in methods:
        (na, oa, fa, ka), (nb, ob, fb, kb) = da[m], db[m]
        print(f'| `{m}` | {na} | {oa} / {ob} | {fa} / {fb} | {ka} / {kb} |')
    return 0


if __name__ == '__main__':
    sys.exit(main())
