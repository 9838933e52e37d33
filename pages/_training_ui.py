"""Streamlit pieces of the Training page: settings tabs, the run buttons, the live view and the results.

How Stop works: a click interrupts the running script at its next ``st.*`` call,
which is the throttled redraw inside ``LiveView.update`` (a RerunException, since
``.streamlit/config.toml`` turns fastReruns off). The rerun runs the Stop button's
``on_click``, which only raises a flag, and first ``settle``s the run (waits for any
old loop to leave). The run (model, optimizer, history) lives in
``st.session_state``, so the rerun shows everything trained so far; after any
other click, a page change included, the rerun simply resumes the run.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st
import torch

from pages._ui import KEEP, beside_picture, param_input, show_error, show_predictions, table_height
from torchstart import session
from torchstart.data_figures import pixel_scale_note
from torchstart.datasets import TabularDataset
from torchstart.errors import TorchstartError
from torchstart.optimizers import default_weight_decay
from torchstart.predictions import MAX_TYPED_FEATURES, with_known_labels
from torchstart.session import SessionModel
from torchstart.trained_file import scaler_names, trained_file_bytes
from torchstart.training import (Progress, TrainingRun, log_length, log_lines, progress_of, progress_text,
                                 start_run, trained_model)
from torchstart.training_export import CSV_NAME, data_file, data_file_name, training_script
from torchstart.training_figures import live_figures
from torchstart.training_metrics import (evaluate, example_input_text, held_out_row, held_out_rows, metric_help,
                                         metrics_note, parameter_rows, prediction_table, row_prediction_table)
from torchstart.training_setup import (PARAMS, TrainingConfig, check_run_work, few_validation_rows_note,
                                      parse_prediction_inputs, preflight, suggest_loss)
from torchstart.wording import md_safe, name_list

RUN = "training_run"
PUBLISHED = "training_published"  # (run, epoch) last handed to the Checkpoints page
POLL_S = 0.25  # the most a click waits for the training loop's next st.* call (plus the epoch under way)
ACTION = "training_action"
LOG_Y = "training_log_y"


def _key(name: str) -> str:
    """Widget key for a setting: page-prefixed so tests and other pages can tell them apart."""
    return f"training_{name}"


def _row(names: list[str], **disabled: bool) -> dict[str, Any]:
    """Draw several settings side by side; return their values by name."""
    cols = st.columns(len(names))
    return {n: param_input(PARAMS[n], _key(n), cols[i], disabled=disabled.get(n, False))
            for i, n in enumerate(names)}


def settings_ui(dataset: TabularDataset | None, session_model: SessionModel | None, device: str) -> TrainingConfig:
    """The settings tabs; returns the learner's choices (defaults: the classic run)."""
    v: dict[str, Any] = {}
    data_tab, model_tab, opt_tab, run_tab = st.tabs(["Data", "Model", "Loss & optimizer", "Epochs, batches, seed"])
    with data_tab:
        v |= _row(["data"])
        if v["data"] == "line":
            v |= _row(["rows", "slope", "intercept", "noise", "data_seed"])
        elif v["data"] == "multi":
            v |= _row(["rows", "features", "noise", "data_seed"])
        elif v["data"] == "session":
            _describe_dataset(dataset)
            if dataset is not None:
                _suggest_loss(dataset)
            note = pixel_scale_note(dataset, on_training_page=True) if dataset is not None else None
            if note and not st.session_state.get(_key("standardize_x"), PARAMS["standardize_x"].default):
                st.info(note, icon=":material/tune:")
        if v["data"] != "session" and dataset is not None:  # say so: Train would not use the Data page's data
            st.caption(md_safe(f"The Data page holds **{dataset.name}** ({len(dataset):,} rows): pick "
                               "\"Dataset from the Data page\" above to train on it."))
        classic = v["data"] == "classic"
        # The loss is picked on a later tab: read it from the session to lock out a standardized class label.
        classifier = TrainingConfig(loss=st.session_state.get(_key("loss"), PARAMS["loss"].default)).classifies
        if classifier:
            st.session_state[_key("standardize_y")] = False
        v |= _row(["val_share", "standardize_x", "standardize_y"], val_share=classic, standardize_y=classifier)
        if classifier:
            st.caption("Standardize target is off for a classification loss: it compares the model's logits "
                       "with the class labels as they are.")
        if v["data"] == "session" and dataset is not None:
            few = few_validation_rows_note(len(dataset), TrainingConfig(data="session", val_share=v["val_share"]))
            if few:
                st.caption(few)
        if classic:
            st.caption("The classic 4 points all train: a validation split would hold out one point and measure "
                       "nothing, so it is off for this data. Pick a synthetic set to see validation loss.")
    with model_tab:
        v |= _row(["model"])
        if v["model"] == "mlp":
            v |= _row(["hidden", "layers"])
        elif v["model"] == "session":
            _describe_model(session_model)
    with opt_tab:
        v |= _row(["loss", "optimizer", "lr", "weight_decay"])
        if v["optimizer"] == "AdamW" and v["weight_decay"] == 0:
            st.caption(f"AdamW with weight decay 0 takes exactly Adam's steps: its decoupled weight decay is the "
                       f"whole difference. PyTorch's own default is `AdamW(..., weight_decay="
                       f"{default_weight_decay(torch.optim.AdamW):g})`; this box starts at 0 for every optimizer, "
                       "so type that value for torch's default.")
        if TrainingConfig(optimizer=v["optimizer"]).uses_momentum:
            v |= _row(["momentum"])
    with run_tab:
        v |= _row(["epochs", "seed", "log_every", "full_batch"])
        if not v["full_batch"]:
            v |= _row(["batch_size", "shuffle"])
        st.caption(f"Device: **{device}** (choose it in the sidebar).")
    return TrainingConfig(**v, device=device)


def _suggest_loss(dataset: TabularDataset) -> None:
    """For a class target under a regression loss: say which loss fits and offer to switch to it in one click."""
    suggestion = suggest_loss(dataset, st.session_state.get(_key("loss"), PARAMS["loss"].default))
    if suggestion is None:
        return
    st.info(md_safe(f"{suggestion.why} Pick **{suggestion.loss}** on the tab Loss & optimizer, or here:"),
            icon=":material/category:")
    st.button(f"Use {suggestion.loss}", key=_key("use_suggested_loss"), icon=":material/swap_horiz:",
              on_click=_set_loss, args=(suggestion.loss,))


def _set_loss(loss: str) -> None:
    """The suggestion button's click: pick that loss (a callback, so it lands before the loss box is drawn)."""
    st.session_state[_key("loss")] = loss


def _describe_dataset(dataset: TabularDataset | None) -> None:
    """Say what the Data page hands over (when there is nothing, the message under the buttons says what to do)."""
    if dataset is not None:
        features, targets = (name_list(names, 6, quoted=False)
                             for names in (dataset.feature_names, dataset.target_names))
        st.caption(md_safe(f"**{dataset.name}**: {len(dataset):,} rows; features {features}; target {targets}."))


def _describe_model(session_model: SessionModel | None) -> None:
    """Say which Models page model would train (when there is none, the message under the buttons says so)."""
    if session_model is not None:
        st.caption(f"**{session_model.name}**: input {session_model.input_shape}, output {session_model.output_shape}.")
        if st.session_state.get(session.MODEL_ERROR):
            st.warning(md_safe(f"The Models page's current stack does not build, so this is the last model that "
                               f"did. Train uses it until the stack is fixed there: "
                               f"{st.session_state[session.MODEL_ERROR]}"), icon=":material/warning:")


def _request(action: str) -> None:
    """Button callback: remember what the learner asked for; the page acts on it with the current settings."""
    st.session_state[ACTION] = action


def _stop() -> None:
    """Stop's callback: runs at the start of the rerun the click causes; it only sets a flag the run applies."""
    run = st.session_state.get(RUN)
    if run is not None:
        run.request_stop()


def differs(run: TrainingRun, config: TrainingConfig, dataset: TabularDataset | None,
            session_model: SessionModel | None = None) -> bool:
    """Whether the settings (or the Data page's dataset, or its Models-page model) no longer describe ``run``."""
    return run.config.recipe() != config.recipe() or bool(_other_inputs(run, config, dataset, session_model))


def differences(run: TrainingRun, config: TrainingConfig, dataset: TabularDataset | None,
                session_model: SessionModel | None = None) -> list[str]:
    """What no longer describes ``run``, in words: changed settings, then a changed dataset or model."""
    return config.changes_from(run.config) + _other_inputs(run, config, dataset, session_model)


def _other_inputs(run: TrainingRun, config: TrainingConfig, dataset: TabularDataset | None,
                  session_model: SessionModel | None) -> list[str]:
    said = []
    if config.data == "session" and run.config.data == "session" and not run.trained_on(dataset):
        said.append("the Data page's dataset has changed")
    if config.model == "session" and run.config.model == "session" and session_model is not None \
            and run.model_code != session_model.code:
        said.append("the Models page's model has changed")
    return said


def apply_action(config: TrainingConfig, dataset: TabularDataset | None,
                 session_model: SessionModel | None) -> TrainingRun | None:
    """Act on the last button press (Train, Continue, Reset) and keep an untrained run in step with the settings."""
    action = st.session_state.pop(ACTION, None)
    run: TrainingRun | None = st.session_state.get(RUN)
    try:
        if run is not None:
            run.settle()  # the interrupted script run's loop may still be finishing an epoch on its thread
        fresh = run is None or (run.epoch == 0 and not run.training_wanted
                                and differs(run, config, dataset, session_model))
        if action in ("train", "reset") or fresh:
            run = start_run(config, dataset, session_model)
            st.session_state[RUN] = run
            if action == "train":
                run.ask_for(config.epochs)
        elif action == "continue" and run.can_continue:
            run.ask_for(config.epochs)  # first: a refused Continue leaves the run as it was
            run.config = replace(run.config, epochs=config.epochs, log_every=config.log_every)
        elif differs(run, config, dataset, session_model):
            preflight(config, dataset, session_model)  # say now, not at the next Train, what would go wrong
        elif not run.training_wanted:
            # Only Epochs changed: too much for Train or Continue?
            check_run_work(config.epochs, run.epoch_macs, run.epoch_steps)
        if not run.training_wanted:
            # differs() leaves Epochs and Log every out. The log and the script are rebuilt from the losses, so an
            # idle run takes Log every as set (the empty log's advice works at once); an untrained one, Epochs too.
            run.config = replace(run.config, log_every=config.log_every,
                                 epochs=config.epochs if run.epoch == 0 else run.config.epochs)
    except TorchstartError as err:
        show_error(err)
        if run is not None and run.epoch == 0:
            # Nothing trained to keep: drawing the old untrained run would show other data than the settings say.
            st.session_state.pop(RUN, None)
    return st.session_state.get(RUN)


def publish_trained(run: TrainingRun | None, session_model: SessionModel | None, script: str | None = None) -> None:
    """Hand the run's weights to the Checkpoints page when it has trained further since the last hand-off.

    Called by the Training page after each run, and by the Checkpoints page too: a learner who leaves
    Training mid-run interrupts it before its last redraw, and must still find the epochs trained so far.
    """
    if run is None or not run.epoch or run.status in ("diverged", "failed"):
        return
    published = st.session_state.get(PUBLISHED)
    if published is not None and published[0] is run and published[1] == run.epoch:
        return
    if not run.lock.acquire(blocking=False):  # a loop is still training it elsewhere: no half-copied weights
        return
    try:
        trained = trained_model(run)
    finally:
        run.lock.release()
    # The Checkpoints page shows the script as the code behind the file.
    trained.extra["script"] = script or training_script(run, session_model=session_model)
    st.session_state[session.TRAINED] = trained
    st.session_state[PUBLISHED] = (run, run.epoch)


def buttons(run: TrainingRun | None, config: TrainingConfig) -> None:
    """Train / Stop / Continue / Reset; Stop is live only while training is wanted."""
    busy = run is not None and run.training_wanted
    # A wrapping row of content-wide buttons: fixed-ratio columns cut the labels to "T." in a narrow main area.
    row = st.container(horizontal=True, gap="small")
    row.button("Train", key="training_train", type="primary", icon=":material/play_arrow:", disabled=busy,
               on_click=_request, args=("train",), help="Start a new run from these settings.")
    row.button("Stop", key="training_stop", icon=":material/stop:", disabled=not busy, on_click=_stop,
               help="End the run after the current epoch; everything trained so far stays.")
    row.button(f"Continue +{config.epochs:,} epochs", key="training_continue", icon=":material/fast_forward:",
               disabled=busy or run is None or run.epoch == 0 or not run.can_continue,
               on_click=_request, args=("continue",), help="Train the current model further, optimizer state kept.")
    row.button("Reset", key="training_reset", icon=":material/restart_alt:", disabled=busy,
               on_click=_request, args=("reset",), help="Re-initialise the model from the seed.")


class LiveView:
    """Placeholders for progress and the two charts, redrawn by the training loop's throttled callback."""

    def __init__(self) -> None:
        self.progress = st.empty()
        left, right = st.columns(2)
        self.loss_chart, self.fit_chart = left.empty(), right.empty()
        self.draws = 0

    def update(self, run: TrainingRun, progress: Progress) -> bool:
        """Redraw from the run's current state; each ``st.*`` call here is where a Stop click gets in.

        A light call (``progress.charts`` False, every ``POLL_S`` between redraws) moves only the progress bar:
        big charts may redraw seconds apart, and a click waits for the next ``st.*`` call.
        """
        share = progress.epoch / progress.target if progress.target else 0.0
        text = progress_text(progress) if progress.epoch else "Epoch 0: nothing trained yet"
        self.progress.progress(min(1.0, share), text=text)
        if not progress.charts:
            return False
        loss_fig, fit_fig = live_figures(run, bool(st.session_state.get(LOG_Y, True)))
        self.draws += 1  # a fresh key per redraw: the same key twice in one script run raises
        self.loss_chart.plotly_chart(loss_fig, key=f"training_loss_{self.draws}")
        self.fit_chart.plotly_chart(fit_fig, key=f"training_fit_{self.draws}")
        return False

    def show(self, run: TrainingRun) -> None:
        """Draw the run as it stands (after training, or before any)."""
        self.update(run, progress_of(run))


def metrics_table(rows: dict[str, dict[str, float | None]]) -> pd.DataFrame:
    """A metric × split table with readable numbers: — where a metric is undefined, nan where it came out NaN."""
    # Formatted before pandas sees them: it would turn None into NaN.
    return pd.DataFrame({split: {name: _number(v) for name, v in metrics.items()} for split, metrics in rows.items()})


def _number(value: float | None) -> str:
    """A number to 6 significant figures, nan and inf as Python prints them; — for None (undefined)."""
    return "—" if value is None else f"{value:.6g}"


def results_ui(run: TrainingRun) -> None:
    """Metrics, learned parameters, the prediction box and the epoch log of a trained run."""
    st.subheader(f"After {run.epoch:,} epochs")
    left, right = st.columns(2)
    with left:
        st.markdown("**How well it classifies**" if run.config.classifies else
                    "**How well it fits** (in the target's original units)")
        st.dataframe(metrics_table(evaluate(run)), key="training_metrics")
        # A list and short paragraphs: as one run-on caption the meanings and the comparison with the log blurred.
        st.caption("\n".join(f"- **{name}**: {meaning}" for name, meaning in metric_help(run).items()))
        st.caption(metrics_note(run))
    with right:
        rows = parameter_rows(run)
        if rows:
            st.markdown("**Learned parameters**" + (" (mapped back to original units)"
                                                    if run.data.x_scaler or run.data.y_scaler else ""))
            table = pd.DataFrame(rows).set_index("parameter")
            if table["true"].isna().all():
                table = table.drop(columns="true")
            # Tall enough for every row (iris: 12 weights and 3 biases) up to a cap, not 10 and a scrollbar.
            shown = table.astype(object).map(lambda v: "—" if v is None else f"{v:.4f}")  # a NaN weight: "nan"
            st.dataframe(shown, key="training_params", height=table_height(len(table), limit=600))
    # Full width: a classifier's row (inputs, a logit and a probability per class) overflowed half the page.
    _prediction_box(run)
    count = log_length(run)
    with st.expander(f"Epoch log (every {run.config.log_every:,} epochs)", icon=":material/list:",
                     expanded=count <= 20):
        shown = log_lines(run, last=LOG_LINES)
        if count > len(shown):
            st.caption(f"The last {len(shown):,} of {count:,} lines; the script below prints them all.")
        if run.asked > run.target and not run.training_wanted:  # stopped or diverged short of what was asked
            st.caption(f"Each line counts to {run.target:,}, the epochs this run trained (the script's "
                       f"num_epochs), not the {run.asked:,} asked for.")
        st.code("\n".join(shown) or empty_log_text(run), language="text", wrap_lines=not shown)


LOG_LINES = 200


def empty_log_text(run: TrainingRun) -> str:
    """Why the log has no line: the run is shorter than Log every (the script prints when (epoch + 1) % N == 0)."""
    every = run.config.log_every
    if run.epoch and not run.training_wanted:
        return (f"(no line: the log prints every {every:,} epochs and this run has {run.epoch:,}; set Log every to "
                f"{run.epoch:,} or less, on the tab Epochs, batches, seed, to see its lines)")
    return f"(no epoch has reached the log interval of {every:,} yet)"


def _prediction_box(run: TrainingRun) -> None:
    """New inputs in, the model's outputs out (original units); a held-out row when there are too many to type."""
    n = run.data.n_features
    if n > MAX_TYPED_FEATURES:
        _row_prediction(run)
        return
    text = st.text_input(md_safe(f"Predict for new input{'s' if n > 1 else ''} "
                                 f"({name_list(run.data.feature_names, 6, quoted=False)})"),
                         value=example_input_text(run), key=f"training_predict_{n}", persist_state=KEEP,
                         help="A number, a list such as [5, 6, 7], or rows such as [[1, 2], [3, 4]]. With more "
                              "than one feature it starts on row 0 of the data, as the Checkpoints page does.")
    try:
        inputs = parse_prediction_inputs(text, n)
    except TorchstartError as err:
        show_error(err)
        return
    # A typed row that is one of the data's rows (row 0 starts the box) shows its true label beside the prediction.
    show_predictions(with_known_labels(prediction_table(run, inputs), inputs, run.data.source), "training_prediction")


def _row_prediction(run: TrainingRun) -> None:
    """Pick a held-out row by number: its prediction, its label, and its picture when it is a square image."""
    which, x, _ = held_out_rows(run)
    unseen = ": rows the model never trained on" if which == "validation" else "; nothing was held out"
    index = st.number_input(f"Predict for {which} row (0 to {len(x) - 1:,}{unseen})", 0, len(x) - 1, value=0,
                            key=f"training_predict_row_{which}", persist_state=KEEP,
                            help=f"{run.data.n_features:,} inputs are too many to type; pick one of the {len(x):,} "
                                 f"{which} rows instead. model(x[i:i + 1]) in eval mode, as on every page.")
    index = min(int(index), len(x) - 1)
    if run.config.data == "session":  # without a split the training rows keep the dataset's order
        source_row = int(run.data.val_index[index]) if which == "validation" else index
        st.caption(f"{which.capitalize()} row {index:,} is row {source_row:,} of the Data page's dataset: the "
                   "Checkpoints page picks rows by that number.")
    with beside_picture(held_out_row(run, index), "training_predict_picture"):
        show_predictions(row_prediction_table(run, index), "training_prediction")


def downloads_ui(run: TrainingRun, script: str) -> None:
    """The .pth of the state_dict, the standalone script, and the data when the script needs it."""
    # A wrapping row of content-wide buttons: three equal columns cut "Download model (.pth)" at 1024 px.
    row = st.container(horizontal=True, gap="small")
    cols = [row, row, row]
    stats = scaler_names(run.data.x_scaler, run.data.y_scaler)
    entries = "".join(f", '{name}': {name}" for name in stats)
    saved = (f"torch.save({{'model': model.state_dict(){entries}}}): the trained weights with the standardization "
             "statistics they expect" if stats else "torch.save(model.state_dict()) of the trained model")
    data = trained_file_bytes(run.model, run.data.x_scaler, run.data.y_scaler)
    cols[0].download_button("Download model (.pth)", data, file_name="model.pth", mime="application/octet-stream",
                            key="training_download_pth", on_click="ignore", icon=":material/download:",
                            help=saved + ".")
    cols[1].download_button("Download script (.py)", script, file_name="train_torchstart.py", mime="text/x-python",
                            key="training_download_script", on_click="ignore", icon=":material/code:",
                            help="Plain PyTorch that repeats this whole run and prints the same losses.")
    if name := data_file_name(run):
        # Built only when clicked (on Streamlit's download thread): a big table takes a while to write.
        cols[2].download_button(f"Download data ({name})", lambda: data_file(run), file_name=name,
                                mime="text/csv" if name == CSV_NAME else "application/octet-stream",
                                key="training_download_csv", on_click="ignore", icon=":material/table:",
                                help="The script reads this file: put it next to the script."
                                     + (" A torch.save file of the tensors: as text this many numbers would take "
                                        "long to write and read." if name != CSV_NAME else ""))
