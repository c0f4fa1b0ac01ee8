"""dynamics.yaml -> the configs of the inverse-dynamics methods and of the post-processing."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from video_planner.config_fields import dataclass_from_dict
from video_planner.dynamics.flow_depth import FlowConfig
from video_planner.dynamics.postprocess import PostprocessConfig
from video_planner.errors import ConfigError

DEFAULT_YAML = Path(__file__).resolve().parents[2] / 'config' / 'dynamics.yaml'


def load_dynamics_yaml(path: str | Path | None = None) -> dict:
    """The YAML as a dict; ``None`` reads the package's config/dynamics.yaml (empty if absent)."""
    p = Path(path) if path is not None else DEFAULT_YAML
    if not p.is_file():
        if path is None:
            return {}
        raise ConfigError(f'dynamics config: file {p} does not exist')
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f'dynamics config {p}: not valid YAML ({exc})') from exc
    if not isinstance(data, dict):
        raise ConfigError(f'dynamics config {p}: expected a mapping at the top level')
    return data


def _build(cls, values, section: str):
    return dataclass_from_dict(cls, values or {}, f'dynamics config section {section!r}', 'field(s)')


@dataclass
class DynamicsConfig:
    method: str = 'flow'  # 'flow' (FlowDepthInverseDynamics) or 'learned' (LearnedInverseDynamics)
    learned_checkpoint: str | None = None  # model.pt written by `video-planner train --model idm`
    flow: FlowConfig = field(default_factory=FlowConfig)
    postprocess: PostprocessConfig = field(default_factory=PostprocessConfig)

    def __post_init__(self):
        if self.method not in ('flow', 'learned'):
            raise ConfigError(f"dynamics config: method must be 'flow' or 'learned', got {self.method!r}")

    @classmethod
    def from_yaml(cls, path: str | Path | None = None) -> 'DynamicsConfig':
        d = load_dynamics_yaml(path)
        learned = d.get('learned', {}) or {}
        return cls(method=d.get('method', 'flow'), learned_checkpoint=learned.get('checkpoint'),
                   flow=_build(FlowConfig, d.get('flow'), 'flow'),
                   postprocess=_build(PostprocessConfig, d.get('postprocess'), 'postprocess'))

