"""planner_node: the `plan_video` action. Latest camera frame + instruction -> generated video -> VideoPlan.

Data flow per goal:
  1. snapshot the latest frame (and the depth / camera / robot state taken with it),
  2. ``VideoPlanner.sample_video`` (feedback per sampler step; cancel honoured between steps),
  3. publish the frames as a VideoPlan on ``video_plan/frames`` (plan_id, execute flag),
  4. wait for the inverse-dynamics node's completed VideoPlan with the same plan_id on ``video_plan``
     (or, after ``result_timeout_s`` and if ``fallback_in_process``, run ``frames_to_plan`` here),
  5. with ``goal.execute``, and only for a plan that passed every gate and a goal not cancelled: an
     ``execute_plan`` goal to the inverse-dynamics node for that plan_id, followed to its end (feedback
     stage ``executing``); cancelling this goal cancels that one (the arm holds),
  6. return the plan (frames only with ``goal.return_frames``) and how execution ended as the result.

Goal policy: one goal at a time. A goal that arrives while another runs is REJECTED (the client can
cancel the running goal first); a rejected goal costs nothing and cannot starve the running one.
Goals that break a per-goal bound (empty / overlong / non-printable instruction, num_candidates over
max_candidates, sampling_steps over max_sampling_steps, a seed below -1) are accepted and then aborted at
once, so the client receives the reason in ``result.message`` (planner/goal_limits.py). A goal that runs
longer than ``goal_time_budget_s`` is aborted with that reason; cancel is honoured between sampler steps
of a chunk of candidates (model/sampler.py), so within a fraction of a second at every stage.
"""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Optional

import numpy as np
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from video_planner_interfaces.action import PlanVideo
from video_planner_interfaces.msg import VideoPlan

from video_planner.errors import ConfigError, VideoPlannerError
from video_planner.model.threads import set_torch_threads
from video_planner.planner import PlanCancelled, PlannerConfig, PlanRequest, VideoPlanner
from video_planner.planner.config import GRIPPER_SOURCES
from video_planner.planner.goal_limits import GoalLimits, GoalRequest, check_goal
from video_planner.planner.pipeline import best_candidate
from video_planner.ros import conversions
from video_planner.ros.camera_tf import CameraPoseFromTf
from video_planner.ros.execute_plan_client import ExecutePlanClient, ExecutionReport
from video_planner.ros.execution import FAILED, FINISHED, NOT_REQUESTED
from video_planner.ros.params import NodeParameters, param
from video_planner.ros.robot_inputs import InputTopics, RobotInputs
from video_planner.ros.spin import run_node

FRAMES_TOPIC = 'video_plan/frames'
PLAN_TOPIC = 'video_plan'
FRAMES_QOS = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)
# Transient-local: a (re)started subscriber receives the last completed plan.
PLAN_QOS = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
EXECUTE_ACTION = 'execute_plan'
# How long a goal with execute waits for the inverse-dynamics node's execute_plan server.
EXECUTE_SERVER_WAIT_S = 5.0
FEEDBACK_PERIOD_S = 0.1


@dataclass
class PipelineParams:
    """Parameters both planning nodes share: where the robot's data comes from and the pipeline's settings."""

    image_topic: str = param('camera/image_raw', 'sensor_msgs/Image colour camera topic (sensor-data QoS)')
    depth_topic: str = param('camera/depth/image_raw', 'sensor_msgs/Image depth topic (32FC1 m or 16UC1 mm); '
                             "'' when there is no depth camera")
    camera_info_topic: str = param('camera/camera_info', 'sensor_msgs/CameraInfo of the colour camera')
    camera_pose_topic: str = param('camera/pose', "PoseStamped of the camera optical frame in the base frame; "
                                   "'' = use camera_pose")
    use_tf: bool = param(True, 'take the camera pose from tf (base frame <- the image frame_id) when tf2_ros is '
                         'installed and the transform exists; else camera_pose_topic / camera_pose', read_only=True)
    camera_pose: list[float] = param([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
                                     'static pose of the camera optical frame in the base frame: x y z qx qy qz qw')
    joint_states_topic: str = param('joint_states', 'sensor_msgs/JointState of the arm')
    ee_pose_topic: str = param('ee_pose', "PoseStamped of the end effector in the base frame; '' = forward "
                               'kinematics of joint_states through the URDF')
    gripper_command_topic: str = param('gripper_command', "std_msgs/Float64 gripper command (0 open .. 1 closed): "
                                       "the last one tells plans whether the gripper is closed; '' = always open")
    max_frame_age_s: float = param(5.0, 'inputs older than this are refused (0 = no check)', low=0.0, high=3600.0)
    checkpoint: str = param('', "video model checkpoint; '' = the shipped one: canonical.pt (plans with the arm "
                            "painted out) when `arm` is set and urdf_path / robot_description are not, else "
                            'default.pt', read_only=True)
    inverse_dynamics: str = param('learned', 'frames -> poses method', choices=('flow', 'learned'), read_only=True)
    idm_checkpoint: str = param('', "learned inverse-dynamics checkpoint; '' = the shipped one of the frames' view",
                                read_only=True)
    arm: str = param('', 'simulator arm name or arm YAML path whose URDF is used when robot_description and '
                     'urdf_path are empty',
                     read_only=True)
    robot_description: str = param('', 'URDF XML of the arm', read_only=True)
    urdf_path: str = param('', 'URDF file of the arm (used when robot_description is empty)', read_only=True)
    base_frame: str = param('', "robot base frame; '' = the URDF root link", read_only=True)
    ee_frame: str = param('', "end-effector frame; '' = guessed from the URDF", read_only=True)
    num_candidates: int = param(1, 'videos sampled per goal when the goal says 0', low=1, high=64)
    grounding_checkpoint: str = param('', "grounding network drawing the target hint of a video model that reads "
                                      "one (`video-planner train --model grounding`); '' = the shipped one",
                                      read_only=True)
    destination_checkpoint: str = param('', "destination grounding network (where the instruction asks the object "
                                        "to go: place snapping, a push toward an object); '' = the shipped "
                                        "destination.pt", read_only=True)
    sampling_steps: int = param(10, 'sampler steps when the goal says 0', low=1, high=64)
    hint_guidance: float = param(8.0, 'guidance towards the target hint (1 = none; else one more network call '
                                 'per sampler step)', low=0.0, high=10.0)
    frame_period_s: float = param(0.5, 'seconds between plan frames when executed', low=0.01, high=60.0)
    max_step_m: float = param(0.15, 'safety gate: largest end-effector move between two frames (m)',
                              low=0.001, high=10.0)
    min_confidence: float = param(0.2, 'safety gate: lowest mean inverse-dynamics confidence', low=0.0, high=1.0)
    gripper_source: str = param('auto', "gripper commands from: 'estimate' (the inverse dynamics' reading of the "
                                "frames), 'height' (the path's low points) or 'auto' (estimate for canonical-view "
                                "inverse dynamics, height otherwise)", choices=GRIPPER_SOURCES)
    workspace_min: list[float] = param([-0.2, -0.8, -0.05], 'safety gate: workspace box lower corner x y z (m)')
    workspace_max: list[float] = param([1.0, 0.8, 0.9], 'safety gate: workspace box upper corner x y z (m)')
    max_joint_velocity_scale: float = param(0.5, 'fraction of the URDF joint velocity limits used', low=0.01,
                                            high=1.0)
    collision_check: bool = param(True, 'safety gate: refuse a plan whose path drives the gripper through an '
                                  'object seen in the depth image (the named object and the arm excepted)')
    gripper_radius_m: float = param(0.0, "the collision check's gripper: 0 = the arm's own, as its URDF shapes it; "
                                    "> 0 = a vertical cylinder of this radius (m)", low=0.0, high=0.5)
    route_over: bool = param(True, 'lift a path the collision check refuses over what it would drive the gripper '
                             'through (at most 3 segments, before a touch or push contact) instead of refusing it')
    snap_grasps: bool = param(True, 'move a grasp the plan closes near the named object onto that object as the '
                              'depth image shows it (hover above its top, close 2 cm below it)')
    snap_places: bool = param(True, 'release a held object over the destination the instruction names (a pad, '
                              'another object), as the destination grounding network finds it in the frame')
    snap_touches: bool = param(True, "move a touch the plan draws near the named object onto the centre of its "
                               "top (closed gripper, from above)")
    snap_pushes: bool = param(True, "redraw a push the plan draws at the named object straight through it, the way "
                              "the instruction asks (a direction word, or toward the object it names), 5-6 cm")
    turn_contacts: bool = param(True, 'turn a grasp, touch or push about the vertical (30 degree steps) when the '
                                'drawn yaw would put the gripper on another object seen in depth')
    device: str = param('cpu', "torch device: 'cpu' or 'cuda[:N]'", read_only=True)
    torch_threads: int = param(0, 'CPU threads for torch (0 = half the cores this process may use, at least 1: '
                               'all of them slow sampling 30-100x when other work holds a core; '
                               'model/threads.py)', low=0, high=256, read_only=True)

    def validate(self) -> None:
        if len(self.camera_pose) != 7:
            raise ConfigError(f"parameter 'camera_pose' must hold 7 numbers (x y z qx qy qz qw), "
                              f'got {len(self.camera_pose)}')
        if abs(np.linalg.norm(self.camera_pose[3:]) - 1.0) > 1e-3:
            raise ConfigError("parameter 'camera_pose': the quaternion qx qy qz qw must have unit length")
        for name in ('workspace_min', 'workspace_max'):
            if len(getattr(self, name)) != 3:
                raise ConfigError(f"parameter '{name}' must hold 3 numbers (x y z), got {getattr(self, name)}")
        if any(lo >= hi for lo, hi in zip(self.workspace_min, self.workspace_max)):
            raise ConfigError(f"parameter 'workspace_min' {self.workspace_min} must be below 'workspace_max' "
                              f'{self.workspace_max} on every axis')
        if not self.image_topic:
            raise ConfigError("parameter 'image_topic' must name a topic")
        self.planner_config()  # PlannerConfig's own checks, with its messages

    def planner_config(self) -> PlannerConfig:
        return PlannerConfig(
            checkpoint=self.checkpoint, inverse_dynamics=self.inverse_dynamics, idm_checkpoint=self.idm_checkpoint,
            arm=self.arm, urdf=self.robot_description or self.urdf_path, base_frame=self.base_frame,
            ee_frame=self.ee_frame, num_candidates=self.num_candidates,
            grounding_checkpoint=self.grounding_checkpoint, destination_checkpoint=self.destination_checkpoint,
            sampling_steps=self.sampling_steps, hint_guidance=self.hint_guidance,
            frame_period_s=self.frame_period_s,
            max_step_m=self.max_step_m, min_confidence=self.min_confidence, gripper_source=self.gripper_source,
            workspace_min=list(self.workspace_min), workspace_max=list(self.workspace_max),
            max_joint_velocity_scale=self.max_joint_velocity_scale, collision_check=self.collision_check,
            gripper_radius_m=self.gripper_radius_m, route_over=self.route_over, snap_grasps=self.snap_grasps,
            snap_places=self.snap_places, snap_touches=self.snap_touches,
            snap_pushes=self.snap_pushes, turn_contacts=self.turn_contacts, device=self.device)

    def input_topics(self) -> InputTopics:
        return InputTopics(image=self.image_topic, depth=self.depth_topic, camera_info=self.camera_info_topic,
                           camera_pose=self.camera_pose_topic, joint_states=self.joint_states_topic,
                           ee_pose=self.ee_pose_topic, gripper_command=self.gripper_command_topic)

    def T_base_camera(self) -> np.ndarray:
        from geometry_msgs.msg import Point, Pose, Quaternion
        x, y, z, qx, qy, qz, qw = self.camera_pose
        return conversions.pose_to_matrix(Pose(position=Point(x=x, y=y, z=z),
                                               orientation=Quaternion(x=qx, y=qy, z=qz, w=qw)))


@dataclass
class PlannerNodeParams(PipelineParams):
    result_timeout_s: float = param(10.0, 'how long to wait for the inverse-dynamics node to answer a plan',
                                    low=0.0, high=600.0)
    frame_wait_s: float = param(3.0, 'how long a goal waits for a first camera frame before it is aborted',
                                low=0.0, high=600.0)
    max_frame_staleness_s: float = param(0.0, 'a goal is refused when no camera frame came for this long (the '
                                         'camera has stopped); 0 = 5 periods of the camera\'s own rate, at '
                                         'least 1 s', low=0.0, high=60.0)
    fallback_in_process: bool = param(True, 'run inverse dynamics + IK in this node when no inverse-dynamics '
                                      'node answers in time')
    max_candidates: int = param(8, 'largest goal.num_candidates accepted; a goal asking for more is aborted '
                                'with the reason', low=1, high=64)
    max_sampling_steps: int = param(64, 'largest goal.sampling_steps accepted; a goal asking for more is aborted '
                                    'with the reason', low=1, high=255)
    goal_time_budget_s: float = param(120.0, 'a goal still running after this long is aborted with the reason '
                                      '(frees the node for the next goal)', low=1.0, high=3600.0)
    warm_up: bool = param(True, 'load the video model and text encoder at start-up (fail early on a bad file, '
                          'and the first goal is as fast as the next)',
                          read_only=True)

    def validate(self) -> None:
        super().validate()
        for name, bound in (('num_candidates', 'max_candidates'), ('sampling_steps', 'max_sampling_steps')):
            if getattr(self, name) > getattr(self, bound):
                raise ConfigError(f"parameter '{name}'={getattr(self, name)} is over '{bound}'="
                                  f'{getattr(self, bound)}: the default must be a goal the node accepts')

    def goal_limits(self) -> GoalLimits:
        return GoalLimits(max_candidates=self.max_candidates, max_sampling_steps=self.max_sampling_steps)


def make_inputs(node: Node, params: PipelineParams, planner: VideoPlanner,
                keep_latest_frame: bool = True) -> RobotInputs:
    """RobotInputs wired to the arm's kinematics (joint order, FK when there is no ee_pose topic)."""
    arm = planner.kinematics
    lookup = None
    if params.use_tf:
        tf = CameraPoseFromTf(node, params.base_frame or (arm.base_frame if arm else ''))
        lookup = tf.T_base_camera if tf.available else None
    return RobotInputs(node, params.input_topics(), params.T_base_camera(),
                       max_age_s=params.max_frame_age_s, forward_kinematics=arm.fk if arm else None,
                       joint_names=tuple(arm.joint_names) if arm else (), keep_latest_frame=keep_latest_frame,
                       camera_pose_lookup=lookup)


def arm_name(planner: VideoPlanner) -> str:
    arm = planner.kinematics
    return planner.config.arm or (arm.model.name if arm else '')


def base_frame_of(planner: VideoPlanner) -> str:
    arm = planner.kinematics
    return planner.config.base_frame or (arm.base_frame if arm else '') or 'base_link'


class PlanMailbox:
    """Completed VideoPlans by plan_id, for the goal that is waiting on one."""

    def __init__(self):
        self._cond = threading.Condition()
        self._plans: dict[str, VideoPlan] = {}
        self._wanted: set[str] = set()

    def expect(self, plan_id: str) -> None:
        with self._cond:
            self._wanted.add(plan_id)

    def deliver(self, msg: VideoPlan) -> None:
        with self._cond:
            if msg.plan_id in self._wanted:
                self._plans[msg.plan_id] = msg
                self._cond.notify_all()

    def wait(self, plan_id: str, timeout_s: float, cancelled=lambda: False) -> Optional[VideoPlan]:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            try:
                while plan_id not in self._plans:
                    left = deadline - time.monotonic()
                    if left <= 0 or cancelled():
                        return None
                    self._cond.wait(min(left, 0.05))
                return self._plans.pop(plan_id)
            finally:
                self._wanted.discard(plan_id)
                self._plans.pop(plan_id, None)


class PlannerNode(Node):
    def __init__(self, planner: Optional[VideoPlanner] = None, **node_kwargs):
        super().__init__('planner_node', **node_kwargs)
        self.params = NodeParameters(self, PlannerNodeParams, on_change=self._on_params)
        p = self.params.config
        threads = set_torch_threads(p.torch_threads)
        self.planner = planner or VideoPlanner(p.planner_config())
        if p.warm_up:
            self.planner.warm_up()
            self.planner.text_encoder.encode('warm up')  # the sentence model loads on first use (seconds)
        self._group = ReentrantCallbackGroup()
        self.inputs = make_inputs(self, p, self.planner)
        self.inputs.max_staleness_s = p.max_frame_staleness_s
        self._frames_pub = self.create_publisher(VideoPlan, FRAMES_TOPIC, FRAMES_QOS)
        self._mailbox = PlanMailbox()
        self.create_subscription(VideoPlan, PLAN_TOPIC, self._mailbox.deliver, PLAN_QOS,
                                 callback_group=self._group)
        self._executor_client = ExecutePlanClient(self, EXECUTE_ACTION, callback_group=self._group)
        self._busy = threading.Lock()
        self._goal_deadline = float('inf')
        self._last_feedback = ('', 0.0)  # (stage, time.monotonic()) of the last feedback published
        self._stopping = threading.Event()
        self._server = ActionServer(self, PlanVideo, 'plan_video', execute_callback=self._execute,
                                    goal_callback=self._on_goal, cancel_callback=self._on_cancel,
                                    callback_group=self._group)
        self.get_logger().info(f'planner_node ready: action plan_video, camera {p.image_topic}, '
                               f'model {self.planner.config.checkpoint_path.name}, {threads} torch thread(s)')

    def _on_params(self, config: PlannerNodeParams) -> None:
        # Gates and defaults apply from the next goal; model files are read-only parameters.
        self.planner.config = config.planner_config()
        self.inputs.max_age_s = config.max_frame_age_s
        self.inputs.max_staleness_s = config.max_frame_staleness_s

    # ------------------------------------------------------------------ goal life cycle
    def _on_goal(self, goal: PlanVideo.Goal) -> GoalResponse:
        if self._stopping.is_set():
            self.get_logger().warning('rejected a plan_video goal: planner_node is shutting down')
            return GoalResponse.REJECT
        if not self._busy.acquire(blocking=False):
            self.get_logger().warning('rejected a plan_video goal: another goal is running '
                                      '(policy: one at a time; cancel it first)', throttle_duration_sec=5.0)
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def _on_cancel(self, goal_handle) -> CancelResponse:
        return CancelResponse.ACCEPT

    @property
    def busy(self) -> bool:
        """A goal is running."""
        return self._busy.locked()

    def request_stop(self) -> None:
        """The process is stopping: a goal in flight ends now (aborted, with the reason) instead of finishing."""
        self._stopping.set()

    def _should_stop(self, goal_handle) -> bool:
        return goal_handle.is_cancel_requested or self._stopping.is_set() or self._over_budget()

    def _over_budget(self) -> bool:
        return time.monotonic() > self._goal_deadline

    def _execute(self, goal_handle) -> PlanVideo.Result:
        started = time.monotonic()
        budget_s = self.params.config.goal_time_budget_s
        self._goal_deadline = started + budget_s
        try:
            result = self._run_goal(goal_handle)
        except PlanCancelled as exc:
            if self._stopping.is_set() and not goal_handle.is_cancel_requested:
                result = self._finish(goal_handle, 'abort', 'planner_node is shutting down')
            elif self._over_budget() and not goal_handle.is_cancel_requested:
                result = self._finish(goal_handle, 'abort', f'goal ran over goal_time_budget_s={budget_s:g} s '
                                      f'({time.monotonic() - started:.1f} s); ask for fewer candidates or steps')
            else:
                result = self._finish(goal_handle, 'canceled', str(exc))
        except VideoPlannerError as exc:
            result = self._finish(goal_handle, 'abort', str(exc))
        except Exception as exc:  # a bug must not wedge the server: report it, free the slot
            self.get_logger().error(f'plan_video goal failed unexpectedly: {type(exc).__name__}: {exc}')
            result = self._finish(goal_handle, 'abort', f'internal error: {type(exc).__name__}: {exc}')
        finally:
            self._busy.release()
        result.plan_time_s = float(time.monotonic() - started)
        return result

    def _finish(self, goal_handle, how: str, message: str, plan: Optional[VideoPlan] = None,
                success: bool = False) -> PlanVideo.Result:
        result = PlanVideo.Result(success=success, message=message)
        if plan is not None:
            result.plan = plan
        try:
            if how == 'canceled' and goal_handle.is_cancel_requested:
                goal_handle.canceled()
            elif how == 'succeed':
                goal_handle.succeed()
            else:
                goal_handle.abort()
        except Exception as exc:  # the goal's state changed underneath (client gone): log, return anyway
            self.get_logger().warning(f'could not set the final state of goal: {exc}')
        if how != 'succeed':
            self.get_logger().info(f'plan_video goal {how}: {message}')
        return result

    def _run_goal(self, goal_handle) -> PlanVideo.Result:
        goal: PlanVideo.Goal = goal_handle.request
        p = self.params.config
        instruction = check_goal(GoalRequest(goal.instruction, int(goal.num_candidates), int(goal.sampling_steps),
                                             int(goal.seed)), p.goal_limits())
        self._last_feedback = ('', 0.0)
        self._feedback(goal_handle, 'waiting_for_frame', 0.0)
        self.inputs.wait_for_frame(p.frame_wait_s, lambda: self._should_stop(goal_handle))
        if self._should_stop(goal_handle):
            raise PlanCancelled('goal cancelled while waiting for a camera frame')
        snapshot = self.inputs.snapshot()
        request = PlanRequest(instruction=instruction, rgb=snapshot.rgb, depth_m=snapshot.depth_m,
                              camera=snapshot.camera, T_base_ee=snapshot.T_base_ee, q_current=snapshot.q_current,
                              joint_names=tuple(snapshot.joint_names), gripper=snapshot.gripper,
                              num_candidates=int(goal.num_candidates), sampling_steps=int(goal.sampling_steps),
                              seed=int(goal.seed))
        candidates, _ = self.planner.sample_video(
            request, progress=lambda stage, fraction, step, total: self._feedback(
                goal_handle, stage, fraction, step, total),
            should_cancel=lambda: self._should_stop(goal_handle))
        plan_id = f'{instruction[:24].replace(" ", "_")}-{uuid.uuid4().hex[:10]}'
        self._feedback(goal_handle, 'inverse_dynamics', 0.85)
        cancelled = lambda: self._should_stop(goal_handle)  # noqa: E731
        if len(candidates) == 1:
            plan, here = self._complete(candidates[0], plan_id, goal.execute, instruction, snapshot, cancelled)
        else:
            # Rank the candidates by the inverse-dynamics node's score; each is stored there by its own id,
            # and only the winner's id is executed (once), below.
            answers = [self._complete(frames, f'{plan_id}-c{i}', goal.execute, instruction, snapshot, cancelled)
                       for i, frames in enumerate(candidates)]
            best = best_candidate([a.status == 'ok' for a, _ in answers], [a.score for a, _ in answers])
            plan, here = answers[best]
        if self._should_stop(goal_handle):
            raise PlanCancelled('goal cancelled while waiting for inverse dynamics')
        ok = plan.status == 'ok'
        message = (f'plan {plan.plan_id}: {len(plan.frames)} frames, {len(plan.ee_path.poses)} poses'
                   if ok else f'plan {plan.plan_id} failed: {plan.status}')
        report = self._execute_plan(goal_handle, plan, goal.execute, ok, here)
        if not goal.return_frames:
            plan.frames = []  # they stay on video_plan, by plan_id
        if self._should_stop(goal_handle):
            shutting = self._stopping.is_set() and not goal_handle.is_cancel_requested
            result = self._finish(goal_handle, 'abort' if shutting else 'canceled',
                                  'planner_node is shutting down' if shutting else
                                  f'goal cancelled during execution: {report.message}', plan)
        else:
            success = ok and report.outcome in (NOT_REQUESTED, FINISHED)
            if report.outcome != NOT_REQUESTED:
                message += f'; execution {report.outcome}: {report.message}'
            result = self._finish(goal_handle, 'succeed' if success else 'abort', message, plan, success=success)
        result.plan_id = plan.plan_id
        result.executed, result.executed_by = report.executed, report.executed_by
        result.execution_outcome = report.outcome
        return result

    def _execute_plan(self, goal_handle, plan: VideoPlan, execute: bool, ok: bool,
                      computed_here: bool) -> ExecutionReport:
        """Runs the plan through the inverse-dynamics node's execute_plan when the goal asks and may."""
        if not execute:
            self._feedback(goal_handle, 'ik', 1.0)
            return ExecutionReport(False, '', NOT_REQUESTED, '')
        if not ok:
            return ExecutionReport(False, '', FAILED, 'the plan failed a safety gate: nothing was executed')
        if computed_here:
            return ExecutionReport(False, '', FAILED, 'no inverse-dynamics node answered, so planner_node computed '
                                                      'the plan itself and sends no commands: nothing was executed')
        self._feedback(goal_handle, 'executing', 0.9)
        return self._executor_client.run(
            plan.plan_id, EXECUTE_SERVER_WAIT_S, should_stop=lambda: self._should_stop(goal_handle),
            on_progress=lambda fraction: self._feedback(goal_handle, 'executing', 0.9 + 0.1 * fraction))

    # ------------------------------------------------------------------ stages
    def _complete(self, frames: np.ndarray, plan_id: str, execute: bool, instruction: str, snapshot,
                  cancelled) -> tuple[VideoPlan, bool]:
        """Publish the frames; the inverse-dynamics node's answer (or one computed here), and whether it was
        computed here (then no node holds it and it cannot be executed)."""
        p = self.params.config
        base_frame = base_frame_of(self.planner)
        envelope = conversions.VideoPlanEnvelope(
            plan=_frames_only(instruction, frames, self.planner.config.frame_period_s), plan_id=plan_id,
            execute=bool(execute), stamp_ns=int(round(snapshot.stamp_s * 1e9)),
            camera_frame_id=snapshot.frame_id, base_frame_id=base_frame, view=self.planner.view)
        self._mailbox.expect(plan_id)
        self._frames_pub.publish(conversions.video_plan_to_msg(envelope))
        answer = self._mailbox.wait(plan_id, p.result_timeout_s, cancelled)
        if answer is not None or cancelled():
            return (answer, False) if answer is not None else (conversions.video_plan_to_msg(envelope), True)
        if not p.fallback_in_process:
            raise VideoPlannerError(f'no inverse-dynamics node answered plan {plan_id} on {PLAN_TOPIC} within '
                                    f'result_timeout_s={p.result_timeout_s:g} s; is inverse_dynamics_node running?')
        self.get_logger().warning(f'no inverse-dynamics node answered plan {plan_id} within '
                                  f'{p.result_timeout_s:g} s: computing it here (nothing is executed)')
        plan = self.planner.frames_to_plan(instruction, frames, snapshot.depth_m, snapshot.camera,
                                           snapshot.T_base_ee, snapshot.q_current, gripper_now=snapshot.gripper)
        envelope.plan, envelope.execute = plan, False
        envelope.arm = arm_name(self.planner)
        return conversions.video_plan_to_msg(envelope), True

    def _feedback(self, goal_handle, stage: str, fraction: float, step: int = 0, total: int = 0) -> None:
        # Within a stage at most one message per FEEDBACK_PERIOD_S (and the stage's last step): feedback is
        # keep-last 10, and one message per candidate-step (16 x 64 for a large goal) overwrote the first
        # message of each stage before a busy client read it.
        now = time.monotonic()
        last_stage, last_t = self._last_feedback
        if stage == last_stage and now - last_t < FEEDBACK_PERIOD_S and not (total and step >= total):
            return
        self._last_feedback = (stage, now)
        goal_handle.publish_feedback(PlanVideo.Feedback(stage=stage, progress=float(np.clip(fraction, 0, 1)),
                                                        step=int(step), total_steps=int(total)))


def _frames_only(instruction: str, frames: np.ndarray, period_s: float):
    """A Plan that carries only the generated frames (the inverse-dynamics node fills the rest)."""
    from video_planner.planner import Plan
    empty = np.zeros((0, 4, 4))
    return Plan(instruction=instruction, frames=frames, frame_period_s=period_s, T_base_ee=empty,
                gripper=np.zeros(0, np.float32), confidence=np.zeros(0, np.float32), status='pending')


def main(args=None) -> int:
    return run_node(PlannerNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
