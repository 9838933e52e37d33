"""The frame: every page is registered at its fixed path and runs without an exception."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from torchstart.catalog import ALL_PAGES, CONCEPT_PAGES, page_for_concept
from tests.browser import expect, main_text, open_app, rerun_after

ROOT = Path(__file__).resolve().parents[1]

EXPECTED_PATHS = {"", "tensors", "autograd", "models", "data", "training", "optimizers",
                  "checkpoints", "device"}
HOME_CONCEPTS = ["Tensors", "Autograd", "Gradients and backprop", "Dynamic computation graphs",
                 "nn.Module", "Optimizers", "Data loading", "Custom datasets", "CUDA and devices",
                 "Saving and loading", "A full training loop"]


def test_catalog_has_the_fixed_paths() -> None:
    assert {p.url_path for p in ALL_PAGES} == EXPECTED_PATHS
    assert len({p.script for p in ALL_PAGES}) == len(ALL_PAGES)


@pytest.mark.parametrize("concept", HOME_CONCEPTS)
def test_every_concept_has_a_page(concept: str) -> None:
    assert page_for_concept(concept) in CONCEPT_PAGES


@pytest.mark.parametrize("info", ALL_PAGES, ids=lambda p: p.url_path or "home")
def test_page_runs_in_apptest(open_page, info) -> None:
    at = open_page(info.script)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value  # every page says what it is


def test_home_lists_versions_and_concepts(open_page) -> None:
    import torch

    at = open_page()
    text = " ".join(m.value for m in at.markdown)
    for concept in HOME_CONCEPTS:
        assert concept in text
    table = at.dataframe[0].value
    values = dict(zip(table.iloc[:, 0], table.iloc[:, 1]))
    assert values["PyTorch"] == torch.__version__
    assert values["Streamlit"].startswith("1.")


def test_sidebar_device_picker_offers_cpu(open_page) -> None:
    at = open_page()
    picker = at.sidebar.selectbox[0]
    assert "cpu" in picker.options


@pytest.mark.browser
def test_health_endpoint(server_url: str) -> None:
    with urllib.request.urlopen(f"{server_url}/_stcore/health", timeout=5) as resp:
        assert resp.read().decode().strip() == "ok"


@pytest.mark.browser
@pytest.mark.parametrize("info", ALL_PAGES, ids=lambda p: p.url_path or "home")
def test_every_page_opens_in_chromium(page, info) -> None:
    open_app(page, info.url_path)
    assert info.title.split()[0] in main_text(page) or info is ALL_PAGES[0]
    if info.url_path:
        assert re.search(rf"/{info.url_path}$", page.url)
    assert not unnamed_buttons(page)


def unnamed_buttons(page) -> list[str]:
    """The page's buttons a screen reader names by nothing, or by an icon's name ("delete icon")."""
    snapshot = page.get_by_test_id("stMain").aria_snapshot()
    names = [m.group(1) or "" for m in re.finditer(r'- button(?: "([^"]*)")?', snapshot)]
    return [n for n in names if not n.strip() or re.fullmatch(r"[a-z0-9_]+ icon", n)]


@pytest.mark.browser
def test_buttons_that_remove_a_step_or_a_variable_say_which(page) -> None:
    open_app(page, "tensors")
    rerun_after(page, page.get_by_role("button", name="Add step").click)
    expect(page.get_by_role("button", name="Remove x1", exact=True)).to_be_visible()
    assert not unnamed_buttons(page)
    open_app(page, "autograd")
    page.get_by_role("button", name="Add a variable").click()
    page.get_by_label("Name").fill("v")
    rerun_after(page, page.get_by_role("button", name="Add", exact=True).click)
    expect(page.get_by_role("button", name="Remove v", exact=True)).to_be_visible()
    assert not unnamed_buttons(page)


@pytest.mark.browser
@pytest.mark.slow
def test_first_request_to_a_page_of_a_fresh_server_gets_the_frame(browser, tmp_path) -> None:
    """A fresh server's first visit to /models must run through app.py, not legacy pages/ mode."""
    from playwright.sync_api import expect

    from tests.conftest import start_server

    proc, url, _ = start_server(tmp_path)
    try:
        context = browser.new_context()
        page = context.new_page()
        page.base_url = url
        open_app(page, "models")
        expect(page.locator('[data-testid="stMain"] h1').first).to_contain_text("Models", timeout=60_000)
        sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
        assert "Compute device" in sidebar  # the frame's sidebar ran
        assert "models ui" not in sidebar.lower() and "_ui" not in sidebar  # no auto-discovered files
        assert page.url.endswith("/models")
        context.close()
    finally:
        proc.terminate()


def test_the_first_run_sets_torch_optim_up_after_drawing_the_page() -> None:
    """torch.optim's first construction imports torch._dynamo (~2 s): the frame pays it after the first page."""
    code = ("import sys\n"
            "import torch, torchstart.optimizers, torchstart.fair_share\n"
            "from streamlit.testing.v1 import AppTest\n"
            "before = 'torch._dynamo' in sys.modules\n"
            "at = AppTest.from_file('app.py', default_timeout=120)\n"
            "at.run()\n"
            "print(before, 'torch._dynamo' in sys.modules, len(at.exception), len(at.title))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "True", "0", "1"]  # not before; after, with the page drawn


def test_uploads_of_sessions_streamlit_dropped_are_swept(monkeypatch) -> None:
    """A session evicted from the reconnect store never runs shutdown(), which frees its uploads: we do."""
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
    from streamlit.runtime.uploaded_file_manager import UploadedFileRec
    from streamlit.runtime.websocket_session_manager import WebsocketSessionManager

    from pages import _upload_store

    store = MemoryUploadedFileManager("/upload")
    for session_id in ("live", "reconnectable", "dropped"):
        store.add_file(session_id, UploadedFileRec(f"{session_id}-file", "a.pth", "application/octet-stream",
                                                   b"x" * 1000))

    class Sessions:  # the two calls the sweep makes, as the real session manager has them
        def get_session_info(self, session_id: str):
            return None if session_id == "dropped" else object()

        def list_sessions(self):
            return [type("Info", (), {"session": type("S", (), {"id": sid})})() for sid in ("live", "reconnectable")]

    for api in ("get_session_info", "list_sessions"):  # the real APIs the sweep relies on
        assert hasattr(WebsocketSessionManager, api)
    fake = type("Runtime", (), {"uploaded_file_mgr": store, "_session_mgr": Sessions()})()
    monkeypatch.setattr(_upload_store.runtime, "exists", lambda: True)
    monkeypatch.setattr(_upload_store.runtime, "get_instance", lambda: fake)
    monkeypatch.setattr(_upload_store, "_last_sweep", [0.0])
    assert _upload_store.sweep_dropped_sessions(now=1_000.0) == ["dropped"]
    assert sorted(store.file_storage) == ["live", "reconnectable"]
    assert store.get_stats()["cache_memory_bytes"][0].byte_length == 2000
    store.add_file("dropped", UploadedFileRec("again", "a.pth", "application/octet-stream", b"x"))
    assert _upload_store.sweep_dropped_sessions(now=1_030.0) == []  # at most once a minute
    assert _upload_store.sweep_dropped_sessions(now=1_061.0) == ["dropped"]
