"""Tile videos into one image: each row a video (frame0 then the K future frames), for sample grids."""
from __future__ import annotations

import numpy as np


def video_grid(rows: list[np.ndarray], pad: int = 2, pad_value: int = 255) -> np.ndarray:
    """rows: videos (T,H,W,3) uint8 (same H, W) -> (R*(H+pad)-pad, T*(W+pad)-pad, 3) uint8."""
    t_max = max(r.shape[0] for r in rows)
    h, w = rows[0].shape[1:3]
    out = np.full((len(rows) * (h + pad) - pad, t_max * (w + pad) - pad, 3), pad_value, np.uint8)
    for i, video in enumerate(rows):
        for j, frame in enumerate(video):
            out[i * (h + pad):i * (h + pad) + h, j * (w + pad):j * (w + pad) + w] = frame
    return out
