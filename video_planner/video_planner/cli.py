"""`video-planner`: one command line over the core, one subcommand per stage of the data flow.

Each subcommand lives in the module that does the work, which provides `add_arguments(parser)` and
`run(args) -> int`; this file only wires them (and imports them lazily, so `--help` stays fast).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from video_planner.errors import VideoPlannerError

SUBCOMMANDS = {
    'generate': ('video_planner.data.generate', 'record simulated expert episodes into an HDF5 dataset'),
    'canonicalize': ('video_planner.data.canonical', 'add the canonical view (arm painted out, canonical '
                     'gripper drawn) to recorded episodes'),
    'import': ('video_planner.data.importers.cli', 'import rosbag2 or LeRobot recordings into the dataset format'),
    'train': ('video_planner.train', 'train (or fine-tune) the video model, inverse dynamics, grounding or policy'),
    'plan': ('video_planner.planner.plan_command', 'plan once from an image file or a fresh simulator frame'),
    'eval': ('video_planner.evaluation.suite', 'closed-loop benchmark on the simulator, with baselines'),
    'demo': ('video_planner.ros.demo', 'closed-loop demo: sim robot, planner and inverse-dynamics nodes over ROS 2'),
    'arm': ('video_planner.sim.arm_check', 'validate an arm (URDF + short YAML) and print what was derived'),
    'replay': ('video_planner.ros.replay_node', 'republish a stored plan bag for RViz'),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='video-planner', description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)
    for name, (module, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, description=help_text).set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if not argv:
        parser.print_help(sys.stderr)
        return 2
    known, _ = parser.parse_known_args(argv[:1])
    module = importlib.import_module(known._module)
    sub_parser = argparse.ArgumentParser(prog=f'video-planner {known.command}',
                                         description=SUBCOMMANDS[known.command][1])
    module.add_arguments(sub_parser)
    args = sub_parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except VideoPlannerError as exc:
        print(f'video-planner {known.command}: error: {exc}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == '__main__':
    sys.exit(main())
