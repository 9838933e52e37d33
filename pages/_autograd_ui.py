"""Streamlit helpers for the Autograd page: examples, variables editor, expression tabs (demos: _autograd_demos_ui)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._ui import KEEP, show_error
from torchstart import autograd_demos as demos
from torchstart.autograd_dot import LEGEND, graph_to_dot
from torchstart.autograd_graph import (
    GRADCHECK_WORK, MAX_GRADCHECK_ROWS, MAX_JACOBIAN_ENTRIES, AutogradRun, VariableSpec, backprop_steps,
    backward_advice, format_value, gradcheck_limit, gradcheck_summary, gradcheck_total, gradient_check,
)
from torchstart.errors import TorchstartError
from torchstart.expressions import ALLOWED_FUNCTIONS, MAX_VARIABLES, assigned_name, check_variable_name

EXPRESSION = "autograd.expression"
EXAMPLE = "autograd.example"
NAMES = "autograd.names"
NEW_NAME = "autograd.new_name"
ADD_ERROR = "autograd.add_error"
LAST_GOOD = "autograd.last_good"
BASE_NAMES = ("x", "w", "b")


def value_key(name: str) -> str:
    """Session key of a variable's value text box."""
    return f"autograd.value.{name}"


def grad_key(name: str) -> str:
    """Session key of a variable's requires_grad checkbox."""
    return f"autograd.requires_grad.{name}"


EXAMPLES = {example.title: example for example in demos.EXAMPLES}


def forget_example() -> None:
    """The expression's on_change: once edited it is no longer the example, so the box stops naming one."""
    st.session_state[EXAMPLE] = None


def apply_example() -> None:
    """on_change: load the chosen example's expression and variables."""
    if st.session_state.get(EXAMPLE) not in EXAMPLES:
        return
    example = EXAMPLES[st.session_state[EXAMPLE]]
    st.session_state[EXPRESSION] = example.expression
    st.session_state[NAMES] = [spec.name for spec in example.variables]
    for spec in example.variables:
        st.session_state[value_key(spec.name)] = spec.value
        st.session_state[grad_key(spec.name)] = spec.requires_grad


def init_state() -> None:
    """First visit: the default example."""
    if NAMES not in st.session_state:
        st.session_state[EXAMPLE] = demos.EXAMPLES[0].title
        apply_example()


def _add_variable() -> None:
    """on_click: declare a new variable (value 1, tracked)."""
    st.session_state[ADD_ERROR] = None
    try:
        name = check_variable_name(st.session_state.get(NEW_NAME, ""))
        if name in st.session_state[NAMES]:
            raise TorchstartError(f"There is already a variable called {name}.")
        result = assigned_name(st.session_state.get(EXPRESSION, ""))
        if name == result:
            raise TorchstartError(f"The expression's result is called {name}; a variable of that name would "
                                  f"clash with it. Pick another name, or rename the result first.")
        if len(st.session_state[NAMES]) >= MAX_VARIABLES:
            raise TorchstartError(f"At most {MAX_VARIABLES} variables on this page; remove one first.")
    except TorchstartError as err:
        st.session_state[ADD_ERROR] = str(err)
        return
    st.session_state[NAMES] = [*st.session_state[NAMES], name]
    st.session_state[value_key(name)] = "1"
    st.session_state[grad_key(name)] = True
    st.session_state[NEW_NAME] = ""


def _remove_variable(name: str) -> None:
    """on_click: forget an added variable."""
    st.session_state[NAMES] = [n for n in st.session_state[NAMES] if n != name]


CARD_WIDTH = 230  # px: room for "requires_grad" and the remove button; two cards fit a 1024 px window's main area


def variables_editor(card_width: int = CARD_WIDTH) -> list[VariableSpec]:
    """A card per variable: value (number or tensor literal) and requires_grad; add and remove extra ones.

    The cards have a fixed width and wrap: as many per row as fit (four equal columns cut
    requires_grad to "r…" beside the sidebar at 1024 px).
    """
    specs = []
    names = st.session_state[NAMES]
    with st.container(horizontal=True, gap="small"):
        for name in names:
            with st.container(border=True, width=card_width):
                # Plain text: a screen reader reads the label as typed, "**x** =" with its asterisks.
                text = st.text_input(f"{name} =", key=value_key(name), persist_state=KEEP,
                                     placeholder="2, or a tensor such as [1, 2, 3]")
                with st.container(horizontal=True, vertical_alignment="center", gap="xsmall"):
                    tracked = st.checkbox("requires_grad", key=grad_key(name), persist_state=KEEP,
                                          help=f"Track {name}: autograd records operations on it and fills "
                                               f"{name}.grad. Off: {name} is a constant for autograd.")
                    if name not in BASE_NAMES:
                        st.button(f"Remove {name}", icon=":material/delete:", key=f"autograd.remove.{name}",
                                  help=f"Remove {name}", on_click=_remove_variable, args=(name,))
            specs.append(VariableSpec(name, text, tracked))
    with st.popover("Add a variable", icon=":material/add:"):
        st.text_input("Name", key=NEW_NAME, persist_state=KEEP, placeholder="e.g. v or bias2")
        st.button("Add", key="autograd.add", on_click=_add_variable)
    problem = st.session_state.pop(ADD_ERROR, None)  # shown once: the next action clears it
    if problem:
        show_error(TorchstartError(problem))
    return specs


METRICS_PER_ROW = 3


def summary(run: AutogradRun) -> None:
    """The output value and each used variable's .grad: big numbers for scalars, a table for tensors."""
    out = run.program.output
    shown = [(name, t) for name, t in run.variables.items() if name in run.program.variables_used]
    if all(t.numel() == 1 for _, t in [(out, run.output), *shown]):
        metrics = [(out, format_value(run.output), f"Forward value of {out}")]
        metrics += [(f"{name}.grad", format_value(tensor.grad) if tensor.requires_grad else "not tracked",
                     f"d{out}/d{name}, filled in by {out}.backward()") for name, tensor in shown]
        # Three to a row: four in a 1024-px window cut 9.537e-07 to "9.537…", which reads as 9.5.
        for start in range(0, len(metrics), METRICS_PER_ROW):
            columns = st.columns(METRICS_PER_ROW)
            for column, (label, value, help_text) in zip(columns, metrics[start:start + METRICS_PER_ROW]):
                column.metric(label, value, help=help_text)
        return
    rows = [{"tensor": out, "shape": str(tuple(run.output.shape)), "value": format_value(run.output, 12),
             ".grad": "(output)"}]
    rows += [{"tensor": name, "shape": str(tuple(t.shape)), "value": format_value(t, 12),
              ".grad": format_value(t.grad, 12) if t.requires_grad else "not tracked"} for name, t in shown]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="autograd.summary")


def backward_problem(run: AutogradRun) -> None:
    """Explain a failed backward() with PyTorch's own message."""
    if run.backward_error is None:
        return
    st.warning(f"**backward() raised RuntimeError:** {run.backward_error}\n\n{backward_advice(run)}",
               icon=":material/warning:")


def legend() -> None:
    """What the colours in the graph mean."""
    st.markdown("  \n".join(f":{colour}-badge[{name}] {text}" for colour, name, text in LEGEND))


def graph_tab(run: AutogradRun) -> None:
    """The recorded graph with values and gradients."""
    backward_problem(run)
    drawing, notes = st.columns([3, 2])
    drawing.graphviz_chart(graph_to_dot(run.graph, show_grads=run.backward_error is None))
    with notes:
        graph_notes(run)


def graph_notes(run: AutogradRun) -> None:
    """Legend and what is (not) drawn."""
    legend()
    untracked = [n for n, t in run.variables.items() if n in run.program.variables_used and not t.requires_grad]
    if untracked:
        st.caption(f"Not drawn: {', '.join(untracked)} (requires_grad off). PyTorch records no node for tensors "
                   "it need not differentiate. An operation saves such a value only when its derivative needs it: "
                   "in w * x, MulBackward0 keeps x to compute w's gradient; + keeps no tensor at all.")
    if run.backward_error is None and any(n.kind == "op" for n in run.graph.nodes):
        st.caption("This page called `retain_grad()` on every intermediate result, the output included, so the "
                   "graph can show their gradients. Plain PyTorch keeps `.grad` only on leaves: an intermediate's "
                   "`.grad` stays None unless you call `retain_grad()` on it before backward().")
    st.caption("Arrows show the forward pass. backward() walks them in reverse: from the output's grad_fn along "
               "each node's `next_functions` down to the leaves' AccumulateGrad, which writes `.grad`.")


def backprop_tab(run: AutogradRun) -> None:
    """The chain rule, one edge at a time, ending in each leaf's .grad."""
    steps, leaves = backprop_steps(run)
    if run.backward_error is not None:
        st.info("backward() did not run for this expression (see the first tab), so there is nothing to step "
                f"through. {backward_advice(run)}")
        return
    st.markdown("backward() visits the nodes from the output down (reverse topological order). At each "
                "operation, the gradient that **arrives** (d out/d node) is multiplied by the operation's "
                "**local derivative** (d node/d input): that product is the gradient passed to the input.")
    # st.table wraps long cells (a Jacobian, a long operation); a dataframe would cut them off.
    st.table(pd.DataFrame([{
        "step": s.step, "grad_fn": s.node, "operation": s.operation,
        "gradient arriving": format_value(s.upstream, MAX_JACOBIAN_ENTRIES), "input": s.input_name,
        "× local derivative": s.local, "= gradient passed to input": format_value(s.product, MAX_JACOBIAN_ENTRIES),
    } for s in steps]), hide_index=True)
    st.markdown("Each leaf's `.grad` is the **sum** of everything that reached it (a variable used twice "
                "gets two contributions):")
    st.table(pd.DataFrame([{  # a table too: a matrix .grad wraps instead of being cut off
        "leaf": leaf.name,
        "contributions": " + ".join(format_value(c, MAX_JACOBIAN_ENTRIES) for c in leaf.contributions) or "none",
        "sum": format_value(leaf.total, MAX_JACOBIAN_ENTRIES),
        ".grad from backward()": format_value(leaf.grad, MAX_JACOBIAN_ENTRIES),
    } for leaf in leaves]), hide_index=True)
    internal = sorted({n.title for n in run.graph.nodes if n.kind == "internal"})
    recorded = (f" Some operations are recorded as several steps: {', '.join(internal)} run inside them (@ on a "
                "vector is unsqueeze → mm → squeeze, so its row's grad_fn is SqueezeBackward4). Each row shows the "
                "grad_fn of the operation's result; the graph on the first tab draws the inner steps in grey."
                if internal else "")
    st.caption("Local derivatives are computed by PyTorch on each operation alone. For tensors the local "
               "derivative is a Jacobian; elementwise operations have a diagonal one, shown as its diagonal."
               + recorded)


def gradcheck_tab(run: AutogradRun, specs: list[VariableSpec]) -> None:
    """Autograd vs central finite differences in float64."""
    limit = gradcheck_limit(run, specs)
    rows = gradient_check(run, specs, limit)
    if not rows:
        st.info("The check needs a scalar output and at least one variable with requires_grad on.")
        return
    st.markdown("Nudge each number v by ±h and see how the output moves: (f(v + h) − f(v − h)) / 2h, computed in "
                "float64 at the float32 values autograd used. Autograd should agree. h is 1e-6 from |v| = 1 up to "
                "10³, then 10⁻⁹·|v|, so the nudge stays large next to float64's rounding of v (at 1e10 a nudge of "
                "1e-6 already rounds to 1.9e-6, one float64 step; at 1e11 it vanishes); below |v| = 1 it shrinks "
                "with v, down to 1e-9, so at v = 0.00001 the nudge stays far from log's pole at 0. Where a big "
                "output's rounding would hide that nudge, the larger 1e-6·max(1, |v|) is used.")
    level, verdict = gradcheck_summary(rows, run.output)
    {"success": st.success, "warning": st.warning, "info": st.info}[level](verdict)
    st.dataframe(pd.DataFrame([{
        "variable": r.variable + (str(list(r.index)) if r.index else ""), "autograd": f"{r.autograd:.6g}",
        "finite difference": f"{r.numeric:.6g}", "|difference|": f"{r.difference:.1e}", "result": r.result,
    } for r in rows]), hide_index=True, key="autograd.gradcheck")
    capped = f" Only the first {limit} numbers are checked." if gradcheck_total(run) > limit else ""
    if capped and limit < MAX_GRADCHECK_ROWS:  # each costs two passes of an expression that does much work
        capped = (f" Only the first {limit} numbers are checked: each takes two passes of this expression, and the "
                  f"check is capped at {GRADCHECK_WORK:,} multiply-adds in all.")
    st.caption(f"Pass when |difference| ≤ 1e-4 + 1e-3·|finite difference| (autograd here runs in float32). "
               f"At a kink the two can legitimately disagree: at relu(0) autograd uses the slope 0, while the "
               f"finite difference straddles the kink and gets 0.5.{capped}")


HELP = (f"Use numbers, your variables, `+ - * / ** @`, parentheses and {ALLOWED_FUNCTIONS}. "
        "Optionally name the result: loss = ... . Nothing you type is run as Python.")
