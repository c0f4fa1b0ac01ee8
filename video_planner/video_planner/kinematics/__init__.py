"""URDF -> pinocchio model, forward kinematics, IK for SE(3) targets, Cartesian path -> joint trajectory.

Poses are ``T_base_ee`` 4x4 float64 matrices; quaternions are (w, x, y, z) except in the ``*_xyzw``
helpers of :mod:`rotations`, which exist for the ROS layer.
"""
from video_planner.kinematics.arm import ArmKinematics
from video_planner.kinematics.ik import IkConfig, IkReason, IkResult, IkSolver
from video_planner.kinematics.trajectory import (
    BRANCH_FLIP,
    JointTrajectory,
    TrajectoryError,
    cartesian_to_joint_trajectory,
    time_parameterize,
)

__all__ = [
    'ArmKinematics', 'IkConfig', 'IkReason', 'IkResult', 'IkSolver', 'BRANCH_FLIP', 'JointTrajectory',
    'TrajectoryError', 'cartesian_to_joint_trajectory', 'time_parameterize',
]
