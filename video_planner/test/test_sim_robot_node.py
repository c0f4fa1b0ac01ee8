"""sim_robot_node as a user sees it: a camera, an arm state, a task, and an arm that follows commands."""
import os
import signal
import time

import numpy as np
import pytest
from action_msgs.msg import GoalStatus
from geometry_msgs.msg import PoseStamped
from rclpy.action import ActionClient
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Bool, Float64, Int64, String
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from ros_harness import ARM, READY, Client, start, wait_future, wait_until
from video_planner.ros import conversions
from video_planner.ros.process import start_node
from video_planner.sim.arms import get_arm

LATCHED = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope='module')
def sim(tmp_path_factory):
    proc = start('sim_robot_node', tmp_path_factory.mktemp('sim_logs'),
                 {'arm': ARM, 'task': 'reach', 'seed': 3, 'image_size': 64, 'rate_hz': 20.0})
    client = Client('sim_test_client')
    yield proc, client
    client.close()
    assert proc.stop() == 0, proc.log()[-3000:]


def test_publishes_camera_depth_state_and_task(sim):
    _, client = sim
    images = client.record(Image, 'camera/image_raw', qos_profile_sensor_data)
    depths = client.record(Image, 'camera/depth/image_raw', qos_profile_sensor_data)
    infos = client.record(CameraInfo, 'camera/camera_info', qos_profile_sensor_data)
    joints = client.record(JointState, 'joint_states', qos_profile_sensor_data)
    ee = client.record(PoseStamped, 'ee_pose', qos_profile_sensor_data)
    camera_pose = client.record(PoseStamped, 'camera/pose', LATCHED)
    instruction = client.record(String, 'task/instruction', LATCHED)
    success = client.record(Bool, 'task/success', LATCHED)
    wait_until(lambda: all([images, depths, infos, joints, ee, camera_pose, instruction, success]), 20.0,
               'every sim topic')
    rgb = conversions.image_to_rgb(images[-1])
    assert images[-1].encoding == 'rgb8' and rgb.shape == (64, 64, 3) and rgb.std() > 0
    depth = conversions.image_to_depth_m(depths[-1])
    assert depths[-1].encoding == '32FC1' and depth.shape == (64, 64)
    assert 0.05 < np.nanmedian(depth) < 5.0
    model = conversions.camera_info_to_model(infos[-1])
    assert (model.width, model.height) == (64, 64) and model.fx > 0
    spec = get_arm(ARM)
    assert list(joints[-1].name) == list(spec.arm_joints)
    assert ee[-1].header.frame_id == spec.base_frame
    assert images[-1].header.stamp == depths[-1].header.stamp  # one observation, one stamp
    T = conversions.pose_to_matrix(ee[-1].pose)
    assert 0.1 < np.linalg.norm(T[:2, 3]) < 1.2
    assert instruction[-1].data.strip()


def test_ee_command_moves_the_arm(sim):
    _, client = sim
    ee = client.record(PoseStamped, 'ee_pose', qos_profile_sensor_data)
    wait_until(lambda: ee, 10.0, 'ee_pose')
    start_T = conversions.pose_to_matrix(ee[-1].pose)
    target = start_T.copy()
    target[1, 3] += 0.06
    commands = client.publisher(PoseStamped, 'ee_command')
    spec = get_arm(ARM)
    deadline = time.monotonic() + 8.0
    while time.monotonic() < deadline:
        commands.publish(conversions.matrix_to_pose_stamped(target, None, spec.base_frame))
        time.sleep(0.1)
        now = conversions.pose_to_matrix(ee[-1].pose)
        if np.linalg.norm(now[:3, 3] - target[:3, 3]) < 0.01:
            break
    moved = conversions.pose_to_matrix(ee[-1].pose)
    assert np.linalg.norm(moved[:3, 3] - target[:3, 3]) < 0.015, (moved[:3, 3], target[:3, 3])


def test_joint_trajectory_is_followed_when_selected(sim):
    _, client = sim
    params = AsyncParameterClient(client.node, 'sim_robot_node')
    assert params.wait_for_services(10.0)
    result = wait_future(params.set_parameters([Parameter('command_input', value='joint_trajectory')]), 10.0,
                         'set_parameters')
    assert result.results[0].successful
    joints = client.record(JointState, 'joint_states', qos_profile_sensor_data)
    wait_until(lambda: joints, 10.0, 'joint_states')
    q0 = np.asarray(joints[-1].position)
    goal = q0.copy()
    goal[0] += 0.25
    from video_planner.kinematics.trajectory import JointTrajectory as CoreTrajectory
    spec = get_arm(ARM)
    trajectory = CoreTrajectory(joint_names=list(spec.arm_joints), positions=np.stack([q0, goal]),
                                times_s=np.array([0.0, 1.0]),
                                velocities=np.zeros((2, len(q0))))
    client.publisher(JointTrajectory, 'joint_trajectory').publish(conversions.joint_trajectory_to_msg(trajectory))
    wait_until(lambda: abs(joints[-1].position[0] - goal[0]) < 0.03, 10.0, 'joint 1 to reach its target')
    wait_future(params.set_parameters([Parameter('command_input', value='ee_command')]), 10.0, 'set_parameters')


# ---------------------------------------------------------------------- FollowJointTrajectory (control_msgs)
FJT_ACTION = '/arm_controller/follow_joint_trajectory'


def set_command_input(client, value: str, node: str = 'sim_robot_node'):
    params = AsyncParameterClient(client.node, node)
    assert params.wait_for_services(10.0)
    return wait_future(params.set_parameters([Parameter('command_input', value=value)]), 10.0,
                       'set_parameters').results[0]


class FjtUser:
    """A FollowJointTrajectory client the way MoveIt or a script uses one, plus the arm's joint_states."""

    def __init__(self, client, action: str = FJT_ACTION):
        self.action_type = pytest.importorskip('control_msgs.action').FollowJointTrajectory
        self.client = client
        self.action_name = action
        self.action = ActionClient(client.node, self.action_type, action)
        assert self.action.wait_for_server(timeout_sec=20.0), 'no FollowJointTrajectory server'
        self.joints = client.record(JointState, 'joint_states', qos_profile_sensor_data)
        wait_until(lambda: self.joints, 10.0, 'joint_states')
        self.names = list(get_arm(ARM).arm_joints)

    @property
    def q(self) -> np.ndarray:
        return np.asarray(self.joints[-1].position)

    def goal(self, points, names=None, **fields):
        """points: [(q in arm order, time_from_start_s), ...]; ``names`` reorders the columns."""
        goal = self.action_type.Goal(**fields)
        names = names or self.names
        goal.trajectory.joint_names = list(names)
        column = [self.names.index(n) for n in names]
        goal.trajectory.points = [JointTrajectoryPoint(positions=[float(q[k]) for k in column],
                                                       time_from_start=conversions.duration_from_s(t))
                                  for q, t in points]
        return goal

    def send(self, goal, feedback: list | None = None):
        callback = (lambda msg: feedback.append(msg.feedback)) if feedback is not None else None
        handle = wait_future(self.action.send_goal_async(goal, feedback_callback=callback), 20.0, 'goal response')
        assert handle.accepted
        return handle

    def result(self, handle, timeout_s: float = 30.0):
        response = wait_future(handle.get_result_async(), timeout_s, 'goal result')
        return response.status, response.result

    def published_feedback(self) -> list:
        """Every feedback message the server publishes, as read off the action's feedback topic (the action
        client drops feedback that arrives after its goal's result; the topic keeps it)."""
        return self.client.record(self.action_type.Impl.FeedbackMessage, f'{self.action_name}/_action/feedback',
                                  QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))

    def moved(self, q_before: np.ndarray) -> float:
        return float(np.abs(self.q - q_before).max())


@pytest.fixture
def fjt(sim):
    _, client = sim
    user = FjtUser(client)
    assert set_command_input(client, 'follow_joint_trajectory').successful
    yield user
    set_command_input(client, 'ee_command')


def offset(q: np.ndarray, deltas: dict[int, float]) -> np.ndarray:
    q = q.copy()
    for k, d in deltas.items():
        q[k] += d
    return q


def test_fjt_follows_a_trajectory_to_its_goal_with_feedback(fjt):
    q0 = fjt.q
    middle, goal = offset(q0, {0: 0.15, 2: -0.1}), offset(q0, {0: 0.3, 2: -0.2, 5: 0.1})
    feedback, published = [], fjt.published_feedback()
    names = list(reversed(fjt.names))  # any joint order is fine
    handle = fjt.send(fjt.goal([(middle, 0.8), (goal, 1.6)], names=names), feedback)
    status, result = fjt.result(handle)
    assert status == GoalStatus.STATUS_SUCCEEDED, result.error_string
    assert result.error_code == fjt.action_type.Result.SUCCESSFUL
    assert len(feedback) >= 5, len(feedback)

    def mine():
        return [m.feedback for m in list(published) if bytes(m.goal_id.uuid) == bytes(handle.goal_id.uuid)]
    # Feedback is a topic, the result a service answer: the last feedback can arrive after the result.
    wait_until(lambda: mine() and np.abs(np.asarray(mine()[-1].desired.positions) - goal).max() < 1e-6, 5.0,
               'the feedback at the goal')
    last = mine()[-1]
    assert list(last.joint_names) == fjt.names
    error = np.asarray(last.desired.positions) - np.asarray(last.actual.positions)
    assert np.allclose(np.asarray(last.error.positions), error)
    # the desired state moves along the trajectory: first near the start, last at the goal
    assert np.abs(np.asarray(feedback[0].desired.positions) - q0).max() < 0.1
    wait_until(lambda: np.abs(fjt.q - goal).max() < 0.01, 5.0, 'the arm to settle at the goal')


@pytest.mark.parametrize('case', ['wrong joint names', 'NaN position', 'decreasing times', 'beyond limits',
                                  'no points'])
def test_fjt_refuses_a_bad_goal_with_its_error_code_and_reason(fjt, case):
    q0 = fjt.q
    Result = fjt.action_type.Result
    goal_q = offset(q0, {0: 0.2})
    if case == 'wrong joint names':
        goal = fjt.goal([(goal_q, 1.0)])
        goal.trajectory.joint_names[3] = 'elbow_of_another_robot'
        expected, words = Result.INVALID_JOINTS, 'elbow_of_another_robot'
    elif case == 'NaN position':
        goal, expected, words = fjt.goal([(offset(q0, {1: float('nan')}), 1.0)]), Result.INVALID_GOAL, 'finite'
    elif case == 'decreasing times':
        goal, expected, words = fjt.goal([(goal_q, 1.0), (q0, 0.5)]), Result.INVALID_GOAL, 'increase'
    elif case == 'beyond limits':
        upper = get_arm_limits()[1]
        goal, expected, words = fjt.goal([(offset(q0, {3: upper[3] - q0[3] + 0.3}), 1.0)]), Result.INVALID_GOAL, \
            'outside its limits'
    else:
        goal, expected, words = fjt.goal([]), Result.INVALID_GOAL, 'empty'
    status, result = fjt.result(fjt.send(goal))
    assert status == GoalStatus.STATUS_ABORTED
    assert result.error_code == expected and words in result.error_string, result.error_string
    time.sleep(0.5)
    assert fjt.moved(q0) < 2e-3


def get_arm_limits():
    from video_planner.kinematics.arm import ArmKinematics
    spec = get_arm(ARM)
    kinematics = ArmKinematics.from_urdf(spec.urdf_path, spec.base_frame, spec.ee_frame)
    return kinematics.lower, kinematics.upper


def test_fjt_cancel_holds_the_position(fjt):
    q0 = fjt.q
    goal = offset(q0, {0: -0.8})
    handle = fjt.send(fjt.goal([(goal, 4.0)]))
    wait_until(lambda: fjt.moved(q0) > 0.1, 10.0, 'the arm to start moving')
    wait_future(handle.cancel_goal_async(), 10.0, 'cancel response')
    status, result = fjt.result(handle)
    assert status == GoalStatus.STATUS_CANCELED, result.error_string
    time.sleep(0.3)  # the arm settles where it was when the cancel came
    held = fjt.q
    assert np.abs(held - goal).max() > 0.2  # stopped well short of the goal
    time.sleep(1.5)
    assert fjt.moved(held) < 0.01


def test_fjt_new_goal_preempts_the_running_one(fjt):
    q0 = fjt.q
    first = fjt.send(fjt.goal([(offset(q0, {0: 0.6}), 4.0)]))
    wait_until(lambda: fjt.moved(q0) > 0.05, 10.0, 'the first goal to move the arm')
    second_goal = offset(q0, {1: 0.2})
    second = fjt.send(fjt.goal([(second_goal, 1.0)]))
    status, result = fjt.result(first)
    assert status == GoalStatus.STATUS_ABORTED and 'pre-empted' in result.error_string
    status, result = fjt.result(second)
    assert status == GoalStatus.STATUS_SUCCEEDED, result.error_string
    wait_until(lambda: np.abs(fjt.q - second_goal).max() < 0.01, 5.0, 'the second goal')


def test_fjt_too_tight_goal_tolerance_is_violated(fjt):
    JointTolerance = pytest.importorskip('control_msgs.msg').JointTolerance
    q0 = fjt.q
    tight = [JointTolerance(name=n, position=1e-12) for n in fjt.names]  # gravity leaves ~1e-5 rad
    goal = fjt.goal([(offset(q0, {0: 0.2}), 0.6)], goal_tolerance=tight,
                    goal_time_tolerance=conversions.duration_from_s(0.3))
    status, result = fjt.result(fjt.send(goal))
    assert status == GoalStatus.STATUS_ABORTED
    assert result.error_code == fjt.action_type.Result.GOAL_TOLERANCE_VIOLATED, result.error_string
    assert 'goal tolerance' in result.error_string


def test_fjt_too_tight_path_tolerance_is_violated_and_the_arm_stops(fjt):
    JointTolerance = pytest.importorskip('control_msgs.msg').JointTolerance
    q0 = fjt.q
    goal_q = offset(q0, {0: 0.8})
    goal = fjt.goal([(goal_q, 3.0)], path_tolerance=[JointTolerance(name=fjt.names[0], position=1e-7)])
    status, result = fjt.result(fjt.send(goal))
    assert status == GoalStatus.STATUS_ABORTED
    assert result.error_code == fjt.action_type.Result.PATH_TOLERANCE_VIOLATED, result.error_string
    assert fjt.names[0] in result.error_string
    time.sleep(1.0)
    assert np.abs(fjt.q - goal_q).max() > 0.3  # held near where it broke the tolerance, not at the goal


def test_fjt_goal_is_aborted_when_command_input_changes(sim, fjt):
    _, client = sim
    q0 = fjt.q
    handle = fjt.send(fjt.goal([(offset(q0, {0: 0.6}), 4.0)]))
    wait_until(lambda: fjt.moved(q0) > 0.05, 10.0, 'the goal to move the arm')
    assert set_command_input(client, 'joint_trajectory').successful
    status, result = fjt.result(handle)
    assert status == GoalStatus.STATUS_ABORTED and 'command_input changed' in result.error_string
    # while another input is selected, a goal is refused with the reason
    status, result = fjt.result(fjt.send(fjt.goal([(q0, 1.0)])))
    assert status == GoalStatus.STATUS_ABORTED and 'command_input' in result.error_string


def test_fjt_goal_is_aborted_by_a_task_reset(sim, fjt):
    _, client = sim
    q0 = fjt.q
    handle = fjt.send(fjt.goal([(offset(q0, {0: 0.6}), 4.0)]))
    wait_until(lambda: fjt.moved(q0) > 0.05, 10.0, 'the goal to move the arm')
    client.publisher(Int64, 'task/reset').publish(Int64(data=4))
    status, result = fjt.result(handle)
    assert status == GoalStatus.STATUS_ABORTED and 'the task was reset' in result.error_string


def test_unselected_command_inputs_are_ignored_with_a_warning(sim, fjt):
    proc, client = sim
    ee = client.record(PoseStamped, 'ee_pose', qos_profile_sensor_data)
    wait_until(lambda: ee, 10.0, 'ee_pose')
    q0 = fjt.q
    target = conversions.pose_to_matrix(ee[-1].pose)
    target[1, 3] += 0.08
    commands = client.publisher(PoseStamped, 'ee_command')
    trajectories = client.publisher(JointTrajectory, 'joint_trajectory')
    from video_planner.kinematics.trajectory import JointTrajectory as CoreTrajectory
    core = CoreTrajectory(joint_names=fjt.names, positions=np.stack([q0, offset(q0, {0: 0.4})]),
                          times_s=np.array([0.0, 0.5]))
    for _ in range(20):
        commands.publish(conversions.matrix_to_pose_stamped(target, None, get_arm(ARM).base_frame))
        trajectories.publish(conversions.joint_trajectory_to_msg(core))
        time.sleep(0.05)
    time.sleep(0.5)
    assert fjt.moved(q0) < 2e-3
    for topic in ('ee_command', 'joint_trajectory'):
        assert proc.wait_for_log(f"dropped a message on {topic}: command_input is 'follow_joint_trajectory'", 5.0)
    log = proc.log()
    assert log.count("dropped a message on ee_command: command_input is 'follow_joint_trajectory'") == 1  # throttled


def test_stopping_the_node_mid_goal_answers_the_goal_and_exits_cleanly(tmp_path):
    pytest.importorskip('control_msgs.action')
    proc = start('sim_robot_node', tmp_path, {'arm': ARM, 'rate_hz': 20.0, 'command_input': 'follow_joint_trajectory',
                                              'follow_joint_trajectory_action': 'stopping/follow_joint_trajectory'},
                 namespace='stopping_mid_goal')
    client = Client('stopping_client', namespace='stopping_mid_goal')
    try:
        user = FjtUser(client, action='stopping/follow_joint_trajectory')
        q0 = user.q
        handle = user.send(user.goal([(offset(q0, {0: 0.6}), 5.0)]))
        wait_until(lambda: user.moved(q0) > 0.02, 10.0, 'the goal to move the arm')
        result_future = handle.get_result_async()
        assert proc.stop() == 0, proc.log()[-3000:]
        response = wait_future(result_future, 10.0, 'the result of the goal running at shutdown')
        assert response.status == GoalStatus.STATUS_ABORTED and 'shutting down' in response.result.error_string
    finally:
        client.close()
        proc.stop()


def test_without_control_msgs_there_is_no_action_server_and_the_node_runs(tmp_path):
    """Where control_msgs is missing (a package that fails to import stands in for it), the node serves the
    topics as before, says so, and refuses command_input follow_joint_trajectory naming control_msgs."""
    shadow = tmp_path / 'shadow' / 'control_msgs'
    shadow.mkdir(parents=True)
    (shadow / '__init__.py').write_text("raise ImportError('control_msgs hidden by the test')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(shadow.parent), os.environ.get('PYTHONPATH', '')]))
    proc = start_node('sim_robot_node', {'arm': ARM, 'rate_hz': 20.0}, log_dir=tmp_path, env=env,
                      namespace='no_control_msgs')
    client = Client('no_control_msgs_client', namespace='no_control_msgs')
    try:
        assert proc.wait_for_log(READY, 60.0), proc.log()[-3000:]
        assert 'control_msgs is not installed: no FollowJointTrajectory action server' in proc.log()
        joints = client.record(JointState, 'joint_states', qos_profile_sensor_data)
        wait_until(lambda: joints, 20.0, 'joint_states without control_msgs')
        refused = set_command_input(client, 'follow_joint_trajectory', node='/no_control_msgs/sim_robot_node')
        assert not refused.successful and 'control_msgs' in refused.reason
    finally:
        client.close()
        assert proc.stop() == 0, proc.log()[-3000:]


def test_rejects_an_invalid_parameter_change_naming_it(sim):
    _, client = sim
    params = AsyncParameterClient(client.node, 'sim_robot_node')
    assert params.wait_for_services(10.0)
    result = wait_future(params.set_parameters([Parameter('command_input', value='teleport')]), 10.0, 'set')
    assert not result.results[0].successful
    assert 'command_input' in result.results[0].reason
    result = wait_future(params.set_parameters([Parameter('rate_hz', value=0.0)]), 10.0, 'set')
    assert not result.results[0].successful and 'rate_hz' in result.results[0].reason


def test_reset_starts_a_new_seeded_task(sim):
    proc, client = sim
    instruction = client.record(String, 'task/instruction', LATCHED)
    wait_until(lambda: instruction, 10.0, 'task/instruction')
    before = len(instruction)
    client.publisher(Int64, 'task/reset').publish(Int64(data=11))
    wait_until(lambda: len(instruction) > before, 10.0, 'a new instruction after task/reset')
    assert proc.wait_for_log('new task (seed 11)', 5.0)


def test_task_status_names_what_is_missing_until_the_expert_solves_it(sim):
    """task/status says what the success rule still misses, and 'solved' once the scripted expert's keyframes,
    sent as ee_command + gripper_command, have touched the target (task/success agrees)."""
    from video_planner.sim.expert import ScriptedExpert
    from video_planner.sim.tasks import sample_task
    from video_planner.sim.world import TabletopWorld
    proc, client = sim
    assert set_command_input(client, 'ee_command').successful
    status = client.record(String, 'task/status', LATCHED)
    success = client.record(Bool, 'task/success', LATCHED)
    ee = client.record(PoseStamped, 'ee_pose', qos_profile_sensor_data)
    seed = 21
    client.publisher(Int64, 'task/reset').publish(Int64(data=seed))
    assert proc.wait_for_log(f'new task (seed {seed})', 10.0)
    wait_until(lambda: status and status[-1].data == 'unsolved: target never touched', 10.0,
               'the fresh task reported unsolved, naming what is missing')
    assert success and not success[-1].data
    time.sleep(0.2)  # an ee_pose of the new task
    # The node's task for this seed, rebuilt here for the expert's commands (one per control step).
    task = sample_task(get_arm(ARM), 'reach', np.random.default_rng(seed))
    world = TabletopWorld(ARM, seed=seed, image_size=64)
    try:
        world.reset(task)
        steps = ScriptedExpert(world).commands(task, conversions.pose_to_matrix(ee[-1].pose))
    finally:
        world.close()
    commands, gripper = client.publisher(PoseStamped, 'ee_command'), client.publisher(Float64, 'gripper_command')
    for T, grip in steps:  # one per simulator tick (its ee_pose): on a loaded machine the ticks run late
        if status[-1].data == 'solved':
            break
        ticks = len(ee)
        gripper.publish(Float64(data=float(grip)))
        commands.publish(conversions.matrix_to_pose_stamped(T, None, get_arm(ARM).base_frame))
        deadline = time.monotonic() + 1.0   # ee_pose is best effort: a lost one must not stall the stream
        while len(ee) <= ticks and time.monotonic() < deadline:
            time.sleep(0.005)
    wait_until(lambda: status[-1].data == 'solved', 5.0, f'task/status solved (last: {status[-1].data!r})')
    wait_until(lambda: success[-1].data, 5.0, 'task/success to agree')


def test_unknown_arm_fails_at_start_up_naming_the_parameter(tmp_path):
    proc = start_node('sim_robot_node', {'arm': 'robby'}, log_dir=tmp_path)
    proc.popen.wait(timeout=60)
    assert proc.popen.returncode != 0
    assert "parameter 'arm'" in proc.log() and 'robby' in proc.log()
    proc.stop()


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM], ids=['SIGINT', 'SIGTERM'])
def test_a_signal_stops_the_node_cleanly(tmp_path, sig):
    """Ctrl-C and a service manager's SIGTERM both end in the same clean shutdown: exit code 0."""
    proc = start('sim_robot_node', tmp_path, {'rate_hz': 20.0}, namespace=f'signal_{sig}')
    time.sleep(1.0)  # publishing, so that the stop races the node's timers and callbacks
    code = proc.stop(sig=sig)
    assert code == 0, proc.log()[-3000:]


def test_a_touch_plan_streamed_to_its_end_touches_and_leaves_the_object_in_place(tmp_path):
    """A plan's poses 0.5 s apart (hover, touch the top, hover), streamed as inverse_dynamics_node streams them
    (SE(3)-interpolated ee_command at 20 Hz) to the plan's end, into a simulator at its default 10 Hz: the
    target is touched and stays put. Commands applied once per tick flung it (the demo's reach was never
    solved)."""
    from video_planner.ros.execution import PoseTimeline
    from video_planner.sim.expert import ScriptedExpert
    from video_planner.sim.tasks import sample_task
    from video_planner.sim.world import TabletopWorld
    seed = 0
    proc = start('sim_robot_node', tmp_path, {'arm': ARM, 'task': 'reach', 'seed': seed}, namespace='touching')
    client = Client('touching_client', namespace='touching')
    try:
        status = client.record(String, 'task/status', LATCHED)
        ee = client.record(PoseStamped, 'ee_pose', qos_profile_sensor_data)
        wait_until(lambda: status and ee, 20.0, 'task/status and ee_pose')
        task = sample_task(get_arm(ARM), 'reach', np.random.default_rng(seed))  # the node's first task
        with TabletopWorld(ARM, seed=seed, image_size=64) as world:
            world.reset(task)
            expert = ScriptedExpert(world)
            keys = expert.keyframes(task, conversions.pose_to_matrix(ee[-1].pose))
            poses = np.stack([expert.tool_pose(k.position) for k in keys])
        timeline = PoseTimeline(poses, np.array([0.0, 1.0, 1.0, 1.0]), period_s=0.5)
        commands, gripper = client.publisher(PoseStamped, 'ee_command'), client.publisher(Float64, 'gripper_command')
        started = time.monotonic()
        while (t := time.monotonic() - started) < timeline.duration_s + 1.0:
            T, grip = timeline.at(t)
            gripper.publish(Float64(data=grip))
            commands.publish(conversions.matrix_to_pose_stamped(T, None, get_arm(ARM).base_frame))
            time.sleep(0.05)
        # The last ticks' status: on a loaded machine the simulator's 10 Hz ticks run late.
        wait_until(lambda: status[-1].data == 'solved', 5.0, "'solved' on task/status")
    finally:
        client.close()
        assert proc.stop() == 0, proc.log()[-3000:]
