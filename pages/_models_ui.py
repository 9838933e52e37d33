"""Streamlit side of the Models page: the preset bar, the layer-stack editor and the session hand-off.

The stack lives in ``st.session_state["models.stack"]`` as a list of
``{"id", "kind", "args"}`` dicts; each argument's widget is keyed by the layer's
id (``models.layer.<id>.<arg>``), so moving a layer keeps its values.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

import streamlit as st
from torch import nn

from pages._ui import KEEP, plural
from torchstart import session
from torchstart.errors import TorchstartError
from torchstart.layers import LAYERS, ArgSpec, format_shape
from torchstart.model_code import handoff_code
from torchstart.model_inspect import ModelSummary, format_bytes
from torchstart.model_spec import (MAX_LAYERS, PRESET_NOTES, PRESETS, LayerSpec, ModelSpec, SpecCheck,
                                   attribute_names, build_model, can_fit, fit_changes, fit_inputs, fit_to_data,
                                   parse_shape, same_stack)
from torchstart.params import BoolParam, FloatParam, IntParam

STACK = "models.stack"
NEXT_ID = "models.next_id"
PRESET = "models.preset"
CLASS_NAME = "models.class_name"
INPUT_SHAPE = "models.input_shape"
AUTO_FIT = "models.auto_fit"
FROZEN = "models.frozen"
SEED = "models.seed"
NEW_KIND = "models.new_kind"
BUILT = "models.built"
JUST_FITTED = "models.just_fitted"
DEFAULT_PRESET = "SimpleModel"
# px per argument input: a layer's inputs wrap onto more rows when the card is narrow (sidebar open at 1024 px),
# instead of squeezing six columns until labels break mid-word ("in_chan/nels").
ARG_WIDTH = 140

MULT_ADDS_HELP = (
    "For one sample in eval mode, counted from the shape each layer really sees: a Linear does in_features "
    "multiply-adds per output value (Linear(4 → 2) on a 3×4 sample: 3 · 4 · 2 = 24), a Conv2d in_channels × "
    "kernel height × kernel width per output value, a BatchNorm one (x · scale + shift) per value. Bias adds, "
    "activations, pooling and Dropout are not counted. torchinfo's own total differs: it multiplies each "
    "layer's parameters, bias included, by the batch size (a Conv2d's by the batch size × its output positions), "
    "ignoring a Linear's other leading dimensions."
)
SEED_PARAM = IntParam("Init seed", 0, 0, 2**31 - 1, help="torch.manual_seed before building: same seed, same weights.")


def arg_key(layer_id: int, arg: str) -> str:
    """The widget key of one argument of one layer."""
    return f"models.layer.{layer_id}.{arg}"


def _new_entry(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    st.session_state[NEXT_ID] = st.session_state.get(NEXT_ID, 0) + 1
    return {"id": st.session_state[NEXT_ID] - 1, "kind": kind, "args": dict(args)}


def load_preset(name: str | None = None) -> None:
    """Replace the stack, class name and input shape with a preset's (a widget callback)."""
    name = name or st.session_state.get(PRESET, DEFAULT_PRESET)
    spec = PRESETS[name]
    st.session_state[PRESET] = name
    st.session_state[CLASS_NAME] = spec.class_name
    load_stack(spec)


def load_stack(spec: ModelSpec, keep_frozen: bool = False) -> None:
    """Replace the layer stack and input shape with ``spec``'s (a widget callback)."""
    # New ids give every argument widget a new key, so each shows the value it is given here.
    st.session_state[STACK] = [_new_entry(layer.kind, layer.kwargs) for layer in spec.layers]
    st.session_state[INPUT_SHAPE] = ", ".join(str(n) for n in spec.input_shape)
    if not keep_frozen:  # a new preset; a fit keeps the layer names, and freeze_picker drops any that went
        st.session_state[FROZEN] = []


def fit_to_data_button(spec: ModelSpec, n_features: int, n_targets: int) -> None:
    """A button that sets the stack's two ends for the Data page's dataset, where the stack can be made to fit."""
    try:
        changes = fit_changes(spec, fit_to_data(spec, n_features, n_targets))
    except TorchstartError:
        return  # the note above says what to change by hand
    st.button("Fit the model to this dataset", icon=":material/straighten:", key="models.fit_to_data",
              on_click=_fit_stack, args=(n_features, n_targets),
              help=f"Changes {'; '.join(changes)}, and turns Auto-fit on. The other settings stay as they are.")


def _fit_stack(n_features: int, n_targets: int) -> None:
    """The button's callback: fits the stack as it is now (an edit may have landed since the button was drawn)."""
    try:
        current = ModelSpec(st.session_state[CLASS_NAME].strip(), parse_shape(st.session_state[INPUT_SHAPE]),
                            tuple(read_layers()))
        if st.session_state.get(AUTO_FIT):
            current = fit_inputs(current)  # the sizes the page shows: only what the fit itself changes is listed
        fitted = fit_to_data(current, n_features, n_targets)
    except TorchstartError as err:
        st.session_state[JUST_FITTED] = ("error", f"The stack could not be fitted: {err}")
        return
    load_stack(fitted, keep_frozen=True)
    st.session_state[AUTO_FIT] = True  # later width edits then keep the layers fitting
    st.session_state[JUST_FITTED] = ("success", f"Fitted to the Data page's dataset: "
                                                f"{'; '.join(fit_changes(current, fitted))}. Auto-fit is now on, so "
                                                "the layers keep fitting as you edit.")


def just_fitted_note() -> None:
    """Once, after the fit button: what it changed (the note it answered is gone, so say so where it stood)."""
    kind, text = st.session_state.pop(JUST_FITTED, (None, ""))
    if kind == "success":
        st.success(text, icon=":material/straighten:")
    elif kind == "error":
        st.error(text, icon=":material/error:")


def init_state() -> None:
    """Load the default preset the first time the page runs in a session."""
    if STACK not in st.session_state:
        load_preset(DEFAULT_PRESET)


def preset_bar() -> int:
    """Preset, class name and init seed; returns the seed."""
    preset, mid, right = st.columns([2.6, 1.4, 1], vertical_alignment="bottom")
    # The box takes what the button leaves: a fixed column cut "Reload" to "R…" at 1024 px.
    with preset.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        st.selectbox("Start from a preset", list(PRESETS), key=PRESET, persist_state=KEEP, on_change=load_preset,
                     help="Loads the preset into the layer stack below; then edit it freely.")
        # Every button says its action in words: an icon alone is announced by its name ("restart_alt icon").
        st.button("Reload", icon=":material/restart_alt:", key="models.reload", on_click=load_preset,
                  help="Reload the preset, undoing your edits.")
    mid.text_input("Class name", key=CLASS_NAME, persist_state=KEEP, max_chars=40)
    seed = right.number_input(SEED_PARAM.label, SEED_PARAM.min_value, SEED_PARAM.max_value,
                              key=SEED, persist_state=KEEP, value=SEED_PARAM.default, help=SEED_PARAM.help)
    name = st.session_state[PRESET]
    try:
        edited = not same_stack(ModelSpec("Now", parse_shape(st.session_state.get(INPUT_SHAPE, "")),
                                          tuple(read_layers())), PRESETS[name])
    except TorchstartError:
        edited = True  # an input shape that does not parse is an edit too
    # The note describes the preset as loaded: once the stack is edited, it may no longer be true of it.
    st.caption(PRESET_NOTES[name] + (" You have edited the stack since: this describes the preset as loaded "
                                     "(↻ reloads it)." if edited else ""))
    return SEED_PARAM.check(int(seed))


def read_layers() -> list[LayerSpec]:
    """The stack as layer specs, from the widget values the learner last set."""
    layers = []
    for entry in st.session_state[STACK]:
        kind = LAYERS[entry["kind"]]
        args = {a.name: st.session_state.get(arg_key(entry["id"], a.name), entry["args"][a.name])
                for a in kind.args}
        layers.append(LayerSpec(entry["kind"], tuple(args.items())))
    return layers


def _arg_widget(where: Any, arg: ArgSpec, key: str, disabled: bool) -> Any:
    """One argument's input, ``ARG_WIDTH`` wide; its value comes from session state (seeded by the caller)."""
    param = arg.param
    if isinstance(param, BoolParam):
        return where.checkbox(arg.name, key=key, persist_state=KEEP, help=param.help or None, disabled=disabled)
    if isinstance(param, FloatParam):
        return where.number_input(arg.name, float(param.min_value), float(param.max_value), step=param.step,
                                  format=param.format, key=key, persist_state=KEEP, disabled=disabled,
                                  width=ARG_WIDTH)
    assert isinstance(param, IntParam)
    help_text = "Set from the shape it receives (auto-fit is on)." if disabled else None
    return where.number_input(arg.name, param.min_value, param.max_value, step=param.step, key=key, persist_state=KEEP,
                              disabled=disabled, help=help_text, width=ARG_WIDTH)


def _ids_by_name() -> dict[str, int]:
    """Each layer's attribute name in the built class (``linear2``) to its stack entry's id."""
    stack = st.session_state[STACK]
    return dict(zip(attribute_names([LayerSpec.of(e["kind"]) for e in stack]), (e["id"] for e in stack)))


def _keep_frozen_layers(before: dict[str, int]) -> None:
    """After an edit, keep each frozen layer frozen under its new name: names count layers of a kind by
    position, so removing the first Linear made the frozen linear2 the output layer."""
    names = {layer_id: name for name, layer_id in _ids_by_name().items()}
    st.session_state[FROZEN] = [names[before[n]] for n in st.session_state.get(FROZEN, []) if before.get(n) in names]


def _move(layer_id: int, step: int) -> None:
    before = _ids_by_name()
    stack = st.session_state[STACK]
    i = next(i for i, e in enumerate(stack) if e["id"] == layer_id)
    j = i + step
    if 0 <= j < len(stack):
        stack[i], stack[j] = stack[j], stack[i]
    _keep_frozen_layers(before)


def _remove(layer_id: int) -> None:
    before = _ids_by_name()
    st.session_state[STACK] = [e for e in st.session_state[STACK] if e["id"] != layer_id]
    _keep_frozen_layers(before)


def _add_layer() -> None:
    """Append the chosen kind, its input size fitted to what the stack currently outputs."""
    kind = st.session_state[NEW_KIND]
    layer = LayerSpec.of(kind)
    try:
        shape = parse_shape(st.session_state[INPUT_SHAPE])
        draft = ModelSpec("Draft", shape, (*read_layers(), layer))
        layer = fit_inputs(draft).layers[-1]
    except TorchstartError:
        pass  # the stack has a problem already; the new layer keeps its defaults
    before = _ids_by_name()
    st.session_state[STACK].append(_new_entry(kind, layer.kwargs))
    _keep_frozen_layers(before)  # a second Linear renames linear to linear1


def _shape_note(pos: int, shapes: list[tuple[int, ...]]) -> str:
    """What layer ``pos`` outputs, or that it is the first layer that does not fit."""
    if pos < len(shapes):
        return f"→ {format_shape(shapes[pos])}"
    return ":red[✗ see the error below]" if pos == len(shapes) else ""


def stack_editor(layers: list[LayerSpec], fitted: list[LayerSpec] | None,
                 fitted_names: list[frozenset[str]] | None, shapes: list[tuple[int, ...]]) -> None:
    """One bordered card per layer: a title line (name, attribute, output shape, move/remove buttons), then its
    arguments in a wrapping row.

    ``fitted`` holds the auto-fitted layers when auto-fit is on and ``fitted_names`` the arguments it set in each
    (their widgets are greyed out); ``shapes`` the output shapes of the layers that fit, in order.
    """
    names = attribute_names(layers)
    for pos, entry in enumerate(st.session_state[STACK]):
        kind = LAYERS[entry["kind"]]
        with st.container(border=True):
            # The title line: name, attribute and output shape, then the move/remove buttons at its right end.
            head = st.container(horizontal=True, vertical_alignment="center", gap="small")
            head.markdown(f"**{pos + 1}. {kind.name}** `self.{names[pos]}` {_shape_note(pos, shapes)}")
            head.space("stretch")  # pushes the buttons to the right end
            tools = head.container(horizontal=True, gap="xsmall", width="content")  # wrap as one group
            if not kind.args:
                st.caption(kind.summary)
            body = st.container(horizontal=True, vertical_alignment="bottom", gap="small") if kind.args else None
            for arg in kind.args:
                key = arg_key(entry["id"], arg.name)
                auto = fitted is not None and fitted_names is not None and arg.name in fitted_names[pos]
                if auto:
                    st.session_state[key] = fitted[pos].kwargs[arg.name]
                elif key not in st.session_state:
                    value = entry["args"][arg.name]
                    st.session_state[key] = float(value) if isinstance(arg.param, FloatParam) else value
                entry["args"][arg.name] = _arg_widget(body, arg, key, disabled=auto)
            last = len(st.session_state[STACK]) - 1
            tools.button("Up", icon=":material/arrow_upward:", key=f"models.up.{entry['id']}", help="Move up",
                         on_click=_move, args=(entry["id"], -1), disabled=pos == 0)
            tools.button("Down", icon=":material/arrow_downward:", key=f"models.down.{entry['id']}",
                         help="Move down", on_click=_move, args=(entry["id"], 1), disabled=pos == last)
            tools.button("Remove", icon=":material/delete:", key=f"models.remove.{entry['id']}", help="Remove",
                         on_click=_remove, args=(entry["id"],))


def add_layer_bar() -> None:
    """Choose a kind and append it to the stack (up to the layer cap)."""
    full = len(st.session_state[STACK]) >= MAX_LAYERS
    pick, add = st.columns([3, 1.3], vertical_alignment="bottom")  # "Add layer" whole at 1024 px, sidebar open
    pick.selectbox("Layer to add", list(LAYERS), key=NEW_KIND, persist_state=KEEP,
                   format_func=lambda k: f"{k}: {LAYERS[k].summary}")
    add.button("Add layer", icon=":material/add:", key="models.add", on_click=_add_layer, disabled=full)
    if full:
        st.caption(f"The stack is at the cap of {MAX_LAYERS} layers: remove one to add another.")


def input_shape_bar() -> tuple[str, bool]:
    """The input shape text and the auto-fit toggle."""
    text_col, fit_col = st.columns([2, 3], vertical_alignment="bottom")
    text = text_col.text_input("Input shape (one sample, no batch dimension)", key=INPUT_SHAPE, persist_state=KEEP,
                               help="2 for two features; 1, 28, 28 for a grey 28×28 image.")
    auto = fit_col.toggle("Auto-fit input sizes", key=AUTO_FIT, persist_state=KEEP, value=False,
                          help="Set in_features / in_channels / num_features from the shape each layer "
                               "receives (a Linear's from a flat row only: after a picture it asks for a Flatten), "
                               "and an Unflatten's channels × height × width from its row length "
                               "(784 → 1 × 28 × 28 grey, 3,072 → 3 × 32 × 32 colour). Off: you set them, and a "
                               "mismatch is explained.")
    return text, auto


def freeze_picker(candidates: list[str]) -> tuple[str, ...]:
    """Which layers get ``requires_grad_(False)``; stale names (after edits) are dropped first."""
    st.session_state[FROZEN] = [n for n in st.session_state.get(FROZEN, []) if n in candidates]
    chosen = st.multiselect("Freeze layers (requires_grad = False)", candidates, key=FROZEN, persist_state=KEEP,
                            help="A frozen layer's parameters get no gradients, so training leaves "
                                 "them as they are. Watch the trainable count. BatchNorm's running "
                                 "mean and variance are buffers, not parameters: they still update "
                                 "in train mode unless the layer is switched to eval mode with .eval().")
    return tuple(chosen)


def current_model(spec: ModelSpec, seed: int) -> nn.Module:
    """The built model for (spec, seed), rebuilt only when either changed."""
    key = (spec, seed)
    built = st.session_state.get(BUILT)
    if built is None or built[0] != key:
        built = (key, build_model(spec, seed))
        st.session_state[BUILT] = built
    return built[1]


def per_model(name: str, model: nn.Module, extra: Any, compute: Callable[[], Any]) -> Any:
    """``compute()``, remembered for this model object (and ``extra``) so reruns skip big-model work."""
    key = f"models.cache.{name}"
    hit = st.session_state.get(key)
    if hit is not None and hit[0] is model and hit[1] == extra:
        return hit[2]
    value = compute()
    st.session_state[key] = (model, extra, value)
    return value


def hand_off(spec: ModelSpec, check: SpecCheck, model: nn.Module, seed: int) -> None:
    """Offer this model to the Training and Checkpoints pages (only a valid model gets here)."""
    st.session_state.pop(session.MODEL_ERROR, None)
    current = st.session_state.get(session.MODEL)
    if current is not None and current.module is model:
        return
    st.session_state[session.MODEL] = session.SessionModel(
        name=spec.class_name, module=model, build=partial(build_model, spec),
        input_shape=tuple(spec.input_shape), output_shape=check.output_shape, code=handoff_code(spec), seed=seed,
        fits=partial(can_fit, spec),
    )


def kept_model_note(error: TorchstartError) -> None:
    """After an error: say which model other pages still use (and let them say so too)."""
    st.session_state[session.MODEL_ERROR] = str(error)
    kept = st.session_state.get(session.MODEL)
    if kept is not None:
        st.caption(f"The Training and Checkpoints pages still use the last valid model, "
                   f"{kept.name} ({format_shape(kept.input_shape)} → {format_shape(kept.output_shape)}).")


def memory_help(summary: ModelSummary) -> str:
    """What the memory metric adds up, with the exact byte counts."""
    element = summary.input_bytes // max(summary.input_values, 1)
    return (f"For one sample, in bytes: the input {summary.input_bytes:,} ({plural(summary.input_values, 'value')} "
            f"× {element} bytes) + every layer's output {summary.output_bytes:,} (kept for backward when training; "
            f"each counted as its own tensor, though Flatten returns a view) + parameters and buffers "
            f"{summary.param_bytes:,} = {summary.total_bytes:,} bytes"
            + (" (1 KB = 1,024 bytes)" if summary.total_bytes >= 1024 else "")
            + ". Not counted: gradients and optimizer state, which training adds, and PyTorch's own workspace.")


def summary_metrics(summary: ModelSummary) -> None:
    """Parameter counts, multiply-adds and memory, one metric each.

    Two rows (counts, then cost) of metrics as wide as their text, wrapping when the page is narrow: five equal
    columns beside the sidebar at 1024 px cut the labels and values ("Multiply-a…", "24 b…"), and a count can
    reach 250,000,000.
    """
    with st.container(horizontal=True, gap="large"):
        st.metric("Parameters", f"{summary.total_params:,}", width="content")
        st.metric("Trainable", f"{summary.trainable_params:,}", width="content")
        st.metric("Non-trainable", f"{summary.total_params - summary.trainable_params:,}", width="content")
    with st.container(horizontal=True, gap="large"):
        st.metric("Multiply-adds per sample", f"{summary.mult_adds:,}", help=MULT_ADDS_HELP, width="content")
        st.metric("Estimated memory", format_bytes(summary.total_bytes), help=memory_help(summary), width="content")


def layer_table(summary: ModelSummary, input_shape: tuple[int, ...]) -> None:
    """One row per layer, saying which columns come from torchinfo and which from our hooks."""
    size = ", ".join(str(n) for n in (1, *input_shape))
    st.markdown(f"**One row per layer.** Output shape, Params and Trainable come from torchinfo's "
                f"`summary(model, input_size=({size}))` (the 1 is the batch dimension); Mult-adds and Output "
                "bytes are counted with forward hooks from the shape each layer really sees; the script at the "
                "bottom of the page prints both.")
    st.dataframe(summary.table, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="localized")
                                for c in ("Params", "Mult-adds", "Output bytes")})
