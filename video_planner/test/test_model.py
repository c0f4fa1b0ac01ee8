"""Video model: configs, the network's shapes, the schedule's algebra, seeded batched sampling, cancel."""
import dataclasses

import numpy as np
import pytest
import torch
import yaml

from video_planner.errors import ConfigError, VideoPlannerError
from video_planner.model import (PRESETS, DiffusionSchedule, SamplingCancelled, VideoModel, VideoModelConfig,
                                 VideoUNet, load_model_config)
from video_planner.model.config import CONFIG_DIR

torch.set_num_threads(1)


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    m = VideoModel(load_model_config('tiny'))
    # Perturb the zero-initialised output layers so samples depend on the inputs.
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return m.eval()


def frames(b, size, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (b, size, size, 3), dtype=np.uint8)


def text(b, seed=0):
    e = np.random.default_rng(seed).normal(size=(b, 384)).astype(np.float32)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def test_shipped_yaml_configs_match_the_presets():
    for name in PRESETS:
        assert (CONFIG_DIR / f'model_{name}.yaml').is_file()
        assert load_model_config(name) == PRESETS[name]


def test_default_model_is_a_few_megabytes():
    n = sum(p.numel() for p in VideoUNet(PRESETS['default']).parameters())
    assert 1_000_000 <= n <= 4_000_000


def test_config_yaml_errors_name_the_field(tmp_path):
    bad = tmp_path / 'bad.yaml'
    bad.write_text(yaml.safe_dump({'model': {'image_size': 64, 'horizon': 8, 'chanels': 3}}))
    with pytest.raises(ConfigError, match='chanels'):
        load_model_config(bad)
    bad.write_text(yaml.safe_dump({'model': {'prediction': 'x0'}}))
    with pytest.raises(ConfigError, match='prediction'):
        load_model_config(bad)
    with pytest.raises(ConfigError, match='divisible'):
        VideoModelConfig(image_size=60)
    with pytest.raises(ConfigError, match=r"VideoModelConfig.view: expected one of \['camera', 'canonical'\]"):
        VideoModelConfig(view='top_down')
    with pytest.raises(ConfigError, match='does not exist'):
        load_model_config(tmp_path / 'missing.yaml')
    with pytest.raises(ConfigError, match="'tiny', 'default'"):
        load_model_config('huge')


def test_config_round_trips_through_yaml(tmp_path):
    cfg = dataclasses.replace(PRESETS['tiny'], horizon=6, prediction='eps')
    cfg.to_yaml(tmp_path / 'c.yaml')
    assert load_model_config(tmp_path / 'c.yaml') == cfg


def test_network_maps_noisy_video_and_first_frame_to_a_video():
    cfg = PRESETS['tiny']
    net = VideoUNet(cfg)
    x = torch.randn(2, cfg.horizon, 3, cfg.image_size, cfg.image_size)
    out = net(x, torch.randn(2, 3, cfg.image_size, cfg.image_size), torch.tensor([3, 70]), torch.randn(2, 384))
    assert out.shape == x.shape


def test_temporal_attention_in_slices_matches_one_call():
    from video_planner.model.network import TemporalAttention
    torch.manual_seed(0)
    attention = TemporalAttention(8, horizon=4, heads=2)
    with torch.no_grad():
        attention.attn.out_proj.weight.normal_()  # zero-initialised: the test needs it to contribute
    x = torch.randn(2 * 4, 8, 5, 5)                # 2 videos x 4 frames: 50 pixel sequences
    whole = attention(x)
    attention.max_sequences = 7                    # 50 sequences -> 8 slices
    torch.testing.assert_close(attention(x), whole)
    assert not torch.allclose(whole, x)


@pytest.mark.parametrize('prediction', ['v', 'eps'])
def test_schedule_recovers_x0_and_noise_from_its_own_target(prediction):
    s = DiffusionSchedule(1000, 'cosine', prediction)
    assert torch.all(s.alpha_bar[1:] < s.alpha_bar[:-1]) and s.alpha_bar[-1] < 1e-3 < s.alpha_bar[0]
    x0, noise = torch.rand(4, 2, 3, 8, 8) * 2 - 1, torch.randn(4, 2, 3, 8, 8)
    t = torch.tensor([0, 10, 500, 990])
    x0_hat, eps_hat = s.predict_x0_eps(s.q_sample(x0, t, noise), t, s.target(x0, t, noise))
    torch.testing.assert_close(x0_hat, x0, atol=2e-3, rtol=0)
    torch.testing.assert_close(eps_hat, noise, atol=2e-3, rtol=0)


def test_sampling_is_deterministic_for_a_seed_and_varies_across_seeds(model):
    cfg = model.config
    f0, emb = frames(2, cfg.image_size), text(2)
    a = model.sample(f0, emb, steps=4, seed=7)
    b = model.sample(f0, emb, steps=4, seed=7)
    c = model.sample(f0, emb, steps=4, seed=8)
    assert a.shape == (2, cfg.horizon, cfg.image_size, cfg.image_size, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - c.astype(int)).mean() > 1.0


def test_one_call_samples_a_batch_of_distinct_candidates(model):
    cfg = model.config
    plans = model.sample(np.repeat(frames(1, cfg.image_size), 4, axis=0), text(1), steps=3, seed=0)
    assert plans.shape[0] == 4
    assert len({p.tobytes() for p in plans}) == 4  # different noise per candidate


def test_rerendering_a_known_future_keeps_it_at_low_noise_and_forgets_it_at_high(model):
    cfg = model.config
    size, k = cfg.image_size, cfg.horizon
    f0 = frames(1, size, seed=3)
    future = np.stack([frames(1, size, seed=10 + i)[0] for i in range(k)])[None]

    def distance(video):
        return float(np.abs(video.astype(np.float32) - future.astype(np.float32)).mean())
    near = model.sample(f0, text(1), steps=2, seed=0, start_video=future, start_t=2)
    far = model.sample(f0, text(1), steps=2, seed=0, start_video=future, start_t=cfg.diffusion_steps - 1)
    assert distance(near) < 0.25 * distance(far)
    np.testing.assert_array_equal(near, model.sample(f0, text(1), steps=2, seed=0, start_video=future, start_t=2))
    with pytest.raises(VideoPlannerError, match='start_video'):
        model.sample(f0, text(1), steps=2, start_video=future[:, :-1], start_t=2)
    with pytest.raises(VideoPlannerError, match='start timestep'):
        model.sample(f0, text(1), steps=2, start_video=future, start_t=cfg.diffusion_steps)
    with pytest.raises(VideoPlannerError, match='both start and start_t'):
        model.sample(f0, text(1), steps=2, start_video=future)


def test_progress_callback_and_cancel_between_steps(model):
    cfg = model.config
    seen = []
    model.sample(frames(1, cfg.image_size), text(1), steps=5, seed=0, callback=lambda s, n: seen.append((s, n)))
    assert seen == [(i, 5) for i in range(1, 6)]

    seen.clear()
    with pytest.raises(SamplingCancelled, match='step 3 of 5'):
        model.sample(frames(1, cfg.image_size), text(1), steps=5, seed=0,
                     callback=lambda s, n: seen.append(s), should_cancel=lambda: len(seen) >= 2)
    assert seen == [1, 2]
    assert issubclass(SamplingCancelled, VideoPlannerError)


def test_bad_sampling_inputs_are_rejected_with_the_field_name(model):
    size = model.config.image_size
    with pytest.raises(VideoPlannerError, match='frame0'):
        model.sample(frames(1, size + 2), text(1))
    with pytest.raises(VideoPlannerError, match='uint8'):
        model.sample(frames(1, size).astype(np.float32), text(1))
    with pytest.raises(VideoPlannerError, match='text_emb'):
        model.sample(frames(1, size), np.zeros((1, 10), np.float32))
    with pytest.raises(VideoPlannerError, match='batch'):
        model.sample(frames(2, size), text(3))
    with pytest.raises(VideoPlannerError, match='steps'):
        model.sample(frames(1, size), text(1), steps=0)


def test_balanced_conditioning_keeps_the_instruction_audible_at_any_time_embedding_scale():
    torch.manual_seed(0)
    cfg = load_model_config('tiny')
    plain = VideoUNet(cfg)
    balanced = VideoUNet(dataclasses.replace(cfg, balance_conditioning=True))
    balanced.load_state_dict(plain.state_dict())  # no parameters of its own: old weights fit as they are
    with torch.no_grad():  # a trained model's time embedding grows large at the noisiest steps
        for net in (plain, balanced):
            net.time_mlp[-1].weight.mul_(100.0)
    t = torch.full((2,), cfg.diffusion_steps - 1)
    instructions = torch.from_numpy(text(2, seed=1))

    def share(net):  # how much of the conditioning vector changes with the instruction
        with torch.no_grad():
            cond = net.conditioning(t, instructions)
        return float((cond[0] - cond[1]).norm() / cond[0].norm())
    # Untrained, the text MLP's output is mostly its bias, so the share is modest either way; what matters is
    # that a grown time embedding shrinks it by orders of magnitude only without the balance.
    assert share(balanced) > 30 * share(plain)
    with pytest.raises(ConfigError, match='balance_conditioning'):
        dataclasses.replace(cfg, balance_conditioning='yes')


def test_shipped_default_model_loads_and_plans_deterministically():
    from video_planner.model import shipped_checkpoint
    model = VideoModel.load(shipped_checkpoint())
    assert model.config == PRESETS['default']
    f0 = frames(2, model.config.image_size, seed=3)
    a = model.sample(f0, text(1), steps=2, seed=5)
    assert a.shape == (2, 8, 64, 64, 3)
    np.testing.assert_array_equal(a, model.sample(f0, text(1), steps=2, seed=5))
