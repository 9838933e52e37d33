"""Shared fixtures: AppTest page opener, a real Streamlit server, and Chromium via Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable, Iterator

import pytest
import torch
from streamlit.testing.v1 import AppTest

from torchstart import session

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
APPTEST_TIMEOUT = 60.0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip GPU-marked tests where PyTorch sees no CUDA device."""
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU; torch.cuda.is_available() is False")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


# ---------------------------------------------------------------- AppTest

@pytest.fixture
def open_page() -> Callable[..., AppTest]:
    """Return ``open(page_script, device="cpu")`` -> an AppTest that has run the frame and then that page."""

    def _open(script: str | None = None, timeout: float = APPTEST_TIMEOUT, device: str = "cpu") -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
        # The sidebar would pick a GPU where there is one; tests compare page numbers with CPU
        # references, so they pick the CPU unless they ask for a device (the gpu-marked ones do).
        at.session_state[session.DEVICE] = device
        at.run()
        if script is not None:
            at.switch_page(script)
            at.run()
        return at

    return _open


# ---------------------------------------------------------------- real server

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"streamlit did not become healthy within {timeout:.0f}s")


def start_server(tmp_dir: Path) -> tuple[subprocess.Popen, str, Path]:
    """Start ``streamlit run app.py`` on a free loopback port; return (process, url, log path)."""
    port = _free_port()
    log_path = tmp_dir / f"streamlit-{port}.log"
    log = open(log_path, "w")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
    except Exception:
        proc.kill()
        raise RuntimeError(f"{log_path.read_text()[-3000:]}") from None
    return proc, url, log_path


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real Streamlit server for the whole test session."""
    proc, url, _ = start_server(tmp_path_factory.mktemp("server"))
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


# ---------------------------------------------------------------- browser

def chromium_executable() -> str | None:
    """A system Chromium if there is one; None lets Playwright use its own download."""
    explicit = os.environ.get("TORCHSTART_CHROMIUM")
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """A headless Chromium. Missing browser: a failure in CI, a skip elsewhere."""
    try:
        from playwright.sync_api import expect, sync_playwright

        # expect() polls 5 s by default: too short for a rerun on a loaded 2-core CI machine.
        expect.set_options(timeout=30_000)
        manager = sync_playwright().start()
        chromium = manager.chromium.launch(executable_path=chromium_executable(), headless=True,
                                           args=CHROMIUM_ARGS)
    except Exception as exc:  # noqa: BLE001 - any launch failure means "no browser"
        message = f"Chromium could not be started for browser tests: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    yield chromium
    chromium.close()
    manager.stop()


@pytest.fixture
def page(browser, server_url: str):
    """A fresh browser context and page (a new Streamlit session) for one test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(30_000)
    pg = context.new_page()
    pg.base_url = server_url  # type: ignore[attr-defined]
    yield pg
    context.close()


# ---------------------------------------------------------------- reported figures

# Lines that tests want shown after the run (e.g. the load test's p95 page run time).
REPORT: list[str] = []


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the figures tests reported, after pytest's own summary."""
    if REPORT:
        terminalreporter.section("torchstart figures")
        for line in REPORT:
            terminalreporter.write_line(line)
