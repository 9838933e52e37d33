"""Show code: the plain PyTorch program that reproduces the Autograd page's expression, values and gradients."""

from __future__ import annotations

from torchstart.autograd_graph import VariableSpec
from torchstart.expressions import Const, Node, Op, Program, Var, torch_source
from torchstart.literals import parse_literal


def _float_literal(value: object) -> str:
    """A parsed literal written with floats (requires_grad needs a floating dtype)."""
    if isinstance(value, list):
        return "[" + ", ".join(_float_literal(v) for v in value) + "]"
    return repr(float(value))


def expression_code(program: Program, specs: list[VariableSpec], backward_error: str | None = None) -> str:
    """Code that declares the variables, computes the expression, calls backward() and prints the grads.

    The output calls retain_grad() like on the page, so its printed .grad is the 1 the graph shows.

    When the page's ``backward()`` failed (non-scalar output, nothing requiring
    grad), the code catches the same RuntimeError and prints it.
    """
    out = program.output
    used = [s for s in specs if s.name in program.variables_used]
    lines = ["import torch", "", "# Leaf tensors. requires_grad=True asks autograd to track a tensor."]
    for spec in used:
        literal = _float_literal(parse_literal(spec.value, what=f"value of {spec.name}"))
        flag = ", requires_grad=True" if spec.requires_grad else ""
        lines.append(f"{spec.name} = torch.tensor({literal}{flag})")
    lines += [
        "",
        "# Forward pass: every operation on a tracked tensor is recorded as a grad_fn node.",
        f"{out} = {_forward(program)}",
        f'print("{out} =", {out})',
        f'print("{out}.grad_fn =", {out}.grad_fn)',
        "",
    ]
    if backward_error is None:
        lines += _retain_lines(program, {s.name for s in used if s.requires_grad})
        lines += ["# Backward pass: the chain rule from the output down to every leaf.", f"{out}.backward()",
                  f'print("{out}.grad =", {out}.grad)  # d{out}/d{out} = 1: where backward() starts']
    else:
        lines += [
            f"# backward() fails here: {_why(backward_error, out)}",
            "try:",
            f"    {out}.backward()",
            "except RuntimeError as err:",
            '    print("RuntimeError:", err)',
        ]
    for spec in used:
        lines.append(f'print("{spec.name}.grad =", {spec.name}.grad)')
    return "\n".join(lines) + "\n"


def _retain_lines(program: Program, tracked: set[str]) -> list[str]:
    """retain_grad() on the output, and a comment on doing the same for an intermediate, as the page does."""
    out = program.output
    if not isinstance(program.root, Op):
        return []  # the output is a leaf variable: it keeps its .grad anyway
    lines = ["# Only leaves keep .grad. The page calls retain_grad() on every intermediate result, the output",
             "# included, so its graph can show their gradients; without it their .grad stays None."]
    inner = _first_tracked_op(program.root, tracked, top=True)
    if inner is not None:
        lines.append(f"# For an intermediate, name it first: h = {torch_source(inner)}; h.retain_grad()")
    return [*lines, f"{out}.retain_grad()"]


def _first_tracked_op(node: Node, tracked: set[str], top: bool = False) -> Op | None:
    """The first operation PyTorch evaluates below the root that involves a tracked variable."""
    if not isinstance(node, Op):
        return None
    for arg in node.args:
        found = _first_tracked_op(arg, tracked)
        if found is not None:
            return found
    return None if top or not _uses(node, tracked) else node


def _uses(node: Node, names: set[str]) -> bool:
    """Whether any of ``names`` appears in the sub-expression."""
    if isinstance(node, Var):
        return node.name in names
    return isinstance(node, Op) and any(_uses(arg, names) for arg in node.args)


def _forward(program: Program) -> str:
    """The right-hand side; a bare number still becomes a tensor, as on the page."""
    if isinstance(program.root, Const):
        return f"torch.tensor({float(program.root.value)!r})"
    return torch_source(program.root)


def _why(error: str, out: str) -> str:
    """One-line reason for a failing backward(), for a code comment."""
    if "scalar outputs" in error:
        return f"{out} is not a scalar; use a reduction such as {out}.sum() or pass a gradient argument."
    if "does not require grad" in error:
        return "nothing in it requires grad, so PyTorch recorded no graph."
    return error.splitlines()[0][:100]
