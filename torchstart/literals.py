"""Safe parsing of number and nested-list literals typed by a learner (never ``eval``)."""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass

import torch

from torchstart.errors import TorchstartError

MAX_LITERAL_CHARS = 20_000
MAX_LITERAL_ELEMENTS = 10_000
INT64_MIN_MAGNITUDE = 2**63  # -2**63 is the smallest int64; +2**63 does not fit

Nested = float | int | bool | list
_TOO_MANY_DIGITS = re.compile(r"value has (\d+) digits")


@dataclass(frozen=True)
class Accepts:
    """What one text box takes, in the words its error messages use.

    ``holds`` ends "The shape may only hold ..."; ``write`` ends "Write ...",
    with an example; ``empty`` ends "The shape is empty: type ...".
    """

    holds: str
    write: str
    empty: str


LITERAL = Accepts(holds="numbers, True/False and square brackets",
                  write="numbers in nested square brackets, e.g. [[1, 2], [3, 4]]",
                  empty="a number or a list such as [[1, 2], [3, 4]]")


def parse_literal(text: str, what: str = "value", accepts: Accepts = LITERAL) -> Nested:
    """Parse ``text`` such as ``[[1, 2], [3, 4]]`` into nested lists of numbers/bools.

    Only number, bool and (nested) list/tuple literals are accepted, with an
    optional unary minus; anything else is refused with a message saying why,
    worded for the box the text came from (``accepts``: a tensor literal by default).
    """
    text = text.strip()
    if not text:
        raise TorchstartError(f"The {what} is empty: type {accepts.empty}.")
    if len(text) > MAX_LITERAL_CHARS:
        big = " Use a factory such as zeros, rand or arange for big tensors." if accepts is LITERAL else ""
        raise TorchstartError(
            f"The {what} is {len(text):,} characters long; the limit is {MAX_LITERAL_CHARS:,}.{big}")
    try:
        tree = ast.parse(text, mode="eval")
        count = [0]
        return _convert(tree.body, what, count, accepts)
    except SyntaxError as exc:
        if digits := _TOO_MANY_DIGITS.search(str(exc.msg)):
            # Python refuses to read whole numbers over 4,300 digits; its message is about sys settings.
            raise TorchstartError(
                f"The {what} holds a whole number {int(digits.group(1)):,} digits long: too long to read. "
                f"Whole numbers here must fit in 64 bits (up to {INT64_MIN_MAGNITUDE - 1}, 19 digits); "
                "for a huge value write a float such as 1e30.") from None
        raise TorchstartError(
            f"The {what} {text[:60]!r} cannot be read ({exc.msg} at column {exc.offset}). "
            f"Write {accepts.write}."
        ) from None
    except (RecursionError, MemoryError):
        # Python's parser gives up on hundreds of signs or brackets in a row (e.g. ------...1).
        raise TorchstartError(
            f"The {what} is nested too deeply to read (too many signs or brackets in a row). "
            f"Write {accepts.write}."
        ) from None
    except TorchstartError:
        raise
    except ValueError:  # e.g. a lone surrogate character, which the parser cannot encode
        raise TorchstartError(f"The {what} holds characters that cannot be read. Write {accepts.write}.") from None


def float32_rows(rows: list, what: str) -> torch.Tensor:
    """Rows of numbers as a float32 tensor, refusing what float32 cannot hold (it would turn into ±inf)."""
    values = torch.tensor(rows, dtype=torch.float64)
    if not torch.isfinite(values).all():
        raise TorchstartError(f"The {what} must hold finite numbers, but it reads "
                              f"{_first(values, ~torch.isfinite(values))} (a number past ±1.8e308 is inf).")
    limit = torch.finfo(torch.float32).max
    # Judged by the cast itself: 3.4028235e+38, the shortest text for float32's largest number, reads as a float64
    # a hair above it yet rounds back to it.
    too_big = torch.isinf(values.float())
    if too_big.any():
        raise TorchstartError(f"The {what} holds {_first(values, too_big)}, which float32 (the model's dtype) cannot "
                              f"hold: it stops at ±{limit:.3g} and would read it as inf.")
    return values.float()


def _first(values: torch.Tensor, mask: torch.Tensor) -> str:
    """The first value where ``mask`` is set, as Python writes it."""
    return repr(values[mask][0].item())


def shown_int(value: int) -> str:
    """``value`` as text, or its size as a power of ten when it has too many digits to print (or for Python to)."""
    bits = abs(value).bit_length()
    if bits <= 256:
        return str(value)
    # Python refuses str() of ints over 4,300 digits; a hex literal such as 0xfff... can be that long.
    return f"(about {'-' if value < 0 else ''}10^{int((bits - 1) * math.log10(2))})"


def quoted(node: ast.AST, limit: int = 40) -> str:
    """The first ``limit`` characters of the source ``node`` came from, quoted, for a message."""
    try:
        return repr(ast.unparse(node)[:limit])
    except ValueError:  # a whole number over 4,300 digits inside it (hex literals can be that long)
        return "a number too long to show"


def _convert(node: ast.AST, what: str, count: list[int], accepts: Accepts = LITERAL) -> Nested:
    """Walk the literal's syntax tree, accepting only numbers, bools and lists."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_convert(item, what, count, accepts) for item in node.elts]
    count[0] += 1
    if count[0] > MAX_LITERAL_ELEMENTS:
        raise TorchstartError(f"The {what} has more than {MAX_LITERAL_ELEMENTS:,} numbers; type fewer.")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        if isinstance(node.op, ast.USub) and _is_int(node.operand, INT64_MIN_MAGNITUDE):
            return -INT64_MIN_MAGNITUDE  # int64's smallest value: its magnitude alone does not fit in 64 bits
        inner = _convert(node.operand, what, count, accepts)
        if isinstance(inner, list) or isinstance(inner, bool):
            raise TorchstartError(f"In the {what}, a sign can only go before a number.")
        value = -inner if isinstance(node.op, ast.USub) else inner
        if type(value) is int and value > INT64_MIN_MAGNITUDE - 1:  # --9223372036854775808
            raise TorchstartError(f"The number {shown_int(value)} in the {what} does not fit in 64 bits.")
        return value
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, bool)):
        if isinstance(node.value, int) and not isinstance(node.value, bool) and abs(node.value) > 2**63 - 1:
            raise TorchstartError(f"The number {shown_int(node.value)} in the {what} does not fit in 64 bits.")
        return node.value
    # A sum such as 10**3 is never worked out here (that would be eval): say to type the result.
    result = " It is a calculation: type its result instead." if isinstance(node, ast.BinOp) else ""
    raise TorchstartError(f"The {what} may only hold {accepts.holds}; {quoted(node)} is not allowed.{result}")


def _is_int(node: ast.AST, value: int) -> bool:
    """True when ``node`` is the int literal ``value`` (not a bool, not a float)."""
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value == value


def literal_depth(data: Nested | None) -> int:
    """How many brackets deep a parsed literal goes: its number of dims (0 for a plain number)."""
    if isinstance(data, list):
        return 1 + max((literal_depth(item) for item in data), default=0)
    return 0
