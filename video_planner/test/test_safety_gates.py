"""Issue 21: every safety gate is reached through the real nodes with the SHIPPED gate values
(config/inverse_dynamics.yaml, config/planner.yaml), not the wide-open gates of the plumbing tests.

A scripted robot publishes the camera, depth, CameraInfo, camera pose, joint states and end-effector pose of a
simulator scene. The inverse-dynamics node gets videos on video_plan/frames exactly as the planner sends them,
and its answer on video_plan must carry the reason of the gate the input was made to fail. Moving the whole
scene (camera and hand) by an offset leaves the images, and so the shipped inverse-dynamics model's estimate,
unchanged while its poses move: outside the workspace box, or inside the box but out of the arm's reach.
"""
import time
import uuid

import numpy as np
import pytest
import yaml
from action_msgs.msg import GoalStatus
from sensor_msgs.msg import CameraInfo, Image, JointState
from geometry_msgs.msg import PoseStamped
from video_planner_interfaces.msg import VideoPlan

from ros_harness import ARM, Client, start, tiny_checkpoint, wait_until
from video_planner.errors import VideoPlannerError
from video_planner.planner import Plan
from video_planner.planner.goal_limits import check_instruction
from video_planner.resources import config_path
from video_planner.ros import conversions
from video_planner.ros.robot_inputs import CAMERA_POSE_QOS
from video_planner.ros.planner_node import FRAMES_QOS, FRAMES_TOPIC, PLAN_QOS, PLAN_TOPIC

NS = 'gates'
pytestmark = pytest.mark.timeout(300)
GATE_KEYS = ('max_step_m', 'min_confidence', 'workspace_min', 'workspace_max', 'max_joint_velocity_scale',
             'collision_check', 'gripper_radius_m')


def shipped(node: str, keys) -> dict:
    params = yaml.safe_load(config_path(f'{node}.yaml').read_text())
    values = params[f'{node}_node']['ros__parameters']
    return {key: values[key] for key in keys}


class ScriptedRobot:
    """Publishes one simulator scene at 10 Hz, moved by ``offset`` (camera and hand together) and with ``q``."""

    def __init__(self, client: Client):
        from video_planner.sim.arms import ARMS
        from video_planner.sim.tasks import sample_task
        from video_planner.sim.world import TabletopWorld
        world = TabletopWorld(ARM, seed=0, image_size=64)
        self.obs = world.reset(sample_task(ARMS[ARM], 'push', 0, split='heldout'))
        world.close()
        self.offset = np.zeros(3)
        self.q = np.asarray(self.obs.joint_positions, float)
        node = client.node
        self._pubs = {name: node.create_publisher(kind, topic, CAMERA_POSE_QOS if name == 'camera_pose' else 10)
                      for name, kind, topic in (
            ('image', Image, 'camera/image_raw'), ('depth', Image, 'camera/depth/image_raw'),
            ('info', CameraInfo, 'camera/camera_info'), ('camera_pose', PoseStamped, 'camera/pose'),
            ('joints', JointState, 'joint_states'), ('ee', PoseStamped, 'ee_pose'))}
        self._node = node
        self._timer = node.create_timer(0.1, self.publish)

    def moved(self, T: np.ndarray) -> np.ndarray:
        T = np.array(T, float)
        T[:3, 3] += self.offset
        return T

    def publish(self) -> None:
        stamp = self._node.get_clock().now().to_msg()
        obs, frame = self.obs, 'camera_optical_frame'
        self._pubs['image'].publish(conversions.rgb_to_image(obs.rgb, stamp, frame))
        self._pubs['depth'].publish(conversions.depth_to_image(obs.depth_m, stamp, frame))
        self._pubs['info'].publish(conversions.camera_model_to_info(obs.camera, stamp, frame))
        self._pubs['camera_pose'].publish(conversions.matrix_to_pose_stamped(
            self.moved(obs.camera.T_base_camera), stamp, 'base_link'))
        self._pubs['joints'].publish(JointState(header=conversions.make_header(stamp, 'base_link'),
                                                name=list(self.joint_names), position=self.q.tolist()))
        self._pubs['ee'].publish(conversions.matrix_to_pose_stamped(self.moved(obs.T_base_ee), stamp, 'base_link'))

    @property
    def joint_names(self):
        from video_planner.sim.arms import ARMS
        from video_planner.kinematics import ArmKinematics
        spec = ARMS[ARM]
        if not hasattr(self, '_names'):
            self._names = ArmKinematics.from_urdf(str(spec.urdf_path), base_frame=spec.base_frame,
                                                  ee_frame=spec.ee_frame).joint_names
        return self._names

    def settle(self) -> None:
        """Long enough that the nodes' state nearest to 'now' is the state just set."""
        time.sleep(1.0)


@pytest.fixture(scope='module')
def stack(tmp_path_factory):
    logs = tmp_path_factory.mktemp('gate_logs')
    gates = shipped('inverse_dynamics', GATE_KEYS)
    bounds = shipped('planner', ('max_candidates', 'max_sampling_steps'))
    client = Client('gate_client', namespace=NS)
    robot = ScriptedRobot(client)
    robot.joint_names  # noqa: B018  (load the URDF before the nodes start)
    procs = {
        'id': start('inverse_dynamics_node', logs, {'arm': ARM, **gates}, namespace=NS, timeout_s=120.0),
        'planner': start('planner_node', logs, {'arm': ARM, 'checkpoint': str(tiny_checkpoint()), 'sampling_steps': 2,
                                                'result_timeout_s': 30.0, 'fallback_in_process': False, **gates,
                                                **bounds}, namespace=NS, timeout_s=120.0),
    }
    answers = client.record(VideoPlan, PLAN_TOPIC, PLAN_QOS)
    frames_pub = client.publisher(VideoPlan, FRAMES_TOPIC, FRAMES_QOS)
    client.wait_for_server(60.0)
    yield {'client': client, 'robot': robot, 'answers': answers, 'frames_pub': frames_pub, 'bounds': bounds,
           'gates': gates}
    client.close()
    for proc in procs.values():
        proc.stop()


def gate_status(stack, frames: np.ndarray) -> str:
    """Send a video as the planner does (no execution) and return the inverse-dynamics node's status."""
    stack['robot'].settle()
    plan_id = f'gate-{uuid.uuid4().hex[:8]}'
    plan = Plan(instruction='push the red cube', frames=frames, frame_period_s=0.5, T_base_ee=np.zeros((0, 4, 4)),
                gripper=np.zeros(0, np.float32), confidence=np.zeros(0, np.float32), status='pending')
    stamp_ns = stack['client'].node.get_clock().now().nanoseconds
    stack['frames_pub'].publish(conversions.video_plan_to_msg(conversions.VideoPlanEnvelope(
        plan=plan, plan_id=plan_id, stamp_ns=stamp_ns, camera_frame_id='camera_optical_frame')))
    answers = stack['answers']
    wait_until(lambda: any(a.plan_id == plan_id for a in answers), 60.0, f'the answer to {plan_id}')
    return next(a for a in answers if a.plan_id == plan_id).status


def static_video(stack) -> np.ndarray:
    return np.repeat(stack['robot'].obs.rgb[None], 9, axis=0)


@pytest.fixture()
def robot(stack):
    robot = stack['robot']
    yield robot
    robot.offset, robot.q = np.zeros(3), np.asarray(robot.obs.joint_positions, float)


def test_a_still_scene_passes_every_gate(stack, robot):
    assert gate_status(stack, static_video(stack)) == 'ok'


def test_low_confidence_is_refused(stack, robot):
    noise = np.random.default_rng(0).integers(0, 256, static_video(stack).shape, dtype=np.uint8)
    status = gate_status(stack, noise)
    assert status.startswith('inverse-dynamics confidence') and \
        f'below min_confidence {stack["gates"]["min_confidence"]:.2f}' in status, status


def test_a_plan_outside_the_workspace_is_refused(stack, robot):
    robot.offset = np.array([3.0, 0.0, 0.0])
    status = gate_status(stack, static_video(stack))
    lo, hi = stack['gates']['workspace_min'], stack['gates']['workspace_max']
    assert status.startswith('waypoint 0 at [3.5') and f'outside the workspace {lo}..{hi}' in status, status


def test_a_pose_in_the_box_but_out_of_reach_fails_ik(stack, robot):
    robot.offset = np.array([0.45, 0.75, 0.6])  # the hand at (0.95, 0.75, 0.85): inside the box, 1.3 m away
    status = gate_status(stack, static_video(stack))
    assert status.startswith('IK failed') and '(unreachable)' in status, status


def test_joints_beyond_their_limits_are_refused(stack, robot):
    from video_planner.kinematics import ArmKinematics
    from video_planner.sim.arms import ARMS
    spec = ARMS[ARM]
    arm = ArmKinematics.from_urdf(str(spec.urdf_path), base_frame=spec.base_frame, ee_frame=spec.ee_frame)
    q = np.asarray(robot.obs.joint_positions, float).copy()
    q[3] = arm.model.upperPositionLimit[3] + 0.5
    robot.q = q
    status = gate_status(stack, static_video(stack))
    assert status.startswith('IK failed') and '(joint_limit)' in status, status


def test_instruction_length_edge_300_plans_and_301_is_refused(stack, robot):
    client = stack['client']
    status, result = client.plan('x' * 300, timeout_s=120.0, sampling_steps=1)
    assert 'characters' not in result.message and result.plan.instruction == 'x' * 300, result.message
    status, result = client.plan('x' * 301, timeout_s=60.0)
    assert status == GoalStatus.STATUS_ABORTED
    assert result.message == 'goal.instruction has 301 characters; at most 300 are accepted'


@pytest.mark.parametrize('field, bound', [('num_candidates', 'max_candidates'),
                                          ('sampling_steps', 'max_sampling_steps')])
def test_a_goal_over_the_shipped_bound_is_aborted_naming_it(stack, robot, field, bound):
    limit = stack['bounds'][bound]
    status, result = stack['client'].plan('push the red cube', timeout_s=60.0, **{field: limit + 1})
    assert status == GoalStatus.STATUS_ABORTED
    assert result.message.startswith(f'goal.{field}={limit + 1} is over the bound {bound}={limit}'), result.message


def test_a_nul_in_the_instruction_never_reaches_the_node(stack, robot):
    # rclpy copies a goal's string into the C message with strlen: 'push\x00the red cube' leaves the client as
    # 'push'. The node cannot see what was cut, so the client side must refuse it (planner/goal_limits.py).
    from rclpy.serialization import deserialize_message, serialize_message
    from video_planner_interfaces.action import PlanVideo
    request = PlanVideo.Impl.SendGoalService.Request()
    request.goal.instruction = 'push\x00the red cube'
    wire = deserialize_message(serialize_message(request), PlanVideo.Impl.SendGoalService.Request)
    assert wire.goal.instruction == 'push'
    with pytest.raises(VideoPlannerError, match='U\\+0000'):  # what a client of ours checks before sending
        check_instruction(request.goal.instruction)
