"""``video-planner import --from rosbag|lerobot --src PATH --mapping YAML --out DIR``."""
from __future__ import annotations

import argparse
from pathlib import Path

from video_planner.data.importers.dataset import write_imported_episode
from video_planner.data.importers.mapping import load_mapping
from video_planner.errors import VideoPlannerError

SOURCES = ('rosbag', 'lerobot')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--from', dest='source', choices=SOURCES, required=True,
                        help='rosbag: a rosbag2 folder (or ROS 1 .bag); lerobot: a LeRobot v2 dataset folder')
    parser.add_argument('--src', type=Path, required=True, help='the bag / dataset folder to import')
    parser.add_argument('--mapping', type=Path, required=True,
                        help='YAML naming the camera, pose, gripper and instruction topics/columns '
                             '(see config/import_rosbag.yaml, config/import_lerobot.yaml)')
    parser.add_argument('--out', type=Path, required=True, help='folder for the episode .hdf5 files')
    parser.add_argument('--prefix', default='', help='episode file name prefix (default: the source kind)')
    parser.add_argument('--max-episodes', type=int, default=0, help='stop after this many (0: all)')


def import_episodes(source: str, src: Path, mapping_path: Path, out: Path, prefix: str = '',
                    max_episodes: int = 0) -> list[Path]:
    """Import and write; returns the written episode files."""
    mapping = load_mapping(mapping_path)
    if source == 'rosbag':
        from video_planner.data.importers.rosbag import read_rosbag_episodes as read
    elif source == 'lerobot':
        from video_planner.data.importers.lerobot import read_lerobot_episodes as read
    else:
        raise VideoPlannerError(f"--from {source!r}: expected one of {', '.join(SOURCES)}")
    written = []
    for episode in read(src, mapping):
        written.append(write_imported_episode(episode, out, prefix or source, env={'source': str(src)}))
        if max_episodes and len(written) >= max_episodes:
            break
    return written


def run(args: argparse.Namespace) -> int:
    written = import_episodes(args.source, args.src, args.mapping, args.out, args.prefix, args.max_episodes)
    if not written:
        raise VideoPlannerError(f'{args.src}: no episode long enough was found with mapping {args.mapping}')
    print(f'imported {len(written)} episode(s) into {args.out}')
    return 0
