"""Streamlit section 4 of the Checkpoints page: match a state_dict's keys to a model, load it, predict."""

from __future__ import annotations

import streamlit as st
from torch import nn

from pages._ui import KEEP, beside_picture, show_code, show_error, show_predictions
from torchstart import checkpoint_safety as safety
from torchstart import session
from torchstart.checkpoint_code import predict_code
from torchstart.checkpoint_inspect import Path, get_part
from torchstart.checkpoint_match import (CLASSIFIER_NOTES, MAX_TYPED_WIDTH, TARGET_LABELS, Target, compare_keys,
                                         input_width, linear_problem, load_strict, load_targets,
                                         mode_sensitive_layers, parse_inputs, predict, table_problem)
from torchstart.datasets import TabularDataset, one_row
from torchstart.errors import TorchstartError
from torchstart.predictions import (MAX_TYPED_FEATURES, prediction_frame, row_text, with_known_labels,
                                    with_labels_first)
from torchstart.session import Standardizer
from torchstart.trained_file import saved_scalers
from torchstart.wording import md_safe, name_list

# Page-local session keys.
INPUTS = "checkpoints.inputs"
INPUTS_WIDTH = "checkpoints.inputs_width"  # the model width the inputs box was last filled for
TARGET = "checkpoints.target"
TARGET_FOR = "checkpoints.target_for"  # the file and part the "Load it into" choice was made for


def predict_section(checkpoint: safety.LoadedCheckpoint, part: Path) -> None:
    """Compare keys, load strictly when they match, then switch to eval mode and predict on typed rows."""
    state_dict = get_part(checkpoint.obj, part)
    targets = load_targets(state_dict, st.session_state.get(session.TRAINED),
                           st.session_state.get(session.MODEL))
    if not targets:
        problem = linear_problem(state_dict)
        st.info("No model to load into yet: train one on the Training page or build one on the Models page (a "
                "file from a CNN trained on pixel rows loads into its preset \"Small CNN on pixel rows\"). "
                + (f"This file's `weight` and `bias` cannot become an nn.Linear: {problem}." if problem else
                   "A file holding just `weight` and `bias` would become an nn.Linear by itself."))
        return
    reports = {name: compare_keys(t.model, state_dict) for name, t in targets.items()}
    names = list(targets)
    seen = (checkpoint.name, checkpoint.size, checkpoint.entries, part)
    if st.session_state.get(TARGET_FOR) != seen or st.session_state.get(TARGET) not in names:
        # A new file or part: preselect the first model its keys fit. The remembered choice was for another file.
        st.session_state[TARGET_FOR] = seen
        st.session_state[TARGET] = next((n for n in names if reports[n].ok), names[0])
    choice = st.radio("Load it into", names, format_func=TARGET_LABELS.get, horizontal=True, key=TARGET,
                      persist_state=KEEP)
    target, report = targets[choice], reports[choice]
    cols = st.columns(4)
    cols[0].metric("Matching keys", len(report.matched))
    cols[1].metric("Missing keys", len(report.missing))
    cols[2].metric("Unexpected keys", len(report.unexpected))
    cols[3].metric("Shape mismatches", len(report.mismatched))
    st.dataframe(report.table(), hide_index=True, key="checkpoints.keys")
    if not report.ok:
        st.warning(md_safe(f"`load_state_dict(strict=True)` would refuse this: {report.summary()}. "
                           "Pick another model or another part of the file."), icon=":material/block:")
        return
    try:
        model = load_strict(target.model, state_dict)
    except TorchstartError as err:
        show_error(err)
        return
    where = ("into a fresh nn.Linear" if choice == "linear" else
             f"into a copy of the {TARGET_LABELS[choice]}, which itself stays as it was")
    keys = "its one key" if len(report.matched) == 1 else f"all {len(report.matched)} keys"
    st.success(md_safe(f"`model.load_state_dict(state_dict, strict=True)` accepted {keys}, {where}."),
               icon=":material/check_circle:")
    sensitive = mode_sensitive_layers(model)
    st.markdown("Then **`model.eval()`**: Dropout stops dropping and BatchNorm uses its running statistics "
                "instead of the batch's, so a prediction depends only on its own input. "
                + (f"This model has {', '.join(sensitive)}." if sensitive else
                   "This model has no such layer, but calling it is the habit that saves you when it does."))
    _predict_ui(model, target, part, checkpoint.name, saved_scalers(checkpoint.obj, part),
                outputs_unknown=choice != "trained")


def _predict_ui(model: nn.Module, target: Target, part: Path, filename: str,
                in_file: tuple[Standardizer | None, Standardizer | None] = (None, None),
                outputs_unknown: bool = False) -> None:
    """Inputs box, prediction table and its code.

    ``outputs_unknown``: nothing says what the model's outputs mean (a Models-page model or an inferred Linear,
    not the Training page's run, which knows its loss).
    """
    if target.input_shape is not None and len(target.input_shape) != 1:
        shape = ", ".join(map(str, target.input_shape))
        st.info(f"This model takes a ({shape}) tensor per sample, not a flat row of numbers, so typed "
                "predictions are not offered here. Load the file in your own Python with the safe-load code "
                f"above and call the model on a tensor of shape (rows, {shape}).")
        return
    width = target.width or input_width(model)
    if width is None:
        st.info("This model does not take a flat row of numbers (its first layer wants images or "
                "token ids), so typed predictions are not offered here.")
        return
    dataset = st.session_state.get(session.DATASET)
    picks_rows = dataset is not None and dataset.n_features == width and len(dataset) > 0
    if width > MAX_TYPED_WIDTH and not picks_rows:  # a Data-page row of the right width needs no typing
        st.info(f"This model takes {width:,} numbers per input row, too many to type here (at most "
                f"{MAX_TYPED_WIDTH:,}). Put a dataset with {width:,} features on the Data page to pick one of its "
                "rows here, or load the file in your own Python with the safe-load code above and call the model "
                f"on a tensor of shape (rows, {width}).")
        return
    from_file = in_file[0] is not None or in_file[1] is not None
    if from_file and in_file[0] is not None and in_file[0].mean.numel() != width:
        st.warning(f"The file's `x_mean` holds {in_file[0].mean.numel():,} numbers but this model takes {width:,} "
                   "per row, so the file's standardization is not applied.", icon=":material/warning:")
        from_file = False
    x_scaler, y_scaler = in_file if from_file else (target.x_scaler, target.y_scaler)
    use = (x_scaler is not None or y_scaler is not None) and st.checkbox(
        "Apply the standardization saved in the file" if from_file else "Apply the Training page's standardization",
        value=True, key="checkpoints.use_scalers", persist_state=KEEP,
        help=("The file keeps the mean and std of the training rows beside the weights: inputs are mapped with "
              "them before the model, outputs back after it." if from_file else
              "This file holds only weights; the statistics the model was trained with live in this session."))
    x_scaler, y_scaler = (x_scaler, y_scaler) if use else (None, None)
    # A Models-page model or an inferred Linear has no names of its own: the Data page's, when they fit.
    features = target.feature_names or (dataset.feature_names if picks_rows else [f"x{i}" for i in range(width)])
    picked = None
    if width > MAX_TYPED_FEATURES and picks_rows:
        picked = _data_page_row(dataset)
        x, where = picked.features, beside_picture(picked, "checkpoints.picture")
    else:
        if width > MAX_TYPED_FEATURES:
            st.caption(f"Too many numbers to type? Put a dataset with {width:,} features on the Data page (its "
                       "Digits set has 784) and pick one of its rows here instead.")
        # A model of another width (or a box Streamlit dropped while hidden): start from a fitting row.
        if st.session_state.get(INPUTS_WIDTH) != width or INPUTS not in st.session_state:
            st.session_state[INPUTS_WIDTH] = width
            # Row 0 of the Data page's dataset when it fits, as the Training page's box starts: the two agree.
            fits = picks_rows and width > 1
            st.session_state[INPUTS] = row_text(dataset.features[0]) if fits else str([[0.5] * width])
        text = st.text_input(md_safe(f"Inputs: rows of {width} number{'s' if width > 1 else ''} "
                                     f"({name_list(features, 6, quoted=False)})"), key=INPUTS, persist_state=KEEP)
        try:
            x = parse_inputs(text, width)
        except TorchstartError as err:
            show_error(err)
            return
        where = st.container()
    try:
        y = predict(model, x, x_scaler, y_scaler)
    except TorchstartError as err:
        show_error(err)
        return
    if problem := table_problem(len(x), width, y.numel() // max(len(x), 1)):
        st.info(md_safe(problem), icon=":material/table:")
        return
    task, names, column = target.task, target.target_names, target.class_column
    if not names and picks_rows and not dataset.classes:  # a plain target's name, as the inputs take the features'
        names = dataset.target_names
    read_as_classes = (outputs_unknown and picked is not None
                       and len(picked.classes) == y.reshape(len(x), -1).shape[1] > 1)
    if read_as_classes:
        # The file does not say what its outputs mean; the row's dataset has as many classes as there are outputs.
        task, names, column = "classes", picked.target_names, picked.class_column
        st.caption(md_safe(f"The model gives {len(names)} outputs and the Data page's dataset has {len(names)} "
                           f"classes ({name_list(picked.classes, 10, quoted=False)}), so the outputs are read as "
                           "class logits: softmax turns them into probabilities, the largest is the predicted class."))
    table = prediction_frame(x, y.reshape(len(x), -1), features, names, task, class_column=column)
    if picked is not None:  # the inputs are the picture (or too many to read): the label instead
        table = with_labels_first(table, picked, features)
    else:  # a typed row that is one of the Data page's rows (row 0 starts the box) shows its true label
        table = with_known_labels(table, x, dataset)
    with where:
        show_predictions(table, "checkpoints.predictions")
    if task in CLASSIFIER_NOTES and not read_as_classes:  # the note says how it was trained: known here
        st.caption(CLASSIFIER_NOTES[task])
    elif outputs_unknown and not read_as_classes:
        st.caption("These are the model's raw outputs: nothing in the file says what they mean. A model trained "
                   "as a classifier gives logits here, before sigmoid or softmax turns them into probabilities; "
                   "train it on the Training page and load that run's file to have them read with its loss.")
    show_code(predict_code(model, x, part, target.fallback_code, x_scaler, y_scaler, filename, task,
                           scalers_in_file=use and from_file),
              label="Show code: prediction")


def _data_page_row(dataset: TabularDataset) -> TabularDataset:
    """A row of the Data page's dataset, picked by number, as a one-row dataset."""
    index = st.number_input(
        md_safe(f"Predict for row (0 to {len(dataset) - 1:,}) of the Data page's dataset, {dataset.name}"),
        0, len(dataset) - 1, value=0, key="checkpoints.row", persist_state=KEEP,
        help=f"{dataset.n_features:,} inputs are too many to type, so this picks a row of the dataset with that "
             "many features. A row the model trained on tells you less than one it never saw.")
    return one_row(dataset, min(int(index), len(dataset) - 1))
