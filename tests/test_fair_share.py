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


def _busy(seconds: float) -> None:
    """Compute (not sleep) for ``seconds``, as a training loop does between two give_way calls."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _wait_in_loop(page_run_s: float, computed_s: float) -> float:
    """Seconds a loop that computed ``computed_s`` waits in give_way for a page run of ``page_run_s``."""
    started = threading.Event()

    def page_run() -> None:
        with fair_share.interactive_run():
            started.set()
            time.sleep(page_run_s)

    thread = threading.Thread(target=page_run)
    with fair_share.interactive_run(), fair_share.background_work():  # as the Training page runs its loop
        thread.start()
        started.wait()
        t0 = time.perf_counter()
        fair_share.give_way()  # the loop's first step: nothing computed yet, so no wait
        first = time.perf_counter() - t0
        _busy(computed_s)
        t0 = time.perf_counter()
        fair_share.give_way(max_wait=2.0)
        waited = time.perf_counter() - t0
    thread.join()
    assert first < 0.05
    return waited


def test_give_way_waits_for_a_page_run_in_another_thread() -> None:
    # The loop computed 0.3 s, so it may wait that long: enough for the page run's last ~0.2 s.
    computed = 0.3 / fair_share.YIELD_RATIO
    assert 0.1 < _wait_in_loop(page_run_s=computed + 0.2, computed_s=computed) < 0.3


def test_give_way_waits_at_most_yield_ratio_times_what_the_loop_computed() -> None:
    # 0.05 s of waiting earned: the loop goes on long before the 1 s page run ends.
    waited = _wait_in_loop(page_run_s=1.0, computed_s=0.05 / fair_share.YIELD_RATIO)
    assert 0.03 < waited < 0.2


def test_loops_take_turns_one_at_a_time() -> None:
    order: list[str] = []
    now = peak = 0
    count_lock = threading.Lock()

    def loop(name: str) -> None:
        nonlocal now, peak
        with fair_share.interactive_run(), fair_share.background_work():
            for _ in range(40):
                fair_share.give_way()
                with count_lock:
                    now += 1
                    peak = max(peak, now)
                order.append(name)
                _busy(0.005)
                with count_lock:
                    now -= 1

    loops = [threading.Thread(target=loop, args=(name,)) for name in "ab"]
    for t in loops:
        t.start()
    for t in loops:
        t.join(timeout=10)
    assert peak == 1  # never two loops computing at once
    switches = sum(x != y for x, y in zip(order, order[1:]))
    assert switches >= 3  # the turn was handed back and forth in slices, not held to the end
    assert order.count("a") == order.count("b") == 40


def test_give_way_is_free_when_nothing_runs() -> None:
    t0 = time.perf_counter()
    for _ in range(10_000):
        fair_share.give_way()
    assert time.perf_counter() - t0 < 0.5


def _max_concurrent_runs(threads: int, hold_s: float = 0.05) -> int:
    """Start ``threads`` page runs at once; return how many ever executed together."""
    now = peak = 0
    count_lock = threading.Lock()

    def page_run() -> None:
        nonlocal now, peak
        with fair_share.interactive_run():
            with count_lock:
                now += 1
                peak = max(peak, now)
            time.sleep(hold_s)
            with count_lock:
                now -= 1

    workers = [threading.Thread(target=page_run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=10)
    assert not any(w.is_alive() for w in workers)
    return peak


def test_page_runs_take_turns() -> None:
    assert _max_concurrent_runs(8) == fair_share.MAX_CONCURRENT_RUNS
    assert fair_share.interactive_runs() == 0


def test_background_work_frees_its_turn_for_other_runs() -> None:
    inside, release = threading.Barrier(fair_share.MAX_CONCURRENT_RUNS + 1), threading.Event()

    def long_loop() -> None:
        with fair_share.interactive_run(), fair_share.background_work():
            inside.wait()
            release.wait(5)

    loops = [threading.Thread(target=long_loop) for _ in range(fair_share.MAX_CONCURRENT_RUNS)]
    for loop in loops:
        loop.start()
    inside.wait()  # every turn was taken, then handed back by background_work
    t0 = time.perf_counter()
    with fair_share.interactive_run():
        waited = time.perf_counter() - t0
    release.set()
    for loop in loops:
        loop.join()
    assert waited < 0.5
    assert fair_share.interactive_runs() == 0


def test_background_work_outside_a_page_run_adds_no_turns() -> None:
    with fair_share.background_work():
        pass
    assert _max_concurrent_runs(6) == fair_share.MAX_CONCURRENT_RUNS


def test_time_queued_for_the_loop_turn_earns_no_waiting() -> None:
    page_started, page_done = threading.Event(), threading.Event()
    l_has_turn, m_has_turn = threading.Event(), threading.Event()
    l_step: list[float] = []

    def page_run() -> None:
        with fair_share.interactive_run():
            page_started.set()
            page_done.wait(5)

    def loop_l() -> None:
        with fair_share.interactive_run(), fair_share.background_work():
            fair_share.give_way()
            l_has_turn.set()
            m_has_turn.wait(0.2)  # M queues for the turn meanwhile (it cannot have it yet)
            _busy(fair_share.LOOP_SLICE_S + 0.01)
            t0 = time.perf_counter()
            fair_share.give_way()  # hands the turn to M, queues for it while M computes 0.4 s
            l_step.append(time.perf_counter() - t0)

    def loop_m() -> None:
        with fair_share.interactive_run(), fair_share.background_work():
            l_has_turn.wait(5)
            fair_share.give_way()  # queued until L's slice ends
            m_has_turn.set()
            _busy(0.4)
            fair_share.give_way()  # hands the turn back to L

    page = threading.Thread(target=page_run)
    page.start()
    page_started.wait()
    threads = [threading.Thread(target=loop_l), threading.Thread(target=loop_m)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    page_done.set()
    page.join()
    # ~0.4 s queued behind M; had the queueing counted as computing, L would then wait ~0.4 s more.
    assert 0.3 < l_step[0] < 0.6
