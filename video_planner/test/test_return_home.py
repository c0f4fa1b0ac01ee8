"""Going home when the video model cannot plan from where the tool is (VideoPlanner.home_plan): a benchmark
scene (panda_blue push, suite seed 2026) where a plan left the tool pulled in beside the base, and every
video sampled from there drew the tool back near the objects in its first frame: each plan was refused as a
jump, for the rest of the episode. The shipped models, the simulated arm."""
import numpy as np
import pytest

from video_planner.evaluation.executor import ExecutorConfig, WaypointExecutor
from video_planner.planner import PlannerConfig, PlanRequest, VideoPlanner
from video_planner.sim.arms import get_arm
from video_planner.sim.randomization import DomainRandomization
from video_planner.sim.tasks import sample_task
from video_planner.sim.world import TabletopWorld


def request(task, obs, seed: int = 0) -> PlanRequest:
    return PlanRequest(instruction=task.instruction, rgb=obs.rgb, depth_m=obs.depth_m, camera=obs.camera,
                       T_base_ee=obs.T_base_ee, q_current=obs.joint_positions, ee_mask=obs.ee_mask,
                       gripper=0.0, seed=seed)


@pytest.fixture(scope='module')
def pulled_in():
    """(world, executor, task, observation with the tool where the episode's second plan left it)."""
    world = TabletopWorld('panda_blue', seed=2026, image_size=64, randomization=DomainRandomization())
    seed = 857339588
    task = sample_task(get_arm('panda_blue'), 'push', np.random.default_rng(seed), split='train')
    obs = world.reset(task, seed=seed)
    executor = WaypointExecutor(world, ExecutorConfig())
    executor.reset(obs.gripper)
    T = obs.T_base_ee.copy()
    T[:3, 3] = [0.232, -0.045, 0.232]
    executor.move_to(T)
    yield world, executor, task, world.observe()
    world.close()


def test_when_every_video_starts_elsewhere_the_tool_goes_home_and_then_plans_a_video(pulled_in):
    world, executor, task, obs = pulled_in
    planner = VideoPlanner(PlannerConfig(arm='panda_blue'))
    home_q = np.asarray(get_arm('panda_blue').home_q)
    T_home = planner.kinematics.fk(home_q)
    off = VideoPlanner(PlannerConfig(arm='panda_blue', return_home=False), video_model=planner.video_model,
                       text_encoder=planner.text_encoder)
    refused = off.plan(request(task, obs))
    assert not refused.ok and refused.starts_elsewhere, 'the scene no longer shows videos that start elsewhere'
    assert 'inverse-dynamics confidence' in refused.status
    plan = planner.plan(request(task, obs))
    assert plan.ok and plan.kind == 'home', plan.status
    assert plan.joint_trajectory is not None and len(plan.frames) == len(plan.T_base_ee) == 3
    np.testing.assert_allclose(plan.T_base_ee[-1], T_home, atol=1e-9)
    np.testing.assert_allclose(plan.T_base_ee[1, :3, 3], [*obs.T_base_ee[:2, 3], T_home[2, 3]])  # up first
    executor.follow(plan.T_base_ee[1:], plan.gripper[1:])
    home = world.observe()
    assert np.linalg.norm(home.T_base_ee[:3, 3] - T_home[:3, 3]) < 0.01
    # Home: no second trip; the video model plans from here.
    again = planner.plan(request(task, home))
    assert again.kind == 'video' and again.ok, again.status
