"""The canonical view: the arm found from its URDF, painted out, and one canonical gripper drawn in its place."""
import dataclasses

import numpy as np
import pytest

from video_planner.embodiment import CanonicalView
from video_planner.embodiment.canonical_view import arm_mask_from_segmentation
from video_planner.errors import VideoPlannerError


def observe(arm: str, family: str = 'push', seed: int = 3, steps: int = 0):
    from video_planner.sim.arms import get_arm
    from video_planner.sim.tasks import sample_task
    from video_planner.sim.world import TabletopWorld
    with TabletopWorld(arm, seed=seed) as world:
        obs = world.reset(sample_task(get_arm(arm), family, np.random.default_rng(seed)), seed=seed)
        for _ in range(steps):  # move off the home pose, so the arm is not where it always starts
            T = obs.T_base_ee.copy()
            T[:3, 3] += [0.03, -0.02, -0.02]
            world.step_ee(T, 1.0)
            obs = world.observe()
        return obs, world.spec


@pytest.mark.parametrize('arm', ['panda', 'kinova'])
def test_the_urdf_mask_finds_the_pixels_the_simulator_shows_as_arm(arm):
    obs, spec = observe(arm, steps=2)
    view = CanonicalView(spec)
    try:
        from_urdf = view.arm_mask(obs.joint_positions, obs.camera, obs.depth_m, obs.gripper)
    finally:
        view.close()
    truth = arm_mask_from_segmentation(obs.segmentation)
    iou = (from_urdf & truth).sum() / (from_urdf | truth).sum()
    assert truth.sum() > 100 and iou > 0.9, f'{arm}: IoU {iou:.2f} of {truth.sum()} arm pixels'


def test_two_arms_that_look_different_give_the_same_canonical_frame():
    # The Panda and the same Panda painted blue: the camera frames differ where the arm is, the canonical
    # frames do not (the planner sees no difference between them).
    frames = {}
    for arm in ('panda', 'panda_blue'):
        obs, spec = observe(arm)
        view = CanonicalView(spec)
        try:
            canonical, gripper = view.from_robot_state(obs.rgb, obs.camera, obs.T_base_ee, obs.gripper,
                                                       obs.joint_positions, obs.depth_m)
        finally:
            view.close()
        frames[arm] = obs.rgb.astype(int), canonical.astype(int), gripper, arm_mask_from_segmentation(obs.segmentation)
    (cam_a, can_a, grip_a, arm_a), (cam_b, can_b, grip_b, _) = frames['panda'], frames['panda_blue']
    assert np.abs(cam_a - cam_b)[arm_a].mean() > 40
    assert np.abs(can_a - can_b).mean() < 1.0 and (grip_a == grip_b).all()
    # ... and the arm is gone: no pixel of the canonical frame keeps the arm's colour where the arm was.
    outside_gripper = arm_a & ~grip_a
    assert np.abs(can_a - cam_a)[outside_gripper].mean() > 40


def test_the_canonical_gripper_sits_on_the_end_effector_and_shows_its_opening():
    obs, spec = observe('ur5')
    view = CanonicalView(spec)
    try:
        masks = [view.from_robot_state(obs.rgb, obs.camera, obs.T_base_ee, g, obs.joint_positions, obs.depth_m)[1]
                 for g in (0.0, 1.0)]
    finally:
        view.close()
    u, v = obs.camera.project(obs.T_base_ee[:3, 3])
    for mask in masks:
        ys, xs = np.nonzero(mask)
        assert np.hypot(xs - u, ys - v).min() < 2.0, 'no gripper pixel at the tool centre point'
    assert masks[0].sum() != masks[1].sum() or (masks[0] != masks[1]).any(), 'opening does not show'


def test_without_joint_positions_the_canonical_view_says_what_it_needs():
    obs, spec = observe('panda')
    view = CanonicalView(spec)
    with pytest.raises(VideoPlannerError, match='joint positions'):
        view.from_robot_state(obs.rgb, obs.camera, obs.T_base_ee, 0.0, None, obs.depth_m)
    with pytest.raises(VideoPlannerError, match='7 finite joint positions'):
        view.from_robot_state(obs.rgb, obs.camera, obs.T_base_ee, 0.0, np.full(7, np.nan), obs.depth_m)
    view.close()


def test_generated_episodes_carry_both_views_and_the_reader_serves_either(tmp_path):
    from video_planner.data.generate import GenerateConfig, generate
    from video_planner.data.reader import VideoClipDataset
    counts = generate(GenerateConfig(arms=('iiwa',), tasks=('reach',), episodes=1, seed=11, out=tmp_path,
                                     frames=12), progress=False)
    assert counts['success'] == 1
    camera = VideoClipDataset(tmp_path, horizon=8, view='camera')[0]
    canonical = VideoClipDataset(tmp_path, horizon=8, view='canonical')[0]
    assert (camera['frame0'] != canonical['frame0']).any(axis=-1).sum() > 50
    assert canonical['ee_mask0'].sum() > 20 and not (canonical['ee_mask0'] == camera['ee_mask0']).all()
    with pytest.raises(Exception, match='view'):
        VideoClipDataset(tmp_path, horizon=8, view='cartoon')

    # An episode recorded before the canonical view existed: the reader says how to add it, and the
    # command adds the same frames generate wrote.
    import h5py

    from video_planner import cli
    from video_planner.data.episode import CANONICAL_GRIPPER_MASK, CANONICAL_RGB
    path = next(tmp_path.glob('*.hdf5'))
    with h5py.File(path, 'r+') as f:
        written = f['data/demo_0/obs'][CANONICAL_RGB][()]
        del f['data/demo_0/obs'][CANONICAL_RGB], f['data/demo_0/obs'][CANONICAL_GRIPPER_MASK]
    with pytest.raises(VideoPlannerError, match='video-planner canonicalize'):
        VideoClipDataset(tmp_path, horizon=8, view='canonical')[0]
    assert cli.main(['canonicalize', str(tmp_path)]) == 0
    with h5py.File(path, 'r') as f:
        assert np.array_equal(f['data/demo_0/obs'][CANONICAL_RGB][()], written)


def test_a_canonical_model_plans_in_the_canonical_view_and_a_mismatched_pair_is_refused(tmp_path):
    import cv2

    from ros_harness import OPEN_GATES, tiny_canonical_checkpoint
    from video_planner.model.video_model import VideoModel
    from video_planner.planner import PlannerConfig, PlanRequest, VideoPlanner
    model = VideoModel.load(tiny_canonical_checkpoint())
    assert model.config.view == 'canonical'
    obs, spec = observe('panda')
    request = PlanRequest(instruction='push the block', rgb=obs.rgb, depth_m=obs.depth_m, camera=obs.camera,
                          T_base_ee=obs.T_base_ee, q_current=obs.joint_positions, ee_mask=obs.ee_mask, seed=0,
                          sampling_steps=2, num_candidates=1)
    config = PlannerConfig(arm='panda', inverse_dynamics='flow', **OPEN_GATES)
    plan = VideoPlanner(config, video_model=model).plan(request)
    s = model.config.image_size
    view = CanonicalView(spec)
    expected, _ = view.from_robot_state(cv2.resize(obs.rgb, (s, s), interpolation=cv2.INTER_AREA),
                                        obs.camera.resized(s, s), obs.T_base_ee, 0.0, obs.joint_positions,
                                        cv2.resize(obs.depth_m, (s, s), interpolation=cv2.INTER_NEAREST))
    view.close()
    assert np.array_equal(plan.frames[0], expected), 'the plan does not start from the canonical frame'
    assert plan.T_base_ee.shape == (model.config.horizon + 1, 4, 4)

    # A learned inverse dynamics that reads camera frames: the pair is refused before sampling.
    learned = VideoPlanner(dataclasses.replace(config, inverse_dynamics='learned', idm_checkpoint='idm_default.pt'),
                           video_model=model)
    with pytest.raises(VideoPlannerError, match="'canonical' view but the learned inverse dynamics"):
        learned.plan(request)
    no_arm = VideoPlanner(PlannerConfig(inverse_dynamics='flow', **OPEN_GATES), video_model=model)
    with pytest.raises(VideoPlannerError, match='set the arm'):
        no_arm.plan(request)


def test_a_bare_model_name_is_a_shipped_model_and_a_path_stays_a_path(tmp_path, monkeypatch):
    from video_planner.evaluation.config import SuiteConfig
    from video_planner.planner import PlannerConfig
    from video_planner.resources import model_path
    config = PlannerConfig(checkpoint='canonical.pt', idm_checkpoint='idm_canonical.pt')
    assert config.checkpoint_path == model_path('canonical.pt') and config.checkpoint_path.is_file()
    assert config.idm_checkpoint_for('camera') == model_path('idm_canonical.pt')  # as configured, any view
    assert SuiteConfig(checkpoint='canonical.pt').video_checkpoint_path == model_path('canonical.pt')
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'canonical.pt').write_bytes(b'')  # a file of that name here wins
    assert PlannerConfig(checkpoint='canonical.pt').checkpoint_path.resolve() == tmp_path / 'canonical.pt'
    assert PlannerConfig(checkpoint='mine.pt').checkpoint_path.name == 'mine.pt'


def test_a_known_arm_plans_in_the_canonical_view_by_default_and_each_view_gets_its_inverse_dynamics(tmp_path):
    from video_planner.evaluation.config import SuiteConfig
    from video_planner.planner import PlannerConfig, VideoPlanner
    from video_planner.resources import model_path
    # An arm (name or arm YAML) says where the arm is in the frame: the shipped canonical pair. A bare URDF
    # or no arm: the camera-view pair.
    assert PlannerConfig(arm='panda').checkpoint_path == model_path('canonical.pt')
    assert PlannerConfig(arm='panda', urdf='/some/arm.urdf').checkpoint_path == model_path('default.pt')
    assert PlannerConfig().checkpoint_path == model_path('default.pt')
    planner = VideoPlanner(PlannerConfig(arm='kinova'))
    assert planner.view == 'canonical' and planner.gripper_source == 'estimate'
    assert planner.inverse_dynamics.config.view == 'canonical'
    # Frames from a camera-view planner (another node's video model) get the camera-view inverse dynamics.
    assert planner.inverse_dynamics_for('camera').config.view == 'camera'
    assert planner.gripper_source_for('camera') == 'height'
    pinned = VideoPlanner(PlannerConfig(arm='kinova', idm_checkpoint='idm_default.pt'))
    with pytest.raises(VideoPlannerError, match="frames are in the 'canonical' view but the learned inverse "
                                                "dynamics .*idm_default.pt.* reads 'camera' frames"):
        pinned.check_views()
    # The benchmark's arms are all known: it runs the canonical pair unless told otherwise.
    assert SuiteConfig().video_checkpoint_path == model_path('canonical.pt')
    assert SuiteConfig().idm_checkpoint_path == model_path('idm_canonical.pt')
    assert SuiteConfig(checkpoint='default.pt').idm_checkpoint_path == model_path('idm_default.pt')


@pytest.mark.parametrize('family, expected', [
    ('push', [1] * 8),                      # closed in the air before going down, never gripping the object
    ('lift', [0, 0, 0, 0, 1, 1, 1, 1]),     # open on the way down, closed at the object, carried up
])
def test_in_the_canonical_view_the_gripper_commands_are_read_from_the_drawn_gripper(family, expected):
    # The expert's own video of an arm never trained on, through the shipped canonical pair: the plan's
    # gripper commands are the inverse dynamics' reading of the drawn opening ('auto'), where the height
    # rule would close at the bottom of the push and grip the object it is meant to push.
    from video_planner.evaluation.methods import expert_video
    from video_planner.planner import PlannerConfig, VideoPlanner
    from video_planner.sim.arms import get_arm
    from video_planner.sim.tasks import sample_task
    from video_planner.sim.world import TabletopWorld
    planner = VideoPlanner(PlannerConfig(arm='kinova', checkpoint='canonical.pt', idm_checkpoint='idm_canonical.pt'))
    assert planner.gripper_source == 'estimate'
    with TabletopWorld('kinova', seed=1) as world:
        task = sample_task(get_arm('kinova'), family, np.random.default_rng(1))
        first = world.reset(task, seed=1)
        video = expert_video(world, task, first, planner.video_model.config.horizon + 1)
    views = [planner.in_model_view(o.rgb, o.camera, o.T_base_ee, o.gripper, o.joint_positions, o.depth_m, None)
             for o in video]
    assert [o.gripper for o in video[1:]] == expected
    plan = planner.frames_to_plan(task.instruction, np.stack([f for f, _ in views]), first.depth_m, first.camera,
                                  first.T_base_ee, first.joint_positions, views[0][1])
    assert plan.ok, plan.status
    assert plan.gripper[1:].tolist() == expected
    height = VideoPlanner(dataclasses.replace(planner.config, gripper_source='height'))
    assert height.gripper_source == 'height'
