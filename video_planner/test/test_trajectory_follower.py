"""The FollowJointTrajectory logic without ROS: goal checks, interpolation in time, tolerance verdicts."""
import math

import numpy as np
import pytest

from video_planner.kinematics.trajectory_follower import (GoalRefused, Outcome, RequestedTolerance,
                                                          ToleranceDefaults, TrajectoryFollower, parse_goal,
                                                          start_delay_s)

JOINTS = ('j1', 'j2', 'j3')
LOWER = np.array([-1.0, -2.0, -3.0])
UPPER = np.array([1.0, 2.0, 3.0])
DEFAULTS = ToleranceDefaults(path_position=0.0, goal_position=0.05, goal_time_s=0.5)


def goal(points, names=JOINTS, velocities=None, **kwargs):
    """points: [(positions in ``names`` order, time_s), ...]."""
    velocities = velocities or [[] for _ in points]
    return parse_goal(JOINTS, LOWER, UPPER, names, [q for q, _ in points], velocities, [t for _, t in points],
                      defaults=DEFAULTS, **kwargs)


def refused(points, **kwargs) -> GoalRefused:
    with pytest.raises(GoalRefused) as info:
        goal(points, **kwargs)
    return info.value


def test_goal_in_any_joint_order_comes_back_in_arm_order():
    checked = goal([([0.3, 0.1, 0.2], 1.0), ([0.6, 0.2, 0.4], 2.0)], names=('j3', 'j1', 'j2'))
    assert checked.joint_names == JOINTS
    assert np.allclose(checked.positions, [[0.1, 0.2, 0.3], [0.2, 0.4, 0.6]])
    assert checked.velocities is None and checked.duration_s == 2.0


@pytest.mark.parametrize('names, words', [
    (('j1', 'j2'), "missing ['j3']"),
    (('j1', 'j2', 'wrist'), "unknown ['wrist']"),
    (('j1', 'j2', 'j2'), "repeated ['j2']"),
])
def test_wrong_joint_names_are_invalid_joints_naming_them(names, words):
    error = refused([([0.0] * len(names), 1.0)], names=names)
    assert error.outcome == Outcome.INVALID_JOINTS and words in str(error)


@pytest.mark.parametrize('points, velocities, words', [
    ([], None, 'empty'),
    ([([0.0, math.nan, 0.0], 1.0)], None, 'positions[1] is nan'),
    ([([0.0, 0.0, 0.0], 1.0)], [[0.0, math.inf, 0.0]], 'velocities[1] is inf'),
    ([([0.0, 0.0], 1.0)], None, 'has 2 values, expected 3'),
    ([([0.0, 0.0, 0.0], 1.0)], [[0.0]], 'velocities has 1 values'),
    ([([0.0] * 3, 1.0), ([0.1] * 3, 1.0)], None, 'must increase'),
    ([([0.0] * 3, 1.0), ([0.1] * 3, 0.5)], None, 'point 1 is at 0.500 s, point 0 at 1.000 s'),
    ([([0.0] * 3, -0.5), ([0.1] * 3, 1.0)], None, '>= 0'),
    ([([0.0] * 3, 0.0)], None, 'time_from_start > 0'),
    ([([0.0, 2.5, 0.0], 1.0)], None, "joint 'j2' at 2.5000 is outside its limits [-2.0000, 2.0000]"),
])
def test_bad_points_are_invalid_goals_saying_what_is_wrong(points, velocities, words):
    error = refused(points, velocities=velocities)
    assert error.outcome == Outcome.INVALID_GOAL and words in str(error), str(error)


def test_accelerations_may_be_left_out_but_must_be_finite_when_given():
    assert goal([([0.0] * 3, 1.0)], accelerations=[[]]).positions.shape == (1, 3)
    error = refused([([0.0] * 3, 1.0)], accelerations=[[0.0, 0.0, math.nan]])
    assert error.outcome == Outcome.INVALID_GOAL and 'accelerations[2] is nan' in str(error)


def test_a_point_at_a_joint_limit_is_fine():
    assert goal([(UPPER.tolist(), 1.0)]).positions[0].tolist() == UPPER.tolist()


def test_tolerances_zero_is_the_default_negative_unchecked_positive_the_value():
    checked = goal([([0.0] * 3, 1.0)],
                   path_tolerance=[RequestedTolerance('j2', position=0.1, velocity=0.5)],
                   goal_tolerance=[RequestedTolerance('j1', position=-1.0), RequestedTolerance('j3', position=0.01)])
    assert checked.path_tolerance.position.tolist() == [math.inf, 0.1, math.inf]  # default path 0: unchecked
    assert checked.path_tolerance.velocity.tolist() == [math.inf, 0.5, math.inf]
    assert checked.goal_tolerance.position.tolist() == [math.inf, 0.05, 0.01]
    assert checked.goal_time_tolerance_s == DEFAULTS.goal_time_s
    assert goal([([0.0] * 3, 1.0)], goal_time_tolerance_s=2.0).goal_time_tolerance_s == 2.0


def test_bad_tolerances_and_multi_dof_goals_are_refused():
    error = refused([([0.0] * 3, 1.0)], goal_tolerance=[RequestedTolerance('elbow', position=0.1)])
    assert error.outcome == Outcome.INVALID_JOINTS and 'elbow' in str(error)
    error = refused([([0.0] * 3, 1.0)], path_tolerance=[RequestedTolerance('j1', position=math.nan)])
    assert error.outcome == Outcome.INVALID_GOAL and 'not finite' in str(error)
    error = refused([([0.0] * 3, 1.0)], goal_time_tolerance_s=-1.0)
    assert error.outcome == Outcome.INVALID_GOAL and 'goal_time_tolerance' in str(error)
    error = refused([([0.0] * 3, 1.0)], multi_dof_joint_names=['base'])
    assert error.outcome == Outcome.INVALID_JOINTS and 'multi-DOF' in str(error)


def test_start_delay_from_the_header_stamp():
    assert start_delay_s(0.0, 100.0, 2.0) == 0.0  # zero stamp: now
    assert start_delay_s(100.5, 100.0, 2.0) == pytest.approx(0.5)
    assert start_delay_s(99.0, 100.0, 2.0) == pytest.approx(-1.0)  # started a second ago, still running
    with pytest.raises(GoalRefused) as info:
        start_delay_s(90.0, 100.0, 2.0)
    assert info.value.outcome == Outcome.OLD_HEADER_TIMESTAMP


def test_linear_interpolation_starts_from_where_the_arm_is_and_holds_at_the_ends():
    follower = TrajectoryFollower(goal([([0.2, 0.0, 0.0], 1.0), ([0.2, 0.4, 0.0], 2.0)]),
                                  q_start=np.zeros(3), start_s=10.0)
    q, qd = follower.desired(9.0)  # before the start: where the arm was
    assert np.allclose(q, 0.0)
    q, qd = follower.desired(10.5)
    assert np.allclose(q, [0.1, 0.0, 0.0]) and np.allclose(qd, [0.2, 0.0, 0.0])
    q, qd = follower.desired(11.75)
    assert np.allclose(q, [0.2, 0.3, 0.0]) and np.allclose(qd, [0.0, 0.4, 0.0])
    q, _ = follower.desired(50.0)
    assert np.allclose(q, [0.2, 0.4, 0.0])


def test_cubic_interpolation_passes_the_points_with_their_velocities():
    points = [([0.2, 0.1, 0.0], 1.0), ([0.5, 0.1, -0.2], 2.0)]
    velocities = [[0.3, 0.0, -0.1], [0.0, 0.0, 0.0]]
    follower = TrajectoryFollower(goal(points, velocities=velocities), q_start=np.zeros(3), start_s=0.0)
    for (q_point, t), qd_point in zip(points, velocities):
        q, qd = follower.desired(t)
        assert np.allclose(q, q_point) and np.allclose(qd, qd_point)
    q, qd = follower.desired(0.0)
    assert np.allclose(q, 0.0) and np.allclose(qd, 0.0)  # from rest where the arm is
    q_mid, _ = follower.desired(1.5)
    assert not np.allclose(q_mid, np.mean([p for p, _ in points], axis=0))  # not the straight line


def run_follower(follower, actual, times):
    """Feed ``actual(t, desired_q)`` at each time; the first verdict and its time, or (None, None)."""
    for t in times:
        desired, _ = follower.desired(t)
        verdict = follower.update(t, actual(t, desired), np.zeros(3))
        if verdict is not None:
            return verdict, t
    return None, None


def test_perfect_tracking_succeeds_at_the_end_and_samples_say_where_it_is():
    follower = TrajectoryFollower(goal([([0.2, 0.0, 0.0], 1.0), ([0.4, 0.0, 0.0], 2.0)]), np.zeros(3), 0.0)
    verdict, t = run_follower(follower, lambda t, desired: desired, np.arange(0.0, 4.0, 0.05))
    assert verdict.outcome == Outcome.SUCCESSFUL and t == pytest.approx(2.0)
    assert follower.last.index == 1 and np.allclose(follower.last.error_q, 0.0)
    follower.update(0.5, np.zeros(3), np.zeros(3))
    assert follower.last.index == 0 and np.allclose(follower.last.error_q, [0.1, 0.0, 0.0])


def test_lagging_arm_breaks_the_path_tolerance_naming_the_joint():
    checked = goal([([0.8, 0.0, 0.0], 2.0)], path_tolerance=[RequestedTolerance('j1', position=0.05)])
    follower = TrajectoryFollower(checked, np.zeros(3), 0.0)
    verdict, t = run_follower(follower, lambda t, desired: desired * 0.5, np.arange(0.0, 3.0, 0.05))
    assert verdict.outcome == Outcome.PATH_TOLERANCE_VIOLATED and "'j1'" in verdict.message
    assert 0.2 < t < 0.4  # 0.4 t / 2 > 0.05 from t = 0.25 s


def test_goal_time_tolerance_gives_a_late_arm_time_then_fails_it():
    checked = goal([([0.4, 0.0, 0.0], 1.0)], goal_time_tolerance_s=0.5)
    arrives_at = {'t': 1.3}
    late = lambda t, desired: desired if t >= arrives_at['t'] else desired * 0.5  # noqa: E731
    verdict, t = run_follower(TrajectoryFollower(checked, np.zeros(3), 0.0), late, np.arange(0.0, 3.0, 0.05))
    assert verdict.outcome == Outcome.SUCCESSFUL and t == pytest.approx(1.3)
    arrives_at['t'] = 1.7
    verdict, t = run_follower(TrajectoryFollower(checked, np.zeros(3), 0.0), late, np.arange(0.0, 3.0, 0.05))
    assert verdict.outcome == Outcome.GOAL_TOLERANCE_VIOLATED and t == pytest.approx(1.55)
    assert "'j1'" in verdict.message and 'goal tolerance 0.0500' in verdict.message


def test_goal_velocity_tolerance_waits_for_the_arm_to_stop():
    checked = goal([([0.4, 0.0, 0.0], 1.0)], goal_tolerance=[RequestedTolerance('j1', velocity=0.01)],
                   goal_time_tolerance_s=0.3)
    follower = TrajectoryFollower(checked, np.zeros(3), 0.0)
    assert follower.update(1.1, np.array([0.4, 0.0, 0.0]), np.array([0.2, 0.0, 0.0])) is None  # still moving
    assert follower.update(1.2, np.array([0.4, 0.0, 0.0]), np.zeros(3)).outcome == Outcome.SUCCESSFUL
    follower = TrajectoryFollower(checked, np.zeros(3), 0.0)
    verdict = follower.update(1.4, np.array([0.4, 0.0, 0.0]), np.array([0.2, 0.0, 0.0]))
    assert verdict.outcome == Outcome.GOAL_TOLERANCE_VIOLATED and 'velocity' in verdict.message
