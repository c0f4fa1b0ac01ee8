"""video_planner: plan robot manipulation in pixel space.

Data flows through the subpackages in this order:
sim (simulated arms + camera) -> data (episodes on disk) -> text + model (language + frame -> video)
-> dynamics (frames -> SE(3) end-effector motion) -> kinematics (SE(3) -> joints, pinocchio)
-> planner (the pipeline that chains them) -> ros (thin rclpy nodes over the pipeline).
Everything but ``ros`` imports without rclpy.
"""

__version__ = '0.1.0'
