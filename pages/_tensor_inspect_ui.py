"""Streamlit pieces of the Tensors page's inspector: values, metadata, memory layout and the NumPy bridge."""

from __future__ import annotations

import zlib

import streamlit as st
import torch

from pages._ui import KEEP, number_columns, show_code
from torchstart.tensor_code import numpy_demo_code, view_demo_code
from torchstart.tensor_figures import (float_text, heatmap_figure, metadata_frame, storage_figure, storage_formula,
                                      values_frame)
from torchstart.tensor_memory import numpy_demo, view_demo
from torchstart.tensor_ops import tensor_name
from torchstart.tensors import describe, format_shape


def pick_tensor(tensors: list[torch.Tensor]) -> int:
    """Which tensor of the chain to inspect (the newest by default)."""
    labels = [f"{tensor_name(i)} · shape {format_shape(t.shape)} · {str(t.dtype).removeprefix('torch.')}"
              for i, t in enumerate(tensors)]
    # A new key whenever the labels change: the box then starts again on the newest tensor.
    return st.selectbox("Inspect", range(len(tensors)), index=len(tensors) - 1, format_func=labels.__getitem__,
                        key=f"tensors.inspect.{zlib.crc32('|'.join(labels).encode())}", persist_state=KEEP,
                        help="x is the tensor you created; x1, x2, … are the results of the steps below.")


def show_tensor(name: str, t: torch.Tensor) -> None:
    """Headline numbers, then tabs with values, metadata, memory layout and the NumPy bridge."""
    # Content-wide and wrapping: four equal columns cut "float16" to "float…" and a long shape likewise.
    row = st.container(horizontal=True, gap="medium")
    row.metric("shape", format_shape(t.shape), width="content")
    row.metric("dtype", str(t.dtype).removeprefix("torch."), width="content")
    row.metric("numel", f"{t.numel():,}", width="content")
    row.metric("bytes", f"{t.nbytes:,}", help="numel × element_size()", width="content")
    # Above the tabs, not inside one: Values and Memory & views both show the slice these boxes pick.
    shown, label = _two_dim_part(name, t)
    values, meta, memory, bridge = st.tabs(["Values", "Metadata", "Memory & views", "NumPy bridge"])
    with values:
        _show_values(shown, label, t, name)
    with meta:
        st.table(metadata_frame(describe(t)).set_index("property"))
    with memory:
        _show_memory(shown, label, t, name)
    with bridge:
        _show_numpy(t, name)


def _two_dim_part(name: str, t: torch.Tensor) -> tuple[torch.Tensor, str]:
    """For more than 2 dims, let the learner pick one 2-D slice; otherwise the tensor itself."""
    if t.dim() <= 2 or t.numel() == 0:
        return t, name
    st.caption(f"{name} has {t.dim()} dims: pick an index for each leading dim to see one 2-D slice "
               "(on the Values and Memory & views tabs).")
    cols = st.columns(t.dim() - 2)
    picks = tuple(int(cols[d].number_input(f"dim {d} index", 0, t.shape[d] - 1, 0,
                                           key=f"tensors.slice.{d}.{format_shape(t.shape)}", persist_state=KEEP))
                  for d in range(t.dim() - 2))
    return t[picks], f"{name}[{', '.join(map(str, picks))}]"


def _slice_line(shown: torch.Tensor, label: str, t: torch.Tensor, name: str) -> None:
    """Which 2-D slice of a many-dim tensor this tab shows, and where to pick another."""
    st.markdown(f"`{label}` — one 2-D slice, shape `{format_shape(shown.shape)}`, of {name} "
                f"(shape `{format_shape(t.shape)}`). Pick another with the dim index boxes above the tabs.")


def _show_values(shown: torch.Tensor, label: str, t: torch.Tensor, name: str) -> None:
    """The table, a heatmap for 2-D, and PyTorch's own printout."""
    if shown is not t:
        _slice_line(shown, label, t, name)
    if shown.numel() == 0:
        st.info(f"This tensor is empty: shape {format_shape(t.shape)} has a 0 in it, so it holds no numbers.")
    else:
        frame, note = values_frame(shown)
        every_digit = None
        if shown.dtype.is_floating_point:
            # "%g" prints each number's shortest text (0.33333334, 1234567); the default would cut to 4 decimals.
            # A column with nan (sqrt of a negative, 0/0), ±inf or -0.0 is written as print() writes the floats:
            # "nan", "inf", "-0", where Streamlit on its own shows None, Infinity and 0.
            frame, every_digit = number_columns(frame, {c: "%g" for c in frame.columns}, text=float_text,
                                                print_like=True)
        st.dataframe(frame, width="stretch", key="tensors.values", column_config=every_digit)
        if note:
            st.caption(note)
        if shown.dim() == 2:
            st.plotly_chart(heatmap_figure(shown, label), key="tensors.heatmap", width="stretch")
    st.caption("As `print()` shows it:")
    st.code(repr(t), language="text", wrap_lines=True)


def _show_memory(shown: torch.Tensor, label: str, t: torch.Tensor, name: str) -> None:
    """Storage map of what is on screen, and the live transpose → view/reshape demo."""
    if shown is not t:
        _slice_line(shown, label, t, name)
    if 0 < shown.numel():
        st.plotly_chart(storage_figure(shown), key="tensors.storage", width="stretch")
        rows = ", row after row" if shown.dim() == 2 else ""
        order = "" if shown.dim() == 0 else (
            f" In a contiguous tensor they count up by 1 from storage_offset ({shown.storage_offset()}){rows}; "
            "after a transpose or a stepped slice they jump.")
        st.caption(f"Every cell of `{label}` shows its value and its position in storage: "
                   f"{storage_formula(shown)}.{order}")
    demo = view_demo(t)
    st.markdown("**Live demo: why `view` fails after `transpose`, while `reshape` works**")
    if demo.own_example:
        st.caption("Your tensor needs 2+ dims (first two > 1) and a contiguous layout for this demo, "
                   "so it uses x = torch.arange(6.0).reshape(2, 3).")
    rows = [("x", demo.base), ("t = x.transpose(0, 1)", demo.transposed), ("t.reshape(-1)", demo.reshaped),
            ("t.contiguous().view(-1)", demo.fixed)]
    base_ptr = demo.base.untyped_storage().data_ptr()
    st.dataframe([{"tensor": n, "shape": format_shape(v.shape), "stride": str(v.stride()),
                   "contiguous": v.is_contiguous(), "storage at": hex(v.untyped_storage().data_ptr()),
                   "x's storage": v.untyped_storage().data_ptr() == base_ptr} for n, v in rows],
                 hide_index=True, width="stretch", key="tensors.view_demo")
    if demo.view_error:
        st.markdown(f"`t.view(-1)` raised: :red[{demo.view_error}]")
    else:
        st.markdown("`t.view(-1)` worked this time: the transposed tensor happens to be contiguous.")
    st.caption("transpose only swaps strides, so t shares x's storage but is no longer row-major. view never "
               "copies, so it cannot flatten t; reshape copies when it must (new storage address); "
               "contiguous() makes that copy explicit, after which view works.")
    show_code(view_demo_code(demo.own_example, str(t.device), name), label="Show code for this demo")


def _show_numpy(t: torch.Tensor, name: str) -> None:
    """The live proof that ``.numpy()`` shares memory with its tensor."""
    demo = numpy_demo(t)
    if demo is None:
        st.info("The tensor is empty, so there is no element to write through NumPy.")
        return
    idx = ", ".join(map(str, demo.position)) or "()"
    st.markdown(f"On a copy `t` of the tensor: `a = t.numpy()`, then `a[{idx}] = {demo.written!r}`.")
    cols = st.columns(3)
    cols[0].metric("a, t: same address?", "yes" if demo.same_address else "no",
                   help="a.ctypes.data == t.data_ptr()")
    cols[1].metric(f"t[{idx}]: before → after", f"{_item(demo.tensor_before, demo.position)} → "
                                                f"{_item(demo.tensor_after, demo.position)}")
    cols[2].metric("from_numpy: same?", "yes" if demo.back_same_address else "no",
                   help="torch.from_numpy(a).data_ptr() == t.data_ptr()")
    st.caption("Writing through the NumPy array changed the tensor: they are one block of memory. "
               "Copy with t.clone() or a.copy() when you want them independent. "
               "A GPU tensor must be copied to the CPU (.cpu()) before .numpy().")
    if demo.note:
        st.caption(demo.note)
    show_code(numpy_demo_code(demo.position, demo.written, str(t.device), to_float=t.dtype == torch.bfloat16,
                              name=name), label="Show code for this demo")


def _item(t: torch.Tensor, position: tuple[int, ...]) -> str:
    """One element as text."""
    return f"{t[position].item():.4g}" if t.dtype.is_floating_point else str(t[position].item())
