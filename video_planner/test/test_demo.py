"""`video-planner demo`, as a user runs it: three node processes, a goal, execution, GIF + bag + summary."""
import json
import subprocess
import sys
from pathlib import Path

import imageio.v2 as imageio
import pytest

from ros_harness import tiny_checkpoint
from video_planner.ros.bag import read_messages, read_plan_bag

pytestmark = pytest.mark.timeout(300)
VENV_BIN = Path(sys.executable).parent


def test_demo_runs_the_closed_loop_and_writes_its_outputs(tmp_path):
    out = tmp_path / 'demo'
    cmd = [str(VENV_BIN / 'video-planner'), 'demo', '--arm', 'panda', '--task', 'reach', '--seed', '1',
           '--max-replans', '2', '--out', str(out), '--checkpoint', str(tiny_checkpoint()), '--sampling-steps', '2']
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=280)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert 'task: "' in run.stdout and '[demo] plan 1:' in run.stdout
    summary = json.loads((out / 'summary.json').read_text())
    assert 1 <= summary['plans'] <= 2 and len(summary['plan_time_s']) == summary['plans']
    assert all(t > 0 for t in summary['plan_time_s'])
    # After each plan the simulator's task/status: solved, or what the task still misses.
    statuses = [p['task_status'] for p in summary['plans_detail']]
    assert all(s == 'solved' or s.startswith('unsolved: ') for s in statuses), statuses
    assert (statuses[-1] == 'solved') == summary['success'], statuses
    assert f'task {statuses[-1]}' in run.stdout
    gif = imageio.mimread(out / 'demo.gif')
    assert len(gif) >= 1 and gif[0].shape[1] > gif[0].shape[0]   # plan | executed, side by side
    topics = {topic for topic, _, _ in read_messages(out / 'demo.bag')}
    assert {'/camera/image_raw', '/video_plan', '/joint_states', '/task/instruction'} <= topics
    # Every plan the action returned is in the bag, once, and reads back for `video-planner replay`.
    returned = [p['plan_id'] for p in summary['plans_detail'] if p['plan_id']]
    assert returned and [p.plan_id for p in read_plan_bag(out / 'demo.bag')] == returned
    for node in ('sim_robot_node', 'planner_node', 'inverse_dynamics_node'):
        assert 'ready:' in (out / 'logs' / f'{node}.log').read_text()


def test_demo_explains_a_missing_checkpoint(tmp_path):
    run = subprocess.run([str(VENV_BIN / 'video-planner'), 'demo', '--out', str(tmp_path / 'x'), '--checkpoint',
                          str(tmp_path / 'missing.pt')], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert 'missing.pt does not exist' in run.stderr and '--checkpoint' in run.stderr


def test_demo_rejects_goal_fields_that_do_not_fit_the_action(tmp_path):
    run = subprocess.run([str(VENV_BIN / 'video-planner'), 'demo', '--out', str(tmp_path / 'x'), '--candidates', '-1'],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert '--candidates must be in 0..255' in run.stderr
