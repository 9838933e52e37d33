"""Streamlit pieces of the Tensors page: creation widgets and the operation chain (inspector: _tensor_inspect_ui)."""

from __future__ import annotations

from typing import Any

import streamlit as st
import torch

from pages._ui import KEEP, param_input, show_error
from torchstart.errors import TorchstartError
from torchstart.tensor_code import step_line
from torchstart.tensor_figures import broadcast_frame
from torchstart.tensor_ops import (MAX_STEPS, OPS, REDUCTIONS, OpStep, StepResult, apply_chain, apply_step,
                                   keepdim_problem, make_step, suggest_argument, tensor_name)
from torchstart.tensors import DTYPES, FACTORIES, PARAMS, TensorSpec, build_tensor, format_shape

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
                                         persist_state=KEEP,
                                         height=90, help="Numbers, True/False and square brackets only.")
    if factory in ("randint",):
        a, b = st.columns(2)
        values["low"] = param_input(PARAMS["low"], key("low"), a)
        values["high"] = param_input(PARAMS["high"], key("high"), b)
    if "shape" in uses:
        values["shape"] = st.text_input("shape", "2, 3", key=key("shape"), persist_state=KEEP,
                                        help="The size of each dim, separated by commas: 2, 3 is 2 rows of 3. "
                                             "() makes a 0-dim tensor (a single number).")
    if "fill_value" in uses:
        values["fill"] = st.text_input("fill value", "7", key=key("fill"), persist_state=KEEP,
                                       help="7 gives int64, 7.0 float32.")
    if factory == "arange":
        a, b, c = st.columns(3)
        for col, name, default in ((a, "start", "0"), (b, "end", "6"), (c, "step", "1")):
            values[name] = col.text_input(name, default, key=key(name), persist_state=KEEP)
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
    # One above the other: side by side in this narrow column at 1024 px they read "float1…" and "requ…".
    values["dtype"] = param_input(PARAMS["dtype"], key("dtype"))
    values["requires_grad"] = param_input(PARAMS["requires_grad"], key("requires_grad"))
    return values


def last_good_tensor(device: str) -> tuple[TensorSpec, torch.Tensor]:
    """The last spec that built (or the default one), built again."""
    spec = st.session_state.get(SPEC) or TensorSpec(device=device)
    st.session_state[SPEC] = spec
    return spec, build_tensor(spec)


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
            _remove_button(res.index - 1, st, f"Remove step {res.index}")
            break
        _chain_row(line, res.tensor, res)
        for warning in res.warnings:
            st.warning(warning, icon=":material/warning:")
        device = str(res.tensor.device)


def _unbroken(text: str) -> str:
    """A tuple's text that the browser keeps on one line: ``(2,\u00a03)``."""
    return text.replace(" ", "\u00a0")


def _chain_row(line: str, t: torch.Tensor, res: StepResult | None) -> None:
    """One tensor in the chain."""
    cols = st.columns([5, 3, 3, 3], vertical_alignment="center")  # [6, 2, 2, 3] left "(2, 3)" 86 px at 1024
    cols[0].markdown(f"`{line}`")
    # No-break spaces: in a narrow column "(2, 3)" broke after its comma, and a shape is what this page teaches.
    cols[1].markdown(f"shape\u00a0**{_unbroken(format_shape(t.shape))}**")
    cols[2].markdown(f"stride\u00a0{_unbroken(str(t.stride()))}{'' if t.is_contiguous() else ' · not contiguous'}")
    if res is None:
        cols[3].markdown(":blue-badge[created]")
        return
    cols[3].markdown(":green-badge[shares memory]" if res.shares_memory else ":orange-badge[new memory]")
    # The note and the button share a line: in a fifth column "Remove" was cut to "R" at 1024 px.
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.caption(res.note)
        _remove_button(res.index - 1, st, f"Remove {tensor_name(res.index)}")
    if res.broadcast is not None:
        title = "How broadcasting lined up the shapes" if res.step.kind != "matmul" else "How the batch dims broadcast"
        with st.expander(title, expanded=res.index == len(st.session_state.get(CHAIN, []))):
            st.dataframe(broadcast_frame(res.broadcast, tensor_name(res.index - 1), f"b{res.index}"), width="stretch")
            st.caption("Shapes are lined up from the right. Per dim: equal sizes match, a size of 1 is stretched, "
                       "a missing dim counts as 1. Stretching is free: no data is copied to do it.")


def _remove_button(position: int, where: Any, label: str) -> None:
    """The button that deletes one step (in words: a screen reader reads "✕" as "multiplication x")."""
    where.button(label, icon=":material/delete:", key=f"tensors.remove.{position}", help="Remove this step",
                 on_click=_remove, args=(position,))


def _remove(position: int) -> None:
    """Button callback: drop one step; later steps stay and are re-applied."""
    chain = list(st.session_state.get(CHAIN, []))
    if 0 <= position < len(chain):
        del chain[position]
    st.session_state[CHAIN] = chain


def add_step_controls(current: torch.Tensor) -> None:
    """Pick an operation and its argument, then add it to the end of the chain."""
    cols = st.columns([3, 4, 2, 2], vertical_alignment="bottom")
    kind = cols[0].selectbox("Operation", list(OPS), format_func=lambda k: OPS[k].label, key=OP, persist_state=KEEP)
    info, box = OPS[kind], arg_key(kind, tuple(current.shape), current.dtype)
    text = ""
    if info.arg == "dtype":
        cols[1].selectbox("to dtype", list(DTYPES), key=TO_DTYPE, persist_state=KEEP)
    elif info.arg != "none":
        text = cols[1].text_input(ARG_LABELS[info.arg], suggest_argument(kind, tuple(current.shape),
                                                                         current.dtype.is_floating_point), key=box,
                                  persist_state=KEEP)
    if kind in REDUCTIONS:
        problem = keepdim_problem(kind, text)  # x.max() has no keepdim: greyed out, and the help says why
        cols[2].checkbox("keepdim", key=KEEPDIM, persist_state=KEEP, disabled=bool(problem),
                         help=problem or "Keep the reduced dim(s) with size 1, so the result still broadcasts "
                                         "against the input. With dim blank, every dim is kept with size 1.")
        if problem:
            cols[2].caption("max() with no dim has no keepdim")
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
        text = state.get(box, "")
        # The box keeps its tick while greyed out (max with dim blank); it does not apply then.
        keepdim = state.get(KEEPDIM, False) and not keepdim_problem(kind, text)
        step = make_step(kind, text, keepdim, state.get(TO_DTYPE, "float32"))
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
