"""Episode files (HDF5), readers and the `generate` command. Names are imported on first use."""
from importlib import import_module

_EXPORTS = {
    'Episode': 'episode', 'write_episode': 'episode', 'read_episode': 'episode',
    'EpisodeReader': 'reader', 'VideoClipDataset': 'reader', 'collate_clips': 'reader',
    'record_expert_episode': 'recording', 'GenerateConfig': 'generate',
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(f'{__name__}.{_EXPORTS[name]}'), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
