"""Closed-loop benchmark on the simulator: the video planner against its baselines on the same tasks."""
from video_planner.evaluation.config import SuiteConfig
from video_planner.evaluation.stats import SuccessRate, wilson_interval
from video_planner.evaluation.suite import SuiteResult, run_suite, task_instances

__all__ = ['SuccessRate', 'SuiteConfig', 'SuiteResult', 'run_suite', 'task_instances', 'wilson_interval']
