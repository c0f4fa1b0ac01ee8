"""Does the robot's joint state belong to the URDF's arm? Checked before planning, not discovered at IK.

A URDF of another robot (a Panda's while a UR5 publishes its joints) would otherwise surface only deep
inside IK ("q_start: expected shape (6,) ... got (7,)"), after the video model has sampled for seconds.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from video_planner.errors import KinematicsError

FIX = 'give the planner the URDF of the robot that publishes these joint states (robot_description, urdf_path or arm)'


def match_joint_states(arm_joints: Sequence[str], names: Sequence[str], positions) -> np.ndarray:
    """The arm's joint positions, in `arm_joints` order, from a joint state (`names` may be empty: then
    `positions` must already be one value per arm joint, in order). KinematicsError when they do not fit."""
    q = np.asarray(positions, dtype=float).reshape(-1)
    arm_joints, names = list(arm_joints), list(names)
    if not names:
        if q.size != len(arm_joints):
            raise KinematicsError(f"the URDF does not match the robot: the robot's joint state has {q.size} "
                                  f"positions, the URDF's arm has {len(arm_joints)} actuated joints {arm_joints}; "
                                  f'{FIX}')
        return q
    if len(names) != q.size:
        raise KinematicsError(f'joint state: {len(names)} names but {q.size} positions')
    missing = [name for name in arm_joints if name not in names]
    if missing:
        raise KinematicsError(f"the URDF does not match the robot: the URDF's arm has {len(arm_joints)} actuated "
                              f"joints {arm_joints}, the robot's joint state has {len(names)} {names}; missing from "
                              f'the joint state: {missing}; {FIX}')
    index = {name: i for i, name in enumerate(names)}
    return q[[index[name] for name in arm_joints]]
