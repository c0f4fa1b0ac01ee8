"""The ROS-free planning pipeline: config validation, safety gates, and plan / cancel on a simulator frame."""
import dataclasses

import numpy as np
import pytest

from ros_harness import OPEN_GATES, tiny_checkpoint, tiny_grounding_checkpoint, tiny_hint_checkpoint
from video_planner.errors import ConfigError, VideoPlannerError
from video_planner.planner import PlanCancelled, PlannerConfig, PlanRequest, VideoPlanner, gates


def test_config_names_the_bad_setting(tmp_path):
    with pytest.raises(ConfigError, match='inverse_dynamics'):
        PlannerConfig(inverse_dynamics='magic')
    with pytest.raises(ConfigError, match='num_candidates'):
        PlannerConfig(num_candidates=0)
    with pytest.raises(ConfigError, match='workspace_min'):
        PlannerConfig(workspace_min=[1.0, 0.0, 0.0], workspace_max=[0.5, 1.0, 1.0])
    with pytest.raises(ConfigError, match='hint_guidance'):
        PlannerConfig(hint_guidance=-1.0)
    with pytest.raises(ConfigError, match="unknown planner setting"):
        PlannerConfig.from_dict({'sampling_step': 3})
    ros_file = tmp_path / 'planner.yaml'
    ros_file.write_text('planner_node:\n  ros__parameters:\n    sampling_steps: 4\n    image_topic: cam\n')
    assert PlannerConfig.from_yaml(ros_file).sampling_steps == 4


def straight_line(n: int, step_m: float) -> np.ndarray:
    poses = np.repeat(np.eye(4)[None], n, axis=0)
    poses[:, 0, 3] = 0.4 + step_m * np.arange(n)
    poses[:, 2, 3] = 0.2
    return poses


def test_gates_give_the_first_reason_and_pass_a_good_plan():
    config = PlannerConfig(max_step_m=0.05, min_confidence=0.5)
    good, confident = straight_line(5, 0.02), np.ones(5)
    assert gates.first_failure(good, confident, config) == ''
    assert 'max_step_m' in gates.first_failure(straight_line(3, 0.1), np.ones(3), config)
    assert 'confidence' in gates.first_failure(good, np.full(5, 0.1), config)
    far = good.copy()
    far[3, 2, 3] = 5.0
    assert 'outside the workspace' in gates.first_failure(far, confident, config)
    broken = good.copy()
    broken[2, 0, 3] = np.nan
    assert 'non-finite' in gates.first_failure(broken, confident, config)


def test_the_step_gate_reads_the_inverse_dynamics_poses_not_the_snapped_ones():
    """A snapped waypoint (a release moved over the pad) may lie farther from its neighbour than a frame may
    move; a jump in what the inverse dynamics read is a misread frame."""
    config = PlannerConfig(max_step_m=0.05)
    read, confident = straight_line(5, 0.02), np.ones(5)
    snapped = read.copy()
    snapped[3:, 1, 3] += 0.12
    assert 'max_step_m' in gates.first_failure(snapped, confident, config)
    assert gates.first_failure(snapped, confident, config, read=read) == ''
    assert 'step 1->2' in gates.first_failure(read, confident, config, read=straight_line(5, 0.1))


@pytest.fixture(scope='module')
def sim_request():
    from video_planner.sim.arms import ARMS
    from video_planner.sim.tasks import sample_task
    from video_planner.sim.world import TabletopWorld
    world = TabletopWorld('panda', seed=2, image_size=64)
    try:
        obs = world.reset(sample_task(ARMS['panda'], 'reach', 2))
    finally:
        world.close()
    return PlanRequest(instruction=obs.instruction, rgb=obs.rgb, depth_m=obs.depth_m, camera=obs.camera,
                       T_base_ee=obs.T_base_ee, q_current=obs.joint_positions, ee_mask=obs.ee_mask,
                       num_candidates=2, sampling_steps=2, seed=0)


def test_plan_resizes_to_the_model_and_returns_poses_for_every_frame(sim_request):
    planner = VideoPlanner(PlannerConfig(checkpoint=str(tiny_checkpoint()), arm='panda', **OPEN_GATES))
    stages = []
    plan = planner.plan(sim_request, progress=lambda stage, fraction, step, total: stages.append(stage))
    size = planner.image_size  # 16: the 64x64 frame and its intrinsics were scaled down together
    assert plan.frames.shape == (planner.video_model.config.horizon + 1, size, size, 3)
    assert plan.T_base_ee.shape == (len(plan.frames), 4, 4) and len(plan.confidence) == len(plan.frames)
    assert stages[0] == 'encoding' and 'sampling' in stages and stages[-1] == 'done'
    assert {'encode', 'sample', 'inverse_dynamics'} <= set(plan.timings)
    assert plan.ok, plan.status   # the gates are open and the Panda reaches every pose
    joints, arm = plan.joint_trajectory, planner.kinematics
    assert joints.positions.shape[1] == len(arm.joint_names)
    np.testing.assert_allclose(joints.positions[0], sim_request.q_current)   # it starts where the arm is
    # ... and ends where the plan's last pose is (IK within a millimetre).
    np.testing.assert_allclose(arm.fk(joints.positions[-1])[:3, 3], plan.T_base_ee[-1, :3, 3], atol=1e-3)
    # The same seeded plan under the default gates: the tiny model's noise gets no inverse-dynamics
    # confidence, so it is refused, with the reason.
    strict = VideoPlanner(PlannerConfig(checkpoint=str(tiny_checkpoint()), arm='panda'))
    refused = strict.plan(sim_request)
    assert not refused.ok and 'below min_confidence' in refused.status and refused.joint_trajectory is None


def test_cancel_and_bad_requests_stop_before_any_plan(sim_request):
    planner = VideoPlanner(PlannerConfig(checkpoint=str(tiny_checkpoint())))
    with pytest.raises(PlanCancelled):
        planner.plan(sim_request, should_cancel=lambda: True)
    for bad in ({'instruction': '   '}, {'rgb': sim_request.rgb[:10]}, {'T_base_ee': np.full((4, 4), np.nan)},
                {'depth_m': np.full(sim_request.rgb.shape[:2], np.nan, np.float32)}):
        request = PlanRequest(**{**sim_request.__dict__, **bad})
        with pytest.raises(VideoPlannerError):
            planner.plan(request)


def test_best_candidate_prefers_passing_gates_then_confidence():
    from video_planner.planner.pipeline import best_candidate
    assert best_candidate([True, True, True], [0.9, 0.5, 0.1]) == 0
    assert best_candidate([True, True, True], [0.1, 0.5, 0.9]) == 2
    assert best_candidate([False, True, True], [0.9, 0.5, 0.1]) == 1   # a refused plan never wins


def test_several_candidates_are_ranked_by_inverse_dynamics_confidence(sim_request):
    from video_planner.planner.pipeline import best_candidate
    planner = VideoPlanner(PlannerConfig(checkpoint=str(tiny_checkpoint()), arm='panda', min_confidence=0.0,
                                         max_step_m=10.0))
    candidates, timings = planner.sample_video(sim_request)
    assert candidates.shape[0] == 2 and set(timings) == {'encode', 'sample'}
    _, depth, camera, mask = planner.to_model_view(sim_request)
    each = [planner.frames_to_plan(sim_request.instruction, c, depth, camera, sim_request.T_base_ee,
                                   sim_request.q_current, mask) for c in candidates]
    keep = best_candidate([p.ok for p in each], [p.score for p in each])
    plan = planner.plan(sim_request)   # seeded: the same two candidates
    assert np.array_equal(plan.frames, candidates[keep]) and plan.score == each[keep].score


def test_a_hint_model_plans_towards_what_the_grounding_network_finds(sim_request):
    # The tiny grounding network finds no object in depth: the planner would step aside (`step_aside`) instead.
    planner = VideoPlanner(PlannerConfig(checkpoint=str(tiny_hint_checkpoint()), arm='panda', min_confidence=0.0,
                                         max_step_m=10.0, grounding_checkpoint=str(tiny_grounding_checkpoint()),
                                         step_aside=False))
    candidates, timings = planner.sample_video(sim_request)
    assert 'ground' in timings and planner.grounder is not None
    # The plan is the model's sample given the grounding network's hint for this frame and sentence.
    rgb, _, _, _ = planner.to_model_view(sim_request)
    hint = planner.grounder.hint(rgb, sim_request.instruction, planner.image_size)
    emb = planner.video_model.encode_text(planner.text_encoder, [sim_request.instruction])
    expected = planner.video_model.sample(np.repeat(rgb[None], len(candidates), 0), np.repeat(emb, len(candidates), 0),
                                          steps=sim_request.sampling_steps, seed=sim_request.seed, hint=hint,
                                          hint_guidance=planner.config.hint_guidance)
    assert np.array_equal(candidates[:, 1:], expected)
    assert planner.plan(sim_request).frames.shape == candidates[0].shape
    # hint_guidance reaches the sampler.
    planner.config = dataclasses.replace(planner.config, hint_guidance=3.0)
    guided = planner.sample_video(sim_request)[0]
    assert np.array_equal(guided[:, 1:], planner.video_model.sample(
        np.repeat(rgb[None], len(candidates), 0), np.repeat(emb, len(candidates), 0), steps=sim_request.sampling_steps,
        seed=sim_request.seed, hint=hint, hint_guidance=3.0))
    assert not np.array_equal(guided, candidates)
    # A video model without the hint input never loads a grounding network, even a broken one.
    plain = VideoPlanner(PlannerConfig(checkpoint=str(tiny_checkpoint()), grounding_checkpoint='/no/such.pt'))
    assert plain.grounder is None and 'ground' not in plain.sample_video(sim_request)[1]
    broken = VideoPlanner(PlannerConfig(checkpoint=str(tiny_hint_checkpoint()), grounding_checkpoint='/no/such.pt'))
    with pytest.raises(VideoPlannerError, match='such.pt'):
        broken.sample_video(sim_request)
