"""The closed-loop suite: seeded instances, Wilson intervals, and a tiny end-to-end run of every method."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from video_planner.errors import ConfigError, VideoPlannerError
from video_planner.evaluation import SuiteConfig, run_suite, task_instances, wilson_interval
from video_planner.evaluation.report import BEGIN, END, write_report
from video_planner.evaluation.records import by_instance, load_records, solved
from video_planner.evaluation.stats import SuccessRate, mcnemar_exact_p, percent
from video_planner.evaluation.suite import ALL_METHODS

torch.set_num_threads(1)


@pytest.mark.parametrize('successes, n, low, high', [
    # Published 95 % Wilson score intervals (e.g. Brown, Cai & DasGupta 2001; any binomial CI calculator).
    (0, 10, 0.0, 0.2775), (1, 10, 0.0179, 0.4042), (5, 10, 0.2366, 0.7634), (10, 10, 0.7225, 1.0),
    (81, 263, 0.2553, 0.3662),
])
def test_wilson_interval_matches_known_values(successes, n, low, high):
    lo, hi = wilson_interval(successes, n)
    assert lo == pytest.approx(low, abs=5e-4) and hi == pytest.approx(high, abs=5e-4)


def test_wilson_interval_edges():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert SuccessRate(3, 4).format() == '75% [30-95] (n=4)'
    with pytest.raises(VideoPlannerError, match='successes'):
        wilson_interval(5, 3)


@pytest.mark.parametrize('only_a, only_b, p', [
    # Two-sided binomial test at 1/2 on the discordant pairs (scipy.stats.binomtest gives the same).
    (0, 6, 0.03125), (6, 0, 0.03125), (1, 1, 1.0), (10, 3, 0.09228515625), (9, 23, 0.0200616), (0, 0, 1.0),
])
def test_mcnemar_exact_p_matches_the_binomial_test(only_a, only_b, p):
    assert mcnemar_exact_p(only_a, only_b) == pytest.approx(p, abs=1e-6)


def test_mcnemar_refuses_negative_counts():
    with pytest.raises(VideoPlannerError, match='counts'):
        mcnemar_exact_p(-1, 3)


def test_records_pair_runs_by_instance_and_later_runs_win(tmp_path):
    def record(method, arm, success, seed=2026, index=0):
        return {'method': method, 'suite_seed': seed, 'arm': arm, 'family': 'push', 'split': 'train',
                'index': index, 'success': success}
    first = tmp_path / 'a' / 'closed_loop.json'
    first.parent.mkdir()
    first.write_text(json.dumps({'records': [record('policy', 'panda', False), record('policy', 'z1', True),
                                             record('random', 'panda', False)]}))
    second = tmp_path / 'b.json'
    second.write_text(json.dumps({'records': [record('policy', 'panda', True), record('policy', 'panda', True, 777)]}))
    records = load_records(first.parent, second)   # a folder holding closed_loop.json, or the file
    policy = by_instance(records, 'policy')
    assert len(policy) == 3 and policy[(2026, 'panda', 'push', 'train', 0)]['success'] is True
    assert solved(policy.values()) == (3, 3) and solved(by_instance(records, 'random').values()) == (0, 1)
    assert percent(3, 4) == '75 % [30-95]'
    (tmp_path / 'bad.json').write_text('{"config": {}}')
    with pytest.raises(VideoPlannerError, match='not a closed_loop.json'):
        load_records(tmp_path / 'bad.json')


def test_the_shipped_benchmark_run_meets_every_method_on_the_same_instances():
    from pathlib import Path
    run = Path(__file__).resolve().parents[2] / 'benchmarks' / 'results' / 'closed_loop.json'
    if not run.exists():
        pytest.skip('benchmarks/ is not beside the package (installed without the repository)')
    records = load_records(run)
    instances = {m: set(by_instance(records, m)) for m in {r['method'] for r in records}}
    assert len(instances) >= 5 and len(set(map(frozenset, instances.values()))) == 1, \
        {m: len(k) for m, k in instances.items()}


def test_instances_are_seeded_by_their_place_in_the_registry():
    full = task_instances(SuiteConfig(episodes=2))
    subset = task_instances(SuiteConfig(arms=['kinova'], families=['lift'], splits=['heldout'], episodes=2))
    assert len(full) == 6 * 4 * 2 * 2 and len(subset) == 2
    by_key = {(i.arm, i.family, i.split, i.index): i.seed for i in full}
    assert all(by_key[(i.arm, i.family, i.split, i.index)] == i.seed for i in subset)
    assert len({i.seed for i in full}) == len(full)


def test_command_line_flags_override_the_eval_yaml_and_show_in_the_reproduce_line():
    import argparse
    from video_planner.evaluation.report import _flags
    from video_planner.evaluation.suite import add_arguments, config_from_args
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    default = config_from_args(parser.parse_args([]))
    assert default.episodes == 3 and default.num_candidates == 1   # config/eval.yaml
    config = config_from_args(parser.parse_args(['--num-candidates', '4', '--episodes', '1']))
    assert (config.num_candidates, config.episodes) == (4, 1)
    assert _flags(config) == ' --episodes 1 --num-candidates 4'
    assert default.collision_check and default.gt_spacing == 'time'
    config = config_from_args(parser.parse_args(['--no-collision-check', '--gt-spacing', 'keyframes']))
    assert (config.collision_check, config.gt_spacing) == (False, 'keyframes')
    assert _flags(config) == ' --no-collision-check --gt-spacing keyframes'
    for name in ('snap_grasps', 'snap_places', 'snap_touches', 'snap_pushes'):
        on = getattr(default, name)
        flag = ('--no-' if on else '--') + name.replace('_', '-')
        assert getattr(config_from_args(parser.parse_args([flag])), name) != on
        assert _flags(config_from_args(parser.parse_args([flag]))) == ' ' + flag
    assert default.snap_touches and default.snap_pushes and default.snap_places  # contact_snapping.md


def test_several_instance_seeds_run_in_one_call_and_seed_alone_still_works():
    import argparse
    from video_planner.evaluation.report import _flags
    from video_planner.evaluation.suite import add_arguments, config_from_args
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    two = config_from_args(parser.parse_args(['--seeds', '2026', '777', '--arms', 'panda', '--episodes', '1']))
    assert two.instance_seeds == [2026, 777] and ' --seeds 2026 777' in _flags(two)
    instances = task_instances(two)
    assert [i.suite_seed for i in instances] == [2026] * 8 + [777] * 8
    one = task_instances(config_from_args(parser.parse_args(['--arms', 'panda', '--episodes', '1'])))
    assert [i.seed for i in instances[:8]] == [i.seed for i in one]  # seed 2026's instances are the usual ones
    assert not {i.seed for i in instances[:8]} & {i.seed for i in instances[8:]}
    alone = config_from_args(parser.parse_args(['--seed', '5']))
    assert alone.instance_seeds == [5] and _flags(alone) == ' --seed 5'


def test_the_report_shows_each_seed_and_the_rules(tmp_path):
    config = SuiteConfig(arms=['panda'], families=['reach'], splits=['train'], episodes=1, seeds=[2026, 777],
                         methods=['expert', 'noop'], image_size=32)
    result = run_suite(config, progress=False)
    assert sorted((r.method, r.suite_seed, r.success) for r in result.records) == [
        ('expert', 777, True), ('expert', 2026, True), ('noop', 777, False), ('noop', 2026, False)]
    assert next(r for r in result.records if r.method == 'noop').unmet == ['target never touched']
    write_report(result, tmp_path, tmp_path / 'section.md')
    text = (tmp_path / 'section.md').read_text()
    assert '| method | seed 2026 | seed 777 | pooled |' in text
    assert '#### Seed 2026: success per family' in text and '#### Seed 777: success per family' in text
    assert '| `expert` | 100% [21-100] (n=1) | 100% [21-100] (n=1) | 100% [34-100] (n=2) |' in text
    from video_planner.sim.tasks import SUCCESS_RULES
    assert f'- reach: {SUCCESS_RULES["reach"]}' in text and 'on each of the instance seeds 2026, 777' in text


def test_bad_config_is_rejected_with_the_field_name():
    with pytest.raises(VideoPlannerError, match='arms'):
        SuiteConfig(arms=['robby'])
    with pytest.raises(VideoPlannerError, match='methods'):
        SuiteConfig(methods=['telepathy'])
    with pytest.raises(VideoPlannerError, match='loop'):
        SuiteConfig(loop='sideways')
    with pytest.raises(VideoPlannerError, match='gt_spacing'):
        SuiteConfig(gt_spacing='motion')


@pytest.fixture(scope='module')
def tiny_models(tmp_path_factory):
    """A tiny video model and policy trained a few steps on two expert episodes, an untrained tiny IDM."""
    from video_planner.data.episode import write_episode
    from video_planner.data.reader import VideoClipDataset
    from video_planner.data.recording import record_expert_episode
    from video_planner.dynamics.learned import KIND as IDM_KIND, IdmConfig, IdmNetwork
    from video_planner.model import PRESETS, TrainConfig, Trainer, VideoModel
    from video_planner.model.checkpoint import Checkpoint, save_checkpoint
    from video_planner.model.dataset import ClipTensorDataset
    from video_planner.policy.config import TINY
    from video_planner.policy.train import train_policy
    from video_planner.sim.arms import get_arm
    from video_planner.sim.tasks import sample_task
    from video_planner.sim.world import TabletopWorld
    from video_planner.text import TextEncoder
    root = tmp_path_factory.mktemp('models')
    data = root / 'data'
    data.mkdir()
    with TabletopWorld('panda', seed=0, image_size=32) as world:
        for i in range(2):
            task = sample_task(get_arm('panda'), 'reach', np.random.default_rng(i))
            write_episode(data / f'ep_{i:06d}.hdf5', record_expert_episode(world, task, seed=i, frames=12))
    encoder = TextEncoder(cache_dir=root / 'text_cache')
    video_cfg = dataclasses.replace(PRESETS['tiny'])
    clips = VideoClipDataset(data, horizon=video_cfg.horizon, stride=None, image_size=video_cfg.image_size)
    dataset = ClipTensorDataset(clips, encoder, video_cfg.horizon, video_cfg.image_size, preload=True)
    model = VideoModel(video_cfg)
    Trainer(model, model.loss, dataset, TrainConfig(steps=2, batch_size=2, checkpoint_every=0), root / 'video',
            model_config=video_cfg.to_dict(), kind='video', progress=False).fit()
    idm_cfg = IdmConfig(image_size=16)
    weights = IdmNetwork(idm_cfg).state_dict()
    save_checkpoint(root / 'idm.pt', Checkpoint(kind=IDM_KIND, config=idm_cfg.to_dict(), model=weights, ema=weights))
    train_policy(data, root / 'policy', TINY, TrainConfig(steps=3, batch_size=4, checkpoint_every=0),
                 text_encoder=encoder)
    return {'checkpoint': str(root / 'video' / 'model.pt'), 'idm_checkpoint': str(root / 'idm.pt'),
            'policy_checkpoint': str(root / 'policy' / 'model.pt')}


def test_every_method_runs_end_to_end_and_the_report_is_written(tiny_models, tmp_path):
    config = SuiteConfig(arms=['panda'], families=['reach'], splits=['heldout'], episodes=1, methods=list(ALL_METHODS),
                         image_size=32, max_plans=2, policy_max_steps=3, max_control_steps=150, **tiny_models)
    result = run_suite(config, progress=False)
    assert result.skipped == {}
    by_method = {r.method: r for r in result.records}
    assert sorted(by_method) == sorted(ALL_METHODS)
    assert by_method['expert'].success, by_method['expert'].status
    assert not by_method['noop'].success
    assert len({(r.seed, r.instruction) for r in result.records}) == 1  # one task instance for all methods
    for name in ('video_flow', 'video_learned'):
        assert by_method[name].plans >= 1 and 'sample' in by_method[name].timings[0]
    assert by_method['policy'].plans >= 1 and all(r.control_steps <= 150 for r in result.records)

    markdown = tmp_path / 'BENCHMARKS.md'
    markdown.write_text('# Benchmarks\n\nkept text\n\n' + BEGIN + '\nSTALE-SECTION\n' + END +
                        '\n\n## Other\nalso kept\n')
    paths = write_report(result, tmp_path / 'results', markdown)
    text = markdown.read_text()
    assert 'kept text' in text and 'also kept' in text and 'STALE-SECTION' not in text
    for name in ALL_METHODS:
        assert f'`{name}`' in text
    assert (tmp_path / 'results' / 'closed_loop.png').stat().st_size > 1000
    records = json.loads((tmp_path / 'results' / 'closed_loop.json').read_text())['records']
    assert len(records) == len(ALL_METHODS)
    # One GIF of the `gif_method` episode, named after how it ended.
    kind = 'success' if by_method[config.gif_method].success else 'failure'
    assert [p.name for p in paths if p.suffix == '.gif'] == [f'closed_loop_{kind}.gif']


def test_missing_checkpoints_are_reported_not_faked(tmp_path):
    config = SuiteConfig(arms=['panda'], families=['reach'], splits=['train'], episodes=1,
                         methods=['video_flow', 'policy', 'noop'], image_size=32,
                         checkpoint=str(tmp_path / 'none.pt'), policy_checkpoint=str(tmp_path / 'none.pt'))
    result = run_suite(config, progress=False)
    assert set(result.skipped) == {'video_flow', 'policy'} and 'none.pt' in result.skipped['video_flow']
    assert [r.method for r in result.records] == ['noop'] and result.config.methods == ['noop']


def test_update_reruns_one_method_on_the_earlier_instances_and_keeps_the_rest(tmp_path):
    from video_planner.evaluation.suite import main
    out = tmp_path / 'run'
    flags = ['--arms', 'panda', '--families', 'reach', '--splits', 'train', '--episodes', '2', '--workers', '1',
             '--no-gifs', '--out', str(out)]
    assert main(flags + ['--methods', 'noop', 'random']) == 0
    first = json.loads((out / 'closed_loop.json').read_text())
    markdown = tmp_path / 'BENCHMARKS.md'
    assert main(['--update', str(out), '--methods', 'expert', 'random', '--no-gifs', '--out', str(out),
                 '--markdown', str(markdown)]) == 0
    merged = json.loads((out / 'closed_loop.json').read_text())
    by = lambda data, m: [r for r in data['records'] if r['method'] == m]  # noqa: E731
    assert by(merged, 'noop') == by(first, 'noop')              # kept, record for record
    key = lambda r: (r['arm'], r['family'], r['split'], r['index'], r['seed'])  # noqa: E731
    assert sorted(map(key, by(merged, 'expert'))) == sorted(map(key, by(first, 'noop')))  # the same instances
    assert len(by(merged, 'random')) == 2 and merged['config']['methods'] == ['noop', 'random', 'expert']
    assert all(r['success'] for r in by(merged, 'expert'))
    text = markdown.read_text()
    assert '`noop`' in text and '`expert`' in text and merged['descriptions']['noop']
    # An update reruns the earlier instances; asking for others is refused, as is naming no method.
    assert main(['--update', str(out), '--methods', 'noop', '--arms', 'iiwa', '--out', str(out)]) == 2
    assert main(['--update', str(out), '--out', str(out)]) == 2


def test_an_update_with_only_reruns_the_named_instances_and_keeps_the_others(tmp_path):
    from video_planner.evaluation.suite import main
    out = tmp_path / 'run'
    assert main(['--arms', 'panda', '--families', 'reach', '--splits', 'train', '--episodes', '2', '--workers', '1',
                 '--methods', 'noop', '--no-gifs', '--out', str(out)]) == 0
    first = json.loads((out / 'closed_loop.json').read_text())
    keys = (tmp_path / 'keys.txt')
    keys.write_text('# the second episode only\npanda/reach/train/1/2026\n')
    assert main(['--update', str(out), '--methods', 'noop', 'expert', '--only-file', str(keys), '--no-gifs',
                 '--out', str(out)]) == 0
    merged = json.loads((out / 'closed_loop.json').read_text())
    by = lambda m: sorted((r['index'], r['success']) for r in merged['records'] if r['method'] == m)  # noqa: E731
    assert by('expert') == [(1, True)]                          # only the named instance ran
    assert [r for r in merged['records'] if r['method'] == 'noop' and r['index'] == 0] == \
        [r for r in first['records'] if r['index'] == 0]        # the other one kept, record for record
    assert len(by('noop')) == 2 and merged['config']['only'] == []   # the run's config is the earlier one's
    # A key that is not one of the suite's instances, or not a key at all, is refused by name.
    with pytest.raises(VideoPlannerError, match='not in the suite'):
        task_instances(SuiteConfig(arms=['panda'], only=['panda/reach/train/9/2026']))
    with pytest.raises(ConfigError, match='arm/family/split/index/seed'):
        SuiteConfig(only=['panda-reach'])


def test_failed_episodes_are_tabled_by_their_whole_reason():
    from types import SimpleNamespace

    from video_planner.evaluation.methods import budget_status
    from video_planner.evaluation.report import status_table
    assert budget_status('') == 'control-step budget spent'
    assert budget_status('plans used up') == 'control-step budget spent (plans used up)'
    stopped = budget_status('plan rejected: IK failed at waypoint 3')
    assert stopped == 'control-step budget spent (plan rejected): IK failed at waypoint 3'
    records = [SimpleNamespace(method='video_learned', success=False, status=s)
               for s in (stopped, 'plan rejected: empty plan', 'plan rejected: NaN')]
    table = status_table(SimpleNamespace(records=records, config=SimpleNamespace(methods=['video_learned'])))
    assert 'plan rejected x2' in table and 'control-step budget spent (plan rejected) x1' in table


def test_refused_plans_are_tabled_by_the_check_that_refused_them():
    """The statuses the gates, the collision check and IK really write, counted per check."""
    from types import SimpleNamespace

    from video_planner.evaluation.report import refusal_table
    from video_planner.planner import PlannerConfig, gates
    from video_planner.planner.collision import Collision
    from video_planner.planner.gates import refusal_kind
    config = PlannerConfig()
    below = np.repeat(np.eye(4)[None], 3, axis=0)
    below[2, :3, 3] = (0.5, 0.0, -0.2)
    far = np.repeat(np.eye(4)[None], 2, axis=0)
    far[1, 0, 3] = 1.0
    statuses = {'outside the workspace': gates.check_workspace(below, config),
                'low confidence': gates.check_confidence(np.zeros(3), config),
                'step too long': gates.check_step_size(far, config),
                'non-finite poses': gates.check_finite(np.full((2, 4, 4), np.nan)),
                'collision': Collision(2, np.array([0.5, 0.0, 0.05]), np.array([0.5, 0.0, 0.01])).reason(),
                'IK': 'IK failed: poses[1]: IK failed (unreachable) with position error 0.0100 m'}
    for kind, status in statuses.items():
        assert status and refusal_kind(status) == kind, status
    assert refusal_kind('the robot fell over') == 'other'
    records = [SimpleNamespace(method='video_learned', plans=9, rejections=list(statuses.values())),
               SimpleNamespace(method='video_learned', plans=1, rejections=[statuses['IK']]),
               SimpleNamespace(method='expert', plans=1, rejections=[])]
    table = refusal_table(SimpleNamespace(records=records, config=SimpleNamespace(methods=['video_learned', 'expert'])))
    assert '| `video_learned` | 10 | 7 | 1 | 1 | 1 | 1 | 1 | 2 | 0 |' in table and '`expert`' not in table
