"""launch/plan.launch.py: what it names must exist, and what it loads must be valid for its node.

`launch` / `launch_ros` are not on PyPI, so the file's structure is checked through its syntax tree
here; where they are importable (a ROS install) the launch description is also built for real.
"""
import ast
import configparser
import importlib.util
import re
import sys
from pathlib import Path

import pytest

from video_planner.ros.inverse_dynamics_node import InverseDynamicsNodeParams
from video_planner.ros.params import load_yaml_config
from video_planner.ros.planner_node import PlannerNodeParams
from video_planner.ros.sim_robot_node import SimRobotParams

PACKAGE_DIR = Path(__file__).resolve().parents[1]
LAUNCH_FILE = PACKAGE_DIR / 'launch' / 'plan.launch.py'
NODE_PARAMS = {'planner_node': PlannerNodeParams, 'inverse_dynamics_node': InverseDynamicsNodeParams,
               'sim_robot_node': SimRobotParams}


def entry_points() -> set[str]:
    tree = ast.parse((PACKAGE_DIR / 'setup.py').read_text())
    scripts = next(node for node in ast.walk(tree) if isinstance(node, ast.Constant)
                   and node.value == 'console_scripts')
    parent = next(node for node in ast.walk(tree) if isinstance(node, ast.Dict) and scripts in node.keys)
    lines = ast.literal_eval(parent.values[parent.keys.index(scripts)])
    return {line.split('=')[0].strip() for line in lines}


def launch_calls(name: str) -> list[ast.Call]:
    tree = ast.parse(LAUNCH_FILE.read_text())
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and getattr(node.func, 'id', getattr(node.func, 'attr', None)) == name]


def keyword(call: ast.Call, name: str):
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def test_the_launch_file_compiles():
    compile(LAUNCH_FILE.read_text(), str(LAUNCH_FILE), 'exec')


def test_every_executable_it_starts_is_an_entry_point_of_this_package():
    nodes = launch_calls('Node')
    ours = [call for call in nodes if ast.unparse(keyword(call, 'package')) == 'PACKAGE']
    others = {ast.literal_eval(keyword(call, 'package')) for call in nodes if call not in ours}
    assert others == {'rviz2', 'robot_state_publisher'}
    executables = {keyword(call, 'executable').value for call in ours}
    assert executables == {'planner_node', 'inverse_dynamics_node', 'sim_robot_node'}
    assert executables <= entry_points()
    assert re.search(r"^PACKAGE = 'video_planner'$", LAUNCH_FILE.read_text(), re.M)
    # colcon installs console scripts where `ros2 run` / launch look for executables.
    setup_cfg = configparser.ConfigParser()
    setup_cfg.read(PACKAGE_DIR / 'setup.cfg')
    assert setup_cfg['install']['install_scripts'] == '$base/lib/video_planner'


def test_every_parameter_file_it_loads_exists_and_is_valid_for_its_node():
    referenced = {call.args[0].value for call in launch_calls('_config')}
    assert referenced == {'planner.yaml', 'inverse_dynamics.yaml', 'sim_robot.yaml', 'plan.rviz'}
    for name in referenced:
        assert (PACKAGE_DIR / 'config' / name).is_file(), name
    for node, params_cls in NODE_PARAMS.items():
        path = PACKAGE_DIR / 'config' / (node.removesuffix('_node') + '.yaml')
        config = load_yaml_config(path, params_cls, node)   # unknown names, types, ranges, cross-checks
        assert config is not None


def test_launch_arguments_override_only_real_parameters():
    """Every dict key the launch file passes as a parameter is a parameter of the node it goes to."""
    source = LAUNCH_FILE.read_text()
    tree = ast.parse(source)
    assigned = {node.targets[0].id: node.value for node in ast.walk(tree)
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}
    checked = set()
    for call in launch_calls('Node'):
        executable = keyword(call, 'executable').value
        if executable not in NODE_PARAMS:
            continue
        fields = set(NODE_PARAMS[executable].__dataclass_fields__)
        for item in keyword(call, 'parameters').elts:
            node = assigned.get(item.id) if isinstance(item, ast.Name) else item
            if isinstance(node, ast.Dict):
                keys = {ast.literal_eval(key) for key in node.keys}
                assert keys <= fields, (executable, keys - fields)
                checked.add(executable)
    assert checked == set(NODE_PARAMS)   # every node of ours gets launch arguments, and each was checked
    arguments = ast.literal_eval(assigned['ARGUMENTS'])
    used = set(re.findall(r"LaunchConfiguration\('(\w+)'\)|_arg\('(\w+)'", source))
    used = {a or b for a, b in used}
    assert used <= set(arguments), used - set(arguments)


def test_the_rviz_config_shows_the_plan_in_the_base_frame():
    import yaml
    rviz = yaml.safe_load((PACKAGE_DIR / 'config' / 'plan.rviz').read_text())
    manager = rviz['Visualization Manager']
    classes = {d['Class']: d for d in manager['Displays']}
    assert classes['rviz_default_plugins/Path']['Topic']['Value'] == '/ee_path'
    assert classes['rviz_default_plugins/MarkerArray']['Topic']['Value'] == '/ee_markers'
    images = [d['Topic']['Value'] for d in manager['Displays'] if d['Class'] == 'rviz_default_plugins/Image']
    assert '/video_plan/preview' in images
    robot = classes['rviz_default_plugins/RobotModel']
    assert robot['Description Source'] == 'Topic'
    assert robot['Description Topic']['Value'] == '/robot_description'
    assert robot['Description Topic']['Durability Policy'] == 'Transient Local'
    from video_planner.sim.arms import get_arm
    assert manager['Global Options']['Fixed Frame'] == get_arm('panda').base_frame


@pytest.mark.parametrize('arm', ['panda', 'ur5'])
def test_the_rviz_config_the_launch_file_writes_follows_the_arm(arm, tmp_path):
    import yaml
    from video_planner.ros.rviz_config import arm_base_frame, write_rviz_config
    from video_planner.sim.arms import get_arm

    path = write_rviz_config(arm_base_frame(arm), tmp_path / 'plan.rviz')
    written = yaml.safe_load(path.read_text())
    template = yaml.safe_load((PACKAGE_DIR / 'config' / 'plan.rviz').read_text())
    assert written['Visualization Manager']['Global Options']['Fixed Frame'] == get_arm(arm).base_frame
    assert written['Visualization Manager']['Displays'] == template['Visualization Manager']['Displays']
    assert 'write_rviz_config(arm_base_frame(arm, urdf_path)' in LAUNCH_FILE.read_text()


def test_a_real_arms_base_frame_is_its_urdfs_root_link(tmp_path):
    from video_planner.errors import ConfigError
    from video_planner.ros.rviz_config import arm_base_frame
    from video_planner.sim.arms import get_arm

    spec = get_arm('ur5')
    assert arm_base_frame('', str(spec.urdf_path)) == spec.base_frame
    urdf = tmp_path / 'two_roots.urdf'
    urdf.write_text('<robot name="r"><link name="a"/><link name="b"/></robot>')
    with pytest.raises(ConfigError, match='2 root links'):
        arm_base_frame('', str(urdf))
    with pytest.raises(ConfigError, match="arm 'robby' is not a simulator arm"):
        arm_base_frame('robby')


def ros_launch_installed() -> bool:
    """True when `import launch` finds ROS 2's launch package, not this package's own launch/ folder (which,
    with the package directory on sys.path, imports as an empty namespace package)."""
    spec = importlib.util.find_spec('launch')
    return (spec is not None and spec.origin is not None and spec.origin.endswith('__init__.py')
            and importlib.util.find_spec('launch_ros') is not None)


def test_the_launch_folder_is_not_taken_for_ros_launch(monkeypatch):
    monkeypatch.setattr(sys, 'path', [str(PACKAGE_DIR)])
    monkeypatch.delitem(sys.modules, 'launch', raising=False)
    monkeypatch.delitem(sys.modules, 'launch_ros', raising=False)
    assert importlib.util.find_spec('launch') is not None   # the folder alone does import...
    assert not ros_launch_installed()                        # ...and is not ROS 2's launch


@pytest.mark.skipif(not ros_launch_installed(), reason="ROS 2's launch / launch_ros are not installed")
def test_the_launch_description_builds_with_ros_launch():
    spec = importlib.util.spec_from_file_location('plan_launch', LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    assert len(description.entities) >= 4
