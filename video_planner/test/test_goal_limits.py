"""Issue 21: every plan_video goal field bounded per goal; sampling many candidates looks at cancel often."""
import threading
import time

import numpy as np
import pytest
import torch

from video_planner.errors import VideoPlannerError
from video_planner.model import SamplingCancelled, VideoModel
from video_planner.model.config import load_model_config
from video_planner.model import video_model
from video_planner.model.sampler import MAX_CHUNK
from video_planner.planner import PlannerConfig
from video_planner.planner.goal_limits import GoalLimits, GoalRequest, check_goal, check_instruction

LIMITS = GoalLimits(max_candidates=8, max_sampling_steps=32)


@pytest.mark.parametrize('text, words', [
    ('', 'empty'), ('  \t ', 'empty'), ('x' * 301, '301 characters; at most 300'),
    ('push\x00the red cube', "'\\x00' (U+0000) at position 4"), ('push\nthe cube', 'U+000A'),
    ('push\x1b[2J the cube', 'U+001B'), ('push\u202ethe cube', 'U+202E'), ('push\u2028it', 'U+2028')])
def test_bad_instructions_are_refused_naming_what_is_wrong(text, words):
    with pytest.raises(VideoPlannerError, match='goal.instruction') as err:
        check_instruction(text)
    assert words in str(err.value)


def test_instruction_length_edge_and_odd_but_printable_text_pass():
    assert check_instruction('  ' + 'x' * 300 + ' ') == 'x' * 300
    for text in ('schiebe den Würfel → links ☃', '🤖🤖🤖', "'; DROP TABLE plans;--"):
        assert check_instruction(text) == text


@pytest.mark.parametrize('field, value, bound', [('num_candidates', 9, 'max_candidates=8'),
                                                 ('num_candidates', 255, 'max_candidates=8'),
                                                 ('sampling_steps', 33, 'max_sampling_steps=32'),
                                                 ('sampling_steps', 255, 'max_sampling_steps=32')])
def test_goal_over_a_bound_names_the_field_its_value_and_the_bound(field, value, bound):
    with pytest.raises(VideoPlannerError) as err:
        check_goal(GoalRequest('push the cube', **{field: value}), LIMITS)
    assert f'goal.{field}={value}' in str(err.value) and bound in str(err.value)


def test_goals_at_the_bounds_and_defaults_pass_and_odd_seeds_are_refused():
    assert check_goal(GoalRequest(' push ', num_candidates=8, sampling_steps=32, seed=2**31 - 1), LIMITS) == 'push'
    assert check_goal(GoalRequest('push', num_candidates=0, sampling_steps=0, seed=-1), LIMITS) == 'push'
    with pytest.raises(VideoPlannerError, match=r'goal.seed=-2 is invalid'):
        check_goal(GoalRequest('push', seed=-2), LIMITS)


@pytest.fixture(scope='module')
def model():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    return VideoModel(load_model_config('tiny')).eval()


def test_many_candidates_are_sampled_in_chunks_that_each_look_at_cancel(model, monkeypatch):
    s = model.config.image_size
    frames = np.random.default_rng(0).integers(0, 256, (9, s, s, 3), dtype=np.uint8)
    text = np.ones((1, 384), np.float32) / np.sqrt(384)
    one_by_one, progress = [], []
    monkeypatch.setattr(video_model, 'STEP_TARGET_S', 1e-9)  # every chunk one candidate
    single = model.sample(frames, text, steps=3, seed=5, should_cancel=lambda: one_by_one.append(1) and False,
                          callback=lambda done, total: progress.append((done, total)))
    assert len(one_by_one) == 9 * 3  # a check before every step of every candidate
    assert progress == [(i, 27) for i in range(1, 28)]
    monkeypatch.setattr(video_model, 'STEP_TARGET_S', 1e9)  # chunks of MAX_CHUNK
    batched = []
    plans = model.sample(frames, text, steps=3, seed=5, should_cancel=lambda: batched.append(1) and False)
    assert len(batched) == 3 * (1 + -(-(9 - 1) // MAX_CHUNK))
    # The chunking does not change the plans (same starting noise; float sums may round 1 grey level apart).
    assert np.abs(plans.astype(int) - single.astype(int)).max() <= 1


def test_cancel_with_the_largest_goal_lands_within_half_a_second():
    # The shipped model: one step of 64 candidates in one batch takes ~5 s on a core, so only chunking passes.
    model = VideoModel.load(PlannerConfig().checkpoint_path).eval()
    s = model.config.image_size
    frames = np.zeros((64, s, s, 3), np.uint8)
    text = np.ones((1, 384), np.float32) / np.sqrt(384)
    cancel = threading.Event()
    timer_started = time.monotonic()
    timer = threading.Timer(0.3, cancel.set)  # the client's cancel, from another thread, mid-sampling
    timer.start()
    with pytest.raises(SamplingCancelled):
        model.sample(frames, text, steps=64, seed=0, should_cancel=cancel.is_set)
    latency = time.monotonic() - (timer_started + 0.3)
    assert cancel.is_set() and latency < 0.5, f'cancel seen after {latency:.2f} s'


def test_a_cancel_during_encoding_is_honoured_before_grounding_and_sampling():
    from video_planner.camera import CameraModel
    from video_planner.planner import PlanCancelled, PlanRequest, VideoPlanner
    planner = VideoPlanner(PlannerConfig())
    size = planner.image_size
    request = PlanRequest(instruction='push the red cube', rgb=np.zeros((size, size, 3), np.uint8), depth_m=None,
                          camera=CameraModel.from_intrinsics(50.0, 50.0, size / 2, size / 2, size, size),
                          T_base_ee=np.eye(4))
    stages = []
    with pytest.raises(PlanCancelled, match='while encoding the instruction'):
        planner.sample_video(request, progress=lambda stage, *_: stages.append(stage), should_cancel=lambda: True)
    assert stages == ['encoding']  # neither grounding nor a sampler step ran
