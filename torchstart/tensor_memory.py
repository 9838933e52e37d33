"""Live demos that memory is shared: transpose → view fails / reshape copies, and ``.numpy()``.

Each demo measures what it shows (storage addresses, an element written
through NumPy) instead of asserting it; the page draws the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from torchstart.tensors import shares_memory


@dataclass(frozen=True)
class ViewDemo:
    """transpose → view fails, reshape copies, contiguous().view works; measured, not claimed."""

    base: torch.Tensor
    own_example: bool
    transposed: torch.Tensor
    same_storage: bool
    view_error: str | None
    reshaped: torch.Tensor
    reshape_copied: bool
    fixed: torch.Tensor


def view_demo(x: torch.Tensor) -> ViewDemo:
    """Transpose ``x`` (or a small example when ``x`` is not a good one), then try view and reshape."""
    good = x.dim() >= 2 and x.shape[0] > 1 and x.shape[1] > 1 and x.is_contiguous()
    base = x.detach() if good else torch.arange(6.0, device=x.device).reshape(2, 3)
    t = base.transpose(0, 1)
    try:
        t.view(-1)
        error = None
    except RuntimeError as exc:
        error = str(exc).splitlines()[0]
    reshaped = t.reshape(-1)
    return ViewDemo(base, not good, t, shares_memory(t, base), error, reshaped,
                    not shares_memory(reshaped, base), t.contiguous().view(-1))


@dataclass(frozen=True)
class NumpyDemo:
    """``.numpy()`` shares memory: writing through the array changes the tensor."""

    tensor_before: torch.Tensor
    tensor_after: torch.Tensor
    array: Any
    same_address: bool
    back_same_address: bool
    position: tuple[int, ...]
    written: Any
    note: str


def numpy_demo(x: torch.Tensor) -> NumpyDemo | None:
    """On a private CPU copy of ``x``: take ``.numpy()``, write one element through it, read the tensor."""
    if x.numel() == 0:
        return None
    note = ("This tensor requires grad, and .numpy() refuses such a tensor (NumPy cannot record operations for "
            "autograd), so .detach() comes first. " if x.requires_grad else "")
    t = x.detach().to("cpu", copy=True)  # a copy, so the tensor on the page is never changed
    if t.dtype == torch.bfloat16:
        t, note = t.float(), note + "NumPy has no bfloat16, so the demo uses .float() first."
    if x.device.type != "cpu":
        note += " x is on the GPU: .numpy() needs a CPU tensor, so .cpu() copies it first."
    before = t.clone()
    array = t.numpy()
    position = (0,) * t.dim()
    written = (not bool(array[position])) if t.dtype == torch.bool else 99
    array[position] = written
    back = torch.from_numpy(array)
    return NumpyDemo(before, t, array, array.ctypes.data == t.data_ptr(), back.data_ptr() == t.data_ptr(),
                     position, written, note.strip())
