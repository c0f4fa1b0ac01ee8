"""Inverse kinematics for SE(3) end-effector targets: damped least squares on pinocchio Jacobians.

Each iteration (all heavy lifting in pinocchio's C++: computeJointJacobians, updateFramePlacement,
getFrameJacobian, log3):
    e   = [p_target - p (base frame, metres) ; log3(R^T R_target) (ee frame, radians)]
    A   = W J_e, J_e the Jacobian of -e (position rows: frame Jacobian rotated to the base frame;
          rotation rows: Jlog3 applied to the local angular Jacobian), W the per-axis weights
          (rows of weight 0 dropped)
    dq  = A^T (A A^T + lambda I)^-1 W e  +  (I - A^+ A) g,   g = posture_gain (q_posture - q)
The first term is a damped least-squares step, lambda = damping + error_damping * |W e|^2 (large
errors: short, gradient-like steps; small errors: Gauss-Newton). The second is the posture velocity
projected into the task's null space (only when the arm has more joints than task rows), so a 7-DoF
arm drifts toward its home posture without disturbing the pose; both share one linear solve:
dq = g + A^T (A A^T + lambda I)^-1 (W e - A g). Joint limits: joints at a limit that the step pushes
further out are taken out of the step and it is solved again; q is then clamped, except that joints
spanning a full turn or more wrap by 2 pi instead of stopping. Steps are clipped to ``max_step_rad``.

Failures come back as an ``IkResult`` whose ``reason`` says why, never as an exception from deep
inside: UNREACHABLE (target beyond the chain's reach, or no progress possible), SINGULAR (stuck at a
rank-deficient Jacobian), JOINT_LIMIT (stuck with joints pressed against limits), MAX_ITERATIONS.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import math

import numpy as np
import pinocchio as pin

try:  # LAPACK's Cholesky solve without numpy.linalg's per-call overhead (~2 us instead of ~12 us)
    from scipy.linalg.lapack import dposv as _dposv
except ImportError:  # scipy is optional: it arrives with sentence-transformers, not on its own
    _dposv = None

from video_planner.errors import KinematicsError
from video_planner.kinematics.arm import ArmKinematics


class IkReason(str, Enum):
    """Why a solve ended. A str, so ``result.reason == 'unreachable'`` works."""

    CONVERGED = 'converged'
    UNREACHABLE = 'unreachable'
    SINGULAR = 'singular'
    JOINT_LIMIT = 'joint_limit'
    MAX_ITERATIONS = 'max_iterations'

    def __str__(self) -> str:
        return self.value


ROTATION_TOLERANCE_5DOF_RAD = 0.05   # about 3 degrees: what a 5-DoF arm may miss of a plan's orientation


@dataclass
class IkConfig:
    """Solver settings. Weights: (x, y, z) of position in the base frame, (rx, ry, rz) of rotation
    about the end-effector's own axes; 0 drops an axis (e.g. a 5-DoF arm: free roll about the tool
    axis), ``position_only`` drops all three rotation axes."""

    position_tolerance_m: float = 1e-4
    rotation_tolerance_rad: float = 1e-3
    max_iterations: int = 100
    weights: tuple[float, float, float, float, float, float] = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    position_only: bool = False
    damping: float = 1e-6           # lambda floor, added to A A^T; keeps steps finite at singularities
    error_damping: float = 1e-2     # lambda grows with the squared weighted error (Levenberg-Marquardt)
    max_step_rad: float = 0.4       # largest joint change per iteration (inf-norm)
    posture_gain: float = 0.02      # null-space pull toward the posture, per iteration
    restarts: int = 10              # random restarts after a failed solve (0: warm start only)
    seed: int = 0                   # restarts are reproducible: same target, same answer
    stall_iterations: int = 8       # stop after this many iterations without 0.1 % progress
    singular_value_threshold: float = 1e-3
    reach_margin: float = 1.01      # multiplies the reach bound before declaring UNREACHABLE

    @classmethod
    def for_arm(cls, n_joints: int, **settings) -> 'IkConfig':
        """Settings for an arm of `n_joints`. Six or more joints reach any pose. A 5-DoF arm cannot tilt its
        tool out of its own vertical plane: asked for exactly, a plan's orientation (a few milliradians off)
        makes most targets "unreachable", so the position is solved first (rotation weighted 0.1) and the
        orientation is met within ``ROTATION_TOLERANCE_5DOF_RAD``. With fewer joints only the position counts."""
        if n_joints >= 6:
            return cls(**settings)
        if n_joints == 5:
            return cls(**{'weights': (1.0, 1.0, 1.0, 0.1, 0.1, 0.1),
                          'rotation_tolerance_rad': ROTATION_TOLERANCE_5DOF_RAD, **settings})
        return cls(**{'position_only': True, **settings})

    def active_weights(self) -> np.ndarray:
        w = np.asarray(self.weights, dtype=float)
        if w.shape != (6,) or np.any(w < 0) or not np.all(np.isfinite(w)):
            raise KinematicsError(f'IkConfig.weights: expected 6 finite non-negative numbers, got {w}')
        if self.position_only:
            w = w.copy()
            w[3:] = 0.0
        if not np.any(w > 0):
            raise KinematicsError('IkConfig.weights: at least one axis must have a positive weight')
        return w


@dataclass
class IkResult:
    """Outcome of one solve. ``q`` is the best configuration found, even on failure. Errors are full
    (unweighted) position and rotation errors; ``success`` judges only the weighted axes."""

    q: np.ndarray
    success: bool
    reason: IkReason
    position_error_m: float
    rotation_error_rad: float
    iterations: int   # summed over all attempts
    attempts: int = 1  # 1 + random restarts used


class IkSolver:
    """``IkSolver(arm, config).solve(T_base_ee_target, q_init) -> IkResult``."""

    def __init__(self, arm: ArmKinematics, config: IkConfig | None = None):
        self.arm = arm
        self.config = config or IkConfig()
        w = self.config.active_weights()
        self._rows = np.flatnonzero(w > 0)             # task rows kept in A
        self._w = w[self._rows]
        self._unweighted = bool(np.all(w == 1.0))      # fast path: no row selection or scaling
        self._pos_mask = w[:3] > 0
        self._rot_mask = w[3:] > 0
        self._pos_tol2 = self.config.position_tolerance_m ** 2
        self._rot_tol2 = self.config.rotation_tolerance_rad ** 2
        self._all_position = bool(np.all(self._pos_mask))
        self._R_bw = arm.T_base_world.rotation.copy()
        self._T_wb = arm.T_world_base.homogeneous.copy()
        self._shoulder = arm.first_joint_origin_in_base()
        self._data = arm.model.createData()             # own data: solvers never share scratch space
        self._eye = np.eye(len(self._rows))
        self._redundant = arm.n > len(self._rows)
        self._wraps = (arm.upper - arm.lower) >= 2.0 * np.pi - 1e-6

    def solve(self, T_base_ee_target: np.ndarray, q_init: np.ndarray,
              q_posture: np.ndarray | None = None) -> IkResult:
        """Joint positions placing the ee at ``T_base_ee_target``, starting from ``q_init``.

        ``q_posture`` (default: the arm's home) is what redundant joints drift toward.
        """
        T = _check_target(T_base_ee_target)
        q0 = np.minimum(np.maximum(self.arm.check_q(q_init, 'q_init'), self.arm.lower), self.arm.upper)
        posture = self.arm.home if q_posture is None else self.arm.check_q(q_posture, 'q_posture')
        target_world = self._T_wb @ T
        p_des, R_des = target_world[:3, 3].copy(), target_world[:3, :3].copy()
        if self._beyond_reach(T[:3, 3]):
            return self._result(q0, p_des, R_des, 0, IkReason.UNREACHABLE)
        result = self._descend(q0, p_des, R_des, posture)
        if result.success or self.config.restarts <= 0:
            return result
        # Random restarts only replace the warm-started answer when they succeed: a failed solve
        # always reports the configuration reached from q_init, never a far-away random one.
        rng = np.random.default_rng(self.config.seed)
        total_iterations = result.iterations
        for attempt in range(1, self.config.restarts + 1):
            candidate = self._descend(self.arm.random_configuration(rng, margin=0.05), p_des, R_des, posture)
            total_iterations += candidate.iterations
            if candidate.success:
                result = candidate
                break
        result.iterations = total_iterations
        result.attempts = attempt + 1
        return result

    # ----------------------------------------------------------------- internals
    def _beyond_reach(self, p_target_base: np.ndarray) -> bool:
        if not self._all_position:
            return False  # a free position axis makes the distance bound meaningless
        offset = p_target_base - self._shoulder
        distance = math.sqrt(offset @ offset)
        return distance > self.arm.reach_m * self.config.reach_margin + self.config.position_tolerance_m

    def _pose_error(self, q: np.ndarray, p_des: np.ndarray, R_des: np.ndarray):
        """(e_p in the base frame (3,), e_r about the ee axes (3,), R_world_ee, R_err) at q.

        computeJointJacobians runs the forward pass too, so a Jacobian is ready if one is needed."""
        model, data = self.arm.model, self._data
        pin.computeJointJacobians(model, data, q)
        M = pin.updateFramePlacement(model, data, self.arm.ee_frame_id)
        R = M.rotation
        R_err = R.T @ R_des
        return self._R_bw @ (p_des - M.translation), pin.log3(R_err), R, R_err

    def _task(self, e_p: np.ndarray, e_r: np.ndarray, R: np.ndarray, R_err: np.ndarray):
        """Weighted error and its Jacobian at the last ``_pose_error`` configuration: (e_w (m,), A (m,n))."""
        model = self.arm.model
        J = pin.getFrameJacobian(model, self._data, self.arm.ee_frame_id, pin.LOCAL).reshape(6, model.nv)
        J_task = np.empty_like(J)                # reshape above: eigenpy gives (6,) when nv == 1
        J_task[:3] = (self._R_bw @ R) @ J[:3]  # ee-origin velocity in the base frame
        # d log3(R^T R_des) = -Jlog3(R_err) R_err^T omega_local: the exact derivative, which matters
        # when an axis is weighted out and a large rotation error about it stays for good.
        J_task[3:] = (pin.Jlog3(R_err) @ R_err.T) @ J[3:]
        e = np.concatenate((e_p, e_r))
        if self._unweighted:
            return e, J_task
        rows = self._rows
        return e[rows] * self._w, J_task[rows] * self._w[:, None]

    def _converged(self, e_p: np.ndarray, e_r: np.ndarray) -> bool:
        if self._unweighted:
            return e_p @ e_p <= self._pos_tol2 and e_r @ e_r <= self._rot_tol2
        e_p, e_r = e_p[self._pos_mask], e_r[self._rot_mask]
        return e_p @ e_p <= self._pos_tol2 and e_r @ e_r <= self._rot_tol2

    def _step(self, A: np.ndarray, e: np.ndarray, g: np.ndarray | None, damping: float) -> np.ndarray:
        rhs = e if g is None else e - A @ g
        M = A @ A.T + damping * self._eye
        x = None
        if _dposv is not None:
            _, x, info = _dposv(M, rhs)
            x = x if info == 0 else None
        if x is None:
            x = np.linalg.solve(M, rhs)
        dq = A.T @ x
        return dq if g is None else dq + g

    def _descend(self, q: np.ndarray, p_des: np.ndarray, R_des: np.ndarray,
                 posture: np.ndarray) -> IkResult:
        cfg, lower, upper = self.config, self.arm.lower, self.arm.upper
        q = q.copy()
        best_residual, since_progress, blocked = np.inf, 0, None
        for iteration in range(cfg.max_iterations + 1):
            e_p, e_r, R, R_err = self._pose_error(q, p_des, R_des)
            if self._converged(e_p, e_r):
                return self._make(q, e_p, e_r, iteration, IkReason.CONVERGED)
            e, A = self._task(e_p, e_r, R, R_err)
            residual = float(e @ e)
            if residual < best_residual * (1.0 - 1e-3):
                best_residual, since_progress = residual, 0
            else:
                since_progress += 1
            if since_progress >= cfg.stall_iterations or iteration == cfg.max_iterations:
                reason = self._diagnose(A, blocked, stalled=since_progress >= cfg.stall_iterations)
                return self._make(q, e_p, e_r, iteration, reason)
            g = cfg.posture_gain * (posture - q) if self._redundant and cfg.posture_gain > 0 else None
            damping = cfg.damping + cfg.error_damping * residual
            dq = self._step(A, e, g, damping)
            blocked = (((q <= lower) & (dq < 0.0)) | ((q >= upper) & (dq > 0.0))) & ~self._wraps
            if blocked.any():
                # Take the pressed joints out of the step and let the others do the work.
                A = A.copy()
                A[:, blocked] = 0.0
                if g is not None:
                    g[blocked] = 0.0
                dq = self._step(A, e, g, damping)
                dq[blocked] = 0.0
            largest = np.abs(dq).max()
            if largest > cfg.max_step_rad:
                dq *= cfg.max_step_rad / largest
            q = self._limit(q + dq)
        raise AssertionError('unreachable: the loop returns on its last iteration')

    def _limit(self, q: np.ndarray) -> np.ndarray:
        lower, upper = self.arm.lower, self.arm.upper
        above, below = q > upper, q < lower
        if not (above.any() or below.any()):
            return q
        two_pi = 2.0 * np.pi
        q = np.where(self._wraps & above, q - two_pi, q)
        q = np.where(self._wraps & below, q + two_pi, q)
        return np.minimum(np.maximum(q, lower), upper)

    def _diagnose(self, A: np.ndarray, blocked: np.ndarray | None, stalled: bool) -> IkReason:
        if blocked is not None and blocked.any():
            return IkReason.JOINT_LIMIT
        if np.linalg.svd(A, compute_uv=False).min() < self.config.singular_value_threshold:
            return IkReason.SINGULAR
        return IkReason.UNREACHABLE if stalled else IkReason.MAX_ITERATIONS

    def _result(self, q, p_des, R_des, iterations, reason) -> IkResult:
        e_p, e_r, _, _ = self._pose_error(q, p_des, R_des)
        return self._make(q, e_p, e_r, iterations, reason)

    @staticmethod
    def _make(q, e_p, e_r, iterations, reason) -> IkResult:
        return IkResult(q=q.copy(), success=reason is IkReason.CONVERGED, reason=reason,
                        position_error_m=math.sqrt(e_p @ e_p),
                        rotation_error_rad=math.sqrt(e_r @ e_r),
                        iterations=iterations)


_EYE3 = np.eye(3)


def _check_target(T) -> np.ndarray:
    arr = np.asarray(T, dtype=float)
    if arr.shape != (4, 4) or not np.isfinite(arr).all():
        raise KinematicsError(f'T_base_ee_target: expected a finite 4x4 matrix, got shape {arr.shape}')
    R = arr[:3, :3]
    (a, b, c), (d, e, f), (g, h, i) = R.tolist()
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)  # scalar: cheaper than linalg
    if np.abs(R.T @ R - _EYE3).max() > 1e-5 or det < 0.0:
        raise KinematicsError('T_base_ee_target: upper-left 3x3 block is not a rotation matrix (R^T R = I, '
                              'det R = +1)')
    return arr
