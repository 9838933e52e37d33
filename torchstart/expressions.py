"""Learner-typed math expressions: parsed with ``ast`` against a whitelist, evaluated as real torch ops.

Nothing the learner types is ever handed to ``eval``/``exec``. ``parse_expression``
checks the syntax tree node by node (numbers, declared variables, ``+ - * / ** @``,
unary minus and a fixed set of functions) and turns it into a tiny tree of
``Const``/``Var``/``Op`` objects. ``evaluate`` walks that tree calling torch,
so PyTorch records exactly the graph a hand-written program would build.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import math
import operator
import re
from dataclasses import dataclass, field
from typing import Callable, Union

import torch

from torchstart.errors import TorchstartError

MAX_EXPRESSION_CHARS = 500
MAX_SYNTAX_NODES = 200
MAX_DEPTH = 30
MAX_EXPONENT = 100
MAX_NUMBER = 1e12
MAX_VARIABLES = 8
MAX_RESULT_ELEMENTS = 10_000  # broadcasting can multiply sizes; keep every result small
# Work of one pass: each result's numbers, plus k multiply-adds per number of an @ over k. Small results can still
# chain into much work (19 products of 100 x 100 matrices: 2e7), and the page repeats the pass for its views.
MAX_FORWARD_WORK = 10_000_000
CODE_NAMES = ("torch", "err")  # Show code imports torch and catches backward()'s error as err
VARIABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,15}$")

Value = Union[torch.Tensor, int, float]


def _as_tensor_like(value: Value, like: Value) -> Value:
    """A Python number as a tensor matching ``like`` (for torch functions that refuse plain numbers)."""
    if isinstance(value, torch.Tensor):
        return value
    dtype = like.dtype if isinstance(like, torch.Tensor) else torch.get_default_dtype()
    return torch.tensor(value, dtype=dtype)


def _maximum(a: Value, b: Value) -> torch.Tensor:
    return torch.maximum(_as_tensor_like(a, b), _as_tensor_like(b, a))


def _minimum(a: Value, b: Value) -> torch.Tensor:
    return torch.minimum(_as_tensor_like(a, b), _as_tensor_like(b, a))


@dataclass(frozen=True)
class OpSpec:
    """How one operation is computed, written in Show code, and written in the learner's notation."""

    fn: Callable[..., Value]
    torch_name: str  # "+" style operators are binary infix; others are torch.<name>(...)
    learner_name: str
    arity: int
    tensor_args: bool = False  # Show code must wrap plain numbers in torch.tensor(...)


BINARY_OPS: dict[type, str] = {
    ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow", ast.MatMult: "matmul",
}
INFIX: dict[str, tuple[type, str]] = {
    "add": (ast.Add, "+"), "sub": (ast.Sub, "-"), "mul": (ast.Mult, "*"), "div": (ast.Div, "/"),
    "pow": (ast.Pow, "**"), "matmul": (ast.MatMult, "@"),
}

OPS: dict[str, OpSpec] = {
    "add": OpSpec(operator.add, "+", "+", 2),
    "sub": OpSpec(operator.sub, "-", "-", 2),
    "mul": OpSpec(operator.mul, "*", "*", 2),
    "div": OpSpec(operator.truediv, "/", "/", 2),
    "pow": OpSpec(operator.pow, "**", "**", 2),
    "matmul": OpSpec(operator.matmul, "@", "@", 2),
    "neg": OpSpec(operator.neg, "-", "-", 1),
    "pow_fn": OpSpec(torch.pow, "pow", "pow", 2),
    "max2": OpSpec(_maximum, "maximum", "max", 2, tensor_args=True),
    "min2": OpSpec(_minimum, "minimum", "min", 2, tensor_args=True),
    **{name: OpSpec(getattr(torch, name), name, name, 1)
       for name in ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu",
                    "sum", "mean", "max", "min")},
}

# Function names the learner may call, and how many arguments each accepts -> op kind.
FUNCTIONS: dict[str, dict[int, str]] = {
    **{name: {1: name} for name in ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sigmoid",
                                    "relu", "sum", "mean")},
    "max": {1: "max", 2: "max2"},
    "min": {1: "min", 2: "min2"},
    "pow": {2: "pow_fn"},
}
ALLOWED_FUNCTIONS = ", ".join(FUNCTIONS)

# Friendly names for syntax the whitelist refuses, so the message says what was typed.
_REFUSED = {
    ast.Attribute: "attribute access (such as `x.grad` or `x.__class__`)",
    ast.Subscript: "indexing and slicing (such as `x[0]`)",
    ast.Lambda: "lambda functions",
    ast.ListComp: "comprehensions", ast.SetComp: "comprehensions", ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Compare: "comparisons (such as `x > 0`)",
    ast.BoolOp: "and / or",
    ast.IfExp: "if ... else expressions",
    ast.List: "lists (type tensor values in the variable boxes instead)",
    ast.Tuple: "tuples", ast.Set: "sets", ast.Dict: "dictionaries",
    ast.JoinedStr: "f-strings", ast.NamedExpr: "the := operator", ast.Starred: "* unpacking",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield", ast.Slice: "slices",
}


@dataclass(frozen=True)
class Const:
    """A number; ``text`` is how it is written in code (folded constants use their value)."""

    value: int | float
    text: str


@dataclass(frozen=True)
class Var:
    """A declared variable."""

    name: str


@dataclass(frozen=True)
class Op:
    """One operation applied to sub-expressions."""

    kind: str
    args: tuple["Node", ...]


Node = Union[Const, Var, Op]


@dataclass(frozen=True)
class Program:
    """A checked expression: ``output`` names the result (``y`` unless typed as ``z = ...``)."""

    output: str
    root: Node
    text: str

    @property
    def variables_used(self) -> list[str]:
        """Variable names in the order they first appear."""
        seen: list[str] = []
        _collect_vars(self.root, seen)
        return seen


def _collect_vars(node: Node, seen: list[str]) -> None:
    if isinstance(node, Var) and node.name not in seen:
        seen.append(node.name)
    elif isinstance(node, Op):
        for arg in node.args:
            _collect_vars(arg, seen)


@dataclass
class OpRecord:
    """One evaluated operation: how to redo it, its inputs and its output (for the graph and the table)."""

    node: Op
    args: tuple[Value, ...]
    out: Value
    label: str = field(default="")


def _code(text: object) -> str:
    """A fragment of learner text for a message, shown as inline code (no backticks inside)."""
    return str(text).replace("`", "'")


def check_variable_name(name: str) -> str:
    """Return ``name`` if it can be a variable, else say why not."""
    name = name.strip()
    if not VARIABLE_NAME.match(name):
        raise TorchstartError(
            f"`{_code(name)}` cannot be a variable name: use a letter followed by letters, digits or _ "
            "(at most 16 characters), for example x2 or bias."
        )
    if _reserved(name):
        raise TorchstartError(f"`{_code(name)}` is a reserved word, a function name or a name the Show code uses; "
                              "pick another variable name.")
    return name


def _reserved(name: str) -> bool:
    """Python keywords and builtins, our functions, ``torch`` and ``err``: Show code would break if shadowed."""
    return keyword.iskeyword(name) or name in FUNCTIONS or name in CODE_NAMES or hasattr(builtins, name)


def parse_expression(text: str, variables: list[str] | tuple[str, ...]) -> Program:
    """Check ``text`` against the whitelist and return a ``Program``; raise ``TorchstartError`` if refused.

    ``text`` is one expression such as ``sigmoid(w * x + b)``, optionally written
    as an assignment ``y = ...``. Constant sub-expressions are folded (in float64)
    after their exponents are checked, so ``2 ** 10 ** 10`` is refused, never computed.
    """
    if len(text) > MAX_EXPRESSION_CHARS:
        raise TorchstartError(
            f"The expression is {len(text):,} characters long; the limit is {MAX_EXPRESSION_CHARS}. "
            "Type a shorter expression."
        )
    text = text.strip()
    if not text:
        raise TorchstartError("The expression is empty: type one such as x ** 2 or sigmoid(w * x + b).")
    output, body = _split_assignment(text, variables)
    tree = _parse(body)
    _check_size(tree)
    root = _convert(tree.body, set(variables), depth=0)
    return Program(output=output, root=root, text=text)


def _split_assignment(text: str, variables: list[str] | tuple[str, ...]) -> tuple[str, str]:
    """Accept an optional ``name = expression``; return (output name, expression text)."""
    match = re.match(r"^\s*([A-Za-z_]\w*)\s*=(?!=)(.*)$", text, flags=re.DOTALL)
    if not match:  # the same pattern as assigned_name, which the page uses before there is a program
        return _free_output_name(variables), text
    name, body = match.group(1), match.group(2)
    if not VARIABLE_NAME.match(name) or _reserved(name):
        raise TorchstartError(f"`{_code(name)}` cannot name the result: use a plain name such as y, z or loss.")
    if name in variables:
        raise TorchstartError(
            f"The result is called `{_code(name)}`, like one of your variables; give the result another name "
            f"(for example {_free_output_name(variables)}) so the graph has one node per name."
        )
    return name, body.strip()


def assigned_name(text: str) -> str | None:
    """The result name of ``name = expression`` text, or None when the text names no result."""
    match = re.match(r"^\s*([A-Za-z_]\w*)\s*=(?!=)", text)
    return match.group(1) if match else None


def _free_output_name(variables: list[str] | tuple[str, ...]) -> str:
    """``y``, or ``y2``, ``y3`` ... when a variable is already called that (Show code would overwrite it)."""
    name, number = "y", 1
    while name in variables:
        number += 1
        name = f"y{number}"
    return name


def _parse(body: str) -> ast.Expression:
    """``ast.parse`` in expression mode, turning every parser complaint into a learner message."""
    if "\x00" in body:
        raise TorchstartError("That expression could not be read: it contains a null character. Retype it.")
    try:
        return ast.parse(body, mode="eval")
    except SyntaxError as exc:
        if re.match(r"^\s*(import|from|def|class|for|while|with|del|global|return|lambda\s*:)\b", body):
            raise TorchstartError(
                "Only a single math expression is allowed here; statements such as import, def or loops "
                "are not. Type something like w * x + b."
            ) from None
        where = f", column {exc.offset}" if exc.offset else ""
        raise TorchstartError(
            f"That is not a valid expression ({exc.msg}{where}). "
            "Check brackets and operators, e.g. sigmoid(w * x + b)."
        ) from None
    except (ValueError, RecursionError, MemoryError):
        raise TorchstartError("That expression could not be read: it is nested too deeply.") from None


def _check_size(tree: ast.AST) -> None:
    """Refuse trees with too many nodes (a cheap guard before the recursive checks)."""
    count = sum(1 for _ in ast.walk(tree))
    if count > MAX_SYNTAX_NODES:
        raise TorchstartError(
            f"The expression has {count} parts; the limit is {MAX_SYNTAX_NODES}. Split it into something smaller."
        )


def _convert(node: ast.AST, variables: set[str], depth: int) -> Node:
    """Turn one whitelisted syntax node into a Const/Var/Op; refuse everything else."""
    if depth > MAX_DEPTH:
        raise TorchstartError(f"The expression is nested more than {MAX_DEPTH} levels deep; flatten it.")
    if isinstance(node, ast.Constant):
        return _constant(node)
    if isinstance(node, ast.Name):
        return _name(node.id, variables)
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.UAdd):
            return _convert(node.operand, variables, depth + 1)
        if isinstance(node.op, ast.USub):
            return _fold(Op("neg", (_convert(node.operand, variables, depth + 1),)), node)
        raise TorchstartError("Only unary minus is allowed; `not` and `~` are not.")
    if isinstance(node, ast.BinOp):
        kind = BINARY_OPS.get(type(node.op))
        if kind is None:
            raise TorchstartError(
                f"The operator `{_code(ast.unparse(node)[:40])}` is not allowed; use `+ - * / **` or `@`."
            )
        left = _convert(node.left, variables, depth + 1)
        right = _convert(node.right, variables, depth + 1)
        return _fold(Op(kind, (left, right)), node)
    if isinstance(node, ast.Call):
        return _call(node, variables, depth)
    raise _refuse(node)


def _refuse(node: ast.AST) -> TorchstartError:
    """The error for a kind of syntax that is not on the whitelist."""
    what = _REFUSED.get(type(node), f"{type(node).__name__} syntax")
    return TorchstartError(
        f"Not allowed in an expression: {what}. Use numbers, your variables, "
        f"`+ - * / ** @`, parentheses and the functions {ALLOWED_FUNCTIONS}."
    )


def _constant(node: ast.Constant) -> Const:
    """Numbers only (bools, strings, bytes, complex and ``...`` are refused)."""
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "Strings are" if isinstance(value, (str, bytes)) else f"`{_code(ast.unparse(node)[:40])}` is"
        raise TorchstartError(f"{kind} not allowed in an expression; only numbers and your variables.")
    if not abs(value) <= MAX_NUMBER:  # also catches nan/inf
        raise TorchstartError(f"The number {ast.unparse(node)[:30]} is too large; keep numbers within ±1e12.")
    return Const(value, ast.unparse(node))


def _name(name: str, variables: set[str]) -> Var:
    """A declared variable; function names and anything else are explained."""
    if name in variables:
        return Var(name)
    if name in FUNCTIONS:
        raise TorchstartError(f"{name} is a function: call it with an argument, e.g. {name}(x).")
    declared = ", ".join(sorted(variables)) or "none yet"
    raise TorchstartError(
        f"Unknown name `{_code(name)}`. Names must be declared variables ({declared}); "
        "add it as a variable below, or fix the spelling."
    )


def _call(node: ast.Call, variables: set[str], depth: int) -> Node:
    """A whitelisted function called with positional arguments only."""
    if isinstance(node.func, ast.Lambda):
        raise _refuse(node.func)
    if not isinstance(node.func, ast.Name):
        raise TorchstartError(
            f"Only the functions {ALLOWED_FUNCTIONS} can be called, by name; "
            f"`{_code(ast.unparse(node.func)[:40])}` is not allowed."
        )
    name = node.func.id
    if name not in FUNCTIONS:
        raise TorchstartError(f"The function `{_code(name)}` is not allowed. Allowed functions: {ALLOWED_FUNCTIONS}.")
    if node.keywords:
        raise TorchstartError(f"Keyword arguments are not allowed: write {name}(...) with plain arguments.")
    if any(isinstance(arg, ast.Starred) for arg in node.args):
        raise TorchstartError("* unpacking is not allowed in a function call.")
    arities = FUNCTIONS[name]
    if len(node.args) not in arities:
        counts = " or ".join(str(n) for n in sorted(arities))
        raise TorchstartError(f"{name}() takes {counts} argument(s); got {len(node.args)}.")
    args = tuple(_convert(arg, variables, depth + 1) for arg in node.args)
    return _fold(Op(arities[len(node.args)], args), node)


def _fold(op: Op, source: ast.AST) -> Node:
    """Check exponents, then fold an all-constant operation into one number (computed in float64)."""
    if op.kind in ("pow", "pow_fn") and isinstance(op.args[1], Const) and abs(op.args[1].value) > MAX_EXPONENT:
        raise TorchstartError(
            f"The exponent in `{_code(ast.unparse(source)[:40])}` is {op.args[1].value:g}; exponents are capped "
            f"at ±{MAX_EXPONENT} so nothing explodes. Use a smaller power."
        )
    if op.kind == "matmul" and any(isinstance(arg, Const) for arg in op.args):
        # torch refuses a plain number beside @ ("unsupported operand"), which is not about shapes
        raise TorchstartError(f"@ multiplies tensors, but `{_code(ast.unparse(source)[:40])}` has a plain number "
                              "on one side; both sides of @ must involve a variable. Use * to scale by a number.")
    if not all(isinstance(arg, Const) for arg in op.args):
        return op
    if op.kind == "neg":
        inner = op.args[0]
        return Const(-inner.value, f"-{inner.text}" if not inner.text.startswith("-") else repr(-inner.value))
    args = tuple(torch.tensor(float(arg.value), dtype=torch.float64) for arg in op.args)
    try:
        value = float(OPS[op.kind].fn(*args))
    except (RuntimeError, TypeError) as exc:
        raise TorchstartError(f"Could not compute `{_code(ast.unparse(source)[:40])}`: {exc}") from None
    if not math.isfinite(value):
        raise TorchstartError(
            f"The constant part `{_code(ast.unparse(source)[:40])}` works out to {value}; "
            "change it so it is a finite number."
        )
    if abs(value) > MAX_NUMBER:  # the cap on typed numbers holds for worked-out ones too: 2**100 is 1.3e30
        raise TorchstartError(
            f"The constant part `{_code(ast.unparse(source)[:40])}` works out to {value:.4g}; keep numbers within "
            "±1e12, as typed ones are."
        )
    return Const(value, repr(value))


def evaluate(program: Program | Node, env: dict[str, torch.Tensor],
             records: list[OpRecord] | None = None, work: list[int] | None = None) -> Value:
    """Compute the expression with torch ops on ``env``'s tensors; append each op to ``records``, and add its work
    (``op_work``) to ``work[0]``.

    Raises ``TorchstartError`` carrying PyTorch's own message when an op is
    refused (shape mismatch, ``@`` on scalars, ...), or when the pass would do more
    than ``MAX_FORWARD_WORK``.
    """
    node = program.root if isinstance(program, Program) else program
    if isinstance(node, Const):
        return node.value
    if isinstance(node, Var):
        return env[node.name]
    work = [0] if work is None else work
    args = tuple(evaluate(arg, env, records, work) for arg in node.args)
    spec = OPS[node.kind]
    try:
        out = spec.fn(*args)
    except (RuntimeError, TypeError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TorchstartError(
            f"PyTorch could not compute `{_code(learner_source(node))}`: {first_line}. "
            "Check the shapes of the tensors involved."
        ) from None
    if isinstance(out, torch.Tensor) and out.numel() > MAX_RESULT_ELEMENTS:
        raise TorchstartError(
            f"`{_code(learner_source(node))}` makes a tensor of shape {tuple(out.shape)} ({out.numel():,} numbers); "
            f"this page caps every result at {MAX_RESULT_ELEMENTS:,} numbers. Use smaller tensors."
        )
    work[0] += op_work(node.kind, args, out)
    if work[0] > MAX_FORWARD_WORK:
        raise TorchstartError(
            f"By `{_code(learner_source(node))}` the expression has taken more than {MAX_FORWARD_WORK:,} "
            "multiply-adds (each number it makes counts as one), the most this page allows per pass: it runs the "
            "expression up to 400 times more for the gradient check, on a server shared with other learners. Use "
            "smaller tensors or fewer @ products.")
    if records is not None:
        records.append(OpRecord(node=node, args=args, out=out, label=learner_source(node)))
    return out


def op_work(kind: str, args: tuple[Value, ...], out: Value) -> int:
    """One op's work: its result's numbers, times k for ``a @ b`` (each number is k multiply-adds)."""
    numbers = out.numel() if isinstance(out, torch.Tensor) else 1
    if kind == "matmul" and isinstance(args[0], torch.Tensor) and args[0].dim() > 0:
        return numbers * max(args[0].shape[-1], 1)
    return numbers


def forward_work(program: Program, env: dict[str, torch.Tensor]) -> int:
    """The work of one pass of ``program`` on ``env`` (see ``op_work``)."""
    work = [0]
    evaluate(program, env, work=work)
    return work[0]


def _to_python_ast(node: Node, for_torch: bool) -> ast.expr:
    """Rebuild a Python syntax tree so ``ast.unparse`` handles brackets and precedence."""
    if isinstance(node, Const):
        return ast.parse(node.text, mode="eval").body
    if isinstance(node, Var):
        return ast.Name(node.name)
    spec = OPS[node.kind]
    args = [_to_python_ast(arg, for_torch) for arg in node.args]
    if node.kind in INFIX:
        return ast.BinOp(args[0], INFIX[node.kind][0](), args[1])
    if node.kind == "neg":
        return ast.UnaryOp(ast.USub(), args[0])
    if not for_torch:
        return ast.Call(ast.Name(spec.learner_name), args, [])
    if spec.tensor_args:
        args = [ast.Call(ast.Attribute(ast.Name("torch"), "tensor"), [a], []) if isinstance(n, Const) else a
                for a, n in zip(args, node.args)]
    return ast.Call(ast.Attribute(ast.Name("torch"), spec.torch_name), args, [])


def learner_source(node: Node) -> str:
    """The expression in the learner's notation, e.g. ``sigmoid(w * x + b)``."""
    return ast.unparse(_to_python_ast(node, for_torch=False))


def torch_source(node: Node) -> str:
    """The same expression as plain PyTorch code, e.g. ``torch.sigmoid(w * x + b)``."""
    return ast.unparse(_to_python_ast(node, for_torch=True))
