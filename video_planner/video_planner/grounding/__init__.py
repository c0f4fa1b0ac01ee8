"""Grounding: which pixels of the camera frame does the instruction name? Feeds the video model's target hint."""
from video_planner.grounding.config import GroundingConfig
from video_planner.grounding.grounder import Grounder

__all__ = ['GroundingConfig', 'Grounder']
