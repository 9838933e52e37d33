"""'Show code' for the Tensors page: the PyTorch code that makes the tensor and each chain step.

Reads the same ``TensorSpec`` / ``FactoryCall`` / ``OpStep`` objects the page
computes with; literals are written back from their parsed values (``repr``),
never copied from the learner's text.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from torchstart.tensor_ops import ARITHMETIC, OPS, REDUCTIONS, OpStep, tensor_name
from torchstart.tensors import FACTORIES, TensorSpec, factory_call


def py(value: Any) -> str:
    """Python source for a plain value: numbers, lists, tuples, strings, dtypes."""
    if isinstance(value, torch.dtype):
        return str(value)  # "torch.float32"
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({repr(value)!r})"  # 1e400 parses as inf, but `inf` is not a Python literal
    if isinstance(value, list):
        return "[" + ", ".join(py(item) for item in value) + "]"
    return repr(value)


def factory_code(spec: TensorSpec, name: str = "x") -> list[str]:
    """Lines that create the tensor ``spec`` describes, as ``build_tensor`` does."""
    call = factory_call(spec)
    lines = []
    args = [py(a) for a in call.args]
    if call.seed is not None:
        where = "" if spec.device == "cpu" else f"device={spec.device!r}"
        lines.append(f"g = torch.Generator({where}).manual_seed({call.seed})  # seeded: same numbers every run")
        args.append("generator=g")
    args += [f"{key}={py(value)}" for key, value in call.kwargs.items()]
    lines.append(f"{name} = torch.{call.func}({', '.join(args)})")
    return lines


def index_code(index: tuple[Any, ...]) -> str:
    """``0, 1:3`` / ``..., -1`` / ``:, None`` / ``[0, 2]`` for a parsed index."""
    parts = []
    for item in index:
        if isinstance(item, slice):
            text = ":".join("" if b is None else str(b) for b in (item.start, item.stop))
            if item.step is not None:
                text += f":{item.step}"
            parts.append(text)
        elif item is Ellipsis:
            parts.append("...")
        else:
            parts.append(repr(item))
    return ", ".join(parts) if parts else "()"


def step_code(step: OpStep, src: str, dst: str, device: str = "cpu") -> list[str]:
    """Lines computing ``dst`` from ``src`` for one step; ``device`` is where ``src`` lives."""
    kind, value = step.kind, step.value
    if kind in ("reshape", "view", "transpose", "permute"):
        return [f"{dst} = {src}.{kind}({', '.join(map(str, value)) if value else '()'})"]
    if kind in ("squeeze", "unsqueeze"):
        return [f"{dst} = {src}.{kind}({'' if value is None else value})"]
    if kind == "index":
        return [f"{dst} = {src}[{index_code(value)}]"]
    if kind in ARITHMETIC or kind == "matmul":
        other = f"b{dst.removeprefix('x')}"
        where = "" if device == "cpu" else f", device={device!r}"
        symbol = "@" if kind == "matmul" else ARITHMETIC[kind]
        return [f"{other} = torch.tensor({py(value)}{where})", f"{dst} = {src} {symbol} {other}"]
    if kind in REDUCTIONS:
        if value is None and not step.keepdim:
            return [f"{dst} = {src}.{kind}()"]
        keep = ", keepdim=True" if step.keepdim else ""
        return [f"{dst} = {src}.{kind}(dim={value}{keep}){'.values' if kind == 'max' else ''}"]
    if kind == "to":
        return [f"{dst} = {src}.to(torch.{value})"]
    if kind == "contiguous":
        return [f"{dst} = {src}.contiguous()"]
    if kind == "numpy":
        detach = ".detach()"  # harmless when not tracked; needed when requires_grad
        move = "" if device == "cpu" else ".cpu()"
        array = f"a{dst.removeprefix('x')}"
        return [f"{array} = {src}{detach}{move}.numpy()  # a NumPy array sharing {src}'s memory",
                f"{dst} = torch.from_numpy({array})  # shares it too: no copy"]
    raise ValueError(f"no code for {kind!r}")


def step_device(step: OpStep, device: str) -> str:
    """Where a step's result lives, given where its input lives."""
    return "cpu" if step.kind == "numpy" else device


def chain_code(spec: TensorSpec, steps: list[OpStep]) -> str:
    """The whole program: import, create ``x``, then ``x1 = ...``, ``x2 = ...`` for each step."""
    lines = ["import torch", "", f"# {FACTORIES[spec.factory].label}: {FACTORIES[spec.factory].summary}"]
    lines += factory_code(spec)
    device = spec.device
    for i, step in enumerate(steps, start=1):
        lines.append(f"# step {i}: {OPS[step.kind].label}")
        lines += step_code(step, tensor_name(i - 1), tensor_name(i), device)
        device = step_device(step, device)
    last = tensor_name(len(steps))
    lines += ["", f"print({last}.shape, {last}.dtype, {last}.stride(), {last}.is_contiguous())", f"print({last})"]
    return "\n".join(lines)


def step_line(step: OpStep, index: int, device: str = "cpu") -> str:
    """Step ``index``'s code on one line (statements joined with ``;``, comments dropped)."""
    lines = step_code(step, tensor_name(index - 1), tensor_name(index), device)
    return "; ".join(line.split("  #")[0] for line in lines)


def view_demo_code(own_example: bool, device: str = "cpu", name: str = "x") -> str:
    """Code for the transpose → view/reshape demo on the inspected tensor ``name`` (x, x1, ...)."""
    where = "" if device == "cpu" else f", device={device!r}"
    if own_example:
        first = f"x = torch.arange(6.0{where}).reshape(2, 3)"
    else:
        # The page's main Show code builds x (and x1, x2, ... for each step): run it first.
        first = ("# x: the tensor you built; run the page's main Show code first, it makes x" if name == "x" else
                 f"x = {name}  # the tensor you are inspecting; run the page's main Show code first, it makes {name}")
    return "\n".join([
        "import torch", "", first,
        "t = x.transpose(0, 1)          # a view: same storage, strides swapped",
        "print(t.untyped_storage().data_ptr() == x.untyped_storage().data_ptr())  # True: shared",
        "print(t.stride(), t.is_contiguous())   # not contiguous any more",
        "try:",
        "    t.view(-1)                 # view never copies, so it cannot flatten this layout",
        "except RuntimeError as err:",
        "    print('view failed:', err)",
        "r = t.reshape(-1)              # reshape copies when it must",
        "print(r.untyped_storage().data_ptr() == x.untyped_storage().data_ptr())  # False: a copy",
        "ok = t.contiguous().view(-1)   # or make it contiguous first, then view",
    ])


def numpy_demo_code(position: tuple[int, ...], written: Any, device: str = "cpu", to_float: bool = False,
                    name: str = "x") -> str:
    """Code for the NumPy shared-memory demo on the inspected tensor ``name`` (x, x1, ...)."""
    idx = ", ".join(map(str, position))
    move = "" if device == "cpu" else ".cpu()"
    convert = ".float()" if to_float else ""
    return "\n".join([
        "import torch", "",
        f"# {name}: the tensor you {'built' if name == 'x' else 'are inspecting'}; run the page's main Show code "
        f"first, it makes {name}",
        f"t = {name}.detach(){move}.clone(){convert}  # a copy, to leave {name} as it is",
        "a = t.numpy()                 # no copy: a NumPy view of t's memory",
        "print(a.ctypes.data == t.data_ptr())   # True: same address",
        f"a[{idx}] = {written!r}" if position else f"a[()] = {written!r}",
        f"print(t[{idx}])                 # t changed too: it is the same memory" if position
        else "print(t)                 # t changed too: it is the same memory",
        "back = torch.from_numpy(a)    # and back: still the same memory",
        "print(back.data_ptr() == t.data_ptr())  # True",
    ])
