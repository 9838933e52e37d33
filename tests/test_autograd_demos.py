"""Autograd gotcha demos and the define-by-run program: real results, and their shown code runs the same."""

from __future__ import annotations

import contextlib
import io
import math

import pytest
import torch

from torchstart import autograd_demos as demos


def _replay(demo: demos.Demo) -> dict:
    """Execute the demo's shown code step by step; error steps must raise the same RuntimeError."""
    namespace: dict = {}
    for step in demo.steps:
        code = compile(step.code, "<demo>", "exec")
        with contextlib.redirect_stdout(io.StringIO()):
            if step.error:
                with pytest.raises(RuntimeError) as raised:
                    exec(code, namespace)  # noqa: S102 - our own generated code
                assert step.result == f"RuntimeError: {raised.value}"
            else:
                exec(code, namespace)  # noqa: S102 - our own generated code
    return namespace


@pytest.mark.parametrize("x_value, calls", [(2.0, 3), (-1.5, 2), (0.5, 6)])
def test_backward_twice_accumulates_then_zeroing_resets(x_value: float, calls: int) -> None:
    demo = demos.accumulation_demo(x_value, calls)
    true_grad = 2 * x_value  # d(x**2)/dx
    assert demo.values == pytest.approx([true_grad * k for k in range(1, calls + 1)])
    if calls >= 2:
        assert demo.values[1] == pytest.approx(2 * demo.values[0])  # the numbers double
    assert f"x.grad = {demos.format_value(torch.tensor(0.0))}" in demo.steps[calls + 1].result
    assert demo.steps[-1].result.startswith("x.grad = None")
    namespace = _replay(demo)
    assert namespace["x"].grad is None  # optimizer.zero_grad() set it to None


def test_non_scalar_backward_needs_a_reduction() -> None:
    demo = demos.nonscalar_demo()
    errors = [s for s in demo.steps if s.error]
    assert len(errors) == 1 and "grad can be implicitly created only for scalar outputs" in errors[0].result
    namespace = _replay(demo)
    torch.testing.assert_close(namespace["x"].grad, torch.tensor([2.0, 0.2, 0.02]))


def test_second_backward_needs_retain_graph() -> None:
    demo = demos.retain_graph_demo(2.0)
    errors = [s for s in demo.steps if s.error]
    assert len(errors) == 1 and "Trying to backward through the graph a second time" in errors[0].result
    namespace = _replay(demo)
    assert namespace["x"].grad.item() == pytest.approx(2 * 3 * 2.0 ** 2)  # two retained passes of 3x^2


def test_no_grad_and_detach_remove_the_graph() -> None:
    demo = demos.no_grad_detach_demo(2.0)
    full, detached, no_grad = demo.graphs.values()
    assert len(full.edges) == 2 and len(detached.edges) == 1  # the detached factor's edge is gone
    assert no_grad.nodes == [] and no_grad.edges == []
    assert "x.grad = 2" in demo.steps[1].result  # only the tracked factor counts
    assert "does not require grad" in demo.steps[-1].result
    _replay(demo)


@pytest.mark.parametrize("x_value, n", [(0.8, 3), (0.8, 0), (-0.7, 2), (1.2, 8)])
def test_dynamic_graph_follows_the_loop_and_the_branch(x_value: float, n: int) -> None:
    run = demos.dynamic_program(x_value, n)
    titles = [node.title for node in run.graph.nodes]
    assert titles.count("MulBackward0") == n
    assert ("SinBackward0" in titles) == (x_value > 0)
    assert ("AbsBackward0" in titles) == (x_value <= 0)
    x = torch.tensor(x_value, dtype=torch.float64)
    inner = x ** (n + 1)
    expected_grad = (math.cos(inner) if x_value > 0 else math.copysign(1.0, inner)) * (n + 1) * x ** n
    assert run.x_grad == pytest.approx(float(expected_grad), rel=1e-5)
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(run.code, "<dynamic>", "exec"), namespace)  # noqa: S102 - our own generated code
    assert namespace["out"].item() == pytest.approx(run.output)
    assert namespace["x"].grad.item() == pytest.approx(run.x_grad)


def test_changing_n_changes_the_drawn_graph() -> None:
    from torchstart.autograd_dot import graph_to_dot

    assert graph_to_dot(demos.dynamic_program(0.8, 2).graph) != graph_to_dot(demos.dynamic_program(0.8, 3).graph)
    assert graph_to_dot(demos.dynamic_program(0.8, 2).graph) != graph_to_dot(demos.dynamic_program(-0.8, 2).graph)
