"""Autograd core: the whitelist parser, real graphs, backprop steps, gradient check and Show code vs plain torch."""

from __future__ import annotations

import contextlib
import io
import math
import os
from pathlib import Path

import pytest
import torch

from torchstart import autograd_graph
from torchstart.autograd_code import expression_code
from torchstart.autograd_demos import EXAMPLES
from torchstart.autograd_dot import LEGEND, graph_to_dot
from torchstart.autograd_graph import (
    VariableSpec as V, backprop_steps, backward_advice, format_value, gradcheck_summary, gradient_check, make_variables,
    run_autograd,
)
from torchstart.errors import TorchstartError
from torchstart.expressions import MAX_EXPRESSION_CHARS, parse_expression

XWB = [V("x", "2"), V("w", "3"), V("b", "2")]


# ---------------------------------------------------------------- presets

def test_square_at_two_has_gradient_four() -> None:
    run = run_autograd("y = x ** 2", XWB)
    assert run.output.item() == 4.0
    assert run.grads["x"].item() == 4.0
    assert run.grads["w"] is None and run.grads["b"] is None  # declared but unused


def test_w_times_b_plus_b() -> None:
    run = run_autograd("z = w * b + b", XWB)
    assert run.program.output == "z"
    assert run.output.item() == 8.0
    assert run.grads["w"].item() == 2.0
    assert run.grads["b"].item() == 4.0


def test_neuron_matches_sigmoid_derivative() -> None:
    specs = [V("x", "2", False), V("w", "0.5"), V("b", "-1")]
    run = run_autograd("sigmoid(w * x + b)", specs)
    z = torch.tensor(0.5 * 2 - 1)
    slope = torch.sigmoid(z) * (1 - torch.sigmoid(z))
    assert run.output.item() == pytest.approx(torch.sigmoid(z).item())
    assert run.grads["w"].item() == pytest.approx((slope * 2).item())
    assert run.grads["b"].item() == pytest.approx(slope.item())
    assert run.grads["x"] is None  # requires_grad off


@pytest.mark.parametrize("reduction, scale", [("sum", 1.0), ("mean", 1 / 3)])
def test_tensor_case_reduced_before_backward(reduction: str, scale: float) -> None:
    specs = [V("x", "[1, 2, 3]", False), V("w", "[0.5, -1, 2]"), V("b", "0.1")]
    run = run_autograd(f"loss = {reduction}(w * x + b)", specs)
    assert run.backward_error is None
    torch.testing.assert_close(run.grads["w"], torch.tensor([1.0, 2.0, 3.0]) * scale)
    assert run.grads["b"].item() == pytest.approx(3 * scale)  # b was broadcast over 3 elements


def test_non_scalar_output_reports_the_real_error() -> None:
    run = run_autograd("w * x", [V("x", "[1, 2, 3]", False), V("w", "[0.5, -1, 2]")])
    assert "grad can be implicitly created only for scalar outputs" in run.backward_error
    assert run.grads["w"] is None
    steps, leaves = backprop_steps(run)
    assert steps == [] and leaves == []


def test_nothing_requires_grad_has_no_graph() -> None:
    run = run_autograd("x * w", [V("x", "2", False), V("w", "3", False)])
    assert run.output.grad_fn is None
    assert run.graph.nodes == []
    assert "does not require grad" in run.backward_error
    assert "No graph" in graph_to_dot(run.graph)


def _example(title_start: str) -> tuple[str, list[V]]:
    example = next(e for e in EXAMPLES if e.title.startswith(title_start))
    return example.expression, list(example.variables)


def test_page_examples_give_the_exact_gradients() -> None:
    square = run_autograd(*_example("y = x ** 2"))
    assert (square.output.item(), square.grads["x"].item()) == (4.0, 4.0)
    wbb = run_autograd(*_example("z = w * b + b"))
    assert (wbb.grads["w"].item(), wbb.grads["b"].item()) == (2.0, 4.0)
    neuron = run_autograd(*_example("Neuron"))
    assert (neuron.grads["w"].item(), neuron.grads["b"].item()) == (0.5, 0.25)  # sigmoid'(0) = 1/4, x = 2
    summed = run_autograd(*_example("Tensors, reduced with sum"))
    assert summed.grads["w"].tolist() == [1.0, 2.0, 3.0] and summed.grads["b"].item() == 3.0


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.title for e in EXAMPLES])
def test_every_example_runs(example) -> None:
    run = run_autograd(example.expression, list(example.variables))
    assert (run.backward_error is None) == ("Non-scalar" not in example.title)
    assert run.graph.nodes


# ---------------------------------------------------------------- vs plain torch

VARS = [V("x", "0.7"), V("w", "-1.3"), V("b", "0.4"), V("v", "[1.5, -0.5, 2.0]"),
        V("M", "[[0.2, -0.1], [0.4, 0.3], [-0.6, 0.5]]")]
CASES = [
    ("sin(x) * exp(w) + b", lambda x, w, b, v, M: torch.sin(x) * torch.exp(w) + b),
    ("sqrt(x) / (1 + w ** 2)", lambda x, w, b, v, M: torch.sqrt(x) / (1 + w ** 2)),
    ("tanh(w * x + b) - relu(x - w)", lambda x, w, b, v, M: torch.tanh(w * x + b) - torch.relu(x - w)),
    ("log(abs(w) + 1) * cos(x)", lambda x, w, b, v, M: torch.log(torch.abs(w) + 1) * torch.cos(x)),
    ("max(x, w) + min(w, b) + max(x, 2)",
     lambda x, w, b, v, M: torch.maximum(x, w) + torch.minimum(w, b) + torch.maximum(x, torch.tensor(2.0))),
    ("pow(x, 3) - 2 ** w + x ** x", lambda x, w, b, v, M: torch.pow(x, 3) - 2 ** w + x ** x),
    ("-x ** 2 + sigmoid(-b)", lambda x, w, b, v, M: -x ** 2 + torch.sigmoid(-b)),
    ("sum(v @ M) * b", lambda x, w, b, v, M: torch.sum(v @ M) * b),
    ("mean(max(v) * v + tan(v / 4))", lambda x, w, b, v, M: torch.mean(torch.max(v) * v + torch.tan(v / 4))),
    ("sum(min(v) - v * x) / 3 + 1 / 3", lambda x, w, b, v, M: torch.sum(torch.min(v) - v * x) / 3 + 1 / 3),
    ("v @ v + sum(M)", lambda x, w, b, v, M: v @ v + torch.sum(M)),
]


@pytest.mark.parametrize("text, reference", CASES, ids=[c[0] for c in CASES])
def test_expression_matches_plain_torch(text: str, reference) -> None:
    run = run_autograd(text, VARS)
    plain = make_variables(VARS)
    expected = reference(**plain)
    expected.backward()
    torch.testing.assert_close(run.output.detach(), expected.detach())
    for name, tensor in plain.items():
        if tensor.grad is None:
            assert run.grads[name] is None, name
        else:
            torch.testing.assert_close(run.grads[name], tensor.grad, msg=name)


@pytest.mark.parametrize("text, _", CASES, ids=[c[0] for c in CASES])
def test_backprop_steps_add_up_to_grad(text: str, _) -> None:
    run = run_autograd(text, VARS)
    steps, leaves = backprop_steps(run)
    assert steps and [s.step for s in steps] == list(range(1, len(steps) + 1))
    for leaf in leaves:
        torch.testing.assert_close(leaf.total, leaf.grad, msg=leaf.name)


@pytest.mark.parametrize("text, _", CASES, ids=[c[0] for c in CASES])
def test_gradient_check_passes_for_smooth_expressions(text: str, _) -> None:
    run = run_autograd(text, VARS)
    rows = gradient_check(run, VARS)
    assert rows and all(row.passed for row in rows), [(r.variable, r.autograd, r.numeric) for r in rows]


def test_gradient_check_catches_a_disagreement_at_a_kink() -> None:
    specs = [V("x", "0")]
    rows = gradient_check(run_autograd("relu(x)", specs), specs)
    assert rows[0].autograd == 0.0 and rows[0].numeric == pytest.approx(0.5)
    assert not rows[0].passed


@pytest.mark.parametrize("text, value, autograd", [("log(x)", "-1", -1.0), ("sqrt(x)", "0", math.inf)])
def test_gradient_check_outside_the_domain_is_no_check_not_a_failure(text: str, value: str, autograd: float) -> None:
    specs = [V("x", value)]
    run = run_autograd(text, specs)
    (row,) = gradient_check(run, specs)
    assert row.autograd == autograd and math.isnan(row.numeric)  # torch's formula vs nan on one side of v
    assert (row.checkable, row.passed, row.result) == (False, False, "no check")
    level, verdict = gradcheck_summary([row], run.output)
    assert level == "info" and "1 of 1 gradients cannot be checked" in verdict
    assert verdict.startswith("The output holds nan or ±inf. ") == (text == "log(x)")  # sqrt(0) is 0, a number


def test_a_gradient_beside_one_that_cannot_be_checked_is_still_checked() -> None:
    both = [V("x", "0"), V("w", "3")]
    run = run_autograd("w * w + sqrt(x)", both)  # the output is 9, a number; sqrt's slope at 0 is inf
    level, verdict = gradcheck_summary(gradient_check(run, both), run.output)
    assert level == "success"
    assert verdict.startswith("1 of 1 checkable gradients agree with finite differences. 1 of 2 gradients cannot")
    run = run_autograd("w * w + log(x - 1)", both)  # a nan output: no nudge of w gives a number either
    assert [r.result for r in gradient_check(run, both)] == ["no check", "no check"]


def test_a_nan_gradient_beside_a_finite_difference_fails_and_names_inf_times_0() -> None:
    specs = [V("x", "0")]
    run = run_autograd("sqrt(x * x)", specs)  # |x|: defined everywhere, f(±h) = h
    (row,) = gradient_check(run, specs)
    assert math.isnan(row.autograd) and row.numeric == 0.0 and row.result == "FAIL"
    level, verdict = gradcheck_summary([row], run.output)
    assert level == "warning" and verdict.startswith("0 of 1 gradients agree with finite differences. Where")
    assert "(sqrt(x * x) at 0: ∞ · 0 = nan)" in verdict


def test_gradient_check_steps_relative_to_big_values() -> None:
    # At 1e10 a fixed h = 1e-6 is below float64's spacing (about 2e-6): the difference itself would be wrong.
    specs = [V("x", "1e10")]
    (row,) = gradient_check(run_autograd("x ** 2", specs), specs)
    assert row.autograd == pytest.approx(2e10) and row.numeric == pytest.approx(2e10, rel=1e-6) and row.passed


@pytest.mark.parametrize("text, values", [
    ("log(x)", {"x": "0.00001"}),  # h = 1e-6 was 10% of the way to the pole: 100335 for 100000
    ("1 / x", {"x": "0.00001"}),
    ("sin(x)", {"x": "100000"}),  # h = 0.1 bent along the curve
    ("1 / (x - 1000)", {"x": "1000.01"}),  # float32 stores 1000.0099487: the check must nudge that
])
def test_correct_gradients_near_a_pole_or_at_big_values_pass(text: str, values: dict[str, str]) -> None:
    specs = [V(name, value) for name, value in values.items()]
    rows = gradient_check(run_autograd(text, specs), specs)
    assert [r.result for r in rows] == ["pass"], [(r.autograd, r.numeric) for r in rows]


@pytest.mark.parametrize("text, values", [
    ("x + 100000", {"x": "0.01"}),  # h = 1e-8 is lost in 100000's rounding; h = 1e-6 is not
    ("3 * x + 20000", {"x": "0.001"}),
    ("x + y", {"x": "0.001", "y": "5000"}),
])
def test_a_small_value_beside_a_big_output_is_checked_with_the_larger_nudge(text, values) -> None:
    specs = [V(name, value) for name, value in values.items()]
    rows = gradient_check(run_autograd(text, specs), specs)
    assert all(r.result == "pass" for r in rows), [(r.variable, r.autograd, r.numeric, r.noise) for r in rows]


@pytest.mark.parametrize("text, values, rounded", [
    ("x * w + b", {"x": "1e10", "w": "1", "b": "1"}, ["b"]),  # the difference read 1.907 for b's slope of 1
    ("exp(x) + w", {"x": "25", "w": "1"}, ["w"]),  # and 0 for w's
    ("x * x + 1000000", {"x": "0"}, ["x"]),  # f(±1e-6) = 1e6 + 1e-12 rounds to 1e6: any slope under 1e-4 reads 0
])
def test_a_slope_hidden_by_rounding_of_a_big_output_is_no_check(text, values, rounded) -> None:
    specs = [V(name, value) for name, value in values.items()]
    run = run_autograd(text, specs)
    rows = gradient_check(run, specs)
    assert [r.variable for r in rows if r.rounded_away] == rounded
    assert all(r.result == ("no check" if r.variable in rounded else "pass") for r in rows)
    level, verdict = gradcheck_summary(rows, run.output)
    assert level == ("info" if len(rounded) == len(rows) else "success")  # info: nothing could be compared
    assert "is so large that float64's rounding of f(v ± h) hides the change" in verdict


def test_a_float32_overflow_is_told_apart_from_inf_times_0() -> None:
    specs = [V("x", "100")]
    run = run_autograd("exp(x)", specs)  # inf in float32; 2.7e43 in the float64 check
    level, verdict = gradcheck_summary(gradient_check(run, specs), run.output)
    assert level == "warning" and "float32 overflowed" in verdict and "∞ · 0" not in verdict


def test_local_derivatives_show_every_entry_up_to_the_cap() -> None:
    # The "Vector @ matrix" example: tanh's input is 1×3, x @ W's local derivative w.r.t. W is 3×6.
    example = next(e for e in EXAMPLES if e.title.startswith("Vector @ matrix"))
    steps, _ = backprop_steps(run_autograd(example.expression, list(example.variables)))
    local = next(s.local for s in steps if s.operation == "x @ W" and s.input_name == "W")
    x, w = torch.tensor([[1.0, -1.0]]), torch.tensor([[0.5, -0.2, 0.1], [0.3, 0.8, -0.5]], requires_grad=True)
    jacobian = torch.autograd.functional.jacobian(lambda m: x @ m, w.detach()).reshape(3, 6)
    assert local == "Jacobian 3×6 " + format_value(jacobian, 36) and "…" not in local
    assert local.count("[") == 4  # the matrix keeps its rows: [[…], […], […]]
    specs = [V("x", "[1, 2, 3, 4, 5, 6, 7, 8]")]
    steps, _ = backprop_steps(run_autograd("y = sum(x * 2)", specs))
    assert {s.local for s in steps if s.operation == "x * 2"} == {"elementwise [2, 2, 2, 2, 2, 2, 2, 2]"}


def test_backprop_steps_of_w_times_b_plus_b() -> None:
    run = run_autograd("w * b + b", XWB)
    steps, leaves = backprop_steps(run)
    assert [s.node for s in steps] == ["AddBackward0", "AddBackward0", "MulBackward0", "MulBackward0"]
    mul_to_w = next(s for s in steps if s.node == "MulBackward0" and s.input_name == "w")
    assert mul_to_w.local == format_value(torch.tensor(2.0))  # d(w*b)/dw = b
    by_name = {leaf.name: leaf for leaf in leaves}
    assert sorted(c.item() for c in by_name["b"].contributions) == [1.0, 3.0]  # two paths into b
    assert by_name["b"].grad.item() == 4.0


def test_x_times_x_has_two_slots_each_with_derivative_x() -> None:
    run = run_autograd("x * x", [V("x", "3")])
    steps, leaves = backprop_steps(run)
    assert [(s.input_name, s.local) for s in steps] == [("x", "3"), ("x", "3")]
    assert leaves[0].grad.item() == 6.0


def test_tensor_local_derivatives_are_jacobians() -> None:
    specs = [V("x", "[1, 2, 3]", False), V("w", "[0.5, -1, 2]"), V("b", "0.1")]
    steps, _ = backprop_steps(run_autograd("sum(w * x + b)", specs))
    by_edge = {(s.node, s.input_name): s.local for s in steps}
    assert by_edge[("SumBackward0", "w * x + b")] == "Jacobian 1×3 [[1, 1, 1]]"
    assert by_edge[("MulBackward0", "w")] == "elementwise [1, 2, 3]"
    assert by_edge[("AddBackward0", "b")] == "Jacobian 3×1 [[1], [1], [1]]"


def test_a_matrix_product_is_not_called_elementwise() -> None:
    specs = [V("x", "[1, 2]"), V("W", "[[1, 0], [0, 1]]")]
    steps, _ = backprop_steps(run_autograd("sum(x @ W)", specs))
    by_input = {s.input_name: s.local for s in steps if s.operation == "x @ W"}
    assert by_input["x"] == "Jacobian 2×2 [[1, 0], [0, 1]]"  # diagonal by chance (W = eye), still a matrix product
    steps, _ = backprop_steps(run_autograd("sum(x * x)", specs))
    assert {s.local for s in steps if s.operation == "x * x"} == {"elementwise [1, 2]"}


def test_backward_advice_fits_the_error() -> None:
    untracked = run_autograd("y = x ** 2", [V("x", "2", False)])
    assert "does not require grad" in untracked.backward_error
    assert "requires_grad" in backward_advice(untracked) and "sum(" not in backward_advice(untracked)
    constant = run_autograd("y = 2", [V("x", "2")])
    assert "uses no variable" in backward_advice(constant) and "Turn requires_grad on" not in backward_advice(constant)
    vector = run_autograd("y = w * x", [V("x", "[1, 2]"), V("w", "2")])
    assert "scalar outputs" in vector.backward_error and "sum(...)" in backward_advice(vector)
    assert backward_advice(run_autograd("y = x ** 2", XWB)) == ""


def test_intermediate_gradients_come_from_retain_grad() -> None:
    run = run_autograd("sigmoid(w * x + b)", [V("x", "2", False), V("w", "0.5"), V("b", "-1")])
    mul = next(r.out for r in run.records if r.label == "w * x")
    assert mul.retains_grad and not mul.is_leaf  # the page asked for it ...
    plain = torch.tensor(0.5, requires_grad=True) * torch.tensor(2.0)
    torch.sigmoid(plain + torch.tensor(-1.0, requires_grad=True)).backward()
    with pytest.warns(UserWarning, match="not a leaf"):
        assert plain.grad is None  # ... which plain PyTorch does not do
    assert any("retain_grad()" in text for _, name, text in LEGEND if name == "operation")
    specs = [V("x", "2", False), V("w", "0.5"), V("b", "-1")]
    code = expression_code(run.program, specs, run.backward_error)
    assert "name it first: h = w * x; h.retain_grad()" in code
    assert code.index("\ny.retain_grad()") < code.index("\ny.backward()")


# ---------------------------------------------------------------- the real graph

def test_graph_is_the_real_grad_fn_chain() -> None:
    run = run_autograd("sigmoid(w * x + b)", [V("x", "2", False), V("w", "0.5"), V("b", "-1")])
    titles = sorted(n.title for n in run.graph.nodes)
    assert titles == ["AddBackward0", "MulBackward0", "SigmoidBackward0", "b", "w"]
    output = next(n for n in run.graph.nodes if n.is_output)
    assert output.title == type(run.output.grad_fn).__name__
    assert output.grad.item() == 1.0
    mul = run.graph.node("MulBackward0")
    assert mul.value.item() == 1.0 and mul.grad.item() == pytest.approx(0.25)
    ids = {n.title: n.id for n in run.graph.nodes}
    assert (ids["w"], ids["MulBackward0"]) in run.graph.edges
    assert (ids["b"], ids["AddBackward0"]) in run.graph.edges


def test_matmul_on_a_vector_shows_internal_grad_fn_nodes() -> None:
    run = run_autograd("sum(v @ M)", VARS)
    internal = {n.title for n in run.graph.nodes if n.kind == "internal"}
    assert "MmBackward0" in internal


def test_dot_has_every_node_and_escapes_text() -> None:
    run = run_autograd("z = w * b + b", XWB)
    dot = graph_to_dot(run.graph)
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    for node in run.graph.nodes:
        assert f"  {node.id} [" in dot
    assert dot.count("->") == len(run.graph.edges) == 4
    assert "grad = 4" in dot and "MulBackward0" in dot
    run.graph.nodes[0].label = "<b>&\"evil\""
    assert "&lt;b&gt;&amp;&quot;evil&quot;" in graph_to_dot(run.graph)


# ---------------------------------------------------------------- refused input

PWNED = Path("/tmp/torchstart_autograd_pwned")
HOSTILE = [
    (f"__import__('os').system('touch {PWNED}')", "not allowed"),
    ("x.__class__", "attribute access"),
    ("x.grad", "attribute access"),
    ("(lambda: 1)()", "lambda"),
    ("2 ** 10 ** 10", "exponent"),
    ("x ** 1000", "exponent"),
    ("pow(x, 101)", "exponent"),
    ("x + " * 2500 + "x", "characters long"),
    ("import os", "single math expression"),
    ("[i for i in range(10)]", "comprehensions"),
    ("'hello'", "Strings"),
    ("sum(x, dim=0)", "Keyword arguments"),
    ("x[0]", "indexing"),
    ("open('/etc/passwd')", "not allowed"),
    ("eval('1')", "not allowed"),
    ("exec('x')", "not allowed"),
    ("globals()", "not allowed"),
    ("unknown * 2", "Unknown name"),
    ("-" * 50 + "x", "nested"),
    ("sin(" * 35 + "x" + ")" * 35, "nested"),
    ("x + " * 120 + "x", "parts"),
    ("x if w else b", "if ... else"),
    ("x > 0", "comparisons"),
    ("f'{x}'", "f-strings"),
    ("sin", "function"),
    ("x(2)", "not allowed"),
    ("1e400 * x", "too large"),
    ("x * 10.0 ** 99 ** 2", "exponent"),
    ("x * 1e12 ** 100", "finite"),
    ("2 ** 100 * x", r"works out to 1.268e\+30; keep numbers within ±1e12"),  # folded, past the typed cap
    ("exp(30) * x", "works out to 1.069e"),
    ("(y := x)", ":="),
    ("x = x + 1", "like one of your variables"),
    ("print = x + 1", "cannot name the result"),
    ("x\x00", "could not be read"),
    ("", "empty"),
    ("x +", "not a valid expression"),
]


@pytest.mark.parametrize("text, message", HOSTILE, ids=[h[0][:30] for h in HOSTILE])
def test_hostile_or_invalid_expressions_are_refused_and_run_nothing(text: str, message: str, monkeypatch) -> None:
    evaluated = []
    monkeypatch.setattr(autograd_graph, "evaluate", lambda *a, **k: evaluated.append(a))
    with pytest.raises(TorchstartError, match=message):
        run_autograd(text, XWB)
    assert evaluated == []  # refused before a single torch op
    assert not PWNED.exists()


def test_long_expression_limit_is_the_documented_one() -> None:
    ok = "x +" + " " * (MAX_EXPRESSION_CHARS - 4) + "x"
    assert len(ok) == MAX_EXPRESSION_CHARS
    parse_expression(ok, ["x"])
    with pytest.raises(TorchstartError, match=f"limit is {MAX_EXPRESSION_CHARS}"):
        parse_expression("x" * (MAX_EXPRESSION_CHARS + 1), ["x"])


@pytest.mark.parametrize("text, message", [
    ("x @ w", "PyTorch could not compute"),  # @ on 0-d tensors
    ("v + M", "PyTorch could not compute"),  # shapes do not broadcast
])
def test_torch_errors_become_learner_messages(text: str, message: str) -> None:
    with pytest.raises(TorchstartError, match=message):
        run_autograd(text, VARS)


@pytest.mark.parametrize("spec, message", [
    (V("x", "__import__('os')"), "not allowed"),
    (V("x", "[[1, 2], [3]]"), "not rectangular"),
    (V("x", "[]"), "empty"),
    (V("x", str(list(range(101)))), "at most 100"),
    (V("sin", "1"), "reserved"),
    (V("print", "1"), "reserved"),
    (V("__class__", "1"), "cannot be a variable name"),
])
def test_bad_variables_are_refused(spec: V, message: str) -> None:
    with pytest.raises(TorchstartError, match=message):
        make_variables([spec])


# ---------------------------------------------------------------- Show code

def _exec(code: str) -> dict:
    """Run our generated code (never learner text) and return its namespace."""
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "<show code>", "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace


CODE_CASES = [
    ("y = x ** 2", XWB),
    ("z = w * b + b", XWB),
    ("sigmoid(w * x + b)", [V("x", "2", False), V("w", "0.5"), V("b", "-1")]),
    ("loss = mean((w * x + b) ** 2)", [V("x", "[1, 2, 3]", False), V("w", "[0.5, -1, 2]"), V("b", "0.1")]),
    ("y = 2 * 3", XWB),
    *[(text, VARS) for text, _ in CASES],
]


@pytest.mark.parametrize("text, specs", CODE_CASES, ids=[c[0] for c in CODE_CASES])
def test_show_code_reproduces_values_and_gradients(text: str, specs: list[V]) -> None:
    run = run_autograd(text, specs)
    code = expression_code(run.program, specs, run.backward_error)
    namespace = _exec(code)
    out = namespace[run.program.output]
    torch.testing.assert_close(out.detach(), run.output.detach())
    if run.backward_error is None:  # the output node's gradient on the page, via retain_grad() in the code
        torch.testing.assert_close(out.grad, next(n.grad for n in run.graph.nodes if n.is_output))
        assert "retain_grad()" in code or out.is_leaf
    for name in run.program.variables_used:
        if run.grads[name] is None:
            assert namespace[name].grad is None
        else:
            torch.testing.assert_close(namespace[name].grad, run.grads[name])


def test_show_code_for_a_failing_backward_prints_the_error() -> None:
    specs = [V("x", "[1, 2, 3]", False), V("w", "[0.5, -1, 2]")]
    run = run_autograd("w * x", specs)
    code = expression_code(run.program, specs, run.backward_error)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<show code>", "exec"), {})  # noqa: S102 - our own generated code
    assert "grad can be implicitly created only for scalar outputs" in out.getvalue()


def test_pwned_file_was_never_created() -> None:
    assert not os.path.exists(PWNED)
