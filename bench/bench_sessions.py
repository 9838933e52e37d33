"""Server memory per session: idle learners, and learners training, on one real server.

    .venv/bin/python bench/bench_sessions.py [--idle 100] [--training 5] [--epochs 20000]

Starts ``streamlit run app.py`` on a loopback port, warms it (every page once, so
imports are paid), then opens headless sessions that speak Streamlit's websocket
protocol (``tests/session_client.py``) and reads the server's resident memory (RSS)
with psutil. "Idle" sessions have opened Home and the Tensors page; "training"
sessions press Train on the Training page (the classic run, for --epochs epochs).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.simplefilter("ignore", DeprecationWarning)

from tests.conftest import start_server  # noqa: E402
from tests.session_client import SessionClient  # noqa: E402

PAGES = ["", "tensors", "autograd", "models", "data", "training", "optimizers", "checkpoints", "device"]
MB = 1024 * 1024


def rss(process: psutil.Process) -> int:
    """Resident memory of the server process and any children, in bytes."""
    return process.memory_info().rss + sum(c.memory_info().rss for c in process.children(recursive=True))


def settle(process: psutil.Process, seconds: float = 2.0) -> int:
    """RSS after letting the server finish pending work."""
    time.sleep(seconds)
    return rss(process)


def train(url: str, epochs: int) -> SessionClient:
    """Open Training, set the epochs, press Train; returns the still-open session."""
    client = SessionClient(url, timeout=300)
    client.run("training")
    client.set_number("Epochs", epochs)
    result = client.click("Train")
    if result.exceptions:
        raise RuntimeError(result.exceptions)
    return client


def main() -> None:
    """Measure and print the per-session figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle", type=int, default=100, help="many, so the per-session figure rises above RSS noise")
    parser.add_argument("--training", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=20_000)
    args = parser.parse_args()

    proc, url, _ = start_server(Path(tempfile.mkdtemp()))
    server = psutil.Process(proc.pid)
    try:
        warm = SessionClient(url)
        for page in PAGES:
            warm.run(page)
        warm.close()
        base = settle(server)

        idle = []
        for _ in range(args.idle):
            client = SessionClient(url)
            client.run("")
            client.run("tensors")
            idle.append(client)
        with_idle = settle(server)
        per_idle = (with_idle - base) / args.idle

        peak = [with_idle]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], rss(server))
                stop.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        with ThreadPoolExecutor(args.training) as pool:
            trainers = list(pool.map(lambda _: train(url, args.epochs), range(args.training)))
        elapsed = time.perf_counter() - started
        stop.set()
        sampler.join()
        after = settle(server)

        print(f"server RSS after warm-up (all pages once): {base / MB:,.0f} MB")
        print(f"idle sessions: {args.idle} -> +{(with_idle - base) / MB:,.1f} MB = "
              f"{per_idle / MB:.2f} MB per idle session")
        print(f"training sessions: {args.training} x {args.epochs:,} classic epochs in {elapsed:.1f} s -> "
              f"peak +{(peak[0] - with_idle) / MB:,.1f} MB = {(peak[0] - with_idle) / args.training / MB:.2f} MB "
              f"per training session while training, {(after - with_idle) / args.training / MB:.2f} MB kept "
              f"per session after (model, history, figures in its session state)")
        for client in idle + trainers:
            client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()
