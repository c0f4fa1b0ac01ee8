"""The pybullet tabletop: one arm, a table, a few objects, a camera; driven by end-effector targets.

The world frame of pybullet is the arm's base frame (the base sits at `ArmSpec.base_position`, which is
the origin for every registered arm), the table top is the plane z = 0.

Segmentation ids are canonical, not pybullet body ids, so they mean the same in every episode:
0 background, 1 table, 2 arm, 3 gripper links, 10 + k the k-th object of the task.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pybullet as p

from video_planner.camera import CameraModel
from video_planner.errors import VideoPlannerError
from video_planner.kinematics.arm import ArmKinematics
from video_planner.kinematics.ik import IkConfig, IkResult, IkSolver
from video_planner.sim.arm_spec import CAMERA_EYE_OFFSET, CAMERA_TARGET_OFFSET
from video_planner.sim.arms import ArmSpec, descends_from, get_arm
from video_planner.sim.episode import EpisodeMonitor
from video_planner.sim.randomization import DomainRandomization, SceneLook, sample_look
from video_planner.sim.tasks import (TOP_FACE_TOLERANCE_M, TOP_TOUCH_CENTRE_M, TOUCH_DISTANCE_M, SceneState,
                                     TaskSpec, check_success, unmet_conditions)

from video_planner.sim.segmentation import SEG_ARM, SEG_BACKGROUND, SEG_GRIPPER, SEG_OBJECT_BASE, SEG_TABLE  # noqa: F401

CAMERA_NEAR_M, CAMERA_FAR_M = 0.02, 5.0
CAMERA_FOV_Y_DEG = 40.0

GRASP_DISTANCE_M = 0.02    # TCP-to-object-box distance within which closing the gripper grasps
_GROUP_OBJECT, _GROUP_ARM, _GROUP_TABLE, _GROUP_ALL = 1, 2, 4, 7
GRASP_WINDOW_STEPS = 8     # a grasp can only form this many control steps after the gripper closes


@dataclass
class Observation:
    """One camera frame plus the robot state at the same instant (poses in the base frame)."""
    rgb: np.ndarray               # (H, W, 3) uint8
    depth_m: np.ndarray           # (H, W) float32, metres along the optical axis
    segmentation: np.ndarray      # (H, W) int32 canonical ids (see module doc)
    camera: CameraModel
    T_base_ee: np.ndarray         # (4, 4)
    gripper: float                # 0 open .. 1 closed (commanded)
    joint_positions: np.ndarray   # (dof,) arm joints in ArmSpec.arm_joints order
    instruction: str
    gripper_ids: tuple[int, ...] = (SEG_GRIPPER,)
    object_ids: dict[str, int] = field(default_factory=dict)

    @property
    def T_camera_ee(self) -> np.ndarray:
        return self.camera.T_camera_base @ self.T_base_ee

    @property
    def ee_mask(self) -> np.ndarray:
        return np.isin(self.segmentation, self.gripper_ids)


def _pose_matrix(position, quat_xyzw) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = np.array(p.getMatrixFromQuaternion(quat_xyzw)).reshape(3, 3)
    T[:3, 3] = position
    return T


def look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """T_base_camera of a REP 103 optical frame at `eye` looking at `target`, image 'up' ~ +z."""
    z = target - eye
    z = z / np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    T = np.eye(4)
    T[:3, 0], T[:3, 1], T[:3, 2], T[:3, 3] = x, y, z, eye
    return T


def pybullet_view_matrix(T_world_camera: np.ndarray) -> list[float]:
    """OpenGL view matrix (column-major) for a REP 103 optical frame: GL looks down -z with y up."""
    T_world_gl = T_world_camera @ np.diag([1.0, -1.0, -1.0, 1.0])
    return np.linalg.inv(T_world_gl).T.reshape(-1).tolist()


def depth_buffer_to_metres(buffer: np.ndarray, near: float, far: float) -> np.ndarray:
    """pybullet's non-linear [0, 1] depth buffer -> z-depth in metres (NaN at the far plane)."""
    buffer = np.asarray(buffer, dtype=np.float64)
    depth = far * near / (far - (far - near) * buffer)
    depth[buffer >= 1.0] = np.nan
    return depth.astype(np.float32)


class TabletopWorld:
    """A tabletop with one arm. `reset(task)` builds the scene; `step_ee` moves the arm."""

    def __init__(self, arm: str | ArmSpec, seed: int = 0, image_size: int = 64,
                 randomization: DomainRandomization | None = None, control_substeps: int = 4,
                 physics_hz: float = 240.0, shadows: bool = True):
        if not isinstance(image_size, int) or not 16 <= image_size <= 1024:
            raise VideoPlannerError(f'image_size: expected an int in [16, 1024], got {image_size!r}')
        if control_substeps < 1:
            raise VideoPlannerError(f'control_substeps: expected >= 1, got {control_substeps}')
        self.spec: ArmSpec = get_arm(arm)
        self.image_size = image_size
        self.randomization = randomization if randomization is not None else DomainRandomization()
        self.control_substeps = control_substeps
        self.shadows = shadows
        self.rng = np.random.default_rng(seed)
        self.kinematics = ArmKinematics.from_urdf(self.spec.urdf_path, self.spec.base_frame, self.spec.ee_frame)
        if list(self.kinematics.chain) != list(self.spec.arm_joints):
            raise VideoPlannerError(f'arm {self.spec.name!r}: kinematic chain {self.kinematics.chain} does not '
                                    f'match ArmSpec.arm_joints {list(self.spec.arm_joints)}')
        self.ik = IkSolver(self.kinematics, IkConfig(restarts=0, max_iterations=60))
        self.home_q = np.array(self.spec.home_q, dtype=float)

        self.physics_hz = physics_hz
        self.client = p.connect(p.DIRECT)
        self._build_static_scene()
        self.task: TaskSpec | None = None
        self.look: SceneLook | None = None
        self.camera: CameraModel | None = None
        self._objects: dict[str, int] = {}
        self._initial_positions: dict[str, np.ndarray] = {}
        self.monitor = EpisodeMonitor()
        self._weld: tuple[str, int] | None = None
        self._gripper = 0.0
        self._closed_for = 0
        self._q_target = self.home_q.copy()

    # ------------------------------------------------------------------ scene construction
    def _build_static_scene(self) -> None:
        """Load the table and the arm into an empty simulation."""
        c = self.client
        p.setPhysicsEngineParameter(fixedTimeStep=1.0 / self.physics_hz, numSolverIterations=30,
                                    deterministicOverlappingPairs=1, physicsClientId=c)
        p.setGravity(0, 0, -9.81, physicsClientId=c)
        self._objects = {}
        self._weld = None
        half = max(1.0, 3.0 * self.spec.scale)
        table_shape = p.createCollisionShape(p.GEOM_BOX, halfExtents=[half, half, 0.02], physicsClientId=c)
        table_visual = p.createVisualShape(p.GEOM_BOX, halfExtents=[half, half, 0.02], physicsClientId=c)
        self.table_id = p.createMultiBody(0, table_shape, table_visual, [0, 0, -0.02], physicsClientId=c)
        self.arm_id = p.loadURDF(str(self.spec.urdf_path), self.spec.base_position, useFixedBase=True,
                                 flags=p.URDF_ENABLE_CACHED_GRAPHICS_SHAPES, physicsClientId=c)
        if self.spec.color is not None:  # an arm YAML's colour override paints every link
            for link in range(-1, p.getNumJoints(self.arm_id, physicsClientId=c)):
                p.changeVisualShape(self.arm_id, link, rgbaColor=list(self.spec.color), physicsClientId=c)
        joints, links, parents = {}, {}, {}
        for j in range(p.getNumJoints(self.arm_id, physicsClientId=c)):
            info = p.getJointInfo(self.arm_id, j, physicsClientId=c)
            joints[info[1].decode()] = j
            links[info[12].decode()] = j
            parents[j] = info[16]
        missing = [n for n in self.spec.arm_joints + self.spec.gripper.joints if n not in joints]
        if missing or self.spec.ee_frame not in links:
            raise VideoPlannerError(f'arm {self.spec.name!r}: URDF lacks joints {missing} or ee link '
                                    f'{self.spec.ee_frame!r}')
        self.arm_joint_ids = [joints[n] for n in self.spec.arm_joints]
        self.finger_joint_ids = [joints[n] for n in self.spec.gripper.joints]
        self.ee_link = links[self.spec.ee_frame]
        root = links.get(self.spec.gripper_root_link)
        if root is None:
            raise VideoPlannerError(f'arm {self.spec.name!r}: no link {self.spec.gripper_root_link!r}')
        self.gripper_links = {j for j in parents if descends_from(j, root, parents)}
        # The arm and the table only ever touch objects: the arm never needs the table (fixed base,
        # targets above z = 0), and a link brushing the table top would only add noise.
        for link in range(-1, p.getNumJoints(self.arm_id, physicsClientId=c)):
            p.setCollisionFilterGroupMask(self.arm_id, link, _GROUP_ARM, _GROUP_OBJECT, physicsClientId=c)
        p.setCollisionFilterGroupMask(self.table_id, -1, _GROUP_TABLE, _GROUP_OBJECT, physicsClientId=c)
        # No sleeping: a body's activation state is history that changes how it next moves.
        for link in range(-1, p.getNumJoints(self.arm_id, physicsClientId=c)):
            p.changeDynamics(self.arm_id, link, activationState=p.ACTIVATION_STATE_DISABLE_SLEEPING,
                             physicsClientId=c)
        self._joint_forces = [max(80.0, p.getJointInfo(self.arm_id, j, physicsClientId=c)[10])
                              for j in self.arm_joint_ids]

    def _clear_episode(self) -> None:
        """Back to a freshly built scene. An episode must depend on its seed alone, not on what this
        world simulated before (the dataset is the same for any worker count), and pybullet keeps
        history that no API resets (broadphase tree, freed ids, constraint ids): only an emptied
        simulation is as good as a new one. Costs one URDF load per episode (0.1-0.3 s)."""
        p.resetSimulation(physicsClientId=self.client)
        self._build_static_scene()

    def _spawn(self, task: TaskSpec) -> None:
        c = self.client
        jitter = self.randomization.object_color_jitter
        for obj in task.objects:
            he = obj.half_extents
            rgba = list(np.clip(np.array(obj.rgb) + self.rng.uniform(-jitter, jitter, 3), 0, 1)) + [1.0]
            if obj.shape == 'cylinder':
                col = p.createCollisionShape(p.GEOM_CYLINDER, radius=he[0], height=2 * he[2], physicsClientId=c)
                vis = p.createVisualShape(p.GEOM_CYLINDER, radius=he[0], length=2 * he[2], rgbaColor=rgba,
                                          physicsClientId=c)
            elif obj.shape == 'pad':
                # A thin mat printed on the table: seen, not touched. Objects rest on the table through
                # it, so a placed object sits as on the bare table (no edge to tip over).
                col = -1
                vis = p.createVisualShape(p.GEOM_BOX, halfExtents=he, rgbaColor=rgba, physicsClientId=c)
            else:
                col = p.createCollisionShape(p.GEOM_BOX, halfExtents=he, physicsClientId=c)
                vis = p.createVisualShape(p.GEOM_BOX, halfExtents=he, rgbaColor=rgba, physicsClientId=c)
            mass = 0.0 if obj.shape == 'pad' else 0.05
            quat = p.getQuaternionFromEuler([0, 0, obj.yaw])
            z = he[2] if obj.movable else 0.0005 - he[2]  # the mat's top face just above the table
            body = p.createMultiBody(mass, col, vis, [obj.position_xy[0], obj.position_xy[1], z], quat,
                                     physicsClientId=c)
            p.setCollisionFilterGroupMask(body, -1, _GROUP_OBJECT, _GROUP_ALL, physicsClientId=c)
            # Rolling friction: a cylinder knocked on its side comes to rest, as on a real table, instead of
            # rolling on for metres and off the table edge.
            p.changeDynamics(body, -1, lateralFriction=0.8, spinningFriction=0.001, rollingFriction=0.001,
                             activationState=p.ACTIVATION_STATE_DISABLE_SLEEPING, physicsClientId=c)
            self._objects[obj.name] = body

    # ------------------------------------------------------------------ episode control
    def reset(self, task: TaskSpec, seed: int | None = None) -> Observation:
        """Rebuild the scene for `task` (objects, look, camera), arm at home with the gripper open."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self._clear_episode()
        self.task = task
        self.look = sample_look(self.randomization, self.rng)
        p.changeVisualShape(self.table_id, -1, rgbaColor=list(self.look.table_color) + [1.0],
                            physicsClientId=self.client)
        self.camera = self._make_camera(self.look)
        self._spawn(task)
        for j, q in zip(self.arm_joint_ids, self.home_q):
            p.resetJointState(self.arm_id, j, q, 0.0, physicsClientId=self.client)
        self._gripper = 0.0
        for j, q in zip(self.finger_joint_ids, self.spec.gripper.open_q):
            p.resetJointState(self.arm_id, j, q, 0.0, physicsClientId=self.client)
        self._q_target = self.home_q.copy()
        self._apply_targets()
        for _ in range(self.control_substeps):
            p.stepSimulation(physicsClientId=self.client)
        self._initial_positions = self._object_positions()
        self.monitor.reset(self._initial_positions)
        return self.observe()

    def _make_camera(self, look: SceneLook) -> CameraModel:
        s = self.spec.scale
        center = np.array([*self.spec.workspace_center, 0.0])
        eye = center + s * (np.array(CAMERA_EYE_OFFSET) + np.array(look.camera_position_offset))
        target = center + s * (np.array(CAMERA_TARGET_OFFSET) + np.array(look.camera_target_offset))
        return CameraModel.from_fov(CAMERA_FOV_Y_DEG, self.image_size, self.image_size, look_at(eye, target))

    def _require_task(self) -> None:
        if self.task is None:
            raise VideoPlannerError('TabletopWorld: call reset(task) before stepping or observing')

    def _apply_targets(self) -> None:
        c = self.client
        p.setJointMotorControlArray(self.arm_id, self.arm_joint_ids, p.POSITION_CONTROL,
                                    targetPositions=self._q_target.tolist(), forces=self._joint_forces,
                                    positionGains=[0.3] * len(self.arm_joint_ids), physicsClientId=c)
        if self.finger_joint_ids:
            g = self._gripper
            q = [o + g * (cl - o) for o, cl in zip(self.spec.gripper.open_q, self.spec.gripper.closed_q)]
            p.setJointMotorControlArray(self.arm_id, self.finger_joint_ids, p.POSITION_CONTROL, targetPositions=q,
                                        forces=[20.0] * len(q), physicsClientId=c)

    def step_ee(self, T_base_ee_target: np.ndarray, gripper: float, steps: int | None = None) -> IkResult:
        """Solve IK for the target pose (warm-started at the current joints) and run `steps` physics
        steps (default: one control period) with the joints driven to the solution."""
        self._require_task()
        T = np.asarray(T_base_ee_target, dtype=float)
        if T.shape != (4, 4) or not np.all(np.isfinite(T)):
            raise VideoPlannerError(f'T_base_ee_target: expected a finite 4x4 pose, got shape {T.shape}')
        result = self.ik.solve(T, self._q_target, q_posture=self.home_q)
        self.set_joint_targets(result.q, gripper, steps)
        return result

    def set_joint_targets(self, q: np.ndarray, gripper: float | None = None, steps: int | None = None) -> None:
        """Drive the arm joints (ArmSpec.arm_joints order) toward `q` for `steps` physics steps."""
        self._require_task()
        q = np.asarray(q, dtype=float).reshape(-1)
        if q.shape != (self.spec.dof,) or not np.all(np.isfinite(q)):
            raise VideoPlannerError(f'q: expected {self.spec.dof} finite joint positions, got shape {q.shape}')
        if gripper is not None:
            if not 0.0 <= float(gripper) <= 1.0:
                raise VideoPlannerError(f'gripper: expected a value in [0, 1], got {gripper}')
            if self._gripper < 0.5 <= float(gripper):
                self._closed_for = 0
            self._gripper = float(gripper)
        self._q_target = q.copy()
        self._apply_targets()
        for _ in range(self.control_substeps if steps is None else int(steps)):
            p.stepSimulation(physicsClientId=self.client)
        self._closed_for += 1
        self._update_grasp()
        self.monitor.record(self._object_positions(), *self._touching())

    # ------------------------------------------------------------------ grasping and contacts
    def _tcp_pose(self) -> np.ndarray:
        state = p.getLinkState(self.arm_id, self.ee_link, computeForwardKinematics=True,
                               physicsClientId=self.client)
        return _pose_matrix(state[4], state[5])

    def _update_grasp(self) -> None:
        """Weld the nearest movable object to the ee when the gripper closes on it; release on open."""
        c = self.client
        if self._gripper < 0.5:
            if self._weld is not None:
                p.removeConstraint(self._weld[1], physicsClientId=c)
                self._weld = None
            return
        # Like a real gripper: it holds what is between the fingers while it closes; closing on
        # nothing and then pressing onto an object (a touch) does not pick it up.
        if self._weld is not None or self._closed_for > GRASP_WINDOW_STEPS:
            return
        tcp = self._tcp_pose()[:3, 3]
        best, best_d = None, GRASP_DISTANCE_M * self.spec.scale
        for obj in self.task.objects:
            if not obj.movable:
                continue
            body = self._objects[obj.name]
            lo, hi = (np.array(v) for v in p.getAABB(body, physicsClientId=c))
            d = float(np.linalg.norm(tcp - np.clip(tcp, lo, hi)))
            if d <= best_d:
                best, best_d = obj.name, d
        if best is None:
            return
        body = self._objects[best]
        com = p.getLinkState(self.arm_id, self.ee_link, physicsClientId=c)
        obj_pos, obj_orn = p.getBasePositionAndOrientation(body, physicsClientId=c)
        inv_pos, inv_orn = p.invertTransform(com[0], com[1])
        rel_pos, rel_orn = p.multiplyTransforms(inv_pos, inv_orn, obj_pos, obj_orn)
        cid = p.createConstraint(self.arm_id, self.ee_link, body, -1, p.JOINT_FIXED, [0, 0, 0], rel_pos, [0, 0, 0],
                                 parentFrameOrientation=rel_orn, physicsClientId=c)
        p.changeConstraint(cid, maxForce=50.0, physicsClientId=c)
        # The held object keeps colliding with the fingers: they stop on it, as on a real gripper.
        self._weld = (best, cid)

    def _touching(self) -> tuple[set[str], set[str]]:
        """(objects a gripper link touches now (within TOUCH_DISTANCE_M x scale), those of them touched from
        above: on their top face (within TOP_FACE_TOLERANCE_M x scale of the object's top) with the TCP over
        the object (within TOP_TOUCH_CENTRE_M x scale of its box, sideways))."""
        s = self.spec.scale
        touching, on_top = set(), set()
        tcp_xy = None
        for name, body in self._objects.items():
            near = p.getClosestPoints(self.arm_id, body, TOUCH_DISTANCE_M * s, physicsClientId=self.client)
            points = [pt for pt in near if pt[3] in self.gripper_links]
            if not points:
                continue
            touching.add(name)
            lo, hi = (np.array(v) for v in p.getAABB(body, physicsClientId=self.client))
            tcp_xy = self._tcp_pose()[:2, 3] if tcp_xy is None else tcp_xy
            over = np.linalg.norm(tcp_xy - np.clip(tcp_xy, lo[:2], hi[:2])) <= TOP_TOUCH_CENTRE_M * s
            if over and any(pt[6][2] >= hi[2] - TOP_FACE_TOLERANCE_M * s for pt in points):
                on_top.add(name)
        return touching, on_top

    def gripper_clearance(self, T_base_ee: np.ndarray, exclude: str, gripper: float = 0.0) -> float:
        """Least distance (metres) from the gripper posed at `T_base_ee` (IK from the current joint
        targets; the arm is only posed, not simulated, and put back) to any movable object but `exclude`;
        inf when IK fails or nothing is within 0.2 m. For an expert choosing how to approach an object."""
        self._require_task()
        c = self.client
        result = self.ik.solve(np.asarray(T_base_ee, dtype=float), self._q_target, q_posture=self.home_q)
        if not result.success:
            return math.inf
        joints = self.arm_joint_ids + self.finger_joint_ids
        saved = [p.getJointState(self.arm_id, j, physicsClientId=c)[:2] for j in joints]
        fingers = [o + gripper * (cl - o) for o, cl in zip(self.spec.gripper.open_q, self.spec.gripper.closed_q)]
        for j, q in zip(joints, list(result.q) + fingers):
            p.resetJointState(self.arm_id, j, q, 0.0, physicsClientId=c)
        best = math.inf
        for obj in self.task.objects:
            if obj.movable and obj.name != exclude:
                for pt in p.getClosestPoints(self.arm_id, self._objects[obj.name], 0.2, physicsClientId=c):
                    if pt[3] in self.gripper_links:
                        best = min(best, float(pt[8]))
        for j, (q, v) in zip(joints, saved):
            p.resetJointState(self.arm_id, j, q, v, physicsClientId=c)
        return best

    # ------------------------------------------------------------------ state
    def _object_positions(self) -> dict[str, np.ndarray]:
        return {name: np.array(p.getBasePositionAndOrientation(body, physicsClientId=self.client)[0])
                for name, body in self._objects.items()}

    def object_poses(self) -> dict[str, np.ndarray]:
        """T_base_object (4x4) of every object, by name."""
        out = {}
        for name, body in self._objects.items():
            pos, orn = p.getBasePositionAndOrientation(body, physicsClientId=self.client)
            out[name] = _pose_matrix(pos, orn)
        return out

    def scene_state(self) -> SceneState:
        self._require_task()
        return SceneState(positions=self._object_positions(), initial_positions=dict(self._initial_positions),
                          first_touch_step=dict(self.monitor.first_touch_step),
                          first_top_touch_step=dict(self.monitor.first_top_touch_step),
                          max_displacement_m=dict(self.monitor.max_displacement_m),
                          held=None if self._weld is None else self._weld[0], scale=self.spec.scale)

    def success(self) -> bool:
        self._require_task()
        return check_success(self.task, self.scene_state())

    def unmet_conditions(self) -> list[str]:
        """What the task's success rule still misses (sim.tasks.unmet_conditions); empty = success."""
        self._require_task()
        return unmet_conditions(self.task, self.scene_state())

    def joint_positions(self) -> np.ndarray:
        states = p.getJointStates(self.arm_id, self.arm_joint_ids, physicsClientId=self.client)
        return np.array([s[0] for s in states])

    def T_base_ee(self) -> np.ndarray:
        """The measured ee pose: pinocchio FK at the measured joints (same model the planner uses)."""
        return self.kinematics.fk(self.joint_positions())

    @property
    def object_ids(self) -> dict[str, int]:
        return {obj.name: SEG_OBJECT_BASE + k for k, obj in enumerate(self.task.objects)} if self.task else {}

    # ------------------------------------------------------------------ rendering
    def _segmentation_lut(self, raw: np.ndarray) -> np.ndarray:
        body = np.where(raw >= 0, raw & ((1 << 24) - 1), -1)
        link = np.where(raw >= 0, (raw >> 24) - 1, -2)
        seg = np.zeros(raw.shape, dtype=np.int32)
        seg[body == self.table_id] = SEG_TABLE
        arm = body == self.arm_id
        seg[arm] = SEG_ARM
        if self.gripper_links:
            seg[arm & np.isin(link, list(self.gripper_links))] = SEG_GRIPPER
        for k, obj in enumerate(self.task.objects):
            seg[body == self._objects[obj.name]] = SEG_OBJECT_BASE + k
        return seg

    def render(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rgb uint8 HxWx3, depth_m float32 HxW, segmentation int32 HxW) from the episode camera."""
        self._require_task()
        cam, look = self.camera, self.look
        fov = math.degrees(2 * math.atan(0.5 * cam.height / cam.fy))
        proj = p.computeProjectionMatrixFOV(fov, cam.width / cam.height, CAMERA_NEAR_M, CAMERA_FAR_M)
        _, _, rgba, depth, seg = p.getCameraImage(
            cam.width, cam.height, pybullet_view_matrix(cam.T_base_camera), proj,
            renderer=p.ER_TINY_RENDERER, lightDirection=list(look.light_direction), lightColor=[1, 1, 1],
            lightAmbientCoeff=look.light_ambient, lightDiffuseCoeff=look.light_diffuse,
            lightSpecularCoeff=0.05, shadow=int(self.shadows),
            flags=p.ER_SEGMENTATION_MASK_OBJECT_AND_LINKINDEX, physicsClientId=self.client)
        rgb = np.asarray(rgba, dtype=np.uint8).reshape(cam.height, cam.width, 4)[..., :3].copy()
        depth_m = depth_buffer_to_metres(np.asarray(depth).reshape(cam.height, cam.width), CAMERA_NEAR_M,
                                         CAMERA_FAR_M)
        seg = self._segmentation_lut(np.asarray(seg, dtype=np.int64).reshape(cam.height, cam.width))
        return rgb, depth_m, seg

    def observe(self, render: bool = True) -> Observation:
        self._require_task()
        if render:
            rgb, depth_m, seg = self.render()
        else:
            size = (self.camera.height, self.camera.width)
            rgb, depth_m, seg = np.zeros(size + (3,), np.uint8), np.full(size, np.nan, np.float32), \
                np.zeros(size, np.int32)
        q = self.joint_positions()
        return Observation(rgb=rgb, depth_m=depth_m, segmentation=seg, camera=self.camera,
                           T_base_ee=self.kinematics.fk(q), gripper=self._gripper, joint_positions=q,
                           instruction=self.task.instruction, object_ids=self.object_ids)

    def close(self) -> None:
        if self.client is not None and p.isConnected(self.client):
            p.disconnect(self.client)
        self.client = None

    def __enter__(self) -> 'TabletopWorld':
        return self

    def __exit__(self, *exc) -> None:
        self.close()
