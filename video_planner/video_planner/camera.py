"""Pinhole camera model: intrinsics, image size and the pose of the optical frame in the robot base.

Conventions (docs/ARCHITECTURE.md): the optical frame follows REP 103 (z forward, x right, y down);
``T_base_camera`` is the pose of that optical frame in the robot base frame, so
``p_base = T_base_camera @ p_camera``. Pixel (u, v) = (column, row); pixel centres sit at integer
coordinates, the same as ROS ``CameraInfo`` and OpenCV.

Every image resize or crop in the project goes through :meth:`CameraModel.resized` /
:meth:`CameraModel.cropped`, so that the intrinsics always describe the pixels actually used.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from video_planner.errors import VideoPlannerError

_ROTATION_TOL = 1e-4


@dataclass(frozen=True)
class BackprojectedPoints:
    """3D points from pixels + depth, in the camera optical frame and in the robot base frame."""

    points_camera: np.ndarray  # (N, 3) metres, NaN where depth was unknown
    points_base: np.ndarray  # (N, 3) metres, NaN where depth was unknown
    valid: np.ndarray  # (N,) bool: depth finite and > 0


@dataclass(frozen=True)
class CameraModel:
    """Intrinsics ``K`` (3x3), image ``width`` x ``height`` in pixels, extrinsics ``T_base_camera``."""

    K: np.ndarray
    width: int
    height: int
    T_base_camera: np.ndarray = field(default_factory=lambda: np.eye(4))
    frame_id: str = 'camera_optical_frame'

    def __post_init__(self):
        K = np.array(self.K, dtype=np.float64)
        T = np.array(self.T_base_camera, dtype=np.float64)
        object.__setattr__(self, 'K', K)
        object.__setattr__(self, 'T_base_camera', T)
        self._validate()
        K.setflags(write=False)
        T.setflags(write=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_intrinsics(cls, fx: float, fy: float, cx: float, cy: float, width: int, height: int,
                        T_base_camera: np.ndarray | None = None,
                        frame_id: str = 'camera_optical_frame') -> 'CameraModel':
        K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]], dtype=np.float64)
        return cls(K=K, width=width, height=height,
                   T_base_camera=np.eye(4) if T_base_camera is None else T_base_camera,
                   frame_id=frame_id)

    @classmethod
    def from_camera_info_fields(cls, k, width: int, height: int,
                                T_base_camera: np.ndarray | None = None,
                                frame_id: str = 'camera_optical_frame') -> 'CameraModel':
        """From a ``sensor_msgs/CameraInfo``'s ``k`` (9 values, row-major), ``width``, ``height``.

        Distortion is assumed already removed (rectified images), as for the simulator's camera.
        """
        k = np.asarray(k, dtype=np.float64)
        if k.shape != (9,) and k.shape != (3, 3):
            raise VideoPlannerError(
                f'CameraInfo.k: expected 9 values (row-major 3x3), got shape {k.shape}')
        return cls(K=k.reshape(3, 3), width=width, height=height,
                   T_base_camera=np.eye(4) if T_base_camera is None else T_base_camera,
                   frame_id=frame_id)

    @classmethod
    def from_fov(cls, fov_y_deg: float, width: int, height: int,
                 T_base_camera: np.ndarray | None = None,
                 frame_id: str = 'camera_optical_frame') -> 'CameraModel':
        """Square pixels, principal point at the image centre, vertical field of view (pybullet style)."""
        if not (0.0 < fov_y_deg < 180.0):
            raise VideoPlannerError(f'fov_y_deg: expected a value in (0, 180), got {fov_y_deg}')
        f = 0.5 * height / np.tan(np.deg2rad(fov_y_deg) / 2.0)
        return cls.from_intrinsics(f, f, (width - 1) / 2.0, (height - 1) / 2.0, width, height,
                                   T_base_camera, frame_id)

    # ------------------------------------------------------------------ accessors
    @property
    def fx(self) -> float:
        return float(self.K[0, 0])

    @property
    def fy(self) -> float:
        return float(self.K[1, 1])

    @property
    def cx(self) -> float:
        return float(self.K[0, 2])

    @property
    def cy(self) -> float:
        return float(self.K[1, 2])

    @property
    def T_camera_base(self) -> np.ndarray:
        R = self.T_base_camera[:3, :3]
        T = np.eye(4)
        T[:3, :3] = R.T
        T[:3, 3] = -R.T @ self.T_base_camera[:3, 3]
        return T

    # ------------------------------------------------------------------ image geometry changes
    def resized(self, width: int, height: int) -> 'CameraModel':
        """The camera for the same view resampled to ``width`` x ``height`` (e.g. cv2.resize).

        Uses the pixel-centre convention of OpenCV's resize: u' + 0.5 = (u + 0.5) * sx.
        """
        _check_size(width, height, 'resized')
        sx = width / self.width
        sy = height / self.height
        K = self.K.copy()
        K[0, 0] *= sx
        K[0, 1] *= sx
        K[0, 2] = (self.K[0, 2] + 0.5) * sx - 0.5
        K[1, 1] *= sy
        K[1, 2] = (self.K[1, 2] + 0.5) * sy - 0.5
        return CameraModel(K=K, width=int(width), height=int(height),
                           T_base_camera=self.T_base_camera.copy(), frame_id=self.frame_id)

    def cropped(self, x0: int, y0: int, width: int, height: int) -> 'CameraModel':
        """The camera for ``image[y0:y0+height, x0:x0+width]``."""
        _check_size(width, height, 'cropped')
        if x0 < 0 or y0 < 0 or x0 + width > self.width or y0 + height > self.height:
            raise VideoPlannerError(
                f'cropped: window x0={x0}, y0={y0}, {width}x{height} does not fit inside the '
                f'{self.width}x{self.height} image')
        K = self.K.copy()
        K[0, 2] -= x0
        K[1, 2] -= y0
        return CameraModel(K=K, width=int(width), height=int(height),
                           T_base_camera=self.T_base_camera.copy(), frame_id=self.frame_id)

    def with_pose(self, T_base_camera: np.ndarray) -> 'CameraModel':
        return CameraModel(K=self.K.copy(), width=self.width, height=self.height,
                           T_base_camera=T_base_camera, frame_id=self.frame_id)

    # ------------------------------------------------------------------ projection
    def project_camera(self, points_camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points in the optical frame (N, 3) -> pixels (N, 2) (u, v) and in-front mask (N,)."""
        P = np.asarray(points_camera, dtype=np.float64).reshape(-1, 3)
        z = P[:, 2]
        in_front = z > 1e-9
        safe_z = np.where(in_front, z, np.nan)
        uvw = P @ self.K.T
        uv = uvw[:, :2] / safe_z[:, None]
        return uv, in_front

    def project(self, points_base: np.ndarray) -> np.ndarray:
        """Points in the robot base frame (N, 3) or (3,) -> pixels (N, 2) or (2,); NaN behind the camera."""
        P = np.asarray(points_base, dtype=np.float64)
        single = P.ndim == 1
        P = P.reshape(-1, 3)
        T = self.T_camera_base
        Pc = P @ T[:3, :3].T + T[:3, 3]
        uv, _ = self.project_camera(Pc)
        return uv[0] if single else uv

    def in_image(self, uv: np.ndarray) -> np.ndarray:
        """(N, 2) pixels -> (N,) bool, inside [-0.5, W-0.5) x [-0.5, H-0.5)."""
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        with np.errstate(invalid='ignore'):
            return ((uv[:, 0] >= -0.5) & (uv[:, 0] < self.width - 0.5)
                    & (uv[:, 1] >= -0.5) & (uv[:, 1] < self.height - 0.5))

    def backproject(self, u, v, depth_m) -> BackprojectedPoints:
        """Pixels (u, v) with depth along the optical axis (z, metres) -> 3D points.

        ``depth_m`` is z-depth (what ROS depth images and the simulator's ``depth_m`` hold), not
        range along the ray. Unknown depth (NaN, 0, negative, inf) gives NaN points and valid=False.
        """
        u = np.asarray(u, dtype=np.float64).reshape(-1)
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        z = np.asarray(depth_m, dtype=np.float64).reshape(-1)
        if not (u.shape == v.shape == z.shape):
            raise VideoPlannerError(
                f'backproject: u, v and depth_m must have the same length, got '
                f'{u.shape[0]}, {v.shape[0]}, {z.shape[0]}')
        valid = np.isfinite(z) & (z > 0)
        z = np.where(valid, z, np.nan)
        x = (u - self.cx - self.K[0, 1] * (v - self.cy) / self.fy) / self.fx * z
        y = (v - self.cy) / self.fy * z
        Pc = np.stack([x, y, z], axis=1)
        Pb = Pc @ self.T_base_camera[:3, :3].T + self.T_base_camera[:3, 3]
        return BackprojectedPoints(points_camera=Pc, points_base=Pb, valid=valid)

    def backproject_image(self, depth_m: np.ndarray) -> BackprojectedPoints:
        """A whole (H, W) depth image -> points for every pixel, row-major (H*W, 3)."""
        depth_m = np.asarray(depth_m)
        if depth_m.shape != (self.height, self.width):
            raise VideoPlannerError(
                f'depth_m: expected shape ({self.height}, {self.width}) to match the camera, '
                f'got {depth_m.shape}')
        v, u = np.mgrid[0:self.height, 0:self.width]
        return self.backproject(u.ravel(), v.ravel(), depth_m.ravel())

    def check_image(self, image: np.ndarray, name: str = 'image') -> None:
        """Raise if ``image``'s size does not match this camera (the resize-without-intrinsics bug)."""
        shape = np.shape(image)
        if len(shape) < 2 or shape[0] != self.height or shape[1] != self.width:
            raise VideoPlannerError(
                f'{name}: image is {shape[1] if len(shape) > 1 else "?"}x{shape[0] if shape else "?"} '
                f'but the camera model is {self.width}x{self.height}; resize the camera with '
                f'CameraModel.resized(w, h) whenever the image is resized')

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        K, T = self.K, self.T_base_camera
        if K.shape != (3, 3):
            raise VideoPlannerError(f'CameraModel.K: expected a 3x3 matrix, got shape {K.shape}')
        if not np.all(np.isfinite(K)):
            raise VideoPlannerError('CameraModel.K: contains NaN or inf')
        if K[0, 0] <= 0 or K[1, 1] <= 0:
            raise VideoPlannerError(
                f'CameraModel.K: focal lengths must be positive, got fx={K[0, 0]}, fy={K[1, 1]}')
        if not np.allclose(K[2], [0.0, 0.0, 1.0]) or K[1, 0] != 0.0:
            raise VideoPlannerError(
                f'CameraModel.K: expected [[fx, s, cx], [0, fy, cy], [0, 0, 1]], got {K.tolist()}')
        _check_size(self.width, self.height, 'CameraModel')
        if T.shape != (4, 4):
            raise VideoPlannerError(
                f'CameraModel.T_base_camera: expected a 4x4 matrix, got shape {T.shape}')
        if not np.all(np.isfinite(T)):
            raise VideoPlannerError('CameraModel.T_base_camera: contains NaN or inf')
        if not np.allclose(T[3], [0.0, 0.0, 0.0, 1.0]):
            raise VideoPlannerError(
                f'CameraModel.T_base_camera: last row must be [0, 0, 0, 1], got {T[3].tolist()}')
        R = T[:3, :3]
        if (np.abs(R.T @ R - np.eye(3)).max() > _ROTATION_TOL
                or abs(np.linalg.det(R) - 1.0) > _ROTATION_TOL):
            raise VideoPlannerError(
                'CameraModel.T_base_camera: rotation block is not a proper rotation '
                '(orthonormal, det +1)')
        if not isinstance(self.frame_id, str) or not self.frame_id:
            raise VideoPlannerError('CameraModel.frame_id: expected a non-empty string')


def _check_size(width, height, where: str) -> None:
    if (not isinstance(width, (int, np.integer)) or not isinstance(height, (int, np.integer))
            or width <= 0 or height <= 0):
        raise VideoPlannerError(
            f'{where}: width and height must be positive integers, got {width!r} x {height!r}')


def look_at(eye, target, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """T_base_camera for an optical frame at ``eye`` looking at ``target`` (REP 103, y down).

    ``up`` is the base-frame direction that should appear upward in the image.
    """
    eye = np.asarray(eye, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    z = target - eye
    n = np.linalg.norm(z)
    if n < 1e-9:
        raise VideoPlannerError('look_at: eye and target coincide')
    z /= n
    x = np.cross(z, np.asarray(up, dtype=np.float64))
    if np.linalg.norm(x) < 1e-9:
        raise VideoPlannerError('look_at: viewing direction is parallel to up; pick another up')
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    T = np.eye(4)
    T[:3, 0], T[:3, 1], T[:3, 2], T[:3, 3] = x, y, z, eye
    return T
