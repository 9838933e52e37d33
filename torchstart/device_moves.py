"""The device idiom, live: move a tensor and a model with ``.to(device)``, and mix devices on purpose.

The mismatch error is provoked for real whenever a CUDA device is visible;
on a CPU-only machine there is no second device to mix, so the page shows the text
recent PyTorch 2.x CUDA builds print, clearly labelled, explained by the same parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn

from torchstart.rng import RNG_LOCK

# The message recent PyTorch 2.x CUDA builds raise for ``nn.Linear`` on cuda:0 fed a CPU input
# (from c10's common-device check on ``addmm``). Shown only as "what you would see".
EXAMPLE_MISMATCH_MESSAGE = (
    "Expected all tensors to be on the same device, but got mat1 is on cpu, "
    "different from other tensors on cuda:0 (when checking argument in method wrapper_CUDA_addmm)"
)
# The same error as older 2.x releases word it; the parser below reads both.
OLDER_MISMATCH_MESSAGE = (
    "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu! "
    "(when checking argument for argument mat1 in method wrapper_CUDA_addmm)"
)


@dataclass(frozen=True)
class MoveReport:
    """What ``.to(device)`` did to a small tensor and a small model."""

    target: str
    before_device: str
    after_device: str
    before_is_cuda: bool
    after_is_cuda: bool
    same_object: bool
    values_equal: bool
    model_returned_self: bool
    param_devices: tuple[tuple[str, str], ...]
    output_device: str


def demonstrate_moves(device: torch.device) -> MoveReport:
    """Make ``x`` on the CPU, move it and an ``nn.Linear(3, 2)`` to ``device``, run it once."""
    x = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    x_dev = x.to(device)
    with RNG_LOCK:  # its initialisation draws from the generator every session shares (see torchstart.rng)
        model = nn.Linear(3, 2)
    moved = model.to(device)
    with torch.no_grad():
        out = model(x_dev)
    return MoveReport(
        target=str(device),
        before_device=str(x.device),
        after_device=str(x_dev.device),
        before_is_cuda=x.is_cuda,
        after_is_cuda=x_dev.is_cuda,
        # .to() returns the very same tensor when nothing has to change, a copy otherwise.
        same_object=x_dev is x,
        values_equal=torch.equal(x_dev.cpu(), x),
        model_returned_self=moved is model,
        param_devices=tuple((name, str(p.device)) for name, p in model.named_parameters()),
        output_device=str(out.device),
    )


@dataclass(frozen=True)
class Mismatch:
    """A device-mismatch error: its text, whether it was raised here, and what it means."""

    message: str
    live: bool
    explanation: str


_NEW_FORMAT = re.compile(r"but got (\w+) is on (\S+), different from other tensors on (\S+?)\s*"
                         r"\(when checking argument in method (\w+)\)")
_OLD_FORMAT = re.compile(r"found at least two devices, (\S+) and (\S+?)!.*argument (\w+) in method (\w+)")


def explain_mismatch(message: str) -> str:
    """Say in plain words which argument sat where, and how to fix it."""
    new, old = _NEW_FORMAT.search(message), _OLD_FORMAT.search(message)
    if new:
        arg, arg_device, common, method = new.groups()
    elif old:
        common, arg_device, arg, method = old.groups()
    else:
        return ("Two tensors used in one operation live on different devices. Move the input "
                "with `x = x.to(device)` (or the model with `model.to(device)`) so they match.")
    op = method.replace("wrapper_", "").replace("CUDA_", "").replace("CPU_", "").strip("_")
    # nn.Linear calls addmm(bias, x, weight.T): mat1 is the layer's input.
    who = f"`{arg}` (your input `x`)" if (op, arg) == ("addmm", "mat1") else f"`{arg}`"
    runs = " (what `nn.Linear` runs: `bias + x @ weight.T`)" if op == "addmm" else ""
    return (f"The `{op}` kernel{runs} got its argument "
            f"{who} on **{arg_device}**, while the other tensors it reads are on **{common}**. "
            f"One operation can only read tensors on one device, and PyTorch does not copy them "
            f"between devices for you. (One exception: a 0-dim CPU tensor, a scalar such as "
            f"`torch.tensor(2.0)`, is accepted in elementwise CUDA ops like `x_gpu * s`.) Fix: move both "
            f"to the same `device`, e.g. `x = x.to(device)` before calling a model that did "
            f"`model.to(device)`.")


def mismatch_device(device: torch.device) -> torch.device | None:
    """The GPU to provoke the error on: the picked one, else the first CUDA device, else None."""
    if device.type == "cuda":
        return device
    return torch.device("cuda:0") if torch.cuda.is_available() else None


def provoke_mismatch(device: torch.device) -> Mismatch:
    """Run a model on a GPU with a CPU input; without a GPU return the labelled example."""
    gpu = mismatch_device(device)
    if gpu is None:
        return Mismatch(EXAMPLE_MISMATCH_MESSAGE, live=False,
                        explanation=explain_mismatch(EXAMPLE_MISMATCH_MESSAGE))
    with RNG_LOCK:
        model = nn.Linear(3, 2)
    model = model.to(gpu)
    x = torch.ones(4, 3)  # deliberately left on the CPU
    try:
        with torch.no_grad():
            model(x)
    except RuntimeError as err:
        text = str(err)
        return Mismatch(text, live=True, explanation=explain_mismatch(text))
    # Not expected with any released PyTorch; say so rather than pretend.
    return Mismatch(f"(no error: this PyTorch ran a model on {gpu} with a CPU input)", live=True,
                    explanation="This PyTorch accepted the mix; most versions refuse it.")
