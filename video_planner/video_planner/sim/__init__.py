"""pybullet tabletop: arms, tasks, scripted experts. Names are imported on first use, so that
`video_planner.sim.arms` (the registry) loads without pybullet's physics or the kinematics stack."""
from importlib import import_module

_EXPORTS = {
    'ARMS': 'arms', 'SEEN_ARMS': 'arms', 'HELD_OUT_ARMS': 'arms', 'ArmSpec': 'arms', 'get_arm': 'arms',
    'TaskSpec': 'tasks', 'ObjectSpec': 'tasks', 'TASK_FAMILIES': 'tasks', 'sample_task': 'tasks',
    'check_success': 'tasks', 'unmet_conditions': 'tasks', 'SUCCESS_RULES': 'tasks', 'EpisodeMonitor': 'episode',
    'DomainRandomization': 'randomization',
    'TabletopWorld': 'world', 'Observation': 'world', 'ScriptedExpert': 'expert', 'ExpertConfig': 'expert',
}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(f'{__name__}.{_EXPORTS[name]}'), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
