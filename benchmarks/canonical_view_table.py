"""The canonical view against the camera view on the same task instances: per arm, seen vs held-out, paired.

Reads closed-loop runs (`video-planner eval ... --out DIR`, their closed_loop.json): one run in the camera
view (the reference) and runs in the canonical view, and compares each method present in both on the
instances the canonical runs hold (exact McNemar test on the pairs). Writes benchmarks/results/canonical_view.md.

    python benchmarks/canonical_view_table.py --camera benchmarks/results/closed_loop.json \
        --canonical runs/canonical_2026/closed_loop.json runs/canonical_777/closed_loop.json
"""
from __future__ import annotations

import argparse
from pathlib import Path

from video_planner.evaluation.records import instance_key, load_records
from video_planner.evaluation.stats import mcnemar_exact_p, percent

RESULTS = Path(__file__).resolve().parent / 'results' / 'canonical_view.md'


def keyed(paths) -> dict[tuple, dict]:
    """{(method, *instance key): record} of the given runs (later files win)."""
    return {(r['method'],) + instance_key(r): r for r in load_records(*paths)}


def pct(wins: int, n: int) -> str:
    return f'{percent(wins, n)} ({wins}/{n})'


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--camera', nargs='+', required=True, help='closed_loop.json of the camera-view run(s)')
    ap.add_argument('--canonical', nargs='+', required=True, help='closed_loop.json of the canonical-view run(s)')
    ap.add_argument('--note', default='', help='a line on how the runs were made (models, machine)')
    ap.add_argument('--out', type=Path, default=RESULTS)
    args = ap.parse_args()
    camera, canonical = keyed(args.camera), keyed(args.canonical)
    keys = sorted(k for k in canonical if k in camera)
    methods = sorted({k[0] for k in keys})
    held = {canonical[k]['arm'] for k in keys if canonical[k].get('arm_group') == 'held-out'}
    arms = sorted(dict.fromkeys(canonical[k]['arm'] for k in keys), key=lambda a: a in held)
    lines = ['# Planning in the canonical view (issue 20)', '',
             'The same task instances through the camera-view models and the canonical-view models (the arm '
             'painted out, one canonical gripper drawn; `video_planner.embodiment`). Produced by '
             '`benchmarks/canonical_view_table.py`.', '']
    if args.note:
        lines += [args.note, '']
    lines += ['| method | view | ' + ' | '.join(f'{a}{" *" if a in held else ""}' for a in arms) +
              ' | seen arms | held-out arms | all |', '|---' * (len(arms) + 5) + '|']
    pairs = []
    for m in methods:
        mk = [k for k in keys if k[0] == m]
        for name, run in (('camera', camera), ('canonical', canonical)):
            per = {a: [0, 0] for a in arms}
            for k in mk:
                per[k[2]][0] += bool(run[k]['success'])
                per[k[2]][1] += 1
            seen = [sum(per[a][i] for a in arms if a not in held) for i in (0, 1)]
            out = [sum(per[a][i] for a in arms if a in held) for i in (0, 1)]
            lines.append(f'| `{m}` | {name} | ' + ' | '.join(f'{w}/{n}' for w, n in per.values()) +
                         f' | {pct(*seen)} | {pct(*out)} | {pct(seen[0] + out[0], seen[1] + out[1])} |')
        only_cam = sum(camera[k]['success'] and not canonical[k]['success'] for k in mk)
        only_can = sum(canonical[k]['success'] and not camera[k]['success'] for k in mk)
        pairs.append(f'| `{m}` | {len(mk)} | {only_cam} | {only_can} | {max(mcnemar_exact_p(only_cam, only_can), 0.001):.3f} |'.replace('| 0.001 |', '| < 0.001 |'))
    lines += ['', '`*` held out: never in any training data. Intervals: 95 % Wilson.', '',
              '| method | paired instances | only camera solved | only canonical solved | exact McNemar p |',
              '|---|---|---|---|---|'] + pairs
    args.out.write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
