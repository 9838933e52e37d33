"""Autograd page: hostile and unusual input gets a clear TorchstartError (never a traceback)."""

from __future__ import annotations

import pytest
import torch

from tests.test_autograd_page import PAGE, _expression_errors, _metrics
from torchstart.autograd_graph import VariableSpec as V, run_autograd
from torchstart.errors import TorchstartError
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
