"""The plan critic: does this video plan do what its instruction says? Ranks sampled candidates."""
from video_planner.critic.config import CriticConfig
from video_planner.critic.critic import PlanCritic

__all__ = ['CriticConfig', 'PlanCritic']
