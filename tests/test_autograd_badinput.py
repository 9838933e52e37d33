"""Autograd page: hostile and unusual input gets a clear TorchstartError (never a traceback)."""

from __future__ import annotations

import pytest
import torch

from tests.test_autograd_page import PAGE, _expression_errors, _metrics
from torchstart.autograd_graph import (GRADCHECK_WORK, MAX_GRADCHECK_ROWS, VariableSpec as V, gradcheck_limit,
                                      gradient_check, run_autograd)
from torchstart.errors import TorchstartError
from torchstart.expressions import MAX_FORWARD_WORK, forward_work, op_work
from torchstart.literals import parse_literal

DEEP_SIGNS = "-" * 5000 + "1"  # Python's parser runs out of recursion long before the length cap


@pytest.mark.parametrize("value, message", [
    (DEEP_SIGNS, "The value of x is nested too deeply to read"),
    ("[" * 65 + "1" + "]" * 65, "The value of x is nested 65 brackets deep; this page keeps variables to at most 3"),
    ("[[[[1]]]]", "nested 4 brackets deep"),
])
def test_bad_variable_value_is_explained(value: str, message: str) -> None:
    with pytest.raises(TorchstartError, match=message):
        run_autograd("y = x * 2", [V("x", value)])


@pytest.mark.parametrize("expression", ["y = 2 @ x", "y = x @ 3", "y = sum(x @ (2 * 3))"])
def test_a_plain_number_beside_matmul_is_explained(expression: str) -> None:
    with pytest.raises(TorchstartError, match="has a plain number on one side; both sides of @ must involve a "
                                              r"variable\. Use \* to scale by a number\."):
        run_autograd(expression, [V("x", "[1, 2]")])


def test_matmul_of_two_variables_still_works() -> None:
    run = run_autograd("y = x @ w", [V("x", "[1, 2]"), V("w", "[3, 4]")])
    assert run.output.item() == 11.0
    assert run.grads["x"].tolist() == [3.0, 4.0]


def test_page_explains_a_value_too_deep_to_parse(open_page) -> None:
    at = open_page(PAGE)
    at.text_input(key="autograd.value.x").set_value(DEEP_SIGNS).run()
    assert not at.exception, [e.value for e in at.exception]
    errors = _expression_errors(at)
    assert len(errors) == 1 and "nested too deeply to read" in errors[0]
    assert _metrics(at)["x.grad"] == "4"  # the last good result stays



@pytest.mark.parametrize("value", ["1e300", "[1, -1e39]", "1e999"])
def test_a_value_float32_cannot_hold_is_refused(value: str) -> None:
    assert not torch.isfinite(torch.tensor(parse_literal(value), dtype=torch.float32)).all()  # torch: inf
    with pytest.raises(TorchstartError, match=r"torch.float32 cannot hold \(beyond ±3.4e\+38"):
        run_autograd("y = x * 2", [V("x", value)])


COLUMN = "[" + ", ".join(["[0.01]"] * 100) + "]"  # x: (100, 1), the most numbers a variable may hold
ROW = "[[" + ", ".join(["0.01"] * 100) + "]]"  # w: (1, 100)
OUTER = "(x @ w)"  # (100, 100): 10,000 numbers, one multiply-add each
FOUR = f"(({OUTER} @ {OUTER}) @ ({OUTER} @ {OUTER}))"  # three (100, 100) products more: 3e6 multiply-adds


def test_the_work_of_one_pass_is_counted_and_capped() -> None:
    specs = [V("x", COLUMN), V("w", ROW)]
    a, b = torch.ones(10, 10), torch.ones(10, 3)
    assert op_work("matmul", (a, b), a @ b) == 30 * 10 and op_work("add", (a, a), a + a) == 100
    run = run_autograd(f"sum({FOUR} @ {OUTER})", specs)  # under the cap: 4.05e6
    assert forward_work(run.program, run.variables) == 4 * 10_000 + 4 * 1_000_000 + 1 + 10_000 == 4_050_001
    # 19 products of (100, 100) matrices, each result within the 10,000-number cap: 2e7 of work, refused
    many = f"sum((({FOUR} @ {FOUR}) @ ({FOUR} @ {FOUR})) @ {FOUR})"
    with pytest.raises(TorchstartError, match=f"more than {MAX_FORWARD_WORK:,} multiply-adds"):
        run_autograd(many, specs)


def test_the_gradient_check_nudges_fewer_numbers_for_a_costly_expression() -> None:
    specs = [V("x", COLUMN), V("w", ROW)]
    run = run_autograd(f"sum({FOUR} @ {OUTER})", specs)
    limit = GRADCHECK_WORK // (2 * 4_050_001)
    assert gradcheck_limit(run, specs) == limit == 123
    rows = gradient_check(run, specs)
    assert len(rows) == limit and all(r.passed for r in rows)
    cheap = [V("x", "[1, 2, 3]")]
    assert gradcheck_limit(run_autograd("sum(x * x)", cheap), cheap) == MAX_GRADCHECK_ROWS


def test_the_page_refuses_a_costly_expression_and_says_when_the_check_is_shortened(open_page) -> None:
    at = open_page(PAGE)
    at.text_input(key="autograd.new_name").set_value("w").run()
    at.button(key="autograd.add").click().run()
    at.text_input(key="autograd.value.x").set_value(COLUMN).run()
    at.text_input(key="autograd.value.w").set_value(ROW).run()
    at.text_input(key="autograd.expression").set_value(f"sum({FOUR} @ {OUTER})").run()
    assert not at.exception and not _expression_errors(at)
    assert any("Only the first 123 numbers are checked: each takes two passes" in c.value for c in at.caption)
    kept = _metrics(at)
    at.text_input(key="autograd.expression").set_value(f"sum(({FOUR} @ {FOUR}) @ ({FOUR} @ {FOUR}))").run()
    errors = _expression_errors(at)
    assert len(errors) == 1 and f"more than {MAX_FORWARD_WORK:,} multiply-adds" in errors[0], errors
    assert _metrics(at) == kept  # the last good result stays


def test_a_check_of_exactly_the_cap_does_not_say_it_was_shortened(open_page) -> None:
    at = open_page(PAGE)
    at.text_input(key="autograd.new_name").set_value("w").run()
    at.button(key="autograd.add").click().run()
    hundred = "[" + ", ".join(["1"] * 100) + "]"
    at.text_input(key="autograd.value.x").set_value(hundred).run()
    at.text_input(key="autograd.value.w").set_value(hundred).run()
    at.text_input(key="autograd.expression").set_value("sum(x * w)").run()  # 200 numbers: every one checked
    assert not at.exception and not _expression_errors(at)
    assert not any("Only the first" in c.value for c in at.caption)
    at.text_input(key="autograd.new_name").set_value("b").run()  # variables hold at most 100 numbers
    at.button(key="autograd.add").click().run()
    at.text_input(key="autograd.value.b").set_value("1").run()
    at.text_input(key="autograd.expression").set_value("sum(x * w) + b").run()  # 201: b is left out
    assert not at.exception and not _expression_errors(at)
    assert any("Only the first 200 numbers are checked." in c.value for c in at.caption)
