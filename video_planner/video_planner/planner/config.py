"""PlannerConfig: everything the planning pipeline needs, validated once where it enters."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from video_planner.config_fields import dataclass_from_dict
from video_planner.dynamics.gripper import GRIPPER_SOURCES as PLAN_GRIPPER_SOURCES
from video_planner.embodiment.canonical_view import check_view
from video_planner.errors import ConfigError
from video_planner.resources import model_file

INVERSE_DYNAMICS_METHODS = ('flow', 'learned')
# Where a plan's gripper commands come from: 'estimate', the inverse dynamics' own reading of the frames;
# 'height', the path's low points (dynamics/gripper.py); 'auto', the estimate where the learned inverse
# dynamics reads the canonical view (its gripper is drawn to show the opening), the height rule otherwise.
GRIPPER_SOURCES = ('auto',) + PLAN_GRIPPER_SOURCES
# The shipped models of each view (video_planner.embodiment): the video model, and the learned inverse
# dynamics that reads its frames.
SHIPPED_VIDEO_MODELS = {'camera': 'default.pt', 'canonical': 'canonical.pt'}
SHIPPED_IDMS = {'camera': 'idm_default.pt', 'canonical': 'idm_canonical.pt'}
# The switches that read the scene (contact snapping, planner/contact.py; stepping aside, planner/step_aside.py);
# any of them on makes the planner read it.
SCENE_SWITCHES = ('snap_grasps', 'snap_places', 'snap_touches', 'snap_pushes', 'turn_contacts', 'step_aside')


@dataclass
class PlannerConfig:
    checkpoint: str = ''                 # video model; '' = the shipped one of `default_view`
    inverse_dynamics: str = 'learned'    # 'learned' (UniPi-style IDM, shipped) or 'flow' (optical flow + depth, AVDC)
    idm_checkpoint: str = ''             # learned inverse-dynamics model; '' = the shipped one of the frames' view
    arm: str = ''                        # simulator arm name or arm YAML: its URDF and frames serve when urdf is ''
    urdf: str = ''                       # URDF file path or XML string ('' = no joint targets unless arm is set)
    base_frame: str = ''                 # '' = guessed from the URDF tree
    ee_frame: str = ''
    num_candidates: int = 2              # plans sampled per goal; the best-ranked one that passes the gates wins
    # Finds the object the instruction names, for a video model that reads a target hint; '' = the shipped
    # grounding_default.pt. Not loaded for a video model without the hint input.
    grounding_checkpoint: str = ''
    sampling_steps: int = 10             # DDIM steps
    # Guidance towards the target hint (1 = none; any other value costs one more network call per step):
    # the plan with the hint minus the plan without it, scaled. At 8 the shipped model's plans go to the
    # named object far more often, and the closed loop solves 51 % instead of 40 %
    # (benchmarks/results/hint_guidance.md). Ignored for a video model without the hint input.
    hint_guidance: float = 8.0
    frame_period_s: float = 0.5          # time between plan frames when executed
    max_step_m: float = 0.15             # largest end-effector move between two plan frames (expert: p95 0.12)
    min_confidence: float = 0.2          # lowest allowed mean inverse-dynamics confidence
    gripper_source: str = 'auto'         # one of GRIPPER_SOURCES
    workspace_min: list[float] = field(default_factory=lambda: [-0.2, -0.8, -0.05])
    workspace_max: list[float] = field(default_factory=lambda: [1.0, 0.8, 0.9])
    max_joint_velocity_scale: float = 0.5
    # Refuse a plan whose path drives the gripper through an object seen in the depth image (planner/collision.py);
    # the gripper: 0 = the arm's own, as its URDF shapes it (sim/gripper_underside.py); > 0 = a
    # cylinder of that radius (0.025 m without an arm).
    collision_check: bool = True
    gripper_radius_m: float = 0.0
    # A path the collision check refuses is lifted over what it hits, at most 3 segments, before a touch's or a
    # push's contact (planner/detour.py); refused as before when that does not clear it.
    route_over: bool = True
    # Move a grasp the plan closes near the named object onto that object as the depth image shows it
    # (planner/contact.py); needs an arm, as the collision check does.
    snap_grasps: bool = True
    # Release a held object over the destination the instruction names, as the destination grounding
    # network finds it in the frame (planner/contact.py); '' = the shipped destination.pt.
    snap_places: bool = True
    destination_checkpoint: str = ''
    # Move the plan's lowest point near the named object onto its top when the instruction asks for a touch.
    snap_touches: bool = True
    # Redraw the plan's push of the named object straight through it, the way the instruction asks (a
    # direction word, or toward the object it names: planner/intent.py PushWay), 5-6 cm.
    snap_pushes: bool = True
    # Turn a contact (grasp, touch, push) about the vertical, 30 degree steps, when the drawn yaw would put
    # the gripper on another object seen in depth (planner/contact_yaw.py).
    turn_contacts: bool = True
    # When the arm hides the named object from the camera, plan a sideways move of the tool that uncovers it
    # (the arm's silhouette from its URDF) instead of a video (planner/step_aside.py).
    step_aside: bool = True
    # When every video sampled from here draws the tool elsewhere in its first frame (a jump beyond max_step_m),
    # take the tool back to the arm's home pose, where the video model plans from (VideoPlanner.home_plan).
    return_home: bool = True
    device: str = 'cpu'

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if self.inverse_dynamics not in INVERSE_DYNAMICS_METHODS:
            raise ConfigError(f"inverse_dynamics must be one of {INVERSE_DYNAMICS_METHODS}, got {self.inverse_dynamics!r}")
        if self.gripper_source not in GRIPPER_SOURCES:
            raise ConfigError(f'gripper_source must be one of {GRIPPER_SOURCES}, got {self.gripper_source!r}')
        for name in ('num_candidates', 'sampling_steps'):
            value = getattr(self, name)
            if not isinstance(value, int) or not 1 <= value <= 64:
                raise ConfigError(f'{name} must be an integer in 1..64, got {value!r}')
        for name in ('frame_period_s', 'max_step_m', 'max_joint_velocity_scale'):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ConfigError(f'{name} must be a positive number, got {value!r}')
        for name in ('collision_check', 'route_over', 'return_home') + SCENE_SWITCHES:
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f'{name} must be true or false, got {getattr(self, name)!r}')
        if not isinstance(self.gripper_radius_m, (int, float)) or not 0.0 <= self.gripper_radius_m <= 0.5:
            raise ConfigError(f'gripper_radius_m must be in [0, 0.5] m (0 = from the arm), '
                              f'got {self.gripper_radius_m!r}')
        if not isinstance(self.hint_guidance, (int, float)) or not 0.0 <= self.hint_guidance <= 10.0:
            raise ConfigError(f'hint_guidance must be a number in [0, 10] (1 = none), got {self.hint_guidance!r}')
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ConfigError(f'min_confidence must be in [0, 1], got {self.min_confidence!r}')
        for name in ('workspace_min', 'workspace_max'):
            value = getattr(self, name)
            if len(value) != 3 or not all(isinstance(v, (int, float)) for v in value):
                raise ConfigError(f'{name} must be three numbers [x, y, z] in metres, got {value!r}')
        if any(lo >= hi for lo, hi in zip(self.workspace_min, self.workspace_max)):
            raise ConfigError(f'workspace_min {self.workspace_min} must be below workspace_max {self.workspace_max}')
        if self.device not in ('cpu', 'cuda') and not self.device.startswith('cuda:'):
            raise ConfigError(f"device must be 'cpu' or 'cuda[:N]', got {self.device!r}")

    @property
    def default_view(self) -> str:
        """The view of the shipped video model taken when `checkpoint` is '': canonical wherever an arm (name
        or arm YAML) is set, whose URDF finds the arm in the frame so that the plan does not depend on how it
        looks; the camera view for a bare URDF or no arm."""
        return 'canonical' if self.arm and not self.urdf else 'camera'

    @property
    def checkpoint_path(self) -> Path:
        return model_file(self.checkpoint, SHIPPED_VIDEO_MODELS[self.default_view])

    def idm_checkpoint_for(self, view: str) -> Path:
        """The learned inverse dynamics for frames in `view`: the configured one, else the shipped one."""
        return model_file(self.idm_checkpoint, SHIPPED_IDMS[check_view(view, 'planner view')])

    @property
    def grounding_checkpoint_path(self) -> Path:
        return model_file(self.grounding_checkpoint, 'grounding_default.pt')

    @property
    def destination_checkpoint_path(self) -> Path:
        return model_file(self.destination_checkpoint, 'destination.pt')

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> 'PlannerConfig':
        return dataclass_from_dict(cls, values, 'planner config', 'planner setting(s)')

    @classmethod
    def from_yaml(cls, path: str | Path, node_name: str = 'planner_node') -> 'PlannerConfig':
        """Reads a plain mapping, or the `node_name: ros__parameters:` section of a ROS parameter file."""
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f'cannot read planner config {path}: {exc}') from exc
        if node_name in data and 'ros__parameters' in (data[node_name] or {}):
            data = data[node_name]['ros__parameters']
        known = {f.name for f in dataclasses.fields(cls)}
        return cls.from_dict({k: v for k, v in data.items() if k in known})

