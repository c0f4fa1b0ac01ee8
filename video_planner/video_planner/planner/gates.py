"""Safety gates every plan passes before a command may leave: they return a reason, never raise."""
from __future__ import annotations

from typing import Optional

import numpy as np

from video_planner.dynamics.postprocess import confidence_failure
from video_planner.planner.config import PlannerConfig


def check_finite(T_base_ee: np.ndarray) -> str:
    return '' if np.all(np.isfinite(T_base_ee)) else 'inverse dynamics produced non-finite poses'


def check_confidence(confidence: np.ndarray, config: PlannerConfig) -> str:
    return confidence_failure(confidence, config.min_confidence)


def check_workspace(T_base_ee: np.ndarray, config: PlannerConfig) -> str:
    positions = T_base_ee[:, :3, 3]
    lo, hi = np.asarray(config.workspace_min), np.asarray(config.workspace_max)
    outside = np.any((positions < lo) | (positions > hi), axis=1)
    if outside.any():
        i = int(np.argmax(outside))
        return f'waypoint {i} at {np.round(positions[i], 3).tolist()} m is outside the workspace {lo.tolist()}..{hi.tolist()}'
    return ''


def check_step_size(T_base_ee: np.ndarray, config: PlannerConfig) -> str:
    steps = np.linalg.norm(np.diff(T_base_ee[:, :3, 3], axis=0), axis=1)
    if len(steps) and steps.max() > config.max_step_m:
        i = int(np.argmax(steps))
        return f'step {i}->{i + 1} moves {steps[i]:.3f} m, more than max_step_m {config.max_step_m:.3f}'
    return ''


def first_failure(T_base_ee: np.ndarray, confidence: np.ndarray, config: PlannerConfig,
                  read: Optional[np.ndarray] = None) -> str:
    """The reason of the first gate that fails, or '' when the plan may be executed. `read`: the poses as the
    inverse dynamics read them, before contact snapping (default: `T_base_ee`). The step gate checks those: a
    jump between two frames is a misread frame, while a snapped waypoint is placed from the depth image and
    may lie farther from its neighbour (a release moved over the destination); the executor's step and the
    IK's joint-velocity limits pace any distance."""
    read = T_base_ee if read is None else read
    for reason in (check_finite(T_base_ee), check_confidence(confidence, config),
                   check_workspace(T_base_ee, config), check_step_size(read, config)):
        if reason:
            return reason
    return ''


# Which check refused a plan, by the words of its Plan.status (the reasons above, the collision gate's, IK's).
REFUSAL_KINDS = (('non-finite', 'non-finite poses'), ('inverse-dynamics confidence', 'low confidence'),
                 ('outside the workspace', 'outside the workspace'), ('more than max_step_m', 'step too long'),
                 ('drives the gripper through', 'collision'), ('IK failed', 'IK'))


def refusal_kind(status: str) -> str:
    """The check a refused plan's status names (REFUSAL_KINDS), or 'other'."""
    return next((kind for words, kind in REFUSAL_KINDS if words in status), 'other')
