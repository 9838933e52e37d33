"""Streamlit pieces of the Tensors page: creation widgets, the inspector, and the operation chain."""

from __future__ import annotations

import zlib
from typing import Any

import streamlit as st
import torch

from pages._ui import param_input, show_code, show_error
from torchstart.errors import TorchstartError
from torchstart.tensor_code import numpy_demo_code, step_line, view_demo_code
from torchstart.tensor_figures import (broadcast_frame, heatmap_figure, metadata_frame, storage_figure,
                                       values_frame)
from torchstart.tensor_ops import (MAX_STEPS, OPS, REDUCTIONS, OpStep, StepResult, apply_chain, apply_step,
                                   make_step, suggest_argument, tensor_name)
from torchstart.tensor_memory import numpy_demo, view_demo
from torchstart.tensors import (DTYPES, FACTORIES, PARAMS, TensorSpec, build_tensor, describe,
                                format_shape)

SPEC = "tensors.spec"            # the last TensorSpec that built without error
CHAIN = "tensors.chain"          # list[OpStep]
ADD_ERROR = "tensors.add_error"  # why the last "Add step" was refused (shown once)
OP = "tensors.op"
KEEPDIM = "tensors.keepdim"
TO_DTYPE = "tensors.to_dtype"
ARG_LABELS = {"shape": "new shape", "dims2": "two dims to swap", "dims": "new order of dims",
              "dim": "dim", "optional_dim": "dim (blank = all)", "index": "index: x[ … ]",
              "operand": "other tensor (a literal)"}


def key(name: str) -> str:
    """The widget key for a creation input."""
    return f"tensors.{name}"


def arg_key(kind: str, shape: tuple[int, ...], dtype: torch.dtype) -> str:
    """The argument box's key: new per op and input shape, so its suggestion fits the tensor."""
    return f"tensors.arg.{kind}.{'x'.join(map(str, shape))}.{dtype}"


# ---------------------------------------------------------------- 1 · create

def creation_inputs() -> dict[str, Any]:
    """Draw the factory widgets (only those the chosen factory uses) and return their raw values."""
    factory = param_input(PARAMS["factory"], key("factory"))
    st.caption(FACTORIES[factory].summary)
    uses, values = FACTORIES[factory].inputs, {"factory": factory}
    if "data" in uses:
        values["literal"] = st.text_area("Values (nested lists)", "[[1, 2, 3], [4, 5, 6]]", key=key("literal"),
                                         height=90, help="Numbers, True/False and square brackets only.")
    if factory in ("randint",):
        a, b = st.columns(2)
        values["low"] = param_input(PARAMS["low"], key("low"), a)
        values["high"] = param_input(PARAMS["high"], key("high"), b)
    if "shape" in uses:
        values["shape"] = st.text_input("shape", "2, 3", key=key("shape"), help="Sizes separated by commas.")
    if "fill_value" in uses:
        values["fill"] = st.text_input("fill value", "7", key=key("fill"), help="7 gives int64, 7.0 float32.")
    if factory == "arange":
        a, b, c = st.columns(3)
        for col, name, default in ((a, "start", "0"), (b, "end", "6"), (c, "step", "1")):
            values[name] = col.text_input(name, default, key=key(name))
    if factory == "linspace":
        a, b, c = st.columns(3)
        values["lin_start"] = param_input(PARAMS["lin_start"], key("lin_start"), a)
        values["lin_end"] = param_input(PARAMS["lin_end"], key("lin_end"), b)
        values["steps"] = param_input(PARAMS["steps"], key("steps"), c)
    if factory == "eye":
        a, b = st.columns(2)
        values["n"] = param_input(PARAMS["n"], key("n"), a)
        values["m"] = param_input(PARAMS["m"], key("m"), b)
    if "seed" in uses:
        values["seed"] = param_input(PARAMS["seed"], key("seed"))
    a, b = st.columns(2, vertical_alignment="bottom")
    values["dtype"] = param_input(PARAMS["dtype"], key("dtype"), a)
    values["requires_grad"] = param_input(PARAMS["requires_grad"], key("requires_grad"), b)
    return values


def last_good_tensor(device: str) -> tuple[TensorSpec, torch.Tensor]:
    """The last spec that built (or the default one), built again."""
    spec = st.session_state.get(SPEC) or TensorSpec(device=device)
    st.session_state[SPEC] = spec
    return spec, build_tensor(spec)


# ---------------------------------------------------------------- 2 · inspect

def pick_tensor(tensors: list[torch.Tensor]) -> int:
    """Which tensor of the chain to inspect (the newest by default)."""
    labels = [f"{tensor_name(i)} · shape {format_shape(t.shape)} · {str(t.dtype).removeprefix('torch.')}"
              for i, t in enumerate(tensors)]
    # A new key whenever the labels change: the box then starts again on the newest tensor.
    return st.selectbox("Inspect", range(len(tensors)), index=len(tensors) - 1, format_func=labels.__getitem__,
                        key=f"tensors.inspect.{zlib.crc32('|'.join(labels).encode())}",
                        help="x is the tensor you created; x1, x2, … are the results of the steps below.")


def show_tensor(name: str, t: torch.Tensor) -> None:
    """Headline numbers, then tabs with values, metadata, memory layout and the NumPy bridge."""
    cols = st.columns(4)
    cols[0].metric("shape", format_shape(t.shape))
    cols[1].metric("dtype", str(t.dtype).removeprefix("torch."))
    cols[2].metric("numel", f"{t.numel():,}")
    cols[3].metric("bytes", f"{t.nbytes:,}", help="numel × element_size()")
    values, meta, memory, bridge = st.tabs(["Values", "Metadata", "Memory & views", "NumPy bridge"])
    shown, label = _two_dim_part(name, t, values)
    with values:
        _show_values(shown, label, t)
    with meta:
        st.table(metadata_frame(describe(t)).set_index("property"))
    with memory:
        _show_memory(shown, label, t)
    with bridge:
        _show_numpy(t)


def _two_dim_part(name: str, t: torch.Tensor, where: Any) -> tuple[torch.Tensor, str]:
    """For more than 2 dims, let the learner pick one 2-D slice; otherwise the tensor itself."""
    if t.dim() <= 2 or t.numel() == 0:
        return t, name
    with where:
        st.caption(f"{name} has {t.dim()} dims: pick an index for each leading dim to see one 2-D slice.")
        cols = st.columns(t.dim() - 2)
        picks = tuple(int(cols[d].number_input(f"dim {d} index", 0, t.shape[d] - 1, 0,
                                               key=f"tensors.slice.{d}.{format_shape(t.shape)}"))
                      for d in range(t.dim() - 2))
    return t[picks], f"{name}[{', '.join(map(str, picks))}]"


def _show_values(shown: torch.Tensor, label: str, t: torch.Tensor) -> None:
    """The table, a heatmap for 2-D, and PyTorch's own printout."""
    if shown is not t:
        st.markdown(f"`{label}` — a slice of shape `{format_shape(shown.shape)}`")
    if shown.numel() == 0:
        st.info(f"This tensor is empty: shape {format_shape(t.shape)} has a 0 in it, so it holds no numbers.")
    else:
        frame, note = values_frame(shown)
        st.dataframe(frame, width="stretch", key="tensors.values")
        if note:
            st.caption(note)
        if shown.dim() == 2:
            st.plotly_chart(heatmap_figure(shown, label), key="tensors.heatmap", width="stretch")
    st.caption("As `print()` shows it:")
    st.code(repr(t), language="text")


def _show_memory(shown: torch.Tensor, label: str, t: torch.Tensor) -> None:
    """Storage map of what is on screen, and the live transpose → view/reshape demo."""
    if 0 < shown.numel():
        st.plotly_chart(storage_figure(shown), key="tensors.storage", width="stretch")
        st.caption(f"Every cell of `{label}` shows its value and its position in storage: position = "
                   f"storage_offset + i·stride[0] + j·stride[1] with stride {shown.stride()}. In a contiguous "
                   "tensor positions rise 0, 1, 2, … along each row; after a transpose they jump.")
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
    show_code(view_demo_code(demo.own_example, str(t.device)), label="Show code for this demo")


def _show_numpy(t: torch.Tensor) -> None:
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
    show_code(numpy_demo_code(demo.position, demo.written, str(t.device), to_float=t.dtype == torch.bfloat16),
              label="Show code for this demo")


def _item(t: torch.Tensor, position: tuple[int, ...]) -> str:
    """One element as text."""
    return f"{t[position].item():.4g}" if t.dtype.is_floating_point else str(t[position].item())


# ---------------------------------------------------------------- 3 · transform

def show_chain(spec_line: str, x: torch.Tensor, results: list[StepResult], device: str) -> None:
    """One row per tensor: its code, shape, stride, contiguity and whether it shares its input's memory."""
    _chain_row(spec_line, x, None)
    for res in results:
        line = step_line(res.step, res.index, device)
        if res.error is not None:
            st.markdown(f"`{line}`")
            later = len(st.session_state.get(CHAIN, [])) - res.index
            waiting = f" The {later} step(s) after it wait until it works again." if later else ""
            show_error(TorchstartError(f"Step {res.index} fails on the current tensor: {res.error}{waiting}"))
            _remove_button(res.index - 1, st, f"✕ Remove step {res.index}")
            break
        _chain_row(line, res.tensor, res)
        device = str(res.tensor.device)


def _chain_row(line: str, t: torch.Tensor, res: StepResult | None) -> None:
    """One tensor in the chain."""
    cols = st.columns([6, 2, 2, 3, 1], vertical_alignment="center")
    cols[0].markdown(f"`{line}`")
    cols[1].markdown(f"shape **{format_shape(t.shape)}**")
    cols[2].markdown(f"stride {t.stride()}{'' if t.is_contiguous() else ' · not contiguous'}")
    if res is None:
        cols[3].markdown(":blue-badge[created]")
        return
    cols[3].markdown(":green-badge[shares memory with input]" if res.shares_memory else ":orange-badge[new memory]")
    _remove_button(res.index - 1, cols[4])
    st.caption(res.note)
    if res.broadcast is not None:
        title = "How broadcasting lined up the shapes" if res.step.kind != "matmul" else "How the batch dims broadcast"
        with st.expander(title, expanded=res.index == len(st.session_state.get(CHAIN, []))):
            st.dataframe(broadcast_frame(res.broadcast, tensor_name(res.index - 1), f"b{res.index}"), width="stretch")
            st.caption("Shapes are lined up from the right. Per dim: equal sizes match, a size of 1 is stretched, "
                       "a missing dim counts as 1. Stretching is free: no data is copied to do it.")


def _remove_button(position: int, where: Any, label: str = "✕") -> None:
    """The button that deletes one step."""
    where.button(label, key=f"tensors.remove.{position}", help="Remove this step", on_click=_remove,
                 args=(position,))


def _remove(position: int) -> None:
    """Button callback: drop one step; later steps stay and are re-applied."""
    chain = list(st.session_state.get(CHAIN, []))
    if 0 <= position < len(chain):
        del chain[position]
    st.session_state[CHAIN] = chain


def add_step_controls(current: torch.Tensor) -> None:
    """Pick an operation and its argument, then add it to the end of the chain."""
    cols = st.columns([3, 4, 2, 2], vertical_alignment="bottom")
    kind = cols[0].selectbox("Operation", list(OPS), format_func=lambda k: OPS[k].label, key=OP)
    info, box = OPS[kind], arg_key(kind, tuple(current.shape), current.dtype)
    if info.arg == "dtype":
        cols[1].selectbox("to dtype", list(DTYPES), key=TO_DTYPE)
    elif info.arg != "none":
        cols[1].text_input(ARG_LABELS[info.arg], suggest_argument(kind, tuple(current.shape),
                                                                  current.dtype.is_floating_point), key=box)
    if kind in REDUCTIONS:
        cols[2].checkbox("keepdim", key=KEEPDIM, help="Keep the reduced dim with size 1, so the result "
                                                      "still broadcasts against the input.")
    cols[3].button("Add step", type="primary", key="tensors.add", on_click=_add_step, args=(kind, box),
                   width="stretch")
    st.caption(f"**{info.label}** — {info.help}")
    problem = st.session_state.pop(ADD_ERROR, None)
    if problem:
        show_error(TorchstartError(problem))
    if st.session_state.get(CHAIN):
        st.button("Clear all steps", key="tensors.clear", on_click=lambda: st.session_state.pop(CHAIN, None))


def _add_step(kind: str, box: str) -> None:
    """Button callback: parse the argument, try the step on the current last tensor, keep it if it works."""
    state = st.session_state
    chain: list[OpStep] = list(state.get(CHAIN, []))
    try:
        if len(chain) >= MAX_STEPS:
            raise TorchstartError(f"The chain is capped at {MAX_STEPS} steps; remove one to add another.")
        step = make_step(kind, state.get(box, ""), state.get(KEEPDIM, False), state.get(TO_DTYPE, "float32"))
        x = build_tensor(state[SPEC])
        results = apply_chain(x, chain)
        if results and results[-1].error is not None:
            raise TorchstartError(f"Step {results[-1].index} fails; fix or remove it before adding more.")
        result = apply_step(step, results[-1].tensor if results else x, len(chain) + 1)
        if result.error is not None:
            raise result.error
    except TorchstartError as exc:
        state[ADD_ERROR] = f"Could not add {OPS[kind].label}: {exc}"
        return
    state[CHAIN] = [*chain, step]
