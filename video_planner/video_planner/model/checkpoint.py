"""Checkpoint files: one torch file holding config, raw + EMA weights, optimizer, step and RNG state.

Loaded with `weights_only=True`, so a checkpoint is data, never code. Every failure to read one (missing,
truncated, not ours, wrong model kind, wrong shapes) becomes a CheckpointError that names the file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from video_planner.errors import VideoPlannerError

FORMAT = 'video_planner.checkpoint'
VERSION = 1


class CheckpointError(VideoPlannerError):
    """A checkpoint file is missing, unreadable, or does not fit the model it is loaded into."""


@dataclass
class Checkpoint:
    kind: str                         # 'video' or 'idm' (learned inverse dynamics) or another model's name
    config: dict                      # the model config, enough to rebuild the network
    model: dict                       # raw (trained) weights
    ema: dict | None = None           # exponential moving average of the weights (used for inference)
    optimizer: dict | None = None
    step: int = 0
    rng: dict = field(default_factory=dict)   # {'torch': ByteTensor}
    extra: dict = field(default_factory=dict)  # e.g. train config, loss history

    def weights(self, use_ema: bool = True) -> dict:
        return self.ema if use_ema and self.ema is not None else self.model


def save_checkpoint(path: str | Path, ckpt: Checkpoint) -> Path:
    """Write atomically (tmp file + rename) so a crash mid-save never leaves a torn checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        'format': FORMAT, 'version': VERSION, 'kind': ckpt.kind, 'config': ckpt.config,
        'model': ckpt.model, 'ema': ckpt.ema, 'optimizer': ckpt.optimizer, 'step': int(ckpt.step),
        'rng': ckpt.rng, 'extra': ckpt.extra,
    }
    tmp = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path, kind: str | None = None, map_location: str = 'cpu') -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f'checkpoint: file {path} does not exist')
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for truncated/foreign files
        raise CheckpointError(f'checkpoint {path}: cannot be read ({type(exc).__name__}: {exc}); '
                              'the file is corrupt or not a video_planner checkpoint') from exc
    if not isinstance(payload, dict) or payload.get('format') != FORMAT:
        raise CheckpointError(f'checkpoint {path}: not a video_planner checkpoint (format field missing)')
    if payload.get('version') != VERSION:
        raise CheckpointError(f"checkpoint {path}: format version {payload.get('version')} is not the "
                              f'supported version {VERSION}')
    if kind is not None and payload.get('kind') != kind:
        raise CheckpointError(f"checkpoint {path}: holds a {payload.get('kind')!r} model, expected {kind!r}")
    if not isinstance(payload.get('model'), dict) or not isinstance(payload.get('config'), dict):
        raise CheckpointError(f'checkpoint {path}: model weights or config missing')
    return Checkpoint(kind=payload['kind'], config=payload['config'], model=payload['model'],
                      ema=payload.get('ema'), optimizer=payload.get('optimizer'), step=payload.get('step', 0),
                      rng=payload.get('rng') or {}, extra=payload.get('extra') or {})


def load_weights_into(module: torch.nn.Module, state: dict, source: str, allow_new: bool = False) -> list[str]:
    """load_state_dict(strict) with an error that names the checkpoint and the mismatching keys.

    allow_new: the module may have tensors the checkpoint lacks (layers added for fine-tuning); they keep
    their initialisation and their names are returned. A layer that gained input channels (a conv or
    linear weight wider in dimension 1, e.g. the stem of a `target_hint` model) keeps the checkpoint's
    weights for the old channels and zeros for the new ones, so it starts as the checkpoint's model. Every
    other checkpoint tensor must fit as it is.
    """
    grown = []
    if allow_new:
        state, grown = _widen_inputs(module.state_dict(), state)
    try:
        result = module.load_state_dict(state, strict=not allow_new)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0:3]
        raise CheckpointError(f'checkpoint {source}: weights do not fit this model '
                              f'(different config?): {" ".join(first)}') from exc
    if result.unexpected_keys:
        raise CheckpointError(f'checkpoint {source}: weights do not fit this model (different config?): '
                              f'it has {len(result.unexpected_keys)} tensors the model lacks, e.g. '
                              f'{", ".join(result.unexpected_keys[:3])}')
    return list(result.missing_keys) + grown


def _widen_inputs(own: dict, state: dict) -> tuple[dict, list[str]]:
    """`state` with each weight that is narrower than the module's in dimension 1 only zero-padded there."""
    state, grown = dict(state), []
    for key, value in state.items():
        target = own.get(key)
        if (target is None or value.dim() < 2 or target.shape == value.shape or target.shape[0] != value.shape[0]
                or target.shape[2:] != value.shape[2:] or target.shape[1] < value.shape[1]):
            continue
        wide = torch.zeros(target.shape, dtype=value.dtype)
        wide[:, :value.shape[1]] = value
        state[key] = wide
        grown.append(f'{key} (input channels {value.shape[1]} -> {target.shape[1]})')
    return state, grown


def load_trained_network(path: str | Path, kind: str, config_type, network_type) -> torch.nn.Module:
    """The EMA weights of a `kind` checkpoint in a fresh `network_type(config_type.from_dict(config))`.

    For the small networks around the video model (policy, grounding) that share this one recipe.
    """
    ckpt = load_checkpoint(path, kind=kind)
    try:
        config = config_type.from_dict(ckpt.config, source=f'checkpoint {path}')
    except VideoPlannerError as exc:
        raise CheckpointError(str(exc)) from exc
    network = network_type(config)
    load_weights_into(network, ckpt.weights(use_ema=True), str(path))   # fp16 exports cast back on copy
    return network


def export_for_inference(src: str | Path, dst: str | Path, dtype: torch.dtype = torch.float16,
                         ema_only: bool = False) -> Path:
    """A lean copy to ship: config + raw and EMA weights (floating tensors cast to `dtype`), no optimizer/RNG.

    float16 halves the file; loading casts back to the model's float32 parameters. `ema_only` stores the
    EMA weights as the only weights (half the size again, and no EMA-vs-raw question at inference).
    """
    ckpt = load_checkpoint(src)

    def cast(state: dict | None) -> dict | None:
        if state is None:
            return None
        return {k: v.to(dtype) if torch.is_floating_point(v) else v for k, v in state.items()}

    ema = cast(ckpt.ema)
    model = ema if ema_only and ema is not None else cast(ckpt.model)  # one shared set of tensors when ema_only
    lean = Checkpoint(kind=ckpt.kind, config=ckpt.config, model=model, ema=ema,
                      step=ckpt.step, extra={k: v for k, v in ckpt.extra.items() if k != 'loss_history'})
    return save_checkpoint(dst, lean)
