"""Streamlit drawing of the Autograd page's live demos: the gotchas tab and the dynamic-graphs tab."""

from __future__ import annotations

import streamlit as st

from pages._ui import param_input, show_code, show_error
from torchstart import autograd_demos as demos
from torchstart.autograd_dot import graph_to_dot
from torchstart.autograd_graph import format_number
from torchstart.errors import TorchstartError


def _demo(demo: demos.Demo) -> None:
    """The code that ran, each result as a comment after its line; real errors in red where they happened."""
    lines: list[str] = []
    for step in demo.steps:
        lines += step.code.splitlines()
        if step.error:
            st.code("\n".join(lines), language="python", wrap_lines=True)  # half-width columns
            st.error(step.result, icon=":material/error:")
            lines = []
        elif step.result:
            lines.append(f"# → {step.result}")
    if lines:
        st.code("\n".join(lines), language="python", wrap_lines=True)


def gotchas_tab() -> None:
    """Accumulation, non-scalar backward, retain_graph, no_grad/detach: each run live."""
    x_value = param_input(demos.DEMO_X, key="autograd.demo_x", container=st.columns([1, 2])[0])
    first, second = st.columns(2)
    with first:
        st.subheader("1. backward() accumulates into .grad", divider="gray")
        calls = param_input(demos.BACKWARD_CALLS, key="autograd.calls")
        demo = demos.accumulation_demo(demos.DEMO_X.check(x_value), demos.BACKWARD_CALLS.check(calls))
        st.markdown("Each call **adds** the same gradient of y = x ** 2 (2x) to `x.grad` again: "
                    "2x → 4x → 6x …, here " + " → ".join(f"**{format_number(v)}**" for v in demo.values)
                    + ". Zero the gradients between steps (`x.grad.zero_()` or `optimizer.zero_grad()`).")
        _demo(demo)
    with second:
        st.subheader("2. backward() needs a scalar", divider="gray")
        st.markdown("backward() starts from d out/d out = 1, a single number. For a vector output, reduce it "
                    "first or say how much each element matters with `gradient=`.")
        _demo(demos.nonscalar_demo())
    first, second = st.columns(2)
    with first:
        st.subheader("3. retain_graph", divider="gray")
        st.markdown("backward() frees the tensors the graph saved, so a second pass through the same graph fails "
                    "when its operations saved tensors for backward (most do: `*`, `**`, sigmoid …; `+` does not), "
                    "unless the first pass kept them with `retain_graph=True`.")
        _demo(demos.retain_graph_demo(x_value))
    with second:
        st.subheader("4. torch.no_grad() and .detach()", divider="gray")
        st.markdown("Inside `torch.no_grad()` nothing is recorded; `.detach()` cuts one tensor out of the graph. "
                    "Watch the edges disappear:")
        demo = demos.no_grad_detach_demo(x_value)
        for column, (title, graph) in zip(st.columns(len(demo.graphs)), demo.graphs.items()):
            column.caption(f"`{title}`")
            column.graphviz_chart(graph_to_dot(graph))
        _demo(demo)


def dynamic_tab() -> None:
    """A program with a loop and an if: change n or the sign of x and the graph changes."""
    st.markdown("PyTorch is **define-by-run**: there is no graph written down in advance. The graph is recorded "
                "while your Python code runs, one node per operation actually executed, and rebuilt on every "
                "run. So loops and `if` statements are just Python; the graph is whatever this run did.")
    left, right = st.columns(2)
    n = param_input(demos.LOOP_COUNT, key="autograd.loop_n", container=left)
    x_value = param_input(demos.DYNAMIC_X, key="autograd.dynamic_x", container=right)
    try:
        result = demos.dynamic_program(demos.DYNAMIC_X.check(x_value), demos.LOOP_COUNT.check(n))
    except TorchstartError as err:
        show_error(err)
        return
    st.markdown(f"This run: the loop ran **{n}** time(s) and **{result.branch}**. "
                f"out = `{format_number(result.output)}`, x.grad = `{format_number(result.x_grad)}`, "
                f"{sum(1 for node in result.graph.nodes if node.kind != 'leaf')} operation node(s).")
    st.graphviz_chart(graph_to_dot(result.graph))
    show_code(result.code, label="Show code for this program")
