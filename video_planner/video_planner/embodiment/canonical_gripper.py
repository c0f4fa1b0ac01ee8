"""One gripper of fixed looks, drawn at an end-effector position: what every arm becomes in the canonical view.

It is drawn with OpenCV from projected boxes, not with the simulator's renderer, so that it looks the same
on a real camera frame as in simulation, under any lighting. Its pose depends only on the tool centre
point's position and the gripper opening, never on the arm: it always points straight down (-z of the
base frame) with its fingers apart along the base frame's y axis.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from video_planner.camera import CameraModel

# Colours (RGB 0..255) unlike any object or table colour of the tabletop: cyan fingers, a dark palm.
FINGER_RGB = (0, 215, 230)
PALM_RGB = (60, 60, 70)
STALK_RGB = (150, 150, 160)
# A fixed light in the camera frame: the canonical gripper's shading does not follow the scene's light.
_LIGHT_CAMERA = np.array([0.3, -0.5, -0.8]) / np.linalg.norm([0.3, -0.5, -0.8])
_SUBPIXEL_BITS = 4
# The 6 faces of a box as corner indices (corners: bit 0 -> +x, bit 1 -> +y, bit 2 -> +z), outward normals.
_FACES = ((0, 2, 6, 4), (1, 5, 7, 3), (0, 4, 5, 1), (2, 3, 7, 6), (0, 1, 3, 2), (4, 6, 7, 5))
_NORMALS = np.array([[-1, 0, 0], [1, 0, 0], [0, -1, 0], [0, 1, 0], [0, 0, -1], [0, 0, 1]], float)


@dataclass(frozen=True)
class CanonicalGripper:
    """Sizes in metres at scale 1 (a Panda's workspace); `scale` sizes it with the arm's workspace."""
    finger_size: tuple[float, float, float] = (0.016, 0.012, 0.045)
    palm_height: float = 0.018
    palm_depth: float = 0.03
    stalk_size: tuple[float, float, float] = (0.022, 0.022, 0.07)
    open_gap: float = 0.085     # between finger centres, gripper 0.0
    closed_gap: float = 0.03    # gripper 1.0
    scale: float = 1.0

    def boxes(self, position: np.ndarray, gripper: float) -> list[tuple[np.ndarray, np.ndarray, tuple]]:
        """(centre (3,), half extents (3,), colour) of each box in the base frame; the fingertips' centre
        is at `position`."""
        s = self.scale
        g = float(np.clip(gripper, 0.0, 1.0))
        gap = s * (self.open_gap + (self.closed_gap - self.open_gap) * g)
        fx, fy, fz = (s * v for v in self.finger_size)
        p = np.asarray(position, dtype=float)
        palm_z = fz + s * self.palm_height / 2
        boxes = [(p + [0, sign * gap / 2, fz / 2], np.array([fx, fy, fz]) / 2, FINGER_RGB) for sign in (-1, 1)]
        boxes.append((p + [0, 0, palm_z], np.array([s * self.palm_depth, gap + fy, s * self.palm_height]) / 2,
                      PALM_RGB))
        sx, sy, sz = (s * v for v in self.stalk_size)
        boxes.append((p + [0, 0, fz + s * self.palm_height + sz / 2], np.array([sx, sy, sz]) / 2, STALK_RGB))
        return boxes


def _box_faces(centre: np.ndarray, half: np.ndarray, T_camera_base: np.ndarray):
    """Visible faces of an axis-aligned box (base frame): (corners in the camera frame (4, 3), normal)."""
    signs = np.array([[(i >> b & 1) * 2 - 1 for b in range(3)] for i in range(8)], float)
    corners = (centre + signs * half) @ T_camera_base[:3, :3].T + T_camera_base[:3, 3]
    normals = _NORMALS @ T_camera_base[:3, :3].T
    for face, n in zip(_FACES, normals):
        quad = corners[list(face)]
        if np.dot(n, quad.mean(axis=0)) < 0:  # faces the camera
            yield quad, n


def draw_canonical_gripper(rgb: np.ndarray, camera: CameraModel, position_base: np.ndarray, gripper: float,
                           gripper_model: CanonicalGripper, depth_m: np.ndarray | None = None,
                           free: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw the canonical gripper with its fingertips at `position_base` into a copy of `rgb`.

    depth_m: the scene's depth; a scene surface more than 1 cm in front of a face hides it (an object in
    front of the gripper). free: pixels where the scene's depth says nothing (the erased arm): drawn over.
    Returns (image, mask of the gripper's pixels).
    """
    h, w = rgb.shape[:2]
    T = camera.T_camera_base
    faces = [face for centre, half, colour in gripper_model.boxes(position_base, gripper)
             for face in ((q, n, colour) for q, n in _box_faces(centre, half, T))]
    faces.sort(key=lambda f: -f[0][:, 2].mean())  # far to near
    out = rgb.copy()
    mask = np.zeros((h, w), dtype=bool)
    scale = 1 << _SUBPIXEL_BITS
    for quad, n, colour in faces:
        if np.any(quad[:, 2] <= 1e-3):
            continue
        uv, _ = camera.project_camera(quad)
        shade = 0.55 + 0.45 * abs(float(np.dot(n, _LIGHT_CAMERA)))
        layer = np.zeros((h, w), dtype=np.uint8)
        cv2.fillConvexPoly(layer, np.round((uv + 0.5) * scale - 0.5).astype(np.int32), 255, cv2.LINE_AA,
                           _SUBPIXEL_BITS)
        alpha = layer.astype(np.float32) / 255.0
        if depth_m is not None:
            hidden = np.nan_to_num(depth_m, nan=np.inf) < float(quad[:, 2].mean()) - 0.01
            if free is not None:
                hidden &= ~free
            alpha[hidden] = 0.0
        colour_arr = np.clip(np.array(colour, np.float32) * shade, 0, 255)
        out = (out.astype(np.float32) * (1 - alpha[..., None]) + colour_arr * alpha[..., None]).round().astype(np.uint8)
        mask |= alpha > 0.5
    return out, mask
