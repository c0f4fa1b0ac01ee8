"""How well does sim_robot_node follow FollowJointTrajectory goals? Writes benchmarks/results/follow_joint_trajectory.md.

sim_robot_node runs as its own process with command_input follow_joint_trajectory and its default tolerances
(goal 0.03 rad, goal time 1 s, path unchecked). Each round sends one goal through a real rclpy ActionClient:
two waypoints drawn within +-``--reach`` rad of the arm's home pose (inside the joint limits), timed for
``--speed`` rad/s on the joint that moves most; odd rounds carry velocities (cubic interpolation), even
rounds none (linear). Recorded: the outcome, the tracking error seen in the feedback while the trajectory
runs, how long after the trajectory's end the result came, the largest joint error then and 0.5 s later
(the arm holds the last point), and the gaps between feedback messages.

Run: .venv/bin/python benchmarks/bench_follow_joint_trajectory.py [--rounds 20] [--rate-hz 10] [--seed 0]
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import rclpy
from action_msgs.msg import GoalStatus
from rclpy.action import ActionClient
from rclpy.executors import MultiThreadedExecutor
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import JointState
from trajectory_msgs.msg import JointTrajectoryPoint

from video_planner.kinematics.arm import ArmKinematics
from video_planner.ros import conversions
from video_planner.ros.process import start_node
from video_planner.sim.arms import get_arm

RESULTS = Path(__file__).resolve().parent / 'results' / 'follow_joint_trajectory.md'
ACTION = '/arm_controller/follow_joint_trajectory'
STATUS = {GoalStatus.STATUS_SUCCEEDED: 'SUCCEEDED', GoalStatus.STATUS_ABORTED: 'ABORTED',
          GoalStatus.STATUS_CANCELED: 'CANCELED'}


def wait_for(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f'timed out waiting for {what}')
        time.sleep(0.005)


def waypoints(rng: np.random.Generator, q_now: np.ndarray, home: np.ndarray, lower: np.ndarray,
              upper: np.ndarray, reach: float, speed: float, with_velocities: bool):
    """Two random waypoints near home: (positions (2, n), times (2,), velocities (2, n) or None)."""
    margin = 0.05 * (upper - lower)
    q = np.clip(home + rng.uniform(-reach, reach, size=(2, len(home))), lower + margin, upper - margin)
    t1 = max(np.abs(q[0] - q_now).max() / speed, 0.3)
    t2 = t1 + max(np.abs(q[1] - q[0]).max() / speed, 0.3)
    times = np.array([t1, t2])
    if not with_velocities:
        return q, times, None
    # through the first waypoint at the average speed of the two segments around it, at rest at the end
    velocities = np.stack([(q[1] - q_now) / t2, np.zeros(len(home))])
    return q, times, velocities


def one_round(action, action_type, names, joints, q, times, velocities):
    goal = action_type.Goal()
    goal.trajectory.joint_names = list(names)
    goal.trajectory.points = [
        JointTrajectoryPoint(positions=q[k].tolist(), velocities=[] if velocities is None else velocities[k].tolist(),
                             time_from_start=conversions.duration_from_s(float(times[k]))) for k in range(len(times))]
    feedback: list[tuple[float, object]] = []
    sent = action.send_goal_async(goal, feedback_callback=lambda m: feedback.append((time.monotonic(), m.feedback)))
    wait_for(sent.done, 20.0, 'goal response')
    accepted_at = time.monotonic()
    handle = sent.result()
    result = handle.get_result_async()
    wait_for(result.done, float(times[-1]) + 20.0, 'goal result')
    done_at = time.monotonic()
    error_at_result = float(np.abs(np.asarray(joints[-1].position) - q[-1]).max())
    time.sleep(0.5)
    error_settled = float(np.abs(np.asarray(joints[-1].position) - q[-1]).max())
    running = [fb for t, fb in feedback if fb.desired.time_from_start.sec + 1e-9 * fb.desired.time_from_start.nanosec
               < times[-1]]
    tracking = np.array([np.abs(np.asarray(fb.error.positions)).max() for fb in running]) if running else np.zeros(1)
    gaps = np.diff([t for t, _ in feedback]) if len(feedback) > 1 else np.zeros(1)
    response = result.result()
    return {'status': STATUS.get(response.status, str(response.status)), 'message': response.result.error_string,
            'late_s': done_at - accepted_at - float(times[-1]), 'error_at_result': error_at_result,
            'error_settled': error_settled, 'tracking_max': float(tracking.max()),
            'tracking_median': float(np.median(tracking)), 'gap_median': float(np.median(gaps)),
            'gap_max': float(gaps.max()), 'feedback': len(feedback)}


def table_row(name: str, values: list[float], unit: str) -> str:
    v = np.asarray(values)
    return f'| {name} | {np.median(v):.4f} | {np.percentile(v, 90):.4f} | {v.max():.4f} | {unit} |'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=20)
    parser.add_argument('--rate-hz', type=float, default=10.0, help="sim_robot_node's rate_hz (10 = its default)")
    parser.add_argument('--reach', type=float, default=0.4, help='waypoints within +- this of home (rad)')
    parser.add_argument('--speed', type=float, default=0.5, help='rad/s on the joint that moves most')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', type=Path, default=RESULTS)
    args = parser.parse_args()
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    os.environ.setdefault('ROS_DOMAIN_ID', str(random.Random(os.getpid()).randint(1, 101)))
    from control_msgs.action import FollowJointTrajectory

    spec = get_arm('panda')
    kinematics = ArmKinematics.from_urdf(spec.urdf_path, spec.base_frame, spec.ee_frame)
    home = np.array(spec.home_q)
    rng = np.random.default_rng(args.seed)
    sim = start_node('sim_robot_node', {'arm': 'panda', 'rate_hz': args.rate_hz,
                                        'command_input': 'follow_joint_trajectory'},
                     log_dir=Path(tempfile.mkdtemp(prefix='bench_fjt_')))
    rclpy.init()
    node = rclpy.create_node('bench_follow_joint_trajectory')
    executor = MultiThreadedExecutor(num_threads=2)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    rounds = []
    try:
        joints: list = []
        node.create_subscription(JointState, 'joint_states', joints.append, qos_profile_sensor_data)
        action = ActionClient(node, FollowJointTrajectory, ACTION)
        if not action.wait_for_server(timeout_sec=60.0):
            raise SystemExit(f'no action server; sim log:\n{sim.log()[-3000:]}')
        wait_for(lambda: joints, 30.0, 'joint_states')
        for i in range(args.rounds):
            q, times, velocities = waypoints(rng, np.asarray(joints[-1].position), home, kinematics.lower,
                                             kinematics.upper, args.reach, args.speed, with_velocities=i % 2 == 1)
            rounds.append(one_round(action, FollowJointTrajectory, spec.arm_joints, joints, q, times, velocities))
            r = rounds[-1]
            print(f"round {i}: {r['status']} {r['late_s']:+.2f} s, error {r['error_at_result']:.4f} -> "
                  f"{r['error_settled']:.4f} rad, tracking max {r['tracking_max']:.4f}", flush=True)
    finally:
        executor.shutdown()
        spinner.join(timeout=5.0)
        node.destroy_node()
        rclpy.try_shutdown()
        sim_code = sim.stop()
    outcomes = Counter(r['status'] for r in rounds)
    lines = ['# FollowJointTrajectory on the simulated arm', '',
             f'`python benchmarks/bench_follow_joint_trajectory.py --rounds {args.rounds} --rate-hz {args.rate_hz:g} '
             f'--reach {args.reach:g} --speed {args.speed:g} --seed {args.seed}`, {time.strftime("%Y-%m-%d")}, '
             f'{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs (shared).', '',
             f'Panda, sim_robot_node at {args.rate_hz:g} Hz with its default tolerances (goal 0.03 rad, goal time '
             '1 s, path unchecked); two random waypoints per goal, alternately with and without velocities.', '',
             f"Outcomes: {', '.join(f'{k} {v}' for k, v in sorted(outcomes.items()))} of {len(rounds)}. "
             f'sim_robot_node exit code at the end: {sim_code}.', '',
             '| per goal | median | 90th percentile | max | unit |', '|---|---|---|---|---|',
             table_row('result after the trajectory end', [r['late_s'] for r in rounds], 's'),
             table_row('largest joint error at the result', [r['error_at_result'] for r in rounds], 'rad'),
             table_row('largest joint error 0.5 s later (holding)', [r['error_settled'] for r in rounds], 'rad'),
             table_row('largest feedback error while running', [r['tracking_max'] for r in rounds], 'rad'),
             table_row('median feedback error while running', [r['tracking_median'] for r in rounds], 'rad'),
             table_row('median gap between feedback messages', [r['gap_median'] for r in rounds], 's'),
             table_row('largest gap between feedback messages', [r['gap_max'] for r in rounds], 's')]
    failed = [(i, r) for i, r in enumerate(rounds) if r['status'] != 'SUCCEEDED']
    for i, r in failed:
        lines += ['', f"Round {i}: {r['status']}: {r['message']}"]
    args.out.write_text('\n'.join(lines) + '\n')
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
