"""An arm's kinematic chain from its URDF: pinocchio model reduced to the joints between base and ee.

Conventions: ``q`` is one number per actuated joint (radians or metres), in chain order from base to
end effector. ``fk(q)`` returns ``T_base_ee``, the pose of the end-effector frame in the base frame,
as a 4x4 float64 matrix. Joints off the base->ee chain (gripper fingers, a second arm) are locked at
their home value with ``pinocchio.buildReducedModel``, so IK never moves them.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pinocchio as pin

from video_planner.errors import KinematicsError
from video_planner.kinematics.urdf_source import read_urdf

# Joints whose names look like a hand's are not arm joints: the default end effector is the frame
# reached through the most arm joints and the fewest of these.
_HAND_JOINT_PATTERN = re.compile(r'finger|gripper|jaw|knuckle|thumb', re.IGNORECASE)
# Frame names that conventionally mark a tool point, best first; used to break ties between frames
# that the same joints move (UR's ee_link and tool0, Panda's hand and grasptarget).
_TOOL_FRAME_NAMES = ('tool0', 'grasptarget', 'tcp', 'end_effector', 'ee_link', 'ee', 'hand')

# URDFs often leave the velocity limit at 0 for "unspecified"; this is used instead (rad/s or m/s).
DEFAULT_VELOCITY_LIMIT = 1.0
# URDF has no acceleration limits; default to reaching full speed in half a second.
DEFAULT_ACCELERATION_PER_VELOCITY = 2.0


class ArmKinematics:
    """The base->ee chain of one arm. Build with :meth:`from_urdf`."""

    def __init__(self, model: pin.Model, base_frame: str, ee_frame: str, T_world_base: pin.SE3,
                 locked_joints: dict[str, float], continuous_joints: tuple[str, ...],
                 acceleration_limits: np.ndarray | None = None,
                 renamed_joints: Mapping[str, str] | None = None):
        self.model = model
        self.data = model.createData()
        self.base_frame = base_frame
        self.ee_frame = ee_frame
        self.ee_frame_id = _body_frame_id(model, ee_frame)
        self.T_world_base = T_world_base
        self.T_base_world = T_world_base.inverse()
        self.locked_joints = locked_joints
        renamed = dict(renamed_joints or {})
        self.joint_names = [renamed.get(model.names[j], model.names[j]) for j in range(1, model.njoints)]
        self.continuous_joints = tuple(n for n in continuous_joints if n in self.joint_names)
        self.lower = model.lowerPositionLimit.copy()
        self.upper = model.upperPositionLimit.copy()
        self.velocity_limits = _sanitize_velocity_limits(model.velocityLimit.copy())
        self.acceleration_limits = DEFAULT_ACCELERATION_PER_VELOCITY * self.velocity_limits
        if acceleration_limits is not None:
            acc = np.asarray(acceleration_limits, dtype=float)
            if acc.shape != (model.nq,) or not np.all(acc > 0) or not np.isfinite(acc).all():
                raise KinematicsError(f'acceleration_limits: expected {model.nq} positive numbers for '
                                      f'{self.joint_names}, got {acceleration_limits}')
            self.acceleration_limits = acc
        self.home = np.where((self.lower <= 0.0) & (self.upper >= 0.0), 0.0,
                             0.5 * (self.lower + self.upper))
        self.reach_m = self._reach_upper_bound()

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_urdf(cls, urdf: str | Path, base_frame: str | None = None, ee_frame: str | None = None,
                  locked_joint_positions: Mapping[str, float] | None = None,
                  acceleration_limits: np.ndarray | None = None) -> ArmKinematics:
        """Load ``urdf`` (path or XML text); actuate only the joints between the two frames.

        ``base_frame`` defaults to the URDF's root link; ``ee_frame`` to the frame reached through
        the most arm joints (hand joints such as fingers not counted). Joints off that chain are
        locked at ``locked_joint_positions[name]`` or else at their home value (0 clipped to limits).
        """
        source = read_urdf(urdf)
        try:
            full = pin.buildModelFromXML(source.xml)
        except (RuntimeError, ValueError) as exc:
            raise KinematicsError(f'urdf: pinocchio could not build {source.origin}: {exc}') from exc
        if full.njoints <= 1:
            raise KinematicsError(f'urdf: {source.origin} has no movable joints')
        base_frame = base_frame or source.root_link
        ee_frame = ee_frame or _guess_ee_frame(full)
        base_id = _frame_id(full, base_frame, 'base_frame', source.origin)
        ee_id = _frame_id(full, ee_frame, 'ee_frame', source.origin)
        chain = _chain_joint_ids(full, base_id, ee_id)
        for j in chain:
            if full.joints[j].nq != 1 or full.joints[j].nv != 1:
                raise KinematicsError(
                    f"urdf: joint '{full.names[j]}' on the chain {base_frame}->{ee_frame} is "
                    f'{full.joints[j].shortname()}; only 1-DoF revolute/prismatic joints are supported')
        locked_ids = [j for j in range(1, full.njoints) if j not in chain]
        to_pinocchio = {v: k for k, v in source.renamed_joints.items()}
        overrides = {to_pinocchio.get(k, k): v for k, v in (locked_joint_positions or {}).items()}
        q_ref = _home_configuration(full, overrides, source.origin)
        model = pin.buildReducedModel(full, locked_ids, q_ref) if locked_ids else full
        locked = {source.renamed_joints.get(full.names[j], full.names[j]): float(q_ref[full.joints[j].idx_q])
                  for j in locked_ids if full.joints[j].nq == 1}
        data = model.createData()
        pin.framesForwardKinematics(model, data, pin.neutral(model))
        T_world_base = data.oMf[_body_frame_id(model, base_frame)].copy()
        return cls(model, base_frame, ee_frame, T_world_base, locked, source.continuous_joints,
                   acceleration_limits, source.renamed_joints)

    # ----------------------------------------------------------------- queries
    @property
    def n(self) -> int:
        """Number of actuated joints."""
        return self.model.nq

    @property
    def chain(self) -> list[str]:
        """Actuated joint names in order from base to end effector."""
        return list(self.joint_names)

    def neutral(self) -> np.ndarray:
        """The home configuration (0 where within limits, else mid-range), a fresh copy."""
        return self.home.copy()

    def fk(self, q: np.ndarray) -> np.ndarray:
        """Forward kinematics: ``T_base_ee`` (4x4) at joint positions ``q``."""
        q = self.check_q(q)
        return self.fk_se3(q).homogeneous

    def fk_se3(self, q: np.ndarray) -> pin.SE3:
        """``T_base_ee`` as a pinocchio SE3, without input checks (inner loops)."""
        pin.forwardKinematics(self.model, self.data, q)
        return self.T_base_world * pin.updateFramePlacement(self.model, self.data, self.ee_frame_id)

    def frame_pose(self, q: np.ndarray, frame: str) -> np.ndarray:
        """``T_base_<frame>`` (4x4) for any frame of the reduced model (links, fingers, tool)."""
        q = self.check_q(q)
        if not self.model.existFrame(frame):
            raise KinematicsError(f"frame: '{frame}' is not in the model; known frames: "
                                  f'{[f.name for f in self.model.frames]}')
        pin.forwardKinematics(self.model, self.data, q)
        placement = pin.updateFramePlacement(self.model, self.data, _body_frame_id(self.model, frame))
        return (self.T_base_world * placement).homogeneous

    def check_q(self, q, name: str = 'q') -> np.ndarray:
        """``q`` as a float64 vector of length n, or a KinematicsError naming what was wrong."""
        arr = np.asarray(q, dtype=float)
        if arr.shape != (self.n,):
            raise KinematicsError(f'{name}: expected shape ({self.n},) for joints {self.joint_names}, '
                                  f'got {arr.shape}')
        if not np.isfinite(arr).all():
            raise KinematicsError(f'{name}: contains NaN or inf: {arr}')
        return arr

    def clip(self, q: np.ndarray) -> np.ndarray:
        return np.clip(q, self.lower, self.upper)

    def within_limits(self, q: np.ndarray, tol: float = 1e-9) -> bool:
        return bool(np.all(q >= self.lower - tol) and np.all(q <= self.upper + tol))

    def random_configuration(self, rng: np.random.Generator, margin: float = 0.0) -> np.ndarray:
        """Uniform sample inside the limits, ``margin`` (fraction of each range) away from them."""
        span = self.upper - self.lower
        return rng.uniform(self.lower + margin * span, self.upper - margin * span)

    def describe(self) -> str:
        """A human-readable summary: frames, chain with limits, locked joints."""
        lines = [f'base {self.base_frame} -> ee {self.ee_frame}, {self.n} joints, '
                 f'reach <= {self.reach_m:.3f} m']
        for i, name in enumerate(self.joint_names):
            lines.append(f'  {name}: [{self.lower[i]:+.3f}, {self.upper[i]:+.3f}], '
                         f'v<={self.velocity_limits[i]:.3f}, a<={self.acceleration_limits[i]:.3f}')
        if self.locked_joints:
            lines.append(f'  locked: {self.locked_joints}')
        return '\n'.join(lines)

    def _reach_upper_bound(self) -> float:
        """Distance from the first joint's origin that the ee can never exceed (triangle inequality)."""
        model = self.model
        reach = float(np.linalg.norm(model.frames[self.ee_frame_id].placement.translation))
        for j in range(2, model.njoints):
            reach += float(np.linalg.norm(model.jointPlacements[j].translation))
        for j in range(1, model.njoints):
            if model.joints[j].shortname().startswith('JointModelP'):
                i = model.joints[j].idx_q
                reach += float(max(abs(self.lower[i]), abs(self.upper[i])))
        return reach

    def first_joint_origin_in_base(self) -> np.ndarray:
        """Position of the first actuated joint in the base frame (it does not move with q)."""
        return (self.T_base_world * self.model.jointPlacements[1]).translation.copy()


def _body_frame_id(model: pin.Model, name: str) -> int:
    # A link and a joint may share a name (SO-100's 'gripper'): the link is what is meant.
    if model.existFrame(name, pin.BODY):
        return model.getFrameId(name, pin.BODY)
    return model.getFrameId(name)


def _frame_id(model: pin.Model, name: str, field: str, origin: str) -> int:
    if model.existFrame(name):
        return _body_frame_id(model, name)
    links = [f.name for f in model.frames if f.type == pin.BODY]
    raise KinematicsError(f"{field}: no frame named '{name}' in {origin}; links are {links}")


def _chain_joint_ids(model: pin.Model, base_id: int, ee_id: int) -> list[int]:
    """Joint ids moving the ee relative to the base; the base must be upstream of the ee."""
    base_joint = model.frames[base_id].parentJoint
    ee_joint = model.frames[ee_id].parentJoint
    ee_support = list(model.supports[ee_joint])
    base_name, ee_name = model.frames[base_id].name, model.frames[ee_id].name
    if base_joint not in ee_support:
        raise KinematicsError(f"base_frame: '{base_name}' is not upstream of ee_frame '{ee_name}' in the "
                              'kinematic tree; pick a base the end effector hangs from')
    chain = [j for j in ee_support if j not in set(model.supports[base_joint])]
    if not chain:
        raise KinematicsError(f"urdf: no movable joints between base_frame '{base_name}' and "
                              f"ee_frame '{ee_name}'")
    return chain


def _home_configuration(model: pin.Model, overrides: Mapping[str, float], origin: str) -> np.ndarray:
    """Neutral configuration with 1-DoF joints clipped into their limits, then user overrides."""
    q = pin.neutral(model)
    lower, upper = model.lowerPositionLimit, model.upperPositionLimit
    for j in range(1, model.njoints):
        if model.joints[j].nq == 1:
            i = model.joints[j].idx_q
            q[i] = min(max(q[i], lower[i]), upper[i])
    for name, value in overrides.items():
        if not model.existJointName(name) or model.joints[model.getJointId(name)].nq != 1:
            raise KinematicsError(f"locked_joint_positions: no 1-DoF joint named '{name}' in {origin}")
        q[model.joints[model.getJointId(name)].idx_q] = float(value)
    return q


def _guess_ee_frame(model: pin.Model) -> str:
    """The body frame reached through the most arm joints, fewest hand joints, tool-like name, deepest."""
    best, best_score = None, None
    for frame in model.frames:
        if frame.type != pin.BODY:
            continue
        joints = [j for j in model.supports[frame.parentJoint] if j > 0]
        n_hand = sum(1 for j in joints if _HAND_JOINT_PATTERN.search(model.names[j]))
        name_rank = next((len(_TOOL_FRAME_NAMES) - k for k, key in enumerate(_TOOL_FRAME_NAMES)
                          if key in frame.name.lower()), 0)
        score = (len(joints) - n_hand, -n_hand, name_rank, _frame_depth(model, frame))
        if best_score is None or score > best_score:
            best, best_score = frame.name, score
    return best


def _frame_depth(model: pin.Model, frame: pin.Frame) -> int:
    depth = 0
    while frame.parentFrame != 0 and depth < len(model.frames):
        frame = model.frames[frame.parentFrame]
        depth += 1
    return depth


def _sanitize_velocity_limits(v: np.ndarray) -> np.ndarray:
    bad = ~np.isfinite(v) | (v <= 0.0) | (v > 1e6)
    v[bad] = DEFAULT_VELOCITY_LIMIT
    return v
