"""Background loops give way to interactive page runs in other threads."""

from __future__ import annotations

import threading
import time

from torchstart import fair_share


def test_counts_nest_and_background_does_not_count() -> None:
    assert fair_share.interactive_runs() == 0
    with fair_share.interactive_run():
        assert fair_share.interactive_runs() == 1
        with fair_share.background_work():
            assert fair_share.interactive_runs() == 0
        assert fair_share.interactive_runs() == 1
    assert fair_share.interactive_runs() == 0


def test_give_way_waits_for_a_page_run_in_another_thread() -> None:
    started = threading.Event()

    def page_run() -> None:
        with fair_share.interactive_run():
            started.set()
            time.sleep(0.15)

    thread = threading.Thread(target=page_run)
    thread.start()
    started.wait()
    t0 = time.perf_counter()
    fair_share.give_way(max_wait=2.0)
    waited = time.perf_counter() - t0
    thread.join()
    assert 0.05 < waited < 1.0


def test_give_way_is_free_when_nothing_runs() -> None:
    t0 = time.perf_counter()
    for _ in range(10_000):
        fair_share.give_way()
    assert time.perf_counter() - t0 < 0.5
