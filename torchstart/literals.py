"""Safe parsing of number and nested-list literals typed by a learner (never ``eval``)."""

from __future__ import annotations

import ast

from torchstart.errors import TorchstartError

MAX_LITERAL_CHARS = 20_000
MAX_LITERAL_ELEMENTS = 10_000
INT64_MIN_MAGNITUDE = 2**63  # -2**63 is the smallest int64; +2**63 does not fit

Nested = float | int | bool | list


def parse_literal(text: str, what: str = "value") -> Nested:
    """Parse ``text`` such as ``[[1, 2], [3, 4]]`` into nested lists of numbers/bools.

    Only number, bool and (nested) list/tuple literals are accepted, with an
    optional unary minus; anything else is refused with a message saying why.
    """
    text = text.strip()
    if not text:
        raise TorchstartError(f"The {what} is empty: type a number or a list such as [[1, 2], [3, 4]].")
    if len(text) > MAX_LITERAL_CHARS:
        raise TorchstartError(
            f"The {what} is {len(text):,} characters long; the limit is {MAX_LITERAL_CHARS:,}. "
            "Use a factory such as zeros, rand or arange for big tensors."
        )
    try:
        tree = ast.parse(text, mode="eval")
        count = [0]
        return _convert(tree.body, what, count)
    except SyntaxError as exc:
        raise TorchstartError(
            f"The {what} {text[:60]!r} is not a valid literal ({exc.msg} at column {exc.offset}). "
            "Write numbers in nested square brackets, e.g. [[1, 2], [3, 4]]."
        ) from None
    except (RecursionError, MemoryError):
        # Python's parser gives up on hundreds of signs or brackets in a row (e.g. ------...1).
        raise TorchstartError(
            f"The {what} is nested too deeply to read (too many signs or brackets in a row). "
            "Write plain numbers such as -1 in nested square brackets, e.g. [[1, 2], [3, 4]]."
        ) from None


def _convert(node: ast.AST, what: str, count: list[int]) -> Nested:
    """Walk the literal's syntax tree, accepting only numbers, bools and lists."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_convert(item, what, count) for item in node.elts]
    count[0] += 1
    if count[0] > MAX_LITERAL_ELEMENTS:
        raise TorchstartError(f"The {what} has more than {MAX_LITERAL_ELEMENTS:,} numbers; type fewer.")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        if isinstance(node.op, ast.USub) and _is_int(node.operand, INT64_MIN_MAGNITUDE):
            return -INT64_MIN_MAGNITUDE  # int64's smallest value: its magnitude alone does not fit in 64 bits
        inner = _convert(node.operand, what, count)
        if isinstance(inner, list) or isinstance(inner, bool):
            raise TorchstartError(f"In the {what}, a sign can only go before a number.")
        value = -inner if isinstance(node.op, ast.USub) else inner
        if type(value) is int and value > INT64_MIN_MAGNITUDE - 1:  # --9223372036854775808
            raise TorchstartError(f"The number {value} in the {what} does not fit in 64 bits.")
        return value
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, bool)):
        if isinstance(node.value, int) and not isinstance(node.value, bool) and abs(node.value) > 2**63 - 1:
            raise TorchstartError(f"The number {node.value} in the {what} does not fit in 64 bits.")
        return node.value
    shown = ast.unparse(node)[:40]
    raise TorchstartError(
        f"The {what} may only hold numbers, True/False and square brackets; {shown!r} is not allowed."
    )


def _is_int(node: ast.AST, value: int) -> bool:
    """True when ``node`` is the int literal ``value`` (not a bool, not a float)."""
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value == value


def literal_depth(data: Nested | None) -> int:
    """How many brackets deep a parsed literal goes: its number of dims (0 for a plain number)."""
    if isinstance(data, list):
        return 1 + max((literal_depth(item) for item in data), default=0)
    return 0
