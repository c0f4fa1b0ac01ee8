"""`video-planner train --model idm`: the model package's train command runs dynamics.learned.train_idm."""
import argparse

import numpy as np
import torch

from video_planner.data.episode import Episode, write_episode
from video_planner.dynamics.evaluate import synthetic_clips
from video_planner.dynamics.learned import LearnedInverseDynamics
from video_planner import train as train_command
from video_planner.sim.world import SEG_GRIPPER

torch.set_num_threads(1)


def _write_synthetic_episode(path, seed):
    """A rigid-block episode in the data package's HDF5 format (the ee is the block)."""
    c = synthetic_clips(1, seed=seed, horizon=11)[0]
    n = len(c.frames)
    seg = np.zeros((n,) + c.frames.shape[1:3], np.int32)
    seg[0][c.ee_mask0] = SEG_GRIPPER
    write_episode(path, Episode(
        instruction='move the block', arm='panda', task_family='reach', camera=c.camera, rgb=c.frames,
        depth_m=np.repeat(c.depth0_m[None], n, 0), seg=seg, ee_pose=c.T_base_ee, gripper=c.gripper,
        joint_positions=np.zeros((n, 7)), object_poses=np.zeros((n, 0, 4, 4)), action_poses=c.T_base_ee,
        action_gripper=c.gripper, success=True, seed=seed))


def test_train_command_trains_and_writes_a_loadable_idm(tmp_path):
    data = tmp_path / 'data'
    for i in range(3):
        _write_synthetic_episode(data / f'ep_{i}.hdf5', seed=i)
    parser = argparse.ArgumentParser()
    train_command.add_arguments(parser)
    out = tmp_path / 'run'
    config = tmp_path / 'dynamics.yaml'  # --config names a dynamics.yaml for --model idm
    config.write_text('learned:\n  horizon: 4\n  image_size: 16\n  channels: 8\n  hidden: 16\n'
                      '  training:\n    warmup_steps: 2\n    checkpoint_every: 0\n')
    args = parser.parse_args(['--model', 'idm', '--data', str(data), '--out', str(out), '--steps', '20',
                              '--batch-size', '8', '--device', 'cpu', '--config', str(config)])
    assert train_command.run(args) == 0
    idm = LearnedInverseDynamics.load(out / 'model.pt')
    c = synthetic_clips(1, seed=50, horizon=8)[0]
    motion = idm.estimate(c.frames, c.depth0_m, c.camera, c.T_base_ee[0])
    assert motion.T_base_ee.shape == (9, 4, 4) and np.all(np.isfinite(motion.T_base_ee))
    assert (out / 'checkpoint.pt').is_file() and (out / 'train_summary.json').is_file()
