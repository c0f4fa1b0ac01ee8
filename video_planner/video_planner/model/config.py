"""VideoModelConfig: every shape and training knob of the video diffusion model, with presets and YAML."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import yaml

from video_planner.config_fields import dataclass_from_dict
from video_planner.embodiment import check_view
from video_planner.errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'config'


@dataclass
class VideoModelConfig:
    """Shapes of the network and the diffusion process.

    The network sees `in_channels` of one noisy future frame plus `in_channels` of the first (observed)
    frame, concatenated on channels; it predicts `horizon` future frames at `image_size` square pixels.
    """

    image_size: int = 64
    horizon: int = 8                          # K future frames per plan
    in_channels: int = 3
    patch_size: int = 2                       # pixel-unshuffle factor: the UNet runs at image_size/patch_size
    base_channels: int = 32
    channel_mults: tuple[int, ...] = (1, 2, 4)  # one resolution level per entry (down by 2 between)
    blocks_per_level: int = 1
    temporal_attention_levels: tuple[int, ...] = (1, 2)  # levels that mix the K frames with attention
    attention_heads: int = 4
    text_dim: int = 384
    time_embed_dim: int = 128
    dropout: float = 0.0
    diffusion_steps: int = 1000               # T of the training chain
    prediction: str = 'v'                     # 'v' or 'eps'
    schedule: str = 'cosine'
    text_dropout: float = 0.1                 # training: drop the words (and the hint) this often
    # Layer-normalise the time and the text embedding before adding them. Without it the time embedding's
    # norm at the noisiest steps (~38 in the stage-4 model) drowns the instruction's (~1), and plans ignore
    # their instruction (benchmarks/results/plan_error_source.md, MODEL_CARD.md). No parameters: a model
    # trained without it can be fine-tuned with it.
    balance_conditioning: bool = False
    # Per-token instruction states (up to this many word pieces) read by cross-attention in the middle block
    # and in `cross_attention_levels`, on top of the pooled vector's FiLM. 0: the pooled vector only. The
    # pooled MiniLM vector barely tells "left" from "right" (cosine 0.98) or which object goes on which
    # (1.00), which a pixel-space plan must know; the tokens keep it. New layers start at zero, so a model
    # trained without them can be fine-tuned with them (`train --init`).
    text_tokens: int = 0
    cross_attention_levels: tuple[int, ...] = ()
    # Where the instruction's target is: a mask of the named object's pixels in the camera frame enters as
    # one more input channel. Plans trained on words alone go to whichever object the scene suggests
    # (CHANGELOG.md, stage 4: naming another object moved 2 % of plans); a spatial input is read at every
    # pixel from the first step. In training the mask comes from the episode's segmentation; at plan time
    # from the grounding network (`video_planner.grounding`). All-zero means "not known" (dropped with the
    # text in training).
    target_hint: bool = False
    # Which frames the model plans in: 'camera' (as the camera sees the arm) or 'canonical' (the arm painted
    # out and one canonical gripper drawn at its end effector: `video_planner.embodiment`). The planner
    # feeds the model the view it was trained in.
    view: str = 'camera'

    def __post_init__(self):
        self.channel_mults = tuple(int(m) for m in self.channel_mults)
        self.temporal_attention_levels = tuple(int(i) for i in self.temporal_attention_levels)
        self.cross_attention_levels = tuple(int(i) for i in self.cross_attention_levels)
        self.validate()

    @property
    def text_features(self) -> int:
        """Width of one instruction's features: the pooled vector, then text_tokens token states."""
        return self.text_dim * (1 + self.text_tokens)

    def validate(self) -> None:
        def need(ok: bool, what: str):
            if not ok:
                raise ConfigError(f'VideoModelConfig: {what}')
        need(isinstance(self.image_size, int) and self.image_size >= 8,
             f'image_size must be an int >= 8, got {self.image_size!r}')
        need(len(self.channel_mults) >= 1, 'channel_mults must have at least one level')
        check_view(self.view, 'VideoModelConfig.view')
        need(isinstance(self.patch_size, int) and self.patch_size >= 1,
             f'patch_size must be an int >= 1, got {self.patch_size!r}')
        factor = self.patch_size * 2 ** (len(self.channel_mults) - 1)
        need(self.image_size % factor == 0,
             f'image_size {self.image_size} must be divisible by patch_size * 2^(levels-1) = {factor}')
        need(self.horizon >= 1, f'horizon must be >= 1, got {self.horizon}')
        need(self.in_channels >= 1, f'in_channels must be >= 1, got {self.in_channels}')
        need(self.base_channels >= 8 and self.base_channels % 8 == 0,
             f'base_channels must be a multiple of 8 (GroupNorm), got {self.base_channels}')
        need(all(m >= 1 for m in self.channel_mults), f'channel_mults must be >= 1, got {self.channel_mults}')
        need(self.blocks_per_level >= 1, f'blocks_per_level must be >= 1, got {self.blocks_per_level}')
        need(all(0 <= i < len(self.channel_mults) for i in self.temporal_attention_levels),
             f'temporal_attention_levels {self.temporal_attention_levels} must index channel_mults')
        for lvl in self.temporal_attention_levels:
            ch = self.base_channels * self.channel_mults[lvl]
            need(ch % self.attention_heads == 0,
                 f'attention_heads {self.attention_heads} must divide the channels {ch} of level {lvl}')
        need(self.text_dim >= 1, f'text_dim must be >= 1, got {self.text_dim}')
        need(isinstance(self.text_tokens, int) and self.text_tokens >= 0,
             f'text_tokens must be an int >= 0, got {self.text_tokens!r}')
        need(all(0 <= i < len(self.channel_mults) for i in self.cross_attention_levels),
             f'cross_attention_levels {self.cross_attention_levels} must index channel_mults')
        need(not self.cross_attention_levels or self.text_tokens > 0,
             'cross_attention_levels need text_tokens > 0 (the token states they attend to)')
        for lvl in self.cross_attention_levels:
            ch = self.base_channels * self.channel_mults[lvl]
            need(ch % self.attention_heads == 0,
                 f'attention_heads {self.attention_heads} must divide the channels {ch} of level {lvl}')
        need(self.time_embed_dim >= 8 and self.time_embed_dim % 2 == 0,
             f'time_embed_dim must be an even int >= 8, got {self.time_embed_dim}')
        need(0.0 <= self.dropout < 1.0, f'dropout must be in [0, 1), got {self.dropout}')
        need(0.0 <= self.text_dropout < 1.0, f'text_dropout must be in [0, 1), got {self.text_dropout}')
        need(isinstance(self.target_hint, bool), f'target_hint must be true or false, got {self.target_hint!r}')
        need(isinstance(self.balance_conditioning, bool),
             f'balance_conditioning must be true or false, got {self.balance_conditioning!r}')
        need(self.diffusion_steps >= 2, f'diffusion_steps must be >= 2, got {self.diffusion_steps}')
        need(self.prediction in ('v', 'eps'), f"prediction must be 'v' or 'eps', got {self.prediction!r}")
        need(self.schedule in ('cosine', 'linear'), f"schedule must be 'cosine' or 'linear', got {self.schedule!r}")

    # -- (de)serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d['channel_mults'] = list(self.channel_mults)
        d['temporal_attention_levels'] = list(self.temporal_attention_levels)
        d['cross_attention_levels'] = list(self.cross_attention_levels)
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str = 'config') -> 'VideoModelConfig':
        return dataclass_from_dict(cls, d, source)

    @classmethod
    def from_yaml(cls, path: str | Path) -> 'VideoModelConfig':
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f'model config: file {path} does not exist')
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise ConfigError(f'model config {path}: not valid YAML ({exc})') from exc
        data = data or {}
        # The YAML may hold a 'model:' section next to a 'training:' section.
        data = data.get('model', data) if isinstance(data, dict) else data
        return cls.from_dict(data, source=str(path))

    def to_yaml(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump({'model': self.to_dict()}, sort_keys=False))


PRESETS: dict[str, VideoModelConfig] = {
    # Trains a few steps in seconds on one core; used by the tests.
    'tiny': VideoModelConfig(image_size=16, horizon=4, patch_size=1, base_channels=8, channel_mults=(1, 2),
                             temporal_attention_levels=(1,), attention_heads=2, time_embed_dim=32,
                             diffusion_steps=100),
    # The shipped model: ~2-3 M parameters, < 1 s per 10-step plan on 2 CPU cores; reads the target hint of
    # the grounding network (models/grounding_default.pt). A checkpoint without the hint input fine-tunes
    # into it (`train --config default --init old.pt`: the new stem channels start at zero).
    'default': VideoModelConfig(target_hint=True),
    # The default plus the instruction's token states through cross-attention (2.70 M parameters, about 15 %
    # slower to sample: 0.47 vs 0.41 s per plan on 2 threads). Fine-tunes from a 'default' checkpoint: `train --config tokens --init default.pt`.
    'tokens': VideoModelConfig(text_tokens=16, cross_attention_levels=(1, 2)),
    # The default in the canonical view (video_planner.embodiment): it never sees the arm, only the canonical
    # gripper at its end effector. Fine-tunes from a 'default' checkpoint: `train --config canonical --init`.
    'canonical': VideoModelConfig(target_hint=True, view='canonical'),
}


def config_yaml_path(name_or_path: str | Path) -> Path | None:
    """A preset name -> config/model_<name>.yaml (None if not shipped); a path -> that path."""
    s = str(name_or_path)
    if s in PRESETS:
        p = CONFIG_DIR / f'model_{s}.yaml'
        return p if p.is_file() else None
    p = Path(s)
    if p.suffix in ('.yaml', '.yml') or p.exists():
        if not p.is_file():
            raise ConfigError(f'model config: file {p} does not exist')
        return p
    names = ', '.join(repr(n) for n in PRESETS)
    raise ConfigError(f'model config: expected {names} or a path to a .yaml file, got {s!r}')


def load_yaml_section(path: Path, section: str) -> dict:
    """One top-level section ('model' or 'training') of a config YAML; {} when absent."""
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f'config {path}: not valid YAML ({exc})') from exc
    if not isinstance(data, dict):
        raise ConfigError(f'config {path}: expected a mapping with model:/training: sections')
    value = data.get(section) or {}
    if not isinstance(value, dict):
        raise ConfigError(f'config {path}: section {section!r} must be a mapping')
    return value


def load_model_config(name_or_path: str | Path) -> VideoModelConfig:
    """'tiny' / 'default' (config/model_<name>.yaml if present, else the built-in preset) or a YAML path."""
    path = config_yaml_path(name_or_path)
    if path is None:
        return dataclasses.replace(PRESETS[str(name_or_path)])
    return VideoModelConfig.from_yaml(path)
