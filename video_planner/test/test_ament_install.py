"""video_planner on the ament index, as scripts/setup.sh installs it (video_planner.ament_install).

What ros2 pkg / run / launch read: the package marker in share/ament_index, the share directory with
package.xml, launch/ and config/, and one executable per node under lib/video_planner. The index is
read with ament_index_python (the library ros2cli and launch use), the executables are run.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_bag import make_envelope
from video_planner.ament_install import PACKAGE, install, read_setup
from video_planner.ros.bag import write_plan_bag

pytestmark = pytest.mark.timeout(240)

PACKAGE_DIR = Path(__file__).resolve().parents[1]
NODES = ('planner_node', 'inverse_dynamics_node', 'sim_robot_node', 'replay_node', 'recorder_node')


@pytest.fixture(scope='module')
def prefix(tmp_path_factory):
    prefix = tmp_path_factory.mktemp('prefix')
    install(prefix)
    return prefix


@pytest.fixture
def ament_env(prefix, monkeypatch):
    monkeypatch.setenv('AMENT_PREFIX_PATH', str(prefix))
    return prefix


def test_the_package_is_on_the_ament_index_with_its_share_files(ament_env):
    from ament_index_python.packages import (
        get_package_prefix, get_package_share_directory, get_packages_with_prefixes)

    assert get_packages_with_prefixes() == {PACKAGE: str(ament_env)}
    assert get_package_prefix(PACKAGE) == str(ament_env)
    share = Path(get_package_share_directory(PACKAGE))
    assert share == ament_env / 'share' / PACKAGE
    assert (share / 'package.xml').read_text() == (PACKAGE_DIR / 'package.xml').read_text()
    assert (share / 'launch' / 'plan.launch.py').is_file()
    for name in ('planner.yaml', 'inverse_dynamics.yaml', 'sim_robot.yaml', 'plan.rviz'):
        assert (share / 'config' / name).read_bytes() == (PACKAGE_DIR / 'config' / name).read_bytes(), name
    assert (share / 'models' / 'default.pt').stat().st_size == (PACKAGE_DIR / 'models' / 'default.pt').stat().st_size


def test_share_files_follow_the_source_like_colcon_symlink_install(prefix):
    """Editable: an edited config is what launch loads, without running setup again."""
    installed = prefix / 'share' / PACKAGE / 'config' / 'planner.yaml'
    assert installed.is_symlink() and installed.resolve() == (PACKAGE_DIR / 'config' / 'planner.yaml').resolve()


def test_every_console_entry_point_is_an_executable_under_lib(prefix):
    """ros2 run / launch_ros look for executables in <prefix>/lib/<package> (ros2 pkg executables lists them)."""
    scripts = read_setup(PACKAGE_DIR).console_scripts
    assert set(NODES) <= set(scripts)
    lib = prefix / 'lib' / PACKAGE
    assert sorted(p.name for p in lib.iterdir()) == sorted(scripts)
    for name in scripts:
        assert os.access(lib / name, os.X_OK), name
        assert (lib / name).read_text().startswith(f'#!{sys.executable}\n'), name


def test_installing_again_replaces_what_was_there(prefix, tmp_path):
    stale = prefix / 'share' / PACKAGE / 'config' / 'removed_from_the_source.yaml'
    stale.write_text('{}')
    install(prefix)
    assert not stale.exists()
    assert (prefix / 'share' / PACKAGE / 'config' / 'planner.yaml').is_file()


def test_the_cli_executable_runs(prefix):
    done = subprocess.run([str(prefix / 'lib' / PACKAGE / 'video-planner'), '--help'],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert 'usage: video-planner' in done.stdout


def test_every_node_executable_starts_and_stops_cleanly(prefix, tmp_path, ros_context):
    """Each lib/video_planner/<node> brings its node up (in the graph, as `ros2 node list` shows it)
    and exits 0 on Ctrl-C."""
    import rclpy

    context, _ = ros_context
    observer = rclpy.create_node('graph_observer', context=context)
    bag = write_plan_bag(tmp_path / 'plans', make_envelope())
    params = {'replay_node': ['-p', f'bag_path:={bag}', '-p', 'loop:=true'],
              'recorder_node': ['-p', f'output_dir:={tmp_path / "episodes"}'],
              'planner_node': ['-p', 'warm_up:=false']}
    procs = {}
    for node in NODES:
        log = open(tmp_path / f'{node}.log', 'w')
        procs[node] = subprocess.Popen([str(prefix / 'lib' / PACKAGE / node), '--ros-args', *params.get(node, [])],
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        seen: set[str] = set()
        while seen != set(NODES) and time.monotonic() < deadline:
            seen |= set(observer.get_node_names()) & set(NODES)
            for node, proc in procs.items():
                assert proc.poll() is None, f'{node} exited: {(tmp_path / f"{node}.log").read_text()[-3000:]}'
            time.sleep(0.2)
        assert seen == set(NODES), f'not in the graph in time: {sorted(set(NODES) - seen)}'
    finally:
        observer.destroy_node()
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
        codes = {}
        for node, proc in procs.items():
            try:
                codes[node] = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                codes[node] = proc.wait()
    assert codes == dict.fromkeys(NODES, 0), codes
