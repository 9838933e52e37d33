"""Many learners at once on one real server: 20 sessions browsing while 5 of them train.

Sessions are headless websocket clients (``tests/session_client.py``), so the figures
are the server's, not those of 20 Chromium tabs sharing the same 2 cores. Every loop
is bounded in count and time, and all traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import statistics
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import REPORT, start_server
from tests.session_client import SessionClient

BROWSE_PAGES = ["", "tensors", "autograd", "models", "data", "optimizers", "checkpoints", "device"]
PROBE_PAGE = "tensors"
SESSIONS, TRAINERS = 20, 5
TRAIN_EPOCHS = 20_000


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


class HealthWatch(threading.Thread):
    """Polls /_stcore/health until stopped; records every answer and its latency."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.done = url, threading.Event()
        self.answers: list[tuple[str, float]] = []

    def run(self) -> None:
        for _ in range(2_000):  # bounded: at most ~10 minutes at 0.3 s
            if self.done.is_set():
                return
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=5) as resp:
                    body = resp.read().decode().strip()
            except OSError as exc:
                body = f"error: {exc}"
            self.answers.append((body, time.perf_counter() - start))
            self.done.wait(0.3)


def train(url: str, epochs: int) -> tuple[list[str], str]:
    """One learner: open Training, set the epochs, press Train; returns (exceptions, page text)."""
    client = SessionClient(url, timeout=240)
    try:
        client.run("training")
        client.set_number("Epochs", epochs)
        result = client.click("Train")
        return result.exceptions, result.texts()
    finally:
        client.close()


def browse(url: str) -> tuple[list[float], list[str]]:
    """One learner clicking through every other page; returns (run seconds, exceptions)."""
    client = SessionClient(url, timeout=120)
    seconds, errors = [], []
    try:
        for page in BROWSE_PAGES:
            result = client.run(page)
            seconds.append(result.seconds)
            errors += result.exceptions
    finally:
        client.close()
    return seconds, errors


@pytest.fixture(scope="module")
def load_server(tmp_path_factory):
    """A server of its own, so no other test's sessions are in the figures."""
    proc, url, _ = start_server(tmp_path_factory.mktemp("load"))
    warm = SessionClient(url)
    for page in BROWSE_PAGES + ["training"]:
        assert not warm.run(page).exceptions  # imports and first-run costs out of the way
    warm.close()
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def probe_times(url: str, count: int, until: threading.Event | None = None) -> list[float]:
    """Run times of the probe page in one session, ``count`` times (or until ``until`` is set)."""
    client = SessionClient(url)
    times = []
    try:
        for _ in range(count):
            if until is not None and until.is_set():
                break
            times.append(client.run(PROBE_PAGE).seconds)
            time.sleep(0.1)
    finally:
        client.close()
    return times


@pytest.mark.slow
def test_a_training_run_does_not_block_other_sessions(load_server) -> None:
    unloaded = statistics.median(probe_times(load_server, 7))
    finished = threading.Event()
    with ThreadPoolExecutor(TRAINERS + 1) as pool:
        trainings = [pool.submit(train, load_server, TRAIN_EPOCHS) for _ in range(TRAINERS)]
        time.sleep(1.0)  # all five are inside their loops
        probe = pool.submit(probe_times, load_server, 12, finished)
        loaded_times = probe.result(timeout=240)
        results = [t.result(timeout=240) for t in trainings]
        finished.set()
    for exceptions, text in results:
        assert not exceptions, exceptions
        assert f"Epoch [{TRAIN_EPOCHS}/{TRAIN_EPOCHS}]" in text  # each training really ran to the end
    loaded = statistics.median(loaded_times)
    REPORT.append(f"load: {PROBE_PAGE!r} page run {unloaded * 1000:.0f} ms unloaded, "
                  f"{loaded * 1000:.0f} ms (median of {len(loaded_times)}) while {TRAINERS} sessions train "
                  f"= {loaded / unloaded:.2f}x (limit 3x)")
    assert len(loaded_times) >= 5
    assert loaded <= 3 * unloaded, (unloaded, loaded_times)


@pytest.mark.slow
def test_twenty_sessions_browse_while_five_train(load_server) -> None:
    health = HealthWatch(load_server)
    health.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(SESSIONS) as pool:
        trainings = [pool.submit(train, load_server, TRAIN_EPOCHS) for _ in range(TRAINERS)]
        browsing = [pool.submit(browse, load_server) for _ in range(SESSIONS - TRAINERS)]
        browse_results = [b.result(timeout=300) for b in browsing]
        train_results = [t.result(timeout=300) for t in trainings]
    health.done.set()
    health.join(timeout=10)
    elapsed = time.perf_counter() - started

    run_times = [s for seconds, _ in browse_results for s in seconds]
    assert len(run_times) == (SESSIONS - TRAINERS) * len(BROWSE_PAGES)
    assert all(not errors for _, errors in browse_results), [e for _, e in browse_results if e]
    for exceptions, text in train_results:
        assert not exceptions, exceptions
        assert f"Epoch [{TRAIN_EPOCHS}/{TRAIN_EPOCHS}]" in text
    assert health.answers and all(body == "ok" for body, _ in health.answers), health.answers[:5]
    REPORT.append(f"load: {SESSIONS} sessions ({TRAINERS} training {TRAIN_EPOCHS:,} epochs each) in {elapsed:.1f} s; "
                  f"page run p50 {statistics.median(run_times) * 1000:.0f} ms, p95 {p95(run_times) * 1000:.0f} ms "
                  f"over {len(run_times)} runs; /_stcore/health ok {len(health.answers)}/{len(health.answers)}, "
                  f"slowest {max(t for _, t in health.answers) * 1000:.0f} ms")
