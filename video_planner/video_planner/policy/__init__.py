"""Image + language -> action baseline (ACT-style behaviour cloning): what the video planner is compared against."""
from video_planner.policy.config import PolicyConfig
from video_planner.policy.network import PolicyNetwork
from video_planner.policy.policy import ChunkEnsemble, ImageLanguagePolicy, PolicyChunk

__all__ = ['ChunkEnsemble', 'ImageLanguagePolicy', 'PolicyChunk', 'PolicyConfig', 'PolicyNetwork']
