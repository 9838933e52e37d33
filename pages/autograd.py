"""Autograd page: type an expression, see the real grad_fn graph with values and gradients, step through backward()."""

import streamlit as st

from pages import _autograd_demos_ui as demos_ui
from pages import _autograd_ui as ui
from pages._ui import KEEP, show_code, show_error
from torchstart.autograd_code import expression_code
from torchstart.autograd_graph import run_autograd
from torchstart.errors import TorchstartError

st.title("Autograd")
st.markdown(
    "Type an expression over a few tensors. PyTorch computes it **and records every operation** in a graph of "
    "`grad_fn` nodes; `backward()` then walks that graph in reverse with the chain rule and fills each leaf's "
    "`.grad`. Everything below is read from the real tensors and `grad_fn` objects."
)
ui.init_state()

left, right = st.columns([3, 2], vertical_alignment="bottom")
text = left.text_input("Expression", key=ui.EXPRESSION, persist_state=KEEP, help=ui.HELP,
                       placeholder="e.g. y = sigmoid(w * x + b)", on_change=ui.forget_example)
right.selectbox("Load an example", list(ui.EXAMPLES), key=ui.EXAMPLE, persist_state=KEEP, on_change=ui.apply_example,
                index=None, placeholder="Pick one to load it")
st.caption(f"Allowed: numbers, your variables, `+ - * / ** @`, parentheses and "
           f"`{ui.ALLOWED_FUNCTIONS.replace(', ', '`, `')}`. Values may be numbers or tensors such as `[1, 2, 3]`.")

with st.container(border=True):
    st.markdown("**Variables** (leaf tensors)")
    specs = ui.variables_editor()

run = None
try:
    run = run_autograd(text, specs)
    st.session_state[ui.LAST_GOOD] = (text, specs)
except TorchstartError as err:
    show_error(err)
    last = st.session_state.get(ui.LAST_GOOD)
    if last is not None:
        st.caption(f"Still showing the last expression that worked: `{last[0]}`.")
        run = run_autograd(*last)
        specs = last[1]

if run is not None:
    ui.summary(run)
    show_code(expression_code(run.program, specs, run.backward_error))

graph_tab, steps_tab, check_tab, gotchas_tab, dynamic_tab = st.tabs(
    ["Expression & graph", "Backprop step by step", "Gradient check", "Gotchas", "Dynamic graphs"])
if run is not None:
    with graph_tab:
        ui.graph_tab(run)
    with steps_tab:
        ui.backprop_tab(run)
    with check_tab:
        ui.gradcheck_tab(run, specs)
with gotchas_tab:
    demos_ui.gotchas_tab()
with dynamic_tab:
    demos_ui.dynamic_tab()
