"""Paired comparison of two closed-loop runs on the same task instances (exact McNemar test).

Two `video-planner eval` runs with the same seed meet the very same instances, so their difference is
best read pair by pair: how many instances only run A solved, only run B solved, and how likely that
split is if the two do equally well. Prints one Markdown table row per method present in both runs.

    python benchmarks/compare_closed_loop.py runs/a/closed_loop.json runs/b/closed_loop.json
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from video_planner.evaluation.records import instance_key, load_records
from video_planner.evaluation.stats import mcnemar_exact_p

def outcomes(path: str) -> dict[tuple, bool]:
    """{(method, *instance key): success} of one run's closed_loop.json."""
    return {(r['method'],) + instance_key(r): bool(r['success']) for r in load_records(path)}


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
    return 0


if __name__ == '__main__':
    sys.exit(main())
