"""One recorded episode in memory, and its HDF5 file (robomimic-style, one episode per file).

File layout (see docs/DATASET.md):
    /data                       attrs: total=1, format_version, env (json)
    /data/demo_0                attrs: instruction, arm, task_family, split, template, success, seed,
                                       num_samples, camera_K, camera_width, camera_height,
                                       T_base_camera, object_ids (json), task (json)
    /data/demo_0/obs/rgb            (N, H, W, 3) uint8
    /data/demo_0/obs/depth_m        (N, H, W) float32, metres (NaN: no surface)
    /data/demo_0/obs/seg            (N, H, W) int32 canonical ids (0 bg, 1 table, 2 arm, 3 gripper, 10+k objects)
    /data/demo_0/obs/ee_pose        (N, 4, 4) float64 T_base_ee
    /data/demo_0/obs/ee_pose_camera (N, 4, 4) float64 T_camera_ee
    /data/demo_0/obs/gripper        (N,) float32, 0 open .. 1 closed
    /data/demo_0/obs/joint_positions(N, dof) float64
    /data/demo_0/obs/object_poses   (N, n_objects, 4, 4) float64 T_base_object, task object order
    /data/demo_0/obs/rgb_canonical  (N, H, W, 3) uint8, optional: the canonical view (arm painted out, canonical gripper)
    /data/demo_0/obs/ee_mask_canonical (N, H, W) bool, optional: the canonical gripper's pixels
    /data/demo_0/actions            (N, 8) float64: next commanded TCP position (3), quaternion w,x,y,z (4), gripper (1)
    /data/demo_0/action_poses       (N, 4, 4) float64: the same target as a matrix
Files are written to a temporary name and renamed, so a file that exists is a whole episode.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import transforms3d

from video_planner.camera import CameraModel
from video_planner.errors import VideoPlannerError

FORMAT_VERSION = 1
# The canonical view (data/canonical.py), present in files from `generate` and `canonicalize`.
CANONICAL_RGB = 'rgb_canonical'
CANONICAL_GRIPPER_MASK = 'ee_mask_canonical'
OBS_KEYS = ('rgb', 'depth_m', 'seg', 'ee_pose', 'ee_pose_camera', 'gripper', 'joint_positions', 'object_poses')


@dataclass
class Episode:
    """A recorded episode: N frames of observations plus the metadata that explains them."""
    instruction: str
    arm: str
    task_family: str
    camera: CameraModel
    rgb: np.ndarray
    depth_m: np.ndarray
    seg: np.ndarray
    ee_pose: np.ndarray
    gripper: np.ndarray
    joint_positions: np.ndarray
    object_poses: np.ndarray
    action_poses: np.ndarray
    action_gripper: np.ndarray
    success: bool
    seed: int
    split: str = 'train'
    template: str = ''
    object_ids: dict[str, int] = field(default_factory=dict)
    task: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def ee_pose_camera(self) -> np.ndarray:
        return np.einsum('ij,njk->nik', self.camera.T_camera_base, self.ee_pose)

    @property
    def ee_mask(self) -> np.ndarray:
        """(N, H, W) bool: gripper pixels."""
        from video_planner.sim.segmentation import SEG_GRIPPER
        return self.seg == SEG_GRIPPER

    @property
    def actions(self) -> np.ndarray:
        quats = np.array([transforms3d.quaternions.mat2quat(T[:3, :3]) for T in self.action_poses])
        return np.concatenate([self.action_poses[:, :3, 3], quats, self.action_gripper[:, None]], axis=1)


def write_episode(path: str | Path, episode: Episode, env: dict | None = None) -> Path:
    """Write `episode` to `path` atomically (temporary file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
    try:
        with h5py.File(tmp, 'w') as f:
            data = f.create_group('data')
            data.attrs['total'] = 1
            data.attrs['format_version'] = FORMAT_VERSION
            data.attrs['env'] = json.dumps(env or {})
            demo = data.create_group('demo_0')
            _write_attrs(demo, episode)
            obs = demo.create_group('obs')
            chunk = (1,) + episode.rgb.shape[1:]
            obs.create_dataset('rgb', data=episode.rgb.astype(np.uint8), chunks=chunk, compression='gzip',
                               compression_opts=4)
            obs.create_dataset('depth_m', data=episode.depth_m.astype(np.float32), compression='gzip',
                               compression_opts=4)
            obs.create_dataset('seg', data=episode.seg.astype(np.int32), compression='gzip', compression_opts=4)
            obs.create_dataset('ee_pose', data=episode.ee_pose.astype(np.float64))
            obs.create_dataset('ee_pose_camera', data=episode.ee_pose_camera)
            obs.create_dataset('gripper', data=episode.gripper.astype(np.float32))
            obs.create_dataset('joint_positions', data=episode.joint_positions.astype(np.float64))
            obs.create_dataset('object_poses', data=episode.object_poses.astype(np.float64))
            demo.create_dataset('actions', data=episode.actions)
            demo.create_dataset('action_poses', data=episode.action_poses.astype(np.float64))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _write_attrs(demo: h5py.Group, ep: Episode) -> None:
    demo.attrs['instruction'] = ep.instruction
    demo.attrs['arm'] = ep.arm
    demo.attrs['task_family'] = ep.task_family
    demo.attrs['split'] = ep.split
    demo.attrs['template'] = ep.template
    demo.attrs['success'] = bool(ep.success)
    demo.attrs['seed'] = int(ep.seed)
    demo.attrs['num_samples'] = len(ep)
    demo.attrs['camera_K'] = ep.camera.K
    demo.attrs['camera_width'] = ep.camera.width
    demo.attrs['camera_height'] = ep.camera.height
    demo.attrs['T_base_camera'] = ep.camera.T_base_camera
    demo.attrs['object_ids'] = json.dumps(ep.object_ids)
    demo.attrs['task'] = json.dumps(ep.task)


def camera_from_attrs(attrs) -> CameraModel:
    """The camera stored in a demo group's attributes (`_write_attrs`)."""
    return CameraModel(K=np.array(attrs['camera_K']), width=int(attrs['camera_width']),
                       height=int(attrs['camera_height']), T_base_camera=np.array(attrs['T_base_camera']))


def read_episode(path: str | Path, demo: str = 'demo_0') -> Episode:
    """Load one demo of an episode file into memory."""
    path = Path(path)
    try:
        f = h5py.File(path, 'r')
    except OSError as exc:
        raise VideoPlannerError(f'episode file {path}: not a readable HDF5 file ({exc})') from exc
    with f:
        if f'data/{demo}' not in f:
            raise VideoPlannerError(f'episode file {path}: no group data/{demo}')
        g = f[f'data/{demo}']
        a = g.attrs
        camera = camera_from_attrs(a)
        obs = g['obs']
        return Episode(
            instruction=str(a['instruction']), arm=str(a['arm']), task_family=str(a['task_family']),
            camera=camera, rgb=obs['rgb'][()], depth_m=obs['depth_m'][()], seg=obs['seg'][()],
            ee_pose=obs['ee_pose'][()], gripper=obs['gripper'][()], joint_positions=obs['joint_positions'][()],
            object_poses=obs['object_poses'][()], action_poses=g['action_poses'][()],
            action_gripper=g['actions'][()][:, 7], success=bool(a['success']), seed=int(a['seed']),
            split=str(a['split']), template=str(a['template']), object_ids=json.loads(a['object_ids']),
            task=json.loads(a['task']))
