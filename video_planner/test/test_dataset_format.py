"""Episode files: round trip, determinism per seed, crash safety and resume, training clips."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from video_planner.data.episode import read_episode, write_episode
from video_planner.data.generate import GenerateConfig, add_arguments, config_from_args, generate
from video_planner.data.reader import EpisodeReader, VideoClipDataset, collate_clips
from video_planner.data.recording import record_expert_episode
from video_planner.errors import VideoPlannerError
from video_planner.sim.tasks import sample_task
from video_planner.sim.world import SEG_GRIPPER, TabletopWorld

torch.set_num_threads(1)


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp('ds')
    config = GenerateConfig(arms=('iiwa', 'so100'), tasks=('pick_place', 'push'), episodes=3, seed=10, out=out,
                            image_size=32, frames=12)
    counts = generate(config, progress=False)
    assert counts['done'] == 3
    return config


def test_episode_round_trips_through_hdf5(tmp_path):
    world = TabletopWorld('iiwa', seed=0, image_size=48)
    try:
        task = sample_task(world.spec, 'lift', np.random.default_rng(3))
        episode = record_expert_episode(world, task, seed=3, frames=16)
    finally:
        world.close()
    assert episode.success and 12 <= len(episode) <= 17
    path = write_episode(tmp_path / 'ep.hdf5', episode, {'arm': 'iiwa'})
    back = read_episode(path)
    for key in ('rgb', 'depth_m', 'seg', 'ee_pose', 'gripper', 'joint_positions', 'object_poses', 'action_poses'):
        np.testing.assert_array_equal(getattr(back, key), getattr(episode, key), err_msg=key)
    assert (back.instruction, back.arm, back.task_family, back.success) == (task.instruction, 'iiwa', 'lift', True)
    np.testing.assert_allclose(back.camera.K, episode.camera.K)
    np.testing.assert_allclose(back.camera.T_base_camera, episode.camera.T_base_camera)
    with h5py.File(path) as f:
        demo = f['data/demo_0']
        assert demo['obs/rgb'].shape == (len(episode), 48, 48, 3)
        assert demo['actions'].shape == (len(episode), 8)
        # ee pose in the camera frame is consistent with the extrinsics
        np.testing.assert_allclose(demo['obs/ee_pose_camera'][0],
                                   episode.camera.T_camera_base @ episode.ee_pose[0], atol=1e-12)
    # the action of frame t is the commanded pose the arm reached by frame t+1
    np.testing.assert_allclose(back.action_poses[:-1, :3, 3], back.ee_pose[1:, :3, 3], atol=0.02)
    assert back.gripper.max() == 1.0 and back.gripper[0] == 0.0


def test_same_seed_same_episode_for_any_worker_count(dataset, tmp_path):
    config = GenerateConfig(arms=dataset.arms, tasks=dataset.tasks, episodes=3, seed=10, out=tmp_path, workers=2,
                            image_size=32, frames=12)
    generate(config, progress=False)
    for a, b in zip(EpisodeReader(dataset.out), EpisodeReader(tmp_path)):
        assert a.instruction == b.instruction
        np.testing.assert_array_equal(a.rgb, b.rgb)
        np.testing.assert_array_equal(a.ee_pose, b.ee_pose)
        np.testing.assert_array_equal(a.seg, b.seg)
    assert len(EpisodeReader(tmp_path)) == 3


def test_interrupted_generation_leaves_whole_episodes_and_resumes(tmp_path):
    cmd = [sys.executable, '-m', 'video_planner.data.generate', '--arms', 'iiwa', '--tasks', 'reach',
           '--episodes', '40', '--seed', '0', '--out', str(tmp_path), '--image-size', '32', '--frames', '12']
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 40
        while len(list(tmp_path.glob('ep_*.hdf5'))) < 3 and time.time() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    done = sorted(tmp_path.glob('ep_*.hdf5'))
    assert 3 <= len(done) < 40
    for path in done:  # every file that exists is a whole, readable episode
        assert len(read_episode(path)) > 8
    before = {p.name: p.stat().st_mtime_ns for p in done}
    parser = __import__('argparse').ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(['--arms', 'iiwa', '--tasks', 'reach', '--episodes', str(len(done) + 2),
                              '--out', str(tmp_path), '--image-size', '32', '--frames', '12'])
    counts = generate(config_from_args(args), progress=False)
    assert counts['skipped'] == len(done) and counts['done'] == 2
    assert all((tmp_path / n).stat().st_mtime_ns == t for n, t in before.items())


def test_video_clip_dataset_covers_the_whole_episode(dataset):
    ds = VideoClipDataset(dataset.out, horizon=8, image_size=32)
    assert len(ds) == 3
    item = ds[0]
    assert item['frame0'].shape == (32, 32, 3) and item['frame0'].dtype == np.uint8
    assert item['future'].shape == (8, 32, 32, 3)
    assert item['ee_poses'].shape == (9, 4, 4) and item['gripper'].shape == (9,)
    assert item['ee_mask0'].dtype == bool and item['ee_mask0'].any()
    assert item['depth0_m'].shape == (32, 32) and item['camera'].width == 32
    episode = EpisodeReader(dataset.out)[0]
    np.testing.assert_array_equal(item['future'][-1], episode.rgb[-1])  # the clip ends at the last frame
    np.testing.assert_array_equal(item['ee_mask0'], episode.seg[0] == SEG_GRIPPER)
    batch = collate_clips([ds[0], ds[1]])
    assert batch['future'].shape == (2, 8, 32, 32, 3) and len(batch['instruction']) == 2

    strided = VideoClipDataset(dataset.out, horizon=4, stride=2, image_size=16)
    assert len(strided) > 3
    small = strided[0]
    assert small['future'].shape == (4, 16, 16, 3)
    assert small['camera'].fx == pytest.approx(episode.camera.fx / 2)


def test_manifest_stores_the_paraphrase_split(dataset):
    import json
    manifest = json.loads((Path(dataset.out) / 'manifest.json').read_text())
    assert manifest['held_out_arms'] and not set(manifest['held_out_arms']) & set(manifest['arms'])
    assert manifest['paraphrases']['lift']['heldout']


def test_bad_arguments_are_clear_errors(tmp_path):
    with pytest.raises(VideoPlannerError, match='--arms'):
        generate(GenerateConfig(arms=('r2d2',), tasks=('lift',), episodes=1, seed=0, out=tmp_path), progress=False)
    with pytest.raises(VideoPlannerError, match='--tasks'):
        generate(GenerateConfig(arms=('panda',), tasks=('fly',), episodes=1, seed=0, out=tmp_path), progress=False)
    with pytest.raises(VideoPlannerError, match='dataset path'):
        EpisodeReader(tmp_path / 'missing')
    (tmp_path / 'junk.hdf5').write_text('not hdf5')
    with pytest.raises(VideoPlannerError, match='not a readable HDF5'):
        read_episode(tmp_path / 'junk.hdf5')


def test_cli_reads_the_yaml_config_and_flags_override_it(tmp_path):
    import argparse
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    sim_yaml = Path(__file__).resolve().parents[1] / 'config' / 'sim.yaml'
    args = parser.parse_args(['--config', str(sim_yaml), '--episodes', '3', '--out', str(tmp_path),
                              '--arms', 'ur5,iiwa', '--image-size', '32'])
    config = config_from_args(args)
    assert config.arms == ('ur5', 'iiwa') and config.image_size == 32 and config.frames == 24
    assert config.tasks == ('reach', 'push', 'pick_place', 'lift')
    assert config.randomization.camera_position_jitter_m == 0.03
    bad = tmp_path / 'bad.yaml'
    bad.write_text('generate:\n  epsiodes: 3\n')
    from video_planner.errors import ConfigError
    with pytest.raises(ConfigError, match='unknown generate keys'):
        config_from_args(parser.parse_args(['--config', str(bad), '--episodes', '1', '--out', str(tmp_path)]))
