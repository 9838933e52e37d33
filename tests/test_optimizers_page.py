"""Optimizers page: AppTest (runs, lr changes the path, divergence and bad input messages) and Chromium."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
import torch
from PIL import Image


from pages._optimizers_ui import RESULT_KEY, STOP_KEY
from pages._ui import HEADER_STOPPED
from streamlit.runtime.scriptrunner import StopException
from tests.browser import assert_no_exception, expect, main_text, open_app, wait_for_run
from tests.plotly_json import plotly_array
from tests.test_optimizers_core import line_dataset
from tests.journey import choose, pick
from torchstart import session
from torchstart.landscapes import BEALE, classic_landscape, dataset_landscape
from torchstart.optimizer_race import ARRIVED_COLUMN, RaceResult, RunSpec, race, run_optimizer
from torchstart.optimizers import OPTIMIZERS

PAGE = "pages/optimizers.py"


def figure(at, index: int = 0) -> dict:
    """The Plotly figure JSON of the page's index-th chart."""
    return json.loads(at.get("plotly_chart")[index].proto.spec)


def trace(fig: dict, name: str) -> dict:
    """The trace whose legend name is ``name``."""
    return next(t for t in fig["data"] if t.get("name") == name)


def test_page_runs_and_draws_the_default_race(open_page) -> None:
    at = open_page(PAGE)
    assert not at.exception, [e.value for e in at.exception]
    fig = figure(at)
    names = {t.get("name") for t in fig["data"]}
    assert {"SGD (lr 0.05)", "SGD + momentum (lr 0.01)", "Adam (lr 0.1)"} <= names
    # Who got where: each path's own last loss and arrival step, recomputed here from its points.
    summary = at.dataframe[0].value.set_index("optimizer")
    for path in at.session_state[RESULT_KEY][1].paths:
        row = summary.loc[path.spec.label]
        assert float(row["last loss"]) == pytest.approx(float(path.losses[-1]), rel=1e-6, abs=1e-12)
        target = torch.tensor(classic_landscape().minimum, dtype=torch.float64)
        distance = (path.points.double() - target).norm(dim=1)
        far = [k for k, d in enumerate(distance.tolist()) if d > 0.01 * distance[0]]
        arrived = (far[-1] + 1 if far else 0) if not far or far[-1] + 1 < len(distance) else None
        assert row[ARRIVED_COLUMN] == ("—" if arrived is None else f"{arrived:,}")
        assert float(row["distance from the nearest minimum"]) == pytest.approx(float(distance[-1]), rel=1e-2)
    assert summary.loc["Adam (lr 0.1)", ARRIVED_COLUMN] != "—"
    # One box per racer, each named for it (three alike-named boxes could not be told apart by a screen reader).
    assert [n.label for n in at.number_input if n.key.startswith("optimizers.lr.")] == [
        "Learning rate (SGD)", "Learning rate (SGD + momentum)", "Learning rate (Adam)"]
    # Three rates: the page says they differ on purpose, and how to race like for like.
    assert any("not at one shared rate" in c.value and "Type the same rate in each" in c.value for c in at.caption)
    # The drawn SGD path is the real torch path from the start shown in the inputs.
    land = classic_landscape()
    start = (at.number_input(key="optimizers.start.classic.0").value,
             at.number_input(key="optimizers.start.classic.1").value)
    steps = at.number_input(key="optimizers.steps.classic").value
    expected = run_optimizer(land, start, RunSpec("SGD", 0.05, {}), steps).points
    sgd = trace(fig, "SGD (lr 0.05)")
    assert plotly_array(sgd["x"])[-1] == pytest.approx(expected[-1, 0].item())
    assert plotly_array(sgd["y"])[0] == pytest.approx(start[1])
    assert figure(at, 1)["layout"]["yaxis"]["type"] == "log"
    # The step table and the code follow the chosen optimizer.
    at.selectbox(key="optimizers.table_for").set_value("Adam").run()
    table = at.dataframe[-1].value
    assert {"exp_avg[w]", "exp_avg_sq[b]"} <= set(table.columns) and len(table) == steps + 1
    # No state before the first step: a dash, not the "None" st.dataframe prints for NaN.
    assert table.loc[0, "exp_avg[w]"] == "—" and float(table.loc[1, "exp_avg[w]"]) != 0
    assert "torch.optim.Adam([p], lr=0.1, betas=(0.9, 0.999))" in at.code[0].value


def test_adamw_weight_decay_is_a_visible_setting_in_the_race_and_its_code(open_page) -> None:
    at = open_page(PAGE)
    at.multiselect(key="optimizers.racers").set_value(["Adam", "AdamW"]).run()
    decay = at.number_input(key="optimizers.weight_decay.AdamW")
    assert decay.value == 0.01 and "0 makes AdamW exactly Adam" in decay.help
    at.selectbox(key="optimizers.table_for").set_value("AdamW").run()
    assert "weight_decay=0.01)" in at.code[0].value
    # A non-default value reaches torch, the code, and the drawn path.
    at.number_input(key="optimizers.weight_decay.AdamW").set_value(0.3).run()
    assert not at.exception, [e.value for e in at.exception]
    code = at.code[0].value
    assert "torch.optim.AdamW([p], lr=0.1, betas=(0.9, 0.999), weight_decay=0.3)" in code
    namespace: dict = {}
    exec(code, namespace)  # our own generated code, never user text
    result = at.session_state[RESULT_KEY][1]
    torch.testing.assert_close(namespace["path"], result.path("AdamW").points, rtol=0, atol=0)
    assert plotly_array(trace(figure(at), "AdamW (lr 0.1)")["x"])[-1] == pytest.approx(
        result.path("AdamW").points[-1, 0].item())
    # 0 makes AdamW's path Adam's, step for step.
    at.number_input(key="optimizers.weight_decay.AdamW").set_value(0.0).run()
    result = at.session_state[RESULT_KEY][1]
    torch.testing.assert_close(result.path("AdamW").points, result.path("Adam").points, rtol=0, atol=0)
    assert "weight_decay=0.0)" in at.code[0].value


def test_changing_the_learning_rate_changes_the_path(open_page) -> None:
    at = open_page(PAGE)
    before = plotly_array(trace(figure(at), "SGD (lr 0.05)")["x"])
    at.number_input(key="optimizers.lr.classic.SGD").set_value(0.02).run()
    assert not at.exception
    after = plotly_array(trace(figure(at), "SGD (lr 0.02)")["x"])
    assert not np.array_equal(before, after)
    land = classic_landscape()
    expected = run_optimizer(land, land.start, RunSpec("SGD", 0.02, {}), land.default_steps).points
    assert after[-1] == pytest.approx(expected[-1, 0].item())
    # A visit to another page keeps the setting.
    at.switch_page("pages/home.py").run()
    at.switch_page(PAGE).run()
    assert at.number_input(key="optimizers.lr.classic.SGD").value == 0.02
    assert "SGD (lr 0.02)" in {t.get("name") for t in figure(at)["data"]}


def test_a_diverging_setting_shows_a_message_not_a_crash(open_page) -> None:
    at = open_page(PAGE)
    at.number_input(key="optimizers.lr.classic.SGD").set_value(0.3).run()
    assert not at.exception
    warning = " ".join(w.value for w in at.warning)
    assert "SGD (lr 0.3) diverged at step" in warning
    names = [t.get("name", "") for t in figure(at)["data"]]
    assert any(n.startswith("SGD (lr 0.3): diverged at step") for n in names)


def test_the_step_table_writes_huge_inf_and_nan_values_as_print_does(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="optimizers.landscape").set_value("beale").run()
    at.number_input(key="optimizers.start.beale.0").set_value(1000.0).run()
    at.number_input(key="optimizers.start.beale.1").set_value(1000.0).run()
    at.selectbox(key="optimizers.table_for").set_value("SGD + momentum").run()
    assert not at.exception
    table = at.dataframe[-1].value
    start_loss = BEALE.loss(torch.tensor([1000.0, 1000.0])).item()
    # 1e24 and -1e18: Streamlit's number format gives up past 2**53 and showed "1.000001022654744…".
    assert table.loc[0, "loss"] == f"{start_loss:.6g}" == "1e+24"
    assert re.fullmatch(r"-\d(\.\d+)?e\+1\d", table.loc[1, "x"])
    assert table.loc[1, "loss"] == "inf" and table.loc[1, "grad x"] == "nan"  # torch's own values, not "—"
    assert table.loc[0, "momentum_buffer[x]"] == "—"  # no state before the first step


def test_the_step_table_opens_on_an_optimizer_that_kept_state(open_page) -> None:
    assert open_page(PAGE).selectbox(key="optimizers.table_for").value == "SGD + momentum"
    at = open_page()
    at.session_state["optimizers.momentum.SGD + momentum"] = 0.0  # set before the first visit
    at.switch_page(PAGE)
    at.run()
    # torch keeps no momentum_buffer at momentum 0: Adam, next in the race, has state to show.
    assert at.number_input(key="optimizers.momentum.SGD + momentum").value == 0.0
    assert at.selectbox(key="optimizers.table_for").value == "Adam"
    assert "exp_avg[w]" in at.dataframe[-1].value.columns


def test_refused_settings_show_an_error_and_keep_the_last_race(open_page) -> None:
    at = open_page(PAGE)
    at.multiselect(key="optimizers.racers").set_value(["SGD", "Nesterov"]).run()
    at.number_input(key="optimizers.momentum.Nesterov").set_value(0.0).run()
    assert not at.exception
    assert "Nesterov: momentum must be above 0" in at.error[0].value
    assert "Nesterov (lr 0.01)" in {t.get("name") for t in figure(at)["data"]}  # the previous race


def test_data_page_dataset_becomes_a_landscape(open_page) -> None:
    at = open_page(PAGE)
    wide = line_dataset(features=2)
    at.session_state[session.DATASET] = wide
    at.run()
    assert "has 2 feature columns and 1 target column" in " ".join(c.value for c in at.caption)
    data = line_dataset(n=25)
    at.session_state[session.DATASET] = data
    at.run()
    assert any(f"“{data.name}” is in this list too" in c.value for c in at.caption)  # on offer, and said so
    land = dataset_landscape(data)
    at.selectbox(key="optimizers.landscape").set_value(land.key).run()
    assert not at.exception
    fig = figure(at)
    assert fig["layout"]["xaxis"]["title"]["text"] == "w"
    star = next(t for t in fig["data"] if t.get("name", "").startswith("known minimum"))
    assert star["x"][0] == pytest.approx(land.minimum[0])
    assert "x = torch.tensor([" in at.code[0].value  # the data itself is in the code


def test_a_stopped_race_stays_stopped_until_run_again(open_page) -> None:
    at = open_page(PAGE)
    key, _ = at.session_state[RESULT_KEY]
    steps = key[2] + 200
    # What the Stop button's callback does: flag this race key; the race's progress check then ends it.
    new_key = key[:2] + (steps,) + key[3:]
    at.session_state[STOP_KEY] = new_key
    at.number_input(key="optimizers.steps.classic").set_value(steps).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "You stopped the race" in at.info[0].value
    stored_key, stopped = at.session_state[RESULT_KEY]
    assert stored_key == new_key and stopped.stopped and not stopped.finished
    # The first progress check (step 100) stopped SGD; the other two never ran.
    captions = " ".join(c.value for c in at.caption)
    assert "SGD (lr 0.05) at step 100 of 500" in captions
    assert "Not run: SGD + momentum (lr 0.01), Adam (lr 0.1)." in captions
    land = classic_landscape()
    full = run_optimizer(land, land.start, RunSpec("SGD", 0.05, {}), steps)
    torch.testing.assert_close(stopped.path("SGD").points, full.points[:101], rtol=0, atol=0)
    sgd = trace(figure(at), "SGD (lr 0.05): stopped at step 100")
    assert plotly_array(sgd["x"])[-1] == pytest.approx(full.points[100, 0].item())
    assert len(at.dataframe[-1].value) == 101
    assert "for step in range(100):  # the page's race was stopped after 100 of 500 steps" in at.code[0].value
    # Reruns with the same settings show the stopped race; they do not race again.
    at.run()
    assert at.session_state[RESULT_KEY][1] is stopped and "You stopped the race" in at.info[0].value
    # Run again races the same settings in full.
    at.button(key="optimizers.run_again").click().run()
    assert not at.exception and not at.info
    result = at.session_state[RESULT_KEY][1]
    assert result.finished and [p.steps_taken for p in result.paths] == [steps] * 3
    torch.testing.assert_close(result.path("SGD").points, full.points, rtol=0, atol=0)


def test_a_race_ended_by_streamlits_header_stop_shows_as_stopped(open_page) -> None:
    at = open_page(PAGE)
    key, full = at.session_state[RESULT_KEY]

    def header_stop(done: int, total: int) -> bool:
        if done >= 100:
            raise StopException()  # what Streamlit's own Stop raises at the race's next st.* call
        return False

    # The race as the stopped script run left it, and the name the page's guard recorded.
    partial = RaceResult(full.landscape, full.start, full.steps, [])
    with pytest.raises(StopException):
        race(full.landscape, full.start, full.specs, full.steps, on_progress=header_stop, into=partial)
    at.session_state[RESULT_KEY] = (key, partial)
    at.session_state[HEADER_STOPPED] = {"optimizer_race"}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    # Shown as the learner's Stop (it used to race the same settings again at the next click).
    assert at.session_state[RESULT_KEY][1] is partial and "You stopped the race" in at.info[0].value
    assert at.session_state[STOP_KEY] == key and not at.session_state[HEADER_STOPPED]
    cut = partial.path("SGD").steps_taken
    assert 0 < cut <= 100 and f"SGD (lr 0.05) at step {cut} of {full.steps:,}" in " ".join(c.value for c in at.caption)


@pytest.mark.browser
def test_browser_shows_paths_and_click_sets_the_start(page) -> None:
    open_app(page, "optimizers")
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for()
    legend = chart.locator(".legend").text_content()
    for name in ("SGD (lr 0.05)", "SGD + momentum (lr 0.01)", "Adam (lr 0.1)"):
        assert name in legend
    assert chart.locator(".scatterlayer .trace").count() >= 8  # click grid, marks, 3 paths + heads
    assert "Step by step" in main_text(page)
    # Click the lower right of the map: that point becomes the start of a new race.
    start_w = page.get_by_role("spinbutton", name="Start w")
    assert start_w.input_value() == "-0.5"
    map_area = chart.locator(".nsewdrag").first
    map_area.scroll_into_view_if_needed()  # the settings above the columns put the map's lower part off screen
    box = map_area.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.85)
    wait_for_run(page)
    # Both starts come in the click's rerun: wait for each (b's input may draw a moment after w's).
    page.wait_for_function("document.querySelector('input[aria-label=\"Start w\"]').value !== '-0.5'")
    page.wait_for_function("Number(document.querySelector('input[aria-label=\"Start b\"]').value) < -1")
    new_w = float(start_w.input_value())
    new_b = float(page.get_by_role("spinbutton", name="Start b").input_value())
    assert new_w > 2 and new_b < -1
    wait_for_run(page)
    # The redrawn race starts there: the "start" marker and every path's first point.
    page.wait_for_function(
        "(w) => { const d = document.querySelector('.js-plotly-plot').data;"
        " return d && d.find(t => t.name === 'start').x[0] === w; }", arg=new_w)


@pytest.mark.browser
def test_browser_play_keeps_the_landscape_under_the_moving_paths(page) -> None:
    # Plotly.js wipes contour traces once an animation runs: ▶ Play used to show the paths on a blank plot.
    open_app(page, "optimizers")
    chart = page.locator(".js-plotly-plot").first
    chart.wait_for()
    plot_area = chart.locator(".nsewdrag").first
    plot_area.scroll_into_view_if_needed()

    def landscape_share() -> float:
        """The share of the plot area's pixels in the landscape's blues (not the page's grey or white)."""
        shot = np.asarray(Image.open(io.BytesIO(page.screenshot(clip=plot_area.bounding_box()))).convert("RGB"))
        r, g, b = (shot[..., k].astype(int) for k in range(3))
        return float(((b - r > 25) & (b > 150)).mean())

    assert landscape_share() > 0.5
    slider_value = chart.locator(".slider-group .slider-label").filter(has_text="after step")
    at_end = slider_value.text_content()  # "after step 300": the chart opens on the whole race
    chart.locator(".updatemenu-button").first.click()
    page.wait_for_timeout(700)  # mid-animation: 30 frames of 120 ms
    assert slider_value.text_content() != at_end, "▶ Play did not start"
    assert landscape_share() > 0.5, "the landscape vanished when the animation started"


@pytest.mark.browser
@pytest.mark.slow
def test_browser_stop_ends_a_long_race_and_keeps_its_paths(page) -> None:
    open_app(page, "optimizers")
    main = page.get_by_test_id("stMain")
    choose(page, "Loss landscape", "Rosenbrock (banana valley)")
    # Every optimizer: the multiselect's "Select all" adds the ones not yet chosen (a race of 1,000 steps).
    racers = main.get_by_test_id("stMultiSelect")
    pick(page, racers.locator("input"), page.get_by_role("option", name="Select all"))
    page.keyboard.press("Escape")  # close the emptied list
    for name in OPTIMIZERS:
        expect(racers).to_contain_text(name)
    steps = page.get_by_role("spinbutton", name="Steps")
    steps.fill("5000")
    steps.press("Enter")
    stop = main.get_by_role("button", name="Stop")
    expect(stop).to_be_visible(timeout=30_000)
    expect(main.get_by_test_id("stProgress")).to_be_visible(timeout=30_000)
    stop.click()
    expect(main.get_by_text("You stopped the race")).to_be_visible(timeout=30_000)
    wait_for_run(page)
    expect(main.get_by_role("button", name="Run again")).to_be_visible()
    expect(stop).to_have_count(0)
    chart = page.locator(".js-plotly-plot").first
    expect(chart).to_be_visible()
    assert "Stopped" in main_text(page)
    assert_no_exception(page)
