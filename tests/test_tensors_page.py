"""Tensors page: AppTest (widgets change the tensor, errors show, Show code reproduces it) and Chromium."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

from pages._tensors_ui import arg_key
from pages._ui import number_columns
from tests.browser import CUT_TEXT_JS, expect, main_text, open_app, rerun_after, wait_for_run
from tests.journey import choose
from tests.plotly_json import plotly_array

PAGE = "pages/tensors.py"


def metric(at: AppTest, label: str) -> str:
    """The value of the headline metric called ``label``."""
    return next(m.value for m in at.metric if m.label == label)


def shown_values(at: AppTest) -> np.ndarray:
    """The values table of the inspected tensor."""
    return at.dataframe[0].value.to_numpy()  # the Values tab comes first


def program(at: AppTest) -> str:
    """The full 'Show code' program."""
    return next(c.value for c in at.code if c.value.startswith("import torch\n\n# torch."))


def run_program(at: AppTest) -> dict:
    """Execute the page's generated code (ours, never learner text)."""
    namespace: dict = {}
    exec(compile(program(at), "<show code>", "exec"), namespace)  # noqa: S102
    return namespace


def add_step(at: AppTest, kind: str, text: str | None, shape: tuple[int, ...], dtype: torch.dtype) -> AppTest:
    """Pick an operation, type its argument, press Add step."""
    at.selectbox(key="tensors.op").set_value(kind).run()
    if text is not None:
        at.text_input(key=arg_key(kind, shape, dtype)).set_value(text)
    return at.button(key="tensors.add").click().run()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_default_tensor_and_its_code(open_page) -> None:
    at = open_page(PAGE)
    assert_clean(at)
    assert not at.error
    assert (metric(at, "shape"), metric(at, "dtype"), metric(at, "numel")) == ("(2, 3)", "int64", "6")
    assert np.array_equal(shown_values(at), [[1, 2, 3], [4, 5, 6]])
    x = run_program(at)["x"]
    assert x.dtype == torch.int64 and np.array_equal(x.numpy(), shown_values(at))
    heatmap = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert np.array_equal(plotly_array(heatmap["z"]), [[1, 2, 3], [4, 5, 6]])


def test_widgets_change_shape_dtype_and_values(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="tensors.factory").set_value("randn").run()
    at.text_input(key="tensors.shape").set_value("4, 5").run()
    at.selectbox(key="tensors.dtype").set_value("float64").run()
    assert_clean(at)
    assert (metric(at, "shape"), metric(at, "dtype"), metric(at, "numel")) == ("(4, 5)", "float64", "20")
    expected = torch.randn(4, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    np.testing.assert_allclose(shown_values(at), expected.numpy(), rtol=1e-9)
    torch.testing.assert_close(run_program(at)["x"], expected, rtol=0, atol=0)
    at.number_input(key="tensors.seed").set_value(1).run()
    assert not np.allclose(shown_values(at), expected.numpy())


def test_bad_inputs_show_errors_and_keep_the_last_tensor(open_page) -> None:
    at = open_page(PAGE)
    at.text_area(key="tensors.literal").set_value("[[1, 2], [3]]").run()
    assert_clean(at)
    assert "same number of entries" in at.error[0].value
    assert metric(at, "shape") == "(2, 3)"  # the last tensor that worked stays on screen
    at.text_area(key="tensors.literal").set_value("[1, __import__('os')]").run()
    assert "not allowed" in at.error[0].value
    at.text_area(key="tensors.literal").set_value("[1, 2, 3, 4]").run()
    assert not at.error and metric(at, "shape") == "(4,)"
    at.checkbox(key="tensors.requires_grad").check().run()
    assert "floating-point" in at.error[0].value and "int64" in at.error[0].value
    at.selectbox(key="tensors.factory").set_value("zeros").run()
    at.text_input(key="tensors.shape").set_value("2000, 1000").run()
    assert "2,000,000" in at.error[0].value and "1,000,000" in at.error[0].value
    assert_clean(at)


def test_chain_adds_steps_shows_shapes_and_errors(open_page) -> None:
    at = open_page(PAGE)
    at = add_step(at, "transpose", "0, 1", (2, 3), torch.int64)
    assert_clean(at)
    assert metric(at, "shape") == "(3, 2)"
    assert np.array_equal(shown_values(at), [[1, 4], [2, 5], [3, 6]])
    assert any("x1 = x.transpose(0, 1)" in m.value for m in at.markdown)
    at = add_step(at, "view", "6", (3, 2), torch.int64)  # fails: not contiguous
    assert "not contiguous" in at.error[0].value and "(3, 2)" in at.error[0].value
    assert metric(at, "shape") == "(3, 2)"
    at = add_step(at, "reshape", "6", (3, 2), torch.int64)
    at = add_step(at, "add", "[[0], [100]]", (6,), torch.int64)
    assert_clean(at)
    assert metric(at, "shape") == "(2, 6)"
    broadcast = next(d.value for d in at.dataframe if "result" in d.value.index)
    assert broadcast.loc["result"].tolist() == ["2", "6"]
    namespace = run_program(at)
    assert np.array_equal(namespace["x3"].numpy(), shown_values(at))
    assert np.array_equal(shown_values(at), (torch.tensor([[1, 2, 3], [4, 5, 6]]).t().reshape(6)
                                             + torch.tensor([[0], [100]])).numpy())
    at.button(key="tensors.remove.0").click().run()  # drop the transpose: reshape now copies nothing
    assert_clean(at)
    assert np.array_equal(shown_values(at), [[1, 2, 3, 4, 5, 6], [101, 102, 103, 104, 105, 106]])


def test_values_table_shows_every_digit(open_page) -> None:
    at = open_page(PAGE)
    at.text_area(key="tensors.literal").set_value("[[1234567.0, 0.1], [1032.0, 2.5]]").run()
    assert_clean(at)
    assert shown_values(at).tolist() == [[1234567.0, 0.1], [1032.0, 2.5]]
    config = json.loads(at.dataframe[0].proto.columns)  # "%g": the browser prints 1234567, not 1.2346e+06
    assert {c["type_config"]["format"] for c in config.values()} == {"%g"}
    at.selectbox(key="tensors.dtype").set_value("bfloat16").run()
    held = torch.tensor(1234567.0, dtype=torch.bfloat16).item()
    assert held == 1236992.0 and shown_values(at).tolist() == [[held, 0.1], [1032.0, 2.5]]
    assert torch.equal(torch.tensor(shown_values(at), dtype=torch.bfloat16), run_program(at)["x"])


def test_view_of_an_empty_tensor_is_reported_as_a_view(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="tensors.factory").set_value("zeros").run()
    at.text_input(key="tensors.shape").set_value("2, 0").run()
    at = add_step(at, "view", "0, 2", (2, 0), torch.float32)
    assert_clean(at)
    assert metric(at, "shape") == "(0, 2)"
    badges = " ".join(m.value for m in at.markdown)
    assert "shares memory" in badges and "new memory" not in badges
    assert any(c.value.startswith("A view") for c in at.caption)
    assert not any("had to copy" in c.value for c in at.caption)


def test_storage_caption_fits_a_one_dim_slice(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="tensors.factory").set_value("arange").run()
    at.text_input(key="tensors.end").set_value("10").run()
    at = add_step(at, "index", "2:5", (10,), torch.int64)
    caption = next(c.value for c in at.caption if "position in storage" in c.value)
    assert "= 2 + i·1" in caption and "stride[1]" not in caption and "from storage_offset (2)" in caption


def test_more_than_two_dims_shows_a_chosen_slice(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="tensors.factory").set_value("arange").run()
    at.text_input(key="tensors.end").set_value("24").run()
    at = add_step(at, "reshape", "2, 3, 4", (24,), torch.int64)
    assert metric(at, "shape") == "(2, 3, 4)"
    at.number_input(key="tensors.slice.0.(2, 3, 4)").set_value(1).run()
    assert_clean(at)
    assert np.array_equal(shown_values(at), torch.arange(24).reshape(2, 3, 4)[1].numpy())
    at.text_input(key="tensors.end").set_value("25").run()  # 25 elements: the reshape step now fails
    assert_clean(at)
    assert "Step 1 fails" in at.error[0].value and "(25,)" in at.error[0].value
    assert metric(at, "shape") == "(25,)"
    at.button(key="tensors.remove.0").click().run()
    assert not at.error and metric(at, "shape") == "(25,)" and "tensors.chain" in at.session_state
    assert at.session_state["tensors.chain"] == []


@pytest.mark.browser
def test_build_a_tensor_in_chromium(page) -> None:
    open_app(page, "")  # enter through the frame, as a learner does
    open_app(page, "tensors")
    literal = page.get_by_role("textbox", name="Values (nested lists)")
    literal.fill("[[1.5, 2], [3, 4], [5, 1234567]]")
    literal.press("Control+Enter")
    wait_for_run(page)
    text = main_text(page)
    assert "(3, 2)" in text and "float32" in text and "1.5" in text
    table = page.get_by_test_id("stDataFrame").first.locator("table").first  # the grid's accessible copy
    expect(table).to_contain_text("1234567")  # every digit, not 1234570 or 1.2346e+06
    assert "1234570" not in table.inner_text()
    choose(page, "Operation", "transpose")
    rerun_after(page, page.get_by_role("button", name="Add step").click)
    main = page.get_by_test_id("stMain")
    expect(main).to_contain_text("x1 = x.transpose(0, 1)")
    badge = main.get_by_text(re.compile(r"^shares memory"))
    expect(badge).to_be_visible()
    page.set_viewport_size({"width": 1024, "height": 900})  # beside the sidebar, the badge's column is 130 px
    page.wait_for_timeout(300)
    assert not badge.evaluate(CUT_TEXT_JS), "the view badge is cut"
    expect(page.get_by_test_id("stMetricValue").first).to_have_text("(2, 3)")
    literal.fill("[[1, 2], [3]]")
    rerun_after(page, lambda: literal.press("Control+Enter"))
    expect(page.get_by_test_id("stAlert").filter(has_text="same number of entries")).to_be_visible()


def test_nan_and_inf_values_read_as_python_writes_them(open_page) -> None:
    """0 / 0 is nan: the table says nan, where st.dataframe on its own would print None."""
    at = open_page(PAGE)
    at.text_area(key="tensors.literal").set_value("[[0.0, 1.0], [-1.0, 0.5]]").run()
    at = add_step(at, "div", "[0.0, 0.25]", (2, 2), torch.float32)
    assert_clean(at)
    expected = torch.tensor([[0.0, 1.0], [-1.0, 0.5]]) / torch.tensor([0.0, 0.25])
    assert expected[0, 0].isnan() and expected[1, 0].isneginf()
    assert shown_values(at)[:, 0].tolist() == ["nan", "-inf"]  # as repr(float) writes them
    assert shown_values(at)[:, 1].tolist() == expected[:, 1].tolist() == [4.0, 2.0]  # no nan: still numbers
    heatmap = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert "grey: nan or ±inf" in heatmap["layout"]["title"]["text"]
    labels = next(trace for trace in heatmap["data"] if trace["type"] == "scatter")
    assert labels["text"] == ["nan", "-inf"]  # written on the grey cells the colour scale cannot show


# ---------------------------------------------------------------- review fixes

def test_inf_and_negative_zero_read_as_print_writes_them(open_page) -> None:
    at = open_page(PAGE)
    at.text_area(key="tensors.literal").set_value("[[1e400, 2.5, -1e400], [-0.0, 1.5, 0.0]]").run()
    assert_clean(at)
    x = run_program(at)["x"]
    printed = repr(x)
    assert "inf" in printed and "-inf" in printed and "-0.0000" in printed  # torch's own print
    table = shown_values(at)
    assert table[:, 0].tolist() == ["inf", "-0"] and table[:, 2].tolist() == ["-inf", "0"]
    assert table[:, 1].tolist() == [2.5, 1.5]  # no inf or -0.0 in this column: it stays numbers
    for row in range(2):  # each text reads back as the very value, sign of zero included
        for col in (0, 2):
            value = float(table[row, col])
            assert value == x[row, col].item() and math.copysign(1, value) == math.copysign(1, x[row, col].item())
    assert "Infinity" not in str(table.tolist())


def test_number_columns_writes_inf_only_when_asked() -> None:
    """Other pages' tables (models, checkpoints, data) keep Streamlit's number columns unless they opt in."""
    frame = pd.DataFrame({"a": [float("inf"), 1.0], "b": [-0.0, 2.0], "c": [1.0, 2.0]})
    shown, config = number_columns(frame, {c: "%g" for c in frame.columns})
    assert shown.equals(frame) and {c["type_config"]["format"] for c in config.values()} == {"%g"}
    shown, config = number_columns(frame, {c: "%g" for c in frame.columns}, print_like=True)
    assert shown["a"].tolist() == ["inf", "1"] and shown["b"].tolist() == ["-0", "2"]
    assert shown["c"].tolist() == [1.0, 2.0]


def test_keepdim_with_dim_blank_on_the_page(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="tensors.op").set_value("sum").run()
    at.checkbox(key="tensors.keepdim").check()
    at.text_input(key=arg_key("sum", (2, 3), torch.int64)).set_value("")
    at.button(key="tensors.add").click().run()
    assert_clean(at)
    assert metric(at, "shape") == "(1, 1)"
    assert any("x1 = x.sum(dim=None, keepdim=True)" in m.value for m in at.markdown)
    namespace = run_program(at)
    expected = torch.tensor([[1, 2, 3], [4, 5, 6]]).sum(dim=None, keepdim=True)
    assert torch.equal(namespace["x1"], expected) and np.array_equal(shown_values(at), expected.numpy())
    at.selectbox(key="tensors.op").set_value("max").run()
    at.text_input(key=arg_key("max", (1, 1), torch.int64)).set_value("").run()
    box = at.checkbox(key="tensors.keepdim")
    assert box.disabled and box.value  # greyed out, the learner's tick kept for when a dim comes back
    assert "takes no keepdim" in box.help
    at.button(key="tensors.add").click().run()
    assert_clean(at)
    assert not at.error and metric(at, "shape") == "()"
    assert any("x2 = x1.max()" in m.value for m in at.markdown)
    assert run_program(at)["x2"].item() == 21


def test_memory_tab_says_which_slice_it_shows(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="tensors.factory").set_value("arange").run()
    at.text_input(key="tensors.end").set_value("24").run()
    at = add_step(at, "reshape", "2, 3, 4", (24,), torch.int64)
    at.number_input(key="tensors.slice.0.(2, 3, 4)").set_value(1).run()
    assert_clean(at)
    line = ("`x1[1]` — one 2-D slice, shape `(3, 4)`, of x1 (shape `(2, 3, 4)`). Pick another with the dim index "
            "boxes above the tabs.")
    assert [m.value for m in at.markdown].count(line) == 2  # on the Values tab and on Memory & views
    storage = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                   if "storage position" in json.loads(c.proto.spec)["layout"]["title"]["text"])
    assert storage["data"][0]["text"][0][0] == "12<br>@12"  # x1[1, 0, 0] is 12, at storage position 12
    assert torch.arange(24).reshape(2, 3, 4)[1, 0, 0].item() == 12
