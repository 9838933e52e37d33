"""Autograd made visible: run an expression, walk the real ``grad_fn`` graph, explain backward().

``run_autograd`` builds real leaf tensors, evaluates the expression with torch
(``torchstart.expressions``), walks ``output.grad_fn`` / ``next_functions`` to
collect the graph PyTorch actually recorded, calls ``backward()`` and reads every
gradient. ``backprop_steps`` redoes the chain rule one operation at a time, and
``gradient_check`` compares autograd with central finite differences in float64.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

import torch

from torchstart.errors import TorchstartError
from torchstart.expressions import (
    MAX_VARIABLES, OPS, OpRecord, Program, Value, check_variable_name, evaluate, forward_work,
    parse_expression,
)
from torchstart.literals import literal_depth, parse_literal

MAX_VARIABLE_ELEMENTS = 100
MAX_VARIABLE_DIMS = 3
MAX_JACOBIAN_ENTRIES = 36
GRADCHECK_STEP = 1e-6
MAX_GRADCHECK_ROWS = 200  # numbers nudged; each costs two forward passes
# and all of them together at most this much work (expressions.op_work): an expression of 5e6 checks 100 numbers
GRADCHECK_WORK = 1_000_000_000
GRADCHECK_RTOL = 1e-3
GRADCHECK_ATOL = 1e-4
# Operations whose output element k depends only on input element k: their Jacobian is diagonal by kind,
# whatever the values (x @ eye(2) also has a diagonal Jacobian, but it is a matrix product).
ELEMENTWISE = frozenset({"add", "sub", "mul", "div", "pow", "neg", "pow_fn", "max2", "min2", "sin", "cos",
                         "tan", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu"})


@dataclass(frozen=True)
class VariableSpec:
    """A variable as the learner declared it: name, value text and the requires_grad toggle."""

    name: str
    value: str
    requires_grad: bool = True


@dataclass
class GraphNode:
    """One node of the drawn graph: a leaf variable, an operation (grad_fn) or an internal grad_fn."""

    id: str
    kind: str  # "leaf", "op" or "internal" (a grad_fn with no tensor of its own we can show)
    title: str  # variable name or grad_fn class name, e.g. MulBackward0
    label: str = ""  # the learner's notation for an op, e.g. "w * b"
    value: torch.Tensor | None = None
    grad: torch.Tensor | None = None
    is_output: bool = False
    grad_kept: bool = True  # False for intermediates without retain_grad(): PyTorch keeps no .grad for them


@dataclass
class AutogradGraph:
    """Nodes and forward-direction edges (input -> operation) of one recorded graph."""

    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)

    def node(self, title: str) -> GraphNode:
        """The first node with this title (handy in tests)."""
        return next(n for n in self.nodes if n.title == title)


@dataclass
class BackpropStep:
    """One chain-rule step along one edge: upstream gradient x local derivative -> gradient for an input."""

    step: int
    node: str
    operation: str
    upstream: torch.Tensor
    input_name: str
    local: str
    product: torch.Tensor


@dataclass
class LeafSummary:
    """How a leaf's ``.grad`` is the sum of the gradients that reached it."""

    name: str
    contributions: list[torch.Tensor]
    total: torch.Tensor | None
    grad: torch.Tensor | None


def gradcheck_tolerance(numeric: float) -> float:
    """Float32's tolerance around a finite difference: atol + rtol * |numeric|."""
    return GRADCHECK_ATOL + GRADCHECK_RTOL * abs(numeric)


@dataclass
class GradCheckRow:
    """Autograd vs a central finite difference for one element of one variable."""

    variable: str
    index: tuple[int, ...]
    autograd: float
    numeric: float
    # How far float64's rounding of f(v ± h) alone can move the finite difference: next to an output of 7e10,
    # a nudge of 1e-6 is lost in it (exp(25) + w read w's slope as 0).
    noise: float = 0.0

    @property
    def difference(self) -> float:
        """Absolute difference between the two gradients."""
        return abs(self.autograd - self.numeric)

    @property
    def tolerance(self) -> float:
        """Float32's tolerance for this row."""
        return gradcheck_tolerance(self.numeric)

    @property
    def rounded_away(self) -> bool:
        """The finite difference is a number, but float64's rounding of f could move it by more than the tolerance."""
        return math.isfinite(self.numeric) and self.noise > self.tolerance

    @property
    def checkable(self) -> bool:
        """The finite difference is a number to trust. Where f(v ± h) are not both numbers (log of −1, sqrt just
        left of 0) it is nan or inf while autograd still applies the derivative's formula: nothing to compare;
        nor where rounding swamps it. A finite difference beside a nan or inf gradient is compared, and fails:
        sqrt(x * x) at 0 is inf × 0 = nan."""
        return math.isfinite(self.numeric) and not self.rounded_away

    @property
    def passed(self) -> bool:
        """Within float32 tolerance, widened by the finite difference's own rounding noise."""
        return self.checkable and self.difference <= self.tolerance + self.noise

    @property
    def result(self) -> str:
        """``pass``, ``FAIL``, or ``no check`` where a gradient is nan or ±inf."""
        return "no check" if not self.checkable else "pass" if self.passed else "FAIL"


@dataclass
class AutogradRun:
    """Everything the page shows for one expression."""

    program: Program
    variables: dict[str, torch.Tensor]
    output: torch.Tensor
    records: list[OpRecord]
    graph: AutogradGraph
    order: list[object]  # grad_fn nodes in the order backward() reaches them
    backward_error: str | None = None

    @property
    def grads(self) -> dict[str, torch.Tensor | None]:
        """Each variable's ``.grad`` after backward (None where nothing reached it)."""
        return {name: t.grad for name, t in self.variables.items()}


# ---------------------------------------------------------------- variables

def make_variables(specs: Iterable[VariableSpec], dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """Real leaf tensors from the learner's declarations (values parsed safely, sizes capped)."""
    variables: dict[str, torch.Tensor] = {}
    for spec in specs:
        name = check_variable_name(spec.name)
        if name in variables:
            raise TorchstartError(f"The variable `{name}` is declared twice; remove one.")
        variables[name] = _leaf(name, spec.value, spec.requires_grad, dtype)
    if len(variables) > MAX_VARIABLES:
        raise TorchstartError(f"At most {MAX_VARIABLES} variables; remove some.")
    return variables


def _leaf(name: str, text: str, requires_grad: bool, dtype: torch.dtype) -> torch.Tensor:
    """One leaf tensor; floats because only floating tensors can require grad."""
    value = parse_literal(text, what=f"value of {name}")
    if literal_depth(value) > MAX_VARIABLE_DIMS:  # torch would call a very deep one "too many dimensions"
        raise TorchstartError(
            f"The value of {name} is nested {literal_depth(value)} brackets deep; this page keeps variables to "
            f"at most {MAX_VARIABLE_DIMS} dimensions so the graph stays readable. Remove some brackets.")
    try:
        tensor = torch.tensor(value, dtype=dtype)
    except (ValueError, TypeError):
        raise TorchstartError(
            f"The value of {name} is not rectangular: every row needs the same length, e.g. [[1, 2], [3, 4]]."
        ) from None
    if tensor.numel() == 0:
        raise TorchstartError(f"The value of {name} is empty; give it at least one number.")
    if not torch.isfinite(tensor).all():  # 1e300 is inf in float32: every gradient through it would be nan
        raise TorchstartError(
            f"The value of {name} has a number {dtype} cannot hold (beyond ±{torch.finfo(dtype).max:.3g}, so it "
            "becomes inf, and gradients through it nan). Use smaller numbers."
        )
    if tensor.numel() > MAX_VARIABLE_ELEMENTS or tensor.dim() > MAX_VARIABLE_DIMS:
        raise TorchstartError(
            f"{name} has shape {tuple(tensor.shape)}; this page keeps variables to at most "
            f"{MAX_VARIABLE_ELEMENTS} numbers and {MAX_VARIABLE_DIMS} dimensions so the graph stays readable."
        )
    return tensor.requires_grad_(requires_grad)


# ---------------------------------------------------------------- run

def run_autograd(text: str, specs: list[VariableSpec]) -> AutogradRun:
    """Parse, evaluate with real torch ops, walk the recorded graph, call backward(), snapshot values and grads."""
    variables = make_variables(specs)
    program = parse_expression(text, list(variables))
    records: list[OpRecord] = []
    output = evaluate(program, variables, records)
    if not isinstance(output, torch.Tensor):
        # A pure number: no graph at all, as PyTorch would have it; float32 like the variables and Show code.
        output = torch.tensor(float(output))
    for record in records:
        if isinstance(record.out, torch.Tensor) and record.out.grad_fn is not None:
            record.out.retain_grad()  # keep intermediate gradients so every node can show one
    labels = [(r.out, r.label) for r in records if isinstance(r.out, torch.Tensor)]
    names = {id(t): name for name, t in variables.items()}
    order = topological_order(output)
    backward_error = None
    try:
        output.backward()
    except RuntimeError as exc:
        backward_error = str(exc)
    graph = build_graph(output, names, labels, program.output)
    return AutogradRun(program, variables, output, records, graph, order, backward_error)


def backward_advice(run: AutogradRun) -> str:
    """What to change when ``backward()`` failed, told apart by PyTorch's message ("" when nothing fits)."""
    error, out = run.backward_error or "", run.program.output
    if "does not require grad" in error:
        if not run.program.variables_used:
            return (f"The expression uses no variable, so `{out}` is a constant: PyTorch recorded no graph and "
                    "there is nothing to take a gradient with respect to. Use a variable, e.g. x ** 2.")
        return ("No variable in the expression has requires_grad on, so PyTorch recorded no graph to go back "
                "through. Turn requires_grad on for a variable the expression uses.")
    if "scalar outputs" in error:
        return (f"`{out}` has shape {tuple(run.output.shape)}. backward() starts from d{out}/d{out} = 1, which "
                "only makes sense for a single number: wrap the expression in `sum(...)` or `mean(...)` (or pass "
                "`gradient=` in code).")
    return ""


def topological_order(output: torch.Tensor) -> list[object]:
    """grad_fn nodes from the output down, each before all of its ``next_functions`` (Kahn's algorithm)."""
    if output.grad_fn is None:
        return []
    parents: Counter[int] = Counter()
    nodes: dict[int, object] = {}
    stack = [output.grad_fn]
    while stack:
        fn = stack.pop()
        if id(fn) in nodes:
            continue
        nodes[id(fn)] = fn
        for child, _ in fn.next_functions:
            if child is not None:
                parents[id(child)] += 1
                stack.append(child)
    ready, order = [output.grad_fn], []
    while ready:
        fn = ready.pop(0)
        order.append(fn)
        for child, _ in fn.next_functions:
            if child is not None:
                parents[id(child)] -= 1
                if parents[id(child)] == 0:
                    ready.append(child)
    return order


def build_graph(output: torch.Tensor, names: dict[int, str], labels: list[tuple[torch.Tensor, str]],
                output_name: str = "y") -> AutogradGraph:
    """Walk ``output.grad_fn`` and its ``next_functions``; attach values and grads we know about.

    ``names`` maps ``id(leaf tensor)`` to a variable name; ``labels`` pairs
    intermediate tensors with their text, so their grad_fn nodes can show the
    forward value and (after backward, with ``retain_grad``) the gradient.
    """
    graph = AutogradGraph()
    if output.grad_fn is None:
        if output.requires_grad:  # the output is itself a leaf variable
            graph.nodes.append(GraphNode("n0", "leaf", names.get(id(output), output_name),
                                         value=_snap(output), grad=_snap(output.grad), is_output=True))
        return graph
    by_fn = {id(t.grad_fn): (t, text) for t, text in labels if t.grad_fn is not None}
    ids: dict[int, str] = {}
    keep_alive: list[object] = []  # ids stay unique only while the objects live
    stack = [output.grad_fn]
    while stack:
        fn = stack.pop()
        if id(fn) in ids:
            continue
        keep_alive.append(fn)
        ids[id(fn)] = node_id = f"n{len(ids)}"
        graph.nodes.append(_graph_node(fn, node_id, names, by_fn))
        for child, _ in fn.next_functions:
            if child is not None:
                stack.append(child)
    for fn in keep_alive:
        for child, _ in fn.next_functions:
            if child is not None:
                graph.edges.append((ids[id(child)], ids[id(fn)]))
    graph.nodes[0].is_output = True
    if not graph.nodes[0].label:
        graph.nodes[0].label = output_name
    else:
        graph.nodes[0].label = f"{output_name} = {graph.nodes[0].label}"
    return graph


def _graph_node(fn: object, node_id: str, names: dict[int, str],
                by_fn: dict[int, tuple[torch.Tensor, str]]) -> GraphNode:
    """A leaf (AccumulateGrad holds the variable) or an operation node with its tensor if known."""
    class_name = type(fn).__name__
    if class_name == "AccumulateGrad":
        leaf = fn.variable
        return GraphNode(node_id, "leaf", names.get(id(leaf), "leaf"), value=_snap(leaf), grad=_snap(leaf.grad))
    if id(fn) in by_fn:
        tensor, text = by_fn[id(fn)]
        kept = tensor.retains_grad  # only retain_grad() keeps an intermediate's grad
        return GraphNode(node_id, "op", class_name, text, value=_snap(tensor),
                         grad=_snap(tensor.grad) if kept else None, grad_kept=kept)
    return GraphNode(node_id, "internal", class_name)


def _snap(tensor: torch.Tensor | None) -> torch.Tensor | None:
    """A detached copy, so later backward() calls cannot change what was shown."""
    return None if tensor is None else tensor.detach().clone()


# ---------------------------------------------------------------- backprop table

def backprop_steps(run: AutogradRun) -> tuple[list[BackpropStep], list[LeafSummary]]:
    """The chain rule, one operation at a time, in the order backward() visits the graph.

    Each operation is redone on detached copies of its inputs so that the local
    derivative and the product ``upstream x local`` come from PyTorch itself,
    one input slot at a time (``x * x`` has two slots, each with derivative x).
    """
    if run.backward_error is not None:
        return [], []
    by_fn = {id(r.out.grad_fn): r for r in run.records
             if isinstance(r.out, torch.Tensor) and r.out.grad_fn is not None}
    names = {id(t): name for name, t in run.variables.items()}
    names.update({id(r.out): r.label for r in run.records if isinstance(r.out, torch.Tensor)})
    steps: list[BackpropStep] = []
    reached: dict[str, list[torch.Tensor]] = {}
    for fn in run.order:
        record = by_fn.get(id(fn))
        if record is None:
            continue
        for slot, arg in enumerate(record.args):
            if not (isinstance(arg, torch.Tensor) and arg.requires_grad):
                continue
            local, product = _local_and_product(record, slot, record.out.grad)
            name = names.get(id(arg), "?")
            steps.append(BackpropStep(len(steps) + 1, type(fn).__name__, record.label, _snap(record.out.grad),
                                      name, local, product))
            if arg.is_leaf:
                reached.setdefault(name, []).append(product)
    summaries = []
    for name, tensor in run.variables.items():
        if not tensor.requires_grad or name not in run.program.variables_used:
            continue
        parts = reached.get(name, [])
        if tensor is run.output:
            parts = [torch.ones_like(tensor)]  # the output itself: d y / d y = 1
        total = torch.stack(parts).sum(0) if parts else None
        summaries.append(LeafSummary(name, parts, total, _snap(tensor.grad)))
    return steps, summaries


def _local_and_product(record: OpRecord, slot: int, upstream: torch.Tensor) -> tuple[str, torch.Tensor]:
    """Local derivative d(out)/d(input in ``slot``) as text, and the vector-Jacobian product with upstream."""
    fn = OPS[record.node.kind].fn
    fixed = [a.detach() if isinstance(a, torch.Tensor) else a for a in record.args]

    def only_slot(value: torch.Tensor) -> Value:
        args = list(fixed)
        args[slot] = value
        return fn(*args)

    inp = record.args[slot].detach().clone().requires_grad_(True)
    (product,) = torch.autograd.grad(only_slot(inp), inp, grad_outputs=upstream)
    out_numel, in_numel = record.out.numel(), inp.numel()
    small = out_numel * in_numel <= MAX_JACOBIAN_ENTRIES
    # Same size in and out (no broadcasting of this input): one output element per input element.
    elementwise = record.node.kind in ELEMENTWISE and out_numel == in_numel
    if not small and not (elementwise and in_numel <= MAX_JACOBIAN_ENTRIES):
        return f"Jacobian {out_numel}×{in_numel} (too big to show)", product
    # One backward pass per output element: cheap because both sizes are capped above.
    jacobian = torch.autograd.functional.jacobian(only_slot, inp.detach()).reshape(out_numel, in_numel)
    if out_numel == in_numel == 1:
        return format_value(jacobian.reshape(())), product
    if elementwise:
        return f"elementwise {format_value(torch.diagonal(jacobian), MAX_JACOBIAN_ENTRIES)}", product
    if not small:
        return f"Jacobian {out_numel}×{in_numel} (too big to show)", product
    # Every entry, row by row (one row per output element): cut to six, a local derivative cannot be read.
    return f"Jacobian {out_numel}×{in_numel} {format_value(jacobian, MAX_JACOBIAN_ENTRIES)}", product


# ---------------------------------------------------------------- gradient check

def gradcheck_limit(run: AutogradRun, specs: list[VariableSpec]) -> int:
    """How many numbers the gradient check nudges: ``MAX_GRADCHECK_ROWS``, fewer for costly expressions."""
    try:
        work = forward_work(run.program, make_variables(specs, dtype=torch.float64))
    except TorchstartError:
        return 0
    return max(1, min(MAX_GRADCHECK_ROWS, GRADCHECK_WORK // (2 * max(work, 1))))


def gradient_check(run: AutogradRun, specs: list[VariableSpec], limit: int | None = None) -> list[GradCheckRow]:
    """Central finite differences (float64) against autograd's ``.grad``, element by element (the first
    ``limit``, by default ``gradcheck_limit``)."""
    if run.output.numel() != 1 or run.backward_error is not None:
        return []
    limit = gradcheck_limit(run, specs) if limit is None else limit
    # At the float32 values autograd used: 1000.01 typed is 1000.0099487 in float32, which matters next to a pole.
    base = {name: tensor.detach().double() for name, tensor in run.variables.items()}
    rows: list[GradCheckRow] = []
    with torch.no_grad():
        for name, tensor in checked_variables(run).items():
            grad = tensor.grad if tensor.grad is not None else torch.zeros_like(tensor)
            for index in _indices(tensor.shape):
                if len(rows) >= limit:
                    return rows
                numeric, noise = _central_difference(run.program, base, name, index)
                rows.append(GradCheckRow(name, index, float(grad[index]), numeric, noise))
    return rows


def checked_variables(run: AutogradRun) -> dict[str, torch.Tensor]:
    """The variables the gradient check nudges: those that require grad and appear in the expression."""
    return {name: tensor for name, tensor in run.variables.items()
            if tensor.requires_grad and name in run.program.variables_used}


def gradcheck_total(run: AutogradRun) -> int:
    """How many numbers a check without a limit would nudge."""
    return sum(tensor.numel() for tensor in checked_variables(run).values())


def gradcheck_summary(rows: list[GradCheckRow], output: torch.Tensor) -> tuple[str, str]:
    """The check's verdict as (level, text): ``success``, ``warning``, or ``info`` when nothing could be compared."""
    checked = [r for r in rows if r.checkable]
    passed = sum(r.passed for r in rows)
    chain = ""
    if any(math.isnan(r.autograd) for r in checked):
        chain = (" Where autograd's gradient is nan beside a finite difference, the chain rule met an "
                 "infinite local derivative times 0 (sqrt(x * x) at 0: ∞ · 0 = nan), a real failure of the "
                 "formula-by-formula product, not of the function.")
    if any(math.isinf(r.autograd) for r in checked):
        chain += (" Where autograd's gradient is ±inf beside a finite difference, float32 overflowed (its largest "
                  "number is 3.4e38; exp(100) is 2.7e43) while the float64 check did not: the formula is right, "
                  "the numbers are too big for float32.")
    if len(checked) == len(rows):
        return ("success" if passed == len(rows) else "warning",
                f"{passed} of {len(rows)} gradients agree with finite differences.{chain}")
    finite = bool(torch.isfinite(output.detach()).all())
    texts = []
    unnumbered = sum(not math.isfinite(r.numeric) for r in rows)
    if unnumbered:
        where = "" if finite else "The output holds nan or ±inf. "
        texts.append(
            f"{where}{unnumbered} of {len(rows)} gradients cannot be checked: there f(v + h) and f(v − h) are not "
            "both numbers, so the finite difference is nan or ±inf. That happens outside a function's domain (log "
            "or sqrt of a negative number), or where a nudge of h crosses its edge (sqrt just right of 0); "
            "autograd still applies the derivative's formula (log's is 1/x, which gives −1 at x = −1).")
    rounded = sum(r.rounded_away for r in rows)
    if rounded:
        big = max(abs(float(v)) for v in output.detach().double().reshape(-1))
        texts.append(
            f"{rounded} of {len(rows)} gradients cannot be checked: the output, about {big:.3g}, is so large that "
            "float64's rounding of f(v ± h) hides the change a nudge of h makes (a float64 holds 16 digits), so "
            "the finite difference is noise there.")
    text = " ".join(texts)
    if not checked:
        return "info", text
    return ("success" if passed == len(checked) else "warning",
            f"{passed} of {len(checked)} checkable gradients agree with finite differences.{chain} {text}")


def _indices(shape: torch.Size) -> list[tuple[int, ...]]:
    """Every element index of a tensor of ``shape`` (``()`` for a scalar)."""
    return list(itertools.product(*(range(n) for n in shape)))


def finite_difference_step(value: float) -> float:
    """h for nudging ``value``: 1e-6 from |v| = 1 up, down to 1e-9 for small |v|, and at least 1e-9·|v|."""
    # Small v: log(x) at 1e-5 nudged by 1e-6 moved 10% of the way to its pole (100335 for 100000). Big v:
    # float64's spacing next to 1e10 is about 2e-6, so v + 1e-6 would round away; 1e-9·|v| is 10⁶ spacings.
    return max(GRADCHECK_STEP * min(1.0, max(abs(value), 1e-3)), 1e-9 * abs(value))


def _central_difference(program: Program, base: dict[str, torch.Tensor], name: str,
                        index: tuple[int, ...]) -> tuple[float, float]:
    """(f(v + h) - f(v - h)) / 2h and its rounding noise, by ``finite_difference_step``; where that small h is lost
    in a big output's rounding (x + 100000 at x = 0.01), by the larger 1e-6·max(1, |v|) if that one is not."""
    value = float(base[name][index])
    small = _difference(program, base, name, index, finite_difference_step(value))
    if not (math.isfinite(small[0]) and small[1] > gradcheck_tolerance(small[0])):
        return small
    large = _difference(program, base, name, index, GRADCHECK_STEP * max(1.0, abs(value)))
    fits = math.isfinite(large[0]) and large[1] <= gradcheck_tolerance(large[0])
    return large if fits else small


def _difference(program: Program, base: dict[str, torch.Tensor], name: str, index: tuple[int, ...],
                step: float) -> tuple[float, float]:
    """(f(v + h) - f(v - h)) / 2h for h = ``step``, and how much float64's rounding of the two f could move it."""
    values = []
    for sign in (1.0, -1.0):
        env = {k: v.detach().clone() for k, v in base.items()}
        env[name][index] += sign * step
        values.append(float(torch.as_tensor(evaluate(program, env)).sum()))
    # Each f carries a few roundings of its size (eps = 2.2e-16, half of it per operation): 4 eps between the two
    # covers a short chain of operations.
    noise = 4 * torch.finfo(torch.float64).eps * max(abs(values[0]), abs(values[1])) / (2 * step)
    return (values[0] - values[1]) / (2 * step), (noise if math.isfinite(noise) else math.inf)


# ---------------------------------------------------------------- formatting

def format_number(value: float) -> str:
    """Short, readable number: 4 significant digits, integers without a trailing .0."""
    text = f"{value:.4g}"
    return "0" if text == "-0" else text


def format_value(tensor: torch.Tensor | float | None, max_items: int = 6) -> str:
    """A tensor as short text: ``4``, ``[1, 2, 3]``, or ``(4, 5) [1, 2, 3, …]`` when big."""
    if tensor is None:
        return "None"
    if not isinstance(tensor, torch.Tensor):
        return format_number(float(tensor))
    tensor = tensor.detach()
    if tensor.dim() == 0:
        return format_number(float(tensor))
    if tensor.numel() <= max_items:
        return _nested(tensor.tolist())
    flat = ", ".join(format_number(v) for v in tensor.flatten()[:max_items].tolist())
    shape = "×".join(str(n) for n in tensor.shape)
    return f"({shape}) [{flat}, …]"


def _nested(values: list | float) -> str:
    """Nested lists of numbers with short numbers."""
    if isinstance(values, list):
        return "[" + ", ".join(_nested(v) for v in values) + "]"
    return format_number(values)
