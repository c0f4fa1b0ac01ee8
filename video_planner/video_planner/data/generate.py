"""`video-planner generate`: scripted-expert episodes -> one HDF5 file per episode in a directory.

Episode i uses seed S + i, arm arms[i % len(arms)] and family tasks[(i // len(arms)) % len(tasks)],
whatever the number of workers, so a dataset is a pure function of its arguments. Finished episodes
are files `ep_<i>.hdf5` (written atomically); failed expert runs leave `ep_<i>.failed` unless
--keep-failures. A rerun skips both, so an interrupted run resumes where it stopped.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
from dataclasses import dataclass
from pathlib import Path

from video_planner.errors import ConfigError, VideoPlannerError
from video_planner.sim.randomization import DomainRandomization

_WORLDS: dict = {}  # per worker process: (arm, image size, randomization) -> TabletopWorld, reused


@dataclass(frozen=True)
class GenerateConfig:
    arms: tuple[str, ...]
    tasks: tuple[str, ...]
    episodes: int
    seed: int
    out: Path
    workers: int = 1
    image_size: int = 64
    frames: int = 24
    split: str = 'train'
    keep_failures: bool = False
    randomize: bool = True
    randomization: DomainRandomization | None = None  # None: DomainRandomization() defaults

    def validate(self) -> None:
        from video_planner.sim.arms import check_arm_names
        from video_planner.sim.tasks import SPLITS, TASK_FAMILIES
        check_arm_names(self.arms, '--arms')
        bad = [t for t in self.tasks if t not in TASK_FAMILIES]
        if bad or not self.tasks:
            raise VideoPlannerError(f'--tasks: unknown {bad}; expected names from {list(TASK_FAMILIES)}')
        if self.episodes < 1:
            raise VideoPlannerError(f'--episodes: expected >= 1, got {self.episodes}')
        if self.workers < 1:
            raise VideoPlannerError(f'--workers: expected >= 1, got {self.workers}')
        if self.frames < 9:
            raise VideoPlannerError(f'--frames: expected >= 9 (a K=8 clip needs 9 frames), got {self.frames}')
        if self.split not in SPLITS:
            raise VideoPlannerError(f'--split: expected one of {SPLITS}, got {self.split!r}')

    def episode_plan(self, i: int) -> tuple[str, str, int]:
        """(arm, task family, seed) of episode i."""
        return self.arms[i % len(self.arms)], self.tasks[(i // len(self.arms)) % len(self.tasks)], self.seed + i


def episode_path(out: Path, i: int) -> Path:
    return out / f'ep_{i:06d}.hdf5'


def _failed_marker(out: Path, i: int) -> Path:
    return out / f'ep_{i:06d}.failed'


def generate_one(config: GenerateConfig, i: int) -> tuple[int, bool]:
    """Generate episode i into config.out (in this process). Returns (i, expert success)."""
    import numpy as np

    from video_planner.data.canonical import add_canonical_view
    from video_planner.data.episode import write_episode
    from video_planner.data.recording import record_expert_episode
    from video_planner.sim.arms import get_arm
    from video_planner.sim.tasks import sample_task
    from video_planner.sim.world import TabletopWorld

    arm, family, seed = config.episode_plan(i)
    randomization = (config.randomization or DomainRandomization()) if config.randomize \
        else DomainRandomization.none()
    key = (arm, config.image_size, randomization)  # one process may generate several datasets
    world = _WORLDS.get(key)
    if world is None:
        world = _WORLDS[key] = TabletopWorld(arm, seed=seed, image_size=config.image_size,
                                             randomization=randomization)
    rng = np.random.default_rng(seed)
    task = sample_task(get_arm(arm), family, rng, split=config.split)
    episode = record_expert_episode(world, task, seed=seed, frames=config.frames)
    if episode.success or config.keep_failures:
        env = {'arm': arm, 'image_size': config.image_size, 'generator': 'video_planner.data.generate'}
        write_episode(episode_path(config.out, i), episode, env)
        add_canonical_view(episode_path(config.out, i))  # both views: the models pick theirs
    else:
        _failed_marker(config.out, i).write_text(f'{arm} {family} seed={seed}: expert failed\n')
    return i, episode.success


def _worker_init() -> None:
    # One thread per worker: the workers are the parallelism (numpy/BLAS would oversubscribe).
    os.environ.setdefault('OMP_NUM_THREADS', '1')


def _work(args: tuple[GenerateConfig, int]) -> tuple[int, bool]:
    return generate_one(*args)


def pending_episodes(config: GenerateConfig) -> list[int]:
    return [i for i in range(config.episodes)
            if not episode_path(config.out, i).exists() and not _failed_marker(config.out, i).exists()]


def write_manifest(config: GenerateConfig) -> None:
    from video_planner.sim.arms import HELD_OUT_ARMS, SEEN_ARMS
    from video_planner.sim.tasks import paraphrase_split
    manifest = {
        'format': 'video_planner episodes v1 (docs/DATASET.md)',
        'arms': list(config.arms), 'tasks': list(config.tasks), 'episodes': config.episodes,
        'seed': config.seed, 'image_size': config.image_size, 'frames': config.frames,
        'split': config.split, 'keep_failures': config.keep_failures, 'randomize': config.randomize,
        'seen_arms': list(SEEN_ARMS), 'held_out_arms': list(HELD_OUT_ARMS),
        'paraphrases': paraphrase_split(),
    }
    tmp = config.out / '.manifest.json.tmp'
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, config.out / 'manifest.json')


def generate(config: GenerateConfig, progress: bool = True) -> dict:
    """Generate the missing episodes of `config`; returns counts {'done', 'success', 'failed', 'skipped'}."""
    from tqdm import tqdm
    config.validate()
    config.out.mkdir(parents=True, exist_ok=True)
    write_manifest(config)
    todo = pending_episodes(config)
    counts = {'done': 0, 'success': 0, 'failed': 0, 'skipped': config.episodes - len(todo)}
    bar = tqdm(total=len(todo), desc='episodes', unit='ep', disable=not progress)
    jobs = [(config, i) for i in todo]
    if config.workers == 1:
        results = map(_work, jobs)
        pool = None
    else:
        pool = mp.get_context('spawn').Pool(config.workers, initializer=_worker_init)
        results = pool.imap_unordered(_work, jobs)
    try:
        for _, ok in results:
            counts['done'] += 1
            counts['success' if ok else 'failed'] += 1
            bar.update(1)
            bar.set_postfix(success=f"{counts['success']}/{counts['done']}")
    finally:
        bar.close()
        if pool is not None:
            pool.close()
            pool.join()
    return counts


# Built-in defaults; a --config YAML's `generate:` section overrides them, flags override both.
DEFAULTS = {'seed': 0, 'workers': 1, 'image_size': 64, 'frames': 24, 'split': 'train', 'keep_failures': False}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--config', type=Path, default=None,
                        help='YAML with a `generate:` section (same keys as the flags, underscores) and an '
                             'optional `randomization:` section (DomainRandomization fields); see config/sim.yaml')
    parser.add_argument('--arms', nargs='+', default=None,
                        help='arm names (comma or space separated); default: the seen (training) arms')
    parser.add_argument('--tasks', nargs='+', default=None, help='task families; default: all')
    parser.add_argument('--episodes', type=int, default=None, help='number of episodes (indices 0..N-1)')
    parser.add_argument('--seed', type=int, default=None, help='episode i uses seed SEED + i (default 0)')
    parser.add_argument('--out', type=Path, default=None, help='output directory (one .hdf5 per episode)')
    parser.add_argument('--workers', type=int, default=None, help='parallel processes (default 1)')
    parser.add_argument('--image-size', type=int, default=None, help='rendered image width = height (default 64)')
    parser.add_argument('--frames', type=int, default=None, help='recorded frames per episode (default 24)')
    parser.add_argument('--split', default=None, help="instruction paraphrases: 'train' (default) or 'heldout'")
    parser.add_argument('--keep-failures', action='store_true', default=None,
                        help='also write episodes the expert failed')
    parser.add_argument('--no-randomization', action='store_true', help='fixed look (no domain randomisation)')


def _names(values) -> tuple[str, ...]:
    values = [values] if isinstance(values, str) else list(values)
    return tuple(v.strip() for item in values for v in str(item).split(',') if v.strip())


def _load_yaml(path: Path) -> tuple[dict, dict]:
    import yaml
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f'--config {path}: cannot read YAML ({exc})') from exc
    if not isinstance(data, dict):
        raise ConfigError(f'--config {path}: expected a mapping with `generate:` / `randomization:` sections')
    gen, rand = data.get('generate') or {}, data.get('randomization') or {}
    known = set(DEFAULTS) | {'arms', 'tasks', 'episodes', 'out', 'randomize'}
    unknown = set(gen) - known
    if unknown:
        raise ConfigError(f'--config {path}: unknown generate keys {sorted(unknown)}; expected {sorted(known)}')
    return gen, rand


def config_from_args(args: argparse.Namespace) -> GenerateConfig:
    from video_planner.sim.arms import SEEN_ARMS
    from video_planner.sim.tasks import TASK_FAMILIES
    gen, rand = _load_yaml(args.config) if getattr(args, 'config', None) else ({}, {})

    def pick(key, fallback=None):
        value = getattr(args, key, None)
        if value is not None:
            return value
        return gen.get(key, DEFAULTS.get(key, fallback))

    episodes, out = pick('episodes'), pick('out')
    if episodes is None or out is None:
        raise ConfigError('--episodes and --out are required (on the command line or in --config generate:)')
    try:
        randomization = DomainRandomization(**{k: tuple(v) if isinstance(v, list) else v for k, v in rand.items()})
    except TypeError as exc:
        raise ConfigError(f'--config randomization: {exc}') from exc
    return GenerateConfig(arms=_names(pick('arms', SEEN_ARMS)), tasks=_names(pick('tasks', TASK_FAMILIES)),
                          episodes=int(episodes), seed=int(pick('seed')), out=Path(out),
                          workers=int(pick('workers')), image_size=int(pick('image_size')),
                          frames=int(pick('frames')), split=str(pick('split')),
                          keep_failures=bool(pick('keep_failures')),
                          randomize=not args.no_randomization and bool(gen.get('randomize', True)),
                          randomization=randomization)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    counts = generate(config)
    print(f"generated {counts['done']} episodes ({counts['success']} expert successes, {counts['failed']} failed"
          f"{'' if config.keep_failures else ' and not kept'}), skipped {counts['skipped']} already done -> "
          f'{config.out}')
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='video-planner generate', description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == '__main__':
    raise SystemExit(main())
