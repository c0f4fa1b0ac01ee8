"""Message conversions: images in every supported encoding, camera info, poses, paths, markers, plans."""
import array

import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, Image
from transforms3d.euler import euler2mat
from transforms3d.quaternions import mat2quat

from video_planner.errors import ImageConversionError, VideoPlannerError
from video_planner.ros import conversions as conv

RNG = np.random.default_rng(0)


def _image(encoding, pixels, step=None, bigendian=False):
    """Build an Image by hand the way a camera driver would, with optional row padding."""
    h, w = pixels.shape[:2]
    wire = pixels.astype(pixels.dtype.newbyteorder('>' if bigendian else '<'))
    row = wire.reshape(h, -1).view(np.uint8)
    step = row.shape[1] if step is None else step
    padded = np.full((h, step), 0xAB, dtype=np.uint8)
    padded[:, :row.shape[1]] = row
    return Image(height=h, width=w, encoding=encoding, is_bigendian=int(bigendian), step=step,
                 data=array.array('B', padded.tobytes()))


def _pose(roll, pitch, yaw, xyz):
    T = np.eye(4)
    T[:3, :3] = euler2mat(roll, pitch, yaw)
    T[:3, 3] = xyz
    return T


@pytest.mark.parametrize('encoding,order', [('rgb8', [0, 1, 2]), ('bgr8', [2, 1, 0]),
                                            ('rgba8', [0, 1, 2, 3]), ('bgra8', [2, 1, 0, 3])])
@pytest.mark.parametrize('pad', [0, 5])
def test_colour_encodings_decode_to_rgb(encoding, order, pad):
    rgb = RNG.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    rgba = np.concatenate([rgb, np.full((7, 9, 1), 200, np.uint8)], axis=2)
    wire = rgba[:, :, order]
    msg = _image(encoding, wire, step=9 * len(order) + pad)
    out = conv.image_to_rgb(msg)
    assert out.dtype == np.uint8 and out.shape == (7, 9, 3)
    np.testing.assert_array_equal(out, rgb)


def test_mono_encodings_decode_to_grey_rgb():
    mono = RNG.integers(0, 256, (4, 6), dtype=np.uint8)
    np.testing.assert_array_equal(conv.image_to_rgb(_image('mono8', mono, step=8)), np.stack([mono] * 3, -1))
    mono16 = mono.astype(np.uint16) << 8 | 0x7F
    for big in (False, True):
        out = conv.image_to_rgb(_image('mono16', mono16, bigendian=big))
        np.testing.assert_array_equal(out[:, :, 1], mono)


@pytest.mark.parametrize('bigendian', [False, True])
def test_depth_16uc1_millimetres_to_metres_with_nan(bigendian):
    mm = RNG.integers(1, 5000, (5, 6)).astype(np.uint16)
    mm[0, 0] = 0
    out = conv.image_to_depth_m(_image('16UC1', mm, step=6 * 2 + 4, bigendian=bigendian))
    assert out.dtype == np.float32
    assert np.isnan(out[0, 0])
    np.testing.assert_allclose(out[1:], mm[1:] / 1000.0, rtol=1e-6)


@pytest.mark.parametrize('bigendian', [False, True])
def test_depth_32fc1_metres(bigendian):
    depth = RNG.uniform(0.2, 3.0, (3, 4)).astype(np.float32)
    depth[2, 3] = np.nan
    depth[1, 1] = 0.0  # unknown in 32FC1 too
    out = conv.image_to_depth_m(_image('32FC1', depth, bigendian=bigendian))
    assert np.isnan(out[2, 3]) and np.isnan(out[1, 1])
    mask = np.isfinite(out)
    np.testing.assert_array_equal(out[mask], depth[mask])


def test_rgb_and_depth_round_trip_through_builders():
    rgb = RNG.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    msg = conv.rgb_to_image(rgb, stamp=12.25, frame_id='camera_optical_frame')
    assert (msg.encoding, msg.step, msg.header.frame_id) == ('rgb8', 64 * 3, 'camera_optical_frame')
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (12, 250_000_000)
    np.testing.assert_array_equal(conv.image_to_rgb(msg), rgb)
    depth = RNG.uniform(0.3, 2.0, (48, 64)).astype(np.float32)
    depth[3, 4] = np.nan
    for encoding, tol in (('32FC1', 0.0), ('16UC1', 0.0005 + 1e-6)):
        back = conv.image_to_depth_m(conv.depth_to_image(depth, encoding=encoding))
        assert np.isnan(back[3, 4])
        np.testing.assert_allclose(back[np.isfinite(depth)], depth[np.isfinite(depth)], atol=tol)


def test_decoded_array_does_not_alias_message_memory():
    msg = conv.rgb_to_image(np.zeros((2, 2, 3), np.uint8))
    out = conv.image_to_rgb(msg)
    out[:] = 255
    assert max(msg.data) == 0


@pytest.mark.parametrize('field,change,match', [
    ('encoding', 'yuv422', "Image.encoding 'yuv422' is not supported"),
    ('step', 5, 'Image.step=5 is smaller'),
    ('width', 0, 'Image.width and Image.height must be positive'),
    ('height', 0, 'Image.width and Image.height must be positive'),
    ('data', array.array('B', bytes(10)), 'Image.data holds 10 bytes'),
])
def test_malformed_images_raise_named_errors(field, change, match):
    msg = conv.rgb_to_image(np.zeros((4, 4, 3), np.uint8))
    setattr(msg, field, change)
    with pytest.raises(ImageConversionError, match=match):
        conv.image_to_rgb(msg)


def test_wrong_kind_of_image_and_empty_depth_are_rejected():
    depth_msg = conv.depth_to_image(np.ones((4, 4), np.float32))
    with pytest.raises(ImageConversionError, match='32FC1'):
        conv.image_to_rgb(depth_msg)
    with pytest.raises(ImageConversionError, match='rgb8'):
        conv.image_to_depth_m(conv.rgb_to_image(np.zeros((4, 4, 3), np.uint8)))
    nan_msg = conv.depth_to_image(np.full((4, 4), np.nan, np.float32))
    with pytest.raises(ImageConversionError, match='no valid'):
        conv.image_to_depth_m(nan_msg)
    assert np.isnan(conv.image_to_depth_m(nan_msg, allow_all_invalid=True)).all()
    with pytest.raises(ImageConversionError, match='HxWx3 uint8'):
        conv.rgb_to_image(np.zeros((4, 4), np.uint8))


def test_validate_image_checks_expected_size():
    msg = conv.rgb_to_image(np.zeros((4, 6, 3), np.uint8))
    assert conv.validate_image(msg, expected_size=(6, 4)).channels == 3
    with pytest.raises(ImageConversionError, match='expected 8x4'):
        conv.validate_image(msg, expected_size=(8, 4))


def test_camera_info_round_trip_to_camera_model():
    from video_planner.camera import CameraModel

    T = _pose(0.1, -0.2, 0.3, [0.5, 0.0, 0.8])
    camera = CameraModel.from_intrinsics(500.0, 510.0, 319.5, 239.5, 640, 480, T, 'cam_opt')
    info = conv.camera_model_to_info(camera, stamp=3)
    assert info.header.frame_id == 'cam_opt' and list(info.k)[2] == 319.5
    back = conv.camera_info_to_model(info, T_base_camera=T)
    np.testing.assert_allclose(back.K, camera.K)
    np.testing.assert_allclose(back.T_base_camera, T)
    assert (back.width, back.height, back.frame_id) == (640, 480, 'cam_opt')
    with pytest.raises(ImageConversionError, match='CameraInfo.k'):
        conv.camera_info_to_model(CameraInfo(width=640, height=480))


def test_pose_quaternion_order_is_ros_xyzw():
    T = _pose(0.4, -0.3, 1.2, [0.1, -0.2, 0.3])
    pose = conv.matrix_to_pose(T)
    w, x, y, z = mat2quat(T[:3, :3])
    sign = np.sign(w) * np.sign(pose.orientation.w)
    np.testing.assert_allclose([pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w],
                               sign * np.array([x, y, z, w]), atol=1e-12)
    np.testing.assert_allclose(conv.pose_to_matrix(pose), T, atol=1e-12)
    np.testing.assert_allclose(conv.transform_to_matrix(conv.matrix_to_transform(T)), T, atol=1e-12)
    stamped = conv.matrix_to_pose_stamped(T, 1_500_000_000, 'base_link')
    assert stamped.header.stamp.sec == 1 and stamped.header.frame_id == 'base_link'
    # A 90 degree yaw is (0, 0, sin 45, cos 45) in ROS order.
    yaw = conv.matrix_to_pose(_pose(0, 0, np.pi / 2, [0, 0, 0])).orientation
    np.testing.assert_allclose(np.abs([yaw.x, yaw.y, yaw.z, yaw.w]), [0, 0, np.sqrt(0.5), np.sqrt(0.5)], atol=1e-12)
    pose.orientation.w = pose.orientation.x = pose.orientation.y = pose.orientation.z = 0.0
    with pytest.raises(VideoPlannerError, match='quaternion'):
        conv.pose_to_matrix(pose)


def test_path_round_trip_and_stamps():
    poses = np.stack([_pose(0, 0, 0.1 * i, [0.3 + 0.01 * i, 0, 0.2]) for i in range(6)])
    path = conv.poses_to_path(poses, stamp=10.0, frame_id='base_link', period_s=0.25)
    assert len(path.poses) == 6 and path.header.frame_id == 'base_link'
    assert conv.time_to_ns(path.poses[4].header.stamp) == 11_000_000_000
    np.testing.assert_allclose(conv.path_to_poses(path), poses, atol=1e-12)
    with pytest.raises(VideoPlannerError, match='N, 4, 4'):
        conv.poses_to_path(np.eye(4))


def test_path_markers_colour_spheres_by_gripper():
    poses = np.stack([_pose(0, 0, 0, [0.1 * i, 0, 0]) for i in range(3)])
    markers = conv.path_markers(poses, gripper=[0.0, 0.5, 1.0], frame_id='world')
    line, spheres = markers.markers
    assert line.type == line.LINE_STRIP and spheres.type == spheres.SPHERE_LIST
    assert [p.x for p in line.points] == pytest.approx([0.0, 0.1, 0.2])
    assert spheres.colors[0].g == 1.0 and spheres.colors[2].r == 1.0 and spheres.colors[2].g == 0.0
    assert line.header.frame_id == 'world'
    with pytest.raises(VideoPlannerError, match='gripper values'):
        conv.path_markers(poses, gripper=[0.0])


def test_joint_trajectory_round_trip():
    from video_planner.kinematics.trajectory import JointTrajectory

    traj = JointTrajectory(joint_names=['j1', 'j2', 'j3'], positions=RNG.normal(size=(4, 3)),
                           times_s=np.array([0.0, 0.1, 0.25, 0.5]), velocities=RNG.normal(size=(4, 3)))
    msg = conv.joint_trajectory_to_msg(traj)
    assert msg.points[2].time_from_start.nanosec == 250_000_000
    back = conv.joint_trajectory_from_msg(msg)
    assert back.joint_names == ['j1', 'j2', 'j3']
    np.testing.assert_allclose(back.positions, traj.positions)
    np.testing.assert_allclose(back.times_s, traj.times_s)
    np.testing.assert_allclose(back.velocities, traj.velocities)
    for point in msg.points:  # a sender that leaves velocities out: estimated from positions
        point.velocities = []
    np.testing.assert_allclose(conv.joint_trajectory_from_msg(msg).velocities,
                               np.gradient(traj.positions, traj.times_s, axis=0))


def test_video_plan_round_trip():
    from video_planner.planner.request import Plan

    frames = RNG.integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    poses = np.stack([_pose(0, 0.1 * i, 0, [0.4, 0.01 * i, 0.3]) for i in range(5)])
    plan = Plan(instruction='push the red cube left', frames=frames, frame_period_s=0.2, T_base_ee=poses,
                gripper=np.linspace(0, 1, 5, dtype=np.float32), confidence=np.full(5, 0.75, np.float32),
                score=0.5, status='ok')
    envelope = conv.VideoPlanEnvelope(plan=plan, plan_id='p-1', arm='panda', stamp_ns=7 * 10 ** 9,
                                      camera_frame_id='cam', base_frame_id='panda_link0')
    msg = conv.video_plan_to_msg(envelope)
    assert len(msg.frames) == 5 and msg.frames[3].header.stamp.nanosec == 600_000_000
    back = conv.video_plan_from_msg(msg)
    assert (back.plan_id, back.arm, back.camera_frame_id, back.base_frame_id) == ('p-1', 'panda', 'cam', 'panda_link0')
    np.testing.assert_array_equal(back.plan.frames, frames)
    np.testing.assert_allclose(back.plan.T_base_ee, poses, atol=1e-12)
    np.testing.assert_allclose(back.plan.gripper, plan.gripper)
    assert back.plan.instruction == plan.instruction and back.plan.joint_trajectory is None
    assert back.plan.frame_period_s == pytest.approx(0.2)
    msg.frames = []
    with pytest.raises(VideoPlannerError, match='frames is empty'):
        conv.video_plan_from_msg(msg)


def test_compressed_images_decode_and_bad_data_is_named():
    import cv2
    from sensor_msgs.msg import CompressedImage

    rgb = RNG.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    png = cv2.imencode('.png', rgb[:, :, ::-1])[1].tobytes()
    msg = CompressedImage(format='rgb8; png compressed bgr8', data=array.array('B', png))
    np.testing.assert_array_equal(conv.compressed_image_to_rgb(msg), rgb)
    np.testing.assert_array_equal(conv.any_image_to_rgb(msg), rgb)
    np.testing.assert_array_equal(conv.any_image_to_rgb(conv.rgb_to_image(rgb)), rgb)
    msg.data = array.array('B', b'not an image')
    with pytest.raises(ImageConversionError, match="CompressedImage.data .12 bytes, format 'rgb8; png"):
        conv.compressed_image_to_rgb(msg)
