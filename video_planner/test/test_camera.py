"""CameraModel: projection round trips, resize/crop against real renders, validation errors."""
import cv2
import numpy as np
import pytest

from video_planner.camera import CameraModel, look_at
from video_planner.dynamics.synthetic import RigidBlockScene, default_camera, pose
from video_planner.errors import VideoPlannerError


def _camera(w=64, h=48):
    return CameraModel.from_intrinsics(60.0, 58.0, 31.2, 24.7, w, h, look_at([0.8, 0.1, 0.5], [0.4, 0, 0]))


def test_project_backproject_round_trip():
    cam = _camera()
    rng = np.random.default_rng(0)
    pts = rng.uniform([0.3, -0.1, 0.0], [0.5, 0.1, 0.2], (50, 3))
    uv = cam.project(pts)
    z = (pts @ cam.T_camera_base[:3, :3].T + cam.T_camera_base[:3, 3])[:, 2]
    back = cam.backproject(uv[:, 0], uv[:, 1], z)
    np.testing.assert_allclose(back.points_base, pts, atol=1e-9)
    np.testing.assert_allclose(cam.T_base_camera @ np.c_[back.points_camera, np.ones(50)].T,
                               np.c_[pts, np.ones(50)].T, atol=1e-9)
    assert back.valid.all()


def test_unknown_depth_gives_nan_and_invalid():
    back = _camera().backproject([1, 2, 3, 4], [1, 2, 3, 4], [np.nan, 0.0, -1.0, 0.5])
    assert back.valid.tolist() == [False, False, False, True]
    assert np.isnan(back.points_base[:3]).all() and np.isfinite(back.points_base[3]).all()


def test_look_at_is_rep103_optical_frame():
    T = look_at([1.0, 0.0, 0.0], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(T[:3, 2], [-1, 0, 0], atol=1e-12)  # z forward (towards target)
    np.testing.assert_allclose(T[:3, 1], [0, 0, -1], atol=1e-12)  # y down
    np.testing.assert_allclose(T[:3, 0], [0, 1, 0], atol=1e-12)  # x right: +y, seen from +x looking at -x


def test_render_matches_projection_and_depth():
    """The pybullet render of a known point lands where CameraModel.project says, at the right depth."""
    with RigidBlockScene(default_camera(64), with_object=False) as scene:
        T = pose([0.45, 0.02, 0.12], [np.pi, 0, 0])
        _, depth, seg = scene.render(T)
        vs, us = np.nonzero(seg == scene.block)
        pts = scene.camera.backproject(us, vs, depth[vs, us]).points_base
        # Every visible block pixel back-projects onto the 6 cm block's surface.
        assert np.all(np.abs(pts - T[:3, 3]) < 0.03 + 0.01)
        # The plane (z = 0) back-projects to z ~ 0.
        plane = scene.camera.backproject_image(depth).points_base[(seg == scene.plane).ravel()]
        assert abs(np.nanmedian(plane[:, 2])) < 0.01


@pytest.mark.parametrize('size', [32, 128])
def test_resized_camera_matches_resized_render(size):
    """Render at 64, cv2.resize to `size`; a point projects through resized() onto the resized blob."""
    cam64 = default_camera(64)
    with RigidBlockScene(cam64, with_object=False) as scene:
        T = pose([0.45, -0.03, 0.1], [np.pi, 0, 0])
        rgb, _, seg = scene.render(T)
        big = cv2.resize((seg == scene.block).astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
        vs, us = np.nonzero(big > 0.5)
        centroid_resized = np.array([us.mean(), vs.mean()])
        v64, u64 = np.nonzero(seg == scene.block)
        centroid64 = np.array([u64.mean(), v64.mean()])
        # Map the 64-px centroid through the camera models: back-project at 64, project at `size`.
        depth_guess = 0.5
        p = cam64.backproject([centroid64[0]], [centroid64[1]], [depth_guess]).points_base[0]
        uv = cam64.resized(size, size).project(p)
        assert np.linalg.norm(uv - centroid_resized) < 0.6 * size / 64 + 0.5
        # A naive scaling without the half-pixel shift is off by (s-1)/2 px: check we are closer than it.
        naive = centroid64 * size / 64
        assert np.linalg.norm(uv - centroid_resized) <= np.linalg.norm(naive - centroid_resized) + 1e-9


def test_resized_and_cropped_intrinsics():
    cam = CameraModel.from_intrinsics(100, 90, 63.5, 47.5, 128, 96)
    half = cam.resized(64, 48)
    assert (half.fx, half.fy, half.cx, half.cy) == (50.0, 45.0, 31.5, 23.5)
    crop = cam.cropped(10, 20, 64, 48)
    assert (crop.cx, crop.cy, crop.width, crop.height) == (53.5, 27.5, 64, 48)
    # A 3D point keeps its pixel up to the crop offset.
    p = cam.backproject([70.0], [50.0], [1.0]).points_base[0]
    np.testing.assert_allclose(crop.project(p), [60.0, 30.0], atol=1e-9)


def test_from_camera_info_fields():
    k = [525.0, 0, 319.5, 0, 525.0, 239.5, 0, 0, 1]
    cam = CameraModel.from_camera_info_fields(k, 640, 480, frame_id='cam_optical')
    assert cam.fx == 525.0 and cam.cy == 239.5 and cam.frame_id == 'cam_optical'
    with pytest.raises(VideoPlannerError, match='CameraInfo.k'):
        CameraModel.from_camera_info_fields([1, 2, 3], 640, 480)


@pytest.mark.parametrize('kwargs, match', [
    (dict(fx=-1.0), 'focal'),
    (dict(fy=0.0), 'focal'),
    (dict(cx=np.nan), 'NaN'),
    (dict(w=0), 'width and height'),
    (dict(T=np.diag([1.0, 1.0, -1.0, 1.0])), 'proper rotation'),
    (dict(T=np.full((4, 4), np.inf)), 'NaN or inf'),
    (dict(T=np.eye(3)), '4x4'),
])
def test_invalid_cameras_raise(kwargs, match):
    args = dict(fx=50.0, fy=50.0, cx=31.5, cy=31.5, w=64, h=64, T=np.eye(4))
    args.update(kwargs)
    with pytest.raises(VideoPlannerError, match=match):
        CameraModel.from_intrinsics(args['fx'], args['fy'], args['cx'], args['cy'], args['w'], args['h'],
                                    args['T'])


def test_bad_crop_and_image_size_mismatch():
    cam = _camera()
    with pytest.raises(VideoPlannerError, match='does not fit'):
        cam.cropped(40, 0, 32, 48)
    with pytest.raises(VideoPlannerError, match='resized'):
        cam.check_image(np.zeros((64, 64, 3), np.uint8))
