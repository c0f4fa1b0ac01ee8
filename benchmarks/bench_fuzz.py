"""Hostile but fair use of the real nodes, bounded in time; writes benchmarks/results/fuzz.md.

sim_robot_node, inverse_dynamics_node (the shipped gates, execution enabled) and planner_node (the shipped
model) run as processes. A client then sends, in turn: kinds of bad goal (empty, whitespace, NUL, control
characters, overlong, non-ASCII, huge num_candidates / sampling_steps, odd seeds), kinds of bad sensor message
(wrong encodings, sizes, step/data mismatches, NaN/inf depth, future and past stamps, empty frame_id), goals
with execute cancelled at random moments, and back-to-back goals until the time is up. Reported: inputs tried,
crashes (a node process that died), goals unanswered, commands after cancel (joint_trajectory, ee_command,
gripper_command and execution_done messages that arrive after the client got its CANCELED result), cancel
latency, and the planner's memory (RSS) before and after.

Run: .venv/bin/python benchmarks/bench_fuzz.py [--minutes 5] [--seed 0] [--steps 4] [--out FILE]
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'video_planner' / 'test'))  # the tests' client: one way to act like a user

from action_msgs.msg import GoalStatus  # noqa: E402
from builtin_interfaces.msg import Time  # noqa: E402
from geometry_msgs.msg import PoseStamped  # noqa: E402
from rclpy.qos import qos_profile_sensor_data  # noqa: E402
from sensor_msgs.msg import Image, JointState  # noqa: E402
from std_msgs.msg import Float64, String  # noqa: E402
from trajectory_msgs.msg import JointTrajectory  # noqa: E402

from ros_harness import Client, wait_future  # noqa: E402
from video_planner.resources import config_path  # noqa: E402
from video_planner.ros.inverse_dynamics_node import COMMAND_QOS  # noqa: E402
from video_planner.ros.process import start_node  # noqa: E402

RESULTS = Path(__file__).resolve().parent / 'results' / 'fuzz.md'
NS = 'fuzz'
GOOD = 'push the red cube to the left'
COMMAND_TOPICS = (('joint_trajectory', JointTrajectory), ('ee_command', PoseStamped),
                  ('gripper_command', Float64), ('execution_done', String))
TERMINAL = {GoalStatus.STATUS_SUCCEEDED: 'succeeded', GoalStatus.STATUS_ABORTED: 'aborted',
            GoalStatus.STATUS_CANCELED: 'canceled'}


def bad_goals() -> list[tuple[str, dict]]:
    return [
        ('empty instruction', {'instruction': ''}),
        ('whitespace instruction', {'instruction': ' \t  '}),
        ('NUL inside the instruction', {'instruction': 'push\x00the red cube'}),
        ('escape sequence', {'instruction': 'push\x1b[2J the cube'}),
        ('newline', {'instruction': 'push\nthe cube'}),
        ('bidi override', {'instruction': 'push \u202eebuc eht'}),
        ('300 characters', {'instruction': 'x' * 300}),
        ('301 characters', {'instruction': 'x' * 301}),
        ('100 000 characters', {'instruction': 'y' * 100_000}),
        ('non-ASCII', {'instruction': 'schiebe den Würfel → links ☃ 🤖'}),
        ('num_candidates 255', {'num_candidates': 255}),
        ('num_candidates 9', {'num_candidates': 9}),
        ('sampling_steps 255', {'sampling_steps': 255}),
        ('sampling_steps 65', {'sampling_steps': 65}),
        ('seed -2', {'seed': -2}),
        ('seed -2**31', {'seed': -2**31}),
        ('seed 2**31-1', {'seed': 2**31 - 1}),
    ]


def bad_sensor_messages(now_ns: int, real: Image) -> list[tuple[str, str, object]]:
    """(kind, topic, message): one per way a driver can get a message wrong."""
    def image(encoding='rgb8', width=None, height=None, step=None, data=None, stamp_ns=now_ns, frame_id='cam'):
        width = real.width if width is None else width
        height = real.height if height is None else height
        channels = {'rgb8': 3, '32FC1': 4, '16UC1': 2, 'mono8': 1}.get(encoding, 3)
        step = width * channels if step is None else step
        data = bytes(max(step * height, 0)) if data is None else data
        msg = Image(encoding=encoding, width=width, height=height, step=step, data=data)
        msg.header.stamp = Time(sec=max(stamp_ns, 0) // 10**9, nanosec=max(stamp_ns, 0) % 10**9)
        msg.header.frame_id = frame_id
        return msg

    def depth(values):
        d = np.full((real.height, real.width), values, np.float32)
        return image('32FC1', data=d.tobytes())

    return [
        ('unknown encoding', 'camera/image_raw', image(encoding='yuv_weird')),
        ('empty encoding', 'camera/image_raw', image(encoding='')),
        ('zero size', 'camera/image_raw', image(width=0, height=0, data=b'')),
        ('huge size', 'camera/image_raw', image(width=100000, height=100000, step=300000, data=bytes(16))),
        ('wrong size for CameraInfo', 'camera/image_raw', image(width=real.width + 8)),
        ('step too small', 'camera/image_raw', image(step=3)),
        ('data shorter than step*height', 'camera/image_raw', image(data=bytes(10))),
        ('data longer than step*height', 'camera/image_raw', image(data=bytes(real.width * 3 * real.height + 99))),
        ('stamp 4 s in the future', 'camera/image_raw', image(stamp_ns=now_ns + 4 * 10**9)),
        ('stamp 1 h in the past', 'camera/image_raw', image(stamp_ns=now_ns - 3600 * 10**9)),
        ('stamp zero', 'camera/image_raw', image(stamp_ns=0)),
        ('empty frame_id', 'camera/image_raw', image(frame_id='')),
        ('colour image on the depth topic', 'camera/depth/image_raw', image('rgb8')),
        ('all-NaN depth', 'camera/depth/image_raw', depth(np.nan)),
        ('all-inf depth', 'camera/depth/image_raw', depth(np.inf)),
        ('negative depth', 'camera/depth/image_raw', depth(-1.0)),
        ('joint_states names/positions mismatch', 'joint_states', JointState(name=['a', 'b'], position=[0.0])),
        ('joint_states NaN', 'joint_states', JointState(name=['panda_joint1'], position=[float('nan')])),
        ('ee_pose with a zero quaternion', 'ee_pose', PoseStamped()),
    ]


def rss_mb(pid: int) -> float:
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024.0
    return float('nan')


class Commands:
    """Every command message the inverse-dynamics node sends, with the time it arrived here."""

    def __init__(self, client: Client):
        self.arrivals: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        for topic, kind in COMMAND_TOPICS:
            client.node.create_subscription(kind, topic, lambda _msg, t=topic: self._got(t), COMMAND_QOS)

    def _got(self, topic: str) -> None:
        with self._lock:
            self.arrivals.append((time.monotonic(), topic))

    def wait_quiet(self, quiet_s: float = 1.5, timeout_s: float = 30.0) -> None:
        """Until no command came for ``quiet_s`` (an executed plan's stream has ended)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                last = self.arrivals[-1][0] if self.arrivals else 0.0
            if time.monotonic() - last > quiet_s:
                return
            time.sleep(0.1)

    def after(self, t0: float, t1: float) -> dict[str, int]:
        with self._lock:
            out: dict[str, int] = {}
            for t, topic in self.arrivals:
                if t0 < t <= t1:
                    out[topic] = out.get(topic, 0) + 1
            return out


def goal_outcome(client: Client, timeout_s: float, instruction: str = GOOD, **fields) -> tuple[str, str]:
    """('succeeded' | 'aborted' | 'canceled' | 'rejected' | 'unanswered', message)."""
    try:
        handle = client.send_goal(instruction, timeout_s=timeout_s, **fields)
        if handle is None:
            return 'rejected', ''
        status, result = client.result(handle, timeout_s=timeout_s)
        return TERMINAL.get(status, f'status {status}'), result.message
    except AssertionError as exc:  # no response / result within the time
        return 'unanswered', str(exc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--minutes', type=float, default=5.0, help='time budget of the whole run')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--steps', type=int, default=4, help="planner_node's sampling_steps (goals that say 0)")
    parser.add_argument('--cancels', type=int, default=10)
    parser.add_argument('--out', type=Path, default=RESULTS)
    args = parser.parse_args()
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    rng = random.Random(args.seed)
    started = time.monotonic()
    deadline = started + 60.0 * args.minutes
    logs = Path(tempfile.mkdtemp(prefix='bench_fuzz_'))
    gates = yaml.safe_load(config_path('inverse_dynamics.yaml').read_text())['inverse_dynamics_node']['ros__parameters']
    gates = {k: gates[k] for k in ('max_step_m', 'min_confidence', 'workspace_min', 'workspace_max')}
    procs = {
        'sim_robot_node': start_node('sim_robot_node', {'arm': 'panda', 'task': 'push', 'seed': args.seed,
                                                        'rate_hz': 10.0}, log_dir=logs, namespace=NS),
        'inverse_dynamics_node': start_node('inverse_dynamics_node', {'arm': 'panda', 'execute_enabled': True,
                                                                      **gates}, log_dir=logs, namespace=NS),
        'planner_node': start_node('planner_node', {'arm': 'panda', 'sampling_steps': args.steps,
                                                    'result_timeout_s': 20.0, **gates}, log_dir=logs, namespace=NS),
    }
    for name, proc in procs.items():
        if not proc.wait_for_log('ready:', 180.0):
            raise SystemExit(f'{name} did not start:\n{proc.log()[-3000:]}')
    client = Client('fuzz_client', namespace=NS)
    client.wait_for_server(60.0)
    commands = Commands(client)
    tried: list[tuple[str, str, str]] = []   # (group, kind, outcome)
    unanswered = 0
    t0 = time.monotonic()
    warm = goal_outcome(client, 120.0)
    goal_s = time.monotonic() - t0  # a goal's length here: cancels land at a random moment within it
    rss_before = rss_mb(procs['planner_node'].pid)
    print(f'warm-up goal: {warm[0]}; planner RSS {rss_before:.0f} MB', flush=True)

    for kind, fields in bad_goals():
        fields = {'instruction': GOOD, **fields}
        outcome, message = goal_outcome(client, 60.0, fields.pop('instruction'), **fields)
        unanswered += outcome == 'unanswered'
        tried.append(('goal', kind, f'{outcome}: {message[:90]}'))
        print(f'goal {kind}: {outcome}: {message[:90]}', flush=True)

    real = []
    sub = client.node.create_subscription(Image, 'camera/image_raw', real.append, qos_profile_sensor_data)
    deadline_frame = time.monotonic() + 10.0
    while not real and time.monotonic() < deadline_frame:
        time.sleep(0.05)
    client.node.destroy_subscription(sub)
    publishers = {}
    for kind, topic, msg in bad_sensor_messages(client.node.get_clock().now().nanoseconds, real[-1]):
        pub = publishers.get(topic) or client.publisher(type(msg), topic)
        publishers[topic] = pub
        for _ in range(3):
            pub.publish(msg)
        time.sleep(0.1)
        tried.append(('sensor', kind, 'sent 3x'))
    time.sleep(1.0)
    after_sensors = goal_outcome(client, 120.0)
    unanswered += after_sensors[0] == 'unanswered'
    drops = {name: proc.log().count('dropped a message') for name, proc in procs.items() if name != 'sim_robot_node'}
    tried.append(('sensor', 'a good goal after all of them', f'{after_sensors[0]}: {after_sensors[1][:90]} '
                  f'(rate-limited "dropped a message" log lines: ' +
                  ', '.join(f'{name} {n}' for name, n in drops.items()) + ')'))
    print(f'good goal after bad sensor messages: {after_sensors[0]}', flush=True)

    latencies, after_cancel = [], {}
    for i in range(args.cancels):
        if time.monotonic() > deadline - 60.0:
            break
        commands.wait_quiet()  # the previous plan's commands, if it was executed, are over
        feedback = []
        handle = client.send_goal(GOOD, timeout_s=60.0, feedback=feedback, execute=True, seed=rng.randrange(1000))
        if handle is None:
            tried.append(('cancel', f'cancel {i}', 'rejected'))
            continue
        time.sleep(rng.uniform(0.0, goal_s))
        stage = feedback[-1].stage if feedback else 'accepted'
        t0 = time.monotonic()
        cancel = handle.cancel_goal_async()
        try:
            wait_future(cancel, 30.0, 'cancel response')
            status, result = client.result(handle, timeout_s=30.0)
        except AssertionError:
            unanswered += 1
            tried.append(('cancel', f'cancel {i} at {stage}', 'unanswered'))
            continue
        answered = time.monotonic()
        outcome = TERMINAL.get(status, str(status))
        if status == GoalStatus.STATUS_CANCELED:
            latencies.append(answered - t0)
            time.sleep(3.0)  # anything the robot still receives from now on came after the client's CANCELED
            for topic, n in commands.after(answered, time.monotonic()).items():
                after_cancel[topic] = after_cancel.get(topic, 0) + n
        tried.append(('cancel', f'cancel {i} at {stage}', f'{outcome} in {answered - t0:.2f} s'))
        print(f'cancel {i} at {stage}: {outcome} in {answered - t0:.2f} s', flush=True)

    back_to_back = {}
    while time.monotonic() < deadline - 10.0 and sum(back_to_back.values()) < 50:
        outcome, _ = goal_outcome(client, 60.0, sampling_steps=1, seed=rng.randrange(1000))
        back_to_back[outcome] = back_to_back.get(outcome, 0) + 1
        unanswered += outcome == 'unanswered'
    tried.append(('back-to-back', f'{sum(back_to_back.values())} goals', ', '.join(
        f'{n} {o}' for o, n in sorted(back_to_back.items()))))

    rss_after = rss_mb(procs['planner_node'].pid) if procs['planner_node'].alive() else float('nan')
    crashes = [name for name, proc in procs.items() if not proc.alive()]
    client.close()
    codes = {name: proc.stop(timeout_s=20.0) for name, proc in procs.items()}
    elapsed = time.monotonic() - started

    lat = sorted(latencies)
    lines = [
        '# Fuzzing the nodes: hostile goals, sensor messages, cancels',
        '',
        f'`python benchmarks/bench_fuzz.py --minutes {args.minutes:g} --seed {args.seed} --steps {args.steps} '
        f'--cancels {args.cancels}`, {time.strftime("%Y-%m-%d")}, {platform.machine()}, {os.cpu_count()} CPUs '
        f'(shared with other work), {elapsed:.0f} s. Shipped model and gates, execution enabled.',
        '',
        '| figure | value |',
        '|---|---|',
        f'| inputs tried | {len(tried)} ({sum(g == "goal" for g, _, _ in tried)} bad goals, '
        f'{sum(g == "sensor" for g, _, _ in tried) - 1} bad sensor messages, '
        f'{sum(g == "cancel" for g, _, _ in tried)} goals cancelled at random moments ({len(latencies)} ended CANCELED), '
        f'{sum(back_to_back.values())} back-to-back goals) |',
        f'| crashes (node processes that died) | {len(crashes)}{" (" + ", ".join(crashes) + ")" if crashes else ""} |',
        f'| goals unanswered | {unanswered} |',
        f'| commands after the client\'s CANCELED (3 s window each) | {sum(after_cancel.values())}'
        f'{" (" + ", ".join(f"{t}: {n}" for t, n in sorted(after_cancel.items())) + ")" if after_cancel else ""} |',
        f'| cancel latency median / max (s) | '
        f'{(f"{lat[len(lat) // 2]:.2f} / {lat[-1]:.2f}") if lat else "n/a"} |',
        f'| planner RSS before / after (MB) | {rss_before:.0f} / {rss_after:.0f} |',
        f'| exit codes at the end (SIGINT) | {", ".join(f"{n} {c}" for n, c in codes.items())} |',
        '',
        'Commands after cancel are counted from the moment the client had its CANCELED result: a cancelled goal '
        'sends no command before execution, and one cancelled while executing sends only the hold (the arm\'s '
        'measured pose), before the client hears CANCELED. The target is 0.',
        '',
        'A NUL inside an instruction never reaches the node: rclpy copies the goal\'s string into the message '
        'with strlen, so the client sends \'push\' and the node plans that. Only a client can refuse it '
        '(`video_planner.planner.goal_limits.check_instruction`).',
        '',
        '| group | input | outcome |',
        '|---|---|---|',
    ] + [f'| {g} | {k} | {o.replace("|", "/")} |' for g, k, o in tried]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text('\n'.join(lines) + '\n')
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
