"""Offline sentence encoder for instructions (all-MiniLM-L6-v2, bundled weights, cached)."""
from video_planner.text.encoder import EMBEDDING_DIM, TextEncoder

__all__ = ['EMBEDDING_DIM', 'TextEncoder']
