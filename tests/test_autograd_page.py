"""Autograd page: AppTest (widgets change the real gradients, bad input shows an error) and a real browser."""

from __future__ import annotations

import pytest
import torch

from tests.browser import main_text, open_app, wait_for_run
from torchstart.autograd_graph import format_number

PAGE = "pages/autograd.py"


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _graphs(at) -> list[str]:
    return [chart.proto.spec for chart in at.get("graphviz_chart")]


def _table(at, column: str):
    """The dataframe or table that has ``column`` (they are not widgets, so they have no key in AppTest)."""
    return next(df.value for df in [*at.dataframe, *at.table] if column in df.value.columns)


def _expression_errors(at) -> list[str]:
    """Error boxes other than the gotcha demos' deliberate RuntimeErrors."""
    return [e.value for e in at.error if not e.value.startswith("RuntimeError")]


@pytest.fixture
def at(open_page):
    page = open_page(PAGE)
    assert not page.exception, [e.value for e in page.exception]
    return page


def test_page_opens_on_x_squared(at) -> None:
    assert _metrics(at) == {"y": "4", "x.grad": "4"}
    assert "PowBackward0" in _graphs(at)[0]
    assert not _expression_errors(at)
    # The label is the input's accessible name too: "**x** =" was read out with its asterisks.
    assert at.text_input(key="autograd.value.x").label == "x ="


def test_editing_the_expression_changes_the_gradient(at) -> None:
    assert at.selectbox(key="autograd.example").value == "y = x ** 2 at x = 2"
    at.text_input(key="autograd.expression").set_value("y = sin(x) * x").run()
    # No longer the example: the box stops naming it.
    assert at.selectbox(key="autograd.example").value is None
    x = torch.tensor(2.0, requires_grad=True)
    (torch.sin(x) * x).backward()
    assert _metrics(at)["x.grad"] == format_number(x.grad.item())
    assert "SinBackward0" in _graphs(at)[0] and "MulBackward0" in _graphs(at)[0]


def test_editing_a_variable_value_changes_the_gradient(at) -> None:
    at.text_input(key="autograd.value.x").set_value("5").run()
    assert _metrics(at)["x.grad"] == "10"


def test_bad_expression_shows_an_error_and_keeps_the_last_result(at) -> None:
    at.text_input(key="autograd.expression").set_value("x.__class__").run()
    assert not at.exception
    errors = _expression_errors(at)
    assert len(errors) == 1 and "attribute access" in errors[0]
    assert _metrics(at)["x.grad"] == "4"  # the last good expression is still shown
    at.text_input(key="autograd.expression").set_value("2 ** 10 ** 10").run()
    assert "exponent" in _expression_errors(at)[0]


def test_example_w_times_b_plus_b(at) -> None:
    at.selectbox(key="autograd.example").set_value("z = w * b + b at w = 3, b = 2").run()
    assert _metrics(at) == {"z": "8", "w.grad": "2", "b.grad": "4"}
    assert not any("grad_fn" in df.value.columns for df in at.dataframe)  # a table: long cells wrap
    steps = _table(at, "grad_fn")
    assert list(steps["grad_fn"]) == ["AddBackward0", "AddBackward0", "MulBackward0", "MulBackward0"]
    leaves = _table(at, "leaf").set_index("leaf")
    assert leaves.loc["b", "contributions"] == "1 + 3" and leaves.loc["b", ".grad from backward()"] == "4"
    check = _table(at, "finite difference")
    assert list(check["result"]) == ["pass", "pass"]


def test_the_backprop_tab_says_why_vector_at_matrix_reads_squeeze(at) -> None:
    at.selectbox(key="autograd.example").set_value("Vector @ matrix: sum(tanh(x @ W))").run()
    assert list(_table(at, "grad_fn")["grad_fn"]) == ["SumBackward0", "TanhBackward0", "SqueezeBackward4"]
    inside = "MmBackward0 run inside them (@ on a vector is unsqueeze → mm → squeeze"
    assert any(inside in c.value for c in at.caption)
    at.selectbox(key="autograd.example").set_value("z = w * b + b at w = 3, b = 2").run()
    assert not any("run inside them" in c.value for c in at.caption)  # nothing recorded in several steps


def test_gradient_check_shows_both_gradients_to_the_same_digits(at) -> None:
    at.selectbox(key="autograd.example").set_value("Tensors, reduced with mean()").run()
    check = _table(at, "finite difference").set_index("variable")
    # d/dw1 of mean((w*x + b)**2) = 2/3 * (w1*x1 + b) * x1 with w1 = -1, x1 = 2, b = 0.1: -2.53333...
    assert check.loc["w[1]", "autograd"] == "-2.53333" == check.loc["w[1]", "finite difference"]
    assert check.loc["b", "autograd"] == "3.2" and list(check["result"]) == ["pass"] * 4


def test_a_gradient_outside_the_domain_is_explained_not_failed(at) -> None:
    at.text_input(key="autograd.expression").set_value("y = log(x)")
    at.text_input(key="autograd.value.x").set_value("-1").run()
    check = _table(at, "finite difference")
    assert check[["autograd", "finite difference", "result"]].values.tolist() == [["-1", "nan", "no check"]]
    assert at.info[-1].value.startswith("The output holds nan or ±inf. 1 of 1 gradients cannot be checked")
    assert not at.warning and not at.exception


def test_requires_grad_toggle_removes_the_leaf(at) -> None:
    at.selectbox(key="autograd.example").set_value("Neuron: sigmoid(w * x + b)").run()
    assert _metrics(at)["x.grad"] == "not tracked"
    at.checkbox(key="autograd.requires_grad.x").check().run()
    assert _metrics(at)["x.grad"] == "0.125"  # sigmoid'(0) * w = 0.25 * 0.5


def test_backprop_tab_advice_fits_why_backward_failed(at) -> None:
    at.checkbox(key="autograd.requires_grad.x").uncheck().run()  # y = x ** 2 with nothing tracked
    assert any("does not require grad" in w.value for w in at.warning)
    advice = next(i.value for i in at.info if i.value.startswith("backward() did not run"))
    assert "requires_grad" in advice and "sum(...)" not in advice
    at.selectbox(key="autograd.example").set_value("Non-scalar output: w * x (no reduction)").run()
    advice = next(i.value for i in at.info if i.value.startswith("backward() did not run"))
    assert "sum(...)" in advice


def test_graph_notes_say_intermediate_gradients_need_retain_grad(at) -> None:
    captions = " ".join(c.value for c in at.caption)
    assert "called `retain_grad()` on every intermediate result" in captions
    at.selectbox(key="autograd.example").set_value("Neuron: sigmoid(w * x + b)").run()
    captions = " ".join(c.value for c in at.caption)
    assert "saved inside the operations" not in captions and "+ keeps no tensor" in captions


def test_tensor_example_shows_a_table_and_a_non_scalar_warning(at) -> None:
    at.selectbox(key="autograd.example").set_value("Non-scalar output: w * x (no reduction)").run()
    assert any("only for scalar outputs" in w.value for w in at.warning)
    at.text_input(key="autograd.expression").set_value("y = sum(w * x)").run()
    table = _table(at, "tensor").set_index("tensor")
    assert table.loc["w", ".grad"] == "[1, 2, 3]"


def test_adding_a_variable(at) -> None:
    at.text_input(key="autograd.new_name").set_value("v")
    at.button(key="autograd.add").click().run()
    at.text_input(key="autograd.value.v").set_value("[1, 2]")
    at.text_input(key="autograd.expression").set_value("y = sum(v * v) + x").run()
    assert _metrics(at) == {}  # v is a tensor: the summary is a table
    table = _table(at, "tensor").set_index("tensor")
    assert table.loc["v", ".grad"] == "[2, 4]" and table.loc["x", ".grad"] == "1"
    at.text_input(key="autograd.new_name").set_value("sin")
    at.button(key="autograd.add").click().run()
    assert any("reserved" in e for e in _expression_errors(at))
    at.text_input(key="autograd.value.x").set_value("3").run()  # the next action: the refusal is not stale
    assert not any("reserved" in e for e in _expression_errors(at))
    at.text_input(key="autograd.new_name").set_value("y")  # the expression's result is called y
    at.button(key="autograd.add").click().run()
    assert any("result is called y" in e for e in _expression_errors(at)) and "y" not in at.session_state[
        "autograd.names"]


def test_gotchas_and_dynamic_tabs_react(at) -> None:
    at.number_input(key="autograd.calls").set_value(4).run()
    text = " ".join(m.value for m in at.markdown)
    assert "**4** → **8** → **12** → **16**" in text
    at.number_input(key="autograd.demo_x").set_value(-1.0).run()
    text = " ".join(m.value for m in at.markdown)
    assert "**-2** → **-4** → **-6** → **-8**" in text and "adds** the same gradient" in text
    assert "numbers grow" not in text and "saved tensors for backward" in text
    at.number_input(key="autograd.loop_n").set_value(5).run()
    assert _graphs(at)[-1].count("MulBackward0") == 5
    at.number_input(key="autograd.dynamic_x").set_value(-0.5).run()
    assert "AbsBackward0" in _graphs(at)[-1] and "SinBackward0" not in _graphs(at)[-1]


def test_show_code_matches_the_expression(at) -> None:
    at.selectbox(key="autograd.example").set_value("Neuron: sigmoid(w * x + b)").run()
    code = at.code[0].value
    assert "y = torch.sigmoid(w * x + b)" in code and "x = torch.tensor(2.0)\n" in code


@pytest.mark.browser
def test_type_an_expression_and_see_graph_and_gradient(page) -> None:
    open_app(page, "")  # the frame first, so the page runs inside app.py's navigation
    open_app(page, "autograd")
    box = page.get_by_role("textbox", name="Expression")
    box.fill("y = x * sin(x)")
    box.press("Enter")
    wait_for_run(page)
    graph = page.locator('[data-testid="stGraphVizChart"] svg').first
    graph.wait_for(state="visible")
    assert "SinBackward0" in graph.text_content()
    x = torch.tensor(2.0, requires_grad=True)
    (x * torch.sin(x)).backward()
    assert format_number(x.grad.item()) in main_text(page)
