"""Live demonstrations of the autograd behaviours learners trip on, and of define-by-run graphs.

Each demo runs real PyTorch code and returns its steps as (code, result) pairs.
The code text of every step is exactly what the function ran, so the page can
show it and a test can execute it and compare the results.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from torchstart.autograd_graph import AutogradGraph, VariableSpec, build_graph, format_value
from torchstart.params import FloatParam, IntParam

@dataclass(frozen=True)
class Example:
    """A starting point on the page: an expression and its variables (x, w and b are always declared)."""

    title: str
    expression: str
    variables: tuple[VariableSpec, ...]


def _vars(x: str, w: str, b: str, x_grad: bool = True, **extra: str) -> tuple[VariableSpec, ...]:
    """x, w, b (w and b tracked) plus extra tracked variables."""
    specs = [VariableSpec("x", x, x_grad), VariableSpec("w", w), VariableSpec("b", b)]
    return tuple(specs + [VariableSpec(name, value) for name, value in extra.items()])


EXAMPLES: tuple[Example, ...] = (
    Example("y = x ** 2 at x = 2", "y = x ** 2", _vars("2", "3", "2")),
    Example("z = w * b + b at w = 3, b = 2", "z = w * b + b", _vars("2", "3", "2")),
    Example("Neuron: sigmoid(w * x + b)", "y = sigmoid(w * x + b)", _vars("2", "0.5", "-1", x_grad=False)),
    Example("Tensors, reduced with sum()", "loss = sum(w * x + b)", _vars("[1, 2, 3]", "[0.5, -1, 2]", "0.1", False)),
    Example("Tensors, reduced with mean()", "loss = mean((w * x + b) ** 2)",
            _vars("[1, 2, 3]", "[0.5, -1, 2]", "0.1", False)),
    Example("Vector @ matrix: sum(tanh(x @ W))", "y = sum(tanh(x @ W))",
            _vars("[1, -1]", "3", "2", False, W="[[0.5, -0.2, 0.1], [0.3, 0.8, -0.5]]")),
    Example("Non-scalar output: w * x (no reduction)", "y = w * x", _vars("[1, 2, 3]", "[0.5, -1, 2]", "2", False)),
)

DEMO_X = FloatParam("x", 2.0, -5.0, 5.0, step=0.5, format="%.2f",
                    help="The value of the leaf tensor x used by the demos on this tab.")
BACKWARD_CALLS = IntParam("backward() calls", 3, 1, 6,
                          help="How many times to build y = x ** 2 and call backward() without zeroing.")
LOOP_COUNT = IntParam("n (loop runs n times)", 3, 0, 8,
                      help="The Python for-loop multiplies by x this many times; each pass adds a node.")
DYNAMIC_X = FloatParam("x for the program", 0.8, -2.0, 2.0, step=0.1, format="%.2f",
                       help="The if statement looks at the sign of x: positive takes one branch, otherwise the other.")


@dataclass
class DemoStep:
    """One snippet that was run, and what it printed or the real error PyTorch raised."""

    code: str
    result: str = ""
    error: bool = False


@dataclass
class Demo:
    """The steps of one demo, plus graphs to draw (title -> graph) and numbers worth plotting."""

    steps: list[DemoStep]
    graphs: dict[str, AutogradGraph] = field(default_factory=dict)
    values: list[float] = field(default_factory=list)


def _x(value: float) -> tuple[torch.Tensor, str]:
    """A scalar leaf and the line of code that makes it."""
    return torch.tensor(float(value), requires_grad=True), f"x = torch.tensor({float(value)!r}, requires_grad=True)"


def accumulation_demo(x_value: float, calls: int) -> Demo:
    """backward() adds into .grad: k calls give k times the gradient until zero_() or zero_grad()."""
    x, make_x = _x(x_value)
    steps = [DemoStep(f"import torch\n{make_x}")]
    values = []
    for call in range(1, calls + 1):
        y = x ** 2
        y.backward()
        values.append(float(x.grad))
        steps.append(DemoStep("y = x ** 2\ny.backward()", f"call {call}: x.grad = {format_value(x.grad)}"))
    x.grad.zero_()
    steps.append(DemoStep("x.grad.zero_()", f"x.grad = {format_value(x.grad)}"))
    y = x ** 2
    y.backward()
    steps.append(DemoStep("y = x ** 2\ny.backward()", f"x.grad = {format_value(x.grad)} (the true gradient again)"))
    optimizer = torch.optim.SGD([x], lr=0.1)
    optimizer.zero_grad()
    steps.append(DemoStep("optimizer = torch.optim.SGD([x], lr=0.1)\noptimizer.zero_grad()",
                          f"x.grad = {format_value(x.grad)} (set_to_none=True is the default)"))
    return Demo(steps, values=values)


def nonscalar_demo() -> Demo:
    """backward() on a vector needs a reduction or an explicit gradient argument."""
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    steps = [DemoStep("import torch\nx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)\ny = x * 2",
                      f"y = {format_value(y)}, shape {tuple(y.shape)}: not a scalar")]
    try:
        y.backward()
        steps.append(DemoStep("y.backward()", f"x.grad = {format_value(x.grad)}"))
    except RuntimeError as exc:
        steps.append(DemoStep("y.backward()", f"RuntimeError: {exc}", error=True))
    y.sum().backward()
    steps.append(DemoStep("y.sum().backward()", f"x.grad = {format_value(x.grad)}"))
    x.grad = None
    y = x * 2
    y.backward(gradient=torch.tensor([1.0, 0.1, 0.01]))
    steps.append(DemoStep("x.grad = None\ny = x * 2\ny.backward(gradient=torch.tensor([1.0, 0.1, 0.01]))",
                          f"x.grad = {format_value(x.grad)}"))
    return Demo(steps)


def retain_graph_demo(x_value: float) -> Demo:
    """A second backward() through the same graph fails unless the first kept it with retain_graph=True."""
    x, make_x = _x(x_value)
    y = x ** 3
    y.backward()
    steps = [DemoStep(f"import torch\n{make_x}\ny = x ** 3\ny.backward()", f"x.grad = {format_value(x.grad)}")]
    try:
        y.backward()
        steps.append(DemoStep("y.backward()", f"x.grad = {format_value(x.grad)}"))
    except RuntimeError as exc:
        steps.append(DemoStep("y.backward()", f"RuntimeError: {exc}", error=True))
    x.grad = None
    y = x ** 3
    y.backward(retain_graph=True)
    steps.append(DemoStep("x.grad = None\ny = x ** 3\ny.backward(retain_graph=True)",
                          f"x.grad = {format_value(x.grad)}"))
    y.backward()
    steps.append(DemoStep("y.backward()", f"x.grad = {format_value(x.grad)} (graph kept; gradients added)"))
    return Demo(steps)


def no_grad_detach_demo(x_value: float) -> Demo:
    """The same product three ways: tracked, with one factor detached, and under torch.no_grad()."""
    names = {}
    graphs = {}
    x, make_x = _x(x_value)
    names[id(x)] = "x"
    y = x * x
    y.backward()
    graphs["y = x * x"] = build_graph(y, names, [(y, "x * x")])
    steps = [DemoStep(f"import torch\n{make_x}\ny = x * x\ny.backward()",
                      f"y.grad_fn = {type(y.grad_fn).__name__}, x.grad = {format_value(x.grad)} (2x)")]
    x.grad = None
    y = x.detach() * x
    y.backward()
    graphs["y = x.detach() * x"] = build_graph(y, names, [(y, "x.detach() * x")])
    steps.append(DemoStep("x.grad = None\ny = x.detach() * x\ny.backward()",
                          f"x.grad = {format_value(x.grad)} (detached factor = constant)"))
    x.grad = None
    with torch.no_grad():
        y = x * x
    graphs["with torch.no_grad(): y = x * x"] = build_graph(y, names, [(y, "x * x")])
    steps.append(DemoStep("x.grad = None\nwith torch.no_grad():\n    y = x * x",
                          f"y.requires_grad = {y.requires_grad}, y.grad_fn = {y.grad_fn}"))
    try:
        y.backward()
        steps.append(DemoStep("y.backward()", f"x.grad = {format_value(x.grad)}"))
    except RuntimeError as exc:
        steps.append(DemoStep("y.backward()", f"RuntimeError: {exc}", error=True))
    return Demo(steps, graphs=graphs)


@dataclass
class DynamicRun:
    """One run of the control-flow program: its graph, result, gradient and the branch taken."""

    graph: AutogradGraph
    output: float
    x_grad: float
    branch: str
    code: str


def dynamic_program(x_value: float, n: int) -> DynamicRun:
    """A loop run ``n`` times and an ``if`` on the sign of x: the graph is whatever this run did."""
    x = torch.tensor(float(x_value), requires_grad=True)
    labels: list[tuple[torch.Tensor, str]] = []
    y = x
    for step in range(n):
        y = y * x
        labels.append((y, f"y * x  (loop pass {step + 1})"))
    if x > 0:
        out = torch.sin(y)
        branch = "x > 0, so the program took the sin branch"
    else:
        out = torch.abs(y)
        branch = "x ≤ 0, so the program took the abs branch"
    labels.append((out, "sin(y)" if x > 0 else "abs(y)"))
    out.backward()
    graph = build_graph(out, {id(x): "x"}, labels, output_name="out")
    return DynamicRun(graph, float(out.detach()), float(x.grad), branch, dynamic_code(x_value, n))


def dynamic_code(x_value: float, n: int) -> str:
    """The program above as plain PyTorch code with this run's x and n."""
    return f'''import torch

x = torch.tensor({float(x_value)!r}, requires_grad=True)
n = {int(n)}

y = x
for _ in range(n):          # plain Python loop: each pass records one MulBackward0
    y = y * x
if x > 0:                   # plain Python if: only the branch taken is recorded
    out = torch.sin(y)
else:
    out = torch.abs(y)

out.backward()
print("out =", out.item(), " x.grad =", x.grad.item())
print("graph:", out.grad_fn, "->", out.grad_fn.next_functions)
'''
