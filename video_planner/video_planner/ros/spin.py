"""How every node process runs and stops, in one order that we own.

rclpy's default SIGINT handler shuts the context down from its own signal thread while the executor's threads
may be inside a callback or building the next wait set. That race ends a node with an RCLError (exit code 1; 7
of 60 stops in benchmarks/bench_shutdown.py) or, inside the middleware, a segmentation fault (-11; seen in
CI). Here SIGINT and SIGTERM only ask the spin loop to stop. The main thread then lets the node end its work
in flight (``request_stop``, ``busy``), waits for the running callbacks, destroys the node and shuts rclpy
down, in that order. A second signal while that runs (a second Ctrl-C, or the SIGTERM that `launch` sends when
SIGINT did not end the process in time) exits at once, with 128 + the signal number.

Two more things in that order are ours, because rclpy's are wrong for a stop (issue 21):
- ``MultiThreadedExecutor.shutdown`` destroys its guard condition before it joins its threads, and a callback
  handler already handed to a thread triggers that guard condition when it starts or ends. On a busy machine
  handlers are still queued when the stop comes (a 30 Hz camera keeps them coming), so every stop printed
  "The following exception was never retrieved: cannot use Destroyable because destruction was requested".
  Here the spin loop stops first, then the handlers already handed out are finished and their results read
  (``_finish_handlers``), and only then is the executor shut down.
- Interpreter finalisation (tearing down torch, transformers, the middleware's participants) took 4-5 s on a
  loaded 2-core machine after the node had long stopped, so `launch` escalated to SIGTERM at its 5 s limit.
  Once the node is destroyed and rclpy shut down nothing of ours is left to close: the process exits there
  (``exit_process``), after flushing its output.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from typing import Callable, Optional

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from video_planner.errors import VideoPlannerError

# How often the spin loop looks at the stop request; also the longest a stop waits to be noticed.
STOP_POLL_S = 0.1
# How long a stopping node may take to end its work in flight, and then to send the answers it produced.
DRAIN_S = 5.0
FLUSH_S = 0.3
# After work in flight was ended, longer: its answer (an action result) must reach the client before the
# process exits, and on a loaded machine 0.3 s sometimes did not suffice (CI lost one FollowJointTrajectory
# result).
FLUSH_AFTER_WORK_S = 1.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_node(make_node: Callable[[], Node], args=None, threads: int = 4,
             until: Optional[Callable[[Node], bool]] = None, exit_process: bool = True) -> int:
    """Build the node, spin it until SIGINT / SIGTERM (or ``until(node)``), stop cleanly; the exit code.

    A ``VideoPlannerError`` while building the node is a configuration problem: one clear line and
    exit code 2, not a traceback. With ``exit_process`` (a node's ``main``) the process ends here with that
    code once everything is closed, without the seconds of interpreter finalisation; pass False to get the
    code back and carry on in the same process.
    """
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    stop = threading.Event()

    def on_signal(signum, _frame) -> None:
        if stop.is_set():
            os._exit(128 + signum)  # asked twice: a callback may hang the clean path; skip it
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    node: Optional[Node] = None
    executor = None
    code = 0
    try:
        node = make_node()
        executor = MultiThreadedExecutor(num_threads=threads) if threads > 1 else SingleThreadedExecutor()
        executor.add_node(node)
        while not stop.is_set() and rclpy.ok() and not (until is not None and until(node)):
            executor.spin_once(timeout_sec=STOP_POLL_S)
    except ExternalShutdownException:
        pass
    except VideoPlannerError as exc:
        print(f'[{getattr(make_node, "__name__", "node")}] start-up failed: {exc}', flush=True)
        code = 2
    finally:
        if node is not None and executor is not None:
            _drain(executor, node)
        if executor is not None:
            _finish_handlers(executor, node)
            executor.shutdown()
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if exit_process:
        _exit(code)
    return code


def _finish_handlers(executor, node: Optional[Node]) -> None:
    """Wait for the callback handlers the executor already gave its threads, and read their results.

    The spin loop has stopped, so no new handler is handed out; the ones in flight end within one
    callback. Reading each result is what rclpy's spin_once would have done next: an exception raised in
    a callback is logged here instead of printed as "never retrieved" when the task is garbage collected.
    """
    for task in list(getattr(executor, '_futures', ())):  # MultiThreadedExecutor's handlers in flight
        while not task.done():
            time.sleep(0.01)  # a callback that never returns holds the stop here; a second signal ends it
        exc = task.exception()
        if exc is not None and node is not None:
            node.get_logger().warning(f'a callback ended with {type(exc).__name__}: {exc}')
    if hasattr(executor, '_futures'):
        executor._futures.clear()


def _exit(code: int) -> None:
    """End the process now: flush what it printed and logged, and skip interpreter finalisation."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken pipe: nothing more can be said on it
            pass
    os._exit(code)


def _drain(executor, node: Node) -> None:
    """Let a node that has ``request_stop`` end its work in flight while the executor still runs.

    The answer to that work (an action result) is sent from an executor task, so the executor keeps
    spinning until the node is no longer ``busy`` and a moment more."""
    request_stop = getattr(node, 'request_stop', None)
    if request_stop is None or not rclpy.ok():
        return
    had_work = bool(getattr(node, 'busy', False))
    request_stop()
    deadline = time.monotonic() + DRAIN_S
    while getattr(node, 'busy', False) and time.monotonic() < deadline and rclpy.ok():
        executor.spin_once(timeout_sec=0.05)
    flushed = time.monotonic() + (FLUSH_AFTER_WORK_S if had_work else FLUSH_S)
    while time.monotonic() < flushed and rclpy.ok():
        executor.spin_once(timeout_sec=0.02)
