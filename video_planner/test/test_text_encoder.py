"""TextEncoder: the bundled all-MiniLM-L6-v2, its caches, and its input checks."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from video_planner.errors import VideoPlannerError
from video_planner.text import EMBEDDING_DIM, TextEncoder

torch.set_num_threads(1)


@pytest.fixture(scope='module')
def encoder(tmp_path_factory):
    return TextEncoder(cache_dir=tmp_path_factory.mktemp('text_cache'))


def test_embeddings_are_unit_vectors_that_rank_paraphrases_first(encoder):
    a = encoder.encode('pick up the red block')
    para = encoder.encode('grasp the red cube and lift it')
    other = encoder.encode('open the drawer')
    assert a.shape == (EMBEDDING_DIM,) and a.dtype == np.float32
    assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-4)
    assert float(a @ para) > float(a @ other) + 0.1


def test_repeated_instructions_hit_the_memory_cache(encoder):
    first = encoder.encode('push the green block to the left')
    calls = encoder.encoder_calls
    again = encoder.encode_batch(['push the green block to the left', '  push the green  block to the left '])
    assert encoder.encoder_calls == calls
    np.testing.assert_array_equal(again[0], first)
    np.testing.assert_array_equal(again[1], first)


def test_disk_cache_serves_a_fresh_encoder_without_the_transformer(encoder):
    emb = encoder.encode('stack the blue block on the yellow block')
    fresh = TextEncoder(cache_dir=encoder.cache_dir)
    np.testing.assert_array_equal(fresh.encode('stack the blue block on the yellow block'), emb)
    assert fresh.encoder_calls == 0 and fresh._model is None


@pytest.mark.parametrize('bad', ['', '   \n\t', None, 3])
def test_empty_or_non_string_instruction_is_rejected(encoder, bad):
    with pytest.raises(VideoPlannerError, match='instruction'):
        encoder.encode(bad)


def test_model_path_without_a_model_is_a_clear_error(tmp_path):
    with pytest.raises(VideoPlannerError, match='modules.json'):
        TextEncoder(model_path=tmp_path).encode('pick up the block')


def test_importing_the_encoder_does_not_load_the_transformer():
    code = ('import sys, video_planner.text.encoder as e; '
            'print("sentence_transformers" in sys.modules, "transformers" in sys.modules)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ['False', 'False']
