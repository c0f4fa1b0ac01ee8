"""`video-planner plan`: one plan from a fresh simulator frame, written as a GIF and a JSON summary."""
import json

from ros_harness import tiny_checkpoint
from video_planner import cli


def test_plan_command_writes_the_plan_and_its_commands(tmp_path):
    out = tmp_path / 'plan'
    code = cli.main(['plan', '--arm', 'panda', '--task', 'reach', '--seed', '1', '--checkpoint', str(tiny_checkpoint()),
                     '--steps', '2', '--candidates', '2', '--out', str(out)])
    summary = json.loads((out / 'plan.json').read_text())
    assert (out / 'plan.gif').stat().st_size > 0
    assert code == (0 if summary['status'] == 'ok' else 1)  # a refused plan says why and exits 1
    assert summary['instruction'] and summary['status']
    assert len(summary['ee_positions_m']) == len(summary['confidence']) > 1
    assert set(summary['timings_s']) >= {'encode', 'sample', 'inverse_dynamics'}


def test_plan_command_rejects_an_unknown_arm(tmp_path, capsys):
    assert cli.main(['plan', '--arm', 'no_such_arm', '--checkpoint', str(tiny_checkpoint()),
                     '--out', str(tmp_path)]) == 2
    assert "unknown arm 'no_such_arm'" in capsys.readouterr().err
