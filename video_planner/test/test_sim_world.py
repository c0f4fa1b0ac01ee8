"""The tabletop world: arm registry, camera conventions, depth, segmentation, control, errors."""
import numpy as np
import pytest
import torch

from video_planner.errors import VideoPlannerError
from video_planner.kinematics.arm import ArmKinematics
from video_planner.sim.arms import ARMS, HELD_OUT_ARMS, SEEN_ARMS, get_arm
from video_planner.sim.randomization import DomainRandomization
from video_planner.sim.tasks import sample_task
from video_planner.sim.world import SEG_OBJECT_BASE, SEG_TABLE, TabletopWorld, depth_buffer_to_metres, look_at

torch.set_num_threads(1)


@pytest.fixture(scope='module')
def panda_world():
    world = TabletopWorld('panda', seed=0, image_size=64)
    yield world
    world.close()


def test_registry_has_five_plus_distinct_arms_and_held_out_ones():
    assert len(ARMS) >= 5
    assert 'kinova' in HELD_OUT_ARMS and not set(HELD_OUT_ARMS) & set(SEEN_ARMS)
    assert set(SEEN_ARMS) | set(HELD_OUT_ARMS) == set(ARMS)
    dofs = {name: spec.dof for name, spec in ARMS.items()}
    assert len(set(dofs.values())) >= 3, dofs  # 5, 6 and 7 joint arms
    with pytest.raises(VideoPlannerError, match='unknown arm'):
        get_arm('r2d2')


@pytest.mark.parametrize('name', list(ARMS))
def test_every_arm_urdf_loads_in_pinocchio_with_its_frames_and_home_points_down(name):
    spec = ARMS[name]
    path = spec.urdf_path
    assert path.is_file() and 'package://' not in path.read_text()
    kin = ArmKinematics.from_urdf(path, spec.base_frame, spec.ee_frame)
    assert kin.chain == list(spec.arm_joints)
    T = kin.fk(np.array(spec.home_q))
    # Home: tool z axis points down, TCP above the workspace centre.
    assert T[2, 2] < -0.99
    np.testing.assert_allclose(T[:2, 3], spec.workspace_center, atol=0.01)
    assert 0.05 < T[2, 3] < 0.5


def test_camera_is_rep103_and_depth_backprojects_onto_the_table(panda_world):
    task = sample_task(panda_world.spec, 'lift', np.random.default_rng(0))
    obs = panda_world.reset(task, seed=0)
    cam = obs.camera
    assert obs.rgb.shape == (64, 64, 3) and obs.rgb.dtype == np.uint8
    assert obs.depth_m.dtype == np.float32 and obs.segmentation.dtype == np.int32
    # Table pixels back-projected with their depth land on the table plane z = 0.
    v, u = np.nonzero(obs.segmentation == SEG_TABLE)
    pts = cam.backproject(u.astype(float), v.astype(float), obs.depth_m[v, u]).points_base
    assert np.nanmax(np.abs(pts[:, 2])) < 0.01
    # Objects project onto pixels of their own segmentation id.
    for k, obj in enumerate(task.objects):
        centre = np.array([*obj.position_xy, obj.half_extents[2] * 2])  # top face
        u0, v0 = np.round(cam.project(centre[None])[0]).astype(int)
        patch = obs.segmentation[max(v0 - 1, 0):v0 + 2, max(u0 - 1, 0):u0 + 2]
        assert (patch == SEG_OBJECT_BASE + k).any(), obj.name
    # Base +y (left) appears left in the image, base +x (forward) appears up.
    c = np.array([*panda_world.spec.workspace_center, 0.0])
    uv = cam.project(np.stack([c, c + [0, 0.1, 0], c + [0.1, 0, 0]]))
    assert uv[1, 0] < uv[0, 0] and uv[2, 1] < uv[0, 1]


def test_gripper_pixels_are_segmented_near_the_projected_tcp(panda_world):
    task = sample_task(panda_world.spec, 'reach', np.random.default_rng(1))
    obs = panda_world.reset(task, seed=1)
    mask = obs.ee_mask
    assert mask.sum() > 3
    u, v = obs.camera.project(obs.T_base_ee[:3, 3][None])[0]
    vv, uu = np.nonzero(mask)
    assert np.min(np.hypot(uu - u, vv - v)) < 4.0


def test_step_ee_moves_the_tcp_to_the_target_and_reports_ik(panda_world):
    task = sample_task(panda_world.spec, 'reach', np.random.default_rng(2))
    obs = panda_world.reset(task, seed=2)
    target = obs.T_base_ee.copy()
    target[:3, 3] += [0.03, -0.04, -0.05]
    for _ in range(40):
        result = panda_world.step_ee(target, 0.0)
    assert result.success
    np.testing.assert_allclose(panda_world.T_base_ee()[:3, 3], target[:3, 3], atol=0.005)
    after = panda_world.observe()
    assert after.instruction == task.instruction and after.joint_positions.shape == (7,)


def test_gripper_fingers_close_visibly(panda_world):
    task = sample_task(panda_world.spec, 'reach', np.random.default_rng(4))
    obs = panda_world.reset(task, seed=4)
    import pybullet as p
    finger = panda_world.finger_joint_ids[0]
    opened = p.getJointState(panda_world.arm_id, finger, physicsClientId=panda_world.client)[0]
    for _ in range(15):
        panda_world.step_ee(obs.T_base_ee, 1.0)
    closed = p.getJointState(panda_world.arm_id, finger, physicsClientId=panda_world.client)[0]
    assert opened > 0.03 and closed < 0.01


def test_bad_inputs_raise_clear_errors(panda_world):
    with pytest.raises(VideoPlannerError, match='image_size'):
        TabletopWorld('panda', image_size=3)
    task = sample_task(panda_world.spec, 'reach', np.random.default_rng(5))
    panda_world.reset(task, seed=5)
    with pytest.raises(VideoPlannerError, match='T_base_ee_target'):
        panda_world.step_ee(np.eye(3), 0.0)
    with pytest.raises(VideoPlannerError, match='gripper'):
        panda_world.step_ee(np.eye(4), 2.0)
    with pytest.raises(VideoPlannerError, match='q: expected 7'):
        panda_world.set_joint_targets(np.zeros(3))
    with pytest.raises(VideoPlannerError, match='DomainRandomization'):
        DomainRandomization(camera_position_jitter_m=-1)


def test_randomization_changes_the_look_and_none_keeps_it():
    spec = get_arm('iiwa')
    task = sample_task(spec, 'reach', np.random.default_rng(0))
    with TabletopWorld('iiwa', image_size=32) as world:
        a = world.reset(task, seed=1)
        b = world.reset(task, seed=2)
        assert not np.allclose(a.camera.T_base_camera, b.camera.T_base_camera)
    with TabletopWorld('iiwa', image_size=32, randomization=DomainRandomization.none()) as world:
        a = world.reset(task, seed=1)
        b = world.reset(task, seed=2)
        np.testing.assert_array_equal(a.rgb, b.rgb)


def test_depth_buffer_conversion_matches_the_projection_formula():
    near, far, z = 0.1, 10.0, np.array([0.1, 0.5, 2.0, 9.0])
    buffer = (far + near) / (2 * (far - near)) - far * near / ((far - near) * z) + 0.5
    np.testing.assert_allclose(depth_buffer_to_metres(buffer, near, far), z, rtol=1e-5)
    assert np.isnan(depth_buffer_to_metres(np.array([1.0]), near, far)[0])


def test_look_at_builds_an_optical_frame():
    T = look_at(np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 1.0]))
    R = T[:3, :3]
    np.testing.assert_allclose(R.T @ R, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(R[:, 2], [1, 0, 0])   # z forward
    np.testing.assert_allclose(R[:, 0], [0, -1, 0])  # x right (robot's right)
    np.testing.assert_allclose(R[:, 1], [0, 0, -1])  # y down


def test_a_cylinder_knocked_on_its_side_comes_to_rest(panda_world):
    """Objects roll against rolling friction, as on a real table: a cylinder tipped over and set rolling at
    20 cm/s stops within 20 cm (with none, it rolled 2.3 m in these 8 s and was still going at 29 cm/s)."""
    import pybullet as p
    seed = next(s for s in range(50) if any(o.shape == 'cylinder' and o.movable for o in
                                             sample_task(panda_world.spec, 'push', np.random.default_rng(s)).objects))
    task = sample_task(panda_world.spec, 'push', np.random.default_rng(seed))
    panda_world.reset(task, seed=seed)
    name = next(o.name for o in task.objects if o.shape == 'cylinder' and o.movable)
    body, c = panda_world._objects[name], panda_world.client
    start = np.array(p.getBasePositionAndOrientation(body, physicsClientId=c)[0])
    radius = task.object(name).half_extents[0]
    side = p.getQuaternionFromEuler([np.pi / 2, 0, 0])   # axis along y: it rolls along x
    p.resetBasePositionAndOrientation(body, [start[0], start[1] + 0.3, radius], side, physicsClientId=c)
    p.resetBaseVelocity(body, [0.2, 0, 0], [0, 2 * np.pi * 0.2 / (2 * np.pi * radius), 0], physicsClientId=c)
    x0 = start[0]
    for _ in range(2000):
        p.stepSimulation(physicsClientId=c)
    end = np.array(p.getBasePositionAndOrientation(body, physicsClientId=c)[0])
    speed = np.linalg.norm(p.getBaseVelocity(body, physicsClientId=c)[0])
    assert speed < 0.005 and abs(end[0] - x0) < 0.3 and end[2] > 0, (end, speed)
