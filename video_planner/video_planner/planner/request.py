"""What goes into a plan and what comes out, as plain data (no ROS types)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from video_planner.camera import CameraModel
from video_planner.errors import PlanningError, VideoPlannerError
from video_planner.planner.goal_limits import check_instruction

# progress(stage, fraction of the whole goal, sampler step, sampler steps)
ProgressFn = Callable[[str, float, int, int], None]
CancelFn = Callable[[], bool]


class PlanCancelled(PlanningError):
    """The caller asked to stop; raised between sampler steps."""


@dataclass
class PlanRequest:
    instruction: str
    rgb: np.ndarray                      # HxWx3 uint8, the current camera frame
    depth_m: Optional[np.ndarray]        # HxW float32 metres (NaN = unknown), same size as rgb
    camera: CameraModel                  # intrinsics of rgb and T_base_camera
    T_base_ee: np.ndarray                # current end-effector pose in the base frame
    q_current: Optional[np.ndarray] = None
    joint_names: tuple[str, ...] = ()    # names of q_current's entries, when known (sensor_msgs/JointState)
    ee_mask: Optional[np.ndarray] = None  # HxW bool pixels of the end effector, when known (simulation)
    num_candidates: int = 0              # 0 = config default
    sampling_steps: int = 0              # 0 = config default
    seed: int = -1                       # -1 = random
    gripper: float = 0.0                 # the gripper now, 0 open .. 1 closed: where the plan's commands start

    def validate(self) -> None:
        check_instruction(self.instruction, field='instruction')
        if not 0.0 <= float(self.gripper) <= 1.0:
            raise VideoPlannerError(f'gripper must be in [0, 1] (0 open, 1 closed), got {self.gripper!r}')
        rgb = self.rgb
        if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise VideoPlannerError(f'rgb must be an HxWx3 uint8 array, got {getattr(rgb, "dtype", type(rgb))} '
                                    f'{getattr(rgb, "shape", "")}')
        if (rgb.shape[1], rgb.shape[0]) != (self.camera.width, self.camera.height):
            raise VideoPlannerError(f'rgb is {rgb.shape[1]}x{rgb.shape[0]} but the camera model is '
                                    f'{self.camera.width}x{self.camera.height}')
        if self.depth_m is not None:
            if self.depth_m.shape != rgb.shape[:2]:
                raise VideoPlannerError(f'depth is {self.depth_m.shape} but rgb is {rgb.shape[:2]}')
            if not np.isfinite(self.depth_m).any():
                raise VideoPlannerError('depth has no finite value (all NaN/inf)')
        T = np.asarray(self.T_base_ee)
        if T.shape != (4, 4) or not np.all(np.isfinite(T)):
            raise VideoPlannerError('T_base_ee must be a finite 4x4 pose')
        if self.q_current is not None and not np.all(np.isfinite(self.q_current)):
            raise VideoPlannerError('q_current has non-finite joint positions')


@dataclass
class Plan:
    instruction: str
    frames: np.ndarray                   # (K+1, H, W, 3) uint8; frames[0] is the conditioning frame
    frame_period_s: float
    T_base_ee: np.ndarray                # (K+1, 4, 4) end-effector poses in the base frame
    gripper: np.ndarray                  # (K+1,) 0 open .. 1 closed
    confidence: np.ndarray               # (K+1,) inverse-dynamics confidence
    joint_trajectory: Any = None         # kinematics.JointTrajectory, or None without a URDF
    score: float = 0.0                   # inverse-dynamics confidence of the plan
    status: str = 'ok'                   # 'ok' or the reason the plan failed
    timings: dict[str, float] = field(default_factory=dict)
    # 'video': the video model's plan; 'step_aside': the tool moves out of the camera's way of the named
    # object, which the arm hides (planner/step_aside.py), and the next plan sees it; 'home': the tool goes
    # back to the arm's home pose, where the video model can plan from (VideoPlanner.home_plan).
    kind: str = 'video'
    # The video's first frame after the current one draws the tool farther than max_step_m from where it is.
    starts_elsewhere: bool = False

    @property
    def ok(self) -> bool:
        return self.status == 'ok'
