"""Optimizers page: race real torch.optim optimizers across a loss landscape from the same start."""

import streamlit as st

from pages._optimizers_ui import (CHART_KEY, TABLE_FOR_KEY, cached_race, landscape_picker, last_result,
                                  race_figures, racer_picker, racer_settings, start_and_steps, start_from_click,
                                  stopped_note)
from pages._ui import KEEP, number_columns, show_code, show_error
from torchstart.errors import TorchstartError
from torchstart.optimizer_code import race_code
from torchstart.optimizer_race import (ARRIVED, ARRIVED_COLUMN, MAX_STEPS, arrival_text, divergence_advice,
                                       race_summary, step_table)
from torchstart.wording import md_safe

st.title("Optimizers")
st.write("Every optimizer below is the real `torch.optim` class stepping one two-element parameter tensor "
         "`p`: `zero_grad()`, loss, `backward()`, `step()`. They all start from the same point; watch "
         "where each one goes.")

# The landscape, its formula and the racers span the page: in a side column beside the sidebar at 1024 px
# (about 180 px) the formula was cut and the racers' names were clipped.
land = landscape_picker()
st.latex(land.formula)
st.caption(md_safe(land.note))
racers = racer_picker()

# Beside the map, one above the other (each reads whole in a narrow column): the start, the steps, a card per racer.
settings_col, chart_col = st.columns([1, 1.8], gap="medium")
with settings_col:
    start, steps = start_and_steps(land)
    specs = racer_settings(land, racers)

with chart_col:
    try:
        result = cached_race(land, start, specs, steps)
    except TorchstartError as err:
        show_error(err)
        result = last_result()
        if result is None or result.landscape.key != land.key:
            st.stop()
        st.caption("Showing the previous race until the settings above are fixed.")

    if result.stopped and not result.finished:
        stopped_note(result)
    landscape_fig, loss_fig = race_figures(result)
    for path in result.paths:
        if path.diverged_at is not None:
            st.warning(f"**{path.spec.label} diverged at step {path.diverged_at}**: {path.note}. "
                       f"Its path ends with ✕. {divergence_advice(path, result.landscape)}",
                       icon=":material/warning:")
    st.plotly_chart(landscape_fig, key=CHART_KEY, on_select=lambda: start_from_click(land),
                    selection_mode="points", config={"displaylogo": False})
    st.caption(f"Click a point of the map to start there, or type the start on the left. ▶ Play replays "
               f"the race; the slider shows the paths after any step. Long paths are drawn with at most "
               f"150 points each; the table below has every step (up to {MAX_STEPS:,}).")
    st.plotly_chart(loss_fig, key="optimizers.loss_chart")

names = [p.spec.optimizer for p in result.paths]
if not names:  # stopped before any optimizer made a step: nothing to tabulate
    st.stop()
st.subheader("Who got where")
summary = race_summary(result)
summary[ARRIVED_COLUMN] = summary.apply(arrival_text, axis=1)  # "—" where there is no such step, not "None"
summary, summary_formats = number_columns(summary.drop(columns="diverged at step"),
                                          {"last loss": "%.4e", "distance from the nearest minimum": "%.3g"},
                                          print_like=True)
st.dataframe(summary, hide_index=True,
             column_config=summary_formats | {ARRIVED_COLUMN: st.column_config.TextColumn(alignment="right")})
st.caption(f"Distance: from the last point to the nearest minimum, in the parameters' own units. 99% of the way: "
           f"the first step from which the path stays within {ARRIVED:.0%} of its starting distance from a minimum "
           "(— if it never settles that close). A low last loss far from the minimum is a flat valley: "
           "the loss hardly tells there how far there is to go.")
st.subheader("Step by step: inside optimizer.state")
if st.session_state.get(TABLE_FOR_KEY) not in names:
    st.session_state.pop(TABLE_FOR_KEY, None)
# Open on an optimizer that really kept state (plain SGD keeps none, nor SGD + momentum at momentum 0).
first_with_state = next((i for i, p in enumerate(result.paths) if any(p.states[1:2])), 0)
chosen = st.selectbox("Optimizer", names, index=first_with_state, key=TABLE_FOR_KEY, persist_state=KEEP,
                      help="Its parameters, gradient and internal state at every step.")
path = result.path(chosen)
st.caption("Row k: the parameters after k steps, the loss and gradient there (the gradient step k+1 uses), "
           "and what `optimizer.state[p]` holds after step k: the momentum buffer for SGD with momentum, "
           "`exp_avg` / `exp_avg_sq` (first and second moments) for Adam and AdamW, `square_avg` for "
           "RMSprop, `sum` for Adagrad. Plain SGD keeps no state. AdamW's weight decay keeps none either: "
           "it only shrinks `p` at each step, which is why its path differs from Adam's.")
table = step_table(path, result.landscape.param_names)
point_columns, state_columns = list(table.columns[1:6]), list(table.columns[6:])
# Every number as print() writes it (nan, inf, 1e+24); "—" only where no value exists: the state before step 1.
table, formats = number_columns(table, {c: "%.6g" for c in point_columns}, print_like=True)
table, state_formats = number_columns(table, {c: "%.6g" for c in state_columns}, print_like=True,
                                      blank_rows=table["step"] == 0)
st.dataframe(table, hide_index=True, height=320, column_config=formats | state_formats)
stopped = path.stopped_at is not None
show_code(race_code(result.landscape, result.start, path.spec, path.stopped_at if stopped else result.steps,
                    planned=result.steps if stopped else None),
          label=f"Show code: {path.spec.label}")
