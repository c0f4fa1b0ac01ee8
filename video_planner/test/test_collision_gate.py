"""The collision gate (planner/collision.py): a plan whose path drives the gripper through an object seen in
the depth image is refused with the reason; the path above the objects, the scripted expert's paths and a
path onto the object the instruction names pass. Real simulator frames, the shipped grounding network and
the arm's mask rendered from its URDF."""
import numpy as np
import pytest

from video_planner.errors import ConfigError
from video_planner.planner import PlannerConfig, VideoPlanner
from video_planner.embodiment.arm_mask import dilate
from video_planner.planner.collision import CollisionConfig, first_collision, obstacle_points
from video_planner.sim.arms import get_arm
from video_planner.sim.expert import ScriptedExpert
from video_planner.sim.segmentation import SEG_ARM, SEG_GRIPPER, SEG_OBJECT_BASE
from video_planner.sim.tasks import sample_task
from video_planner.sim.world import TabletopWorld


def scene(arm: str, family: str, seed: int):
    """(world, task, first observation, the names and positions of the objects other than target and pads)."""
    world = TabletopWorld(arm, seed=0, image_size=64)
    task = sample_task(get_arm(arm), family, np.random.default_rng(seed))
    obs = world.reset(task, seed=seed)
    positions = world.scene_state().positions
    others = {o.name: (positions[o.name], o) for o in task.objects
              if o.name not in (task.target, task.reference) and o.shape != 'pad'}
    return world, task, obs, others


def true_obstacles(obs, task, config: CollisionConfig, one_pixel: bool = False) -> np.ndarray:
    """Obstacles with the arm and the target left out by the simulator's own segmentation; `one_pixel`:
    the target by one of its pixels only (the whole object it belongs to goes with it)."""
    k = next(i for i, o in enumerate(task.objects) if o.name == task.target)
    arm = dilate(np.isin(obs.segmentation, (SEG_ARM, SEG_GRIPPER)), 1)
    target = obs.segmentation == SEG_OBJECT_BASE + k
    if one_pixel:
        v, u = np.argwhere(target)[len(np.argwhere(target)) // 2]
        target = np.zeros_like(target)
        target[v, u] = True
    return obstacle_points(obs.depth_m, obs.camera, arm, obs.T_base_ee[:3, 3], config, allowed=target)


def through(position: np.ndarray, z: float, half_span: float) -> tuple[np.ndarray, np.ndarray]:
    """A start and one waypoint crossing `position` sideways (along y) at height z."""
    a, b = position.copy(), position.copy()
    a[1] -= half_span
    b[1] += half_span
    a[2] = b[2] = z
    return a, b[None]


@pytest.mark.parametrize('arm', ['panda', 'so100'])
def test_a_path_through_an_object_collides_and_one_above_it_does_not(arm):
    world, task, obs, others = scene(arm, 'push', 3)
    world.close()
    s = get_arm(arm).scale
    config = CollisionConfig().scaled(s)
    obstacles = true_obstacles(obs, task, config)
    assert others, 'the scene needs an object besides the target'
    assert len(true_obstacles(obs, task, config, one_pixel=True)) == len(obstacles)  # one pixel names it whole
    for name, (position, obj) in others.items():
        top = position[2] + obj.half_extents[2]
        start, waypoints = through(position, 0.5 * top, 0.1 * s)
        hit = first_collision(start, waypoints, obstacles, config)
        assert hit is not None, f'the path through the {name} at half its height was not caught'
        assert hit.waypoint == 0 and np.linalg.norm(hit.obstacle[:2] - position[:2]) < obj.half_extents[0] * 2.5
        assert 'drives the gripper through an object' in hit.reason()
        start, waypoints = through(position, top + 0.01 * s, 0.1 * s)
        assert first_collision(start, waypoints, obstacles, config) is None, name


@pytest.mark.parametrize('arm', ['panda', 'so100', 'kinova'])
def test_the_scripted_expert_never_collides(arm):
    """The expert's paths (reach, push, lift, pick-and-place) touch only the named object: no false alarm."""
    world = TabletopWorld(arm, seed=0, image_size=64)
    config = CollisionConfig().scaled(get_arm(arm).scale)
    try:
        for family in ('reach', 'push', 'lift', 'pick_place'):
            for seed in range(3):
                task = sample_task(get_arm(arm), family, np.random.default_rng(seed))
                obs = world.reset(task, seed=seed)
                path = np.array([T[:3, 3] for T, _ in ScriptedExpert(world).commands(task, obs.T_base_ee)])
                hit = first_collision(obs.T_base_ee[:3, 3], path, true_obstacles(obs, task, config), config)
                assert hit is None, f'{arm} {family} seed {seed}: {hit.reason()}'
    finally:
        world.close()


@pytest.fixture(scope='module')
def planner():
    return VideoPlanner(PlannerConfig(arm='panda'))


def test_the_planner_refuses_a_path_through_another_object_and_not_onto_the_named_one(planner):
    """What the inverse-dynamics node runs: the arm's pixels from the URDF, the named object from the
    grounding network on the frame in the model's view."""
    world, task, obs, others = scene('panda', 'reach', 3)
    target = world.scene_state().positions[task.target]
    world.close()
    frame, ee_mask = planner.in_model_view(obs.rgb, obs.camera, obs.T_base_ee, obs.gripper, obs.joint_positions,
                                           obs.depth_m, obs.ee_mask)
    name, (position, obj) = next(iter(others.items()))

    def reason(points: list[np.ndarray], instruction: str = task.instruction, gripper: float = 1.0) -> str:
        poses = np.repeat(obs.T_base_ee[None], len(points) + 1, axis=0)
        poses[1:, :3, 3] = points
        return planner.collision_reason(instruction, frame, obs.depth_m, obs.camera, poses,
                                        obs.joint_positions, ee_mask, gripper)

    start, waypoints = through(position, position[2], 0.1)
    assert 'drives the gripper through an object' in reason([start, waypoints[0]]), name
    hover = target + [0, 0, 0.08]
    onto = target.copy()
    onto[2] += task.object(task.target).half_extents[2] - 0.004  # the expert's touch: 4 mm into the top face
    assert reason([hover, onto, hover]) == '', task.instruction
    assert reason([hover, target, hover]) == '', task.instruction  # down to its middle, as a grasp goes
    # Named by the instruction, the other object may be touched and the first one may not be driven into;
    # a graze of its top (the fingertips 4 mm into it) is not a collision.
    assert 'drives the gripper through an object' in reason([hover, target, hover], f'touch the {name}')
    graze = onto + [0, 0, planner.gripper_underside.lowest_m(closed=True)]
    assert reason([hover, graze, hover], f'touch the {name}') == ''
    # The gripper is the arm's own (its URDF's): a Panda's open fingers come down on either side of a
    # 4 cm object (a grasp's way down), its closed ones into it.
    assert reason([hover, target, hover], f'touch the {name}', gripper=0.0) == ''


def test_the_named_object_is_an_obstacle_until_the_plans_contact_with_it(planner):
    """A path that sweeps the gripper through the named object at its height on the way to a touch knocks it
    off its spot: refused when the sweep comes before the touch, as when the plan makes no contact at all."""
    world, task, obs, _ = scene('panda', 'reach', 3)
    target = world.scene_state().positions[task.target]
    world.close()
    frame, ee_mask = planner.in_model_view(obs.rgb, obs.camera, obs.T_base_ee, obs.gripper, obs.joint_positions,
                                           obs.depth_m, obs.ee_mask)
    start, (end,) = through(target, target[2], 0.1)
    hover = target + [0, 0, 0.08]
    onto = target + [0, 0, task.object(task.target).half_extents[2] - 0.004]
    poses = np.repeat(obs.T_base_ee[None], 6, axis=0)
    poses[1:, :3, 3] = [start, end, hover, onto, hover]

    def reason(touch_from: int) -> str:
        return planner.collision_reason(task.instruction, frame, obs.depth_m, obs.camera, poses,
                                        obs.joint_positions, ee_mask, 1.0, touch_from)
    assert "the path to waypoint 1 drives the gripper through the named object before the plan's contact" \
        in reason(touch_from=4)
    assert "named object" in reason(touch_from=6)   # no contact: an obstacle all along
    assert reason(touch_from=1) == ''               # the sweep is the contact (a push): allowed
    poses[1:3] = poses[3]                           # no sweep: over it, down onto it and up
    assert reason(touch_from=4) == ''


@pytest.mark.parametrize('contact, span, heights, gripper_now, expected', [
    ('touch', (3, 3), [0.2, 0.2, 0.1, 0.03, 0.1], 0.0, 3),    # the snapped contact
    ('push', (2, 4), [0.2, 0.1, 0.02, 0.02, 0.02], 1.0, 2),
    ('touch', None, [0.2, 0.2, 0.2, 0.2, 0.2], 1.0, 5),       # never near the object: never
    ('push', None, [0.2, 0.2, 0.09, 0.02, 0.1], 1.0, 2),      # drawn down near it from above, not snapped
    ('push', None, [0.2, 0.02, 0.02, 0.02, 0.1], 1.0, 5),     # swept in at its height: never
    ('grasp', None, [0.2, 0.2, 0.2, 0.2, 0.2], 1.0, 1),       # holding it (or a re-grasp, not snapped): anywhere
    ('', None, [0.2, 0.02, 0.02, 0.02, 0.2], 0.0, 1),         # no contact asked: anywhere
])
def test_where_a_plan_may_touch_the_named_object(contact, span, heights, gripper_now, expected):
    """Waypoints 2-4 lie over the object (top 4 cm above the table at z = 0), waypoints 0-1 10 cm off it."""
    from video_planner.planner.contact import ContactConfig, SeenObject, contact_start
    seen = SeenObject(centre_xy=np.array([0.5, 0.0]), top_z=0.04, table_z=0.0, radius_m=0.02)
    poses = np.repeat(np.eye(4)[None], 5, axis=0)
    poses[:, 0, 3] = [0.3, 0.4, 0.5, 0.5, 0.5]
    poses[:, 2, 3] = heights
    assert contact_start(contact, span, poses, gripper_now, seen, ContactConfig()) == expected


def test_what_the_gripper_covers_where_it_stands_is_not_an_obstacle(planner):
    """A surface under the gripper where it stands now is the gripper, its load or the arm's mask drawn
    short: rising out of it is no collision; coming down into it from above is."""
    world, task, obs, others = scene('panda', 'reach', 3)
    world.close()
    frame, ee_mask = planner.in_model_view(obs.rgb, obs.camera, obs.T_base_ee, obs.gripper, obs.joint_positions,
                                           obs.depth_m, obs.ee_mask)
    name, (position, _) = next(iter(others.items()))
    standing, above = obs.T_base_ee.copy(), obs.T_base_ee.copy()
    standing[:3, 3] = position
    above[:3, 3] = position + [0, 0, 0.1]

    def reason(poses: list[np.ndarray]) -> str:
        return planner.collision_reason(task.instruction, frame, obs.depth_m, obs.camera, np.stack(poses),
                                        obs.joint_positions, ee_mask, 1.0)
    assert reason([standing, above]) == '', name
    assert 'drives the gripper through an object' in reason([above, standing]), name


def test_no_depth_leaves_nothing_to_check(planner):
    world, task, obs, _ = scene('panda', 'push', 3)
    world.close()
    poses = np.repeat(obs.T_base_ee[None], 3, axis=0)
    poses[1:, 2, 3] = 0.0
    blind = np.full(obs.depth_m.shape, np.nan, np.float32)
    assert planner.collision_reason(task.instruction, obs.rgb, blind, obs.camera, poses, obs.joint_positions,
                                    obs.ee_mask, obs.gripper) == ''


@pytest.mark.parametrize('values, message', [({'collision_check': 'yes'}, 'collision_check must be true or false'),
                                             ({'route_over': 1}, 'route_over must be true or false'),
                                             ({'return_home': 'no'}, 'return_home must be true or false'),
                                             ({'gripper_radius_m': -0.01}, 'gripper_radius_m must be in')])
def test_bad_collision_settings_are_refused(values, message):
    with pytest.raises(ConfigError, match=message):
        PlannerConfig(**values)
