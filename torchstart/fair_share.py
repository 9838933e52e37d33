"""Cooperative sharing of the server between sessions: long loops give way to page runs.

Every browser session's script runs as a thread of one Python process, so a
training loop on small tensors holds the GIL most of the time. Five of them
would leave another learner's page run one sixth of the interpreter. The frame
counts the page runs in progress; long loops (training, benchmarks) mark
themselves as background work and, between steps, sleep while any page run is
in progress. The check is one integer read, cheap enough to do every epoch.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_interactive_runs = 0


def interactive_runs() -> int:
    """How many page runs (not background loops) are in progress in this process."""
    return _interactive_runs


def _add(delta: int) -> None:
    global _interactive_runs
    with _lock:
        _interactive_runs += delta


@contextmanager
def interactive_run() -> Iterator[None]:
    """Wrap a page's script run: while inside, background loops give way."""
    _add(1)
    try:
        yield
    finally:
        _add(-1)


@contextmanager
def background_work() -> Iterator[None]:
    """Mark the current page run as a long background loop that should not count as interactive."""
    _add(-1)
    try:
        yield
    finally:
        _add(1)


def give_way(max_wait: float = 0.5, poll: float = 0.002) -> None:
    """Sleep while another session's page run is in progress (at most ``max_wait`` seconds)."""
    if _interactive_runs <= 0:
        return
    deadline = time.perf_counter() + max_wait
    while _interactive_runs > 0 and time.perf_counter() < deadline:
        time.sleep(poll)
