"""Cooperative sharing of the server between sessions: page runs and long loops take turns.

Every browser session's script runs as a thread of one Python process, and so
does the server's event loop, which sends every page to its browser and answers
``/_stcore/health``. They all share one interpreter lock (GIL), and torch
releases it around every operation, however small. With twenty threads ready to
run, each tiny op hands the lock to another thread and waits up to a switch
interval (5 ms) to get it back: a 100 ms optimizer race took 20 s with fifteen
others racing beside it. So Python work is admitted in turns:

- At most ``MAX_CONCURRENT_RUNS`` page runs execute at once; the others wait
  their turn, first come first served, blocked without touching the GIL.
- Long loops (training, benchmarks, optimizer races) mark themselves as
  background work: they give up their page run's turn and share one *loop turn*
  among themselves, handing it on every ``LOOP_SLICE_S`` when another loop
  waits. Between steps they also give way to page runs in progress, but never
  wait more than ``YIELD_RATIO`` times as long as they computed, so a loop
  still moves under endless page runs.

The checks on a loop's hot path are a few attribute reads, cheap enough for every epoch.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import Iterator

# Two: one run's torch kernels (which release the GIL) can overlap another run's Python.
MAX_CONCURRENT_RUNS = 2
# A loop holding the loop turn hands it to a waiting loop after computing this long.
LOOP_SLICE_S = 0.05
# A loop waits for page runs at most this many times the time it computed since it last waited.
YIELD_RATIO = 1.0


class FifoTurns:
    """``count`` turns, handed out first come, first served: a released turn goes straight to the longest waiter."""

    def __init__(self, count: int) -> None:
        self._lock = threading.Lock()
        self._free = count
        self._queue: deque[threading.Lock] = deque()

    def acquire(self) -> None:
        """Take a turn, blocking (off the GIL) until one is handed over."""
        with self._lock:
            if self._free and not self._queue:
                self._free -= 1
                return
            waiter = threading.Lock()
            waiter.acquire()
            self._queue.append(waiter)
        waiter.acquire()  # released by release(): the turn passes directly, nobody can barge in

    def release(self) -> None:
        """Give the turn to the longest waiter, or back to the pool."""
        with self._lock:
            if self._queue:
                self._queue.popleft().release()
            else:
                self._free += 1

    def waiting(self) -> bool:
        """Whether anyone waits for a turn."""
        return bool(self._queue)


_lock = threading.Lock()
_no_runs = threading.Condition(_lock)  # notified when the last page run ends
_interactive_runs = 0  # page runs waiting for a turn or executing
_page_turns = FifoTurns(MAX_CONCURRENT_RUNS)
_loop_turn = FifoTurns(1)
# Per thread: has_turn (a page run's), in_loop / has_loop_turn / slice_start (a background loop's),
# mark and credit (how long the loop may still wait for page runs).
_local = threading.local()


def interactive_runs() -> int:
    """How many page runs (not background loops) are waiting or in progress in this process."""
    return _interactive_runs


def _add(delta: int) -> None:
    global _interactive_runs
    with _lock:
        _interactive_runs += delta
        if _interactive_runs <= 0:
            _no_runs.notify_all()


def _give_page_turn() -> bool:
    """Hand this thread's page-run turn to a waiting run; True if it had one."""
    if not getattr(_local, "has_turn", False):
        return False
    _local.has_turn = False
    _page_turns.release()
    return True


def _take_page_turn() -> None:
    """Block until fewer than ``MAX_CONCURRENT_RUNS`` page runs execute."""
    _page_turns.acquire()
    _local.has_turn = True


@contextmanager
def interactive_run() -> Iterator[None]:
    """Wrap a page's script run: it waits for a turn, and background loops give way while it waits or runs."""
    _add(1)
    try:
        _take_page_turn()
        try:
            yield
        finally:
            _give_page_turn()
    finally:
        _add(-1)


@contextmanager
def background_work() -> Iterator[None]:
    """Mark the current page run as a long loop: it frees its turn; its ``give_way`` calls share the loop turn."""
    had_turn = _give_page_turn()
    _add(-1)
    # A new loop: it takes the loop turn at its first give_way (a wait that never calls it takes none).
    _local.in_loop, _local.mark, _local.credit = True, None, 0.0
    try:
        yield
    finally:
        _local.in_loop = False
        if getattr(_local, "has_loop_turn", False):
            _local.has_loop_turn = False
            _loop_turn.release()
        _add(1)
        if had_turn:
            _take_page_turn()  # the rest of the page run (drawing the results) queues like any other


def _share_loop_turn() -> bool:
    """Inside background work: hold the loop turn, handing it on after a slice when another loop waits.

    Returns True when this call (re)took the turn, so possibly waited for it.
    """
    if not getattr(_local, "has_loop_turn", False):
        _loop_turn.acquire()
        _local.has_loop_turn, _local.slice_start = True, time.perf_counter()
        return True
    if _loop_turn.waiting() and time.perf_counter() - _local.slice_start >= LOOP_SLICE_S:
        _loop_turn.release()
        _loop_turn.acquire()
        _local.slice_start = time.perf_counter()
        return True
    return False


def give_way(max_wait: float = 0.5) -> None:
    """Between two steps of a long loop: take turns with other loops, and let page runs in progress go first.

    The wait for page runs lasts at most ``YIELD_RATIO`` × what this loop computed since it last waited
    (and ``max_wait``). Outside ``background_work`` (a test, a script) there are no loop turns to share.
    """
    if getattr(_local, "in_loop", False) and _share_loop_turn() and getattr(_local, "mark", None) is not None:
        _local.mark = time.perf_counter()  # time queued for the loop turn is not time computed
    if _interactive_runs <= 0:
        return
    now = time.perf_counter()
    mark = getattr(_local, "mark", None)
    earned = YIELD_RATIO * (now - mark) if mark is not None else 0.0  # a loop's first call: nothing yet
    credit = min(getattr(_local, "credit", 0.0) + earned, max_wait)
    if credit > 0:
        with _no_runs:
            _no_runs.wait_for(lambda: _interactive_runs <= 0, timeout=credit)
    after = time.perf_counter()
    _local.credit = max(0.0, credit - (after - now))
    _local.mark = after
