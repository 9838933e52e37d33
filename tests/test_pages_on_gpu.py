"""Every page with a CUDA GPU picked in the sidebar: it runs clean and computes there (skipped without CUDA).

The other AppTest tests pick the CPU (see ``open_page``), so on a GPU machine these are what
exercise the pages' CUDA paths end to end; `bash .ci/gpu-check` runs them.
"""

from __future__ import annotations

import re

import pytest
import torch

from tests.conftest import start_server
from tests.session_client import SessionClient
from tests.test_training_core import plain_classic
from tests.test_training_page import errors, set_epochs, texts
from torchstart import matmul_bench as mb
from torchstart import session
from torchstart.catalog import ALL_PAGES

pytestmark = pytest.mark.gpu
GPU = "cuda:0"


@pytest.mark.parametrize("info", ALL_PAGES, ids=lambda p: p.url_path or "home")
def test_page_runs_with_the_gpu_picked(open_page, info) -> None:
    at = open_page(info.script, device=GPU)
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state[session.DEVICE] == GPU


def test_tensors_page_builds_and_transforms_on_the_gpu(open_page) -> None:
    at = open_page("pages/tensors.py", device=GPU)
    assert at.session_state["tensors.spec"].device == GPU
    assert f"device='{GPU}'" in at.code[0].value
    at.selectbox(key="tensors.op").set_value("numpy").run()
    at.button(key="tensors.add").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = "\n".join(m.value for kind in ("markdown", "caption") for m in at.get(kind))
    assert "cuda" in shown


def test_models_page_runs_its_forward_pass_on_the_gpu(open_page) -> None:
    at = open_page("pages/models.py", device=GPU)
    assert not at.exception
    assert any(f"on `{GPU}`" in m.value for m in at.get("caption") + at.get("markdown"))


def test_training_on_the_gpu_matches_the_cpu_and_its_script(open_page, tmp_path, monkeypatch, capsys) -> None:
    at = set_epochs(open_page("pages/training.py", device=GPU), 30)
    assert f"Device: **{GPU}**" in texts(at)
    at.button(key="training_train").click().run()
    assert not at.exception and not errors(at)
    run = at.session_state["training_run"]
    assert run.status == "done" and run.device == torch.device(GPU)
    _, cpu_losses, _ = plain_classic(30)
    assert run.train_losses == pytest.approx(cpu_losses, rel=1e-4, abs=1e-6)
    assert next(run.model.parameters()).device.type == "cuda"  # trained there
    # The hand-off to Checkpoints is a CPU copy: saved files and predictions need no GPU.
    assert next(at.session_state[session.TRAINED].model.parameters()).device.type == "cpu"
    script = at.code[-1].value
    assert 'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")' in script
    monkeypatch.chdir(tmp_path)
    exec(compile(script, "shown.py", "exec"), {"__name__": "__main__"})  # our generated code, not user text
    final = float(re.search(r"Final training loss: (\S+)", capsys.readouterr().out).group(1))
    assert final == pytest.approx(run.final_loss, rel=1e-5, abs=1e-6)


def test_a_real_server_gives_a_new_session_the_gpu_and_benchmarks_it(tmp_path) -> None:
    """``streamlit run`` itself, spoken to over its websocket: the sidebar's first pick, the live error, a run."""
    proc, url, _ = start_server(tmp_path)
    client = SessionClient(url, timeout=180)
    try:
        page = client.run("device")
        assert not page.exceptions, page.exceptions
        assert "Raised **live** just now" in page.texts()  # the session was given cuda:0 without asking
        done = client.click("Run benchmark")  # the page's defaults: n = 64 … 1024, every device and dtype
        assert not done.exceptions, done.exceptions
        cases = mb.plan_cases([64, 128, 256, 512, 1024], ["cpu", GPU], list(mb.DTYPES))
        assert f"Timed {len(cases)} cases" in done.texts()
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=10)
