"""Autograd page: Show code reproduces the output, its grad_fn and every gradient, for every op and edge case."""

from __future__ import annotations

import pytest
import torch

from tests.generated import run_code as run_generated
from torchstart.autograd_code import expression_code
from torchstart.autograd_demos import dynamic_program
from torchstart.autograd_graph import VariableSpec as V
from torchstart.autograd_graph import format_number, run_autograd
from torchstart.errors import TorchstartError

SCALARS = {"x": "2", "w": "3", "b": "-1"}
VECTORS = {"x": "[1, 2, 3]", "w": "[0.5, -1, 2]", "b": "0.1"}
EXPRESSIONS = [
    "x ** 2", "w * b + b", "sigmoid(w * x + b)", "x", "-x ** 2", "(-2) ** x", "pow(2, x)", "2 ** x", "x ** -1",
    "x ** 0.5", "-(-2) * x", "x / 0", "log(x - 2)", "sqrt(x - 2)", "abs(x - 2)", "relu(x - 2)", "max(x, 2)",
    "min(2.5, x)", "max(x, w)", "min(x)", "max(x)", "tan(x) + cos(x) * sin(x)", "exp(x) / tanh(w)",
    "mean(x * w)", "sum(x) + b", "x * 1000000000000", "x - x", "loss = (x - w) ** 2", "2 * 3 + x", "x * 0",
]
TRACKED = [None, {"x": False}, {"x": False, "w": False, "b": False}]


def run_code(code: str) -> tuple[dict, str]:
    """Our generated code's namespace and output; a non-leaf .grad read would warn, the comparison catches it."""
    return run_generated(code, quiet_warnings=True)


def assert_code_reproduces(expression: str, values: dict[str, str], tracked: dict[str, bool] | None = None) -> None:
    """Output value, dtype, shape and grad_fn, each variable's .grad, and backward()'s error agree."""
    specs = [V(name, value, (tracked or {}).get(name, True)) for name, value in values.items()]
    try:
        run = run_autograd(expression, specs)
    except TorchstartError:
        return  # refused on the page: there is no code to compare
    namespace, printed = run_code(expression_code(run.program, specs, run.backward_error))
    out = namespace[run.program.output]
    assert (out.dtype, out.shape) == (run.output.dtype, run.output.shape)
    assert torch.equal(torch.nan_to_num(out.detach()), torch.nan_to_num(run.output.detach()))
    assert type(out.grad_fn) is type(run.output.grad_fn)
    for name, tensor in run.variables.items():
        if name in run.program.variables_used:
            assert f"{name}.grad = {tensor.grad!s}\n" in printed, name
    if run.backward_error is None:
        assert "RuntimeError" not in printed
    else:
        assert f"RuntimeError: {run.backward_error}" in printed


@pytest.mark.parametrize("values", [SCALARS, VECTORS], ids=["scalars", "vectors"])
def test_every_op_with_and_without_tracking(values: dict[str, str]) -> None:
    for expression in EXPRESSIONS:
        for tracked in TRACKED:
            assert_code_reproduces(expression, values, tracked)


@pytest.mark.parametrize("expression", ["sum(tanh(x @ W))", "x @ W", "W @ W", "x @ W + b", "max(x @ W, b)"])
def test_matmul_and_broadcasting(expression: str) -> None:
    assert_code_reproduces(expression, {"x": "[1, -1]", "W": "[[0.5, -0.2, 0.1], [0.3, 0.8, -0.5]]", "b": "2"})
    assert_code_reproduces("sum(x * w)", {"x": "[[1, 2], [3, 4]]", "w": "[10, 20]"})


@pytest.mark.parametrize("expression", ["2", "-2", "y = 2", "z = 2 * 3"])
def test_a_bare_number_is_the_same_tensor_as_on_the_page(expression: str) -> None:
    assert_code_reproduces(expression, SCALARS)


@pytest.mark.parametrize("values", [{"y": "3"}, {"y": "[1, 2]", "x": "2"}], ids=["scalar", "vector"])
def test_a_variable_called_y_keeps_its_own_gradient(values: dict[str, str]) -> None:
    """Without ``name =``, the result is called y: a variable called y must not be overwritten by it."""
    assert_code_reproduces("y * 2", values)
    assert run_autograd("y * 2", [V(n, v) for n, v in values.items()]).program.output != "y"


@pytest.mark.parametrize("expression", ["err * 2", "sum(err * 2)"])
def test_a_variable_cannot_hide_a_name_the_code_uses(expression: str) -> None:
    """Show code catches backward()'s error as ``err``; a variable of that name would vanish with it."""
    with pytest.raises(TorchstartError, match="reserved"):
        run_autograd(expression, [V("err", "[1, 2]")])


@pytest.mark.parametrize("x_value, n", [(0.8, 3), (-0.5, 2), (0.0, 0), (2.0, 8), (-2.0, 1)])
def test_dynamic_program_code_prints_what_the_page_shows(x_value: float, n: int) -> None:
    run = dynamic_program(x_value, n)
    namespace, _ = run_code(run.code)
    assert format_number(namespace["out"].item()) == format_number(run.output)
    assert format_number(namespace["x"].grad.item()) == format_number(run.x_grad)
    assert sum(1 for node in run.graph.nodes if node.kind != "leaf") == n + 1
