"""The gripper seen from below (sim/gripper_underside.py) and the contact's yaw (planner/contact_yaw.py):
a contact that would put a finger on the object beside the named one turns away from it."""
import numpy as np
import pytest

from video_planner.sim.gripper_underside import NOTHING, GripperUnderside, measure_underside
from video_planner.planner.contact_yaw import contact_yaw, turn_contact, turned
from video_planner.sim.arms import get_arm


def bar_gripper(half_length_m: float = 0.05, half_width_m: float = 0.01, cell_m: float = 0.005) -> GripperUnderside:
    """A gripper whose fingers span +-half_length along the tool's x axis, reaching 1 cm below the TCP."""
    n = 2 * int(round(0.08 / cell_m)) + 1
    k = (np.arange(n) - n // 2) * cell_m
    xs, ys = np.meshgrid(k, k)
    reach = np.where((np.abs(xs) <= half_length_m) & (np.abs(ys) <= half_width_m), 0.01, NOTHING)
    return GripperUnderside(np.stack([reach, reach]).astype(np.float32), cell_m)


def down(position) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = np.diag([1.0, -1.0, -1.0])   # tool z down, tool x along base x
    T[:3, 3] = position
    return T


def grasp_plan(at=(0.5, 0.0)) -> np.ndarray:
    x, y = at
    return np.stack([down((0.4, 0.1, 0.2)), down((x, y, 0.1)), down((x, y, 0.02)), down((x, y, 0.1))])


def column(x: float, y: float, top: float = 0.04) -> np.ndarray:
    """Depth points on the top of an object standing at (x, y)."""
    g = np.linspace(-0.01, 0.01, 5)
    return np.array([[x + a, y + b, top] for a in g for b in g])


def test_a_contact_clear_of_everything_keeps_its_yaw():
    plan = grasp_plan()
    far = column(0.5, 0.2)
    assert contact_yaw(plan, (2, 2), far, bar_gripper(), 0.004) == 0.0
    assert turn_contact(plan, (2, 2), far, bar_gripper(), 0.004) is plan


def test_a_finger_over_the_neighbour_turns_the_contact_and_what_follows_it():
    plan = grasp_plan()
    beside = column(0.555, 0.0)        # 5.5 cm along the fingers' line from the grasp
    yaw = contact_yaw(plan, (2, 2), beside, bar_gripper(), 0.004)
    assert abs(np.degrees(yaw)) == pytest.approx(30), np.degrees(yaw)   # the smallest turn that clears it
    out = turn_contact(plan, (2, 2), beside, bar_gripper(), 0.004)
    assert np.allclose(out[0], plan[0])                       # where the arm is now does not move
    assert np.allclose(out[:, :3, 3], plan[:, :3, 3])          # only the yaw changes
    for T in out[1:]:                                          # the hover, the grasp and the lift turn alike
        assert np.allclose(T[:3, 2], [0, 0, -1])               # still pointing down
        assert abs(T[0, 0]) < 0.87                             # fingers off the base x axis
    # Turned, the fingers clear the neighbour; drawn, they land on it.
    from video_planner.planner.contact_yaw import room
    assert room(out[1:], beside, bar_gripper(), 0.004) >= 0 > room(plan[1:], beside, bar_gripper(), 0.004)


def test_boxed_in_the_contact_keeps_its_yaw():
    """Neighbours all round, no yaw has more room than the drawn one: nothing turns for nothing."""
    plan = grasp_plan()
    ring = np.vstack([column(0.5 + 0.055 * np.cos(a), 0.055 * np.sin(a)) for a in np.radians(np.arange(0, 360, 15))])
    assert contact_yaw(plan, (2, 2), ring, bar_gripper(), 0.004) == 0.0


def test_turned_keeps_positions_and_turns_about_the_vertical():
    T = down((0.3, -0.2, 0.05))
    R = turned(T, np.radians(90))
    assert np.allclose(R[:3, 3], T[:3, 3])
    assert np.allclose(R[:3, 0], [0, 1, 0], atol=1e-9) and np.allclose(R[:3, 2], [0, 0, -1])


@pytest.mark.parametrize('arm', ['panda', 'z1'])
def test_an_arms_gripper_is_measured_from_its_urdf(arm):
    """Open fingers cover more of the table than closed ones (near the TCP's height: the hand above them is
    the same); the fingertips lie just below the TCP."""
    u = measure_underside(get_arm(arm))
    assert u.footprint_radius_m(closed=False) >= u.footprint_radius_m(closed=True) > 0.02
    def spread(state: int) -> float:   # the fingers' farthest spot from the TCP, sideways
        rows, cols = np.nonzero(u.reach_m[state] > -0.02)
        return float(np.hypot(rows - u.half, cols - u.half).max() * u.cell_m)
    assert (u.reach_m[0] > -0.02).sum() > (u.reach_m[1] > -0.02).sum()
    if arm == 'panda':   # two moving fingers (a Z1 swings one jaw against a fixed one)
        assert spread(0) > spread(1) + 0.02
    assert -0.01 < u.lowest_m(closed=True) < 0.05
    wider = u.grown(0.01)
    assert (wider.reach_m > NOTHING).sum() > (u.reach_m > NOTHING).sum()
    assert u.reach_at(np.array([[1.0, 1.0]]), np.array([False]))[0] == NOTHING   # off the grid: nothing there


def test_nothing_reachable_keeps_the_drawn_yaw():
    plan = grasp_plan()
    beside = column(0.555, 0.0)
    assert contact_yaw(plan, (2, 2), beside, bar_gripper(), 0.004, reachable=lambda T: False) == 0.0


def test_a_z1_grasp_beside_another_object_turns_clear_of_it_in_the_simulator():
    """The Z1's jaw stands 6 cm to one side of its TCP. Grasps drawn at its home yaw onto an object with a
    neighbour along the jaw: the obstacles from the depth image and the gripper from the URDF turn each one
    to a yaw the arm reaches, where the simulator's own geometry has the fingers off the neighbour."""
    from video_planner.embodiment.arm_mask import dilate
    from video_planner.planner.collision import CollisionConfig, obstacle_points
    from video_planner.sim.segmentation import SEG_ARM, SEG_GRIPPER, SEG_OBJECT_BASE
    from video_planner.sim.tasks import sample_task
    from video_planner.sim.world import TabletopWorld
    spec = get_arm('z1')
    s = spec.scale
    config = CollisionConfig().scaled(s)
    underside = measure_underside(spec).grown(0.01 * s)
    world = TabletopWorld('z1', seed=0, image_size=64)
    hits, turned_clear = 0, 0
    try:
        for seed in (8, 12, 19, 36, 37, 41):
            task = sample_task(spec, 'lift', np.random.default_rng(seed))
            obs = world.reset(task, seed=seed)
            centre = world.scene_state().positions[task.target]
            top = centre[2] + task.object(task.target).half_extents[2]

            def at(z: float) -> np.ndarray:
                T = obs.T_base_ee.copy()
                T[:3, 3] = (centre[0], centre[1], z)
                return T
            plan = np.stack([obs.T_base_ee, at(top + 0.07 * s), at(top - 0.02 * s), at(top + 0.07 * s)])

            def clearance(T: np.ndarray) -> float:   # the simulator's: fingers open or closed, to any other object
                return min(world.gripper_clearance(T, task.target, g) for g in (0.0, 1.0))

            def reachable(T: np.ndarray) -> bool:
                return world.ik.solve(T, obs.joint_positions, q_posture=world.home_q).success
            if clearance(plan[2]) >= 0.0:
                continue
            hits += 1
            k = next(i for i, o in enumerate(task.objects) if o.name == task.target)
            arm = dilate(np.isin(obs.segmentation, (SEG_ARM, SEG_GRIPPER)), 1)
            obstacles = obstacle_points(obs.depth_m, obs.camera, arm, obs.T_base_ee[:3, 3], config,
                                        allowed=obs.segmentation == SEG_OBJECT_BASE + k)
            out = turn_contact(plan, (2, 2), obstacles, underside, config.path_step_m, reachable)
            if out is not plan:
                assert reachable(out[2]), seed
                assert clearance(out[2]) > clearance(plan[2]), seed
                turned_clear += clearance(out[2]) > 0.0
    finally:
        world.close()
    assert hits >= 4 and turned_clear >= 3, (hits, turned_clear)
