"""Where the package's shipped files (config/, models/, launch/) live.

Installed by colcon they are under share/video_planner (found through the ament index); in a source
checkout or an editable pip install they sit beside the Python package.
"""
from pathlib import Path

PACKAGE = 'video_planner'


def share_dir() -> Path:
    source_tree = Path(__file__).resolve().parents[1]
    if (source_tree / 'config').is_dir():
        return source_tree
    try:
        from ament_index_python.packages import get_package_share_directory
        return Path(get_package_share_directory(PACKAGE))
    except Exception:  # not on an ament index: fall back to the source layout
        return source_tree


def config_path(name: str) -> Path:
    return share_dir() / 'config' / name


def model_path(name: str) -> Path:
    return share_dir() / 'models' / name


def model_file(value: str, default: str) -> Path:
    """A model setting -> its file: '' -> the shipped `default`; a bare file name that is not a file here
    (e.g. 'canonical.pt') -> that shipped model; anything else -> the path as given."""
    if not value:
        return model_path(default)
    path = Path(value)
    if path.name == value and not path.exists() and model_path(value).is_file():
        return model_path(value)
    return path
