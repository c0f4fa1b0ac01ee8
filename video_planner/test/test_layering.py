"""The package's import graph: no cycles between modules, and no layer imports one above it.

Read from the source with `ast` (every import, including those inside functions), so nothing is imported
to check it. The order below is the data flow of docs/ARCHITECTURE.md; a package may import its own
modules and any package in a lower layer.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / 'video_planner'

# Lowest first. Packages (or top-level modules) on one line form one layer and do not import each other.
LAYERS = [
    ('errors',),                               # the project's exception types
    ('config_fields', 'resources'),            # config dataclasses from YAML; files shipped with the package
    ('camera',),                               # pinhole camera + its pose in the robot base
    ('kinematics',),                           # URDF -> pinocchio, FK, IK, joint trajectories
    ('sim',),                                  # pybullet tabletop, arms, tasks, experts (moves arms through IK)
    ('embodiment',),                           # the canonical view: arm painted out, one canonical gripper drawn
    ('data',),                                 # episodes on disk, generation from the simulator, importers
    ('text',),                                 # the sentence encoder
    ('model',),                                # video diffusion model, trainer, checkpoints, small CNN parts
    ('dynamics',),                             # frames -> end-effector motion (flow+depth, learned)
    ('grounding',),                            # which pixels the instruction names (the target hint)
    ('policy',),                               # the image+language -> action baseline (reads the target hint)
    ('planner',),                              # frame + instruction -> plan -> poses -> joints
    ('evaluation',),                           # closed-loop benchmark, open-loop plan quality
    ('ros', 'train', 'cli', 'ament_install', '__init__'),  # nodes, command lines, the ament-index installer
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def module_name(path: Path) -> str:
    parts = ('video_planner',) + path.relative_to(PACKAGE).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def imported_modules(path: Path, modules: set[str] | None = None) -> set[str]:
    """Every video_planner module `path` imports, at any depth of its code. `from a import b` imports the
    module a.b when `modules` holds it, else a name of a."""
    modules = modules if modules is not None else set(all_modules())
    name = module_name(path)
    package = name if path.name == '__init__.py' else name.rpartition('.')[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                anchor = package.split('.')[:len(package.split('.')) - node.level + 1]
                base = '.'.join(anchor + ([node.module] if node.module else []))
            found.update(f'{base}.{alias.name}' if f'{base}.{alias.name}' in modules else base
                         for alias in node.names)
    return {m for m in found if m == 'video_planner' or m.startswith('video_planner.')}


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob('*.py')}


def import_graph() -> dict[str, set[str]]:
    files = all_modules()
    return {name: {m for m in imported_modules(path, set(files)) if m in files and m != name}
            for name, path in files.items()}


def layer(module: str) -> str:
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else '__init__'


def test_every_module_belongs_to_a_layer():
    unknown = sorted({layer(m) for m in import_graph()} - set(RANK))
    assert not unknown, f'add {unknown} to LAYERS in {Path(__file__).name}'


def test_no_layer_imports_a_higher_one():
    upward = sorted(f'{a} -> {b}' for a, deps in import_graph().items() for b in deps
                    if layer(a) != layer(b) and RANK.get(layer(b), -1) >= RANK.get(layer(a), -1))
    assert not upward, 'imports against the layer order:\n' + '\n'.join(upward)


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of `graph` as [a, b, ..., a], or [] (depth-first search)."""
    state: dict[str, int] = {}   # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        state[node] = 2
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return []


def test_no_import_cycles_between_modules():
    cycle = find_cycle(import_graph())
    assert not cycle, 'import cycle: ' + ' -> '.join(cycle)


@pytest.mark.parametrize('graph, cycle', [
    ({'a': {'b'}, 'b': {'c'}, 'c': set()}, False),
    ({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}, True),
    ({'a': {'a2'}, 'a2': set(), 'b': {'a', 'b'}}, True),
])
def test_the_cycle_finder_finds_cycles(graph, cycle):
    assert bool(find_cycle(graph)) == cycle


def test_the_import_reader_sees_imports_inside_functions():
    # The layering rules are only as good as the reader: lazy imports count as much as top-level ones.
    module = PACKAGE / 'evaluation' / 'suite.py'
    assert 'video_planner.planner' in imported_modules(module)           # imported inside a method
    assert 'video_planner.evaluation.config' in imported_modules(module)  # at the top
    assert 'video_planner.evaluation.methods' in imported_modules(module)  # `from package import module`
