"""Models page: stack layers into an nn.Module, then read its print, summary, parameters and code."""

from dataclasses import replace

import streamlit as st

from pages import _models_ui as ui
from pages._ui import KEEP, current_device, number_columns, show_code, show_error
from torchstart import session
from torchstart.errors import TorchstartError
from torchstart.layers import format_shape
from torchstart.model_code import model_code
from torchstart.model_figures import parameter_histogram
from torchstart.model_inspect import forward_pass, parameter_table, summarize, values_table
from torchstart.model_spec import (ModelSpec, auto_fit, check_spec, data_fit_note, model_picture, parse_shape,
                                   trace_shapes)
from torchstart.params import IntParam

BATCH = IntParam("Batch size", 2, 1, 16, help="How many random samples go through the model at once.")
INPUT_SEED = IntParam("Input seed", 0, 0, 2**31 - 1, help="torch.manual_seed before torch.randn.")
STAT_FORMATS = {c: "%.4f" for c in ("mean", "std", "min", "max")}

st.title("Models")
st.markdown("A model is a subclass of `nn.Module`: its layers are attributes set in `__init__`, and "
            "`forward` says how data flows through them. Build one from layers and look inside.")

ui.init_state()
seed = ui.preset_bar()

st.header("Layer stack")
shape_text, fit_on = ui.input_shape_bar()
layers = ui.read_layers()
fitted, fitted_names, shapes = None, None, []
try:
    input_shape = parse_shape(shape_text)
    if fit_on:
        draft, fitted_names = auto_fit(ModelSpec("Draft", input_shape, tuple(layers)))
        fitted = list(draft.layers)
    shapes = trace_shapes(input_shape, fitted or layers)
except TorchstartError:
    pass  # a bad input shape is reported below, after the editor
ui.stack_editor(fitted or layers, fitted, fitted_names, shapes)
ui.add_layer_bar()

try:
    base = ModelSpec(st.session_state[ui.CLASS_NAME].strip(), parse_shape(shape_text), tuple(fitted or layers))
    check = check_spec(base)
except TorchstartError as err:
    show_error(err)
    ui.kept_model_note(err)
    st.stop()

dataset = st.session_state.get(session.DATASET)
fit_note = None if dataset is None else data_fit_note(base.input_shape, check.output_shape, dataset.n_features,
                                                      dataset.n_targets, len(dataset.classes), model_picture(base))
if fit_note and not fit_note.startswith("This model fits"):  # beside the stack it is about, not 1,700 px below
    st.info(fit_note, icon=":material/straighten:")
    ui.fit_to_data_button(base, dataset.n_features, dataset.n_targets)
ui.just_fitted_note()

frozen = ui.freeze_picker(check.trainable_layers)
spec = replace(base, frozen=frozen)
model = ui.current_model(spec, seed)
ui.hand_off(spec, check, model, seed)
summary = ui.per_model("summary", model, None, lambda: summarize(model, spec.input_shape))

st.header(f"{spec.class_name}: {format_shape(spec.input_shape)} → {format_shape(check.output_shape)}")
ui.summary_metrics(summary)
fits = f" {fit_note}" if fit_note and fit_note.startswith("This model fits") else ""
st.caption("The Training page can train this architecture when its input and output sizes fit the data "
           "(a freshly initialised copy, seeded by the Training page's own seed); the Checkpoints page "
           f"loads .pth files into it.{fits}")

st.markdown("**`print(model)`**")
st.code(repr(model), language="text", wrap_lines=True)  # a phone cut out_features and bias off
ui.layer_table(summary, spec.input_shape)

params_tab, forward_tab = st.tabs(["Parameters", "Forward pass"])
with params_tab:
    st.caption("`model.named_parameters()` with each tensor's initial values (seeded by the init seed). "
               "A one-value tensor has no spread: `torch.std` divides by n − 1 (Bessel's correction), so its std "
               "is nan.")
    params, stat_config = number_columns(ui.per_model("params", model, None, lambda: parameter_table(model)),
                                         STAT_FORMATS)
    st.dataframe(params, hide_index=True, width="stretch",
                 column_config={"Numel": st.column_config.NumberColumn(format="localized"), **stat_config})
    named = dict(model.named_parameters())
    if named:
        chosen = st.selectbox("Histogram of", list(named), key="models.hist_param", persist_state=KEEP)
        st.plotly_chart(ui.per_model("hist", model, chosen, lambda: parameter_histogram(named[chosen], chosen)),
                        key="models.histogram")
    else:  # only activations, Flatten, pooling or Dropout: nothing is learned
        st.info("This model has no parameters: none of its layers has weights to learn, so there is no "
                "histogram. Add a Linear or Conv2d layer to give it some.")

with forward_tab:
    left, right = st.columns(2)
    batch = BATCH.check(int(left.number_input(BATCH.label, BATCH.min_value, BATCH.max_value, BATCH.default,
                                              key="models.batch", persist_state=KEEP, help=BATCH.help)))
    input_seed = INPUT_SEED.check(int(right.number_input(
        INPUT_SEED.label, INPUT_SEED.min_value, INPUT_SEED.max_value, INPUT_SEED.default,
        key="models.input_seed", persist_state=KEEP, help=INPUT_SEED.help)))
    device = current_device()
    result = ui.per_model("forward", model, (batch, input_seed, str(device)),
                          lambda: forward_pass(model, spec.input_shape, batch, input_seed, device))
    st.markdown(f"`x` {format_shape(tuple(result.inputs.shape))} → `model(x)` "
                f"{format_shape(tuple(result.outputs.shape))}, in eval mode on `{result.device}`")
    for where, name, values in zip(st.columns(2), ("x", "model(x)"), (result.inputs, result.outputs)):
        shown = values_table(values)
        more = values[0].numel() - shown.shape[1]
        where.markdown(f"**`{name}`**" + (f" (first {shown.shape[1]} of {values[0].numel():,} values per sample)"
                                          if more else ""))
        where.dataframe(shown.style.format("{:.4f}"), width="stretch")

show_code(model_code(spec, seed, batch, input_seed, result.device))
