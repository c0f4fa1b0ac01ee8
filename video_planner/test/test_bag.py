"""Plans written to rosbag2 files (MCAP and sqlite3) and read back, with the type hashes ROS expects."""
import json

import numpy as np
import pytest
from rosbags.rosbag2 import Reader
from transforms3d.euler import euler2mat

from video_planner.errors import VideoPlannerError
from video_planner.kinematics.trajectory import JointTrajectory
from video_planner.planner.request import Plan
from video_planner.ros import bag
from video_planner.ros.conversions import VideoPlanEnvelope, image_to_rgb, path_to_poses


def make_envelope(plan_id='plan-0', k=4, size=12, seed=0):
    rng = np.random.default_rng(seed)
    poses = np.tile(np.eye(4), (k + 1, 1, 1))
    for i in range(k + 1):
        poses[i, :3, :3] = euler2mat(0.0, 0.1 * i, -0.05 * i)
        poses[i, :3, 3] = [0.4 + 0.02 * i, -0.1, 0.25 - 0.01 * i]
    plan = Plan(instruction=f'open the drawer ({plan_id})',
                frames=rng.integers(0, 256, (k + 1, size, size, 3), dtype=np.uint8), frame_period_s=0.1,
                T_base_ee=poses, gripper=np.linspace(0.0, 1.0, k + 1).astype(np.float32),
                confidence=rng.uniform(0, 1, k + 1).astype(np.float32), score=0.25 + seed, status='ok',
                joint_trajectory=JointTrajectory(['j1', 'j2'], rng.normal(size=(k + 1, 2)),
                                                 0.1 * np.arange(k + 1), rng.normal(size=(k + 1, 2))))
    return VideoPlanEnvelope(plan=plan, plan_id=plan_id, arm='panda', stamp_ns=(5 + seed) * 10 ** 9,
                             camera_frame_id='camera_optical_frame', base_frame_id='panda_link0')


def assert_same_plan(a: VideoPlanEnvelope, b: VideoPlanEnvelope):
    assert (a.plan_id, a.arm, a.stamp_ns, a.camera_frame_id, a.base_frame_id) == \
        (b.plan_id, b.arm, b.stamp_ns, b.camera_frame_id, b.base_frame_id)
    assert a.plan.instruction == b.plan.instruction and a.plan.status == b.plan.status
    np.testing.assert_array_equal(a.plan.frames, b.plan.frames)
    np.testing.assert_allclose(a.plan.T_base_ee, b.plan.T_base_ee, atol=1e-12)
    np.testing.assert_allclose(a.plan.gripper, b.plan.gripper)
    np.testing.assert_allclose(a.plan.confidence, b.plan.confidence)
    assert a.plan.score == pytest.approx(b.plan.score)
    assert a.plan.frame_period_s == pytest.approx(b.plan.frame_period_s)
    assert a.plan.joint_trajectory.joint_names == b.plan.joint_trajectory.joint_names
    np.testing.assert_allclose(a.plan.joint_trajectory.positions, b.plan.joint_trajectory.positions)
    np.testing.assert_allclose(a.plan.joint_trajectory.times_s, b.plan.joint_trajectory.times_s)


@pytest.mark.parametrize('storage', ['mcap', 'sqlite3'])
def test_plans_round_trip_through_a_bag(tmp_path, storage):
    plans = [make_envelope('a', seed=0), make_envelope('b', k=2, seed=1)]
    path = bag.write_plan_bag(tmp_path / 'plans', plans, storage=storage)
    back = bag.read_plan_bag(path)
    assert len(back) == 2
    for original, read in zip(plans, back):
        assert_same_plan(original, read)

    topics = bag.PlanTopics()
    frames = [(t, msg) for topic, t, msg in bag.read_messages(path, [topics.frames])]
    assert len(frames) == 5 + 3
    # The frame stream is stamped one frame period apart from the conditioning frame's stamp.
    assert [t for t, _ in frames[:5]] == [5 * 10 ** 9 + i * 100_000_000 for i in range(5)]
    np.testing.assert_array_equal(image_to_rgb(frames[2][1]), plans[0].plan.frames[2])
    _, _, path_msg = next(bag.read_messages(path, [topics.ee_path]))
    np.testing.assert_allclose(path_to_poses(path_msg), plans[0].plan.T_base_ee, atol=1e-12)
    markers = [msg for _, _, msg in bag.read_messages(path, [topics.markers])]
    assert len(markers) == 2 and len(markers[0].markers[1].colors) == 5


def test_bag_metadata_matches_what_ros2_bag_play_expects(tmp_path):
    path = bag.write_plan_bag(tmp_path / 'plans', make_envelope())
    with Reader(path) as reader:
        connections = {c.topic: c for c in reader.connections}
        assert reader.message_count == 1 + 5 + 1 + 1 + 1
    plan_connection = connections['/video_plan']
    assert plan_connection.msgtype == 'video_planner_interfaces/msg/VideoPlan'
    assert connections['/video_plan/preview'].msgtype == 'sensor_msgs/msg/Image'
    # The type hash in the bag must be the one rosidl generated for the installed interface package.
    (json_file,) = [p.with_suffix('.json') for p in bag.interface_msg_files() if p.stem == 'VideoPlan']
    generated = {h['type_name']: h['hash_string'] for h in json.loads(json_file.read_text())['type_hashes']}
    assert plan_connection.digest == generated['video_planner_interfaces/msg/VideoPlan']
    # and rosbags can decode our rclpy-serialized CDR with its own typestore (same wire layout).
    with Reader(path) as reader:
        connection = next(c for c in reader.connections if c.topic == '/video_plan')
        _, _, raw = next(reader.messages(connections=[connection]))
        decoded = bag.plan_typestore().deserialize_cdr(raw, connection.msgtype)
    assert decoded.plan_id == 'plan-0' and len(decoded.frames) == 5 and decoded.frames[0].format.startswith('rgb8; png')


def test_bad_bag_paths_raise_clear_errors(tmp_path):
    path = bag.write_plan_bag(tmp_path / 'plans', make_envelope())
    with pytest.raises(VideoPlannerError, match='exists already'):
        bag.write_plan_bag(path, make_envelope())
    with pytest.raises(VideoPlannerError, match='not a rosbag2 folder'):
        bag.read_plan_bag(tmp_path / 'nothing')
    with pytest.raises(VideoPlannerError, match="storage 'zip'"):
        bag.write_plan_bag(tmp_path / 'other', make_envelope(), storage='zip')
    with pytest.raises(VideoPlannerError, match='no VideoPlan'):
        bag.read_plan_bag(path, '/elsewhere')


def test_plans_are_found_in_a_bag_recorded_like_the_demo(tmp_path):
    from video_planner.ros.conversions import video_plan_to_msg

    # The demo records the finished plan on 'video_plan' (relative name) next to the planner's
    # frames-only VideoPlans; read_plan_bag must pick the finished ones without being told.
    with bag.BagWriter(tmp_path / 'demo') as writer:
        for i in range(2):
            envelope = make_envelope(f'p{i}', seed=i)
            writer.write('video_plan/frames', video_plan_to_msg(envelope), envelope.stamp_ns)
            envelope.plan.status = 'done'
            writer.write('video_plan', video_plan_to_msg(envelope), envelope.stamp_ns + 1)
    plans = bag.read_plan_bag(tmp_path / 'demo')
    assert [p.plan_id for p in plans] == ['p0', 'p1'] and {p.plan.status for p in plans} == {'done'}
    assert len(bag.read_plan_bag(tmp_path / 'demo', 'video_plan/frames')) == 2
    with bag.BagWriter(tmp_path / 'two') as writer:
        writer.write('a', video_plan_to_msg(make_envelope()), 1)
        writer.write('b', video_plan_to_msg(make_envelope()), 2)
    with pytest.raises(VideoPlannerError, match=r"several topics \['a', 'b'\]"):
        bag.read_plan_bag(tmp_path / 'two')
