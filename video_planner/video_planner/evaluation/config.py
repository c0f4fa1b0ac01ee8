"""SuiteConfig: what the closed-loop benchmark runs (config/eval.yaml, then command-line overrides)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from video_planner.data.keyframes import SPACINGS
from video_planner.errors import ConfigError
from video_planner.planner.config import GRIPPER_SOURCES, SHIPPED_IDMS, SHIPPED_VIDEO_MODELS
from video_planner.resources import config_path, model_file

ALL_METHODS = ('video_flow', 'video_learned', 'gt_video_flow', 'gt_video_learned', 'policy', 'expert', 'random',
               'noop')
# The planner's on/off settings the suite passes through (PlannerConfig fields; `eval --[no-]<name>`).
PLANNER_SWITCHES = {
    'collision_check': 'refuse plans that drive the gripper through an object seen in the depth image',
    'route_over': 'lift a path the collision check refuses over what it would drive the gripper through '
                  '(before a touch or push), instead of refusing the plan',
    'snap_grasps': 'move a grasp the plan closes near the named object onto that object as the depth image shows it',
    'snap_places': 'release a held object over the destination the instruction names, as the destination '
                   'grounding network finds it',
    'snap_touches': 'move a touch the plan draws near the named object onto the centre of its top',
    'snap_pushes': 'redraw a push the plan draws at the named object straight through it, the way the instruction '
                   'asks (a direction, or toward the object it names), 5-6 cm',
    'turn_contacts': 'turn a contact about the vertical when the drawn yaw would put the gripper on another '
                     'object seen in depth',
    'return_home': 'when every video sampled draws the tool elsewhere in its first frame, take the tool back to '
                   'the arm\'s home pose instead of refusing the plan',
    'step_aside': 'when the arm hides the named object from the camera, move the tool sideways out of the way '
                  'first (the arm\'s silhouette from its URDF) instead of planning a video',
}


@dataclass
class SuiteConfig:
    arms: list[str] = field(default_factory=lambda: ['panda', 'iiwa', 'xarm6', 'ur5', 'so100', 'kinova'])
    # Arms never in the training data (reported as 'held-out'); names as in `arms`. Default: the
    # registry's (sim/arms.py HELD_OUT_ARMS, read from config/eval.yaml).
    held_out_arms: list[str] | None = None
    families: list[str] = field(default_factory=lambda: ['reach', 'push', 'pick_place', 'lift'])
    splits: list[str] = field(default_factory=lambda: ['train', 'heldout'])
    episodes: int = 3
    seed: int = 2026
    seeds: list[int] = field(default_factory=list)  # several instance seeds in one run (reported per seed
    #                                                 and pooled); empty = [seed]
    # Only these instances of the ones above ('arm/family/split/index/seed', e.g. 'z1/push/train/0/777'):
    # rerun a subset of a run (`eval --update RUN --only-file KEYS`); empty = all of them.
    only: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=lambda: list(ALL_METHODS))
    image_size: int = 64
    randomize: bool = True
    workers: int = 1
    threads: int = 1
    loop: str = 'closed'
    chunk: int = 0
    max_plans: int = 10
    checkpoint: str = ''
    idm_checkpoint: str = ''
    num_candidates: int = 1
    grounding_checkpoint: str = ''    # target hint of a video model that reads one; '' = the shipped one
    sampling_steps: int = 10
    hint_guidance: float = 8.0        # guidance towards the target hint (PlannerConfig.hint_guidance)
    gripper_source: str = 'auto'      # where a plan's gripper commands come from (PlannerConfig.gripper_source)
    collision_check: bool = True      # refuse plans that drive the gripper through an object (PlannerConfig)
    route_over: bool = True           # a colliding path is lifted over what it hits (PlannerConfig)
    snap_grasps: bool = True          # move a grasp drawn near the named object onto it (PlannerConfig)
    snap_places: bool = True          # release a held object over the destination the instruction names
    snap_touches: bool = True         # a touch the plan draws near the named object lands on its top
    snap_pushes: bool = True          # a push the plan draws is redrawn through the named object, the asked way
    turn_contacts: bool = True        # a contact turns away from the objects around it (PlannerConfig)
    return_home: bool = True          # the tool goes home when every video draws it elsewhere (PlannerConfig)
    step_aside: bool = True           # the arm moves out of the camera's way of a named object it hides
    gt_spacing: str = 'time'          # expert-video frames: 'time' (even) or 'keyframes' (data/keyframes.py)
    policy_checkpoint: str = ''
    policy_max_steps: int = 40
    step_m: float = 0.009
    max_control_steps: int = 400
    gif_method: str = 'video_flow'
    horizon: int = 8                  # gt_video frames K+1 = horizon + 1 when no video model is loaded

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        from video_planner.sim.arms import HELD_OUT_ARMS, check_arm_names
        from video_planner.sim.tasks import SPLITS, TASK_FAMILIES
        check_arm_names(self.arms, 'eval arms')
        if self.held_out_arms is None:
            self.held_out_arms = list(HELD_OUT_ARMS)
        for name, values, known in (('families', self.families, TASK_FAMILIES),
                                    ('splits', self.splits, SPLITS), ('methods', self.methods, ALL_METHODS)):
            bad = [v for v in values if v not in known]
            if bad or not values:
                raise ConfigError(f'eval {name}: unknown {bad} (or empty); expected names from {list(known)}')
        for name in ('episodes', 'workers', 'threads', 'max_plans', 'num_candidates', 'sampling_steps',
                     'policy_max_steps', 'max_control_steps', 'horizon'):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ConfigError(f'eval {name}: expected an integer >= 1, got {getattr(self, name)!r}')
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in self.seeds) \
                or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f'eval seeds: expected distinct integers, got {self.seeds!r}')
        bad = [key for key in self.only if not _is_instance_key(key)]
        if bad:
            raise ConfigError(f'eval only: expected keys arm/family/split/index/seed, got {bad[:3]!r}')
        if self.chunk < 0:
            raise ConfigError(f'eval chunk: expected >= 0 (0 = whole plan), got {self.chunk}')
        if self.loop not in ('closed', 'open'):
            raise ConfigError(f"eval loop: expected 'closed' or 'open', got {self.loop!r}")
        if not isinstance(self.hint_guidance, (int, float)) or not 0.0 <= self.hint_guidance <= 10.0:
            raise ConfigError('eval hint_guidance: expected a number in [0, 10] (1 = none), '
                              f'got {self.hint_guidance!r}')
        if self.gt_spacing not in SPACINGS:
            raise ConfigError(f'eval gt_spacing: expected one of {SPACINGS}, got {self.gt_spacing!r}')
        for name in PLANNER_SWITCHES:
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f'eval {name}: expected true or false, got {getattr(self, name)!r}')
        if self.gripper_source not in GRIPPER_SOURCES:
            raise ConfigError(f'eval gripper_source: expected one of {GRIPPER_SOURCES}, got {self.gripper_source!r}')
        if not self.step_m > 0:
            raise ConfigError(f'eval step_m: expected > 0, got {self.step_m}')

    @classmethod
    def default(cls) -> 'SuiteConfig':
        """The package's config/eval.yaml (the dataclass defaults where it is missing)."""
        path = config_path('eval.yaml')
        return cls.from_yaml(path) if path.is_file() else cls()

    @classmethod
    def from_yaml(cls, path: str | Path) -> 'SuiteConfig':
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f'eval config {path}: cannot be read ({exc})') from exc
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ConfigError(f'eval config {path}: unknown field(s) {unknown}')
        return cls(**data)

    @property
    def instance_seeds(self) -> list[int]:
        return list(self.seeds) or [self.seed]

    @property
    def video_checkpoint_path(self) -> Path:
        # Every benchmark arm is known (a name or an arm YAML): the planner's default for those.
        return model_file(self.checkpoint, SHIPPED_VIDEO_MODELS['canonical'])

    def video_view(self) -> str:
        """The view the video model plans in (its checkpoint says), which the learned inverse dynamics must
        read; the shipped default's where there is no video model file."""
        path = self.video_checkpoint_path
        if not path.is_file():
            return 'canonical'
        from video_planner.model.checkpoint import load_checkpoint
        from video_planner.model.config import VideoModelConfig
        return VideoModelConfig.from_dict(load_checkpoint(path, 'video').config, source=f'checkpoint {path}').view

    @property
    def idm_checkpoint_path(self) -> Path:
        """The configured learned inverse dynamics, else the shipped one of the video model's view."""
        return model_file(self.idm_checkpoint, SHIPPED_IDMS[self.video_view()])

    @property
    def policy_checkpoint_path(self) -> Path:
        return model_file(self.policy_checkpoint, 'policy_default.pt')


def arm_group(config: SuiteConfig, arm: str) -> str:
    """'held-out' for the configured held-out arms and for any arm given as a YAML path (no training data
    has it), else 'seen'."""
    from video_planner.sim.arms import is_arm_file
    return 'held-out' if arm in config.held_out_arms or is_arm_file(arm) else 'seen'


def instance_key(arm: str, family: str, split: str, index: int, suite_seed: int) -> str:
    """How `SuiteConfig.only` names a task instance."""
    return f'{arm}/{family}/{split}/{index}/{suite_seed}'


def _is_instance_key(key) -> bool:
    parts = key.split('/') if isinstance(key, str) else []
    return len(parts) == 5 and all(parts[:3]) and all(p.lstrip('-').isdigit() for p in parts[3:])
