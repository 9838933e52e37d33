"""Read a pickle's instructions without running them: how deep its objects nest and how many steps it takes.

The Checkpoints page runs this over a ``.pth``'s data.pkl before torch.load does. torch's weights-only
unpickler builds any nesting it is given, and hashing a tuple nested 200,000 deep (a dict key) overflows the
C stack and kills the server process; millions of empty dicts in 8 MB take gigabytes. The function has no
imports beyond ``pickletools`` so that the page's "Show code" can print it as it is.
"""

from __future__ import annotations

import pickletools

MAX_PICKLE_DEPTH = 100  # a state_dict inside a training checkpoint nests about 8 deep
# A state_dict takes about 35 instructions and 6 containers per tensor, a training checkpoint with Adam's state
# about 125 and 20 per parameter: either cap lets 20,000 tensors through, the zip's entry cap. 500,000 empty dicts
# unpickle into 180 MB, and reading 2,000,000 instructions here takes about 3 s.
MAX_PICKLE_OPS = 2_000_000
MAX_PICKLE_CONTAINERS = 500_000


def pickle_problem(pickled: bytes, max_depth: int, max_ops: int, max_containers: int) -> str | None:
    """What makes a pickle unsafe to unpickle (too deep, too many instructions or containers), else None."""
    containers = 0
    stack: list[int] = []  # for each object the unpickler would hold: how deep it nests
    marks: list[int] = []
    memo: dict[int, int] = {}
    mutators = {"APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS", "BUILD"}  # change the object below
    try:
        for count, (op, arg, _) in enumerate(pickletools.genops(pickled)):
            if count >= max_ops:
                return f"more than {max_ops:,} pickle instructions"
            if op.name == "MARK":
                marks.append(len(stack))
            elif op.name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
                memo[len(memo) if op.name == "MEMOIZE" else arg] = stack[-1]
            elif op.name in ("GET", "BINGET", "LONG_BINGET"):
                stack.append(memo[arg])
            elif op.name == "DUP":
                stack.append(stack[-1])
            else:
                if pickletools.markobject in op.stack_before:  # TUPLE, LIST, DICT, APPENDS, SETITEMS, ...
                    start = marks.pop()
                else:  # the container a mutator changes stays on the stack
                    start = len(stack) - len(op.stack_before) + (op.name in mutators)
                items, stack[start:] = stack[start:], []
                depth = 1 + max(items) if items else int(op.name.startswith("EMPTY_"))
                if op.name in mutators:
                    stack[-1] = max(stack[-1], depth)
                else:
                    stack.extend([depth] * len(op.stack_after))
                    containers += depth > 0
                if depth > max_depth:
                    return f"objects nested more than {max_depth} deep"
                if containers > max_containers:
                    return f"more than {max_containers:,} lists, dicts, tuples and other containers"
    except (ValueError, IndexError, KeyError) as exc:  # genops on a broken pickle, or a step on a missing object
        return f"no pickle Python can read ({type(exc).__name__}: {str(exc)[:80]})"
    return None
