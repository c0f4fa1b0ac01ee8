"""Which pixels of a camera frame show the arm, from its URDF, its joint positions and the camera pose.

This is the real-camera path: nothing is read from the image. The arm is rendered alone (pybullet's
software renderer, its own DIRECT client) and, where the frame's depth is known, a pixel counts as the
arm only where no scene surface lies in front of it (an object between the camera and the arm stays).
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from video_planner.camera import CameraModel
from video_planner.errors import VideoPlannerError

NEAR_M, FAR_M = 0.02, 5.0
IN_FRONT_MARGIN_M = 0.03   # a scene surface this much nearer than the arm hides it
DILATE_PX = 1              # covers calibration error and the arm's anti-aliased rim at 64 px


def dilate(mask: np.ndarray, pixels: int = DILATE_PX) -> np.ndarray:
    if pixels <= 0 or not mask.any():
        return mask.astype(bool)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


class ArmMaskRenderer:
    """Renders one arm (an `ArmSpec`) at given joint positions into a camera's pixels."""

    def __init__(self, spec):
        import pybullet as p
        self._p = p
        self.spec = spec
        self.client = p.connect(p.DIRECT)
        try:
            self.body = p.loadURDF(str(spec.urdf_path), spec.base_position, useFixedBase=True,
                                   flags=p.URDF_ENABLE_CACHED_GRAPHICS_SHAPES, physicsClientId=self.client)
        except p.error as exc:
            p.disconnect(self.client)
            raise VideoPlannerError(f'arm {spec.name!r}: cannot load {spec.urdf_path} to mask the arm ({exc})') from exc
        joints = {p.getJointInfo(self.body, j, physicsClientId=self.client)[1].decode(): j
                  for j in range(p.getNumJoints(self.body, physicsClientId=self.client))}
        self._arm = [joints[n] for n in spec.arm_joints]
        self._fingers = [joints[n] for n in spec.gripper.joints if n in joints]

    def set_state(self, q: np.ndarray, gripper: float = 0.0) -> None:
        q = np.asarray(q, dtype=float).reshape(-1)
        if q.shape[0] != len(self._arm) or not np.all(np.isfinite(q)):
            raise VideoPlannerError(f'arm {self.spec.name!r}: masking the arm needs {len(self._arm)} finite joint '
                                    f'positions, got {q.tolist()}')
        for j, value in zip(self._arm, q):
            self._p.resetJointState(self.body, j, float(value), physicsClientId=self.client)
        g = self.spec.gripper
        for j, lo, hi in zip(self._fingers, g.open_q, g.closed_q):
            self._p.resetJointState(self.body, j, lo + (hi - lo) * float(np.clip(gripper, 0, 1)),
                                    physicsClientId=self.client)

    def render_depth(self, camera: CameraModel) -> np.ndarray:
        """(H, W) metres along the optical axis to the arm; inf where the arm is not."""
        from video_planner.sim.world import depth_buffer_to_metres, pybullet_view_matrix
        p = self._p
        fov = math.degrees(2 * math.atan(0.5 * camera.height / camera.fy))
        proj = p.computeProjectionMatrixFOV(fov, camera.width / camera.height, NEAR_M, FAR_M)
        _, _, _, depth, seg = p.getCameraImage(camera.width, camera.height, pybullet_view_matrix(camera.T_base_camera),
                                               proj, renderer=p.ER_TINY_RENDERER, shadow=0,
                                               physicsClientId=self.client)
        h, w = camera.height, camera.width
        depth_m = depth_buffer_to_metres(np.asarray(depth, dtype=np.float64).reshape(h, w), NEAR_M, FAR_M)
        return np.where(np.asarray(seg).reshape(h, w) == self.body, depth_m, np.inf).astype(np.float32)

    def mask(self, q: np.ndarray, camera: CameraModel, depth_m: np.ndarray | None = None,
             gripper: float = 0.0) -> np.ndarray:
        """(H, W) bool: the arm's visible pixels (all of its silhouette when `depth_m` is None), dilated."""
        self.set_state(q, gripper)
        arm_depth = self.render_depth(camera)
        mask = np.isfinite(arm_depth)
        if depth_m is not None:
            scene = np.nan_to_num(np.asarray(depth_m, dtype=np.float32), nan=np.inf)
            mask &= ~(scene < arm_depth - IN_FRONT_MARGIN_M)
        return dilate(mask)

    def close(self) -> None:
        if self.client is not None and self._p.isConnected(self.client):
            self._p.disconnect(self.client)
        self.client = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
