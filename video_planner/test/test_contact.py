"""Grasp snapping (planner/contact.py): a grasp drawn beside and above the named object is moved onto the
object as the depth image shows it, and then lifts it in the simulator; the same grasp executed as drawn
does not. Real simulator frames, the shipped grounding network, the arm's mask rendered from its URDF."""
import numpy as np
import pytest

from video_planner.errors import ConfigError
from video_planner.evaluation.executor import WaypointExecutor
from video_planner.planner import PlannerConfig, VideoPlanner
from video_planner.planner.contact import ContactConfig, SeenObject, grasp_index, locate_object, snap_grasp
from video_planner.sim.arms import get_arm
from video_planner.sim.expert import ScriptedExpert
from video_planner.sim.segmentation import SEG_OBJECT_BASE
from video_planner.sim.tasks import sample_task
from video_planner.sim.world import TabletopWorld


def straight_down(points: list, T0: np.ndarray) -> np.ndarray:
    poses = np.repeat(T0[None], len(points), axis=0)
    poses[:, :3, 3] = points
    return poses


def test_only_a_grasp_near_the_object_moves_and_the_motion_after_it_follows():
    seen = SeenObject(centre_xy=np.array([0.5, 0.1]), top_z=0.05, table_z=0.0)
    config = ContactConfig()
    start, hover, grasp, lifted = [0.3, 0.0, 0.3], [0.52, 0.12, 0.15], [0.52, 0.12, 0.09], [0.52, 0.12, 0.25]
    poses = straight_down([start, hover, grasp, lifted], np.eye(4))
    gripper = np.array([0, 0, 1, 1], np.float32)
    out, g, i = snap_grasp(poses, gripper, seen, 0.0, config)
    assert i == 2
    np.testing.assert_allclose(out[2, :3, 3], [0.5, 0.1, 0.03])                  # 2 cm below the top
    np.testing.assert_allclose(out[1, :3, 3], [0.5, 0.1, 0.15])                  # hovers above it, open
    np.testing.assert_allclose(out[3, :3, 3], [0.5, 0.1, 0.25])                  # lifts straight up
    carry = straight_down([start, hover, grasp, [0.3, 0.3, 0.2]], np.eye(4))
    np.testing.assert_allclose(snap_grasp(carry, gripper, seen, 0.0, config)[0][3, :3, 3], [0.3, 0.3, 0.2])
    np.testing.assert_allclose(out[0], poses[0])
    assert g[1] == 0 and g[2] == 1
    # A flat object: the tool closes at its middle, not below it.
    flat = SeenObject(centre_xy=np.array([0.5, 0.1]), top_z=0.024, table_z=0.0)
    assert snap_grasp(poses, gripper, flat, 0.0, config)[0][2, 2, 3] == pytest.approx(0.012)
    # Far from the object, already holding something, or never closing: the plan is left as drawn.
    far = SeenObject(centre_xy=np.array([0.5, 0.2]), top_z=0.05, table_z=0.0)
    for args in ((far, 0.0), (seen, 1.0)):
        same, _, index = snap_grasp(poses, gripper, *args, config)
        assert index is None and same is poses
    # Closed in the air above the object and then lowered onto it: a touch (reach) or a push, not a grasp.
    touch = straight_down([start, [0.52, 0.12, 0.12], [0.52, 0.12, 0.05], [0.52, 0.12, 0.12]], np.eye(4))
    assert snap_grasp(touch, np.array([0, 1, 1, 1], np.float32), seen, 0.0, config)[2] is None
    assert snap_grasp(poses, np.array([0, 0, 0, 1], np.float32), seen, 0.0, config)[2] is None  # closes last
    assert grasp_index(np.zeros(4), 0.0) is None
    assert grasp_index(np.array([1, 0, 0, 1]), 0.0) == 3  # the first value is the inverse dynamics' guess
    assert snap_grasp(poses, gripper, None, 0.0, config)[2] is None


@pytest.mark.parametrize('arm', ['panda', 'so100', 'kinova'])
def test_the_object_is_found_where_it_stands(arm):
    """From the depth image and the simulator's own mask of the object: centre and top within a centimetre
    (x the arm's scale)."""
    spec = get_arm(arm)
    with TabletopWorld(arm, seed=0, image_size=64) as world:
        for seed in range(3):
            task = sample_task(spec, 'lift', np.random.default_rng(seed))
            obs = world.reset(task, seed=seed)
            k = next(i for i, o in enumerate(task.objects) if o.name == task.target)
            truth = world.scene_state().positions[task.target]
            top = truth[2] + task.object(task.target).half_extents[2]
            seen = locate_object(obs.depth_m, obs.camera, obs.segmentation == SEG_OBJECT_BASE + k, None,
                                 ContactConfig().scaled(spec.scale))
            assert seen is not None
            assert np.linalg.norm(seen.centre_xy - truth[:2]) < 0.01 * spec.scale, (seed, seen, truth)
            assert abs(seen.top_z - top) < 0.01 * spec.scale and abs(seen.table_z) < 0.005


@pytest.fixture(scope='module')
def planner():
    return VideoPlanner(PlannerConfig(arm='panda'))


def drawn_grasp(world, task, obs, miss: np.ndarray):
    """The expert's lift as a plan of its keyframes, the grasp drawn `miss` off (sideways and up)."""
    keys = ScriptedExpert(world).keyframes(task, obs.T_base_ee)  # start, hover, down (open), close, lift
    points = [k.position + (miss if i in (2, 3) else 0) for i, k in enumerate(keys)]
    return straight_down(points, obs.T_base_ee), np.array([k.gripper for k in keys], np.float32)


def lifts(world, obs, poses, gripper) -> bool:
    executor = WaypointExecutor(world)
    executor.reset(obs.gripper)
    executor.follow(poses[1:], gripper[1:], stop=world.success)
    return world.success()


def test_a_grasp_drawn_beside_and_above_the_object_lifts_it_once_snapped(planner):
    """What the inverse-dynamics node runs: the named object found by the grounding network in the frame
    of the model's view, the arm's pixels from its URDF."""
    miss = np.array([0.02, -0.015, 0.05])
    lifted = {'drawn': 0, 'snapped': 0}
    with TabletopWorld('panda', seed=0, image_size=64) as world:
        for seed in range(3):
            task = sample_task(get_arm('panda'), 'lift', np.random.default_rng(seed))
            obs = world.reset(task, seed=seed)
            frame, mask = planner.in_model_view(obs.rgb, obs.camera, obs.T_base_ee, obs.gripper,
                                                obs.joint_positions, obs.depth_m, obs.ee_mask)
            scene = planner.scene_masks(task.instruction, frame, obs.depth_m, obs.camera, obs.joint_positions,
                                        mask, obs.gripper)
            seen = locate_object(obs.depth_m, obs.camera, scene.heat, scene.ignore, planner.contact_config)
            poses, gripper = drawn_grasp(world, task, obs, miss)
            snapped, g, index = snap_grasp(poses, gripper, seen, obs.gripper, planner.contact_config)
            assert index == 3, task.instruction
            lifted['drawn'] += lifts(world, obs, poses, gripper)
            world.reset(task, seed=seed)
            lifted['snapped'] += lifts(world, obs, snapped, g)
    assert lifted == {'drawn': 0, 'snapped': 3}


def test_bad_snap_setting_is_refused():
    with pytest.raises(ConfigError, match='snap_grasps must be true or false'):
        PlannerConfig(snap_grasps='on')


def test_the_shipped_grasp_intent_is_what_its_command_fits_and_tells_grasps_from_touches():
    """The probe refits to the shipped weights from the train phrasings; held-out phrasings (verbs it never
    saw) are read right, and the planner asks it before snapping."""
    from video_planner.planner.grasp_intent import FILLS_PER_PHRASING, GraspIntent, accuracy, fit, phrasings
    from video_planner.resources import model_path
    from video_planner.text import TextEncoder
    encoder = TextEncoder()
    train = phrasings('train', FILLS_PER_PHRASING)
    refit = fit(encoder.encode_batch([s for s, _ in train]), np.array([y for _, y in train]))
    shipped = GraspIntent.load(model_path('grasp_intent.npz'))
    np.testing.assert_allclose(refit.weights, shipped.weights, atol=1e-3)
    heldout = phrasings('heldout', 4, seed=3)
    assert accuracy(shipped, encoder.encode_batch([s for s, _ in heldout]), np.array([y for _, y in heldout])) >= 0.8
    planner = VideoPlanner(PlannerConfig(arm='panda'), text_encoder=encoder)
    assert planner.asks_for_grasp('pick up the green block')
    assert planner.asks_for_grasp('put the red cube on the blue pad')
    assert not planner.asks_for_grasp('touch the green block') and not planner.asks_for_grasp('push the red cube left')


def test_a_broken_grasp_intent_file_is_named(tmp_path):
    from video_planner.errors import VideoPlannerError
    from video_planner.planner.grasp_intent import GraspIntent
    bad = tmp_path / 'grasp_intent.npz'
    bad.write_bytes(b'not a numpy file')
    with pytest.raises(VideoPlannerError, match='grasp intent: cannot read .*grasp_intent.npz'):
        GraspIntent.load(bad)
    intent = GraspIntent(weights=np.ones(4), bias=0.0)
    with pytest.raises(VideoPlannerError, match='expected a 4-d sentence embedding'):
        intent.probability(np.ones(3))
