"""AVDC-style inverse dynamics: dense optical flow + depth of frame 0 + PnP -> end-effector poses.

1. End-effector pixels in frame 0: the caller's mask (segmentation in sim), or a disc around the
   projection of ``T_base_ee0`` (radius ``ee_disc_radius_m`` projected at the ee's depth).
2. Their 3D positions from ``depth0_m`` and the intrinsics (camera frame at t0).
3. Dense flow (OpenCV DIS or Farneback) between consecutive frames, chained to track those pixels;
   a forward-backward check drops pixels whose track breaks (occlusion, garbage frames).
4. Per frame, the rigid motion M(t) of the tracked points in the camera frame from their t0 3D
   positions and tracked 2D positions: RANSAC + ``cv2.solvePnP`` (full SE(3)), or a linear
   translation-only fit (orientation kept) -- ``rotation='auto'`` takes the full fit only when it
   explains the tracks clearly better, since a 64x64 end-effector is often too small for rotation.
5. ``T_base_ee(t) = T_base_camera @ M(t) @ T_camera_base @ T_base_ee0``.

Confidence per step multiplies: inlier ratio, fraction of frame-0 points still tracked, a
reprojection-error term and a photometric term (the tracked pixels must keep frame 0's colours --
this is what catches all-black or noise frames, where flow is "zero" or random but consistent).

Gripper heuristic: a step with end-effector image motion is a "carry" step when most pixels just
below the end-effector in the image (towards the projection of base -z) move with it; a carried
object means a closed gripper. A pause (no ee motion) ends in the state of the next moving step (the
gripper closes while the arm pauses at the object, then lifts). When no step moves at all, the
gripper is reported open: the flow cannot tell. (Known limit: an arm link right below the ee in the
image would read as a carried object.)
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from video_planner.camera import CameraModel
from video_planner.dynamics.motion import EeMotion, InverseDynamics, check_inputs
from video_planner.errors import ConfigError


@dataclass
class FlowConfig:
    flow_method: str = 'dis'  # 'dis' or 'farneback'
    dis_preset: str = 'medium'  # 'ultrafast' | 'fast' | 'medium'
    upscale: int = 1  # flow runs on frames resized by this factor (sub-pixel tracks at 64x64)
    ee_disc_radius_m: float = 0.035  # ee mask when none is given: disc of this radius around the ee
    forward_backward: bool = True  # also run backward flow and drop tracks that disagree
    fb_tolerance_px: float = 1.0  # forward-backward flow disagreement that drops a track (input px)
    min_points: int = 6  # fewer tracked points than this: confidence 0 for the step
    ransac_reprojection_px: float = 1.5  # inlier threshold (input px)
    ransac_iterations: int = 60
    rotation: str = 'auto'  # 'auto' | 'pnp' (full SE(3)) | 'keep' (translation only)
    rotation_gain: float = 0.6  # 'auto': take the full fit when its RMS error < gain * translation-only
    # Confidence terms are soft thresholds 1 / (1 + (x / scale)^4): ~1 below the scale, ~0 above.
    reprojection_scale_px: float = 1.0  # RMS reprojection error of the inliers
    photometric_scale: float = 45.0  # mean |rgb(t) - rgb(0)| of the tracked pixels, 0..255 units
    # (measured on the synthetic rig: real tracks 8..30, black/noise/unrelated frames 70..105)
    min_depth_m: float = 0.05
    max_depth_m: float = 5.0
    gripper_ring_px: float = 4.0  # how far below the ee (input px) pixels are checked for co-motion
    gripper_min_motion_px: float = 0.7  # ee image motion below this: the step says nothing on the gripper
    gripper_comotion_fraction: float = 0.5  # fraction of ring pixels moving with the ee -> carrying
    seed: int = 0

    def __post_init__(self):
        if self.flow_method not in ('dis', 'farneback'):
            raise ConfigError(f"flow.flow_method: expected 'dis' or 'farneback', got {self.flow_method!r}")
        if self.dis_preset not in ('ultrafast', 'fast', 'medium'):
            raise ConfigError(f"flow.dis_preset: expected 'ultrafast', 'fast' or 'medium', got {self.dis_preset!r}")
        if self.rotation not in ('auto', 'pnp', 'keep'):
            raise ConfigError(f"flow.rotation: expected 'auto', 'pnp' or 'keep', got {self.rotation!r}")
        if not (isinstance(self.upscale, int) and 1 <= self.upscale <= 8):
            raise ConfigError(f'flow.upscale: expected an int in [1, 8], got {self.upscale!r}')
        for name in ('ee_disc_radius_m', 'fb_tolerance_px', 'ransac_reprojection_px',
                     'reprojection_scale_px', 'photometric_scale', 'gripper_ring_px'):
            if not getattr(self, name) > 0:
                raise ConfigError(f'flow.{name}: expected a positive number, got {getattr(self, name)!r}')
        if self.min_points < 4:
            raise ConfigError(f'flow.min_points: expected >= 4 (PnP needs 4), got {self.min_points}')


# ---------------------------------------------------------------------------------------------- flow
class DenseFlow:
    """Dense optical flow between two RGB frames, in input-pixel units, at ``upscale`` internally."""

    _PRESETS = {'ultrafast': cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
                'fast': cv2.DISOPTICAL_FLOW_PRESET_FAST, 'medium': cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}

    def __init__(self, method: str = 'dis', upscale: int = 2, preset: str = 'medium'):
        self.method, self.upscale = method, upscale
        if method == 'dis':
            self._dis = cv2.DISOpticalFlow_create(self._PRESETS[preset])
            self._dis.setFinestScale(0)

    def _gray(self, rgb: np.ndarray) -> np.ndarray:
        g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        if self.upscale > 1:
            h, w = g.shape
            g = cv2.resize(g, (w * self.upscale, h * self.upscale), interpolation=cv2.INTER_LINEAR)
        return g

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(H, W, 2) flow (du, dv) from ``a`` to ``b`` at every pixel of ``a``."""
        ga, gb = self._gray(a), self._gray(b)
        if self.method == 'dis':
            f = self._dis.calc(ga, gb, None)
        else:
            f = cv2.calcOpticalFlowFarneback(ga, gb, None, 0.5, 3, 9, 5, 5, 1.1, 0)
        if self.upscale > 1:
            h, w = a.shape[:2]
            # Back to input pixels: flow sampled at input pixel centres, divided by the scale.
            f = cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) / self.upscale
        return f.astype(np.float32)


def sample_bilinear(field: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """(H, W, C) field sampled at (N, 2) float pixel positions (u, v), border-clamped -> (N, C)."""
    H, W = field.shape[:2]
    u = np.clip(uv[:, 0], 0, W - 1)
    v = np.clip(uv[:, 1], 0, H - 1)
    u0 = np.minimum(np.floor(u).astype(int), W - 2 if W > 1 else 0)
    v0 = np.minimum(np.floor(v).astype(int), H - 2 if H > 1 else 0)
    du, dv = (u - u0)[:, None], (v - v0)[:, None]
    f = field.reshape(H, W, -1).astype(np.float64)
    u1, v1 = np.minimum(u0 + 1, W - 1), np.minimum(v0 + 1, H - 1)
    return ((1 - du) * (1 - dv) * f[v0, u0] + du * (1 - dv) * f[v0, u1]
            + (1 - du) * dv * f[v1, u0] + du * dv * f[v1, u1])


# ---------------------------------------------------------------------------------------------- motion fits
@dataclass
class _Fit:
    R: np.ndarray
    t: np.ndarray
    inliers: np.ndarray  # bool over the points given
    rms_px: float


def _reprojection_errors(X: np.ndarray, uv: np.ndarray, K: np.ndarray, R, t) -> np.ndarray:
    Xc = X @ R.T + t
    z = Xc[:, 2]
    with np.errstate(divide='ignore', invalid='ignore'):
        proj = (Xc @ K.T)[:, :2] / z[:, None]
    err = np.linalg.norm(proj - uv, axis=1)
    err[~(z > 1e-6) | ~np.isfinite(err)] = np.inf
    return err


def _translation_batch(X, uv, K) -> np.ndarray:
    """Translation-only fits for a batch of point sets: X (B, n, 3), uv (B, n, 2) -> t (B, 3), NaN if singular."""
    fx, fy, cx, cy, s = K[0, 0], K[1, 1], K[0, 2], K[1, 2], K[0, 1]
    # Normalised image coordinates, so that x_n * (Z + tz) = X + tx and y_n * (Z + tz) = Y + ty.
    yn = (uv[..., 1] - cy) / fy
    xn = (uv[..., 0] - cx - s * yn) / fx
    zeros, ones = np.zeros_like(xn), np.ones_like(xn)
    A = np.concatenate([np.stack([-ones, zeros, xn], -1), np.stack([zeros, -ones, yn], -1)], axis=1)
    b = np.concatenate([X[..., 0] - xn * X[..., 2], X[..., 1] - yn * X[..., 2]], axis=1)
    AtA = np.einsum('bni,bnj->bij', A, A)
    Atb = np.einsum('bni,bn->bi', A, b)
    ok = np.abs(np.linalg.det(AtA)) > 1e-12
    t = np.full((len(X), 3), np.nan)
    if ok.any():
        t[ok] = np.linalg.solve(AtA[ok], Atb[ok][..., None])[..., 0]
    return t


def fit_translation(X, uv, K, threshold_px, iterations, rng) -> _Fit | None:
    """RANSAC over 2-point translation-only fits (vectorised), refit on the inliers."""
    n = len(X)
    if n < 2:
        return None
    pairs = np.stack([rng.integers(0, n, iterations), rng.integers(0, n - 1, iterations)], axis=1)
    pairs[:, 1] += pairs[:, 1] >= pairs[:, 0]  # two distinct points
    ts = _translation_batch(X[pairs], uv[pairs], K)
    Xc = X[None] + ts[:, None, :]
    with np.errstate(divide='ignore', invalid='ignore'):
        proj = np.einsum('bnj,ij->bni', Xc, K)[..., :2] / Xc[..., 2:3]
        counts = np.nan_to_num(np.linalg.norm(proj - uv[None], axis=2), nan=np.inf) < threshold_px
    best = counts[np.argmax(counts.sum(axis=1))]
    if best.sum() < 2:
        return None
    for _ in range(2):  # refit on the inliers, re-select
        t = _translation_batch(X[best][None], uv[best][None], K)[0]
        if not np.all(np.isfinite(t)):
            return None
        err = _reprojection_errors(X, uv, K, np.eye(3), t)
        new = err < threshold_px
        if new.sum() < 2:
            break
        best = new
    err = _reprojection_errors(X, uv, K, np.eye(3), t)
    return _Fit(np.eye(3), t, best, float(np.sqrt(np.mean(err[best] ** 2))))


def fit_se3(X, uv, K, threshold_px, iterations, guess: _Fit | None) -> _Fit | None:
    """RANSAC PnP (rigid motion of the t0 points in the camera frame), LM-refined on the inliers."""
    if len(X) < 6:
        return None
    R0 = np.eye(3) if guess is None else guess.R
    t0 = np.zeros(3) if guess is None else guess.t
    rvec, _ = cv2.Rodrigues(R0)
    tvec = t0.reshape(3, 1).copy()
    try:
        ok, rvec, tvec, inl = cv2.solvePnPRansac(
            X.astype(np.float64), uv.astype(np.float64), K, None, rvec, tvec,
            useExtrinsicGuess=True, iterationsCount=iterations, reprojectionError=threshold_px,
            confidence=0.99, flags=cv2.SOLVEPNP_ITERATIVE)
    except cv2.error:
        return None
    if not ok or inl is None or len(inl) < 6:
        return None
    idx = inl.ravel()
    rvec, tvec = cv2.solvePnPRefineLM(X[idx].astype(np.float64), uv[idx].astype(np.float64), K, None,
                                      rvec, tvec)
    R, _ = cv2.Rodrigues(rvec)
    t = tvec.ravel()
    err = _reprojection_errors(X, uv, K, R, t)
    inliers = err < threshold_px
    if inliers.sum() < 6:
        return None
    return _Fit(R, t, inliers, float(np.sqrt(np.mean(err[inliers] ** 2))))


# ---------------------------------------------------------------------------------------------- the method
class FlowDepthInverseDynamics(InverseDynamics):
    name = 'flow_depth'

    def __init__(self, config: FlowConfig | None = None):
        self.config = config or FlowConfig()
        self.flow = DenseFlow(self.config.flow_method, self.config.upscale, self.config.dis_preset)

    # -- frame-0 end-effector points
    def ee_mask_from_pose(self, camera: CameraModel, T_base_ee0: np.ndarray,
                          depth0_m: np.ndarray) -> np.ndarray:
        """Disc around the projected ee origin; pixels much deeper than the ee (table behind) dropped."""
        mask = np.zeros((camera.height, camera.width), dtype=bool)
        Pc = camera.T_camera_base @ T_base_ee0[:, 3]
        if Pc[2] <= 1e-6:
            return mask
        uv = camera.project(T_base_ee0[:3, 3])
        r_px = self.config.ee_disc_radius_m * camera.fx / Pc[2]
        vv, uu = np.mgrid[0:camera.height, 0:camera.width]
        mask = (uu - uv[0]) ** 2 + (vv - uv[1]) ** 2 <= max(r_px, 1.0) ** 2
        with np.errstate(invalid='ignore'):
            near = np.abs(depth0_m - Pc[2]) <= 2.0 * self.config.ee_disc_radius_m
        return mask & near

    def estimate(self, frames, depth0_m, camera, T_base_ee0, ee_mask0=None) -> EeMotion:
        frames, depth0_m, T_base_ee0, ee_mask0 = check_inputs(
            frames, depth0_m, camera, T_base_ee0, ee_mask0)
        cfg = self.config
        rng = np.random.default_rng(cfg.seed)
        n_frames = len(frames)
        K = camera.K
        if ee_mask0 is None:
            ee_mask0 = self.ee_mask_from_pose(camera, T_base_ee0, depth0_m)
        with np.errstate(invalid='ignore'):
            valid_depth = np.isfinite(depth0_m) & (depth0_m > cfg.min_depth_m) & (depth0_m < cfg.max_depth_m)
        vs, us = np.nonzero(ee_mask0 & valid_depth)
        uv0 = np.stack([us, vs], axis=1).astype(np.float64)
        X0 = camera.backproject(us, vs, depth0_m[vs, us]).points_camera
        colours0 = frames[0][vs, us].astype(np.float64)

        T_out = np.repeat(T_base_ee0[None], n_frames, axis=0)
        conf = np.zeros(n_frames)
        conf[0] = 1.0
        diag = {k: np.zeros(n_frames) for k in ('n_tracked', 'inlier_ratio', 'reprojection_px',
                                                 'photometric', 'rotation_used')}
        diag['n_tracked'][0] = len(uv0)
        diag['inlier_ratio'][0] = 1.0
        comotion = np.full(n_frames - 1, np.nan)  # per step: 1 carrying, 0 not, NaN undecided
        T_camera_ee0 = camera.T_camera_base @ T_base_ee0

        uv = uv0.copy()
        alive = np.ones(len(uv0), dtype=bool)
        prev_fit = None
        broken = len(uv0) < cfg.min_points
        for t in range(1, n_frames):
            if broken:
                break  # no trustworthy track: hold the last pose, confidence 0 from here on
            fwd = self.flow(frames[t - 1], frames[t])
            d = sample_bilinear(fwd, uv)
            uv_next = uv + d
            alive &= camera.in_image(uv_next)
            if cfg.forward_backward:
                back = sample_bilinear(self.flow(frames[t], frames[t - 1]), uv_next)
                alive &= np.linalg.norm(d + back, axis=1) < cfg.fb_tolerance_px
            comotion[t - 1] = self._comotion(fwd, uv[alive], d[alive], camera, T_out[t - 1])
            uv = uv_next
            idx = np.nonzero(alive)[0]
            if len(idx) < cfg.min_points:
                broken = True
                continue
            fit = self._fit(X0[idx], uv[idx], K, prev_fit, rng)
            if fit is None:
                broken = True
                continue
            prev_fit = fit
            M = np.eye(4)
            M[:3, :3], M[:3, 3] = fit.R, fit.t
            T_out[t] = camera.T_base_camera @ M @ T_camera_ee0
            inl = idx[fit.inliers]
            colours_t = sample_bilinear(frames[t], uv[inl])
            photometric = float(np.mean(np.abs(colours_t - colours0[inl])))
            n_inl = len(inl)
            diag['n_tracked'][t] = len(idx)
            diag['inlier_ratio'][t] = n_inl / len(idx)
            diag['reprojection_px'][t] = fit.rms_px
            diag['photometric'][t] = photometric
            diag['rotation_used'][t] = float(not np.allclose(fit.R, np.eye(3)))
            conf[t] = (n_inl / len(idx)
                       * min(1.0, n_inl / max(cfg.min_points, 0.5 * len(uv0)))
                       * soft_threshold(fit.rms_px, cfg.reprojection_scale_px)
                       * soft_threshold(photometric, cfg.photometric_scale))
        for t in range(1, n_frames):  # steps without an estimate hold the last estimated pose
            if conf[t] == 0.0 and diag['n_tracked'][t] == 0:
                T_out[t] = T_out[t - 1]
        gripper = gripper_from_comotion(comotion)
        return EeMotion(T_out, gripper, np.clip(conf, 0.0, 1.0), method=self.name,
                        diagnostics=dict(diag, comotion=comotion, ee_mask0=ee_mask0))

    def _fit(self, X, uv, K, prev_fit, rng) -> _Fit | None:
        cfg = self.config
        thr, iters = cfg.ransac_reprojection_px, cfg.ransac_iterations
        trans = fit_translation(X, uv, K, thr, iters, rng) if cfg.rotation != 'pnp' else None
        if cfg.rotation == 'keep':
            return trans
        full = fit_se3(X, uv, K, thr, iters, prev_fit or trans)
        if cfg.rotation == 'pnp' or trans is None:
            return full
        if full is None:
            return trans
        # Prefer the simpler model unless rotation explains clearly more of the tracks.
        better_rms = full.rms_px < cfg.rotation_gain * trans.rms_px
        more_inliers = full.inliers.sum() > 1.2 * trans.inliers.sum()
        return full if (better_rms and full.inliers.sum() >= trans.inliers.sum()) or more_inliers \
            else trans

    def _comotion(self, flow, uv_ee, d_ee, camera: CameraModel, T_base_ee) -> float:
        """1.0 if pixels just below the ee move with it, 0.0 if not, NaN if the ee does not move."""
        cfg = self.config
        if len(uv_ee) < 2:
            return np.nan
        d_med = np.median(d_ee, axis=0)
        motion = np.linalg.norm(d_med)
        if motion < cfg.gripper_min_motion_px:
            return np.nan
        centre = np.median(uv_ee, axis=0)
        below = camera.project(T_base_ee[:3, 3] - np.array([0.0, 0.0, 0.05]))
        down = below - camera.project(T_base_ee[:3, 3])
        if not np.all(np.isfinite(down)) or np.linalg.norm(down) < 1e-6:
            return np.nan
        down /= np.linalg.norm(down)
        H, W = flow.shape[:2]
        ee = np.zeros((H, W), dtype=np.uint8)
        iu = np.clip(np.round(uv_ee).astype(int), [0, 0], [W - 1, H - 1])
        ee[iu[:, 1], iu[:, 0]] = 1
        # Distance of every pixel to the nearest tracked ee pixel.
        dist = cv2.distanceTransform(1 - ee, cv2.DIST_L2, 3)
        vv, uu = np.mgrid[0:H, 0:W]
        side = (uu - centre[0]) * down[0] + (vv - centre[1]) * down[1] > 0
        ring = (dist > 1.0) & (dist <= cfg.gripper_ring_px) & side
        if ring.sum() < 3:
            return np.nan
        f = flow[ring]
        moving_with = np.linalg.norm(f - d_med, axis=1) < 0.5 * motion
        return float(moving_with.mean() >= cfg.gripper_comotion_fraction)


def soft_threshold(x: float, scale: float) -> float:
    return 1.0 / (1.0 + (x / scale) ** 4)


def gripper_from_comotion(comotion: np.ndarray) -> np.ndarray:
    """Per-step carry decisions (NaN = undecided) -> gripper per frame (K+1,), 0 open .. 1 closed.

    Frame t >= 1 ends step t-1 -> t and takes its decision; after an undecided (pause) step it takes
    the next decided step's state, since the gripper closes or opens during the pause. Frame 0 takes
    the first decided step; nothing decided at all -> open.
    """
    n = len(comotion) + 1
    decided = [i for i in range(n - 1) if not np.isnan(comotion[i])]
    g = np.zeros(n)
    if not decided:
        return g
    g[0] = comotion[decided[0]]
    for t in range(1, n):
        if not np.isnan(comotion[t - 1]):
            g[t] = comotion[t - 1]
        else:
            nxt = [i for i in decided if i >= t]
            g[t] = comotion[nxt[0]] if nxt else g[t - 1]
    return g
