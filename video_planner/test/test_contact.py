"""Grasp snapping (planner/contact.py): a grasp drawn beside and above the named object is moved onto the
object as the depth image shows it, and then lifts it in the simulator; the same grasp executed as drawn
does not. Real simulator frames, the shipped grounding network, the arm's mask rendered from its URDF."""
import dataclasses
import json

import numpy as np
import pytest

from video_planner.errors import ConfigError
from video_planner.evaluation.executor import WaypointExecutor
from video_planner.planner import PlannerConfig, VideoPlanner
from video_planner.planner.contact import (ContactConfig, SeenObject, SeenPlace, grasp_index, keep_above_table,
                                           locate_object, push_span, release_index, snap_grasp, snap_place, snap_push,
                                           snap_touch, touch_index)
from video_planner.sim.arms import get_arm
from video_planner.sim.expert import ScriptedExpert
from video_planner.sim.segmentation import SEG_OBJECT_BASE
from video_planner.sim.tasks import DIRECTIONS, sample_task
from video_planner.sim.world import TabletopWorld


def task_dict(task) -> dict:
    """A task as the episode files store it."""
    return json.loads(json.dumps(dataclasses.asdict(task)))


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
    # Far from the object, or never closing: the plan is left as drawn.
    far = SeenObject(centre_xy=np.array([0.5, 0.2]), top_z=0.05, table_z=0.0)
    same, _, index = snap_grasp(poses, gripper, far, 0.0, config)
    assert index is None and same is poses
    assert snap_grasp(poses, np.array([0, 0, 0, 1], np.float32), seen, 0.0, config)[2] is None  # closes last


def test_a_grasp_closed_early_in_the_air_is_made_at_the_bottom_of_the_descent_after_it():
    seen = SeenObject(centre_xy=np.array([0.5, 0.1]), top_z=0.05, table_z=0.0)
    config = ContactConfig()
    drawn = straight_down([[0.3, 0.0, 0.3], [0.52, 0.12, 0.14], [0.52, 0.12, 0.09], [0.51, 0.11, 0.06],
                           [0.52, 0.12, 0.2]], np.eye(4))
    closed_early = np.array([0, 1, 1, 1, 1], np.float32)
    # An instruction that may ask for a touch instead (the grasp probe below 0.5): left as drawn.
    assert snap_grasp(drawn, closed_early, seen, 0.0, config)[2] is None
    out, g, i = snap_grasp(drawn, closed_early, seen, 0.0, config, sure=True)
    assert i == 3                                                                 # the bottom, not where it closed
    np.testing.assert_array_equal(g, [0, 0, 0, 1, 1])                             # open until there
    np.testing.assert_allclose(out[3, :3, 3], [0.5, 0.1, 0.03])
    np.testing.assert_allclose(out[2, :3, 3], [0.5, 0.1, 0.12])                   # the hover before it
    np.testing.assert_allclose(out[4, :3, 3], [0.5, 0.1, 0.2])                    # and straight up after
    # A descent that ends and rises again: the bottom is where it turned, not a later low point.
    twice = straight_down([[0.3, 0.0, 0.3], [0.52, 0.12, 0.14], [0.5, 0.1, 0.07], [0.5, 0.1, 0.2],
                           [0.3, 0.3, 0.02]], np.eye(4))
    assert snap_grasp(twice, closed_early, seen, 0.0, config, sure=True)[2] == 2


def test_a_gripper_closed_on_nothing_grasps_where_the_plan_opens_and_closes_it_again():
    seen = SeenObject(centre_xy=np.array([0.5, 0.1]), top_z=0.05, table_z=0.0, radius_m=0.02)
    config = ContactConfig()
    away = straight_down([[0.3, 0.0, 0.3], [0.52, 0.12, 0.15], [0.52, 0.12, 0.09], [0.52, 0.12, 0.25]], np.eye(4))
    regrasp = np.array([1, 0, 1, 1], np.float32)
    assert snap_grasp(away, regrasp, seen, 1.0, config)[2] is None              # not surely a grasp
    out, g, i = snap_grasp(away, regrasp, seen, 1.0, config, sure=True)
    assert i == 2 and g[1] == 0 and g[2] == 1
    np.testing.assert_allclose(out[2, :3, 3], [0.5, 0.1, 0.03])
    # The release the plan draws after it is the one that moves over the destination, not its opening first.
    pad = SeenPlace(centre_xy=np.array([0.3, 0.3]), surface_z=0.0)
    carry = straight_down([[0.3, 0.0, 0.3], [0.52, 0.12, 0.15], [0.52, 0.12, 0.09], [0.35, 0.3, 0.1],
                           [0.35, 0.3, 0.2]], np.eye(4))
    placed, j = snap_place(carry, np.array([1, 0, 1, 0, 0], np.float32), pad, 1.0, 0.03, config, grasp_at=2)
    assert j == 3
    np.testing.assert_allclose(placed[3, :2, 3], [0.3, 0.3])
    np.testing.assert_allclose(placed[1, :3, 3], carry[1, :3, 3])
    # Closed over the object (it may be held), or closed with no opening drawn: nothing moves.
    over = away.copy()
    over[0, :3, 3] = [0.5, 0.11, 0.08]
    assert snap_grasp(over, regrasp, seen, 1.0, config, sure=True)[2] is None
    assert snap_grasp(away, np.ones(4, np.float32), seen, 1.0, config, sure=True)[2] is None
    assert grasp_index(np.zeros(4), 0.0) is None
    assert grasp_index(np.array([1, 0, 0, 1]), 0.0) == 3  # the first value is the inverse dynamics' guess
    assert snap_grasp(away, regrasp, None, 1.0, config)[2] is None


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
            # All but one of its pixels hidden (a rim left over): a single pixel is not taken for the object.
            mask = obs.segmentation == SEG_OBJECT_BASE + k
            rim = np.zeros_like(mask)
            pixels = np.argwhere(mask)
            rim[tuple(pixels[np.argmin(np.linalg.norm(pixels - pixels.mean(axis=0), axis=1))])] = True
            config = ContactConfig().scaled(spec.scale)
            assert locate_object(obs.depth_m, obs.camera, mask, mask & ~rim, config) is None
            assert locate_object(obs.depth_m, obs.camera, mask, mask & ~rim,
                                 dataclasses.replace(config, min_blob_share=0.0)) is not None


@pytest.fixture(scope='module')
def planner():
    return VideoPlanner(PlannerConfig(arm='panda'))


def reset_and_read(planner, world, task, seed: int):
    """(first observation, the planner's reading of its scene), as the inverse-dynamics node reads it: in
    the model's view, the arm's pixels from its URDF."""
    obs = world.reset(task, seed=seed)
    frame, mask = planner.in_model_view(obs.rgb, obs.camera, obs.T_base_ee, obs.gripper, obs.joint_positions,
                                        obs.depth_m, obs.ee_mask)
    return obs, planner.scene_masks(task.instruction, frame, obs.depth_m, obs.camera, obs.joint_positions, mask,
                                    obs.gripper)


def drawn_grasp(world, task, obs, miss: np.ndarray):
    """The expert's lift as a plan of its keyframes, the grasp drawn `miss` off (sideways and up)."""
    keys = ScriptedExpert(world).keyframes(task, obs.T_base_ee)  # start, hover, down (open), close, lift
    points = [k.position + (miss if i in (2, 3) else 0) for i, k in enumerate(keys)]
    return straight_down(points, obs.T_base_ee), np.array([k.gripper for k in keys], np.float32)


def succeeds(world, obs, poses, gripper) -> bool:
    executor = WaypointExecutor(world)
    executor.reset(obs.gripper)
    executor.follow(poses[1:], gripper[1:], stop=world.success)
    return world.success()


def drawn_and_snapped(planner, tasks, draw, check=None) -> dict[str, int]:
    """How many of `tasks` (panda) succeed executing the plan `draw(world, task, obs)` returns, as drawn and
    with the planner's contact snapping; `check(task, world, scene)` looks at the planner's reading first."""
    count = {'drawn': 0, 'snapped': 0}
    with TabletopWorld('panda', seed=0, image_size=64) as world:
        for seed, task in enumerate(tasks):
            obs, scene = reset_and_read(planner, world, task, seed)
            if check is not None:
                check(task, world, scene)
            poses, gripper = draw(world, task, obs)
            snapped, g, _ = planner._snap_contacts(poses, gripper, scene, obs.gripper, obs.camera.T_base_camera[:3, 3])
            count['drawn'] += succeeds(world, obs, poses, gripper)
            world.reset(task, seed=seed)
            count['snapped'] += succeeds(world, obs, snapped, g)
    return count


def test_a_grasp_drawn_beside_and_above_the_object_lifts_it_once_snapped(planner):
    """What the inverse-dynamics node runs: the named object found by the grounding network in the frame
    of the model's view, the arm's pixels from its URDF."""
    miss = np.array([0.02, -0.015, 0.05])
    lifted = {'drawn': 0, 'snapped': 0}
    with TabletopWorld('panda', seed=0, image_size=64) as world:
        for seed in range(3):
            task = sample_task(get_arm('panda'), 'lift', np.random.default_rng(seed))
            obs, scene = reset_and_read(planner, world, task, seed)
            seen = locate_object(obs.depth_m, obs.camera, scene.heat, scene.ignore, planner.contact_config)
            poses, gripper = drawn_grasp(world, task, obs, miss)
            snapped, g, index = snap_grasp(poses, gripper, seen, obs.gripper, planner.contact_config)
            assert index == 3, task.instruction
            lifted['drawn'] += succeeds(world, obs, poses, gripper)
            world.reset(task, seed=seed)
            lifted['snapped'] += succeeds(world, obs, snapped, g)
    assert lifted == {'drawn': 0, 'snapped': 3}


def test_a_grasp_drawn_closing_in_the_air_above_the_object_lifts_it_once_snapped(planner):
    """The expert's lift with the gripper drawn closed a keyframe early, at the hover (a 64 px gripper's state
    blurs): as drawn it closes on air and presses onto the object; snapped, it closes at the bottom."""
    def closed_early(world, task, obs):
        poses, gripper = drawn_grasp(world, task, obs, np.zeros(3))   # start, hover, down (open), close, lift
        gripper[1:] = 1.0
        return poses, gripper
    tasks = [sample_task(get_arm('panda'), 'lift', np.random.default_rng(seed)) for seed in range(3)]
    assert drawn_and_snapped(planner, tasks, closed_early) == {'drawn': 0, 'snapped': 3}


def drawn_high_on_the_ray(world, task, obs, rise: float):
    """The expert's lift with its way down, grasp and lift drawn `rise` higher along the camera ray through
    them: a gripper the video draws on the object, read too high by the inverse dynamics (7 cm off sideways
    for 15 cm of height here)."""
    keys = ScriptedExpert(world).keyframes(task, obs.T_base_ee)  # start, hover, down (open), close, lift
    eye = obs.camera.T_base_camera[:3, 3]
    up = lambda p: eye + (p[2] + rise - eye[2]) / (p[2] - eye[2]) * (p - eye)  # noqa: E731
    points = [up(k.position) if i >= 2 else k.position for i, k in enumerate(keys)]
    return straight_down(points, obs.T_base_ee), np.array([k.gripper for k in keys], np.float32)


def test_a_grasp_drawn_on_the_object_but_read_high_is_snapped_as_the_camera_sees_it(planner):
    eye_of = lambda obs: obs.camera.T_base_camera[:3, 3]  # noqa: E731
    tasks = [sample_task(get_arm('panda'), 'lift', np.random.default_rng(seed)) for seed in range(3)]

    def draw(world, task, obs):
        poses, gripper = drawn_high_on_the_ray(world, task, obs, rise=0.15)
        centre = world.scene_state().positions[task.target]
        seen = SeenObject(centre[:2], centre[2] + task.object(task.target).half_extents[2], 0.0)
        assert np.linalg.norm(poses[3, :2, 3] - seen.centre_xy) > planner.contact_config.snap_radius_m  # off sideways
        assert snap_grasp(poses, gripper, seen, 0.0, planner.contact_config)[2] is None  # not a grasp of it ...
        assert snap_grasp(poses, gripper, seen, 0.0, planner.contact_config, eye_of(obs))[2] == 3  # ... as seen
        return poses, gripper
    assert drawn_and_snapped(planner, tasks, draw) == {'drawn': 0, 'snapped': 3}


def test_no_waypoint_after_the_first_goes_below_the_floor_over_the_table():
    config = ContactConfig()
    poses = straight_down([[0.4, 0.0, -0.01], [0.4, 0.0, 0.1], [0.5, 0.0, -0.03], [0.5, 0.0, 0.005],
                           [0.5, 0.0, 0.2]], np.eye(4))
    floored = keep_above_table(poses, 0.02, config)
    floor = 0.02 + config.floor_clearance_m
    np.testing.assert_allclose(floored[:, 2, 3], [-0.01, 0.1, floor, floor, 0.2])  # waypoint 0: where the arm is
    np.testing.assert_array_equal(floored[:, :2, 3], poses[:, :2, 3])
    assert keep_above_table(floored, 0.02, config) is floored


def test_a_grasp_drawn_under_the_table_lifts_once_kept_above_the_table_seen_in_depth(planner):
    """The expert's lift with its way down and grasp drawn 6 cm under the table top: executed as drawn, the
    fingers go through the table under the object and close on nothing (4 cm under, the simulator's 2 cm
    grasp reach is on the edge); kept above the table the planner reads in the depth image, they close on
    the object."""
    lifted = {'drawn': 0, 'kept above': 0}
    with TabletopWorld('panda', seed=0, image_size=64) as world:
        for seed in (0, 1, 3):
            task = sample_task(get_arm('panda'), 'lift', np.random.default_rng(seed))
            obs, scene = reset_and_read(planner, world, task, seed)
            assert abs(scene.table_z) < 0.005  # the simulator's table top is z = 0
            keys = ScriptedExpert(world).keyframes(task, obs.T_base_ee)  # start, hover, down (open), close, lift
            points = [k.position * ([1, 1, 1] if i not in (2, 3) else [1, 1, 0]) - [0, 0, 0.06 * (i in (2, 3))]
                      for i, k in enumerate(keys)]
            poses, gripper = straight_down(points, obs.T_base_ee), np.array([k.gripper for k in keys], np.float32)
            planned = planner._snap_contacts(poses, gripper, scene, obs.gripper)[0]  # as frames_to_plan reads it
            assert planned[1:, 2, 3].min() >= scene.table_z + planner.contact_config.floor_clearance_m - 1e-9
            lifted['drawn'] += succeeds(world, obs, poses, gripper)
            world.reset(task, seed=seed)
            lifted['kept above'] += succeeds(world, obs, keep_above_table(poses, scene.table_z, planner.contact_config),
                                             gripper)
    assert lifted == {'drawn': 0, 'kept above': 3}


def test_a_touch_or_a_push_keeps_the_gripper_closed_and_a_grasp_leaves_it_as_drawn(planner):
    """A reach or a push drawn with a gripper that opens and closes (high above the table: nothing to snap)
    keeps it closed from the first waypoint on; a lift's stays as drawn."""
    drawn = np.array([0, 0, 1, 0, 1], np.float32)
    with TabletopWorld('panda', seed=0, image_size=64) as world:
        for family, contact in (('reach', 'touch'), ('push', 'push'), ('lift', 'grasp')):
            task = sample_task(get_arm('panda'), family, np.random.default_rng(0))
            obs, scene = reset_and_read(planner, world, task, 0)
            assert scene.contact == contact, task.instruction
            poses = straight_down([obs.T_base_ee[:3, 3]] + [[0.45 + 0.02 * i, 0.1, 0.3] for i in range(4)],
                                  obs.T_base_ee)
            gripper = planner._snap_contacts(poses, drawn, scene, 0.0)[1]
            expected = drawn if contact == 'grasp' else np.array([0, 1, 1, 1, 1], np.float32)
            np.testing.assert_array_equal(gripper, expected, err_msg=task.instruction)


@pytest.mark.parametrize('name', ['snap_grasps', 'snap_places', 'snap_touches', 'snap_pushes'])
def test_bad_snap_setting_is_refused(name):
    with pytest.raises(ConfigError, match=f'{name} must be true or false'):
        PlannerConfig(**{name: 'on'})


@pytest.mark.parametrize('intent', ['grasp', 'place'])
def test_the_shipped_intents_are_what_their_command_fits_and_read_held_out_phrasings(intent):
    """Each probe refits to the shipped weights from the train phrasings; held-out phrasings (verbs it never
    saw) are read right, and the planner asks them before snapping."""
    from video_planner.planner.intent import FILLS_PER_PHRASING, Intent, fit, phrasings
    from video_planner.resources import model_path
    from video_planner.text import TextEncoder
    encoder = TextEncoder()
    train = phrasings('train', FILLS_PER_PHRASING, intent=intent)
    refit = fit(encoder.encode_batch([s for s, _ in train]), np.array([y for _, y in train]))
    shipped = Intent.load(model_path(f'{intent}_intent.npz'))
    np.testing.assert_allclose(refit.weights, shipped.weights, atol=1e-3)
    planner = VideoPlanner(PlannerConfig(arm='panda'), text_encoder=encoder)
    asks = planner.asks_for_grasp if intent == 'grasp' else planner.asks_for_place
    heldout = phrasings('heldout', 2, seed=3, intent=intent, every_family=True)
    assert np.mean([asks(s) == y for s, y in heldout]) >= 0.85
    assert asks('put the red cube on the blue pad')
    assert asks('pick up the green block') == (intent == 'grasp')
    assert not asks('touch the green block') and not asks('push the red cube left')


def test_the_contact_asked_is_the_likeliest_of_grasp_touch_and_push():
    from video_planner.planner.intent import most_probable_contact
    assert most_probable_contact({'grasp': 0.45, 'touch': 0.2, 'push': 0.1}) == 'grasp'   # none alone says yes
    assert most_probable_contact({'grasp': 0.6, 'touch': 0.1, 'push': 0.7}) == 'push'    # two say yes
    assert most_probable_contact({'grasp': 0.2, 'touch': 0.1, 'push': 0.25}) == ''        # none is likely
    planner = VideoPlanner(PlannerConfig(arm='panda'))
    # Held-out phrasings that no probe alone read as its contact (each below 0.5): no snap before.
    assert planner.contact_asked('go and poke the red cube') == 'touch'
    assert planner.contact_asked('bring the orange cylinder near the blue puck by pushing') == 'push'
    assert planner.contact_asked('touch the green block') == 'touch'
    assert not planner.asks_for_grasp('touch the green block')
    # A contact whose snapping is off is not snapped as another one.
    off = VideoPlanner(PlannerConfig(arm='panda', snap_grasps=False), text_encoder=planner.text_encoder)
    assert off.contact_intent('pick up the green block') == 'grasp'
    assert off.contact_asked('pick up the green block') == ''


def test_a_broken_intent_file_is_named(tmp_path):
    from video_planner.errors import VideoPlannerError
    from video_planner.planner.intent import Intent
    bad = tmp_path / 'place_intent.npz'
    bad.write_bytes(b'not a numpy file')
    with pytest.raises(VideoPlannerError, match='intent probe: cannot read .*place_intent.npz'):
        Intent.load(bad)
    intent = Intent(weights=np.ones(4), bias=0.0)
    with pytest.raises(VideoPlannerError, match='expected a 4-d sentence embedding'):
        intent.probability(np.ones(3))


def test_a_held_object_is_released_over_the_destination_and_nothing_after_goes_lower():
    place = SeenPlace(centre_xy=np.array([0.4, -0.2]), surface_z=0.004)
    config = ContactConfig()
    start, grasp, carry, release, away = ([0.5, 0.1, 0.2], [0.5, 0.1, 0.03], [0.45, -0.05, 0.15],
                                          [0.47, -0.1, 0.06], [0.4, -0.2, 0.01])
    poses = straight_down([start, grasp, carry, release, away], np.eye(4))
    gripper = np.array([0, 1, 1, 0, 0], np.float32)
    out, j = snap_place(poses, gripper, place, 0.0, 0.03, config)
    assert j == 3
    np.testing.assert_allclose(out[3, :3, 3], [0.4, -0.2, 0.004 + 0.03 + 0.01])   # the object 1 cm above it
    np.testing.assert_allclose(out[2, :3, 3], [0.4, -0.2, 0.15])                  # carried over it, drawn height
    assert out[4, 2, 3] == pytest.approx(out[3, 2, 3])                            # no lower after letting go
    np.testing.assert_allclose(out[:2], poses[:2])
    # Held from an earlier plan (the grasp's height unknown): let go at the approach height.
    held = snap_place(poses, np.array([1, 1, 1, 0, 0], np.float32), place, 1.0, None, config)
    assert held[1] == 3 and held[0][3, 2, 3] == pytest.approx(0.004 + config.approach_height_m + 0.01)
    # Never holding, never letting go, or no destination: as drawn.
    for args in ((np.zeros(5, np.float32), 0.0), (np.ones(5, np.float32), 1.0), (gripper, 0.0, 'none')):
        same, index = snap_place(poses, args[0], None if len(args) == 3 else place, args[1], None, config)
        assert index is None and same is poses
    assert release_index(np.array([1, 1, 0, 1]), 0) == 2 and release_index(np.ones(3), 0) is None


def test_destination_examples_name_the_reference_and_another_object_as_it():
    from video_planner.grounding.dataset import named_destinations
    from video_planner.sim.segmentation import object_segment
    task = task_dict(sample_task(get_arm('panda'), 'pick_place', np.random.default_rng(4), n_distractors=1))
    pairs = named_destinations(task)
    assert pairs[0] == (task['instruction'], object_segment(task, task['reference']))
    assert len(pairs) == 2 and pairs[1][0] != task['instruction']
    other = next(o for o in task['objects'] if o['name'] not in (task['target'], task['reference']))
    assert other['color'] in pairs[1][0] and pairs[1][1] == object_segment(task, other['name'])
    assert named_destinations(task_dict(sample_task(get_arm('panda'), 'lift', np.random.default_rng(4)))) == []


def drawn_place(world, task, obs, miss: np.ndarray):
    """The expert's pick-and-place as a plan of its keyframes, everything after the lift drawn `miss` off."""
    keys = ScriptedExpert(world).keyframes(task, obs.T_base_ee)  # ..., close, lift, over the pad, down, open, up
    lift = next(i for i, k in enumerate(keys) if i and k.gripper >= 0.5) + 1
    points = [k.position + (miss if i > lift else 0) for i, k in enumerate(keys)]
    return straight_down(points, obs.T_base_ee), np.array([k.gripper for k in keys], np.float32)


def test_a_place_drawn_beside_the_pad_lands_on_it_once_snapped(planner):
    """What the inverse-dynamics node runs with `snap_places` (on by default): the pad found by the
    destination grounding network in the frame of the model's view, the grasp and the release snapped."""
    planner = VideoPlanner(PlannerConfig(arm='panda', snap_places=True), text_encoder=planner.text_encoder)

    def found_the_pad(task, world, scene):
        pad = world.scene_state().positions[task.reference]
        assert scene.destination is not None, task.instruction
        assert np.linalg.norm(scene.destination.centre_xy - pad[:2]) < 0.02, (task.instruction, scene.destination)

    tasks = [sample_task(get_arm('panda'), 'pick_place', np.random.default_rng(seed)) for seed in range(3)]
    draw = lambda world, task, obs: drawn_place(world, task, obs, np.array([0.07, -0.05, 0.0]))  # noqa: E731
    assert drawn_and_snapped(planner, tasks, draw, found_the_pad) == {'drawn': 0, 'snapped': 3}


def test_a_touch_lands_on_the_top_from_above_with_the_gripper_closed_in_the_air():
    seen = SeenObject(centre_xy=np.array([0.5, 0.1]), top_z=0.05, table_z=0.0)
    config = ContactConfig()
    start, hover, touch, up = [0.3, 0.0, 0.3], [0.53, 0.12, 0.14], [0.52, 0.13, 0.03], [0.52, 0.12, 0.2]
    poses = straight_down([start, hover, touch, up], np.eye(4))
    out, g, i = snap_touch(poses, np.zeros(4, np.float32), seen, config)
    assert i == 2
    np.testing.assert_allclose(out[2, :3, 3], [0.5, 0.1, 0.05 - config.touch_depth_m])
    np.testing.assert_allclose(out[1, :3, 3], [0.5, 0.1, 0.14])      # the drawn hover, over the centre
    np.testing.assert_allclose(out[3, :3, 3], [0.5, 0.1, 0.2])       # straight up
    assert g.tolist() == [0, 1, 1, 0] and np.allclose(out[0], poses[0])
    # The lowest of the waypoints that come down near the object is the touch.
    assert touch_index(straight_down([start, touch, hover, up], np.eye(4)), seen, config) == 1
    # Nowhere near the object, or staying above the hover height: as drawn.
    for points in ([start, [0.6, 0.2, 0.05], up, up], [start, [0.5, 0.1, 0.13], up, up]):
        same, _, index = snap_touch(straight_down(points, np.eye(4)), np.zeros(4), seen, config)
        assert index is None
    assert snap_touch(poses, np.zeros(4), None, config)[2] is None


def drawn_touch(world, task, obs, miss: np.ndarray):
    """The expert's reach as a plan of its keyframes (start, hover closing, touch, up), the touch drawn `miss` off."""
    keys = ScriptedExpert(world).keyframes(task, obs.T_base_ee)
    points = [k.position + (miss if i == 2 else 0) for i, k in enumerate(keys)]
    return straight_down(points, obs.T_base_ee), np.array([k.gripper for k in keys], np.float32)


def test_a_touch_drawn_beside_and_below_the_top_succeeds_once_snapped(planner):
    """The reach a 64 px plan draws: the touch 1.4 cm aside and 3 cm below the top shoves the object away;
    snapped onto the top face (the object found by the grounding network in the model's view), it succeeds."""
    def reads_a_touch(task, world, scene):
        assert scene.contact == 'touch', task.instruction

    tasks = [sample_task(get_arm('panda'), 'reach', np.random.default_rng(seed)) for seed in range(3)]
    draw = lambda world, task, obs: drawn_touch(world, task, obs, np.array([0.01, 0.01, -0.03]))  # noqa: E731
    assert drawn_and_snapped(planner, tasks, draw, reads_a_touch) == {'drawn': 0, 'snapped': 3}


PUSHED = SeenObject(centre_xy=np.array([0.5, 0.0]), top_z=0.04, table_z=0.0, radius_m=0.02)
# A drawn push of PUSHED: comes down on its corner, slides 25 cm to the left (+y), rises.
LEFT_PUSH = [[0.3, 0.0, 0.3], [0.51, -0.05, 0.12], [0.51, -0.03, 0.015], [0.5, 0.1, 0.015], [0.5, 0.22, 0.015],
             [0.5, 0.22, 0.15]]


def test_a_drawn_push_is_redrawn_through_the_object_in_its_direction_and_length_within_limits():
    seen, config, points = PUSHED, ContactConfig(), LEFT_PUSH
    poses = straight_down(points, np.eye(4))
    assert push_span(poses, seen, config) == (2, 4)
    out, g, i = snap_push(poses, np.zeros(6, np.float32), seen, config)
    assert i == 2
    u = np.array([-0.01, 0.25]) / np.linalg.norm([-0.01, 0.25])
    behind = seen.centre_xy - u * (0.02 + config.push_gap_m)
    np.testing.assert_allclose(out[2, :3, 3], [*behind, 0.02])                           # behind, half its height
    np.testing.assert_allclose(out[4, :2, 3], behind + u * (config.push_max_m + config.push_gap_m))  # at most push_max_m
    np.testing.assert_allclose(out[3, :2, 3], (out[2, :2, 3] + out[4, :2, 3]) / 2)
    np.testing.assert_allclose(out[1, :3, 3], [*behind, 0.12])                           # comes down from above it
    np.testing.assert_allclose(out[5, :3, 3], [*out[4, :2, 3], 0.15])                    # rises straight up
    assert g.tolist() == [0, 1, 1, 1, 1, 0]
    # Coming down at the first waypoint: it hovers there and pushes from the next.
    at_once, _, i = snap_push(poses[1:], np.zeros(5), seen, config)
    assert i == 2
    np.testing.assert_allclose(at_once[1, :3, 3], [*behind, 0.04 + config.approach_height_m])
    # A press (no slide), a push drawn away from the object, or one coming down at the first waypoint with
    # one waypoint low (nowhere to hover before it): as drawn.
    press = straight_down([points[0], points[1], [0.5, 0.0, 0.02], [0.5, 0.01, 0.02], points[5], points[5]], np.eye(4))
    far = poses.copy()
    far[:, 0, 3] += 0.2
    for plan in (press, far, poses[[0, 2, 3, 5]]):
        assert snap_push(plan, np.zeros(len(plan)), seen, config)[2] is None


def test_a_push_driven_along_the_table_into_the_object_or_a_dip_at_it_the_way_asked_is_redrawn():
    """A plan low along the table up to the object, rising there, drove into it: its push starts a waypoint
    earlier. A plan that dips once beside the object is a push only when the instruction says which way."""
    seen, config = PUSHED, ContactConfig()
    driven = straight_down([[0.3, 0.0, 0.3], [0.35, 0.0, 0.15], [0.38, 0.0, 0.015], [0.44, 0.0, 0.015],
                            [0.44, 0.0, 0.15], [0.44, 0.0, 0.2]], np.eye(4))
    assert push_span(driven, seen, config) == (2, 3)
    out, g, i = snap_push(driven, np.zeros(6, np.float32), seen, config)
    assert i == 2 and g.tolist() == [0, 1, 1, 1, 0, 0]
    np.testing.assert_allclose(out[2, :3, 3], [0.5 - 0.02 - config.push_gap_m, 0.0, 0.02])  # behind it, along +x
    np.testing.assert_allclose(out[3, :2, 3], [0.5 - 0.02 + 0.06, 0.0])   # as far as drawn (6 cm)
    dip = straight_down([[0.3, 0.0, 0.3], [0.4, 0.0, 0.15], [0.46, 0.0, 0.15], [0.47, 0.0, 0.02],
                         [0.47, 0.0, 0.15], [0.47, 0.0, 0.2]], np.eye(4))
    assert push_span(dip, seen, config) is None and snap_push(dip, np.zeros(6), seen, config)[2] is None
    assert push_span(dip, seen, config, way_known=True) == (3, 4)
    out, _, i = snap_push(dip, np.zeros(6), seen, config, along=np.array([0.0, 1.0]))
    assert i == 3
    np.testing.assert_allclose(out[3, :3, 3], [0.5, -0.02 - config.push_gap_m, 0.02])       # behind it, along +y


def test_a_push_goes_the_asked_way_and_no_further_than_the_room_ahead():
    seen, config, points = PUSHED, ContactConfig(), LEFT_PUSH
    poses = straight_down(points, np.eye(4))  # drawn to the left (+y); the instruction asks forward (+x)
    out, g, i = snap_push(poses, np.zeros(6, np.float32), seen, config, along=np.array([2.0, 0.0]))
    behind = seen.centre_xy - np.array([0.02 + config.push_gap_m, 0.0])
    np.testing.assert_allclose(out[2, :3, 3], [*behind, 0.02])
    np.testing.assert_allclose(out[4, :2, 3], behind + [config.push_max_m + config.push_gap_m, 0.0])
    # Toward an object 5.5 cm ahead: the push stops short of it, but never below the shortest push.
    near = snap_push(poses, np.zeros(6), seen, config, along=np.array([1.0, 0.0]), room_m=0.055)[0]
    np.testing.assert_allclose(near[4, :2, 3], behind + [0.055 + config.push_gap_m, 0.0])
    short = snap_push(poses, np.zeros(6), seen, config, along=np.array([1.0, 0.0]), room_m=0.01)[0]
    np.testing.assert_allclose(short[4, :2, 3], behind + [config.push_min_m + config.push_gap_m, 0.0])
    # A press drawn at the object becomes the asked push; with no way asked it stays a press.
    press = straight_down([points[0], points[1], [0.5, 0.0, 0.02], [0.5, 0.01, 0.02], points[5], points[5]], np.eye(4))
    assert snap_push(press, np.zeros(6), seen, config)[2] is None
    assert snap_push(press, np.zeros(6), seen, config, along=np.array([0.0, -1.0]))[2] == 2


def test_the_shipped_push_way_probe_is_what_its_command_fits_and_reads_held_out_phrasings():
    from video_planner.planner.intent import FILLS_PER_PHRASING, PushWay, fit_way, way_phrasings
    from video_planner.resources import model_path
    from video_planner.text import TextEncoder
    encoder = TextEncoder()
    train = way_phrasings('train', 3 * FILLS_PER_PHRASING)
    refit = fit_way(encoder.encode_batch([s for s, _ in train]), [w for _, w in train])
    shipped = PushWay.load(model_path('push_way.npz'))
    for a, b in zip(refit.probes, shipped.probes):
        np.testing.assert_allclose(a.weights, b.weights, atol=1e-3)
    heldout = way_phrasings('heldout', 6, seed=3)
    X = encoder.encode_batch([s for s, _ in heldout])
    assert np.mean([shipped.way(x) == w for x, (_, w) in zip(X, heldout)]) >= 0.8
    assert shipped.way(encoder.encode('push the red cube to the left')) == 'left'
    assert shipped.way(encoder.encode('slide the blue can toward the green block')) == 'toward'


def test_a_broken_push_way_file_is_named(tmp_path):
    from video_planner.errors import VideoPlannerError
    from video_planner.planner.intent import PushWay
    bad = tmp_path / 'push_way.npz'
    np.savez(bad, weights=np.zeros((3, 4)), bias=np.zeros(3))
    with pytest.raises(VideoPlannerError, match=r'expected 5 classes'):
        PushWay.load(bad)


def drawn_push(world, task, obs, overshoot: float, aside: np.ndarray):
    """The expert's push as a plan of its keyframes (start, hover behind, down, through, up), drawn as a 64 px
    plan draws it: coming down `aside` and sliding `overshoot` further than the expert."""
    keys = ScriptedExpert(world).keyframes(task, obs.T_base_ee)
    points = [k.position.copy() for k in keys]
    u = (points[3] - points[2])[:2] / np.linalg.norm((points[3] - points[2])[:2])
    points[2][:2] += aside
    points[3][:2] += u * overshoot
    points[4][:2] = points[3][:2]
    return straight_down(points, obs.T_base_ee), np.array([k.gripper for k in keys], np.float32)


def test_a_push_drawn_too_far_succeeds_once_snapped(planner):
    """Pushes in a direction (toward an object, the grounding network finds the reference instead of the
    target in a third of the sentences: then there is nothing to snap to)."""
    planner = VideoPlanner(PlannerConfig(arm='panda', snap_pushes=True), text_encoder=planner.text_encoder)

    def reads_a_push(task, world, scene):
        assert scene.contact == 'push', task.instruction

    tasks = (sample_task(get_arm('panda'), 'push', np.random.default_rng(seed)) for seed in range(20))
    tasks = [t for t in tasks if t.direction is not None][:3]
    draw = lambda world, task, obs: drawn_push(world, task, obs, 0.08, np.array([0.01, -0.01]))  # noqa: E731
    assert drawn_and_snapped(planner, tasks, draw, reads_a_push) == {'drawn': 0, 'snapped': 3}


def test_a_push_drawn_the_wrong_way_goes_the_asked_way_once_snapped(planner):
    """The plan comes down behind the object and slides away from it, the wrong way: the direction the
    instruction names (read by the push-way probe) pushes it right."""
    planner = VideoPlanner(PlannerConfig(arm='panda', snap_pushes=True), text_encoder=planner.text_encoder)

    def reads_the_way(task, world, scene):
        assert scene.contact == 'push', task.instruction
        np.testing.assert_allclose(scene.push_along, DIRECTIONS[task.direction], err_msg=task.instruction)

    def backwards(world, task, obs):
        poses, gripper = drawn_push(world, task, obs, 0.0, np.zeros(2))
        poses[3, :2, 3] = 2 * poses[2, :2, 3] - poses[3, :2, 3]
        poses[4, :2, 3] = poses[3, :2, 3]
        return poses, gripper

    tasks = (sample_task(get_arm('panda'), 'push', np.random.default_rng(seed)) for seed in range(20, 60))
    tasks = [t for t in tasks if t.direction is not None][:3]
    assert drawn_and_snapped(planner, tasks, backwards, reads_the_way) == {'drawn': 0, 'snapped': 3}


def test_a_push_toward_an_object_points_at_it_and_stops_short_of_it(planner):
    seen = SeenObject(centre_xy=np.array([0.5, 0.0]), top_z=0.04, table_z=0.0, radius_m=0.02)
    reference = SeenObject(centre_xy=np.array([0.5, 0.12]), top_z=0.04, table_z=0.0, radius_m=0.02)
    along, room = planner.push_way('toward', seen, reference)
    np.testing.assert_allclose(along, [0.0, 1.0])
    assert room == pytest.approx(0.12 - 0.04 - planner.contact_config.push_clearance_m)
    assert planner.push_way('toward', seen, None) == (None, None)          # no reference found: as drawn
    assert planner.push_way('toward', seen, seen) == (None, None)          # the object itself
    np.testing.assert_allclose(planner.push_way('backward', seen, None)[0], [-1.0, 0.0])


def test_a_grounding_role_is_checked_and_an_object_network_is_refused_as_the_destination():
    from video_planner.errors import VideoPlannerError
    from video_planner.grounding.config import GroundingConfig
    from video_planner.resources import model_path
    with pytest.raises(ConfigError, match="role: expected one of \\('object', 'destination'\\)"):
        GroundingConfig(role='where')
    wrong = VideoPlanner(PlannerConfig(arm='panda', snap_places=True,
                                       destination_checkpoint=str(model_path('grounding_default.pt'))))
    with pytest.raises(VideoPlannerError, match="finds the 'object', not the destination"):
        _ = wrong.destination_locator
