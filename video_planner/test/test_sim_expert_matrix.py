"""Every arm x every task family: the scripted expert succeeds through IK + joint control."""
import numpy as np
import pytest
import torch

from video_planner.sim.arms import ARMS, HELD_OUT_ARMS, SEEN_ARMS
from video_planner.sim.expert import ScriptedExpert
from video_planner.sim.tasks import TASK_FAMILIES, sample_task
from video_planner.sim.world import TabletopWorld

torch.set_num_threads(1)
EPISODES_PER_CELL = 1


@pytest.mark.timeout(300)
def test_expert_succeeds_on_every_arm_and_task_family():
    results = {}
    for arm in ARMS:
        world = TabletopWorld(arm, seed=0, image_size=32)
        try:
            for family in TASK_FAMILIES:
                wins = 0
                for k in range(EPISODES_PER_CELL):
                    seed = 1000 * k + 7 + 13 * TASK_FAMILIES.index(family)
                    task = sample_task(world.spec, family, np.random.default_rng(seed))
                    world.reset(task, seed=seed)
                    assert not world.success(), f'{arm}/{family}: task already solved at reset'
                    wins += ScriptedExpert(world).run(task)
                results[(arm, family)] = wins / EPISODES_PER_CELL
        finally:
            world.close()
    for (arm, family), rate in results.items():
        tag = ' (held out)' if arm in HELD_OUT_ARMS else ''
        print(f'expert success {arm}{tag} {family}: {rate:.0%}')
    assert HELD_OUT_ARMS and set(HELD_OUT_ARMS) <= set(ARMS) and not set(HELD_OUT_ARMS) & set(SEEN_ARMS)
    failed = {cell: rate for cell, rate in results.items() if rate < 1.0}
    assert not failed, f'scripted expert failed in {failed}'


def test_doing_nothing_does_not_succeed():
    world = TabletopWorld('panda', seed=0, image_size=32)
    try:
        for family in TASK_FAMILIES:
            task = sample_task(world.spec, family, np.random.default_rng(3))
            obs = world.reset(task, seed=3)
            for _ in range(20):
                world.step_ee(obs.T_base_ee, 0.0)
            assert not world.success(), family
    finally:
        world.close()
