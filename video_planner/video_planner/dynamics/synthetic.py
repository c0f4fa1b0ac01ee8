"""A ground-truth rig for inverse dynamics: a textured rigid "end-effector" moved by known SE(3) steps.

A pybullet scene (table plane + a block built from differently coloured cubes, optionally with an
object cube it can carry) rendered through a :class:`CameraModel`. Used by the unit tests and the
benchmark, independent of the simulator's arms: the true ``T_base_ee`` of every frame is known exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pybullet as p
import pybullet_data
import transforms3d

from video_planner.camera import CameraModel, look_at

_COLOURS = [(0.9, 0.1, 0.1, 1), (0.1, 0.8, 0.2, 1), (0.1, 0.2, 0.9, 1), (0.95, 0.85, 0.1, 1),
            (0.9, 0.1, 0.9, 1), (0.1, 0.9, 0.9, 1), (1.0, 0.55, 0.1, 1), (0.95, 0.95, 0.95, 1)]


def pybullet_view_projection(camera: CameraModel, near: float, far: float) -> tuple[list, list]:
    """pybullet/OpenGL view and projection matrices (column-major lists) for a CameraModel."""
    # OpenGL camera: x right, y up, z backward = optical frame rotated pi about x.
    T_base_gl = camera.T_base_camera @ np.diag([1.0, -1.0, -1.0, 1.0])
    view = np.linalg.inv(T_base_gl)
    W, H = camera.width, camera.height
    # Pixel centres at integer coordinates: the image spans [-0.5, W-0.5] in u.
    left = -(camera.cx + 0.5) / camera.fx * near
    right = (W - 0.5 - camera.cx) / camera.fx * near
    top = (camera.cy + 0.5) / camera.fy * near
    bottom = -(H - 0.5 - camera.cy) / camera.fy * near
    proj = np.array([
        [2 * near / (right - left), 0, (right + left) / (right - left), 0],
        [0, 2 * near / (top - bottom), (top + bottom) / (top - bottom), 0],
        [0, 0, -(far + near) / (far - near), -2 * far * near / (far - near)],
        [0, 0, -1, 0]])
    return view.T.reshape(-1).tolist(), proj.T.reshape(-1).tolist()


def depth_buffer_to_metres(buffer: np.ndarray, near: float, far: float) -> np.ndarray:
    """pybullet's non-linear depth buffer -> z-depth in metres (float32), NaN at the far plane."""
    z = far * near / (far - (far - near) * np.asarray(buffer, dtype=np.float64))
    z[np.asarray(buffer) >= 1.0 - 1e-7] = np.nan
    return z.astype(np.float32)


@dataclass
class RigidEpisode:
    """A rendered episode: frames, depth of frame 0, camera, true poses and gripper, ee mask of frame 0."""

    frames: np.ndarray  # (K+1, H, W, 3) uint8
    depth0_m: np.ndarray  # (H, W) float32
    camera: CameraModel
    T_base_ee: np.ndarray  # (K+1, 4, 4)
    gripper: np.ndarray  # (K+1,)
    ee_mask0: np.ndarray  # (H, W) bool


def pose(xyz, rpy=(0.0, 0.0, 0.0)) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = transforms3d.euler.euler2mat(*rpy)
    T[:3, 3] = xyz
    return T


def default_camera(image_size: int = 64) -> CameraModel:
    """A camera 0.5 m from the workspace centre, looking down at it at about 45 degrees."""
    T = look_at(eye=(0.85, 0.0, 0.45), target=(0.45, 0.0, 0.05))
    return CameraModel.from_fov(55.0, image_size, image_size, T)


class RigidBlockScene:
    """Table + a multi-coloured block (the stand-in end-effector) + an optional object cube."""

    def __init__(self, camera: CameraModel | None = None, block_size_m: float = 0.06,
                 with_object: bool = True, near: float = 0.05, far: float = 3.0):
        self.camera = camera or default_camera()
        self.near, self.far = near, far
        self.client = p.connect(p.DIRECT)
        p.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=self.client)
        self.plane = p.loadURDF('plane.urdf', physicsClientId=self.client)
        self.block = self._make_block(block_size_m)
        self.object = None
        self.object_offset = None  # T_ee_object while carried
        if with_object:
            half = 0.02
            vis = p.createVisualShape(p.GEOM_BOX, halfExtents=[half] * 3, rgbaColor=(0.2, 0.6, 0.3, 1),
                                      physicsClientId=self.client)
            self.object = p.createMultiBody(0, baseVisualShapeIndex=vis,
                                            basePosition=[0.45, 0.08, half],
                                            physicsClientId=self.client)

    def _make_block(self, size: float) -> int:
        """2x2x2 cubes of different colours, so that flow has texture to track."""
        h = size / 4.0
        offsets = [(sx * h, sy * h, sz * h) for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]
        shapes = [p.createVisualShape(p.GEOM_BOX, halfExtents=[h] * 3, rgbaColor=c,
                                      physicsClientId=self.client) for c in _COLOURS]
        base = p.createVisualShape(p.GEOM_SPHERE, radius=1e-4, rgbaColor=(0, 0, 0, 0),
                                   physicsClientId=self.client)
        n = len(offsets)
        return p.createMultiBody(
            0, baseVisualShapeIndex=base, basePosition=[0, 0, 1],
            linkMasses=[0] * n, linkCollisionShapeIndices=[-1] * n, linkVisualShapeIndices=shapes,
            linkPositions=offsets, linkOrientations=[[0, 0, 0, 1]] * n,
            linkInertialFramePositions=[[0, 0, 0]] * n,
            linkInertialFrameOrientations=[[0, 0, 0, 1]] * n,
            linkParentIndices=[0] * n, linkJointTypes=[p.JOINT_FIXED] * n,
            linkJointAxis=[[0, 0, 1]] * n, physicsClientId=self.client)

    def _place(self, body: int, T: np.ndarray) -> None:
        w, x, y, z = transforms3d.quaternions.mat2quat(T[:3, :3])
        p.resetBasePositionAndOrientation(body, T[:3, 3].tolist(), [x, y, z, w],
                                          physicsClientId=self.client)

    def render(self, T_base_ee: np.ndarray, gripper: float = 0.0):
        """Place the block at T_base_ee (and the object, if carried) -> rgb, depth_m, segmentation."""
        self._place(self.block, T_base_ee)
        if self.object is not None:
            if gripper > 0.5 and self.object_offset is None:
                T_base_obj = self.object_pose()
                self.object_offset = np.linalg.inv(T_base_ee) @ T_base_obj
            elif gripper <= 0.5:
                self.object_offset = None
            if self.object_offset is not None:
                self._place(self.object, T_base_ee @ self.object_offset)
        view, proj = pybullet_view_projection(self.camera, self.near, self.far)
        W, H = self.camera.width, self.camera.height
        _, _, rgba, depth, seg = p.getCameraImage(
            W, H, view, proj, renderer=p.ER_TINY_RENDERER, shadow=0, physicsClientId=self.client)
        rgb = np.asarray(rgba, dtype=np.uint8).reshape(H, W, 4)[..., :3].copy()
        depth_m = depth_buffer_to_metres(np.asarray(depth).reshape(H, W), self.near, self.far)
        seg = np.asarray(seg, dtype=np.int64).reshape(H, W)
        return rgb, depth_m, seg

    def object_pose(self) -> np.ndarray:
        pos, quat = p.getBasePositionAndOrientation(self.object, physicsClientId=self.client)
        T = np.eye(4)
        T[:3, :3] = transforms3d.quaternions.quat2mat([quat[3], *quat[:3]])
        T[:3, 3] = pos
        return T

    def place_object(self, xyz) -> None:
        self.object_offset = None
        self._place(self.object, pose(xyz))

    def episode(self, T_base_ee: np.ndarray, gripper: np.ndarray | None = None) -> RigidEpisode:
        """Render every pose of (K+1, 4, 4) T_base_ee; the ee mask of frame 0 comes from segmentation."""
        T_base_ee = np.asarray(T_base_ee, dtype=np.float64)
        gripper = np.zeros(len(T_base_ee)) if gripper is None else np.asarray(gripper, float)
        frames, depth0, mask0 = [], None, None
        for i, (T, g) in enumerate(zip(T_base_ee, gripper)):
            rgb, depth_m, seg = self.render(T, g)
            frames.append(rgb)
            if i == 0:
                depth0, mask0 = depth_m, seg == self.block
        return RigidEpisode(np.stack(frames), depth0, self.camera, T_base_ee, gripper, mask0)

    def close(self) -> None:
        if self.client is not None and p.isConnected(self.client):
            p.disconnect(self.client)
        self.client = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def random_trajectory(rng: np.random.Generator, steps: int, max_step_m: float = 0.03,
                      max_step_rad: float = 0.0, start: np.ndarray | None = None) -> np.ndarray:
    """(steps+1, 4, 4) poses: a random walk over the table, top-down, with bounded steps."""
    T0 = start if start is not None else pose(
        [rng.uniform(0.38, 0.52), rng.uniform(-0.1, 0.1), rng.uniform(0.12, 0.2)],
        [np.pi, 0.0, rng.uniform(-np.pi, np.pi)])
    out = [T0]
    for _ in range(steps):
        step = pose(rng.uniform(-max_step_m, max_step_m, 3),
                    rng.uniform(-max_step_rad, max_step_rad, 3) if max_step_rad > 0 else (0, 0, 0))
        T = out[-1].copy()
        T[:3, 3] += step[:3, 3]
        T[:3, 3] = np.clip(T[:3, 3], [0.3, -0.2, 0.08], [0.6, 0.2, 0.3])
        T[:3, :3] = T[:3, :3] @ step[:3, :3]
        out.append(T)
    return np.stack(out)
