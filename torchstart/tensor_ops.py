"""A chain of tensor operations (reshape, transpose, index, broadcast arithmetic, ...).

Each ``OpStep`` holds already-parsed, safe arguments. ``apply_chain`` runs the
steps one after another and reports each result's shape, whether it shares
memory with its input, and (for arithmetic) how broadcasting lined the shapes
up. Every step is first dry-run on PyTorch's ``meta`` device, which computes
shapes and raises the same errors without allocating, so a step whose result
would be too big is refused before any memory is used.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from torchstart.errors import TorchstartError
from torchstart.literals import parse_literal, quoted, shown_int
from torchstart.tensors import (DTYPES, MAX_DIMS, MAX_ELEMENTS, check_literal_dims, format_shape, literal_error,
                                number_accepts, parse_int_tuple, shares_memory, torch_warnings)

MAX_STEPS = 12
MAX_INDEX_CHARS = 8_000
MAX_INDEX_LIST = 1_000
MAX_STRIDE = 10**12  # times a step of at most MAX_ELEMENTS (10**6), still far below 2**63
ARITHMETIC = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
REDUCTIONS = ("sum", "mean", "max")


@dataclass(frozen=True)
class OpInfo:
    """One kind of step: its label, which argument it takes, and a one-line explanation."""

    label: str
    arg: str  # shape | dims2 | dims | dim | optional_dim | index | operand | dtype | none
    help: str


OPS: dict[str, OpInfo] = {
    "reshape": OpInfo("reshape", "shape", "New shape with the same number of elements; -1 means 'work it out'. "
                      "Returns a view when it can, otherwise copies."),
    "view": OpInfo("view", "shape", "Like reshape, but never copies: fails if the memory layout does not allow it."),
    "transpose": OpInfo("transpose", "dims2", "Swap two dims. A view: no data moves, only the strides swap."),
    "permute": OpInfo("permute", "dims", "Reorder all dims, e.g. 2, 0, 1. A view, like transpose."),
    "squeeze": OpInfo("squeeze", "optional_dim", "Drop dims of size 1 (all of them, or just the dim given)."),
    "unsqueeze": OpInfo("unsqueeze", "dim", "Insert a new dim of size 1 at the position given."),
    "index": OpInfo("index / slice", "index", "Python-style indexing such as 0, 1:3 or ..., -1 or :, None. "
                    "Ints and slices give views; a list like [0, 2] copies."),
    "add": OpInfo("+ (add)", "operand", "Elementwise with a second tensor; shapes broadcast."),
    "sub": OpInfo("- (subtract)", "operand", "Elementwise with a second tensor; shapes broadcast."),
    "mul": OpInfo("* (multiply)", "operand", "Elementwise with a second tensor; shapes broadcast."),
    "div": OpInfo("/ (divide)", "operand", "Elementwise true division (ints give floats); shapes broadcast."),
    "matmul": OpInfo("@ (matmul)", "operand", "Matrix product: (n, k) @ (k, m) → (n, m); leading dims broadcast."),
    "sum": OpInfo("sum", "optional_dim", "Add up along a dim (blank: all elements)."),
    "mean": OpInfo("mean", "optional_dim", "Average along a dim (blank: all); needs a floating dtype."),
    "max": OpInfo("max", "optional_dim", "Largest value along a dim (blank: all); along a dim, .values."),
    "to": OpInfo("to(dtype)", "dtype", "Convert to another dtype (a copy, unless it already has it)."),
    "contiguous": OpInfo("contiguous()", "none", "A row-major copy if the layout is not already contiguous."),
    "numpy": OpInfo("to NumPy and back", "none", "torch.from_numpy(x.numpy()): on the CPU both share the "
                    "tensor's memory, so nothing is copied."),
}

Index = tuple[Any, ...]  # ints, slices, None, Ellipsis, lists of ints


@dataclass(frozen=True)
class OpStep:
    """One operation in the chain.

    ``value`` is the parsed argument: a shape or dims tuple, a dim (int or None),
    an index tuple, a nested-list operand, or a dtype name, depending on ``kind``.
    """

    kind: str
    value: Any = None
    keepdim: bool = False


@dataclass(frozen=True)
class BroadcastRow:
    """One dim position, counted from the right, of a broadcast."""

    position: int
    left: int | None
    right: int | None
    result: int | None
    rule: str


@dataclass(frozen=True)
class Broadcast:
    """How two shapes line up from the right, dim by dim, and the shape they give."""

    left: tuple[int, ...]
    right: tuple[int, ...]
    rows: tuple[BroadcastRow, ...]
    result: tuple[int, ...] | None

    @property
    def ok(self) -> bool:
        """True when every dim is compatible."""
        return self.result is not None


@dataclass
class StepResult:
    """What one step produced (or why it failed)."""

    step: OpStep
    index: int
    tensor: torch.Tensor | None = None
    error: TorchstartError | None = None
    shares_memory: bool = False
    note: str = ""
    broadcast: Broadcast | None = None
    warnings: list[str] = field(default_factory=list)  # what PyTorch warned while running the step


# ---------------------------------------------------------------- making steps from learner text

def make_step(kind: str, text: str = "", keepdim: bool = False, dtype: str = "float32") -> OpStep:
    """Parse the learner's argument text for ``kind`` into an ``OpStep`` (never evaluates it)."""
    if kind not in OPS:
        raise TorchstartError(f"Unknown operation {kind!r}.")
    arg = OPS[kind].arg
    if arg == "shape":
        return OpStep(kind, _parse_target_shape(text))
    if arg == "dims2":
        dims = parse_int_tuple(text, "two dims to swap", "0, 1")
        if len(dims) != 2:
            raise TorchstartError(f"transpose swaps exactly two dims, e.g. 0, 1; got {len(dims)}.")
        return OpStep(kind, dims)
    if arg == "dims":
        return OpStep(kind, parse_int_tuple(text, "new order of dims", "2, 0, 1 (every dim once)"))
    if arg == "dim":
        return OpStep(kind, _parse_dim(text, optional=False))
    if arg == "optional_dim":
        dim = _parse_dim(text, optional=True)
        keep = bool(keepdim) and kind in REDUCTIONS
        if keep and not keepdim_applies(kind, dim):
            raise TorchstartError(KEEPDIM_NEEDS_DIM)
        return OpStep(kind, dim, keepdim=keep)
    if arg == "index":
        return OpStep(kind, parse_index(text))
    if arg == "operand":
        value = parse_literal(text, "other tensor")
        check_literal_dims(value, "other tensor")
        return OpStep(kind, value)
    if arg == "dtype":
        if dtype not in DTYPES:
            raise TorchstartError(f"Unknown dtype {dtype!r}; pick one of {', '.join(DTYPES)}.")
        return OpStep(kind, dtype)
    return OpStep(kind)


KEEPDIM_NEEDS_DIM = ("max over all elements (dim blank) takes no keepdim in PyTorch: x.max() returns one "
                     "number, shape (). Give a dim such as 0 to keep that dim with size 1, or untick keepdim.")


def keepdim_applies(kind: str, dim: int | None) -> bool:
    """Whether PyTorch's reduction takes keepdim here: sum and mean with any dim (None too), max only along one."""
    return kind in REDUCTIONS and (dim is not None or kind != "max")


def keepdim_problem(kind: str, text: str) -> str:
    """Why the keepdim box does not apply to ``kind`` with dim text ``text`` ("" when it does)."""
    if kind not in REDUCTIONS:
        return "Only sum, mean and max take keepdim."
    try:
        dim = _parse_dim(text, optional=True)
    except TorchstartError:
        return ""  # the dim box's own message says what is wrong with it
    return "" if keepdim_applies(kind, dim) else KEEPDIM_NEEDS_DIM


def _parse_target_shape(text: str) -> tuple[int, ...]:
    """A reshape/view target: sizes ≥ 0 and at most one -1."""
    shape = parse_int_tuple(text, "new shape", "3, -1 (-1: work that size out)")
    if len(shape) > MAX_DIMS:
        raise TorchstartError(f"The new shape has {len(shape)} dims; this playground allows up to {MAX_DIMS}.")
    if shape.count(-1) > 1:
        raise TorchstartError("Only one size may be -1 ('work it out'): PyTorch cannot guess two.")
    if any(size < -1 for size in shape):
        raise TorchstartError(f"Sizes must be ≥ 0 (or one -1); got {format_shape(shape)}.")
    return shape


def _parse_dim(text: str, optional: bool) -> int | None:
    """A dim number such as 0 or -1; blank means None when optional."""
    if not text.strip():
        if optional:
            return None
        raise TorchstartError("Type a dim number, e.g. 0 for the first dim or -1 for the last.")
    value = parse_literal(text, "dim", number_accepts("0 (the first dim) or -1 (the last)"))
    if type(value) is not int:
        raise TorchstartError(f"Give one whole dim number, e.g. 0 or -1; got {text.strip()!r}.")
    return value


def parse_index(text: str) -> Index:
    """Parse index text like ``0, 1:3`` or ``..., -1`` or ``:, None`` or ``[0, 2]`` with ``ast``.

    Only ints, slices of ints, ``...``, ``None`` and flat lists of ints are accepted.
    """
    text = text.strip()
    if not text:
        raise TorchstartError("Type an index, e.g. 0 or 0, 1:3 or ..., -1 or :, None.")
    if len(text) > MAX_INDEX_CHARS:
        raise TorchstartError(f"The index is longer than {MAX_INDEX_CHARS} characters; keep it short.")
    try:
        tree = ast.parse(f"x[{text}]", mode="eval").body
        if not (isinstance(tree, ast.Subscript) and isinstance(tree.value, ast.Name)):
            raise TorchstartError(f"{text[:40]!r} is not a single index; write what goes inside x[ ... ].")
        parts = tree.slice.elts if isinstance(tree.slice, ast.Tuple) else [tree.slice]
        return tuple(_index_part(part) for part in parts)
    except SyntaxError:
        raise TorchstartError(f"{text[:40]!r} is not a valid index. Examples: 0   0, 1:3   ..., -1   :, None   "
                              "::2   [0, 2]") from None
    except (RecursionError, MemoryError):
        # Python 3.11's parser gives up on thousands of signs in a row; 3.12's reads them, and quoting
        # them back (ast.unparse) runs out of recursion instead.
        raise TorchstartError("The index is nested too deeply to read (too many signs or brackets in a row). "
                              "Examples: 0   0, 1:3   ..., -1   :, None   ::2   [0, 2]") from None


def _index_part(node: ast.AST) -> Any:
    """One comma-separated piece of an index."""
    if isinstance(node, ast.Slice):
        bounds = [None if n is None else _int_node(n, "slice bound") for n in (node.lower, node.upper, node.step)]
        if bounds[2] is not None and bounds[2] <= 0:
            raise TorchstartError(f"PyTorch slices cannot step by {bounds[2]}: the step must be positive. "
                                  "To reverse a tensor use torch.flip.")
        if bounds[2] is not None and bounds[2] > MAX_ELEMENTS:
            # PyTorch multiplies the step into the stride in int64 without an overflow check: 2**60 gave a
            # negative NumPy stride, and 2**63 - 1 a shape of -1.
            raise TorchstartError(f"A slice step above {MAX_ELEMENTS:,} takes the same one element as a step of "
                                  f"{MAX_ELEMENTS:,} (no dim here is longer), and a bigger one can overflow the "
                                  f"stride PyTorch computes. Use a step up to {MAX_ELEMENTS:,}, or :1 for the "
                                  "first element.")
        return slice(*bounds)
    if isinstance(node, ast.Constant) and node.value is Ellipsis:
        return Ellipsis
    if isinstance(node, ast.Constant) and node.value is None:
        return None
    if isinstance(node, ast.List):
        if len(node.elts) > MAX_INDEX_LIST:
            raise TorchstartError(f"An index list may hold at most {MAX_INDEX_LIST:,} positions.")
        return [_int_node(n, "index list entry") for n in node.elts]
    return _int_node(node, "index")


def _int_node(node: ast.AST, what: str) -> int:
    """An int literal, possibly negative."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -1, node.operand
    if isinstance(node, ast.Constant) and type(node.value) is int:
        if node.value > (2**63 if sign < 0 else 2**63 - 1):  # int64 runs from -2**63 to 2**63 - 1
            raise TorchstartError(f"The {what} {shown_int(sign * node.value)} does not fit in 64 bits; PyTorch "
                                  "indexes with 64-bit whole numbers. Use a smaller number.")
        return sign * node.value
    raise TorchstartError(f"Each {what} must be a whole number; {quoted(node)} is not. "
                          "Allowed: ints, slices like 1:3 or ::2, ..., None, and lists like [0, 2].")


# ---------------------------------------------------------------- broadcasting

def explain_broadcast(left: tuple[int, ...], right: tuple[int, ...]) -> Broadcast:
    """Line two shapes up from the right and apply the broadcasting rule to each dim."""
    width = max(len(left), len(right))
    rows, result = [], []
    for position in range(-width, 0):
        a = left[position] if len(left) >= -position else None
        b = right[position] if len(right) >= -position else None
        if a is None or b is None:
            # "left"/"right" name the operands (x op b1), not positions in the shape
            operand = "left operand" if a is None else "right operand"
            size, rule = (b if a is None else a), f"the {operand} has no such dim: acts as 1"
        elif a == b:
            size, rule = a, "equal"
        elif a == 1 or b == 1:
            size = b if a == 1 else a
            rule = f"size 1 on the {'left' if a == 1 else 'right'} is stretched to {size}"
        else:
            size, rule = None, f"✗ {a} vs {b}: must be equal, or one of them 1"
        rows.append(BroadcastRow(position, a, b, size, rule))
        result.append(size)
    ok = all(size is not None for size in result)
    return Broadcast(tuple(left), tuple(right), tuple(rows), tuple(result) if ok else None)


def _broadcast_error(b: Broadcast, what: str) -> TorchstartError:
    """A message naming both shapes and the first dim that does not line up."""
    bad = next(row for row in b.rows if row.result is None)
    return TorchstartError(
        f"Cannot broadcast {what} shapes {format_shape(b.left)} and {format_shape(b.right)}. Lined up from the "
        f"right, dim {bad.position} has sizes {bad.left} and {bad.right}; each dim must be equal or 1 on one "
        f"side. Change the other tensor's size there to {bad.left} or 1 (or add an unsqueeze step).")


def _check_matmul(left: tuple[int, ...], right: tuple[int, ...]) -> Broadcast | None:
    """Friendly matmul shape checks; returns the batch-dim broadcast when there are batch dims."""
    if not left or not right:
        raise TorchstartError(f"matmul needs tensors with at least 1 dim; got shapes {format_shape(left)} "
                              f"@ {format_shape(right)}. Use * to scale by a number.")
    inner_right = right[0] if len(right) == 1 else right[-2]
    if left[-1] != inner_right:
        where = "only size" if len(right) == 1 else "second-to-last size"
        raise TorchstartError(
            f"matmul {format_shape(left)} @ {format_shape(right)}: each row of the left (length {left[-1]}) is "
            f"multiplied with each column of the right (length {inner_right}), so the left's last size must "
            f"equal the right's {where}. Make the other tensor {left[-1]} rows tall.")
    batch = explain_broadcast(left[:-2], right[:-2])
    if not batch.ok:
        raise _broadcast_error(batch, "matmul batch")
    return batch if (len(left) > 2 or len(right) > 2) else None


# ---------------------------------------------------------------- running

def _run(step: OpStep, x: torch.Tensor, other: torch.Tensor | None) -> torch.Tensor:
    """Apply one step; the same code runs on meta tensors (dry run) and on real ones."""
    kind, value = step.kind, step.value
    if kind == "reshape":
        return x.reshape(value)
    if kind == "view":
        return x.view(value)
    if kind == "transpose":
        return x.transpose(*value)
    if kind == "permute":
        return x.permute(value)
    if kind == "squeeze":
        return x.squeeze() if value is None else x.squeeze(value)
    if kind == "unsqueeze":
        return x.unsqueeze(value)
    if kind == "index":
        return x[value]
    if kind in ARITHMETIC:
        return {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}[kind](x, other)
    if kind == "matmul":
        return x @ other
    if kind in REDUCTIONS:
        if value is None and not step.keepdim:
            return getattr(x, kind)()
        # sum/mean take dim=None with keepdim=True: every dim reduced and kept with size 1
        out = getattr(x, kind)(dim=value, keepdim=step.keepdim)
        return out.values if kind == "max" else out
    if kind == "to":
        return x.to(DTYPES[value])
    if kind == "contiguous":
        return x.contiguous()
    if kind == "numpy":
        return torch.from_numpy(_to_numpy(x))
    raise TorchstartError(f"Unknown operation {kind!r}.")


def _to_numpy(x: torch.Tensor) -> np.ndarray:
    """``x.numpy()`` after the moves NumPy needs (off autograd, onto the CPU)."""
    if x.dtype == torch.bfloat16:
        raise TorchstartError("NumPy has no bfloat16 type, so .numpy() refuses it. Add a 'to(dtype)' step "
                              "to float32 first.")
    if x.requires_grad:
        x = x.detach()  # .numpy() refuses tensors autograd is tracking
    return x.cpu().numpy()


def apply_step(step: OpStep, x: torch.Tensor, index: int = 1) -> StepResult:
    """Run one step on ``x`` (checked on the meta device first); never raises for learner mistakes."""
    result = StepResult(step, index)
    try:
        other = _operand(step, x)
        if step.kind in ARITHMETIC:
            result.broadcast = explain_broadcast(tuple(x.shape), tuple(other.shape))
            if not result.broadcast.ok:
                raise _broadcast_error(result.broadcast, "the")
        if step.kind == "matmul":
            result.broadcast = _check_matmul(tuple(x.shape), tuple(other.shape))
            if x.dtype != other.dtype:
                raise TorchstartError(
                    f"matmul needs both tensors to have the same dtype, but the input is {_dtype(x.dtype)} and the "
                    f"other tensor is {_dtype(other.dtype)} (PyTorch infers int64 from 1 and float32 from 1.0). "
                    "Type the numbers like the input's, or add a to(dtype) step.")
        if step.kind == "permute":
            _check_permute(step.value, x)
        if step.kind != "numpy":
            _dry_run(step, x, other)
        if step.kind == "index":
            _check_index_lists(step.value, x)
        with torch_warnings() as caught:
            result.tensor = _run(step, x, other)
        result.warnings = [f"PyTorch warned: {message}" for message in caught]
    except TorchstartError as exc:
        result.error = exc
        return result
    except (RuntimeError, IndexError, ValueError, TypeError) as exc:
        result.error = explain_error(exc, step, x, tensor_name(index - 1))
        return result
    # On the CPU .numpy() and from_numpy never copy; an empty tensor just has no address to prove it with.
    result.shares_memory = shares_memory(result.tensor, x) or (step.kind == "numpy" and x.device.type == "cpu")
    result.note = _note(step, x, result.tensor, result.shares_memory, tensor_name(index - 1))
    if step.kind == "matmul":
        shapes = f"{format_shape(x.shape)} @ {format_shape(other.shape)} → {format_shape(result.tensor.shape)}"
        result.note = (f"{shapes}: "
                       f"each entry is a row of the input times a column of the other (length {x.shape[-1]}), "
                       "summed. A new tensor.")
    return result


def apply_chain(tensor: torch.Tensor, steps: list[OpStep]) -> list[StepResult]:
    """Apply ``steps`` in order; stops after the first step that fails (its result holds the error)."""
    results: list[StepResult] = []
    current = tensor
    for i, step in enumerate(steps, start=1):
        res = apply_step(step, current, i)
        results.append(res)
        if res.error is not None:
            break
        current = res.tensor
    return results


def _operand(step: OpStep, x: torch.Tensor) -> torch.Tensor | None:
    """The second tensor of an arithmetic/matmul step, on ``x``'s device (dtype inferred)."""
    if OPS[step.kind].arg != "operand":
        return None
    try:
        return torch.tensor(step.value, device=x.device)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise literal_error(exc, "other tensor") from None


def _check_permute(dims: tuple[int, ...], x: torch.Tensor) -> None:
    """permute needs every dim exactly once (negative dims count from the end)."""
    n = x.dim()
    ok = len(dims) == n and all(-n <= d < n for d in dims) and sorted(d % n for d in dims) == list(range(n))
    if not ok:
        example = ", ".join(map(str, reversed(range(n)))) or "(nothing)"
        raise TorchstartError(f"permute needs each of the {n} dims of shape {format_shape(x.shape)} exactly "
                              f"once, e.g. {example}; got {', '.join(map(str, dims)) or 'no dims'}.")


def _check_index_lists(index: Index, x: torch.Tensor) -> None:
    """Refuse a list entry out of range before the index reaches the tensor's device.

    Meta tensors check shapes, not index values, and on CUDA an out-of-range list entry
    is caught inside the GPU kernel: a device-side assert that leaves the CUDA context
    unusable for the whole server. (The dry run has already checked the index's shape.)
    """
    consuming = sum(part is not None and part is not Ellipsis for part in index)
    dim = 0
    for part in index:
        if part is Ellipsis:
            dim += x.dim() - consuming  # ... stands for every dim the other parts leave
        elif part is not None:  # None inserts a new dim and uses none of x's
            if isinstance(part, list) and dim < x.dim():
                size = x.shape[dim]
                bad = next((i for i in part if not -size <= i < size), None)
                if bad is not None:
                    raise _out_of_range(bad, dim, size, format_shape(x.shape))
            dim += 1


def _out_of_range(index: int | str, dim: int | str, size: int, shape: str) -> TorchstartError:
    """The message for ``index`` outside dim ``dim`` (of ``size``) of a tensor of ``shape``."""
    if size == 0:
        return TorchstartError(f"Index {index} is out of range: dim {dim} of shape {shape} has size 0, so there "
                               "is nothing to pick.")
    return TorchstartError(f"Index {index} is out of range for dim {dim} of shape {shape}, which has size "
                           f"{size}: valid indices are 0 … {size - 1} (or -{size} … -1).")


def _dry_run(step: OpStep, x: torch.Tensor, other: torch.Tensor | None) -> None:
    """Run the step on meta tensors: same shape errors, and a size check before allocating."""
    meta_x = torch.empty_strided(x.shape, x.stride(), dtype=x.dtype, device="meta")
    meta_other = None if other is None else torch.empty(other.shape, dtype=other.dtype, device="meta")
    out = _run(step, meta_x, meta_other)
    if out.dim() > MAX_DIMS:
        raise TorchstartError(
            f"{OPS[step.kind].label} on shape {format_shape(x.shape)} would give {out.dim()} dims; this playground "
            f"allows up to {MAX_DIMS}. Add fewer new dims (each None or unsqueeze adds one).")
    if out.numel() > MAX_ELEMENTS:
        raise TorchstartError(
            f"{OPS[step.kind].label} on shape {format_shape(x.shape)} would give shape {format_shape(out.shape)} "
            f"= {out.numel():,} elements; this playground caps tensors at {MAX_ELEMENTS:,}. Use smaller tensors.")
    if max(out.stride(), default=0) > MAX_STRIDE:
        # Each slice step multiplies a stride (unchecked int64); below this cap the next step cannot overflow.
        raise TorchstartError(
            f"{OPS[step.kind].label} on shape {format_shape(x.shape)} would give strides {tuple(out.stride())}: "
            f"past {MAX_STRIDE:,} elements, far beyond any storage here, where PyTorch's stride arithmetic can "
            "overflow. Use a smaller slice step.")


def _note(step: OpStep, x: torch.Tensor, out: torch.Tensor, shared: bool, name: str = "x") -> str:
    """A short sentence on what happened to memory (view or copy) and anything surprising; ``name`` is x's."""
    kind = step.kind
    if kind == "numpy":
        if x.device.type != "cpu":
            return f"{name} was on the GPU, so .cpu() copied it first; NumPy and the result share that CPU copy."
        return "No copy: .numpy() and torch.from_numpy both reuse the same memory (same storage address)."
    if kind == "view" or (kind == "reshape" and shared):
        return "A view: same storage, new shape and strides."  # view() never copies: it works or raises
    if kind == "reshape":
        return "reshape had to copy: the input's layout could not be viewed with the new shape."
    if kind in ("transpose", "permute"):
        return f"A view: only the strides changed (now {out.stride()}); is_contiguous() = {out.is_contiguous()}."
    if kind == "squeeze" and out.shape == x.shape:
        return "Nothing to squeeze: squeeze only removes dims of size 1."
    if kind == "max" and step.value is not None:
        return "max along a dim returns (values, indices); this step keeps .values."
    if kind in REDUCTIONS and step.value is None and step.keepdim:
        return (f"dim=None with keepdim=True reduces over every dim and keeps each with size 1: shape "
                f"{format_shape(out.shape)}, which still broadcasts against {name}. A new tensor.")
    if kind in ("contiguous", "to") and out is x:
        return "Already like that, so PyTorch returned the very same tensor (no copy)."
    if kind in ARITHMETIC and out.dtype != x.dtype:
        return f"Type promotion: {_dtype(x.dtype)} {ARITHMETIC[kind]} other gave {_dtype(out.dtype)}."
    return "A view: shares storage with its input." if shared else "A new tensor with its own memory."


# ---------------------------------------------------------------- errors

_DIM_RANGE = re.compile(r"expected to be in range of \[(-?\d+), (-?\d+)\], but got (-?\d+)")
_OUT_OF_BOUNDS = re.compile(r"index (-?\d+) is out of bounds for dimension (\d+) with size (\d+)")
_BAD_SHAPE = re.compile(r"shape '\[(.*)\]' is invalid for input of size (\d+)")
_NOT_IMPLEMENTED = re.compile(r"not implemented for '(\w+)'")


def explain_error(exc: Exception, step: OpStep, x: torch.Tensor, name: str = "x") -> TorchstartError:
    """Translate PyTorch's message for a failed step into one that names the shapes and says what to do.

    ``name`` is the step's input as the page calls it (x, x1, x2, ...).
    """
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    shape, label = format_shape(x.shape), OPS[step.kind].label
    if "view size is not compatible" in text:
        return TorchstartError(
            f"view({', '.join(map(str, step.value))}) fails on this tensor of shape {shape} with strides {x.stride()}: "
            f"it is not contiguous (is_contiguous() = {x.is_contiguous()}), e.g. because of a transpose, so "
            "its elements are not lined up in memory the way the new shape needs. view never copies. Use "
            "reshape (copies when it must), or add a contiguous() step before view.")
    if match := _BAD_SHAPE.search(text):
        return TorchstartError(
            f"Cannot {step.kind} shape {shape} ({_elements(x.numel())}) into {format_shape(step.value)}: the new "
            f"shape must hold exactly {_elements(x.numel())}. Use -1 for one size to let PyTorch work it out.")
    if match := _DIM_RANGE.search(text):
        low, high, got = match.groups()
        return TorchstartError(f"dim {got} does not exist for {label} on shape {shape}: valid dims here are "
                               f"{low} … {high} (negative dims count from the end).")
    if match := _OUT_OF_BOUNDS.search(text):
        idx, dim, size = match.groups()
        return _out_of_range(idx, dim, int(size), shape)
    if "too many indices" in text:
        return TorchstartError(f"The index has more positions than shape {shape} has dims ({x.dim()}). "
                               "Use one entry per dim (… covers the rest).")
    if "duplicate dims" in text or "does not match the length of the desired ordering" in text:
        return TorchstartError(f"permute needs each of the {x.dim()} dims of shape {shape} exactly once; "
                               f"got {step.value}.")
    if "could not infer output dtype" in text:
        return TorchstartError(f"{label} needs a floating-point tensor (an average of whole numbers is "
                               f"usually not whole), but the input is {_dtype(x.dtype)}. Add a to(dtype) step "
                               "to float32 first.")
    if "two bool tensors" in text:
        return TorchstartError("Subtracting two bool tensors is not defined. Convert with a to(dtype) step "
                               "first, or use logical ops.")
    if "Expected reduction dim to be specified" in text:
        return TorchstartError(f"{name} is empty (shape {shape}), so there is no largest value; give a dim.")
    if match := _NOT_IMPLEMENTED.search(text):
        return TorchstartError(f"{label} is not implemented for dtype {match.group(1)} on {x.device}. "
                               "Add a to(dtype) step, e.g. to float32, first.")
    return TorchstartError(f"{label} failed on shape {shape} ({_dtype(x.dtype)}): {text}")


def _elements(count: int) -> str:
    """``1 element`` / ``6 elements``."""
    return f"{count:,} element{'' if count == 1 else 's'}"


def _dtype(dtype: torch.dtype) -> str:
    """``int64`` for ``torch.int64``."""
    return str(dtype).removeprefix("torch.")


def suggest_argument(kind: str, shape: tuple[int, ...], floating: bool = True) -> str:
    """A sensible first argument for ``kind`` on a tensor of ``shape`` (a starting point to edit)."""
    n = len(shape)
    last = shape[-1] if shape else 1
    if kind in ("reshape", "view"):
        if n >= 2:
            return ", ".join(map(str, reversed(shape)))
        return "2, -1" if n == 1 and shape[0] % 2 == 0 else "-1, 1"
    if kind == "transpose":
        return "0, 1" if n >= 2 else "0, -1"
    if kind == "permute":
        return ", ".join(map(str, reversed(range(n)))) or "()"
    if kind == "unsqueeze":
        return "0"
    if kind == "index":
        return ":, 0" if n >= 2 else "1:" if n == 1 else "..."
    if kind in ARITHMETIC:
        return "10" if n == 0 or last > 12 else repr([10 * (i + 1) for i in range(last)])
    if kind == "matmul":
        one, zero = (1.0, 0.0) if floating else (1, 0)
        if last > 12:
            return repr([one] * last) if last <= 100 else ""
        # column 0 adds each row up; column 1 picks every other entry
        return repr([[one, one if i % 2 == 0 else zero] for i in range(last)])
    if kind in REDUCTIONS:
        return "0" if n else ""
    return ""


def tensor_name(index: int) -> str:
    """``x`` for the created tensor, ``x1``, ``x2`` ... for chain results."""
    return "x" if index == 0 else f"x{index}"


__all__ = ["OPS", "OpStep", "StepResult", "Broadcast", "make_step", "parse_index", "apply_step",
           "apply_chain", "explain_broadcast", "explain_error", "tensor_name", "keepdim_applies", "keepdim_problem",
           "MAX_STEPS", "suggest_argument"]
