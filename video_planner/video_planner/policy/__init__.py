"""Image + language -> action baseline (behaviour cloning): what the video planner is compared against."""
from video_planner.policy.config import PolicyConfig
from video_planner.policy.network import PolicyNetwork
from video_planner.policy.policy import ImageLanguagePolicy, PolicyAction

__all__ = ['ImageLanguagePolicy', 'PolicyAction', 'PolicyConfig', 'PolicyNetwork']
