"""Tensors page: build a tensor with a factory, see everything about it, transform it step by step."""

import streamlit as st

from pages import _tensor_inspect_ui as inspect_ui
from pages import _tensors_ui as ui
from pages._ui import current_device, show_code, show_error
from torchstart.errors import TorchstartError
from torchstart.tensor_code import chain_code, factory_code
from torchstart.tensor_ops import apply_chain, tensor_name
from torchstart.tensors import MAX_ELEMENTS, build_tensor_with_warnings, spec_from_inputs

st.title("Tensors")
st.markdown(
    "A **tensor** is a grid of numbers with one **dtype**, living on one **device**. Under the grid there is "
    "a flat block of memory, the **storage**; the **shape** and **strides** say how to read the grid out of "
    "it. Create a tensor on the left, inspect it on the right, then transform it below and watch the shape, "
    f"the strides and the memory change. Tensors are capped at {MAX_ELEMENTS:,} elements here."
)
device = str(current_device())

create, inspect = st.columns([2, 3], gap="large")
with create:
    st.header("1 · Create")
    inputs = ui.creation_inputs()
    try:
        spec = spec_from_inputs(inputs, device)
        x, warnings = build_tensor_with_warnings(spec)
        st.session_state[ui.SPEC] = spec
        for warning in warnings:
            st.warning(warning, icon=":material/warning:")
    except TorchstartError as err:
        show_error(err)
        st.caption("Still showing the last tensor that worked.")
        spec, x = ui.last_good_tensor(device)
    st.code("\n".join(factory_code(spec)), language="python", wrap_lines=True)

chain = st.session_state.get(ui.CHAIN, [])
results = apply_chain(x, chain)
good = [r for r in results if r.error is None]
tensors = [x] + [r.tensor for r in good]

with inspect:
    st.header("2 · Inspect")
    chosen = inspect_ui.pick_tensor(tensors)
    inspect_ui.show_tensor(tensor_name(chosen), tensors[chosen])

st.divider()
st.header("3 · Transform")
st.caption("Add operations one after another: x1 is computed from x, x2 from x1, and so on. Each row shows the "
           "result's shape and strides, and whether it is a *view* that shares memory with its input or a copy.")
ui.show_chain(factory_code(spec)[-1], x, results, device)
ui.add_step_controls(tensors[-1])

show_code(chain_code(spec, [r.step for r in good]))
