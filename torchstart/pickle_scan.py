"""Read a pickle's instructions without running them: how deep its objects nest and how many steps it takes.

The Checkpoints page runs this over a ``.pth``'s data.pkl before torch.load does. torch's weights-only
unpickler builds any nesting it is given, and hashing a tuple nested 200,000 deep (a dict key) overflows the
C stack and kills the server process; millions of empty dicts in 8 MB take gigabytes. The function has no
imports beyond ``pickletools`` so that the page's "Show code" can print it as it is.
"""

from __future__ import annotations

import pickletools

MAX_PICKLE_DEPTH = 100  # a state_dict inside a training checkpoint nests about 9 deep
# A state_dict takes about 35 instructions and 6 containers per tensor, a training checkpoint with Adam's state
# about 125 and 20 per parameter: either cap lets 20,000 tensors through, the zip's entry cap. 500,000 empty dicts
# unpickle into 180 MB, and reading 2,000,000 instructions here takes about 1.2 s.
MAX_PICKLE_OPS = 2_000_000
MAX_PICKLE_CONTAINERS = 500_000


def pickle_problem(pickled: bytes, max_depth: int, max_ops: int, max_containers: int) -> str | None:
    """What makes a pickle unsafe to unpickle (too deep, too many instructions or containers), else None."""
    # Each object the unpickler would hold is a cell [depth], on the stack as (cell, fetched by GET). The memo
    # shares the cell, so a container filled after it was stored is as deep when fetched again.
    containers = 0
    stack: list[tuple[list[int], bool]] = []
    marks: list[int] = []
    memo: dict[int, list[int]] = {}
    atom = ([0], True)  # a number, string or global: nothing nests in it, and nothing may fill it
    kinds: dict = {}  # per instruction, read once: (role, takes a mark, objects it pops, objects it pushes)
    mutators = {"APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS", "BUILD"}  # change the object below
    try:
        for count, (op, arg, _) in enumerate(pickletools.genops(pickled)):
            if op not in kinds:
                role = ("mark" if op.name == "MARK" else "put" if "PUT" in op.name or op.name == "MEMOIZE" else
                        "get" if "GET" in op.name else "dup" if op.name == "DUP" else "fill" if op.name in mutators
                        else "empty" if op.name.startswith("EMPTY_") else
                        "atom" if not op.stack_before and len(op.stack_after) == 1 else "build")
                kinds[op] = (role, pickletools.markobject in op.stack_before,
                             len(op.stack_before) - (role == "fill"), len(op.stack_after))
            role, takes_mark, pops, pushes = kinds[op]
            if count >= max_ops:
                return f"more than {max_ops:,} pickle instructions"
            if role == "atom":
                stack.append(atom)
            elif role == "mark":
                marks.append(len(stack))
            elif role == "put":
                memo[len(memo) if op.name == "MEMOIZE" else arg] = stack[-1][0]
            elif role == "get":
                stack.append((memo[arg], True))
            elif role == "dup":  # pickle.dump never writes it; with it one object could grow unseen
                return "a DUP instruction, which pickle.dump never writes"
            else:
                start = marks.pop() if takes_mark else len(stack) - pops  # a mutator's container stays below
                items, stack[start:] = stack[start:], []
                depth = 1 + max(cell[0] for cell, _ in items) if items else int(role == "empty")
                if role == "fill":
                    cell, fetched = stack[-1]
                    if fetched:  # pickle.dump fills a container right after making it, never after a GET: a
                        return "a container filled after it was stored"  # parent that holds it would not see it
                    cell[0] = max(cell[0], depth)
                else:
                    stack.extend(([depth], False) for _ in range(pushes))
                    containers += depth > 0
                if depth > max_depth:
                    return f"objects nested more than {max_depth} deep"
                if containers > max_containers:
                    return f"more than {max_containers:,} lists, dicts, tuples and other containers"
    except (ValueError, IndexError, KeyError) as exc:  # a broken pickle, or a step on a missing object
        return f"no pickle Python can read ({type(exc).__name__}: {str(exc)[:80]})"
    return None
