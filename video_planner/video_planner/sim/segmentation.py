"""Segmentation ids, the same in every episode and every arm (pybullet-free, so readers can import it)."""

SEG_BACKGROUND, SEG_TABLE, SEG_ARM, SEG_GRIPPER, SEG_OBJECT_BASE = 0, 1, 2, 3, 10  # object k is 10 + k


def object_segment(task: dict, name: str | None) -> int:
    """The segmentation id of the object called `name` in a stored task dict (-1: the task has none)."""
    names = [o['name'] for o in task.get('objects', [])]
    return SEG_OBJECT_BASE + names.index(name) if name in names else -1
