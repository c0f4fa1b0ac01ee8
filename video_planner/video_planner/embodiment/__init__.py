"""Planning that does not depend on how the arm looks (the "canonical view", as in Mirage 2024 / Shadow 2025).

The real arm's pixels are found from its URDF, joint states and the calibrated camera pose (`arm_mask`),
painted out of the frame, and one canonical gripper of fixed looks is drawn at the end effector's
position (`canonical_gripper`). The video model plans in that world and the inverse dynamics reads the
canonical gripper back, so neither ever sees what the arm looks like (`canonical_view`).
"""
from video_planner.embodiment.canonical_gripper import CanonicalGripper, draw_canonical_gripper
from video_planner.embodiment.canonical_view import VIEWS, CanonicalView, check_view, erase_arm

__all__ = ['VIEWS', 'CanonicalGripper', 'CanonicalView', 'check_view', 'draw_canonical_gripper', 'erase_arm']
