"""The planning pipeline: frame + instruction -> video plan -> SE(3) poses -> joint targets."""
from video_planner.planner.config import PlannerConfig
from video_planner.planner.pipeline import VideoPlanner
from video_planner.planner.request import Plan, PlanCancelled, PlanRequest

__all__ = ['Plan', 'PlanCancelled', 'PlannerConfig', 'PlanRequest', 'VideoPlanner']
