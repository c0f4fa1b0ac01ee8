"""Trainer on the tiny video model: loss falls, resume is exact, checkpoints round-trip (DDP: test_train_ddp)."""
import json

import cv2
import numpy as np
import pytest
import torch

from video_planner.model import (CheckpointError, TrainConfig, Trainer, VideoModel, load_checkpoint,
                                 load_model_config)
from video_planner.model.dataset import ClipTensorDataset, DeviceClips
from video_planner.errors import ConfigError
from video_planner.model.trainer import CHECKPOINT_NAME, MODEL_NAME

torch.set_num_threads(1)

DIRECTIONS = {'left': (-1, 0), 'right': (1, 0), 'up': (0, -1), 'down': (0, 1)}
COLORS = {'red': (230, 40, 40), 'green': (40, 200, 60), 'blue': (40, 80, 230)}


def render_clip(rng, size, horizon):
    """A coloured disc that moves in the instructed direction over a textured table, drawn with OpenCV."""
    color, direction = rng.choice(list(COLORS)), rng.choice(list(DIRECTIONS))
    dx, dy = DIRECTIONS[direction]
    x, y = rng.uniform(0.35, 0.65, 2) * size
    speed = size / (3.0 * horizon)
    table = rng.integers(90, 130, 3).tolist()
    frames = []
    for i in range(horizon + 1):
        im = np.full((size, size, 3), table, np.uint8)
        cv2.line(im, (0, size // 2), (size, size // 2), (70, 70, 70), 1)
        cx, cy = int(round(x + dx * speed * i)), int(round(y + dy * speed * i))
        cv2.circle(im, (cx, cy), max(2, size // 6), COLORS[color], -1, lineType=cv2.LINE_AA)
        frames.append(im)
    return {'frame0': frames[0], 'future': np.stack(frames[1:]),
            'instruction': f'push the {color} ball {direction}', 'arm': 'none'}


class FixedEncoder:
    """Stand-in embedding table for the 12 synthetic instructions; the real encoder is tested on its own."""

    def __init__(self):
        self.table = {}

    def encode(self, instruction):
        if instruction not in self.table:
            v = np.random.default_rng(len(self.table)).normal(size=384).astype(np.float32)
            self.table[instruction] = v / np.linalg.norm(v)
        return self.table[instruction]

    def encode_batch(self, instructions, tokens=0):
        assert tokens == 0, 'the stand-in has no token states'
        return np.stack([self.encode(i) for i in instructions])


def make_dataset(n=48, seed=0):
    cfg = load_model_config('tiny')
    rng = np.random.default_rng(seed)
    clips = [render_clip(rng, cfg.image_size, cfg.horizon) for _ in range(n)]
    return ClipTensorDataset(clips, FixedEncoder(), cfg.horizon, cfg.image_size)


def make_trainer(out, steps, seed=0, dataset=None, **kw):
    cfg = load_model_config('tiny')
    torch.manual_seed(seed)
    model = VideoModel(cfg)
    tcfg = TrainConfig(batch_size=8, lr=2e-3, steps=steps, warmup_steps=2, ema_decay=0.9, checkpoint_every=0,
                       log_every=1, seed=seed, **kw)
    return Trainer(model, model.loss, dataset or make_dataset(), tcfg, out, model_config=cfg.to_dict(),
                   kind='video', progress=False)


def test_tiny_model_loss_falls_and_run_outputs_are_written(tmp_path):
    dataset = make_dataset()
    trainer = make_trainer(tmp_path, steps=60, dataset=dataset)
    from video_planner.model.train import make_sample_fn
    trainer.sample_fn = make_sample_fn(dataset, n=2, steps=3)
    result = trainer.fit()
    losses = [loss for _, loss in result.losses]
    assert result.step == 60 and len(losses) == 60
    assert np.mean(losses[-10:]) < 0.7 * np.mean(losses[:5])
    assert result.steps_per_s > 0
    for name in (CHECKPOINT_NAME, MODEL_NAME, 'loss.png', 'train_summary.json', 'samples/step_0000060.png'):
        assert (tmp_path / name).is_file(), name
    grid = cv2.imread(str(tmp_path / 'samples/step_0000060.png'))
    assert grid.shape[0] > 2 * 16 and grid.shape[1] > 4 * 16  # 2 clips x (truth, plan) rows, K+1 columns
    summary = json.loads((tmp_path / 'train_summary.json').read_text())
    assert summary['step'] == 60 and summary['recent_loss'] == pytest.approx(np.mean(losses[-10:]))


def test_resume_continues_the_step_count_and_matches_an_uninterrupted_run(tmp_path):
    dataset = make_dataset()
    straight = make_trainer(tmp_path / 'a', steps=12, dataset=dataset)
    straight.fit()

    first = make_trainer(tmp_path / 'b', steps=5, dataset=dataset)
    first.fit()
    second = make_trainer(tmp_path / 'b', steps=12, seed=0, dataset=dataset)
    second.resume()
    assert second.step == 5
    result = second.fit()
    assert result.step == 12
    assert [s for s, _ in second.loss_history] == list(range(1, 13))
    for (k, a), b in zip(straight.model.state_dict().items(), second.model.state_dict().values()):
        torch.testing.assert_close(a, b, msg=k)
    for a, b in zip(straight.ema.state_dict().values(), second.ema.state_dict().values()):
        torch.testing.assert_close(a, b)


def test_stop_at_cuts_a_decay_short_exactly_where_an_uninterrupted_run_passes(tmp_path):
    dataset = make_dataset()
    straight = make_trainer(tmp_path / 'a', steps=12, dataset=dataset, lr_schedule='cosine', stop_at=0)
    lrs = [straight._lr(step) for step in range(12)]
    straight.fit()
    cut = make_trainer(tmp_path / 'b', steps=12, dataset=dataset, lr_schedule='cosine', stop_at=7)
    assert cut.fit().step == 7 and (tmp_path / 'b' / 'model.pt').is_file()
    assert [cut._lr(step) for step in range(12)] == lrs   # the schedule still runs to 12
    resumed = make_trainer(tmp_path / 'b', steps=12, dataset=dataset, lr_schedule='cosine')
    resumed.resume()
    resumed.fit()
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values()):
        torch.testing.assert_close(a, b)
    with pytest.raises(ConfigError, match='stop_at'):
        TrainConfig(steps=10, stop_at=11)


def test_clips_held_on_the_device_give_the_loader_batches_and_the_same_training(tmp_path):
    dataset = make_dataset(n=16)
    # Clips read by loader processes come back in order and unchanged.
    in_workers = ClipTensorDataset(dataset.clips, dataset.text_encoder, dataset.horizon, dataset.image_size,
                                   preload=True, preload_workers=2)
    for i in (0, 7, 15):
        np.testing.assert_array_equal(in_workers.raw(i)['future'], dataset.raw(i)['future'])
    held = DeviceClips(in_workers, 'cpu')
    indices = [3, 0, 3, 15]
    gathered = held.get_batch(indices)
    loaded = torch.utils.data.default_collate([dataset[i] for i in indices])
    for key in ('frame0', 'future', 'text_emb'):
        torch.testing.assert_close(gathered[key], loaded[key], msg=key)
    # The Trainer takes those batches instead of a DataLoader's: same draws, so the same weights.
    # (Each Trainer seeds the global RNG that the diffusion noise comes from: build, then fit, one at a time.)
    via_loader = make_trainer(tmp_path / 'loader', steps=5, dataset=dataset)
    via_loader.fit()
    via_device = make_trainer(tmp_path / 'device', steps=5, dataset=held)
    via_device.fit()
    for a, b in zip(via_loader.model.state_dict().values(), via_device.model.state_dict().values()):
        torch.testing.assert_close(a, b)


def test_bf16_training_keeps_fp32_weights_and_lowers_the_loss(tmp_path):
    trainer = make_trainer(tmp_path, steps=40, precision='bf16')
    result = trainer.fit()
    losses = [loss for _, loss in result.losses]
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:5])
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())
    with pytest.raises(Exception, match='precision'):
        TrainConfig(precision='fp8')


def test_cosine_schedule_warms_up_then_decays_to_the_floor_at_the_last_step(tmp_path):
    trainer = make_trainer(tmp_path, steps=12, lr_schedule='cosine', min_lr_ratio=0.1)
    curve = [trainer._lr(step) for step in range(12)]
    assert curve[0] < curve[1] == pytest.approx(2e-3)           # two warm-up steps, then the peak
    assert all(a >= b for a, b in zip(curve[1:], curve[2:]))     # never rises again
    assert trainer._lr(12) == pytest.approx(2e-4) and trainer._lr(50) == pytest.approx(2e-4)
    trainer.fit()
    assert trainer.optimizer.param_groups[0]['lr'] == pytest.approx(curve[-1])  # the optimizer really used it
    assert make_trainer(tmp_path / 'c', steps=12)._lr(11) == pytest.approx(2e-3)  # 'constant' stays put
    with pytest.raises(Exception, match='lr_schedule'):
        TrainConfig(lr_schedule='step')
    with pytest.raises(Exception, match='min_lr_ratio'):
        TrainConfig(min_lr_ratio=1.5)


def test_a_compiled_loss_trains_the_same_weights_under_the_same_names(tmp_path):
    # aot_eager traces and runs the same graph machinery as inductor without generating code (seconds, not
    # the minute a CPU inductor build takes). Whether inductor pays on a GPU is not measured yet.
    dataset = make_dataset(n=16)
    plain = make_trainer(tmp_path / 'plain', steps=3, dataset=dataset)
    plain.fit()
    compiled = make_trainer(tmp_path / 'compiled', steps=3, dataset=dataset, compile='aot_eager')
    compiled.fit()
    assert list(compiled.model.state_dict()) == list(plain.model.state_dict())
    for (k, a), b in zip(plain.model.state_dict().items(), compiled.model.state_dict().values()):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4, msg=k)
    assert load_checkpoint(tmp_path / 'compiled' / MODEL_NAME).step == 3
    with pytest.raises(Exception, match='compile'):
        TrainConfig(compile='tensorrt')


def test_command_line_overrides_are_the_flags_given_and_only_those():
    import argparse
    from video_planner.model.trainer import overrides_from_args
    args = argparse.Namespace(steps=None, lr=1e-3, workers=2, max_minutes=0.5, lr_schedule='cosine', compile=None)
    assert overrides_from_args(args) == {'lr': 1e-3, 'num_workers': 2, 'max_seconds': 30.0, 'lr_schedule': 'cosine'}
    assert overrides_from_args(argparse.Namespace()) == {}  # a parser without these flags overrides nothing


def test_a_time_limit_stops_training_early_and_still_saves(tmp_path):
    trainer = make_trainer(tmp_path, steps=100_000, max_seconds=1.0)
    result = trainer.fit()
    assert 1 <= result.step < 100_000
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME).step == result.step


def test_checkpoint_round_trips_raw_and_ema_weights(tmp_path):
    trainer = make_trainer(tmp_path, steps=6)
    trainer.fit()
    ckpt = load_checkpoint(tmp_path / CHECKPOINT_NAME, kind='video')
    assert ckpt.step == 6 and ckpt.optimizer is not None and 'torch' in ckpt.rng
    assert load_checkpoint(tmp_path / MODEL_NAME).optimizer is None  # the shippable file is lean

    ema_model = VideoModel.load(tmp_path / MODEL_NAME)
    raw_model = VideoModel.load(tmp_path / MODEL_NAME, use_ema=False)
    for k, v in trainer.ema.state_dict().items():
        torch.testing.assert_close(ema_model.state_dict()[k], v)
    for k, v in trainer.model.state_dict().items():
        torch.testing.assert_close(raw_model.state_dict()[k], v)
    key = 'network.stem.weight'
    assert not torch.equal(ema_model.state_dict()[key], raw_model.state_dict()[key])
    assert ema_model.checkpoint_step == 6


def test_half_precision_export_samples_like_the_original(tmp_path):
    from video_planner.model.checkpoint import export_for_inference
    make_trainer(tmp_path, steps=8).fit()
    export_for_inference(tmp_path / MODEL_NAME, tmp_path / 'ship.pt')
    assert (tmp_path / 'ship.pt').stat().st_size < 0.6 * (tmp_path / MODEL_NAME).stat().st_size
    full, half = VideoModel.load(tmp_path / MODEL_NAME), VideoModel.load(tmp_path / 'ship.pt')
    assert next(half.parameters()).dtype == torch.float32
    cfg = full.config
    f0 = np.random.default_rng(0).integers(0, 256, (2, cfg.image_size, cfg.image_size, 3), dtype=np.uint8)
    emb = np.random.default_rng(1).normal(size=(2, 384)).astype(np.float32)
    a, b = full.sample(f0, emb, steps=4, seed=3), half.sample(f0, emb, steps=4, seed=3)
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 1.0


def test_missing_corrupt_and_incompatible_checkpoints_are_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match='does not exist'):
        VideoModel.load(tmp_path / 'nope.pt')
    trainer = make_trainer(tmp_path, steps=1)
    trainer.fit()
    good = (tmp_path / MODEL_NAME).read_bytes()
    (tmp_path / 'torn.pt').write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match='corrupt'):
        VideoModel.load(tmp_path / 'torn.pt')
    (tmp_path / 'text.pt').write_text('not a checkpoint')
    with pytest.raises(CheckpointError, match='text.pt'):
        VideoModel.load(tmp_path / 'text.pt')
    torch.save({'weights': 1}, tmp_path / 'foreign.pt')
    with pytest.raises(CheckpointError, match='not a video_planner checkpoint'):
        VideoModel.load(tmp_path / 'foreign.pt')
    # Same file, but the config claims a wider network than the weights hold.
    ckpt = load_checkpoint(tmp_path / MODEL_NAME)
    ckpt.config['base_channels'] = 16
    from video_planner.model import save_checkpoint
    save_checkpoint(tmp_path / 'wider.pt', ckpt)
    with pytest.raises(CheckpointError, match='do not fit'):
        VideoModel.load(tmp_path / 'wider.pt')
    ckpt.kind = 'idm'
    save_checkpoint(tmp_path / 'idm.pt', ckpt)
    with pytest.raises(CheckpointError, match="expected 'video'"):
        VideoModel.load(tmp_path / 'idm.pt')
