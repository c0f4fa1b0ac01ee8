"""`video-planner eval`: the closed-loop benchmark. Every method meets the same seeded task instances.

Instances: every arm x task family x instruction split (training paraphrases and held-out ones) x
`episodes`; instance seeds come from `seed` and the indices of (arm, family, split) in the full
registry, so a subset run (one arm, one family) meets exactly the same instances as the full one.
Per instance, each method acts in the same world reset with the same seed (same objects, same look).
Results: one record per (method, instance) -> `report.write_report` (JSON, Markdown, PNG, GIFs).
"""
from __future__ import annotations

import argparse
import dataclasses
import multiprocessing as mp
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from video_planner.data.keyframes import SPACINGS
from video_planner.errors import ConfigError, VideoPlannerError
from video_planner.evaluation.config import ALL_METHODS, PLANNER_SWITCHES, SuiteConfig, arm_group, instance_key
from video_planner.evaluation.records import read_run
from video_planner.evaluation.report import write_report
from video_planner.planner.config import GRIPPER_SOURCES


@dataclass(frozen=True)
class TaskInstance:
    arm: str
    family: str
    split: str
    index: int
    seed: int
    suite_seed: int = 0      # the instance seed (`--seed` / one of `--seeds`) this instance derives from


def task_instances(config: SuiteConfig) -> list[TaskInstance]:
    """The suite's instances, for each of its instance seeds; the seed of each depends only on that instance
    seed and its place in the full registry."""
    from video_planner.sim.arms import arm_seed_index
    from video_planner.sim.tasks import SPLITS, TASK_FAMILIES
    out = []
    for suite_seed in config.instance_seeds:
        for arm in config.arms:
            for family in config.families:
                for split in config.splits:
                    for i in range(config.episodes):
                        key = [suite_seed, arm_seed_index(arm), TASK_FAMILIES.index(family), SPLITS.index(split), i]
                        seed = int(np.random.SeedSequence(key).generate_state(1)[0] % (2 ** 31))
                        out.append(TaskInstance(arm, family, split, i, seed, suite_seed))
    if config.only:
        wanted = set(config.only)
        out = [i for i in out if instance_key(i.arm, i.family, i.split, i.index, i.suite_seed) in wanted]
        missing = wanted - {instance_key(i.arm, i.family, i.split, i.index, i.suite_seed) for i in out}
        if missing:
            raise VideoPlannerError(f'eval only: {len(missing)} instance(s) are not in the suite, e.g. '
                                    f'{sorted(missing)[0]!r} (arms, families, splits, episodes, seeds)')
    return out


# ------------------------------------------------------------------------------------------ components
class Components:
    """Models shared by the methods of one process, loaded once; what is missing is reported, not faked."""

    def __init__(self, config: SuiteConfig):
        self.config = config
        self.skipped: dict[str, str] = {}
        self.video_model = self._load('video model', config.video_checkpoint_path, self._load_video)
        self.idm = {'flow': self._flow_idm()}
        self.idm_path = config.idm_checkpoint_path   # resolved once: it reads the video checkpoint's view
        learned = self._load('learned inverse dynamics', self.idm_path, self._load_idm)
        if learned is not None:
            self.idm['learned'] = learned
        self.policy = (self._load('policy', config.policy_checkpoint_path, self._load_policy)
                       if 'policy' in config.methods else None)
        self._text_encoder = None
        self._planners: dict[tuple[str, str], object] = {}

    def _load(self, what: str, path: Path, loader):
        if not path.is_file():
            self.skipped[what] = f'no {what} checkpoint at {path}'
            return None
        return loader(path)

    @staticmethod
    def _load_video(path: Path):
        from video_planner.model.video_model import VideoModel
        return VideoModel.load(path)

    @staticmethod
    def _load_idm(path: Path):
        from video_planner.dynamics.learned import LearnedInverseDynamics
        return LearnedInverseDynamics.load(path)

    def _load_policy(self, path: Path):
        from video_planner.policy.policy import ImageLanguagePolicy
        return ImageLanguagePolicy.load(path, text_encoder=None)

    def policy_grounder(self):
        """The configured grounding network (the video planners' target hint), for a policy that reads the hint."""
        from video_planner.grounding import Grounder
        from video_planner.resources import model_file
        return Grounder.load(model_file(self.config.grounding_checkpoint, 'grounding_default.pt'), self.text_encoder)

    @staticmethod
    def _flow_idm():
        from video_planner.dynamics.config import DynamicsConfig
        from video_planner.dynamics import FlowDepthInverseDynamics
        return FlowDepthInverseDynamics(DynamicsConfig.from_yaml(None).flow)  # the package's dynamics.yaml

    @property
    def text_encoder(self):
        if self._text_encoder is None:
            from video_planner.text import TextEncoder
            self._text_encoder = TextEncoder()
        return self._text_encoder

    @property
    def horizon(self) -> int:
        return int(self.video_model.config.horizon) if self.video_model is not None else self.config.horizon

    def planner(self, idm: str, arm: str):
        key = (idm, arm)
        if key not in self._planners:
            from video_planner.planner import PlannerConfig, VideoPlanner
            cfg = PlannerConfig(checkpoint=str(self.config.video_checkpoint_path), inverse_dynamics=idm,
                                idm_checkpoint=str(self.idm_path), arm=arm,
                                num_candidates=self.config.num_candidates,
                                grounding_checkpoint=self.config.grounding_checkpoint,
                                sampling_steps=self.config.sampling_steps,
                                hint_guidance=self.config.hint_guidance,
                                gripper_source=self.config.gripper_source,
                                **{name: getattr(self.config, name) for name in PLANNER_SWITCHES})
            self._planners[key] = VideoPlanner(cfg, video_model=self.video_model, text_encoder=self.text_encoder,
                                               inverse_dynamics=self.idm[idm])
        return self._planners[key]

    def methods(self) -> tuple[list, dict[str, str]]:
        """(methods that can run, {method: why it cannot}) for the configured method names."""
        from video_planner.evaluation import methods as m
        cfg, out, skipped = self.config, [], {}
        chunk, plans = (0, 1) if cfg.loop == 'open' else (cfg.chunk, cfg.max_plans)
        for name in cfg.methods:
            idm = name.rsplit('_', 1)[-1]
            if name.startswith(('video_', 'gt_video_')) and idm not in self.idm:
                skipped[name] = self.skipped['learned inverse dynamics']
            elif name.startswith('video_') and self.video_model is None:
                skipped[name] = self.skipped['video model']
            elif name.startswith('video_'):
                self.text_encoder.encode('warm up')  # load the sentence encoder now, not inside a timed plan
                out.append(m.VideoPlanMethod(name, lambda arm, i=idm: self.planner(i, arm), chunk=chunk,
                                             max_plans=plans, description=m.description(name)))
            elif name.startswith('gt_video_'):
                out.append(m.GroundTruthVideoMethod(name, lambda arm, i=idm: self.planner(i, arm),
                                                    description=m.description(name)))
            elif name == 'policy' and self.policy is None:
                skipped[name] = self.skipped['policy']
            elif name == 'policy':
                self.policy._text_encoder = self.text_encoder
                if self.policy.config.target_hint:
                    self.policy.grounder = self.policy_grounder()
                out.append(m.PolicyMethod(self.policy, max_steps=cfg.policy_max_steps))
            elif name == 'expert':
                out.append(m.ExpertMethod())
            elif name == 'random':
                out.append(m.RandomMethod())
            elif name == 'noop':
                out.append(m.NoopMethod())
        return out, skipped


# ------------------------------------------------------------------------------------------ running
@dataclass
class EpisodeRecord:
    method: str
    arm: str
    arm_group: str          # 'seen' or 'held-out'
    family: str
    split: str
    index: int
    seed: int
    instruction: str
    success: bool
    plans: int
    failed_plans: int
    control_steps: int
    status: str
    wall_s: float
    timings: list[dict]
    unmet: list[str] = field(default_factory=list)   # what the success rule missed (empty on success)
    suite_seed: int = 0                               # the instance seed the instance derives from
    rejections: list[str] = field(default_factory=list)  # why each refused plan was refused


@dataclass
class SuiteResult:
    config: SuiteConfig
    records: list[EpisodeRecord]
    skipped: dict[str, str]
    gifs: dict[str, tuple[str, np.ndarray | None]]   # 'success'/'failure' -> (caption, (T,H,W,3) frames or
                                                     # None: the file an earlier run wrote)
    wall_s: float = 0.0
    descriptions: dict[str, str] = field(default_factory=dict)


def _run_arm(args: tuple[SuiteConfig, str, list[TaskInstance], bool]) -> dict:
    """All instances of one arm, every method; runs in a worker process or in the caller."""
    import torch

    from video_planner.evaluation.executor import ExecutorConfig, WaypointExecutor
    from video_planner.evaluation.methods import Episode, expert_video, run_method
    from video_planner.sim.arms import get_arm
    from video_planner.sim.randomization import DomainRandomization
    from video_planner.sim.tasks import sample_task
    from video_planner.sim.world import TabletopWorld
    config, arm, instances, want_gifs = args
    torch.set_num_threads(config.threads)
    components = Components(config)
    methods, skipped = components.methods()
    randomization = DomainRandomization() if config.randomize else DomainRandomization.none()
    world = TabletopWorld(arm, seed=config.seed, image_size=config.image_size, randomization=randomization)
    gifs: dict[str, tuple[str, list]] = {}
    names = [m.name for m in methods]
    gif_method = config.gif_method if config.gif_method in names else (names[0] if names else '')
    frames: list[np.ndarray] = []
    executor = WaypointExecutor(world, ExecutorConfig(step_m=config.step_m, max_control_steps=config.max_control_steps))
    records = []
    try:
        for inst in instances:
            task = sample_task(get_arm(arm), inst.family, np.random.default_rng(inst.seed), split=inst.split)
            gt = None
            if any(m.name.startswith('gt_video_') for m in methods):
                gt = expert_video(world, task, world.reset(task, seed=inst.seed), components.horizon + 1,
                                  config.gt_spacing)
            for method in methods:
                record_gif = want_gifs and method.name == gif_method and len(gifs) < 2
                frames.clear()
                executor.on_step = (lambda: frames.append(world.render()[0])
                                    if executor.steps % 2 == 0 else None) if record_gif else None
                obs = world.reset(task, seed=inst.seed)
                if record_gif:
                    frames.append(obs.rgb)
                executor.reset(obs.gripper)
                t0 = time.perf_counter()
                outcome = run_method(method, Episode(world, task, obs, inst.seed, executor, gt_frames=gt))
                records.append(EpisodeRecord(
                    method=method.name, arm=arm, arm_group=arm_group(config, arm),
                    family=inst.family, split=inst.split, index=inst.index, seed=inst.seed,
                    instruction=task.instruction, success=bool(outcome.success), plans=outcome.plans,
                    failed_plans=outcome.failed_plans, control_steps=executor.steps, status=outcome.status,
                    wall_s=time.perf_counter() - t0, timings=outcome.timings, unmet=outcome.unmet,
                    suite_seed=inst.suite_seed, rejections=outcome.rejections))
                kind = 'success' if outcome.success else 'failure'
                if record_gif and kind not in gifs:
                    gifs[kind] = (f'{method.name}, {arm}: "{task.instruction}" ({kind})', list(frames))
    finally:
        world.close()
    return {'records': records, 'skipped': {**skipped}, 'gifs': gifs,
            'descriptions': {m.name: m.description for m in methods}}


def _available_methods(config: SuiteConfig) -> tuple[SuiteConfig, dict[str, str]]:
    """Decide once, before any worker starts, which methods have their checkpoints: a model file that
    appears mid-run must not give some arms a method and others not."""
    needs = {'video_': ('video model', config.video_checkpoint_path),
             '_learned': ('learned inverse dynamics', config.idm_checkpoint_path),
             'policy': ('policy', config.policy_checkpoint_path)}
    skipped = {}
    for name in config.methods:
        for key, (what, path) in needs.items():
            hit = name.startswith(key) if key.endswith('_') else (name.endswith(key) or name == key)
            if hit and not path.is_file():
                skipped.setdefault(name, f'no {what} checkpoint at {path}')
    kept = [m for m in config.methods if m not in skipped]
    if not kept:
        raise ConfigError(f'eval: no method can run: {skipped}')
    return dataclasses.replace(config, methods=kept), skipped


def run_suite(config: SuiteConfig, progress: bool = True) -> SuiteResult:
    """Run every configured method on every task instance; per-arm work spread over `workers` processes."""
    from tqdm import tqdm
    config, unavailable = _available_methods(config)
    instances = task_instances(config)
    jobs = [(config, arm, [i for i in instances if i.arm == arm], True) for arm in config.arms
            if any(i.arm == arm for i in instances)]
    t0 = time.perf_counter()
    if config.workers == 1 or len(jobs) == 1:
        results = map(_run_arm, jobs)
        pool = None
    else:
        pool = mp.get_context('spawn').Pool(min(config.workers, len(jobs)))
        results = pool.imap(_run_arm, jobs)
    records, skipped, gifs, descriptions = [], dict(unavailable), {}, {}
    try:
        for part in tqdm(results, total=len(jobs), desc='arms', unit='arm', disable=not progress):
            records += part['records']
            skipped.update(part['skipped'])
            descriptions.update(part['descriptions'])
            for kind, value in part['gifs'].items():
                gifs.setdefault(kind, (value[0], np.stack(value[1])))
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return SuiteResult(config, records, skipped, gifs, time.perf_counter() - t0, descriptions)


# ------------------------------------------------------------------------------------------ command line
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--config', default=None, help='eval YAML (default: the package config/eval.yaml)')
    parser.add_argument('--out', default='benchmarks/results', help='folder for closed_loop.{json,md,png} + GIFs')
    parser.add_argument('--markdown', default=None, help='also (re)write the closed-loop section of this file '
                                                         '(e.g. BENCHMARKS.md)')
    parser.add_argument('--episodes', type=int, default=None, help='episodes per (arm, family, split)')
    parser.add_argument('--arms', nargs='+', default=None)
    parser.add_argument('--families', nargs='+', default=None)
    parser.add_argument('--splits', nargs='+', default=None)
    parser.add_argument('--methods', nargs='+', default=None, help=f'subset of {list(ALL_METHODS)}')
    parser.add_argument('--seed', type=int, default=None, help='instance seed (one run)')
    parser.add_argument('--seeds', type=int, nargs='+', default=None,
                        help='several instance seeds in one run, reported per seed and pooled (e.g. 2026 777)')
    parser.add_argument('--workers', type=int, default=None)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--loop', choices=['closed', 'open'], default=None)
    parser.add_argument('--chunk', type=int, default=None, help='waypoints per plan before replanning (0 = all)')
    parser.add_argument('--max-plans', type=int, default=None)
    parser.add_argument('--checkpoint', default=None, help='video model checkpoint')
    parser.add_argument('--idm-checkpoint', default=None, help='learned inverse-dynamics checkpoint')
    parser.add_argument('--policy-checkpoint', default=None)
    parser.add_argument('--sampling-steps', type=int, default=None)
    parser.add_argument('--hint-guidance', type=float, default=None,
                        help='guidance towards the target hint (1 = none; else one more network call per step)')
    parser.add_argument('--num-candidates', type=int, default=None,
                        help='video plans sampled per planning call; the most confident one is executed')
    parser.add_argument('--gripper-source', choices=GRIPPER_SOURCES, default=None,
                        help="gripper commands from the inverse dynamics' reading ('estimate'), the path's low "
                             "points ('height'), or 'auto' (PlannerConfig.gripper_source)")
    parser.add_argument('--grounding-checkpoint', default=None,
                        help='grounding network (`video-planner train --model grounding`) drawing the target hint '
                             "of a video model that reads one; default: the shipped one")
    for name, what in PLANNER_SWITCHES.items():
        parser.add_argument('--' + name.replace('_', '-'), action=argparse.BooleanOptionalAction, default=None,
                            help=f'{what} (PlannerConfig.{name}; default: config/eval.yaml)')
    parser.add_argument('--gt-spacing', choices=SPACINGS, default=None,
                        help="frames of the expert's video (gt_video methods): evenly in time, or the path's "
                             "corners and gripper changes first (video_planner.data.keyframes)")
    parser.add_argument('--only', nargs='+', default=None, metavar='KEY',
                        help='only these task instances, as arm/family/split/index/seed (e.g. z1/push/train/0/777)')
    parser.add_argument('--only-file', default=None, metavar='PATH',
                        help='only the task instances listed in this file, one key per line (# comments)')
    parser.add_argument('--no-gifs', action='store_true')
    parser.add_argument('--update', default=None, metavar='RUN',
                        help='rerun --methods on the instances of an earlier run (its closed_loop.json or folder) '
                             'and write its report again with their new records, the other methods\' kept')


INSTANCE_FLAGS = ('episodes', 'arms', 'families', 'splits', 'seed', 'seeds')


def config_from_args(args: argparse.Namespace, base: SuiteConfig | None = None) -> SuiteConfig:
    """`base` (default: --config or the package's eval.yaml) with the command line's flags applied."""
    config = base or (SuiteConfig.from_yaml(args.config) if args.config else SuiteConfig.default())
    names = lambda v: [x for item in v for x in item.split(',') if x] if v is not None else None  # noqa: E731
    seeds = args.seeds if args.seeds is not None else ([] if args.seed is not None else None)
    only = list(args.only or []) + (read_instance_keys(args.only_file) if getattr(args, 'only_file', None) else [])
    overrides = {'seeds': seeds, 'episodes': args.episodes, 'arms': names(args.arms), 'families': names(args.families),
                 'splits': names(args.splits), 'methods': names(args.methods), 'seed': args.seed,
                 'workers': args.workers, 'threads': args.threads, 'loop': args.loop, 'chunk': args.chunk,
                 'max_plans': args.max_plans, 'checkpoint': args.checkpoint, 'idm_checkpoint': args.idm_checkpoint,
                 'policy_checkpoint': args.policy_checkpoint, 'sampling_steps': args.sampling_steps,
                 'num_candidates': args.num_candidates,
                 'grounding_checkpoint': args.grounding_checkpoint, 'hint_guidance': args.hint_guidance,
                 'gripper_source': args.gripper_source,
                 **{name: getattr(args, name) for name in PLANNER_SWITCHES},
                 'gt_spacing': args.gt_spacing, 'only': only or None}
    return dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})


def read_instance_keys(path: str | Path) -> list[str]:
    """Instance keys (`SuiteConfig.only`) from a text file: one per line, blank lines and # comments skipped."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise VideoPlannerError(f'eval --only-file {path}: cannot be read ({exc})') from exc
    return [line.split('#')[0].strip() for line in lines if line.split('#')[0].strip()]


def load_run(path: str | Path) -> SuiteResult:
    """An earlier run's closed_loop.json (or the folder holding it) as a SuiteResult; its GIFs are the files
    it wrote (captions only)."""
    from video_planner.evaluation.methods import description
    data = read_run(path)
    try:
        config = SuiteConfig(**data['config'])
        records = [EpisodeRecord(**r) for r in data['records']]
    except (ValueError, KeyError, TypeError) as exc:
        raise VideoPlannerError(f'eval --update {path}: not a closed_loop.json of `video-planner eval` '
                                f'({exc})') from exc
    descriptions = data.get('descriptions') or {m: description(m) for m in config.methods}
    gifs = {kind: (caption, None) for kind, caption in data.get('gifs', {}).items()}
    return SuiteResult(config, records, data.get('skipped', {}), gifs, float(data.get('wall_s', 0.0)), descriptions)


def merge_runs(earlier: SuiteResult, new: SuiteResult) -> SuiteResult:
    """`earlier` with the records of the methods `new` ran replaced by `new`'s: on all of earlier's instances,
    or on those `new.config.only` names."""
    rerun = set(new.config.methods)
    methods = list(earlier.config.methods) + [m for m in new.config.methods if m not in earlier.config.methods]
    subset = set(new.config.only)

    def replaced(r) -> bool:
        return r.method in rerun and (not subset or instance_key(r.arm, r.family, r.split, r.index, r.suite_seed)
                                      in subset)
    records = [r for r in earlier.records if not replaced(r)] + new.records
    skipped = {**{m: why for m, why in earlier.skipped.items() if m not in rerun}, **new.skipped}
    gifs = {**new.gifs, **earlier.gifs}     # the earlier run's GIF files stay where it wrote them
    return SuiteResult(dataclasses.replace(new.config, methods=methods, only=list(earlier.config.only)), records,
                       skipped, gifs,
                       earlier.wall_s + new.wall_s, {**earlier.descriptions, **new.descriptions})


def run(args: argparse.Namespace) -> int:
    earlier = None
    if getattr(args, 'update', None):
        given = [f'--{f}' for f in INSTANCE_FLAGS if getattr(args, f, None) is not None]
        if given:
            raise VideoPlannerError('eval --update reruns the earlier run\'s own task instances; '
                                    f'drop {", ".join(given)}')
        if args.methods is None:
            raise VideoPlannerError('eval --update: name the methods to rerun with --methods')
        earlier = load_run(args.update)
        config = config_from_args(args, earlier.config)
    else:
        config = config_from_args(args)
    result = run_suite(config)
    if earlier is not None:
        result = merge_runs(earlier, result)
    if args.no_gifs:
        result.gifs = {k: v for k, v in result.gifs.items() if v[1] is None}
    paths = write_report(result, Path(args.out), Path(args.markdown) if args.markdown else None)
    for name, reason in sorted(result.skipped.items()):
        print(f'skipped {name}: {reason}')
    print(f'{len(result.records)} episodes in {result.wall_s:.0f} s -> ' + ', '.join(str(p) for p in paths))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='video-planner eval', description=__doc__.splitlines()[0])
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except VideoPlannerError as exc:
        print(f'video-planner eval: error: {exc}')
        return 2


if __name__ == '__main__':
    raise SystemExit(main())
