"""VideoPlanner: camera frame + instruction -> video plan -> end-effector poses -> joint targets.

The stages are separate methods so the ROS layer can run them in separate nodes: `sample_video` in the
planner node, `frames_to_plan` in the inverse-dynamics node; `plan` chains both for the CLI and tests.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Optional, Sequence

import cv2
import numpy as np

from video_planner.camera import CameraModel
from video_planner.dynamics.postprocess import PostprocessConfig, plan_confidence, postprocess
from video_planner.errors import VideoPlannerError
from video_planner.planner import gates
from video_planner.planner.config import SCENE_SWITCHES, PlannerConfig
from video_planner.planner.request import CancelFn, Plan, PlanCancelled, PlanRequest, ProgressFn

# The room (metres, x the arm's scale) a contact's yaw keeps between the gripper and the objects around it.
CONTACT_ROOM_M = 0.01


# A tool this near its home pose (x the arm's scale) is home: going there would not change the next video.
HOME_NEAR_M = 0.05
_FROM_FRAME = object()   # frames_to_plan's `scene` default: read the scene from the video's first frame


def _no_progress(stage: str, fraction: float, step: int, total: int) -> None:
    pass


def _raise_if_cancelled(should_cancel: Optional[CancelFn], where: str) -> None:
    # Between the stages that run one uninterruptible call each (sentence encoder, grounding network).
    if should_cancel is not None and should_cancel():
        raise PlanCancelled(f'goal cancelled {where}')


def view_read_by(inverse_dynamics) -> Optional[str]:
    """The view a learned inverse dynamics was trained on; None for one that reads any (flow + depth)."""
    return getattr(getattr(inverse_dynamics, 'config', None), 'view', None)


def best_candidate(ok: Sequence[bool], idm_scores: Sequence[float]) -> int:
    """Index of the plan to keep: one that passes the gates; among those, the most confident inverse dynamics."""
    return max(range(len(ok)), key=lambda i: (bool(ok[i]), float(idm_scores[i])))


class VideoPlanner:
    def __init__(self, config: PlannerConfig, video_model=None, text_encoder=None,
                 inverse_dynamics=None, kinematics=None):
        self.config = config
        self._video_model = video_model
        self._text_encoder = text_encoder
        self._inverse_dynamics = inverse_dynamics   # one given here serves every view it reads
        self._inverse_dynamics_by_view: dict[str, object] = {}
        self._kinematics = kinematics
        self._kinematics_loaded = kinematics is not None
        self._grounder = None
        self._canonical = None
        self._intents: dict[str, object] = {}
        self._destination = None
        self._push_way = None
        self._underside = None
        self._contact_underside = None

    # Components load on first use, so a node starts fast and reports a bad checkpoint at the goal.
    @property
    def video_model(self):
        if self._video_model is None:
            from video_planner.model.video_model import VideoModel
            self._video_model = VideoModel.load(self.config.checkpoint_path, map_location=self.config.device).to(self.config.device)
        return self._video_model

    @property
    def text_encoder(self):
        if self._text_encoder is None:
            from video_planner.text.encoder import TextEncoder
            self._text_encoder = TextEncoder()
        return self._text_encoder

    @property
    def inverse_dynamics(self):
        """The inverse dynamics for the frames this planner's video model draws."""
        return self.inverse_dynamics_for(self.view)

    def inverse_dynamics_for(self, view: str):
        """The inverse dynamics for frames in `view`; a learned one must have been trained on that view."""
        if self._inverse_dynamics is not None:
            method = self._inverse_dynamics
        elif view in self._inverse_dynamics_by_view:
            return self._inverse_dynamics_by_view[view]
        elif self.config.inverse_dynamics == 'learned':
            from video_planner.dynamics.learned import LearnedInverseDynamics
            method = LearnedInverseDynamics.load(self.config.idm_checkpoint_for(view))
        else:
            from video_planner.dynamics.flow_depth import FlowDepthInverseDynamics
            method = FlowDepthInverseDynamics()
        reads = view_read_by(method)
        if reads is not None and reads != view:
            where = f' ({self.config.idm_checkpoint_for(view)})' if self._inverse_dynamics is None else ''
            raise VideoPlannerError(f'the frames are in the {view!r} view but the learned inverse dynamics{where} '
                                    f'reads {reads!r} frames: use the pair of one view (video model '
                                    f'{self.config.checkpoint_path.name} plans in the {self.view!r} view)')
        if self._inverse_dynamics is None:
            self._inverse_dynamics_by_view[view] = method
        return method

    @property
    def view(self) -> str:
        """The frames the video model plans in: 'camera' or 'canonical' (`video_planner.embodiment`)."""
        return getattr(self.video_model.config, 'view', 'camera')

    @property
    def canonical_view(self):
        """Paints the configured arm out of a frame and draws the canonical gripper (`embodiment.CanonicalView`)."""
        if self._canonical is None:
            if not self.config.arm:
                raise VideoPlannerError('the video model plans in the canonical view, which finds the arm in the '
                                        'frame from its URDF: set the arm (a registered name or an arm YAML; '
                                        'PlannerConfig.arm, the nodes\' `arm` parameter)')
            from video_planner.embodiment import CanonicalView
            from video_planner.sim.arms import get_arm
            self._canonical = CanonicalView(get_arm(self.config.arm))
        return self._canonical

    def check_views(self) -> None:
        """The learned inverse dynamics must read the view the video model draws."""
        _ = self.inverse_dynamics

    def gripper_source_for(self, view: str) -> str:
        """'height' or 'estimate': the config's choice, 'auto' resolved for the inverse dynamics of `view`:
        the estimate where a learned one reads the canonical view (its gripper is drawn to show the opening)."""
        if self.config.gripper_source != 'auto':
            return self.config.gripper_source
        return 'estimate' if view_read_by(self.inverse_dynamics_for(view)) == 'canonical' else 'height'

    @property
    def gripper_source(self) -> str:
        return self.gripper_source_for(self.view)

    def in_model_view(self, rgb: np.ndarray, camera: CameraModel, T_base_ee: np.ndarray, gripper: float,
                      q: Optional[np.ndarray], depth_m: Optional[np.ndarray],
                      ee_mask: Optional[np.ndarray]) -> tuple[np.ndarray, Optional[np.ndarray]]:
        """(frame, end-effector pixels) in the view the video model plans in, at the frame's resolution."""
        if self.view == 'canonical':
            return self.canonical_view.from_robot_state(rgb, camera, T_base_ee, gripper, q, depth_m)
        return rgb, ee_mask

    @property
    def grounder(self):
        """The grounding network that draws the target hint, or None for a video model without that input."""
        if not self.video_model.config.target_hint:
            return None
        if self._grounder is None:
            from video_planner.grounding import Grounder
            self._grounder = Grounder.load(self.config.grounding_checkpoint_path, self.text_encoder,
                                           device=self.config.device)
        return self._grounder

    @property
    def kinematics(self):
        """ArmKinematics of the configured URDF or simulator arm, or None when neither is given."""
        if not self._kinematics_loaded:
            from video_planner.kinematics import ArmKinematics
            urdf, base, ee = self.config.urdf, self.config.base_frame or None, self.config.ee_frame or None
            if not urdf and self.config.arm:
                from video_planner.sim.arms import get_arm
                spec = get_arm(self.config.arm)  # a registered arm name or an arm YAML path
                urdf, base, ee = str(spec.urdf_path), base or spec.base_frame, ee or spec.ee_frame
            self._kinematics = ArmKinematics.from_urdf(urdf, base_frame=base, ee_frame=ee) if urdf else None
            self._kinematics_loaded = True
        return self._kinematics

    def check_robot(self, request: PlanRequest) -> None:
        """Refuse, before any sampling, a request whose joint state does not fit the configured URDF."""
        if self.kinematics is not None and request.q_current is not None:
            from video_planner.kinematics.joint_states import match_joint_states
            match_joint_states(self.kinematics.joint_names, request.joint_names, request.q_current)

    @property
    def image_size(self) -> int:
        return int(self.video_model.config.image_size)

    def warm_up(self) -> None:
        """Loads every component now (nodes call this at start-up to fail early on a bad file)."""
        _ = self.video_model, self.text_encoder, self.inverse_dynamics, self.kinematics, self.grounder
        if self.reads_scene:
            self.load_scene_readers()
        self.check_views()
        if self.view == 'canonical':
            _ = self.canonical_view

    def plan(self, request: PlanRequest, progress: Optional[ProgressFn] = None,
             should_cancel: Optional[CancelFn] = None) -> Plan:
        """Samples candidates, turns each into commands, and returns the best plan that passes the gates; or,
        when the arm hides the named object from the camera, a move out of its way (`step_aside_plan`)."""
        progress = progress or _no_progress
        request.validate()
        self.check_robot(request)
        view = self.to_model_view(request)  # once: the canonical view renders the arm's mask
        rgb, depth, camera, mask = view
        if depth is None:
            depth = np.full(rgb.shape[:2], np.nan, np.float32)
        t0 = time.perf_counter()
        scene = self.scene_masks(request.instruction, rgb, depth, camera, request.q_current, mask, request.gripper)
        scene_s = time.perf_counter() - t0
        aside = self.step_aside_plan(request, rgb, depth, camera, scene)
        if aside is not None:
            aside.timings = {'scene': scene_s, **aside.timings}
            aside.timings['total'] = sum(aside.timings.values())
            progress('done', 1.0, 0, 0)
            return aside
        candidates, timings = self.sample_video(request, progress, should_cancel, view)
        progress('inverse_dynamics', 0.85, 0, 0)
        timings['scene'] = scene_s
        plans = [self.frames_to_plan(request.instruction, frames, depth, camera, request.T_base_ee,
                                     request.q_current, mask, request.gripper, scene=scene) for frames in candidates]
        best = plans[best_candidate([p.ok for p in plans], [p.score for p in plans])]
        if not best.ok and all(p.starts_elsewhere for p in plans):
            home = self.home_plan(request, rgb, depth, camera, scene)
            if home is not None:
                home.timings = {**timings, **home.timings}
                home.timings['total'] = sum(home.timings.values())
                progress('done', 1.0, 0, 0)
                return home
        per_plan = sum(p.timings.get(k, 0) for p in plans for k in ('inverse_dynamics', 'scene', 'collision', 'ik'))
        best.timings = {**timings, **best.timings, 'scene': timings['scene'] + best.timings.get('scene', 0),
                        'total': sum(timings.values()) + per_plan}
        progress('done', 1.0, 0, 0)
        return best

    def step_aside_plan(self, request: PlanRequest, rgb: np.ndarray, depth_m: np.ndarray, camera: CameraModel,
                        scene) -> Optional[Plan]:
        """A plan that moves the tool sideways out of the camera's way when the arm hides the named object
        (`planner/step_aside.py`), through the same gates as a video plan; None when `step_aside` is off, the
        object is not hidden, or no such move clears it and passes the gates. `rgb`, `depth_m`, `camera`:
        the request in the model's view; `scene`: its `scene_masks`."""
        from video_planner.planner import step_aside
        if not self.config.step_aside or scene is None or self.kinematics is None or request.q_current is None:
            return None
        config, scale = step_aside.StepAsideConfig(), self._arm_scale
        T_now, q_now = np.asarray(request.T_base_ee, float), np.asarray(request.q_current, float)
        if scene.contact == 'grasp' and request.gripper >= 0.5:   # it may hold the object: that is no hiding
            return None
        if scene.table_z is None or T_now[2, 3] - scene.table_z < config.min_height_m * scale:
            return None
        if not step_aside.out_of_sight(scene.heat, scene.seen_pixels, config):
            return None
        t0 = time.perf_counter()
        view = self.canonical_view
        silhouette_now = view.arm_mask(q_now, camera, None, request.gripper)
        if not step_aside.under_arm(scene.heat, silhouette_now, config):
            return None
        solver = self._ik_solver()

        def silhouette_at(T):
            solved = solver.solve(T, q_now)
            return view.arm_mask(solved.q, camera, None, request.gripper) if solved.success else None
        T_clear = step_aside.clearing_pose(T_now, silhouette_now, silhouette_at, scale, config)
        if T_clear is None:
            return None
        elapsed = time.perf_counter() - t0
        plan = self._tool_move(request, rgb, np.stack([T_now, T_clear]), depth_m, camera, scene, 'step_aside')
        if plan is not None:
            plan.timings = {'step_aside': elapsed}
        return plan

    def home_plan(self, request: PlanRequest, rgb: np.ndarray, depth_m: np.ndarray, camera: CameraModel,
                  scene) -> Optional[Plan]:
        """A plan that takes the tool back to the arm's home pose (up first, then across), the gripper as it
        is; for when every video sampled from here draws the tool somewhere else in its first frame: the
        video model learned from motions that start near home, and from a pose far from it (the tool pulled
        in by the last plan, low beside the base) it draws the tool where it expects it rather than a motion
        from where it is. None when `return_home` is off, without the arm's home pose, already near home, or
        when the move fails a gate."""
        arm = self.kinematics
        if not self.config.return_home or arm is None or request.q_current is None or not self.config.arm:
            return None
        from video_planner.sim.arms import get_arm
        home_q = np.asarray(get_arm(self.config.arm).home_q, float)
        if home_q.shape != (arm.n,):
            return None
        t0 = time.perf_counter()
        T_now, T_home = np.asarray(request.T_base_ee, float), arm.fk(home_q)
        if np.linalg.norm(T_home[:3, 3] - T_now[:3, 3]) < HOME_NEAR_M * self._arm_scale:
            return None
        T_up = T_now.copy()
        T_up[2, 3] = max(T_now[2, 3], T_home[2, 3])
        plan = self._tool_move(request, rgb, np.stack([T_now, T_up, T_home]), depth_m, camera, scene, 'home')
        if plan is not None:
            plan.timings = {'home': time.perf_counter() - t0}
        return plan

    def _tool_move(self, request: PlanRequest, rgb: np.ndarray, poses: np.ndarray, depth_m: np.ndarray,
                   camera: CameraModel, scene, kind: str) -> Optional[Plan]:
        """A plan of `kind` that moves the tool through `poses` (the first is where it is), the gripper held
        as it is, its frames the request's: through the workspace gate, the collision gate (with a scene) and
        IK; None when one refuses it."""
        gripper = np.full(len(poses), float(request.gripper >= 0.5), np.float32)
        plan = Plan(instruction=request.instruction, frames=np.repeat(rgb[None], len(poses), axis=0),
                    frame_period_s=self.config.frame_period_s, T_base_ee=poses, gripper=gripper,
                    confidence=np.ones(len(poses), np.float32), score=1.0, kind=kind)
        plan.status = gates.check_workspace(poses, self.config) or 'ok'
        if plan.ok and self.collision_checked and scene is not None:
            plan.status = self._collision_in(poses, gripper, depth_m, camera, scene, request.gripper) or 'ok'
        if plan.ok:
            plan.joint_trajectory, reason = self._solve_joints(poses, np.asarray(request.q_current, float))
            plan.status = reason or 'ok'
        return plan if plan.ok else None

    def to_model_view(self, request: PlanRequest):
        """The request's frame, depth, camera and mask at the model's resolution (intrinsics scaled alike)."""
        size = self.image_size
        camera = request.camera.resized(size, size)
        rgb = cv2.resize(request.rgb, (size, size), interpolation=cv2.INTER_AREA)
        depth = None if request.depth_m is None else cv2.resize(
            request.depth_m.astype(np.float32), (size, size), interpolation=cv2.INTER_NEAREST)
        mask = None if request.ee_mask is None else cv2.resize(
            request.ee_mask.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST).astype(bool)
        rgb, mask = self.in_model_view(rgb, camera, request.T_base_ee, request.gripper, request.q_current, depth, mask)
        return rgb, depth, camera, mask

    def sample_video(self, request: PlanRequest, progress: Optional[ProgressFn] = None,
                     should_cancel: Optional[CancelFn] = None, model_view=None):
        """Runs the video model: returns (candidates (C, K+1, S, S, 3) uint8, timings). `model_view`: the
        request's `to_model_view`, when the caller has it already."""
        request.validate()
        self.check_robot(request)
        self.check_views()
        progress = progress or _no_progress
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        progress('encoding', 0.0, 0, 0)
        rgb, _, _, _ = model_view if model_view is not None else self.to_model_view(request)
        embedding = np.asarray(self.video_model.encode_text(self.text_encoder, [request.instruction.strip()]),
                               dtype=np.float32)
        timings['encode'] = time.perf_counter() - t0
        _raise_if_cancelled(should_cancel, 'while encoding the instruction')
        hint = None
        if self.grounder is not None:
            t0 = time.perf_counter()
            hint = self.grounder.hint(rgb, request.instruction.strip(), self.image_size)
            timings['ground'] = time.perf_counter() - t0
            _raise_if_cancelled(should_cancel, 'while grounding the instruction')

        count = request.num_candidates or self.config.num_candidates
        steps = request.sampling_steps or self.config.sampling_steps
        seed = request.seed if request.seed >= 0 else int(np.random.SeedSequence().entropy % (2**31))

        def on_step(step: int, total: int) -> None:
            progress('sampling', 0.05 + 0.8 * step / max(total, 1), step, total)

        from video_planner.model.sampler import SamplingCancelled
        t0 = time.perf_counter()
        try:
            future = self.video_model.sample(np.repeat(rgb[None], count, axis=0), np.repeat(embedding, count, axis=0),
                                             steps=steps, seed=seed, callback=on_step, should_cancel=should_cancel,
                                             hint=hint, hint_guidance=self.config.hint_guidance)
        except SamplingCancelled as exc:
            raise PlanCancelled('goal cancelled during sampling') from exc
        timings['sample'] = time.perf_counter() - t0
        candidates = np.concatenate([np.repeat(rgb[None, None], count, axis=0), future], axis=1)
        return candidates, timings

    def frames_to_plan(self, instruction: str, frames: np.ndarray, depth_m: Optional[np.ndarray],
                       camera: CameraModel, T_base_ee: np.ndarray, q_current: Optional[np.ndarray] = None,
                       ee_mask: Optional[np.ndarray] = None, gripper_now: float = 0.0,
                       view: Optional[str] = None, scene=_FROM_FRAME) -> Plan:
        """Inverse dynamics, grasp snapping, safety gates and IK for one video whose frames are in `view`
        (default: the view this planner's video model draws); failures come back as plan.status. `scene`:
        the first frame's `scene_masks`, when the caller has them (candidates of one request share them)."""
        view = view or self.view
        inverse_dynamics = self.inverse_dynamics_for(view)
        size = (frames.shape[2], frames.shape[1])
        if (camera.width, camera.height) != size:
            camera = camera.resized(*size)
        if depth_m is not None and depth_m.shape != frames.shape[1:3]:
            depth_m = cv2.resize(depth_m.astype(np.float32), size, interpolation=cv2.INTER_NEAREST)
        if depth_m is None:
            depth_m = np.full(frames.shape[1:3], np.nan, np.float32)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        motion = inverse_dynamics.estimate(frames, depth_m, camera, np.asarray(T_base_ee, float), ee_mask)
        if np.all(np.isfinite(motion.T_base_ee)):  # non-finite poses go to the gates untouched, to be named
            # Built from the current config (the nodes replace it when a parameter changes), so jumps are
            # flagged by the same max_step_m the gates use.
            limits = PostprocessConfig(max_step_m=self.config.max_step_m, min_confidence=self.config.min_confidence,
                                       gripper_source=self.gripper_source_for(view))
            motion = postprocess(motion, limits, refuse=False, gripper_now=gripper_now)
        timings['inverse_dynamics'] = time.perf_counter() - t0
        t0 = time.perf_counter()
        if scene is _FROM_FRAME:
            scene = self.scene_masks(instruction, frames[0], depth_m, camera, q_current, ee_mask, gripper_now)
        T_base_ee, gripper = motion.T_base_ee, np.asarray(motion.gripper, np.float32)
        obstacles, touch_from = None, 1
        if scene is not None and np.all(np.isfinite(T_base_ee)):
            obstacles = self._obstacles(depth_m, camera, scene, T_base_ee[0], gripper_now)
            T_base_ee, gripper, touch_from = self._snap_contacts(T_base_ee, gripper, scene, gripper_now,
                                                                 camera.T_base_camera[:3, 3], obstacles.others,
                                                                 q_current)
        timings['scene'] = time.perf_counter() - t0
        plan = Plan(instruction=instruction, frames=frames, frame_period_s=self.config.frame_period_s,
                    T_base_ee=T_base_ee, gripper=gripper,
                    confidence=np.asarray(motion.confidence, np.float32),
                    score=plan_confidence(motion.confidence),
                    timings=timings, starts_elsewhere=bool(len(motion.flagged) > 1 and motion.flagged[1]))
        plan.status = gates.first_failure(plan.T_base_ee, plan.confidence, self.config, motion.T_base_ee) or 'ok'
        if plan.ok and self.collision_checked and scene is not None:
            t0 = time.perf_counter()
            plan.status = self._collision_in(plan.T_base_ee, plan.gripper, depth_m, camera, scene, gripper_now,
                                             obstacles, touch_from) or 'ok'
            if not plan.ok and self.config.route_over:
                self._route_over(plan, depth_m, camera, scene, gripper_now, obstacles, touch_from)
            timings['collision'] = time.perf_counter() - t0
        if plan.ok and self.kinematics is not None:
            t0 = time.perf_counter()
            plan.joint_trajectory, reason = self._solve_joints(plan.T_base_ee, q_current)
            timings['ik'] = time.perf_counter() - t0
            plan.status = reason or 'ok'
        return plan

    def _snap_contacts(self, T_base_ee: np.ndarray, gripper: np.ndarray, scene, gripper_now: float,
                       eye: Optional[np.ndarray] = None, obstacles: Optional[np.ndarray] = None,
                       q_current: Optional[np.ndarray] = None):
        """(poses, gripper, touch_from): the plan's contact with the named object (grasp, touch or push, as
        `scene.contact` says) moved where the scene shows the object and turned away from the `obstacles`
        around it (`planner/contact_yaw.py`), a release over the destination, the gripper closed throughout a
        touch or a push, and no waypoint below the table top (`planner/contact.py`); `touch_from` is the first
        waypoint the path to which may touch the named object (`contact.contact_start`)."""
        from video_planner.planner.contact import (contact_start, keep_above_table, keep_closed, push_span,
                                                   snap_grasp, snap_place, snap_push, snap_touch)
        config, grasp_height, span, grasp_at = self.contact_config, None, None, None
        if scene.seen is not None and scene.contact == 'grasp':
            T_base_ee, gripper, grasp_at = snap_grasp(T_base_ee, gripper, scene.seen, gripper_now, config, eye,
                                                      scene.contact_sure)
            if grasp_at is not None:
                grasp_height = float(T_base_ee[grasp_at, 2, 3]) - scene.seen.table_z
                span = (grasp_at, grasp_at)
        if scene.seen is not None and scene.contact == 'touch':  # open or closed (a touch closes it in the air)
            T_base_ee, gripper, i = snap_touch(T_base_ee, gripper, scene.seen, config)
            span = None if i is None else (i, i)
        if scene.seen is not None and scene.contact == 'push':  # pushes close the gripper (as the expert)
            drawn = push_span(T_base_ee, scene.seen, config, scene.push_along is not None)
            T_base_ee, gripper, i = snap_push(T_base_ee, gripper, scene.seen, config, scene.push_along,
                                              scene.push_room_m)
            span = None if i is None else (i, drawn[1])
        if self.config.turn_contacts and obstacles is not None:
            from video_planner.planner.contact_yaw import turn_contact
            T_base_ee = turn_contact(T_base_ee, span, obstacles, self.contact_underside,
                                     self.collision_config.path_step_m, self._reachable_from(q_current))
        if scene.destination is not None:
            T_base_ee, _ = snap_place(T_base_ee, gripper, scene.destination, gripper_now, grasp_height, config,
                                      grasp_at)
        if scene.contact in ('touch', 'push'):
            gripper = keep_closed(gripper)
        if scene.table_z is not None:
            T_base_ee = keep_above_table(T_base_ee, scene.table_z, config)
        return T_base_ee, gripper, contact_start(scene.contact, span, T_base_ee, gripper_now, scene.seen, config)

    @property
    def collision_checked(self) -> bool:
        """Whether plans pass the collision gate: it is on, and an arm is configured whose URDF finds the
        arm's own pixels (with a bare URDF its links would read as obstacles)."""
        return bool(self.config.collision_check and self.config.arm)

    @property
    def reads_scene(self) -> bool:
        """Whether plans read the depth frame's objects: the collision gate, or contact snapping, with an arm."""
        return bool(self.config.arm) and (self.collision_checked
                                          or any(getattr(self.config, name) for name in SCENE_SWITCHES))

    def load_scene_readers(self) -> None:
        """Loads what the collision gate and contact snapping read with (the grounding network, the arm's mask
        renderer, the intent probes, the destination network) now, and runs the grounding network once: its
        first call (tokenizer, torch's thread pools) takes seconds."""
        self.target_locator.locate(np.zeros((self.target_locator.config.image_size,) * 2 + (3,), np.uint8),
                                   'the red cube')
        if self.config.snap_grasps or self.config.snap_touches or self.config.snap_pushes:
            self.contact_intent('lift the red cube')    # the three probes: a contact is the likeliest of them
        if self.config.snap_places:
            self.asks_for_place('put the red cube on the blue pad')
            _ = self.destination_locator
        if self.config.snap_pushes:
            _ = self.push_way_probe, self.destination_locator
        self.canonical_view.load()
        if self.collision_checked:  # measured from the URDF: 0.1-3 s, not at the first goal
            _ = self.gripper_underside
        if self.config.turn_contacts and self.config.arm:
            _ = self.contact_underside

    @property
    def collision_config(self):
        """The collision check's distances, sized to the configured arm (`gripper_radius_m` when set)."""
        from video_planner.planner.collision import CollisionConfig
        config = CollisionConfig().scaled(self._arm_scale)
        if self.config.gripper_radius_m > 0:
            config = dataclasses.replace(config, gripper_radius_m=float(self.config.gripper_radius_m))
        return config

    def contact_intent(self, instruction: str) -> str:
        """'grasp', 'touch', 'push' or '': the contact the instruction asks for (`planner/intent.py`), the most
        probable of the three probes' (they exclude each other), whatever is snapped."""
        from video_planner.planner.intent import CONTACTS, most_probable_contact
        return most_probable_contact({c: self._probability(c, instruction) for c in CONTACTS})

    def asks_for_grasp(self, instruction: str) -> bool:
        """Whether the instruction asks for the named object to be held: only then is a grasp snapped, so that
        a touch or a push drawn with a closing gripper stays one."""
        return self.contact_intent(instruction) == 'grasp'

    def asks_for_place(self, instruction: str) -> bool:
        """Whether the instruction asks for the named object to be put somewhere (`planner/intent.py`): only
        then does a release move over the destination. A place is a grasp first."""
        return self.asks_for_grasp(instruction) and self._probability('place', instruction) >= 0.5

    def asks_for_touch(self, instruction: str) -> bool:
        """Whether the instruction asks for the named object to be touched: only then does the plan's lowest
        point near it move onto its top."""
        return self.contact_intent(instruction) == 'touch'

    def contact_asked(self, instruction: str) -> str:
        """'grasp', 'touch', 'push' or '': the contact with the named object that the instruction asks for
        (`contact_intent`) when it is snapped (`snap_grasps`, `snap_touches`, `snap_pushes`)."""
        contact = self.contact_intent(instruction)
        switch = {'grasp': self.config.snap_grasps, 'touch': self.config.snap_touches, 'push': self.config.snap_pushes}
        return contact if contact and switch[contact] else ''

    def _probability(self, intent: str, instruction: str) -> float:
        if intent not in self._intents:
            from video_planner.planner.intent import Intent
            from video_planner.resources import model_file
            self._intents[intent] = Intent.load(model_file('', f'{intent}_intent.npz'))
        return self._intents[intent].probability(self.text_encoder.encode(instruction.strip()))

    @property
    def destination_locator(self):
        """The destination grounding network, which finds where the instruction asks the object to go."""
        if self._destination is None:
            from video_planner.grounding import Grounder
            self._destination = Grounder.load(self.config.destination_checkpoint_path, self.text_encoder,
                                              device=self.config.device)
            if self._destination.config.role != 'destination':
                raise VideoPlannerError(f'destination_checkpoint {self.config.destination_checkpoint_path} finds '
                                        f'the {self._destination.config.role!r}, not the destination (train it with '
                                        'config/grounding_destination.yaml)')
        return self._destination

    @property
    def contact_config(self):
        """Grasp snapping's distances, sized to the configured arm."""
        from video_planner.planner.contact import ContactConfig
        return ContactConfig().scaled(self._arm_scale)

    @property
    def _arm_scale(self) -> float:
        if not self.config.arm:
            return 1.0
        from video_planner.sim.arms import get_arm
        return float(get_arm(self.config.arm).scale)

    def scene_masks(self, instruction: str, frame0: np.ndarray, depth_m: np.ndarray, camera: CameraModel,
                    q_current: Optional[np.ndarray], ee_mask: Optional[np.ndarray], gripper_now: float):
        """The frame's arm pixels and the named object's pixels, for the collision check and grasp snapping
        (and the object to grasp, found once for every candidate, when the instruction asks for a grasp);
        None when neither is on, or without depth or joint states, or without an arm to find its own pixels
        by (a bare URDF: its links would read as objects)."""
        from video_planner.grounding.grounder import HINT_LEVEL
        from video_planner.planner.collision import SceneMasks, table_heights
        from video_planner.planner.intent import SURE
        if not self.reads_scene or q_current is None or not np.isfinite(depth_m).any():
            return None
        ignore = self.canonical_view.arm_mask(q_current, camera, depth_m, gripper_now)
        if ee_mask is not None:  # the node's snapshot may hold it at the camera's resolution
            ignore |= cv2.resize(np.asarray(ee_mask, np.uint8), depth_m.shape[::-1],
                                 interpolation=cv2.INTER_NEAREST) > 0
        heat = self.target_locator.locate(frame0, instruction.strip(), frame0.shape[0])
        seen = destination = None
        contact = self.contact_asked(instruction)
        way = self.push_way_asked(instruction) if contact == 'push' else ''
        reference, not_the_object = None, ignore
        if way == 'toward':
            reference, pixels = self._locate_reference(instruction, frame0, depth_m, camera, ignore)
            if pixels is not None:  # what the object goes to is not the object (the grounding network mixes them)
                not_the_object = ignore | pixels
        seen_pixels = None
        if contact or self.config.step_aside:   # the object to touch, or whether the arm hides it
            from video_planner.planner.contact import locate_object_pixels
            found, seen_pixels = locate_object_pixels(depth_m, camera, heat, not_the_object, self.contact_config)
            seen = found if contact else None
        if self.config.snap_places and self.asks_for_place(instruction):
            from video_planner.planner.contact import locate_destination
            where = self.destination_locator.locate(frame0, instruction.strip(), frame0.shape[0])
            destination = locate_destination(depth_m, camera, where, ignore, self.contact_config)
        along = room = None
        if seen is not None and way:
            along, room = self.push_way(way, seen, reference)
        table = table_heights(depth_m, camera, ignore)
        return SceneMasks(ignore=ignore, target=heat > HINT_LEVEL, heat=heat, seen=seen, seen_pixels=seen_pixels,
                          contact=contact,
                          contact_sure=bool(contact) and self._probability(contact, instruction) >= SURE,
                          destination=destination, push_along=along, push_room_m=room,
                          table_z=None if table is None else table.table_z)

    def push_way_asked(self, instruction: str) -> str:
        """Which way the instruction asks to push (`planner/intent.py` PushWay): a direction word of
        sim/tasks.py DIRECTIONS (base-frame axes), or 'toward' a named object."""
        return self.push_way_probe.way(self.text_encoder.encode(instruction.strip()))

    def _locate_reference(self, instruction: str, frame0: np.ndarray, depth_m: np.ndarray, camera: CameraModel,
                          ignore: np.ndarray):
        """(SeenObject, its pixels) of the object a push goes toward, as the destination grounding network
        finds it; (None, None) when it finds none."""
        from video_planner.planner.contact import locate_object_pixels
        where = self.destination_locator.locate(frame0, instruction.strip(), frame0.shape[0])
        return locate_object_pixels(depth_m, camera, where, ignore, self.contact_config)

    def push_way(self, way: str, seen, reference) -> tuple[Optional[np.ndarray], Optional[float]]:
        """(unit base-frame xy, room in metres or None): which way to push the object `seen`, and how far it
        may go. A direction word is a base-frame axis; toward the `reference`, the room ends
        `push_clearance_m` short of it. (None, None) when there is no reference apart from the object: the
        drawn direction stands."""
        from video_planner.sim.tasks import DIRECTIONS
        if way in DIRECTIONS:
            return np.asarray(DIRECTIONS[way], float), None
        if reference is None:
            return None, None
        gap = reference.centre_xy - seen.centre_xy
        distance = float(np.linalg.norm(gap))
        if distance <= seen.radius_m + reference.radius_m:  # touching it already
            return None, None
        return gap / distance, distance - seen.radius_m - reference.radius_m - self.contact_config.push_clearance_m

    @property
    def push_way_probe(self):
        if self._push_way is None:
            from video_planner.planner.intent import PushWay
            from video_planner.resources import model_file
            self._push_way = PushWay.load(model_file('', 'push_way.npz'))
        return self._push_way

    def collision_reason(self, instruction: str, frame0: np.ndarray, depth_m: np.ndarray, camera: CameraModel,
                         poses: np.ndarray, q_current: Optional[np.ndarray], ee_mask: Optional[np.ndarray],
                         gripper_now: float, touch_from: int = 1) -> str:
        """Why the path through `poses` (the first is the current pose) would drive the gripper through an
        object seen in the depth image, or ''. The arm's pixels (rendered from the configured arm's URDF at
        `q_current`) and the object the instruction names (the grounding network's estimate) are not
        obstacles: the plan may touch it, from waypoint `touch_from` on (`contact.contact_start`). Nothing is checked
        where `scene_masks` finds no scene."""
        scene = self.scene_masks(instruction, frame0, depth_m, camera, q_current, ee_mask, gripper_now)
        return '' if scene is None or not self.collision_checked else \
            self._collision_in(poses, None, depth_m, camera, scene, gripper_now, touch_from=touch_from)

    def _reachable_from(self, q_current: Optional[np.ndarray]):
        """Whether the arm reaches a pose (its IK, from `q_current`); None without kinematics."""
        arm = self.kinematics
        if arm is None:
            return None
        solver = self._ik_solver()
        q0 = arm.neutral() if q_current is None else np.asarray(q_current, float)
        return lambda T: solver.solve(np.asarray(T, float), q0).success

    def _ik_solver(self):
        """An IK solver for the configured arm (the kinematics must be there), with its arm's IkConfig."""
        from video_planner.kinematics import IkConfig, IkSolver
        return IkSolver(self.kinematics, IkConfig.for_arm(self.kinematics.n))

    def _obstacles(self, depth_m: np.ndarray, camera: CameraModel, scene, T_now: np.ndarray,
                   gripper_now: float):
        """`collision.Obstacles`: what stands on the table in the depth image (`collision.obstacle_points`),
        less the arm and whatever the gripper, where it stands now, reaches into: that is what it holds or
        touches (or the arm's mask drawn short), each left out whole; the named object apart."""
        from video_planner.planner import collision
        config, allowed = self.collision_config, scene.target
        underside = self.gripper_underside
        heights = collision.table_heights(depth_m, camera, scene.ignore)
        if heights is None:
            return collision.Obstacles(np.zeros((0, 3)), np.zeros((0, 3)))
        covered = np.zeros(depth_m.shape, bool)
        if underside is not None:
            above = np.flatnonzero(collision.above_table(heights, config))
            gaps = collision.underside_gaps(T_now[None, :3, 3], collision.tool_axes_xy(T_now[None]),
                                            np.array([gripper_now >= 0.5]), heights.points[above], underside)[0]
            covered.reshape(-1)[above[gaps < 0.0]] = True
            allowed = np.asarray(scene.target, bool) | covered

        def points(allowed, within=None):
            return collision.obstacle_points(depth_m, camera, scene.ignore, T_now[:3, 3], config, allowed=allowed,
                                             heights=heights, within=within)
        return collision.Obstacles(points(allowed), points(covered, within=np.asarray(scene.target, bool)))

    def _route_over(self, plan: Plan, depth_m: np.ndarray, camera: CameraModel, scene, gripper_now: float,
                    obstacles, touch_from: int) -> None:
        """Lifts the colliding segments of `plan`'s path over what they hit (`planner/detour.py`), in place:
        on success the plan gets the via points (their frames and confidence copied from the waypoints they
        stand above) and passes on to IK; otherwise it keeps the collision gate's refusal. A touch's or a
        push's segments after its first contact are never lifted."""
        from video_planner.planner.detour import DetourConfig, route_over

        def first_hit(poses, gripper, touch_from):
            hit = self._first_collision(poses, gripper, depth_m, camera, scene, gripper_now, obstacles, touch_from)
            return None if hit is None else hit.waypoint + 1
        route = route_over(plan.T_base_ee, plan.gripper, gripper_now, touch_from, first_hit,
                           DetourConfig().scaled(self._arm_scale), keep_contact=scene.contact in ('touch', 'push'))
        if route is None or gates.check_workspace(route.T_base_ee, self.config):
            return
        plan.T_base_ee, plan.gripper = route.T_base_ee, np.asarray(route.gripper, np.float32)
        plan.frames, plan.confidence = plan.frames[route.index], plan.confidence[route.index]
        plan.status = 'ok'

    def _collision_in(self, poses: np.ndarray, gripper: Optional[np.ndarray], depth_m: np.ndarray,
                      camera: CameraModel, scene, gripper_now: float = 0.0,
                      obstacles=None, touch_from: int = 1) -> str:
        """Why the path through `poses` would drive the gripper into an obstacle, or into the named object
        before waypoint `touch_from` (`contact.contact_start`), or ''."""
        hit = self._first_collision(poses, gripper, depth_m, camera, scene, gripper_now, obstacles, touch_from)
        return '' if hit is None else hit.reason()

    def _first_collision(self, poses: np.ndarray, gripper: Optional[np.ndarray], depth_m: np.ndarray,
                         camera: CameraModel, scene, gripper_now: float = 0.0, obstacles=None, touch_from: int = 1):
        """The first `collision.Collision` of the path through `poses`: the gripper driven into an obstacle,
        or into the named object before waypoint `touch_from` (`contact.contact_start`); None. The gripper is
        the arm's own (`gripper_underside`), open or closed as `gripper` commands it on the way to each
        waypoint (the executor sets a command on arrival), unless `gripper_radius_m` sets a cylinder."""
        from video_planner.planner import collision
        config = self.collision_config
        start = poses[0, :3, 3]
        if obstacles is None:
            obstacles = self._obstacles(depth_m, camera, scene, poses[0], gripper_now)
        underside = self.gripper_underside
        commands = np.full(len(poses), gripper_now) if gripper is None else np.asarray(gripper, float)
        held = np.concatenate([[gripper_now], commands[1:-1]]) >= 0.5

        def first_hit(points, upto, what):
            if underside is None:
                return collision.first_collision(start, poses[1:upto, :3, 3], points, config, what=what)
            return collision.first_collision(start, poses[1:upto, :3, 3], points, config, underside,
                                             poses[1:upto], held[:upto - 1], what=what)
        hits = [first_hit(obstacles.others, len(poses), 'an object'),
                first_hit(obstacles.target, touch_from, 'the named object before the plan\'s contact with it')]
        hits = [h for h in hits if h is not None]
        return min(hits, key=lambda h: h.waypoint) if hits else None

    @property
    def gripper_underside(self):
        """The configured arm's gripper seen from below (`sim/gripper_underside.py`), measured once
        from its URDF; None without an arm or when `gripper_radius_m` sets a cylinder instead."""
        if not self.config.arm or self.config.gripper_radius_m > 0:
            return None
        return self._measured_underside()

    def _measured_underside(self):
        if self._underside is None:
            from video_planner.sim.gripper_underside import measure_underside
            from video_planner.sim.arms import get_arm
            self._underside = measure_underside(get_arm(self.config.arm))
        return self._underside

    @property
    def contact_underside(self):
        """The gripper's underside widened by `CONTACT_ROOM_M` (x the arm's scale): the room a contact's yaw
        keeps from the objects around it; None without an arm."""
        if not self.config.arm:
            return None
        if self._contact_underside is None:
            self._contact_underside = self._measured_underside().grown(CONTACT_ROOM_M * self._arm_scale)
        return self._contact_underside

    @property
    def target_locator(self):
        """The grounding network, which finds the object the instruction names (also for a video model
        without the target-hint input: the collision check leaves that object out)."""
        if self._grounder is None:
            from video_planner.grounding import Grounder
            self._grounder = Grounder.load(self.config.grounding_checkpoint_path, self.text_encoder,
                                           device=self.config.device)
        return self._grounder

    def _solve_joints(self, poses: np.ndarray, q_current: Optional[np.ndarray]):
        from video_planner.kinematics import IkConfig, cartesian_to_joint_trajectory
        arm = self.kinematics
        q_start = arm.neutral() if q_current is None else np.asarray(q_current, float)
        try:
            trajectory = cartesian_to_joint_trajectory(
                arm, list(poses), q_start, max_vel=arm.velocity_limits * self.config.max_joint_velocity_scale,
                ik_config=IkConfig.for_arm(arm.n))
        except VideoPlannerError as exc:
            return None, f'IK failed: {exc}'
        failure = getattr(trajectory, 'failure', '')
        return (None, f'IK failed: {failure}') if failure else (trajectory, '')
