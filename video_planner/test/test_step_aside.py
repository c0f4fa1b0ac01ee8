"""Stepping aside (planner/step_aside.py): when the arm hides the named object from the camera, the planner
moves the tool sideways first, to a pose where the arm's silhouette (from its URDF) leaves the object in
view. Real simulator scenes, the shipped grounding network and the arm's mask renderer."""
import numpy as np
import pytest

from video_planner.planner import PlannerConfig, PlanRequest, VideoPlanner
from video_planner.planner.step_aside import StepAsideConfig, clearing_pose, heat_share, out_of_sight, under_arm
from video_planner.sim.arms import get_arm
from video_planner.sim.randomization import DomainRandomization
from video_planner.sim.segmentation import SEG_OBJECT_BASE
from video_planner.sim.tasks import sample_task
from video_planner.sim.world import TabletopWorld


def test_out_of_sight_means_no_object_seen_in_depth_holds_the_map():
    heat = np.zeros((8, 8))
    heat[2:4, 2:4] = 1.0
    config = StepAsideConfig()
    assert heat_share(heat, heat > 0) == 1.0 and heat_share(heat, None) == 0.0
    assert out_of_sight(heat, None, config)            # no object found in depth
    seen = np.zeros((8, 8), bool)
    seen[3, 2:4] = True                                # half the map on an object the depth image shows
    assert not out_of_sight(heat, seen, config)
    seen[:] = False
    seen[6, 6] = True                                  # an object elsewhere holds none of it
    assert out_of_sight(heat, seen, config)
    assert not out_of_sight(np.zeros((8, 8)), None, config)   # no map at all: nothing to look for


def test_under_arm_means_the_map_lies_on_or_next_to_the_arms_pixels():
    config = StepAsideConfig(under_arm_share=0.3, arm_margin_px=1)  # rule only: the shipped values differ
    arm = np.zeros((8, 8), bool)
    arm[:, :3] = True
    heat = np.zeros((8, 8))
    heat[4, 3] = 1.0                                   # one pixel beside the arm: within the margin
    assert under_arm(heat, arm, config)
    heat[4, 3], heat[4, 6] = 0.0, 1.0                  # three pixels off it
    assert not under_arm(heat, arm, config)
    heat[2, 1] = 0.5                                   # a third of the mass on the arm
    assert under_arm(heat, arm, config)
    assert not under_arm(np.zeros((8, 8)), arm, config)


def test_the_pose_kept_is_the_one_whose_silhouette_uncovers_most():
    config = StepAsideConfig(distances_m=(0.1,), directions=4)
    now = np.zeros((8, 8), bool)
    now[:, :4] = True
    half = np.zeros((8, 8), bool)
    half[:4, :4] = True

    def silhouette_at(T):   # +y uncovers all of it, +x half (not enough), -x is out of reach, -y uncovers nothing
        if T[0, 3] < -0.05:
            return None
        return ~now if T[1, 3] > 0.05 else half if T[0, 3] > 0.05 else now
    T = clearing_pose(np.eye(4), now, silhouette_at, 1.0, config)
    np.testing.assert_allclose(T[:3, 3], [0, 0.1, 0], atol=1e-9)
    assert clearing_pose(np.eye(4), now, lambda T: half, 1.0, config) is None   # half stays covered: not enough
    assert clearing_pose(np.eye(4), np.zeros((8, 8), bool), silhouette_at, 1.0, config) is None


def hidden_scenes(arm: str, family: str, world: TabletopWorld):
    """(task, observation) of the sampled scenes where the arm hides the named object (< 4 pixels)."""
    for seed in range(300):
        task = sample_task(get_arm(arm), family, np.random.default_rng(seed))
        obs = world.reset(task, seed=seed)
        if visible_pixels(task, obs) < 4:
            yield task, obs


def visible_pixels(task, obs) -> int:
    k = next(i for i, o in enumerate(task.objects) if o.name == task.target)
    return int((obs.segmentation == SEG_OBJECT_BASE + k).sum())


def request(task, obs, gripper: float = 0.0) -> PlanRequest:
    return PlanRequest(instruction=task.instruction, rgb=obs.rgb, depth_m=obs.depth_m, camera=obs.camera,
                       T_base_ee=obs.T_base_ee, q_current=obs.joint_positions, ee_mask=obs.ee_mask,
                       gripper=gripper, seed=0)


@pytest.mark.parametrize('arm', ['z1', 'ur5'])
def test_an_arm_that_hides_the_named_object_steps_aside_and_then_sees_it(arm):
    world = TabletopWorld(arm, seed=0, image_size=64)
    planner = VideoPlanner(PlannerConfig(arm=arm))
    try:
        # Of the first hidden scenes, the planner must step aside in one (in others the grounding map may lie
        # off the arm, on something else: then it plans a video).
        for tried, (task, obs) in enumerate(hidden_scenes(arm, 'pick_place', world)):
            plan = planner.plan(request(task, obs))
            if plan.kind == 'step_aside' or tried == 4:
                break
        assert plan.ok and plan.kind == 'step_aside', f'no step aside in 5 hidden scenes: {plan.status}'
        assert len(plan.T_base_ee) == 2 and plan.joint_trajectory is not None
        np.testing.assert_allclose(plan.T_base_ee[1, 2, 3], obs.T_base_ee[2, 3], atol=1e-6)  # sideways only
        world.set_joint_targets(plan.joint_trajectory.positions[-1], 0.0, steps=240)
        after = world.observe()
        assert visible_pixels(task, after) >= 4, 'the step aside left the object hidden'
        # In view now: the planner plans the video (its scene reads the object, no second step aside).
        view = planner.to_model_view(request(task, after))
        scene = planner.scene_masks(task.instruction, view[0], view[1], view[2], after.joint_positions, view[3], 0.0)
        assert planner.step_aside_plan(request(task, after), view[0], view[1], view[2], scene) is None
        # Switched off, or holding what it grasps: no step aside.
        off = VideoPlanner(PlannerConfig(arm=arm, step_aside=False), video_model=planner.video_model,
                           text_encoder=planner.text_encoder)
        view = off.to_model_view(request(task, obs))
        scene = off.scene_masks(task.instruction, view[0], view[1], view[2], obs.joint_positions, view[3], 0.0)
        assert off.step_aside_plan(request(task, obs), view[0], view[1], view[2], scene) is None
        held = request(task, obs, gripper=1.0)
        view = planner.to_model_view(held)
        scene = planner.scene_masks(task.instruction, view[0], view[1], view[2], obs.joint_positions, view[3], 1.0)
        assert planner.step_aside_plan(held, view[0], view[1], view[2], scene) is None
    finally:
        world.close()


def test_a_map_off_the_arm_does_not_step_aside():
    """A benchmark scene (panda_blue push, suite seed 777) where the grounding map found no object seen in
    depth while the cube stood in full view: the arm stepped back and forth for all ten plans."""
    world = TabletopWorld('panda_blue', seed=2026, image_size=64, randomization=DomainRandomization())
    planner = VideoPlanner(PlannerConfig(arm='panda_blue'))
    try:
        seed = 1708400857
        task = sample_task(get_arm('panda_blue'), 'push', np.random.default_rng(seed), split='train')
        obs = world.reset(task, seed=seed)
        assert visible_pixels(task, obs) >= 10
        view = planner.to_model_view(request(task, obs))
        scene = planner.scene_masks(task.instruction, view[0], view[1], view[2], obs.joint_positions, view[3], 0.0)
        config = StepAsideConfig()
        assert out_of_sight(scene.heat, scene.seen_pixels, config), 'the scene no longer shows the misread map'
        silhouette = planner.canonical_view.arm_mask(obs.joint_positions, view[2], None, 0.0)
        assert not under_arm(scene.heat, silhouette, config)
        assert planner.step_aside_plan(request(task, obs), view[0], view[1], view[2], scene) is None
    finally:
        world.close()
