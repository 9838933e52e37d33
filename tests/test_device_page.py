"""Device page in AppTest and in Chromium: runs CPU-only, runs a small benchmark, can be stopped."""

from __future__ import annotations

import json
import re

import pytest
import torch

from torchstart import matmul_bench as mb
from tests.browser import expect, main_text, open_app, rerun_after, rerun_until, streamlit_stop, wait_for_run
from tests.plotly_json import plotly_array

PAGE = "pages/device.py"


def small_benchmark(at, high: int = 128, devices: tuple[str, ...] = ("cpu",)):
    """Choose sizes 64..high on ``devices`` (the CPU alone unless asked, GPU machine or not), 1 warm-up and
    2 timed runs, and press Run."""
    at.multiselect(key="device_devices").set_value(list(devices))
    at.select_slider(key="device_sizes").set_range(64, high)
    at.number_input(key="device_warmup").set_value(1)
    at.number_input(key="device_repeats").set_value(2)
    at.run()
    return at.button(key="device_run").click().run()


def test_page_runs_cpu_only_and_reports_this_torch(open_page) -> None:
    at = open_page(PAGE)
    assert not at.exception, [e.value for e in at.exception]
    report = at.dataframe[0].value
    values = dict(zip(report.iloc[:, 2], report.iloc[:, 1]))
    assert values["torch.__version__"] == torch.__version__
    assert values["torch.get_num_threads()"] == str(torch.get_num_threads())
    text = " ".join(m.value for m in at.markdown)
    assert "Expected all tensors to be on the same device" in " ".join(c.value for c in at.code)
    if not torch.cuda.is_available():
        assert any(i.value.startswith("**No CUDA GPU here.**") for i in at.info)
        assert any("not** measured here" in w.value for w in at.warning)
        assert "This is the text you would see" in text and "recent PyTorch 2.x releases" in text
        assert any("Older 2.x releases word it" in c.value and "found at least two devices" in c.value
                   for c in at.caption)
    labels = [e.label for e in at.expander]
    assert {"Show code: the report", "Show code: the moves", "Show code: this benchmark"} <= set(labels)


def test_small_benchmark_runs_and_survives_a_rerun(open_page) -> None:
    at = small_benchmark(open_page(PAGE))
    assert not at.exception, [e.value for e in at.exception]
    assert at.success and "Timed" in at.success[0].value
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    (trace,) = [t for t in spec["data"] if t["name"] == "cpu · float32"]
    table = at.dataframe[-1].value
    assert table["size"].tolist() == [64, 128]
    assert (table["median (ms)"] > 0).all() and (table["GFLOP/s"] > 0).all()
    assert table["GFLOP/s"].tolist() == pytest.approx(
        [2 * n ** 3 / (ms / 1e3) / 1e9 for n, ms in zip(table["size"], table["median (ms)"])])
    assert trace["name"] == "cpu · float32"
    at.run()  # a plain rerun keeps the last results from session state
    assert at.dataframe[-1].value["size"].tolist() == [64, 128]
    assert "Timed" in at.success[0].value


def test_gpu_speedup_chart_explains_small_sizes_measure_latency(open_page) -> None:
    at = open_page(PAGE)
    # A finished run as a GPU machine stores it: at n=64 launch + sync latency makes the GPU lose.
    cases = mb.plan_cases([64], ["cpu"], ["float32"]) + [mb.BenchCase("cuda:0", "float32", 64)]
    measured = [mb.Measurement("cpu", "float32", 64, (1.0e-5, 1.2e-5)),
                mb.Measurement("cuda:0", "float32", 64, (3e-5, 4e-5))]
    result = mb.BenchResult(cases, warmup=1, repeats=2, measurements=measured, finished=True, elapsed_s=0.1)
    at.session_state["device_bench_result"] = result
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("plotly_chart")) == 2  # GFLOP/s and the speed-up chart
    table = at.dataframe[-1].value
    gpu = table[table["device"] == "cuda:0"]
    assert gpu["× CPU"].tolist() == pytest.approx([11e-6 / 35e-6])  # the GPU shown slower than the CPU
    assert any(c.value == mb.SMALL_SIZE_NOTE for c in at.caption)
    assert "latency, not the GPU's throughput" in mb.SMALL_SIZE_NOTE


def test_a_disturbed_case_gets_a_warning_that_says_why(open_page) -> None:
    at = open_page(PAGE)
    measured = [mb.Measurement("cpu", "float32", 64, (6.7e-3, 5.1e-3, 8.0e-3)),
                mb.Measurement("cpu", "float32", 1024, (6.4e-3, 6.5e-3, 6.2e-3))]
    result = mb.BenchResult(mb.plan_cases([64, 1024], ["cpu"], ["float32"]), warmup=1, repeats=3,
                            measurements=measured, finished=True, elapsed_s=0.1)
    at.session_state["device_bench_result"] = result
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    (warning,) = [w.value for w in at.warning if "own device's pace" in w.value]
    # The page also paces cases by its probe's rate, which depends on this machine's CPU.
    slow = mb.disturbed(measured, at.session_state["device_bench_rates"])
    assert warning == mb.disturbed_note(slow, warmup=1) and "n=64: median 6.700 ms" in warning
    assert at.dataframe[-1].value["size"].tolist() == [64, 1024]  # the figures stay, flagged, not hidden
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    (ring,) = [t for t in spec["data"] if t["name"].startswith("slowed by other work")]
    assert plotly_array(ring["x"]).tolist() == [64]  # the chart circles the case the warning names


def test_run_past_the_time_cap_stops_itself(open_page, monkeypatch) -> None:
    monkeypatch.setattr(mb, "MAX_RUN_SECONDS", 0.0)  # any run is over the cap at its first check
    at = small_benchmark(open_page(PAGE))
    assert not at.exception
    assert any("Stopped at the 0 s limit after 0 of 2 cases" in w.value for w in at.warning)
    assert not at.get("plotly_chart")


def test_nothing_to_time_is_an_error_not_a_crash(open_page) -> None:
    at = open_page(PAGE)
    at.multiselect(key="device_devices").set_value([]).run()
    assert not at.exception
    assert "Nothing to time" in at.error[0].value
    assert at.button(key="device_run").disabled


def test_estimate_is_redrawn_from_the_run_just_measured(open_page) -> None:
    at = open_page(PAGE)
    at.session_state["device_bench_rates"] = {"cpu": 0.01}  # a probe slowed down by a busy machine
    at = small_benchmark(at, high=512)
    assert not at.exception, [e.value for e in at.exception]
    (note,) = [n.value for n in [*at.caption, *at.warning] if "roughly" in n.value]
    seconds = float(re.search(r"roughly ([\d.]+) s", note).group(1))
    rate = at.session_state["device_bench_rates"]["cpu"]
    assert rate == pytest.approx(at.dataframe[-1].value.set_index("size").loc[512, "GFLOP/s"])
    expected = (1 + 2) * sum(2 * n ** 3 for n in (64, 128, 256, 512)) / (rate * 1e9)
    assert seconds == pytest.approx(expected, abs=0.051)  # not the ~80 s the slow probe predicted
    assert "4 cases" in note and "Timed 4 cases" in at.success[0].value
    assert "roughly 0.0 s" not in note  # under a second, two significant digits


def test_big_cpu_run_warns_with_an_estimate(open_page) -> None:
    at = open_page(PAGE)
    at.multiselect(key="device_devices").set_value(["cpu"])
    at.select_slider(key="device_sizes").set_range(64, 4096)
    at.number_input(key="device_repeats").set_value(15).run()
    assert not at.exception
    warnings = [w.value for w in at.warning if "roughly" in w.value]
    notes = warnings + [c.value for c in at.caption if "roughly" in c.value]
    (note,) = notes
    assert "7 cases" in note
    seconds = float(re.search(r"roughly ([\d.]+) s", note).group(1))
    rate = at.session_state["device_bench_rates"]["cpu"]  # the probe's GFLOP/s
    expected = (2 + 15) * sum(2 * n ** 3 / (rate * 1e9) + mb.RUN_OVERHEAD_S for n in mb.SIZE_OPTIONS)
    assert seconds == pytest.approx(expected, abs=0.051)
    # A warning exactly when the estimate passes the threshold: the unrounded one (a 10.03 s estimate reads "10.0 s").
    assert bool(warnings) == (expected > mb.SLOW_RUN_SECONDS)
    if warnings:
        assert "stop" in note and "at any time" in note


@pytest.mark.gpu
def test_page_on_gpu_provokes_the_error_live(open_page) -> None:
    at = open_page(PAGE, device="cuda:0")  # as the sidebar's picker would set it
    assert not at.exception
    assert any("Raised **live**" in m.value for m in at.markdown)
    at = small_benchmark(at, high=256, devices=("cpu", "cuda:0"))
    assert not at.exception
    assert any(t.get("name", "").startswith("cuda:0") for t in
               json.loads(at.get("plotly_chart")[0].proto.spec)["data"])


# ------------------------------------------------------------------ browser

def _open_device(page) -> None:
    """Come in through the home page and the sidebar link, as a learner does, inside the app's frame."""
    open_app(page, "")
    # The frame's sidebar (device picker, page links) is there once app.py has really run.
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("Compute device")
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Device", exact=True).click()
    wait_for_run(page)
    expect(page.get_by_role("heading", name="What this PyTorch sees")).to_be_visible()
    assert "Compute device" in page.locator('[data-testid="stSidebar"]').inner_text()


def _set_upper_size(page, key: str, presses: int = 1) -> None:
    """Move the upper thumb of the size slider with the keyboard, then wait for the rerun."""
    upper = page.get_by_role("slider").nth(1)
    upper.focus()
    for _ in range(presses):
        upper.press(key)
    wait_for_run(page)


@pytest.mark.browser
def test_browser_runs_a_small_benchmark_and_draws_the_chart(page) -> None:
    _open_device(page)
    _set_upper_size(page, "ArrowLeft", presses=3)  # 64..128
    rerun_after(page, page.get_by_role("button", name="Run benchmark").click)
    expect(page.get_by_text("Timed 2 cases")).to_be_visible()
    chart = page.locator('[data-testid="stPlotlyChart"]')
    expect(chart.first).to_be_visible()
    # One line (cpu · float32); a size slowed by other work on this busy machine adds a ring, not a line.
    expect(chart.first.locator(".scatterlayer .trace .js-line")).to_have_count(1)


@pytest.mark.browser
def test_browser_stop_button_stops_a_long_run(page) -> None:
    _open_device(page)
    _set_upper_size(page, "End")  # up to 4096: several seconds of CPU work
    page.get_by_role("button", name="Run benchmark").click()
    stop = page.locator('[data-testid="stMain"]').get_by_role("button", name="Stop", exact=True)
    stop.click()
    wait_for_run(page)
    expect(page.get_by_text("You stopped the run")).to_be_visible()
    assert "cases in" not in main_text(page)  # no "Timed N cases in S s": it did not finish
    expect(stop).to_have_count(0)


def _start_long_benchmark(page) -> None:
    """Start a run up to 4096 (several seconds of CPU work) and wait until its progress shows."""
    _open_device(page)
    _set_upper_size(page, "End")
    page.get_by_role("button", name="Run benchmark").click()
    expect(page.get_by_test_id("stProgress")).to_contain_text("Run ")


@pytest.mark.browser
def test_browser_streamlit_header_stop_is_the_learners_stop(page) -> None:
    _start_long_benchmark(page)
    streamlit_stop(page)
    # Not "interrupted (the page changed)": the learner asked for it, and the run does not start again.
    rerun_until(page, "You stopped the run")
    assert "cases in" not in main_text(page)


@pytest.mark.browser
def test_browser_leaving_mid_run_reads_as_interrupted_not_stopped(page) -> None:
    _start_long_benchmark(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Home", exact=True).click()
    wait_for_run(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Device", exact=True).click()
    wait_for_run(page)
    # A page change is no Stop: it used to read "You stopped the run" (the rerun came as a StopException).
    expect(page.get_by_text("The run was interrupted (a setting or the page changed)")).to_be_visible()
    assert "You stopped the run" not in main_text(page)
