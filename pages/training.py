"""Training page: the full loop (forward, loss, zero_grad, backward, step) trained live, stopped, continued, downloaded."""

import streamlit as st

from pages._training_ui import (
    LOG_Y, POLL_S, PUBLISHED, RUN, LiveView, apply_action, buttons, differences, downloads_ui, publish_trained,
    results_ui, settings_ui,
)
from pages._ui import KEEP, current_device, header_stop_means, show_code, show_error, take_header_stop
from torchstart import session
from torchstart.errors import TorchstartError
from torchstart.fair_share import background_work
from torchstart.training import Throttle, growth_warning, resume
from torchstart.training_export import training_script
from torchstart.wording import md_safe

st.title("Training")
st.markdown(
    "A model learns by repeating five lines: **forward** (`outputs = model(x)`), **loss** "
    "(`criterion(outputs, y)`), **`optimizer.zero_grad()`**, **`loss.backward()`** and **`optimizer.step()`**. "
    "The settings start on the classic first example (`nn.Linear(1, 1)` learning y = 2x from four points): "
    "press **Train**, then change the data, model, loss or optimizer and watch what happens."
)

dataset = st.session_state.get(session.DATASET)
session_model = st.session_state.get(session.MODEL)
config = settings_ui(dataset, session_model, str(current_device()))
if take_header_stop("training") and st.session_state.get(RUN) is not None:
    st.session_state[RUN].request_stop()  # Streamlit's own Stop ended the last script run: as the page's Stop
run = apply_action(config, dataset, session_model)
if run is None or run.epoch == 0:  # Reset, a new run or none: Checkpoints must not offer a discarded model
    st.session_state.pop(session.TRAINED, None)
    st.session_state.pop(PUBLISHED, None)
buttons(run, config)

if run is not None:
    changed = differences(run, config, dataset, session_model) if run.epoch else []
    if changed:
        # Say what changed: after a Data or Models page change the learner touched nothing here.
        st.info(md_safe(f"The run shown below trained on **{run.data.name}**. Since then: {'; '.join(changed)}. "
                        "**Train** starts a new run with things as they are now; **Continue** keeps training the "
                        "current model with its own settings and data."), icon=":material/tune:")
    for note in run.data.notes:
        st.caption(md_safe(note))
    st.toggle("Log-scale loss axis", value=True, key=LOG_Y, persist_state=KEEP)
    live = LiveView()
    if run.training_wanted:
        # background_work: other sessions' page runs go first while this trains.
        with header_stop_means("training"), background_work():
            resume(run, live.update, Throttle(poll_interval=POLL_S))
        if run.training_wanted:
            st.stop()  # another thread took the run over (only with fastReruns on) and carries on
        st.rerun()  # one more run draws the idle page: enabled buttons, results, the Checkpoints hand-off
    live.show(run)

    if run.status in ("diverged", "failed"):
        show_error(TorchstartError(run.message))
    elif (growth := growth_warning(run)) is not None:
        st.warning(growth, icon=":material/trending_up:")
    if run.status == "stopped":
        st.info(f"Stopped after epoch {run.epoch:,}: the model keeps what it learned. **Continue** trains further "
                "from here; **Reset** starts over.", icon=":material/pause_circle:")

    if run.epoch and run.status not in ("diverged", "failed"):
        # The hand-off to the Checkpoints page: refreshed only when there is something new.
        script = training_script(run, session_model=session_model)
        publish_trained(run, session_model, script)
        results_ui(run)
        downloads_ui(run, script)
        show_code(script, label="Show code: this whole run in plain PyTorch")
    elif run.epoch:
        show_code(training_script(run, session_model=session_model), label="Show code: this run in plain PyTorch")
    else:
        st.caption("Not trained yet: the charts show the freshly initialised model. Press **Train**.")
        show_code(training_script(run, epochs=config.epochs, session_model=session_model),
                  label="Show code: the run that Train starts")
