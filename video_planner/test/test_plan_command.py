"""`video-planner plan`: one plan from a fresh simulator frame, written as a GIF and a JSON summary."""
import json

import yaml

from ros_harness import OPEN_GATES, tiny_checkpoint
from video_planner import cli


def plan(tmp_path, *extra):
    """Plans the seeded panda reach task with the seeded tiny model: (exit code, plan.json, folder)."""
    out = tmp_path / 'plan'
    code = cli.main(['plan', '--arm', 'panda', '--task', 'reach', '--seed', '1', '--checkpoint', str(tiny_checkpoint()),
                     '--steps', '2', '--candidates', '2', '--out', str(out), *extra])
    return code, json.loads((out / 'plan.json').read_text()), out


def test_plan_command_writes_the_plan_and_its_joint_commands(tmp_path):
    gates = tmp_path / 'open_gates.yaml'
    gates.write_text(yaml.safe_dump(OPEN_GATES))
    code, summary, out = plan(tmp_path, '--config', str(gates))
    assert code == 0 and summary['status'] == 'ok'
    assert (out / 'plan.gif').stat().st_size > 0
    assert summary['instruction']
    frames = len(summary['ee_positions_m'])
    assert frames == len(summary['confidence']) == len(summary['gripper']) > 1
    joints = summary['joint_trajectory']
    assert len(joints['joint_names']) == 7 and all(len(q) == 7 for q in joints['positions'])   # the Panda arm
    assert joints['times_s'] == sorted(joints['times_s']) and joints['times_s'][-1] > 0
    assert set(summary['timings_s']) >= {'encode', 'sample', 'inverse_dynamics', 'total'}


def test_a_refused_plan_exits_1_and_says_why(tmp_path, capsys):
    # The tiny model's plans are noise: the shipped inverse dynamics has no confidence in them, and the
    # default gates (min_confidence 0.2) refuse them.
    code, summary, _ = plan(tmp_path)
    assert code == 1
    assert summary['status'].startswith('inverse-dynamics confidence') and 'min_confidence 0.20' in summary['status']
    assert summary['joint_trajectory'] is None
    assert f"status: {summary['status']}" in capsys.readouterr().out


def test_plan_command_rejects_an_unknown_arm(tmp_path, capsys):
    assert cli.main(['plan', '--arm', 'no_such_arm', '--checkpoint', str(tiny_checkpoint()),
                     '--out', str(tmp_path)]) == 2
    assert "unknown arm 'no_such_arm'" in capsys.readouterr().err
