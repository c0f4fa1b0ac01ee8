"""Start and stop ROS nodes as separate processes (the demo and the tests use this, not `launch`).

Each node runs as ``python -m video_planner.ros.<node> --ros-args ...`` in its own process group, so
that one SIGINT to the group stops the node and anything it started (ROS2_ON_PYPI.md: SIGTERM to a
launcher can orphan children). Parameters go through a temporary YAML file, which keeps lists and
long strings (a URDF) out of the command line.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from video_planner.errors import VideoPlannerError

NODE_MODULES = {
    'planner_node': 'video_planner.ros.planner_node',
    'inverse_dynamics_node': 'video_planner.ros.inverse_dynamics_node',
    'sim_robot_node': 'video_planner.ros.sim_robot_node',
    'replay_node': 'video_planner.ros.replay_node',
    'recorder_node': 'video_planner.ros.recorder_node',
}


@dataclass
class NodeProcess:
    """A running node: its process, where its log goes, and how to stop it."""

    name: str
    popen: subprocess.Popen
    log_path: Path
    params_path: Optional[Path] = None
    _log_file: Any = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors='replace')
        except OSError:
            return ''

    def wait_for_log(self, text: str, timeout_s: float) -> bool:
        """True once ``text`` appears in the node's output; False on timeout or if the node died."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if text in self.log():
                return True
            if not self.alive():
                return text in self.log()
            time.sleep(0.05)
        return False

    def stop(self, timeout_s: float = 10.0, sig: int = signal.SIGINT) -> int:
        """``sig`` (SIGINT, as Ctrl-C) to the process group, then SIGKILL if it has not exited in time.

        Returns the exit code: 0 when the node stopped cleanly."""
        if self.alive():
            _signal_group(self.popen.pid, sig)
            try:
                self.popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                _signal_group(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=5.0)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self.params_path is not None:
            self.params_path.unlink(missing_ok=True)
        return self.popen.returncode

    def kill(self) -> None:
        """Simulates a crash: SIGKILL to the group, no clean shutdown."""
        if self.alive():
            _signal_group(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5.0)


# Every node this process started, so that a test run (or a demo) can make sure none outlives it.
_STARTED: list[NodeProcess] = []


def running_nodes() -> list[NodeProcess]:
    """The nodes started by this process that are still running."""
    _STARTED[:] = [proc for proc in _STARTED if proc.alive()]
    return list(_STARTED)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def write_params_file(node_name: str, params: dict[str, Any], directory: Path) -> Path:
    """A ROS parameter file for any node name (``/**``), so a remapped node still reads it."""
    path = Path(tempfile.mkstemp(prefix=f'{node_name}_', suffix='.yaml', dir=directory)[1])
    path.write_text(yaml.safe_dump({'/**': {'ros__parameters': params}}, sort_keys=True))
    return path


def start_node(node: str, params: Optional[dict[str, Any]] = None, log_dir: Optional[Path] = None,
               env: Optional[dict[str, str]] = None, param_files: tuple[Path, ...] = (),
               node_name: Optional[str] = None, namespace: str = '') -> NodeProcess:
    """Start one of our nodes in its own process group; ``params`` override ``param_files``.

    ``namespace`` puts the node and its relative topics under ``/namespace`` (several stacks side by side).
    """
    if node not in NODE_MODULES:
        raise VideoPlannerError(f'unknown node {node!r}; known: {sorted(NODE_MODULES)}')
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix='video_planner_logs_'))
    log_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, '-u', '-m', NODE_MODULES[node], '--ros-args']
    if node_name:
        cmd += ['-r', f'__node:={node_name}']
    if namespace:
        cmd += ['-r', f'__ns:=/{namespace.strip("/")}']
    for param_file in param_files:
        cmd += ['--params-file', str(param_file)]
    params_path = None
    if params:
        params_path = write_params_file(node_name or node, params, log_dir)
        cmd += ['--params-file', str(params_path)]
    log_path = log_dir / f'{namespace.strip("/") + "_" if namespace else ""}{node_name or node}.log'
    log_file = open(log_path, 'w')
    child_env = dict(os.environ if env is None else env)
    child_env.setdefault('PYTHONUNBUFFERED', '1')
    child_env.setdefault('RCUTILS_LOGGING_BUFFERED_STREAM', '0')
    # A node that dies on a signal (a segfault in native code) leaves every thread's Python stack in its log.
    child_env.setdefault('PYTHONFAULTHANDLER', '1')
    popen = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, env=child_env,
                             start_new_session=True)
    proc = NodeProcess(name=node_name or node, popen=popen, log_path=log_path, params_path=params_path,
                       _log_file=log_file)
    _STARTED.append(proc)
    return proc
