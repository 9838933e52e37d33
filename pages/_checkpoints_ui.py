"""Streamlit sections 1-3 of the Checkpoints page: save, safe load, inspect (4 is _checkpoint_predict_ui)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
import torch
from torch import nn

from pages._training_ui import RUN, publish_trained
from pages._ui import HEADER_STOPPED, KEEP, number_columns, param_input, show_code, show_error
from pages._upload_store import release_upload
from torchstart import checkpoint_safety as safety
from torchstart import session
from torchstart.checkpoint_code import safe_load_code, save_code
from torchstart.checkpoint_figures import histogram_figure
from torchstart.checkpoint_inspect import (Path, TensorEntry, cut_note, entry_table, has_stats, is_state_dict,
                                           path_label, state_dict_parts, summarize_tree, tensor_entries, totals,
                                           unique_labels)
from torchstart.errors import TorchstartError
from torchstart.params import IntParam
from torchstart.rng import RNG_LOCK
from torchstart.trained_file import saved_scalers, scaler_names, trained_checkpoint, trained_file_bytes
from torchstart.wording import md_safe, upload_size_note

# Page-local session keys.
LOADED = "checkpoints.loaded"        # {"checkpoint": LoadedCheckpoint, "source": "upload" | "saved", "file_id"}
REFUSAL = "checkpoints.refusal"      # {"name", "step", "message"} of the last refused file
SEEN_UPLOAD = "checkpoints.seen_upload"
CHANGED = "checkpoints.upload_changed"  # set by the uploader's on_change: the learner, not a page visit
SAVED = "checkpoints.saved"          # (file name, bytes) prepared in step 1
CLEARED = "checkpoints.cleared"      # what LOADED held when the learner cleared the uploader

SAVE_SOURCES = {"trained": "Training page's trained model", "models": "Models page's model",
                "linear": "A fresh nn.Linear"}
LINEAR_IN = IntParam("in_features", 1, 1, 64, help="Inputs of the fresh nn.Linear.")
LINEAR_OUT = IntParam("out_features", 1, 1, 64, help="Outputs of the fresh nn.Linear.")
SEED = IntParam("Seed", 0, 0, 2**31 - 1, help="torch.manual_seed before building: the same seed, the same weights.")
BINS = IntParam("Bins", 40, 5, 200, help="Histogram bins.")

COUNT_FORMATS = {"numel": st.column_config.NumberColumn(format="localized"),
                 "bytes": st.column_config.NumberColumn(format="localized")}
STAT_FORMATS = {c: "%.4g" for c in ("mean", "std", "min", "max")}


def show_tensor_table(entries: list[TensorEntry], key: str | None = None) -> None:
    """One row per tensor; "—" where statistics do not apply, nan where torch gives nan (one number's std)."""
    blank = pd.Series([not has_stats(e.tensor) for e in entries], dtype=bool)
    raw = entry_table(entries)
    table, stats = number_columns(raw, STAT_FORMATS, blank_rows=blank)
    st.dataframe(table, hide_index=True, column_config={**COUNT_FORMATS, **stats}, key=key)
    if ((raw["numel"] == 1) & ~blank).any():
        st.caption("std is nan for a tensor of one number: `torch.std` divides by n − 1 (Bessel's correction), "
                   "which is 0 there.")
    whole = [e.key for e in entries
             if has_stats(e.tensor) and not (e.tensor.is_floating_point() or e.tensor.is_quantized)]
    if whole:  # BatchNorm's num_batches_tracked is int64, so most BatchNorm files have one
        listed = ", ".join(whole[:3]) + (", …" if len(whole) > 3 else "")
        st.caption(md_safe(f"Integer and bool tensors ({listed}): their mean and std are taken on a float64 copy, "
                           "`t.double().mean()`; `torch.mean` itself refuses integer dtypes."))


# ---------------------------------------------------------------- 1. save

def save_section() -> None:
    """Explain state_dict vs whole model, and offer a state_dict download."""
    left, right = st.columns(2)
    left.markdown("**Save the state_dict: what we do.** It is an ordered dict of name → tensor: every "
                  "parameter, plus persistent buffers such as BatchNorm's `running_mean`, `running_var` and "
                  "`num_batches_tracked`. Loading it back needs no code from the file, so `weights_only=True` "
                  "can read it.")
    left.code('torch.save(model.state_dict(), "model.pth")\n\nmodel = MyModel()  # rebuilt in code\n'
              'model.load_state_dict(torch.load("model.pth", weights_only=True))', language="python",
              wrap_lines=True)  # a half-width column: unwrapped, weights_only=True is cut off
    right.markdown("**Not the whole model.** `torch.save(model, path)` pickles the class by its import "
                   "path: the file only loads where that exact code exists, and unpickling runs code, so "
                   "`weights_only=True` refuses it.")
    right.code('torch.save(model, "model.pth")  # ties the file to your code paths', language="python",
               wrap_lines=True)
    st.caption("To resume training later rather than only predict, save the optimizer's state too: Adam's running "
               "averages and SGD's momentum buffers live in `optimizer.state_dict()`, not in the model. "
               "`torch.save({\"model\": model.state_dict(), \"optimizer\": optimizer.state_dict()}, path)`, then "
               "after rebuilding both, `optimizer.load_state_dict(checkpoint[\"optimizer\"])`; `weights_only=True` "
               "reads it. The files this app makes hold the model only, so training resumed from one starts its "
               "optimizer afresh.")

    run = st.session_state.get(RUN)
    publish_trained(run, st.session_state.get(session.MODEL))  # a run left mid-way never reached its hand-off
    trained, built = st.session_state.get(session.TRAINED), st.session_state.get(session.MODEL)
    options = [k for k, present in (("trained", trained), ("models", built), ("linear", True)) if present]
    choice = st.radio("Model to save", options, format_func=SAVE_SOURCES.get, horizontal=True,
                      key="checkpoints.save_source", persist_state=KEEP)
    if trained is None:
        st.caption("Train a model on the Training page and it is offered here too, with its trained weights.")
    seed, x_scaler, y_scaler = None, None, None
    if choice == "trained":
        # The very file the Training page's download and its script's last line write.
        model, fallback, filename = trained.model, trained.extra.get("model_code", ""), "model.pth"
        x_scaler, y_scaler = trained.x_scaler, trained.y_scaler
        st.caption(md_safe(f"From the Training page: {trained.description}"))
        header_stopped = "training" in st.session_state.get(HEADER_STOPPED, set())  # Training will stop it
        if run is not None and run.training_wanted and not header_stopped and run.epoch == trained.extra.get("epochs"):
            st.caption(f"That run was under way when you left the Training page: these are its weights after "
                       f"epoch {run.epoch:,} of {run.target:,}. Back on the Training page it carries on.")
    elif choice == "models":
        model, fallback, filename = built.module, built.code, "model.pth"
        seed = built.seed  # its initial weights: the code seeds as the Models page did
        st.caption(f"The Models page's {built.name} as built, with its initial weights (seed {seed}): "
                   "nothing trained yet. Train it on the Training page (Model → \"Model from the Models page\") "
                   "to save trained weights.")
    else:
        cols = st.columns(3)
        n_in = LINEAR_IN.check(param_input(LINEAR_IN, "checkpoints.linear_in", cols[0]))
        n_out = LINEAR_OUT.check(param_input(LINEAR_OUT, "checkpoints.linear_out", cols[1]))
        seed = SEED.check(param_input(SEED, "checkpoints.seed", cols[2]))
        with RNG_LOCK:  # the generator is shared by every session: seed and draw in one go
            torch.manual_seed(seed)
            model, fallback, filename = nn.Linear(n_in, n_out), "", "linear.pth"
    data = trained_file_bytes(model, x_scaler, y_scaler)
    st.session_state[SAVED] = (filename, data)
    stats = scaler_names(x_scaler, y_scaler)
    if stats:
        st.caption(md_safe(f"This model learned on standardized columns, so the file is a dict: the state_dict under "
                           f"`'model'`, and beside it {', '.join(f'`{n}`' for n in stats)}, without which its "
                           "predictions on raw inputs would be wrong."))
    show_tensor_table(tensor_entries(trained_checkpoint(model, x_scaler, y_scaler)))
    st.download_button(f"Download {filename} ({safety.format_bytes(len(data))})", data, file_name=filename,
                       mime="application/octet-stream", on_click="ignore", icon=":material/download:",
                       key="checkpoints.download")
    try:
        names = safety.whole_model_globals(model)
        note = (f"Saved whole with `torch.save(model)`, this file would name these classes: `{'`, `'.join(names)}`. "
                "Loading imports each one under that exact name and runs it, so the same code must exist "
                "wherever the file is opened, and weights_only loading refuses them all.")
        if any(n.startswith("torchstart.") for n in names):
            note += (" The `torchstart.…` ones are this app's machinery behind the Models page's model: saved "
                     "from your own script, the file would name your class instead (e.g. `__main__.MLP`).")
        st.caption(md_safe(note))
    except TorchstartError as err:
        st.caption(md_safe(str(err)))
    script = trained.extra.get("script") if choice == "trained" else None
    if script:  # the code that produced these weights: the whole run, ending with the save
        show_code(script, label="Show code: the Training page's run, which ends by saving this file")
    else:
        show_code(save_code(model, seed=seed, fallback=fallback, filename=filename))


# ---------------------------------------------------------------- 2. load

def load_section() -> safety.LoadedCheckpoint | None:
    """Uploader (or the step-1 file) through the four checks; returns the last file that passed."""
    cap = safety.MAX_CHECKPOINT_BYTES
    st.markdown("Since PyTorch 2.6, `torch.load` defaults to `weights_only=True`: a restricted unpickler that "
                "builds only tensors, numbers, strings and containers. We pass it explicitly (then no "
                "environment variable can switch it off) and check more before it. Every file goes through four "
                "checks, in this order; the first that fails stops it:")
    st.markdown("\n".join(f"{i}. {safety.STEP_LABELS[s]}" for i, s in enumerate(safety.STEPS, 1)))
    upload = st.file_uploader("Upload a .pth checkpoint", type=["pth", "pt", "ckpt", "tar", "bin"],
                              key="checkpoints.upload", max_upload_size=max(1, -(-cap // 2**20)),
                              on_change=_mark_uploader_changed,
                              help=f"Capped at {safety.format_bytes(cap)}; checked again before reading.")
    use_saved = st.button("Or load the file from step 1", key="checkpoints.use_saved",
                          icon=":material/upload_file:")
    upload_id = upload.file_id if upload is not None else None
    if use_saved:
        name, data = st.session_state[SAVED]
        _attempt(data, name, len(data), "saved")
    elif upload_id != st.session_state.get(SEEN_UPLOAD):
        gone = st.session_state.get(SEEN_UPLOAD)
        release_upload(gone)  # replaced: what passed is kept as a checkpoint
        st.session_state[SEEN_UPLOAD] = upload_id
        st.session_state.pop(REFUSAL, None)
        if upload is not None:
            _attempt(upload, upload.name, upload.size, "upload", upload.file_id)
        elif st.session_state.get(LOADED, {}).get("file_id") == gone and st.session_state.get(CHANGED):
            # The learner cleared the file that passed (a page visit empties the uploader too: then it is kept,
            # as is an earlier file when the one cleared had been refused). It is set aside, not dropped: picking
            # a new file over an old one clears the uploader in a rerun of its own first, and should the new
            # file be refused, the one that passed comes back.
            st.session_state[CLEARED] = st.session_state.pop(LOADED)
    st.session_state[CHANGED] = False
    held = st.session_state.get(LOADED)
    refusal = st.session_state.get(REFUSAL)
    if refusal:
        show_error(TorchstartError(refusal["message"]))
        _checklist(refusal["step"], {})
        if held:
            st.info(md_safe(f"Below is still **{held['checkpoint'].name}**, the last file that passed."))
    elif held:
        checkpoint = held["checkpoint"]
        st.success(md_safe(f"**{checkpoint.name}** passed all four checks."), icon=":material/verified_user:")
        _checklist(None, checkpoint.findings)
        if held["source"] == "upload" and upload is None:
            st.caption(md_safe(f"Below: **{checkpoint.name}**, the last file that passed in this session (the "
                               "uploader forgets its file when you visit another page). Upload another to replace "
                               "it."))
    show_code(safe_load_code(safety.MAX_CHECKPOINT_BYTES, held["checkpoint"].name if held else "model.pth"),
              label="Show code: safe load")
    return held["checkpoint"] if held else None


def _mark_uploader_changed() -> None:
    """The uploader's callback: the learner added or cleared a file (a visit to another page only empties it)."""
    st.session_state[CHANGED] = True


def _attempt(source: Any, name: str, size: int, origin: str, file_id: str | None = None) -> None:
    """Run the safe loader; keep the previous checkpoint when this one is refused."""
    try:
        checkpoint = safety.safe_load(source, name=name, size=size)
    except safety.CheckpointRefused as err:
        st.session_state[REFUSAL] = {"name": name, "step": err.step, "message": str(err)}
        if LOADED not in st.session_state and CLEARED in st.session_state:
            st.session_state[LOADED] = st.session_state.pop(CLEARED)
        return
    st.session_state.pop(REFUSAL, None)
    st.session_state.pop(CLEARED, None)
    st.session_state[LOADED] = {"checkpoint": checkpoint, "source": origin, "file_id": file_id}


def _checklist(failed: str | None, findings: dict[str, str]) -> None:
    """The four checks with passed / refused / not run marks."""
    styles = {"passed": ":green[✓] {}", "refused": ":red[✗ {}: refused]", "not run": ":gray[– {}: not run]"}
    st.markdown(md_safe("  \n".join(styles[mark].format(text) for mark, text in safety.checklist(failed, findings))))


# ---------------------------------------------------------------- 3. inspect

def inspect_section(checkpoint: safety.LoadedCheckpoint) -> Path | None:
    """Totals, the nested outline, every tensor's row, a histogram; returns the chosen model part."""
    obj = checkpoint.obj
    cut: set[str] = set()
    entries = tensor_entries(obj, cut=cut)
    total = totals(entries)
    cols = st.columns(4)
    cols[0].metric("Tensors", f"{total.tensors:,}")
    cols[1].metric("Numbers (numel)", f"{total.numel:,}")
    cols[2].metric("Tensor bytes", safety.format_bytes(total.bytes),
                   help="numel × bytes per number, summed over the tensors listed. Tensors that share one storage "
                        "(tied weights, views of one tensor) count once each here, while torch.save stores that "
                        "storage once, so this can exceed the file's size.")
    cols[3].metric("File size", safety.format_bytes(checkpoint.size), help=upload_size_note(checkpoint.size))
    note = cut_note(cut)
    if note:
        st.caption(md_safe(note))
    if not is_state_dict(obj):
        kind = type(obj).__name__
        if isinstance(obj, torch.Tensor):
            what = "a single tensor (torch.save(tensor) wrote it), not a dict of name → tensor"
        elif isinstance(obj, (dict, list, tuple)) and not obj:
            what = f"an empty `{kind}`: no tensors at all"
        else:
            what = f"a `{kind}` whose values are not all tensors"
        st.markdown(md_safe(f"Not a flat state_dict but {what}. Its outline:"))
        st.json(summarize_tree(obj), expanded=2)
    show_tensor_table(entries, key="checkpoints.table")
    parts = state_dict_parts(obj)
    part = None
    if parts:
        labels = unique_labels([path_label(p) for p in parts])  # picked by label: two alike would pick the first
        chosen = st.selectbox("The model part (a dict of name → tensor)", labels, key="checkpoints.part",
                              persist_state=KEEP,
                              help="The state_dict that load_state_dict will receive.")
        part = parts[labels.index(chosen)]
        beside = [f"`{name}`" for name, scaler in zip(("x", "y"), saved_scalers(obj, part)) if scaler is not None
                  for name in (f"{name}_mean", f"{name}_std")]
        if beside:
            st.caption(md_safe(f"Beside it, {', '.join(beside)}: the standardization the model was trained with, "
                               "as the Training page saves it. Predicting, below, applies them."))
    else:
        st.info("No dict of name → tensor in this file, so there is no model part to load.")
    if entries:
        keys = unique_labels([e.key for e in entries])
        hist_cols = st.columns([3, 1])
        key = hist_cols[0].selectbox("Histogram of", keys, key="checkpoints.hist_key", persist_state=KEEP)
        bins = BINS.check(param_input(BINS, "checkpoints.bins", hist_cols[1]))
        try:
            st.plotly_chart(histogram_figure(entries[keys.index(key)].tensor, key, bins),
                            key="checkpoints.histogram")
        except TorchstartError as err:
            st.caption(md_safe(str(err)))
    return part
