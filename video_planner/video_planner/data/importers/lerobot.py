"""LeRobot on-disk datasets (format v2.x) -> episodes.

Layout read here (LeRobot ``codebase_version`` v2.0 / v2.1)::

    meta/info.json        fps, chunks_size, data_path / video_path templates, features
    meta/tasks.jsonl      {"task_index": i, "task": "..."} per line
    data/chunk-XXX/episode_YYYYYY.parquet   one row per frame: frame_index, timestamp, task_index,
                                            state/action columns (fixed-size lists)
    videos/chunk-XXX/<video_key>/episode_YYYYYY.mp4   one video per camera key (dtype "video"),
                                            or PNG/JPEG bytes in the parquet (dtype "image")

The mapping names the camera key (``camera.rgb``), the column + indices holding the end-effector pose
(x y z qx qy qz qw) or the joint positions (FK through the URDF), and the gripper column/index.
LeRobot stores no intrinsics: give ``camera.intrinsics`` or ``camera.fov_y_deg``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from video_planner.data.importers.assembler import (ImportedEpisode, camera_from_mapping, load_arm_kinematics,
                                                    resize_episode)
from video_planner.data.importers.mapping import ImportMapping
from video_planner.errors import VideoPlannerError
from video_planner.kinematics.rotations import pose_from_position_quat_xyzw

SUPPORTED_VERSIONS = ('v2.0', 'v2.1')


def _read_info(root: Path) -> dict:
    info_path = root / 'meta' / 'info.json'
    if not info_path.is_file():
        raise VideoPlannerError(f'--src {root}: no meta/info.json; is this a LeRobot dataset folder?')
    info = json.loads(info_path.read_text())
    version = str(info.get('codebase_version', ''))
    if version not in SUPPORTED_VERSIONS:
        raise VideoPlannerError(f'{info_path}: codebase_version {version!r} is not supported; this importer '
                                f'reads {", ".join(SUPPORTED_VERSIONS)} (data/chunk-*/episode_*.parquet)')
    for key in ('fps', 'data_path', 'features'):
        if key not in info:
            raise VideoPlannerError(f'{info_path}: missing "{key}"')
    return info


def _read_tasks(root: Path) -> dict[int, str]:
    path = root / 'meta' / 'tasks.jsonl'
    if not path.is_file():
        return {}
    tasks = {}
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            tasks[int(row['task_index'])] = str(row['task'])
    return tasks


def _decode_video(path: Path) -> list[np.ndarray]:
    if not path.is_file():
        raise VideoPlannerError(f'video {path} is missing')
    capture = cv2.VideoCapture(str(path))
    frames = []
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    finally:
        capture.release()
    if not frames:
        raise VideoPlannerError(f'video {path}: OpenCV decoded no frame (codec not supported by this OpenCV '
                                'build? AV1 needs an FFmpeg with dav1d; re-encode to H.264 or mp4v)')
    return frames


def _decode_image_cell(cell, where: str) -> np.ndarray:
    data = cell.get('bytes') if isinstance(cell, dict) else cell
    if not data:
        raise VideoPlannerError(f'{where}: image cell holds no bytes')
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise VideoPlannerError(f'{where}: image bytes could not be decoded')
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _column(table: dict, name: str, where: str) -> list:
    if name not in table:
        raise VideoPlannerError(f'{where}: no column {name!r}; columns are {sorted(table)}')
    return table[name]


def _select(rows: list, indices: list, name: str, where: str) -> np.ndarray:
    values = np.asarray([np.asarray(r, dtype=np.float64) for r in rows])
    if values.ndim != 2:
        raise VideoPlannerError(f'{where}: column {name!r} must hold a fixed-size list per row')
    bad = [i for i in indices if not 0 <= int(i) < values.shape[1]]
    if bad:
        raise VideoPlannerError(f'{where}: indices {bad} out of range for column {name!r} of width {values.shape[1]}')
    return values[:, [int(i) for i in indices]] if indices else values


def _episode_poses(table: dict, mapping: ImportMapping, kinematics, where: str):
    ee = mapping.ee
    joints = None
    if ee.joint_states:
        joints = _select(_column(table, ee.joint_states, where), ee.joint_indices, ee.joint_states, where)
        if kinematics is not None and joints.shape[1] != kinematics.n:
            raise VideoPlannerError(f'{where}: {joints.shape[1]} joint values selected from {ee.joint_states!r} '
                                    f'but the URDF arm has {kinematics.n} joints {kinematics.joint_names}')
    if ee.pose:
        if len(ee.pose_indices) not in (0, 7):
            raise VideoPlannerError('ee.pose_indices: expected 7 indices (x y z qx qy qz qw)')
        raw = _select(_column(table, ee.pose, where), ee.pose_indices, ee.pose, where)
        if raw.shape[1] != 7:
            raise VideoPlannerError(f'{where}: ee pose column {ee.pose!r} gives {raw.shape[1]} values; '
                                    'expected 7 (x y z qx qy qz qw): set ee.pose_indices')
        poses = np.stack([pose_from_position_quat_xyzw(r[:3], r[3:]) for r in raw])
    else:
        poses = np.stack([kinematics.fk(q) for q in joints])
    return poses, joints


def read_lerobot_episodes(root: str | Path, mapping: ImportMapping) -> Iterator[ImportedEpisode]:
    """Every episode of a LeRobot v2 dataset folder, in episode order."""
    import pyarrow.parquet as pq

    root = Path(root)
    info = _read_info(root)
    tasks = _read_tasks(root)
    key = mapping.camera.rgb
    feature = info['features'].get(key)
    if feature is None or feature.get('dtype') not in ('video', 'image'):
        cams = [k for k, v in info['features'].items() if v.get('dtype') in ('video', 'image')]
        raise VideoPlannerError(f'camera.rgb {key!r} is not a camera feature of this dataset; cameras: {cams}')
    if mapping.camera.depth:
        raise VideoPlannerError('camera.depth is not supported for LeRobot datasets (they store no metric depth)')
    kinematics = None
    if not mapping.ee.pose:
        kinematics = load_arm_kinematics(mapping.ee.urdf, mapping.ee.base_frame, mapping.ee.ee_frame)
    files = sorted((root / 'data').glob('chunk-*/episode_*.parquet'))
    if not files:
        raise VideoPlannerError(f'{root}: no data/chunk-*/episode_*.parquet files')
    chunks_size = int(info.get('chunks_size', 1000))
    for parquet in files:
        where = str(parquet.relative_to(root))
        table = pq.read_table(parquet).to_pydict()
        order = np.argsort(np.asarray(_column(table, 'frame_index', where)))
        table = {name: [values[i] for i in order] for name, values in table.items()}
        episode_index = int(parquet.stem.split('_')[1])
        if feature['dtype'] == 'video':
            video = root / info['video_path'].format(episode_chunk=episode_index // chunks_size, video_key=key,
                                                     episode_index=episode_index)
            decoded = _decode_video(video)
            timestamps = np.asarray(_column(table, 'timestamp', where), dtype=np.float64)
            picks = np.rint(timestamps * float(info['fps'])).astype(int)
            if picks.max() >= len(decoded):
                raise VideoPlannerError(f'{video}: {len(decoded)} frames but {where} refers to frame {picks.max()} '
                                        f"(timestamp {timestamps.max():.3f} s at {info['fps']} fps)")
            rgb = np.stack([decoded[i] for i in picks])
        else:
            rgb = np.stack([_decode_image_cell(c, where) for c in _column(table, key, where)])
        poses, joints = _episode_poses(table, mapping, kinematics, where)
        gripper = np.zeros(len(rgb), np.float32)
        if mapping.gripper.column:
            values = _select(_column(table, mapping.gripper.column, where), [mapping.gripper.index],
                             mapping.gripper.column, where)[:, 0]
            gripper = np.array([mapping.gripper.normalise(v) for v in values], np.float32)
        instruction = mapping.instruction.text
        if not instruction:
            task_index = int(_column(table, 'task_index', where)[0])
            if task_index not in tasks:
                raise VideoPlannerError(f'{where}: task_index {task_index} is not in meta/tasks.jsonl')
            instruction = tasks[task_index]
        if len(rgb) < mapping.min_steps:
            continue
        height, width = rgb.shape[1:3]
        episode = ImportedEpisode(
            instruction=instruction, arm=mapping.arm, camera=camera_from_mapping(mapping, width, height),
            rgb=rgb, T_base_ee=poses, gripper=gripper,
            joint_positions=joints if kinematics is not None else None,
            joint_names=list(kinematics.joint_names) if kinematics is not None else [],
            stamps_ns=(np.asarray(table.get('timestamp', np.arange(len(rgb)) / info['fps'])) * 1e9).astype(np.int64),
            source=f'{root}#episode_{episode_index}')
        yield resize_episode(episode, mapping.image_size)
