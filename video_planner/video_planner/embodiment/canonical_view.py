"""A camera frame -> the same scene with the arm painted out and the canonical gripper at its end effector.

Two views exist: 'camera' (frames as the camera sees them; what the models were first trained on) and
'canonical'. A model's config records which view it was trained in; the planner feeds it that view.
"""
from __future__ import annotations

import cv2
import numpy as np

from video_planner.camera import CameraModel
from video_planner.embodiment.arm_mask import ArmMaskRenderer, dilate
from video_planner.embodiment.canonical_gripper import CanonicalGripper, draw_canonical_gripper
from video_planner.errors import ConfigError, VideoPlannerError

VIEWS = ('camera', 'canonical')
INPAINT_RADIUS_PX = 3


def check_view(view: str, where: str = 'view') -> str:
    if view not in VIEWS:
        raise ConfigError(f'{where}: expected one of {list(VIEWS)}, got {view!r}')
    return view


def erase_arm(rgb: np.ndarray, arm_mask: np.ndarray) -> np.ndarray:
    """`rgb` with the masked pixels filled in from their surroundings (OpenCV's Telea inpainting)."""
    if not arm_mask.any():
        return rgb.copy()
    return cv2.inpaint(np.ascontiguousarray(rgb), arm_mask.astype(np.uint8), INPAINT_RADIUS_PX, cv2.INPAINT_TELEA)


def arm_mask_from_segmentation(seg: np.ndarray) -> np.ndarray:
    """The simulator's visible arm pixels (the same pixels `ArmMaskRenderer` finds with depth), dilated alike."""
    from video_planner.sim.segmentation import SEG_ARM, SEG_GRIPPER
    return dilate(np.isin(seg, (SEG_ARM, SEG_GRIPPER)))


class CanonicalView:
    """Turns frames of one arm into the canonical view. `spec` (an ArmSpec) gives the URDF for the mask and
    the workspace scale that sizes the canonical gripper."""

    def __init__(self, spec, gripper_model: CanonicalGripper | None = None):
        self.spec = spec
        self.gripper_model = gripper_model or CanonicalGripper(scale=float(spec.scale))
        self._renderer: ArmMaskRenderer | None = None

    def arm_mask(self, q: np.ndarray | None, camera: CameraModel, depth_m: np.ndarray | None = None,
                 gripper: float = 0.0) -> np.ndarray:
        if q is None:
            raise VideoPlannerError('the canonical view needs the arm\'s joint positions to find the arm in the '
                                    'frame (publish sensor_msgs/JointState, or pass q_current)')
        self.load()
        return self._renderer.mask(q, camera, depth_m, gripper)

    def load(self) -> None:
        """Loads the arm's URDF into the mask renderer now (a node does at start-up, not at its first plan)."""
        if self._renderer is None:
            self._renderer = ArmMaskRenderer(self.spec)

    def frame(self, rgb: np.ndarray, camera: CameraModel, T_base_ee: np.ndarray, gripper: float,
              arm_mask: np.ndarray, depth_m: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(canonical frame, the canonical gripper's pixels) for one frame whose arm pixels are `arm_mask`."""
        erased = erase_arm(rgb, arm_mask)
        return draw_canonical_gripper(erased, camera, np.asarray(T_base_ee)[:3, 3], gripper, self.gripper_model,
                                      depth_m=depth_m, free=arm_mask)

    def from_robot_state(self, rgb: np.ndarray, camera: CameraModel, T_base_ee: np.ndarray, gripper: float,
                         q: np.ndarray | None, depth_m: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The real-camera path: the arm's pixels from the URDF at `q` and the camera pose."""
        return self.frame(rgb, camera, T_base_ee, gripper, self.arm_mask(q, camera, depth_m, gripper), depth_m)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
