"""The image+language policy baseline against the video planner (issue 23): the tuning sweep, success against
training compute, and the paired comparison on the benchmark's instances.

Reads `video-planner eval` runs (closed_loop.json) listed in a YAML file (benchmarks/policy_baseline.yaml):
  reference: the benchmark run holding both `video_learned` and `policy` on the same instances;
  sweep:     policy variants at a short budget, evaluated on a tuning seed the benchmark does not use;
  curve:     policy snapshots along one training run (samples seen, CPU-minutes, their run on `curve_seeds`);
  video:     the video model's training (samples seen, CPU- and GPU-minutes) and its method in `reference`;
             `earlier`: checkpoints of its earlier training stages with their own runs.
Training compute is counted in FLOPs: each network's forward + backward per training sample is measured
here with torch's FlopCounterMode, times the samples it saw. Writes benchmarks/results/policy_baseline.md
and benchmarks/results/policy_vs_compute.png.

    python benchmarks/policy_baseline.py [--runs benchmarks/policy_baseline.yaml]
    python benchmarks/policy_baseline.py --keep runs/ev_x/closed_loop.json sweep_x   # a run, timings stripped,
                                                         # as benchmarks/results/policy_baseline/sweep_x.json
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import yaml

from video_planner.evaluation.records import by_instance, load_records, solved
from video_planner.evaluation.stats import mcnemar_exact_p, percent, wilson_interval

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / 'benchmarks' / 'results'


def outcomes(path: Path, method: str) -> dict[tuple, dict]:
    """{instance key: record} of `method` in one closed_loop.json."""
    return by_instance(load_records(path), method)


def flops_per_sample() -> dict[str, float]:
    """Training FLOPs (forward + backward) per sample of the shipped video model's and the policy's configs."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from video_planner.model.config import PRESETS
    from video_planner.model.video_model import VideoModel
    from video_planner.policy.config import PolicyConfig
    from video_planner.policy.network import PolicyLoss, PolicyNetwork
    torch.manual_seed(0)
    b, video, policy = 2, PRESETS['default'], PolicyConfig()
    s = video.image_size
    batches = {
        'video': (VideoModel(video).loss, {
            'frame0': torch.rand(b, 3, s, s), 'future': torch.rand(b, video.horizon, 3, s, s),
            'text_emb': torch.randn(b, video.text_dim), 'hint': torch.zeros(b, 1, s, s)}),
        'policy': (PolicyLoss(PolicyNetwork(policy)), {
            'image': torch.rand(b, policy.image_channels, policy.image_size, policy.image_size),
            'text_emb': torch.randn(b, policy.text_dim), 'state': torch.randn(b, 4),
            'offsets': torch.randn(b, policy.chunk, 3), 'gripper': torch.rand(b, policy.chunk).round()})}
    out = {}
    for name, (loss, batch) in batches.items():
        with FlopCounterMode(display=False) as counter:
            loss(batch).backward()
        out[name] = counter.get_total_flops() / b
    return out


def family_table(video: dict, policy: dict, random: dict) -> list[str]:
    lines = ['| family | video planner (`video_learned`) | policy | random | only video solved | only policy solved '
             '| exact McNemar p |', '|---|---|---|---|---|---|---|']
    families = sorted({k[2] for k in video}, key=['reach', 'push', 'pick_place', 'lift'].index)
    for family in families + ['all']:
        keys = [k for k in video if k in policy and (family == 'all' or k[2] == family)]
        v, p = solved(video[k] for k in keys), solved(policy[k] for k in keys)
        r = solved(random[k] for k in keys if k in random)
        only_v = sum(video[k]['success'] and not policy[k]['success'] for k in keys)
        only_p = sum(policy[k]['success'] and not video[k]['success'] for k in keys)
        p_value = mcnemar_exact_p(only_v, only_p)
        shown = '< 0.001' if p_value < 0.001 else f'{p_value:.3f}'
        name = f'**{family}**' if family == 'all' else family
        lines.append(f'| {name} | {percent(*v)} ({v[0]}/{v[1]}) | {percent(*p)} ({p[0]}/{p[1]}) | {percent(*r)} | {only_v} | '
                     f'{only_p} | {shown} |')
    return lines


def group_table(video: dict, policy: dict) -> list[str]:
    lines = ['| | seen arms | held-out arms | seed 2026 / 777 |', '|---|---|---|---|']
    for name, runs in (('video planner', video), ('policy', policy)):
        cells = []
        for group in ('seen', 'held-out'):
            cells.append(percent(*solved(r for r in runs.values() if r['arm_group'] == group)))
        seeds = ' / '.join(percent(*solved(r for k, r in runs.items() if k[0] == s)).split(' [')[0]
                           for s in sorted({k[0] for k in runs}, reverse=True))
        lines.append(f'| {name} | ' + ' | '.join(cells) + f' | {seeds} |')
    return lines


def sweep_table(sweep: list[dict]) -> list[str]:
    lines = ['| variant | change | steps x batch | CPU-min | success (tuning seed) '
             '| reach / push / pick-place / lift |',
             '|---|---|---|---|---|---|']
    for s in sweep:
        runs = outcomes(ROOT / s['run'], 'policy')
        per = defaultdict(list)
        for k, r in runs.items():
            per[k[2]].append(r)
        fams = ' / '.join(f'{solved(per[f])[0]}/{solved(per[f])[1]}' for f in ('reach', 'push', 'pick_place', 'lift'))
        lines.append(f"| {s['name']} | {s['change']} | {s['steps']} x {s['batch']} | {s['cpu_minutes']:.0f} | "
                     f'{percent(*solved(runs.values()))} | {fams} |')
    return lines


def plot(curve: list[dict], video_points: list[dict], path: Path) -> Path:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for series, style, label in ((curve, 'o-', 'ACT-style policy'), (video_points, 's-', 'video planner')):
        x = [p['flops'] for p in series]
        y = [100 * p['success'][0] / p['success'][1] for p in series]
        err = [[100 * (p['success'][0] / p['success'][1] - wilson_interval(*p['success'])[0]) for p in series],
               [100 * (wilson_interval(*p['success'])[1] - p['success'][0] / p['success'][1]) for p in series]]
        ax.errorbar(x, y, yerr=err, fmt=style, capsize=3, label=label)
    ax.set_xscale('log')
    ax.set_xlabel('training compute (FLOPs, forward + backward)')
    ax.set_ylabel('closed-loop success, % (95 % Wilson)')
    ax.set_title('Success against training compute (strict rules)')
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def keep(run: Path, name: str) -> Path:
    """A run's closed_loop.json without its per-step timings, into results/policy_baseline/<name>.json."""
    data = json.loads(run.read_text())
    for record in data['records']:
        record.pop('timings', None)
    out = RESULTS / 'policy_baseline' / f'{name}.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, separators=(',', ':')))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--runs', type=Path, default=ROOT / 'benchmarks' / 'policy_baseline.yaml')
    ap.add_argument('--out', type=Path, default=RESULTS / 'policy_baseline.md')
    ap.add_argument('--keep', nargs=2, metavar=('RUN_JSON', 'NAME'), help='store a run (timings stripped) and exit')
    args = ap.parse_args()
    if args.keep:
        print(keep(Path(args.keep[0]), args.keep[1]))
        return 0
    spec = yaml.safe_load(args.runs.read_text())
    flops = flops_per_sample()
    reference = ROOT / spec['reference']
    video, policy = outcomes(reference, spec['video']['method']), outcomes(reference, 'policy')
    random = outcomes(reference, 'random')
    seeds = set(spec['curve_seeds'])
    curve = []
    for c in spec['curve']:
        runs = outcomes(ROOT / c['run'], 'policy')
        curve.append({**c, 'flops': c['steps'] * c['batch'] * flops['policy'],
                      'success': solved(r for k, r in runs.items() if k[0] in seeds)})
    v = spec['video']
    video_points = [{'name': s['name'], 'samples': s['samples'], 'cpu_minutes': s['cpu_minutes'],
                     'gpu_minutes': s['gpu_minutes'], 'flops': s['samples'] * flops['video'],
                     'success': solved(r for k, r in outcomes(ROOT / s['run'], v['method']).items() if k[0] in seeds)}
                    for s in v.get('earlier', [])]
    video_points.append({'name': 'shipped', 'samples': v['samples'], 'cpu_minutes': v['cpu_minutes'],
                         'gpu_minutes': v['gpu_minutes'], 'flops': v['samples'] * flops['video'],
                         'success': solved(r for k, r in video.items() if k[0] in seeds)})
    plot_path = plot(curve, video_points, args.out.with_name('policy_vs_compute.png'))
    final = curve[-1]
    lines = [
        '# The image+language policy baseline against the video planner (issue 23)', '',
        spec['note'].strip(), '',
        '## The two on the same instances (strict rules)', '',
        f"Benchmark run `{spec['reference']}`: {len(video)} instances, seeds "
        f"{', '.join(map(str, sorted({k[0] for k in video})))}. Paired per instance: exact McNemar test.", '',
        *group_table(video, policy), '', *family_table(video, policy, random), '',
        '## Success against training compute', '',
        f'![success against compute]({plot_path.name})', '',
        f"Instances: seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, sorted(seeds)))} of the benchmark "
        f"({video_points[-1]['success'][1]} per point unless the table says less); the shipped models' from the "
        'run above.', '',
        f"FLOPs per training sample (forward + backward, measured with torch's FlopCounterMode): video model "
        f"{flops['video'] / 1e9:.1f} GFLOP (a clip of {v['frames']} frames), policy {flops['policy'] / 1e9:.2f} GFLOP "
        '(one frame).', '',
        '| model | samples seen | training FLOPs | CPU-min | GPU-min | success |', '|---|---|---|---|---|---|',
        *[f"| video model, {p['name']} | {p['samples']:,} | {p['flops']:.2e} | {p['cpu_minutes']} | "
          f"{p['gpu_minutes']} | {percent(*p['success'])} (n={p['success'][1]}) |" for p in video_points],
        *[f"| policy, {c['steps']:,} steps | {c['steps'] * c['batch']:,} | {c['flops']:.2e} | "
          f"{c['cpu_minutes']:.0f} | 0 | "
          f"{percent(*c['success'])} (n={c['success'][1]}) |" for c in curve], '',
        f"The shipped policy ({final['steps']:,} steps) had {100 * final['flops'] / video_points[-1]['flops']:.1f} % "
        "of the video model's training FLOPs.", '',
        '## Tuning sweep', '', spec['sweep_note'].strip(), '', *sweep_table(spec['sweep']), '']
    args.out.write_text('\n'.join(lines))
    print('\n'.join(lines))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
