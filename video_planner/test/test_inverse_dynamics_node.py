"""inverse_dynamics_node: frames in, a completed and stored VideoPlan out; commands only for an execute_plan goal.

The frames are what a video model would send; here they are the simulator's own current frame held
still, i.e. "stay where you are", so the expected motion is known: every pose at the current pose.
"""
import os
import re
import time
import uuid

import numpy as np
import pytest
from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Path
from action_msgs.msg import GoalStatus
from rclpy.action import ActionClient
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import String
from trajectory_msgs.msg import JointTrajectory
from video_planner_interfaces.action import ExecutePlan
from video_planner_interfaces.msg import VideoPlan
from visualization_msgs.msg import MarkerArray

from ros_harness import ARM, Client, hears_camera, start, start_streaming_sim, wait_future, wait_until
from video_planner.kinematics import ArmKinematics
from video_planner.planner import Plan
from video_planner.ros import conversions
from video_planner.ros.process import start_node
from video_planner.sim.arms import get_arm

PLAN_QOS = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
FRAMES = 5
pytestmark = pytest.mark.timeout(150)


SIM = {'arm': ARM, 'task': 'reach', 'seed': 1, 'rate_hz': 10.0}


@pytest.fixture(scope='module')
def streaming(tmp_path_factory):
    logs = tmp_path_factory.mktemp('id_logs')
    pair = {'logs': logs}
    pair['sim'], pair['client'] = start_streaming_sim(logs, SIM, 'id_test_client')
    yield pair
    pair['client'].close()
    pair['sim'].stop()


@pytest.fixture
def robot(streaming):
    """(logs, client) of the module's simulator, heard by the client now. Once in CI a pair that had
    discovered each other stopped matching new subscriptions, and every later test of the module waited for
    frames that never came: such a pair is replaced by a fresh one."""
    if not hears_camera(streaming['client'], 10.0):
        streaming['client'].close()
        streaming['sim'].stop()
        streaming['sim'], streaming['client'] = start_streaming_sim(streaming['logs'], SIM, 'id_test_client')
    return streaming['logs'], streaming['client']


def id_node(logs, **params):
    """The node with its shipped safety gates (config defaults): a still video passes them."""
    return start('inverse_dynamics_node', logs, {'arm': ARM, 'frame_period_s': 0.1, **params})


class Session:
    """Records what the inverse-dynamics node publishes, and sends it still videos."""

    def __init__(self, client: Client):
        self.client = client
        self.camera = client.record(Image, 'camera/image_raw', qos_profile_sensor_data)
        self.plans = client.record(VideoPlan, 'video_plan', PLAN_QOS)
        self.paths = client.record(Path, 'ee_path', LATCHED)
        self.markers = client.record(MarkerArray, 'ee_markers', LATCHED)
        self.trajectories = client.record(JointTrajectory, 'joint_trajectory', 10)
        self.ee_commands = client.record(PoseStamped, 'ee_command', 10)
        self.done = client.record(String, 'execution_done', 10)
        self.ee = client.record(PoseStamped, 'ee_pose', qos_profile_sensor_data)
        self.joints = client.record(JointState, 'joint_states', qos_profile_sensor_data)
        if not hasattr(client, 'execute_action'):  # one action client for the module's sessions
            client.execute_action = ActionClient(client.node, ExecutePlan, 'execute_plan')
        self.execute_action = client.execute_action
        self.frames_pub = client.publisher(VideoPlan, 'video_plan/frames', QoSProfile(
            depth=5, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE))
        try:
            wait_until(lambda: self.camera and self.ee, 20.0, 'camera frames and ee_pose from the simulator')
        except AssertionError as error:
            raise AssertionError(f'{error} (client spin thread alive: {client.spinning()}; errors it survived: '
                                 f'{client.spin_errors})') from None
        wait_until(lambda: self.frames_pub.get_subscription_count() > 0, 20.0, 'the inverse-dynamics node')
        # The node matches its sensor topics separately; on a loaded machine depth can come last.
        wait_until(lambda: client.node.count_subscribers('camera/depth/image_raw') > 0, 20.0,
                   "the inverse-dynamics node's depth subscription")
        assert self.execute_action.wait_for_server(timeout_sec=20.0), 'execute_plan action server not found'
        # The server learns of this client's response reader a moment after the client sees the server; a goal
        # sent before that loses its response (a DDS discovery race, seen once in 3 runs under load).
        time.sleep(1.0)

    def send_still_video(self, execute: bool, view: str = 'camera') -> str:
        # A frame taken after the node started, so its depth and state are in the node's history.
        seen = len(self.camera)
        wait_until(lambda: len(self.camera) >= seen + 3, 10.0, 'fresh camera frames')
        latest = self.camera[-1]
        rgb = conversions.image_to_rgb(latest)
        plan = Plan(instruction='stay where you are', frames=np.repeat(rgb[None], FRAMES, axis=0),
                    frame_period_s=0.1, T_base_ee=np.zeros((0, 4, 4)), gripper=np.zeros(0, np.float32),
                    confidence=np.zeros(0, np.float32), status='pending')
        plan_id = f'test-{uuid.uuid4().hex[:8]}'
        envelope = conversions.VideoPlanEnvelope(plan=plan, plan_id=plan_id, execute=execute,
                                                 stamp_ns=conversions.time_to_ns(latest.header.stamp),
                                                 camera_frame_id=latest.header.frame_id, view=view)
        self.frames_pub.publish(conversions.video_plan_to_msg(envelope))
        return plan_id

    def still_plan(self, execute: bool = False, tries: int = 3) -> VideoPlan:
        """Sends a still video and returns the node's answer. A node on a loaded machine can miss the depth
        image taken with a frame (it then refuses that plan, saying so); a fresher frame is tried then."""
        for _ in range(tries):
            answer = self.answer(self.send_still_video(execute))
            if not answer.status.startswith('rejected: no depth image'):
                break
        return answer

    def execute(self, plan_id: str):
        """Sends an execute_plan goal; its accepted goal handle."""
        assert self.execute_action.wait_for_server(timeout_sec=20.0), 'execute_plan action server not found'
        handle = wait_future(self.execute_action.send_goal_async(ExecutePlan.Goal(plan_id=plan_id)), 20.0,
                             'execute_plan goal response')
        assert handle.accepted
        return handle

    def outcome(self, handle, timeout_s: float = 30.0):
        """(goal status, ExecutePlan.Result) once the execution has ended."""
        response = wait_future(handle.get_result_async(), timeout_s, 'execute_plan result')
        return response.status, response.result

    def refusal(self, plan_id: str) -> str:
        """Executes ``plan_id`` expecting a refusal (ABORTED, outcome failed, nothing sent); its message."""
        status, result = self.outcome(self.execute(plan_id))
        assert (status, result.outcome, result.executed_by) == (
            GoalStatus.STATUS_ABORTED, ExecutePlan.Goal.OUTCOME_FAILED, ''), result.message
        return result.message

    def commands(self) -> int:
        return len(self.trajectories) + len(self.ee_commands)

    def answer(self, plan_id: str, timeout_s: float = 30.0) -> VideoPlan:
        wait_until(lambda: any(p.plan_id == plan_id for p in self.plans), timeout_s, f'the answer to {plan_id}')
        return next(p for p in self.plans if p.plan_id == plan_id)


def test_a_plan_is_stored_not_executed_and_runs_when_asked_by_id(robot):
    logs, client = robot
    node = id_node(logs, execute_enabled=True, command_rate_hz=20.0)
    try:
        session = Session(client)
        T_now = conversions.pose_to_matrix(session.ee[-1].pose)
        answer = session.still_plan(execute=True)   # the flag on the wire no longer executes anything
        plan_id = answer.plan_id
        assert answer.status == 'ok', answer.status
        poses = conversions.path_to_poses(answer.ee_path)
        assert len(poses) == FRAMES and len(answer.frames) == FRAMES
        assert np.linalg.norm(poses[:, :3, 3] - T_now[:3, 3], axis=1).max() < 0.03
        spec = get_arm(ARM)
        urdf_joints = ArmKinematics.from_urdf(spec.urdf_path, spec.base_frame, spec.ee_frame).joint_names
        assert list(answer.joint_trajectory.joint_names) == list(urdf_joints)
        assert answer.arm == ARM
        time.sleep(1.0)
        assert session.commands() == 0, 'a plan was executed because it arrived'

        # Reviewed (here: its path is still); now execute exactly that plan by its id.
        feedback = []
        handle = wait_future(session.execute_action.send_goal_async(
            ExecutePlan.Goal(plan_id=plan_id), feedback_callback=lambda m: feedback.append(m.feedback)), 20.0, 'goal')
        status, result = session.outcome(handle)
        assert status == GoalStatus.STATUS_SUCCEEDED, result.message
        assert (result.success, result.outcome) == (True, ExecutePlan.Goal.OUTCOME_FINISHED)
        assert 'topics' in result.executed_by and 'inverse_dynamics_node' in result.executed_by
        assert result.duration_s >= (FRAMES - 1) * 0.1 - 0.05
        assert len(session.trajectories) == 1
        assert list(session.trajectories[0].joint_names) == list(urdf_joints)
        assert len(session.trajectories[0].points) >= FRAMES  # (+ the current joints as point 0)
        assert len(session.ee_commands) >= 3
        assert all(f.plan_id == plan_id for f in feedback)
        wait_until(lambda: any(d.data == plan_id for d in session.done), 10.0, 'execution_done')
        wait_until(lambda: session.paths and session.markers, 5.0, 'ee_path and ee_markers')
        assert len(session.paths[-1].poses) == FRAMES
        assert session.paths[-1].header.frame_id == spec.base_frame
    finally:
        assert node.stop() == 0, node.log()[-3000:]


def test_execution_is_refused_with_the_reason_when_disabled_or_unknown(robot):
    logs, client = robot
    node = id_node(logs, execute_enabled=False)
    try:
        session = Session(client)
        answer = session.still_plan()
        assert answer.status == 'ok'
        assert 'execute_enabled' in session.refusal(answer.plan_id)
        params = AsyncParameterClient(client.node, 'inverse_dynamics_node')
        assert params.wait_for_services(10.0)
        change = wait_future(params.set_parameters([Parameter('execute_enabled', value=True)]), 10.0, 'set')
        assert change.results[0].successful
        assert "unknown plan_id 'no-such-plan'" in session.refusal('no-such-plan')
        time.sleep(0.5)
        assert session.commands() == 0
    finally:
        node.stop()


def test_a_plan_that_failed_a_gate_is_never_executed(robot):
    logs, client = robot
    # A workspace box that ends below the table: every pose of the arm is outside it (the shipped gate code).
    node = id_node(logs, execute_enabled=True, workspace_min=[-1.0, -1.0, -1.0], workspace_max=[1.0, 1.0, -0.5])
    try:
        session = Session(client)
        answer = session.still_plan()
        assert 'outside the workspace' in answer.status
        message = session.refusal(answer.plan_id)
        assert 'safety gates' in message and 'outside the workspace' in message
        time.sleep(1.0)
        assert session.commands() == 0
        assert node.wait_for_log('will not be executed', 5.0)
    finally:
        node.stop()


def test_a_stored_plan_is_refused_once_the_arm_has_moved_away_from_its_start(robot):
    logs, client = robot
    node = id_node(logs, execute_enabled=True)
    try:
        session = Session(client)
        answer = session.still_plan()
        assert answer.status == 'ok', answer.status
        # Someone else moves the arm 10 cm up after the plan was made (the simulator follows ee_command).
        T = conversions.pose_to_matrix(session.ee[-1].pose)
        T[2, 3] += 0.10
        mover = client.publisher(PoseStamped, 'ee_command', 10)
        deadline = time.monotonic() + 15.0
        while conversions.pose_to_matrix(session.ee[-1].pose)[2, 3] < T[2, 3] - 0.02 and time.monotonic() < deadline:
            mover.publish(conversions.matrix_to_pose_stamped(T, None, get_arm(ARM).base_frame))
            time.sleep(0.1)
        client.node.destroy_publisher(mover)
        n = settled_commands(session)  # the mover's own ee_commands still in flight count too
        assert f"the arm has moved since plan '{answer.plan_id}' was made" in session.refusal(answer.plan_id)
        time.sleep(0.5)
        assert session.commands() == n
    finally:
        node.stop()


# The node's frame period for the tests that stop an execution: FRAMES poses take 4 s.
LONG_PERIOD_S = 1.0


def start_long_execution(session: Session):
    """A stored still plan being executed (the node runs with LONG_PERIOD_S); (plan_id, goal handle)."""
    answer = session.still_plan()
    assert answer.status == 'ok', answer.status
    handle = session.execute(answer.plan_id)
    wait_until(lambda: len(session.ee_commands) >= 3, 20.0, 'the command stream')
    return answer.plan_id, handle


def hold_trajectories(session: Session) -> list:
    return [t for t in session.trajectories if len(t.points) == 1]


def settled_commands(session: Session, quiet_s: float = 0.5, timeout_s: float = 5.0) -> int:
    """The command count once none arrived for `quiet_s`: the hold is an ee_command and a trajectory on two
    topics, which can arrive apart on a loaded machine. A stream that never stops fails here."""
    deadline = time.monotonic() + timeout_s
    count, since = session.commands(), time.monotonic()
    while time.monotonic() - since < quiet_s:
        assert time.monotonic() < deadline, f'commands kept arriving for {timeout_s} s'
        time.sleep(0.05)
        if session.commands() != count:
            count, since = session.commands(), time.monotonic()
    return count


def test_cancel_during_execution_holds_the_arm_within_0_2_s(robot):
    logs, client = robot
    node = id_node(logs, execute_enabled=True, command_rate_hz=20.0, frame_period_s=LONG_PERIOD_S)
    try:
        session = Session(client)
        _, handle = start_long_execution(session)
        arrivals = []  # (arrival time, JointTrajectory)
        client.node.create_subscription(JointTrajectory, 'joint_trajectory',
                                        lambda m: arrivals.append((time.monotonic(), m)), 10)
        time.sleep(0.3)  # the new subscription matches before the cancel goes out
        t_cancel = time.monotonic()
        handle.cancel_goal_async()
        wait_until(lambda: any(len(m.points) == 1 for _, m in arrivals), 5.0, 'the hold trajectory')
        t_hold, hold = next((t, m) for t, m in arrivals if len(m.points) == 1)
        latency = t_hold - t_cancel
        status, result = session.outcome(handle)
        assert status == GoalStatus.STATUS_CANCELED
        assert result.outcome == ExecutePlan.Goal.OUTCOME_STOPPED and 'cancelled' in result.message
        assert 'holding the measured' in result.message
        # The node must react within 0.2 s of reading the cancel; the round trip through DDS and this test's
        # own executor adds the machine's load on top (2-7 ms idle, 0.29 s seen once in a loaded CI run).
        assert node.wait_for_log('after the cancel request arrived', 5.0)
        reaction_ms = float(re.search(r'hold sent ([0-9.]+) ms after the cancel request', node.log()).group(1))
        assert reaction_ms < 200, f'the node sent the hold {reaction_ms:.0f} ms after reading the cancel'
        assert latency < 1.0, f'the hold arrived {latency:.3f} s after the cancel'
        # The hold is at the measured joints, and nothing of the plan follows it.
        q_measured = np.asarray(session.joints[-1].position)
        assert list(hold.joint_names) == list(session.joints[-1].name)
        assert np.abs(np.asarray(hold.points[0].positions) - q_measured).max() < 0.05
        settled_commands(session)
        n_ee, n_traj = len(session.ee_commands), len(session.trajectories)
        time.sleep(1.5)
        assert (len(session.ee_commands), len(session.trajectories)) == (n_ee, n_traj), 'commands after the hold'
        print(f'cancel -> hold latency {latency * 1000:.0f} ms')
    finally:
        node.stop()


@pytest.mark.parametrize('cause', ['new plan', 'newer goal'])
def test_a_new_plan_or_a_newer_goal_stops_the_running_execution(robot, cause):
    logs, client = robot
    node = id_node(logs, execute_enabled=True, command_rate_hz=20.0, frame_period_s=LONG_PERIOD_S)
    try:
        session = Session(client)
        stored = session.still_plan()
        _, handle = start_long_execution(session)
        if cause == 'new plan':
            second, newer = session.send_still_video(execute=False), None
            why = f'a new plan {second} arrived'
        else:
            newer = session.execute(stored.plan_id)
            why = f'pre-empted by a newer execute_plan goal for plan {stored.plan_id}'
        status, result = session.outcome(handle)
        assert (status, result.outcome) == (GoalStatus.STATUS_ABORTED, ExecutePlan.Goal.OUTCOME_STOPPED)
        assert why in result.message
        if newer is not None:
            status, result = session.outcome(newer)
            assert (status, result.outcome) == (GoalStatus.STATUS_SUCCEEDED, ExecutePlan.Goal.OUTCOME_FINISHED)
            return
        # The hold is published before the goal ends, but on a topic: it may arrive after the result.
        wait_until(lambda: hold_trajectories(session), 5.0, 'the hold trajectory')
        assert len(hold_trajectories(session)) == 1
        session.answer(second)
        n = settled_commands(session)
        time.sleep(1.5)
        assert session.commands() == n, 'the first plan kept streaming after a new plan arrived'
    finally:
        node.stop()


def test_stopping_the_node_during_execution_holds_the_arm_and_answers_the_goal(robot):
    logs, client = robot
    node = id_node(logs, execute_enabled=True, command_rate_hz=20.0, frame_period_s=LONG_PERIOD_S)
    try:
        session = Session(client)
        _, handle = start_long_execution(session)
        answer = handle.get_result_async()
        # The server answers the result requests it holds when it stops; one still in flight then (a DDS
        # delay on a loaded machine: failed once in CI) would find no server. Give it time to arrive.
        time.sleep(1.0)
        assert node.stop() == 0, node.log()[-3000:]
        response = wait_future(answer, 10.0, 'the execute_plan result')
        assert (response.status, response.result.outcome) == (GoalStatus.STATUS_ABORTED,
                                                              ExecutePlan.Goal.OUTCOME_STOPPED)
        assert 'inverse_dynamics_node is shutting down' in response.result.message
        # The hold is published before the goal ends, but on a topic: it may arrive after the result.
        wait_until(lambda: hold_trajectories(session), 5.0, 'the hold trajectory')
        assert len(hold_trajectories(session)) == 1
    finally:
        node.stop()


def test_a_plan_without_frames_is_answered_with_the_reason(robot):
    logs, client = robot
    node = id_node(logs)
    try:
        session = Session(client)
        session.frames_pub.publish(VideoPlan(plan_id='empty-plan', instruction='do it', execute=True))
        answer = session.answer('empty-plan')
        assert answer.status.startswith('rejected:') and 'frames' in answer.status
        assert node.alive()
    finally:
        node.stop()


def test_frames_in_a_view_the_inverse_dynamics_cannot_read_are_answered_with_the_reason(robot):
    # Pinned to the canonical-view inverse dynamics, the node refuses camera frames (a camera-view video
    # model's plan) instead of reading them wrongly, and an unknown view by name; it keeps serving.
    logs, client = robot
    node = id_node(logs, idm_checkpoint='idm_canonical.pt')
    try:
        session = Session(client)
        answer = session.answer(session.send_still_video(execute=False, view='camera'))
        assert answer.status.startswith('rejected:') and "frames are in the 'camera' view" in answer.status, \
            answer.status
        msg = conversions.video_plan_to_msg(conversions.VideoPlanEnvelope(
            plan=Plan(instruction='stay', frames=np.zeros((FRAMES, 64, 64, 3), np.uint8), frame_period_s=0.1,
                      T_base_ee=np.zeros((0, 4, 4)), gripper=np.zeros(0, np.float32),
                      confidence=np.zeros(0, np.float32), status='pending'),
            plan_id='sideways-plan', view='sideways'))
        session.frames_pub.publish(msg)
        answer = session.answer('sideways-plan')
        assert answer.status.startswith('rejected:') and "'sideways'" in answer.status, answer.status
        assert node.alive()
    finally:
        node.stop()


def test_a_playhead_arrow_moves_along_the_previewed_plan(robot):
    """RViz plays the plan on the path: while someone watches ee_markers, marker 2 (an arrow) steps
    through the plan's poses in time with the preview frames."""
    logs, client = robot
    node = id_node(logs)
    try:
        session = Session(client)
        answer = session.still_plan(execute=False)
        assert answer.status == 'ok', answer.status
        path = conversions.path_to_poses(answer.ee_path)[:, :3, 3]
        seen = len(session.markers)

        def arrows():   # (the plan's own latched path markers, without a playhead, may arrive in between)
            return [m for markers in session.markers[seen:] for m in markers.markers if m.id == 2]

        wait_until(lambda: len(arrows()) >= FRAMES, 10.0, 'a playhead update per preview frame')
        for arrow in arrows():
            start = np.array([arrow.points[0].x, arrow.points[0].y, arrow.points[0].z])
            assert np.linalg.norm(path - start, axis=1).min() < 1e-6   # on one of the plan's poses
            assert arrow.header.frame_id == get_arm(ARM).base_frame
    finally:
        assert node.stop() == 0, node.log()[-3000:]


# Not the default name: sim_robot_node hosts its own FollowJointTrajectory server there.
STAND_IN_ACTION = '/stand_in_controller/follow_joint_trajectory'


class StandInController:
    """A FollowJointTrajectory server on its own node, as a joint_trajectory_controller would host: it takes as
    long as the trajectory says (at least ``min_duration_s``: a still plan's trajectory lasts a few ms), honours
    cancel, and answers with ``error_code``."""

    def __init__(self, error_code: int = 0, min_duration_s: float = 0.0):
        from control_msgs.action import FollowJointTrajectory
        from rclpy.action import ActionServer, CancelResponse
        from rclpy.callback_groups import ReentrantCallbackGroup
        self.action = FollowJointTrajectory
        self.error_code = error_code
        self.min_duration_s = min_duration_s
        self.goals: list = []     # (arrival time.monotonic(), FollowJointTrajectory.Goal)
        self.cancels: list = []   # time.monotonic() of each cancel request
        self.host = Client('stand_in_controller', threads=4)  # a goal in progress holds one thread
        self._server = ActionServer(self.host.node, FollowJointTrajectory, STAND_IN_ACTION,
                                    execute_callback=self._execute, callback_group=ReentrantCallbackGroup(),
                                    cancel_callback=lambda _: self.cancels.append(time.monotonic())
                                    or CancelResponse.ACCEPT)

    def _execute(self, handle):
        self.goals.append((time.monotonic(), handle.request))
        duration = max(conversions.duration_to_s(handle.request.trajectory.points[-1].time_from_start),
                       self.min_duration_s)
        started = time.monotonic()
        while time.monotonic() - started < duration:
            if handle.is_cancel_requested:
                handle.canceled()
                return self.action.Result(error_code=self.action.Result.SUCCESSFUL)
            time.sleep(0.01)
        if self.error_code == self.action.Result.SUCCESSFUL:
            handle.succeed()
        else:
            handle.abort()
        return self.action.Result(error_code=self.error_code, error_string='stand-in controller says so')

    def close(self) -> None:
        self._server.destroy()
        self.host.close()


needs_control_msgs = pytest.mark.skipif(__import__('importlib').util.find_spec('control_msgs') is None,
                                        reason='control_msgs is not installed (scripts/setup.sh builds a test-only '
                                               'copy where it is missing)')


def fjt_node(logs, **params):
    return id_node(logs, execute_enabled=True, command_interface='follow_joint_trajectory', controller_wait_s=10.0,
                   follow_joint_trajectory_action=STAND_IN_ACTION, **params)


@needs_control_msgs
def test_follow_joint_trajectory_executes_the_stored_plan_and_a_cancel_cancels_the_controller_goal(robot):
    logs, client = robot
    controller = StandInController(min_duration_s=4.0)
    node = fjt_node(logs)
    try:
        session = Session(client)
        answer = session.still_plan()
        assert answer.status == 'ok', answer.status
        status, result = session.outcome(session.execute(answer.plan_id))
        assert (status, result.outcome) == (GoalStatus.STATUS_SUCCEEDED, ExecutePlan.Goal.OUTCOME_FINISHED)
        assert result.executed_by == f'/inverse_dynamics_node via FollowJointTrajectory {STAND_IN_ACTION}'
        assert len(controller.goals) == 1
        sent = controller.goals[0][1].trajectory
        assert list(sent.joint_names) == list(answer.joint_trajectory.joint_names)
        assert [list(p.positions) for p in sent.points] == [list(p.positions) for p in answer.joint_trajectory.points]
        assert conversions.time_to_ns(sent.header.stamp) == 0  # "start when received"
        assert session.ee_commands == [] and session.trajectories == []  # the controller, not the topics

        handle = session.execute(answer.plan_id)
        wait_until(lambda: len(controller.goals) == 2, 10.0, 'the second controller goal')
        time.sleep(0.3)
        t_cancel = time.monotonic()
        handle.cancel_goal_async()
        wait_until(lambda: controller.cancels, 5.0, 'the controller goal to be cancelled')
        latency = controller.cancels[0] - t_cancel
        status, result = session.outcome(handle)
        assert (status, result.outcome) == (GoalStatus.STATUS_CANCELED, ExecutePlan.Goal.OUTCOME_STOPPED)
        assert 'cancelled the controller goal' in result.message
        # As for the topics: the node's own reaction under 0.2 s; the round trip through DDS and this test's
        # executor (which also hosts the stand-in controller) adds the machine's load (0.29 s seen in CI).
        assert node.wait_for_log('after the cancel request arrived', 5.0)
        reaction_ms = float(re.search(r'hold sent ([0-9.]+) ms after the cancel request', node.log()).group(1))
        assert reaction_ms < 200, f'the node cancelled the controller goal {reaction_ms:.0f} ms after reading the cancel'
        assert latency < 1.0, f'the controller goal was cancelled {latency:.3f} s after the cancel'
        time.sleep(0.5)
        assert len(controller.goals) == 2 and session.trajectories == []
    finally:
        node.stop()
        controller.close()


@needs_control_msgs
def test_a_controller_tolerance_violation_is_the_outcome(robot):
    logs, client = robot
    from control_msgs.action import FollowJointTrajectory
    controller = StandInController(error_code=FollowJointTrajectory.Result.PATH_TOLERANCE_VIOLATED)
    node = fjt_node(logs)
    try:
        session = Session(client)
        answer = session.still_plan()
        status, result = session.outcome(session.execute(answer.plan_id))
        assert (status, result.outcome) == (GoalStatus.STATUS_ABORTED, ExecutePlan.Goal.OUTCOME_TOLERANCE_VIOLATED)
        assert 'path tolerance' in result.message and 'stand-in controller says so' in result.message
    finally:
        node.stop()
        controller.close()


@needs_control_msgs
def test_no_controller_is_a_failed_execution_that_names_the_action(robot):
    logs, client = robot
    node = id_node(logs, execute_enabled=True, command_interface='follow_joint_trajectory', controller_wait_s=0.5,
                   follow_joint_trajectory_action='/missing_controller/follow_joint_trajectory')
    try:
        session = Session(client)
        answer = session.still_plan()
        message = session.refusal(answer.plan_id)
        assert 'no FollowJointTrajectory server on /missing_controller/follow_joint_trajectory' in message
    finally:
        node.stop()


def test_follow_joint_trajectory_without_control_msgs_stops_start_up_with_the_reason(tmp_path):
    # A control_msgs that cannot be imported, first on the path: as on a machine without the package.
    (tmp_path / 'control_msgs').mkdir()
    (tmp_path / 'control_msgs' / '__init__.py').write_text("raise ImportError('No module named control_msgs')\n")
    env = dict(os.environ, PYTHONPATH=f'{tmp_path}{os.pathsep}{os.environ.get("PYTHONPATH", "")}')
    proc = start_node('inverse_dynamics_node', {'arm': ARM, 'command_interface': 'follow_joint_trajectory'},
                      log_dir=tmp_path, env=env)
    try:
        assert proc.popen.wait(timeout=90) == 2, proc.log()[-2000:]
        log = proc.log()
        assert "command_interface 'follow_joint_trajectory' needs the control_msgs package" in log
        assert "Use command_interface 'topics' instead" in log
    finally:
        proc.stop()
