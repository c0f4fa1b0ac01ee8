"""Routing a path over what it would drive the gripper through (planner/detour.py): a sweep through an object
on the way to a waypoint is lifted just over it, and the simulated arm then leaves the object where it was,
while the straight path knocks it; a waypoint inside an object, or a push's sweep, is not routed."""
import numpy as np
import pytest

from video_planner.evaluation.executor import ExecutorConfig, WaypointExecutor
from video_planner.planner.collision import CollisionConfig, first_collision
from video_planner.planner.detour import DetourConfig, route_over
from video_planner.sim.arms import get_arm
from video_planner.sim.tasks import sample_task
from video_planner.sim.world import TabletopWorld

from test_collision_gate import true_obstacles


def gate(obstacles: np.ndarray, config: CollisionConfig):
    """The collision gate as `route_over` asks it: the pose index the first colliding segment leads to."""
    def first_hit(poses, gripper, touch_from):
        hit = first_collision(poses[0, :3, 3], poses[1:, :3, 3], obstacles, config)
        return None if hit is None else hit.waypoint + 1
    return first_hit


def poses_at(T: np.ndarray, points) -> np.ndarray:
    poses = np.repeat(T[None], len(points), axis=0)
    poses[:, :3, 3] = points
    return poses


@pytest.fixture
def pushed_past():
    """A panda scene, the tool lowered beside another object, and a plan that sweeps through that object at
    half its height to the far side and rises: (world, executor, plan, the object's name, its top, the
    obstacles the first frame shows)."""
    world = TabletopWorld('panda', seed=0, image_size=64)
    task = sample_task(get_arm('panda'), 'push', np.random.default_rng(3))
    obs = world.reset(task, seed=3)
    executor = WaypointExecutor(world, ExecutorConfig())
    executor.reset(obs.gripper)
    positions = world.scene_state().positions
    name = next(o.name for o in task.objects if o.name not in (task.target, task.reference) and o.shape != 'pad')
    obj = task.object(name)
    position, top = positions[name], positions[name][2] + obj.half_extents[2]
    side = np.array([0.09, 0.0, 0.0])   # across it, away from the base
    start = obs.T_base_ee.copy()
    start[:3, 3] = position - side + [0, 0, 0.08]
    obstacles = true_obstacles(obs, task, CollisionConfig())   # before the arm stands over them
    executor.move_to(start)
    executor.set_gripper(1.0, start)   # closed: open Panda fingers would straddle the cube
    plan = poses_at(start, [start[:3, 3], position - side, position + side, position + side + [0, 0, 0.1]])
    yield world, executor, plan, name, top, obstacles
    world.close()


def test_a_sweep_through_an_object_is_lifted_just_over_it_and_leaves_it_in_place(pushed_past):
    world, executor, plan, name, top, obstacles = pushed_past
    config = CollisionConfig()
    first_hit = gate(obstacles, config)
    closed = np.ones(4)
    assert first_hit(plan, closed, 4) == 2, 'the straight sweep should drive through the object'
    route = route_over(plan, closed, 1.0, 4, first_hit, DetourConfig())
    assert route is not None
    assert len(route.T_base_ee) == 6 and route.index.tolist() == [0, 1, 1, 2, 2, 3]
    assert route.touch_from == 6 and route.gripper.tolist() == [1] * 6   # the contact's waypoint, after the via points
    via = route.T_base_ee[2:4, :3, 3]
    np.testing.assert_allclose(via[:, :2], plan[1:3, :2, 3])  # straight above both ends of the segment
    assert top + 0.01 < via[0, 2] <= top + 0.05 and via[0, 2] == via[1, 2]   # its top cleared by 1-5 cm
    assert first_hit(route.T_base_ee, route.gripper, route.touch_from) is None
    before = world.scene_state().positions[name].copy()
    executor.follow(route.T_base_ee[1:], route.gripper[1:])
    moved = np.linalg.norm(world.scene_state().positions[name][:2] - before[:2])
    assert moved < 0.005, f'the routed path moved the {name} {moved:.3f} m'
    executor.follow(plan[[1, 2]], closed[:2])          # back, and straight through: it is knocked
    moved = np.linalg.norm(world.scene_state().positions[name][:2] - before[:2])
    assert moved > 0.01, f'the straight path moved the {name} only {moved:.3f} m'


def test_a_waypoint_inside_an_object_or_a_sweep_after_a_push_starts_is_not_routed():
    config = CollisionConfig()
    box = np.array([[0.5, y, 0.05] for y in np.linspace(-0.02, 0.02, 5)])   # a 5 cm tall object at y = 0
    first_hit = gate(box, config)
    T = np.eye(4)
    into = poses_at(T, [[0.5, -0.1, 0.2], [0.5, -0.1, 0.02], [0.5, 0.0, 0.02]])  # ends inside it
    assert route_over(into, np.zeros(3), 0.0, 3, first_hit, DetourConfig()) is None
    sweep = poses_at(T, [[0.5, -0.1, 0.2], [0.5, -0.1, 0.02], [0.5, 0.1, 0.02], [0.5, 0.1, 0.2]])
    assert route_over(sweep, np.ones(4), 1.0, 1, first_hit, DetourConfig(), keep_contact=True) is None
    routed = route_over(sweep, np.ones(4), 1.0, 1, first_hit, DetourConfig())
    assert routed is not None and routed.touch_from == 1 and routed.gripper.tolist() == [1] * 6
    # Too tall to clear within max_rise_m: refused as before.
    tower = np.array([[0.5, 0.0, 0.4]])
    assert route_over(sweep, np.ones(4), 1.0, 1, gate(tower, config), DetourConfig()) is None
