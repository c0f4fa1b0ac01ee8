"""TextConditioned: a small trained network that reads instructions through the sentence encoder.

The image+language policy and the grounding network are each one network, its config and a lazily loaded
TextEncoder, loaded from the EMA weights of a checkpoint of their own kind.
"""
from __future__ import annotations

from pathlib import Path


class TextConditioned:
    kind: str = ''            # checkpoint kind written by its `video-planner train --model ...`
    config_type: type = object
    network_type: type = object

    def __init__(self, network, text_encoder=None, device: str = 'cpu'):
        self.network = network.to(device).eval()
        self.config = network.config
        self.device = device
        self._text_encoder = text_encoder

    @property
    def text_encoder(self):
        if self._text_encoder is None:
            from video_planner.text import TextEncoder
            self._text_encoder = TextEncoder()
        return self._text_encoder

    @classmethod
    def load(cls, path: str | Path, text_encoder=None, device: str = 'cpu'):
        """From a checkpoint of this class's kind (its EMA weights)."""
        from video_planner.model.checkpoint import load_trained_network
        return cls(load_trained_network(path, cls.kind, cls.config_type, cls.network_type), text_encoder, device)
