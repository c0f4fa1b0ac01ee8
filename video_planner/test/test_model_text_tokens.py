"""Token-level instruction conditioning: the encoder's token states, the network's cross-attention, and
fine-tuning a pooled-only model into one that reads the tokens."""
import dataclasses

import numpy as np
import pytest
import torch

from video_planner.errors import ConfigError, VideoPlannerError
from video_planner.model import VideoModel, VideoUNet, load_model_config
from video_planner.model.checkpoint import CheckpointError, load_weights_into
from video_planner.text import EMBEDDING_DIM, TextEncoder

torch.set_num_threads(1)
D = EMBEDDING_DIM


@pytest.fixture(scope='module')
def encoder(tmp_path_factory):
    return TextEncoder(cache_dir=tmp_path_factory.mktemp('text_cache'))


def tokens_config(tokens=6):
    return dataclasses.replace(load_model_config('tiny'), text_tokens=tokens, cross_attention_levels=(1,))


def awake(model, seed=0):
    """Perturb the zero-initialised output layers, so the output depends on every input, as after training."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model.eval()


def test_token_features_are_the_pooled_vector_then_padded_token_states(encoder):
    pooled = encoder.encode_batch(['reach the red puck', 'put the blue cube on the red pad'])
    feats = encoder.encode_batch(['reach the red puck', 'put the blue cube on the red pad'], tokens=12)
    assert feats.shape == (2, D * 13) and feats.dtype == np.float32
    np.testing.assert_array_equal(feats[:, :D], pooled)
    states = feats[:, D:].reshape(2, 12, D)
    # [CLS] reach the red puck [SEP]: 6 word pieces, then zero rows; the longer sentence fills 10.
    present = np.abs(states).sum(-1) > 0
    assert present[0].tolist() == [True] * 6 + [False] * 6
    assert present[1].tolist() == [True] * 10 + [False] * 2
    with pytest.raises(VideoPlannerError, match='tokens'):
        encoder.encode_batch(['reach the red puck'], tokens=-1)


def test_token_states_keep_what_the_pooled_vector_blurs(encoder):
    a, b = encoder.encode_batch(['put the red cube on the blue pad', 'put the blue cube on the red pad'], tokens=12)
    pooled_cos = float(a[:D] @ b[:D])
    sa, sb = a[D:].reshape(12, D), b[D:].reshape(12, D)
    red_vs_blue = float(sa[3] @ sb[3] / np.linalg.norm(sa[3]) / np.linalg.norm(sb[3]))  # the 3rd word piece
    assert pooled_cos > 0.99          # the same bag of words
    assert red_vs_blue < pooled_cos - 0.2


def test_token_states_come_back_from_the_disk_cache_without_the_transformer(encoder):
    feats = encoder.encode_batch(['slide the green can to the left'], tokens=8)
    fresh = TextEncoder(cache_dir=encoder.cache_dir)
    again = fresh.encode_batch(['slide the green can to the left'], tokens=8)
    assert fresh.encoder_calls == 0 and fresh._model is None
    np.testing.assert_allclose(again, feats, atol=1e-2 * np.abs(feats).max())  # float16 on disk


def test_config_needs_tokens_for_cross_attention():
    with pytest.raises(ConfigError, match='text_tokens'):
        dataclasses.replace(load_model_config('tiny'), cross_attention_levels=(1,))
    with pytest.raises(ConfigError, match='cross_attention_levels'):
        dataclasses.replace(load_model_config('tiny'), text_tokens=4, cross_attention_levels=(5,))
    with pytest.raises(ConfigError, match='text_tokens'):
        dataclasses.replace(load_model_config('tiny'), text_tokens=-1)
    assert tokens_config(6).text_features == 7 * D


def test_the_plan_depends_on_the_token_states_and_a_dropped_instruction_is_finite():
    cfg = tokens_config()
    net = awake(VideoUNet(cfg))
    x = torch.randn(2, cfg.horizon, 3, cfg.image_size, cfg.image_size)
    f0, t = torch.randn(2, 3, cfg.image_size, cfg.image_size), torch.tensor([5, 80])
    text = torch.randn(2, cfg.text_features)
    text[:, D + 4 * D:] = 0  # four tokens, then padding
    with torch.no_grad():
        out = net(x, f0, t, text)
        swapped = text.clone()
        swapped[:, D + D:D + 2 * D] = torch.randn(2, D)  # another word in second place, same pooled vector
        assert (net(x, f0, t, swapped) - out).abs().max() > 1e-4
        dropped = net(x, f0, t, torch.zeros_like(text))  # the dropped instruction of training
    assert torch.isfinite(dropped).all()


def test_tokens_model_samples_from_encoded_instructions_and_rejects_pooled_rows(encoder):
    model = awake(VideoModel(tokens_config()))
    size = model.config.image_size
    f0 = np.random.default_rng(0).integers(0, 256, (1, size, size, 3), dtype=np.uint8)
    left, right = model.encode_text(encoder, ['push the red puck to the left', 'push the red puck to the right'])
    a = model.sample(f0, left, steps=2, seed=1)
    np.testing.assert_array_equal(a, model.sample(f0, left, steps=2, seed=1))
    assert np.abs(a.astype(int) - model.sample(f0, right, steps=2, seed=1)).max() > 0
    with pytest.raises(VideoPlannerError, match='token states'):
        model.sample(f0, left[:D], steps=2)


def test_a_pooled_model_fine_tunes_into_a_tokens_model_and_starts_identical():
    torch.manual_seed(0)
    pooled = awake(VideoModel(load_model_config('tiny')))
    tokens = VideoModel(tokens_config())
    new = load_weights_into(tokens, pooled.state_dict(), 'pooled', allow_new=True)
    assert new and all('cross' in k or 'token' in k for k in new)
    cfg = tokens.config
    x = torch.randn(2, cfg.horizon, 3, cfg.image_size, cfg.image_size)
    f0, t = torch.randn(2, 3, cfg.image_size, cfg.image_size), torch.tensor([5, 80])
    text = torch.randn(2, cfg.text_features)
    with torch.no_grad():
        torch.testing.assert_close(tokens.network(x, f0, t, text), pooled.network(x, f0, t, text[:, :D]))
    # The other way round drops trained layers: refused, with the reason.
    with pytest.raises(CheckpointError, match='the model lacks'):
        load_weights_into(VideoModel(load_model_config('tiny')), tokens.state_dict(), 'tokens', allow_new=True)
    with pytest.raises(CheckpointError, match='do not fit'):
        load_weights_into(tokens, pooled.state_dict(), 'pooled')

