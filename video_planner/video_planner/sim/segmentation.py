"""Segmentation ids, the same in every episode and every arm (pybullet-free, so readers can import it)."""

SEG_BACKGROUND, SEG_TABLE, SEG_ARM, SEG_GRIPPER, SEG_OBJECT_BASE = 0, 1, 2, 3, 10  # object k is 10 + k
