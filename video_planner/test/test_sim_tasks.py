"""Task sampling, language templates and the success tests."""
import numpy as np
import pytest

from video_planner.errors import VideoPlannerError
from video_planner.sim.arms import ARMS, get_arm
from video_planner.sim.tasks import (DIRECTIONS, TASK_FAMILIES, TEMPLATES, SceneState, check_success,
                                     paraphrase_split, sample_task)


def test_heldout_paraphrases_never_appear_in_train():
    for variant, by_split in TEMPLATES.items():
        assert set(by_split['train']).isdisjoint(by_split['heldout']), variant
        assert by_split['heldout'], variant
    spec = get_arm('panda')
    train = {sample_task(spec, f, s).template for f in TASK_FAMILIES for s in range(40)}
    heldout = {sample_task(spec, f, s, split='heldout').template for f in TASK_FAMILIES for s in range(40)}
    assert train.isdisjoint(heldout)
    assert paraphrase_split()['lift']['heldout'] == list(TEMPLATES['lift']['heldout'])


@pytest.mark.parametrize('arm', list(ARMS))
def test_sampled_tasks_are_deterministic_well_formed_and_fit_the_workspace(arm):
    spec = get_arm(arm)
    for family in TASK_FAMILIES:
        for seed in range(10):
            a, b = sample_task(spec, family, seed), sample_task(spec, family, seed)
            assert a == b
            names = [o.name for o in a.objects]
            assert len(set(names)) == len(names) and a.target in names
            assert a.object(a.target).color in a.instruction
            for obj in a.objects:
                d = np.linalg.norm(np.array(obj.position_xy) - spec.workspace_center)
                assert d <= 1.5 * spec.workspace_radius, (arm, family, obj)
            if family == 'pick_place':
                assert a.object(a.reference).shape == 'pad'
            if a.direction is not None:
                assert a.direction in DIRECTIONS


def _state(task, moves=None, **kw):
    start = {o.name: np.array([*o.position_xy, o.half_extents[2]]) for o in task.objects}
    now = {k: v + (moves or {}).get(k, 0.0) for k, v in start.items()}
    return SceneState(positions=now, initial_positions=start, **kw)


def test_success_tests_read_the_scene_state():
    spec = get_arm('panda')
    reach = sample_task(spec, 'reach', 0)
    assert not check_success(reach, _state(reach))
    assert check_success(reach, _state(reach, touched={reach.target}))

    push = next(t for s in range(50) if (t := sample_task(spec, 'push', s)).direction == 'left')
    assert check_success(push, _state(push, {push.target: np.array([0.0, 0.06, 0.0])}))
    assert not check_success(push, _state(push, {push.target: np.array([0.0, -0.06, 0.0])}))
    assert not check_success(push, _state(push, {push.target: np.array([0.08, 0.05, 0.0])}))

    lift = sample_task(spec, 'lift', 0)
    assert check_success(lift, _state(lift, {lift.target: np.array([0, 0, 0.08])}))
    assert not check_success(lift, _state(lift, {lift.target: np.array([0, 0, 0.01])}))

    place = sample_task(spec, 'pick_place', 0)
    pad = place.object(place.reference)
    target = place.object(place.target)
    on_pad = np.array([*pad.position_xy, target.half_extents[2]])
    state = _state(place)
    state.positions[place.target] = on_pad
    assert check_success(place, state)
    state.held = place.target  # still in the gripper: not placed yet
    assert not check_success(place, state)


def test_bad_family_or_split_is_a_clear_error():
    with pytest.raises(VideoPlannerError, match='task family'):
        sample_task(get_arm('panda'), 'juggle', 0)
    with pytest.raises(VideoPlannerError, match='split'):
        sample_task(get_arm('panda'), 'lift', 0, split='test')
