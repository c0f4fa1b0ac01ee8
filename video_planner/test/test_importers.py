"""Importers: a rosbag2 built with rosbags (no rclpy) and a LeRobot v2 folder -> episode files."""
import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from rosbags.rosbag2 import Writer
from rosbags.typesys import Stores, get_typestore

from video_planner.data.episode import read_episode
from video_planner.data.importers import cli
from video_planner.data.importers.assembler import load_arm_kinematics
from video_planner.data.importers.mapping import load_mapping
from video_planner.errors import ConfigError, VideoPlannerError

CONFIG_DIR = Path(__file__).resolve().parents[1] / 'config'
STORE = get_typestore(Stores.ROS2_KILTED)
W, H = 40, 30
PANDA_HOME = np.array([0.0, -0.3, 0.0, -2.2, 0.0, 2.0, 0.8])


# ------------------------------------------------------------------------------------- rosbag

def _header(t_ns, frame=''):
    Header, Time = STORE.types['std_msgs/msg/Header'], STORE.types['builtin_interfaces/msg/Time']
    return Header(stamp=Time(sec=t_ns // 10 ** 9, nanosec=t_ns % 10 ** 9), frame_id=frame)


def _bgr8_padded(rgb, t_ns):
    """A bgr8 image with 8 bytes of row padding, as some drivers send."""
    step = W * 3 + 8
    rows = np.zeros((H, step), np.uint8)
    rows[:, :W * 3] = rgb[:, :, ::-1].reshape(H, W * 3)
    return STORE.types['sensor_msgs/msg/Image'](header=_header(t_ns, 'cam'), height=H, width=W, encoding='bgr8',
                                                is_bigendian=0, step=step, data=rows.reshape(-1))


def _depth_mm(t_ns, metres):
    mm = np.full((H, W), int(metres * 1000), np.uint16)
    mm[0, 0] = 0
    return STORE.types['sensor_msgs/msg/Image'](header=_header(t_ns, 'cam'), height=H, width=W, encoding='16UC1',
                                                is_bigendian=0, step=W * 2, data=mm.view(np.uint8).reshape(-1))


def _camera_info(t_ns):
    k = np.array([50.0, 0, 19.5, 0, 50.0, 14.5, 0, 0, 1])
    return STORE.types['sensor_msgs/msg/CameraInfo'](
        header=_header(t_ns, 'cam'), height=H, width=W, distortion_model='plumb_bob', d=np.zeros(5), k=k,
        r=np.eye(3).reshape(-1), p=np.zeros(12), binning_x=0, binning_y=0,
        roi=STORE.types['sensor_msgs/msg/RegionOfInterest'](x_offset=0, y_offset=0, height=0, width=0,
                                                             do_rectify=False))


def _joint_state(t_ns, q, finger):
    names = [f'panda_joint{i}' for i in range(1, 8)] + ['panda_finger_joint1']
    return STORE.types['sensor_msgs/msg/JointState'](header=_header(t_ns), name=names,
                                                     position=np.append(q, finger), velocity=np.zeros(0),
                                                     effort=np.zeros(0))


def joint_path(i):
    return PANDA_HOME + 0.02 * i


def write_synthetic_bag(path: Path, episodes=(('pick up the cube', 6), ('stack the blocks', 5))):
    """Two episodes at 10 Hz: per step a JointState, a depth image and then the colour frame."""
    String = STORE.types['std_msgs/msg/String']
    with Writer(path, version=9) as writer:
        conns = {
            'rgb': writer.add_connection('/cam/color', 'sensor_msgs/msg/Image', typestore=STORE),
            'depth': writer.add_connection('/cam/depth', 'sensor_msgs/msg/Image', typestore=STORE),
            'info': writer.add_connection('/cam/info', 'sensor_msgs/msg/CameraInfo', typestore=STORE),
            'joints': writer.add_connection('/joint_states', 'sensor_msgs/msg/JointState', typestore=STORE),
            'instruction': writer.add_connection('/episode/instruction', 'std_msgs/msg/String', typestore=STORE),
            'stop': writer.add_connection('/episode/stop', 'std_msgs/msg/String', typestore=STORE)}

        def put(name, msg, t):
            writer.write(conns[name], t, STORE.serialize_cdr(msg, conns[name].msgtype))

        t, step = 10 ** 9, 0
        put('info', _camera_info(t), t)
        for text, n in episodes:
            t += 10 ** 7
            put('instruction', String(data=text), t)
            for _ in range(n):
                t += 100_000_000
                put('joints', _joint_state(t, joint_path(step), 0.04 * (step % 2)), t)
                put('depth', _depth_mm(t + 1, 0.5 + 0.01 * step), t + 1)
                rgb = np.zeros((H, W, 3), np.uint8)
                rgb[:, :, 0] = step
                rgb[:, :, 2] = np.arange(W, dtype=np.uint8)[None]
                put('rgb', _bgr8_padded(rgb, t + 2), t + 2)
                step += 1
            t += 10 ** 7
            put('stop', String(data=''), t)
    return path


def bag_mapping(tmp_path, **changes):
    mapping = {
        'camera': {'rgb': '/cam/color', 'depth': '/cam/depth', 'camera_info': '/cam/info',
                   'T_base_camera': [0.5, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0]},
        'ee': {'joint_states': '/joint_states', 'urdf': 'panda'},
        'gripper': {'joint': 'panda_finger_joint1', 'open_value': 0.0, 'closed_value': 0.04},
        'instruction': {'topic': '/episode/instruction', 'stop_topic': '/episode/stop'},
        'arm': 'panda'}
    for key, value in changes.items():
        mapping[key].update(value) if isinstance(value, dict) else mapping.__setitem__(key, value)
    path = tmp_path / 'mapping.yaml'
    path.write_text(yaml.safe_dump(mapping))
    return path


def run_cli(*argv):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return cli.run(parser.parse_args([str(a) for a in argv]))


def test_rosbag_with_joint_states_imports_with_fk_depth_and_gripper(tmp_path):
    bag = write_synthetic_bag(tmp_path / 'bag')
    assert run_cli('--from', 'rosbag', '--src', bag, '--mapping', bag_mapping(tmp_path), '--out', tmp_path / 'out') == 0
    paths = sorted((tmp_path / 'out').glob('rosbag_*.hdf5'))
    assert len(paths) == 2
    kinematics = load_arm_kinematics('panda')
    first, second = read_episode(paths[0]), read_episode(paths[1])
    assert (first.instruction, len(first), second.instruction, len(second)) == \
        ('pick up the cube', 6, 'stack the blocks', 5)
    steps = first.rgb[:, 0, 0, 0].astype(int)
    np.testing.assert_array_equal(steps, np.arange(6))
    np.testing.assert_array_equal(first.rgb[0, :, :, 2], np.tile(np.arange(W), (H, 1)))  # bgr8 -> rgb, padding gone
    for i, T in zip(steps, first.ee_pose):
        np.testing.assert_allclose(T, kinematics.fk(joint_path(i)), atol=1e-9)
    np.testing.assert_allclose(first.joint_positions, np.stack([joint_path(i) for i in steps]))
    np.testing.assert_array_equal(first.gripper, (steps % 2).astype(np.float32))
    assert np.isnan(first.depth_m[:, 0, 0]).all()
    np.testing.assert_allclose(first.depth_m[:, 5, 5], 0.5 + 0.01 * steps, atol=1e-6)
    np.testing.assert_allclose(first.camera.K, [[50, 0, 19.5], [0, 50, 14.5], [0, 0, 1]])
    np.testing.assert_allclose(first.camera.T_base_camera[:3, 3], [0.5, 0.0, 1.0])
    assert second.rgb[0, 0, 0, 0] == 6


def test_rosbag_import_resizes_frames_and_intrinsics(tmp_path):
    bag = write_synthetic_bag(tmp_path / 'bag', episodes=(('wipe the table', 3),))
    paths = cli.import_episodes('rosbag', bag, bag_mapping(tmp_path, image_size=20), tmp_path / 'out')
    episode = read_episode(paths[0])
    assert episode.rgb.shape == (3, 20, 20, 3) and episode.depth_m.shape == (3, 20, 20)
    # x is halved (40 -> 20), y scaled by 2/3 (30 -> 20), with the pixel-centre convention.
    assert episode.camera.fx == pytest.approx(25.0) and episode.camera.fy == pytest.approx(50.0 * 2 / 3)
    assert episode.camera.cx == pytest.approx((19.5 + 0.5) / 2 - 0.5)


def test_rosbag_import_errors_name_the_problem(tmp_path):
    bag = write_synthetic_bag(tmp_path / 'bag', episodes=(('x', 3),))
    with pytest.raises(VideoPlannerError, match=r"\['/nope'\] are not in the bag"):
        cli.import_episodes('rosbag', bag, bag_mapping(tmp_path, camera={'rgb': '/nope'}), tmp_path / 'out')
    typo = tmp_path / 'typo.yaml'
    typo.write_text('camera: {rgb: /cam/color, colour: x}\nee: {pose: /p}\n')
    with pytest.raises(ConfigError, match='unknown key.*colour'):
        load_mapping(typo)
    with pytest.raises(ConfigError, match='ee: give ee.pose'):
        load_mapping(bag_mapping(tmp_path, ee={'joint_states': '', 'urdf': ''}))
    with pytest.raises(VideoPlannerError, match='not a readable'):
        cli.import_episodes('rosbag', tmp_path, bag_mapping(tmp_path), tmp_path / 'out')
    for config in ('import_rosbag.yaml', 'import_lerobot.yaml'):
        load_mapping(CONFIG_DIR / config)  # the shipped examples are valid


def test_rosbag_with_compressed_images_pose_topic_and_fixed_instruction(tmp_path):
    """A typical real-robot bag: PNG CompressedImage frames, a PoseStamped ee pose, no episode topics."""
    Pose = STORE.types['geometry_msgs/msg/Pose']
    PoseStamped, Point = STORE.types['geometry_msgs/msg/PoseStamped'], STORE.types['geometry_msgs/msg/Point']
    Quaternion = STORE.types['geometry_msgs/msg/Quaternion']
    Compressed = STORE.types['sensor_msgs/msg/CompressedImage']
    with Writer(tmp_path / 'bag', version=9) as writer:
        image_conn = writer.add_connection('/cam/compressed', Compressed.__msgtype__, typestore=STORE)
        pose_conn = writer.add_connection('/tcp', PoseStamped.__msgtype__, typestore=STORE)
        for i in range(4):
            t = (i + 1) * 10 ** 8
            pose = PoseStamped(header=_header(t), pose=Pose(position=Point(x=0.1 * i, y=0.0, z=0.5),
                                                            orientation=Quaternion(x=0.0, y=0.0, z=0.0, w=1.0)))
            writer.write(pose_conn, t, STORE.serialize_cdr(pose, pose_conn.msgtype))
            rgb = np.full((H, W, 3), (10 * i, 100, 200), np.uint8)
            png = cv2.imencode('.png', rgb[:, :, ::-1])[1].reshape(-1)
            writer.write(image_conn, t + 5, STORE.serialize_cdr(Compressed(header=_header(t), format='rgb8; png',
                                                                           data=png), image_conn.msgtype))
    mapping = tmp_path / 'm.yaml'
    mapping.write_text(yaml.safe_dump({'camera': {'rgb': '/cam/compressed', 'fov_y_deg': 60.0},
                                       'ee': {'pose': '/tcp'}, 'instruction': {'text': 'slide the mug'}}))
    (path,) = cli.import_episodes('rosbag', tmp_path / 'bag', mapping, tmp_path / 'out')
    episode = read_episode(path)
    assert episode.instruction == 'slide the mug' and len(episode) == 4
    np.testing.assert_array_equal(episode.rgb[:, 0, 0], [(10 * i, 100, 200) for i in range(4)])
    np.testing.assert_allclose(episode.ee_pose[:, 0, 3], 0.1 * np.arange(4))
    np.testing.assert_array_equal(episode.gripper, np.zeros(4))


# ------------------------------------------------------------------------------------- LeRobot

def write_lerobot_dataset(root: Path, lengths=(8, 6), fps=10):
    """A LeRobot v2.1 folder: state = x y z qx qy qz qw gripper, one mp4 per episode."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    key = 'observation.images.top'
    info = {'codebase_version': 'v2.1', 'robot_type': 'test_arm', 'fps': fps, 'chunks_size': 1000,
            'total_episodes': len(lengths), 'total_frames': sum(lengths),
            'data_path': 'data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet',
            'video_path': 'videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4',
            'features': {key: {'dtype': 'video', 'shape': [H, W, 3], 'names': ['height', 'width', 'channel']},
                         'observation.state': {'dtype': 'float32', 'shape': [8]},
                         'action': {'dtype': 'float32', 'shape': [8]},
                         'timestamp': {'dtype': 'float32', 'shape': [1]},
                         'frame_index': {'dtype': 'int64', 'shape': [1]},
                         'episode_index': {'dtype': 'int64', 'shape': [1]},
                         'index': {'dtype': 'int64', 'shape': [1]},
                         'task_index': {'dtype': 'int64', 'shape': [1]}}}
    (root / 'meta').mkdir(parents=True)
    (root / 'meta' / 'info.json').write_text(json.dumps(info))
    tasks = ['put the apple in the bowl', 'close the laptop']
    (root / 'meta' / 'tasks.jsonl').write_text(
        '\n'.join(json.dumps({'task_index': i, 'task': t}) for i, t in enumerate(tasks)) + '\n')
    index = 0
    for ep, n in enumerate(lengths):
        state = np.zeros((n, 8), np.float32)
        state[:, 0] = 0.3 + 0.01 * np.arange(n)
        state[:, 2] = 0.2
        state[:, 6] = 1.0  # identity quaternion (x y z w)
        state[:, 7] = (np.arange(n) >= n // 2).astype(np.float32)
        # Rows stored shuffled: the importer must order them by frame_index.
        order = np.random.default_rng(ep).permutation(n)
        table = pa.table({
            'observation.state': pa.array([list(state[i]) for i in order], pa.list_(pa.float32(), 8)),
            'action': pa.array([list(state[i]) for i in order], pa.list_(pa.float32(), 8)),
            'timestamp': pa.array([i / fps for i in order], pa.float32()),
            'frame_index': pa.array(order, pa.int64()),
            'episode_index': pa.array([ep] * n, pa.int64()),
            'index': pa.array(index + order, pa.int64()),
            'task_index': pa.array([ep % len(tasks)] * n, pa.int64())})
        index += n
        data_dir = root / 'data' / 'chunk-000'
        data_dir.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, data_dir / f'episode_{ep:06d}.parquet')
        video_dir = root / 'videos' / 'chunk-000' / key
        video_dir.mkdir(parents=True, exist_ok=True)
        writer = cv2.VideoWriter(str(video_dir / f'episode_{ep:06d}.mp4'), cv2.VideoWriter_fourcc(*'mp4v'),
                                 fps, (W, H))
        for i in range(n):
            writer.write(np.full((H, W, 3), 20 * i + 10, np.uint8))  # flat grey, brighter each frame
        writer.release()
    return root


def test_lerobot_folder_imports_with_tasks_poses_and_gripper(tmp_path):
    root = write_lerobot_dataset(tmp_path / 'lerobot')
    mapping = yaml.safe_load((CONFIG_DIR / 'import_lerobot.yaml').read_text())
    mapping['image_size'] = 32
    (tmp_path / 'm.yaml').write_text(yaml.safe_dump(mapping))
    assert run_cli('--from', 'lerobot', '--src', root, '--mapping', tmp_path / 'm.yaml', '--out', tmp_path / 'out') == 0
    paths = sorted((tmp_path / 'out').glob('lerobot_*.hdf5'))
    assert len(paths) == 2
    first, second = read_episode(paths[0]), read_episode(paths[1])
    assert first.instruction == 'put the apple in the bowl' and second.instruction == 'close the laptop'
    assert first.rgb.shape == (8, 32, 32, 3) and len(second) == 6
    # Lossy mp4: each frame's mean grey level identifies it, in frame_index order.
    np.testing.assert_allclose(first.rgb.reshape(8, -1).mean(axis=1), 20 * np.arange(8) + 10, atol=4)
    np.testing.assert_allclose(first.ee_pose[:, 0, 3], 0.3 + 0.01 * np.arange(8), atol=1e-6)
    np.testing.assert_allclose(first.ee_pose[:, :3, :3], np.tile(np.eye(3), (8, 1, 1)), atol=1e-6)
    np.testing.assert_array_equal(first.gripper, (np.arange(8) >= 4).astype(np.float32))
    f = 0.5 * H / np.tan(np.deg2rad(45.0) / 2)  # fov_y 45 deg at 40x30, then resized to 32x32
    assert first.camera.fy == pytest.approx(f * 32 / H) and first.camera.fx == pytest.approx(f * 32 / W)


def test_lerobot_errors_name_the_problem(tmp_path):
    root = write_lerobot_dataset(tmp_path / 'lerobot', lengths=(4,))
    mapping = yaml.safe_load((CONFIG_DIR / 'import_lerobot.yaml').read_text())
    mapping['camera']['rgb'] = 'observation.images.wrist'
    (tmp_path / 'm.yaml').write_text(yaml.safe_dump(mapping))
    with pytest.raises(VideoPlannerError, match="'observation.images.wrist' is not a camera.*observation.images.top"):
        cli.import_episodes('lerobot', root, tmp_path / 'm.yaml', tmp_path / 'out')
    mapping['camera']['rgb'] = 'observation.images.top'
    mapping['gripper']['index'] = 9
    (tmp_path / 'm.yaml').write_text(yaml.safe_dump(mapping))
    with pytest.raises(VideoPlannerError, match=r'indices \[9\] out of range.*width 8'):
        cli.import_episodes('lerobot', root, tmp_path / 'm.yaml', tmp_path / 'out')
    info = json.loads((root / 'meta' / 'info.json').read_text())
    info['codebase_version'] = 'v3.0'
    (root / 'meta' / 'info.json').write_text(json.dumps(info))
    with pytest.raises(VideoPlannerError, match="codebase_version 'v3.0' is not supported"):
        cli.import_episodes('lerobot', root, CONFIG_DIR / 'import_lerobot.yaml', tmp_path / 'out')

