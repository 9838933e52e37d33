"""Streamlit glue for the Data page: choosing the data and showing the dataset (the batches: _data_loader_ui)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pandas as pd
import streamlit as st
import torch
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from pages._ui import KEEP, number_columns, param_input, plural, show_error, table_height
from torchstart import data_code, session
from torchstart.builtin_datasets import BUILTINS, make_builtin
from torchstart.csv_loading import MAX_UPLOAD_MB, LoadedTable, human_size, load_csv
from torchstart.data_prep import (MISSING_CHOICES, NON_NUMERIC_CHOICES, SAMPLE_SEED, PrepChoices, PrepResult,
                                  StrayText, column_kind, dataset_classes, default_choices, prepare,
                                  profile_columns, stray_text_columns)
from torchstart.datasets import TabularDataset
from torchstart.errors import TorchstartError
from torchstart.tensor_figures import float_text

BUILTIN, UPLOAD = "Built-in dataset", "Upload a CSV"
K_SOURCE, K_BUILTIN, K_UPLOAD = "data.source", "data.builtin", "data.upload"
K_FEATURES, K_TARGET, K_NON_NUMERIC, K_MISSING = "data.features", "data.target", "data.non_numeric", "data.missing"
K_ROWS, K_CLASS_CODES = "data.rows", "data.class_codes"
K_TABLE, K_UPLOAD_ERROR = "data.table", "data.upload_error"
K_APPLIED, K_CODE, K_PREP, K_VERSION, K_VIEW = "data.applied", "data.code", "data.prep", "data.version", "data.view"
LOADER_KEYS = {"batch_size": "data.batch_size", "shuffle": "data.shuffle", "drop_last": "data.drop_last",
               "seed": "data.seed", "epoch": "data.epoch"}
PREVIEW_ROWS = 20
MAX_TABLE_FEATURES = 8


@dataclass
class StoredTable:
    """An uploaded file that parsed: the table, its column profile and the uploader's file id."""

    table: LoadedTable
    profile: pd.DataFrame
    file_id: str
    stray: list[StrayText] = field(default_factory=list)  # number columns read as text because of a few cells


@dataclass
class Candidate:
    """A dataset the current choices describe: a key naming it and a way to build it with its code."""

    key: tuple
    build: Callable[[], tuple[TabularDataset, str, PrepResult | None]]


def builtin_candidate() -> Candidate:
    """The built-in picker and its settings."""
    key = st.selectbox("Dataset", list(BUILTINS), key=K_BUILTIN, persist_state=KEEP,
                       format_func=lambda k: BUILTINS[k].title)
    spec = BUILTINS[key]
    st.caption(spec.description)
    values = {}
    if spec.params:
        cols = st.columns(len(spec.params))
        for col, (name, param) in zip(cols, spec.params.items()):
            values[name] = param_input(param, key=f"{K_BUILTIN}.{key}.{name}", container=col)

    def build() -> tuple[TabularDataset, str, None]:
        return make_builtin(key, values), data_code.builtin_code(key, values), None

    return Candidate(("builtin", key, tuple(sorted(values.items()))), build)


def upload_candidate() -> Candidate | None:
    """The uploader, the table preview and profile, and the column choices; None until a file parsed."""
    uploaded = st.file_uploader(f"CSV, TSV or TXT file (up to {MAX_UPLOAD_MB} MB)", type=["csv", "tsv", "txt"],
                                key=K_UPLOAD, max_upload_size=MAX_UPLOAD_MB)
    stored: StoredTable | None = st.session_state.get(K_TABLE)
    if uploaded is not None and (stored is None or stored.file_id != uploaded.file_id):
        stored = read_upload(uploaded) or stored
    if stored is None:
        if uploaded is None:  # after a refused file its error says what happened: no "upload a file" beside it
            st.info("Upload a file to see it become a Dataset. Its first row must name the columns.",
                    icon=":material/upload_file:")
        return None
    if uploaded is None or uploaded.file_id != stored.file_id:
        st.caption(f"Below: **{stored.table.name}**, the last file that loaded in this session. Upload another "
                   "file to replace it.")
    show_table(stored)
    choices = column_choices(stored.table.frame)
    table = stored.table

    def build() -> tuple[TabularDataset, str, PrepResult]:
        result = prepare(table.frame, choices, table.name)
        code = data_code.csv_code(table.name, table.format, choices, result.numeric_features, result.text_features,
                                  result.classes, rows_in=len(table.frame),
                                  class_codes=result.classes_from_numbers)
        return result.dataset, code, result

    return Candidate(("csv", stored.file_id, choices), build)


def read_upload(uploaded) -> StoredTable | None:
    """Parse a new upload; on success store it and reset the column choices, else show (and remember) why not."""
    failed = st.session_state.get(K_UPLOAD_ERROR)
    if failed and failed[0] == uploaded.file_id:  # the same bad file, rerun: do not parse it again
        refuse(failed[1])
        return None
    # A file near the cap takes seconds to parse and profile: say what is happening meanwhile.
    with st.spinner(f"Reading {uploaded.name} ({human_size(uploaded.size)}) with pandas…"):
        try:
            table = load_csv(uploaded.getvalue(), uploaded.name)
        except TorchstartError as err:
            st.session_state[K_UPLOAD_ERROR] = (uploaded.file_id, err)
            refuse(err)
            return None
        stored = StoredTable(table, profile_columns(table.frame), uploaded.file_id,
                             stray_text_columns(table.frame))
    st.session_state[K_TABLE] = stored
    defaults = default_choices(table.frame)
    st.session_state[K_TARGET] = defaults.target
    st.session_state[K_FEATURES] = list(defaults.features)
    st.session_state[K_ROWS] = len(table.frame)
    st.session_state[K_CLASS_CODES] = False
    return stored


def show_table(stored: StoredTable) -> None:
    """Counts, a preview of the first rows, and one line per column: dtype, missing values, statistics."""
    table, frame = stored.table, stored.table.frame
    c1, c2, c3 = st.columns(3)
    c1.metric("Rows", f"{len(frame):,}")
    c2.metric("Columns", f"{frame.shape[1]:,}")
    c3.metric("File", human_size(table.n_bytes), help=f"Read as {table.format.describe()}.")
    st.caption(f"Read as **{table.format.describe()}**. First {min(PREVIEW_ROWS, len(frame))} rows:")
    preview, config = preview_cells(frame.head(PREVIEW_ROWS))
    st.dataframe(preview, width="stretch", key="data.preview", column_config=config,
                 height=table_height(min(PREVIEW_ROWS, len(frame)), limit=800))
    st.caption("Each column: its pandas dtype, how many values are missing, and statistics of the numbers.")
    # Statistics do not apply to text columns ("—"); nan is pandas' own (one value: no std).
    profile, stats = number_columns(stored.profile, {c: "%.4g" for c in ("mean", "std", "min", "max")},
                                    blank_rows=stored.profile["kind"] == "text")
    st.dataframe(profile, width="stretch", hide_index=True, key="data.profile", column_config=stats)
    for stray in stored.stray:
        st.warning(stray.message(), icon=":material/text_fields:")


def preview_cells(head: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The first rows as pandas prints them: a missing cell reads NaN (st.dataframe alone would print None)."""
    numbers = [c for c in head.columns if is_numeric_dtype(head[c].dtype) and not is_bool_dtype(head[c].dtype)]
    shown, config = number_columns(head, {c: None for c in numbers}, missing="NaN", text=float_text)
    for c in head.columns:
        if c not in numbers and head[c].isna().any():
            shown[c] = head[c].astype(object).where(head[c].notna(), "NaN")
    return shown, config


def _drop_target_from_features() -> None:
    """Target's callback: a column picked as the target leaves the features box (it was left out silently)."""
    target = st.session_state.get(K_TARGET)
    st.session_state[K_FEATURES] = [c for c in st.session_state.get(K_FEATURES, []) if c != target]


def column_choices(frame: pd.DataFrame) -> PrepChoices:
    """Target, features, and how to treat text columns and missing values."""
    columns = [str(c) for c in frame.columns]
    c1, c2 = st.columns([1, 2])
    target = c1.selectbox("Target column (what to predict)", columns, key=K_TARGET, persist_state=KEEP,
                          on_change=_drop_target_from_features)
    features = c2.multiselect("Feature columns (the model's inputs)", columns, key=K_FEATURES, persist_state=KEEP,
                              help="The target is always left out of the features.")
    class_codes = False
    if target in frame.columns and column_kind(frame[target]) == "number":
        # Full width below the row: in the target's narrow column the label was cut off.
        class_codes = st.checkbox(
            "Treat the target's whole numbers as class labels", key=K_CLASS_CODES, persist_state=KEEP,
            help="For classes stored as numbers (species 0, 1, 2): one-hot encode them like a column of text "
                 "labels, one target column per class, so the Training page's CrossEntropy loss can fit them. "
                 "Unticked, the numbers are a quantity to fit (regression).")
    c3, c4 = st.columns(2)
    non_numeric = c3.radio("Text feature columns", NON_NUMERIC_CHOICES, key=K_NON_NUMERIC, persist_state=KEEP,
                           horizontal=True,
                           format_func={"one-hot": "one-hot encode", "drop": "drop them"}.get)
    missing = c4.radio("Rows with a missing value", MISSING_CHOICES, key=K_MISSING, persist_state=KEEP, horizontal=True,
                       help="Rows whose target is missing are always dropped: a mean is not a label. "
                            "Filling applies to number columns; a gap in a one-hot encoded text column gets 0 in "
                            "every one of its columns (no category). "
                            "The mean is taken over the rows kept (those with a target, within Rows to use), "
                            "including those the Training page later "
                            "holds out for validation; in a strict workflow you fill from the training "
                            "rows only, after the split.")
    total = len(frame)
    if not min(2, total) <= st.session_state.get(K_ROWS, -1) <= total:  # new file, or none chosen yet: all rows
        st.session_state[K_ROWS] = total
    rows = st.columns(3)[0].number_input(
        "Rows to use", min_value=min(2, total), max_value=total, step=1, key=K_ROWS, persist_state=KEEP,
        help=f"All {total:,} rows, or a random sample of fewer, kept in file order: "
             f"`frame.sample(n, random_state={SAMPLE_SEED})`. Random, because files are often sorted (iris by "
             "species): the first rows might hold only some of the classes. Fewer rows train faster and fit the "
             "Training page's limits for big models.")
    return PrepChoices(tuple(features), target, non_numeric, missing, None if rows >= total else int(rows),
                       class_codes)


def apply(candidate: Candidate) -> None:
    """Build the candidate when it changed; replace the session dataset only when it is valid."""
    if st.session_state.get(K_APPLIED) == candidate.key:
        return
    try:
        dataset, code, prep = candidate.build()
    except TorchstartError as err:
        refuse(err)
        return
    st.session_state[session.DATASET] = dataset
    st.session_state[K_APPLIED] = candidate.key
    st.session_state[K_CODE] = code
    st.session_state[K_PREP] = prep
    st.session_state[K_VERSION] = st.session_state.get(K_VERSION, 0) + 1


def refuse(err: TorchstartError) -> None:
    """Show why the input was refused, and which dataset stays in use."""
    show_error(err)
    current = st.session_state.get(session.DATASET)
    if current is not None:
        st.caption(f"Nothing was replaced: the dataset in use is still **{current.name}** ({len(current):,} rows).")


def prep_summary(prep: PrepResult) -> None:
    """What the column choices kept: rows, tensor columns, encodings and fills."""
    ds = prep.dataset
    c1, c2, c3 = st.columns(3)
    c1.metric("Rows kept", f"{prep.rows_kept:,} of {prep.rows_in:,}",
              help="Rows left out by Rows to use, or dropped for a missing target or (with 'drop rows') a "
                   "missing feature.")
    c2.metric("Feature tensor columns", ds.n_features)
    c3.metric("Target", f"{prep.target} ({len(prep.classes)} classes)" if prep.classes else ds.target_names[0])
    notes = []
    if prep.rows_sampled is not None:
        notes.append(f"a random sample of {prep.rows_sampled:,} of the {prep.rows_in:,} rows (Rows to use), "
                     "kept in file order")
    if prep.rows_missing_target:
        notes.append(f"{plural(prep.rows_missing_target, 'row')} dropped: target missing")
    if prep.rows_missing_features:
        notes.append(f"{plural(prep.rows_missing_features, 'row')} dropped: a feature missing")
    notes += [f"'{c}' one-hot encoded into {plural(len(cols), 'column')}" for c, cols in prep.encoded.items()]
    notes += [f"'{c}' read as numbers: true → 1.0, false → 0.0" for c in prep.true_false]
    notes += [f"'{c}' dropped (text)" for c in prep.dropped_features]
    notes += [f"gaps in '{c}' filled with its mean {m:.4g} over the {plural(prep.rows_kept, 'row')} kept"
              for c, m in prep.filled.items()]
    # get_dummies gives a missing text value no category: say so, the mean fill above covers numbers only.
    notes += [f"the {plural(n, 'gap')} in text column '{c}' became "
              f"{'an all-zero one-hot row' if n == 1 else 'all-zero one-hot rows'} (no category: 0 in every "
              f"'{c}_…' column)" for c, n in prep.text_gaps.items()]
    if prep.classes:
        more = f", … +{len(prep.classes) - 10} more" if len(prep.classes) > 10 else ""
        codes = " (its whole numbers as class labels)" if prep.classes_from_numbers else ""
        notes.append(f"target '{prep.target}'{codes} one-hot encoded into {len(prep.classes)} classes: "
                     f"{', '.join(prep.classes[:10])}{more} (rows of class probabilities, one of the two target "
                     "forms nn.CrossEntropyLoss takes; y.argmax(1) gives the other, class indices)")
    if notes:
        st.caption("; ".join(notes) + ".")
    if prep.classes_not_sampled:
        missing = prep.classes_not_sampled
        shown = ", ".join(missing[:10]) + (f", … +{len(missing) - 10} more" if len(missing) > 10 else "")
        classes = "classes" if len(missing) > 1 else "class"
        st.warning(f"The random sample of {prep.rows_sampled:,} rows holds no row of {classes} {shown}, so the "
                   f"target has only {len(prep.classes)} columns and a model trained on it cannot predict the "
                   "others. Use more rows (Rows to use).", icon=":material/category:")


def show_dataset(ds: TabularDataset) -> None:
    """The session dataset as tensors: shapes, names and the first rows."""
    st.markdown(f"**{ds.name}**: `len(dataset)` = {len(ds):,}; `dataset[i]` returns "
                f"`(features[i], targets[i])` with shapes `{ds.features.shape[1:]}` and "
                f"`{ds.targets.shape[1:]}`, float32.")  # torch.Size([2]): as .shape prints
    head = tensor_rows(torch.arange(min(len(ds), 10)), ds.features[:10], ds.targets[:10], ds)
    st.dataframe(head, width="stretch", hide_index=True, key="data.head")
    x0, y0 = ds[0]
    st.code(f">>> dataset[0]\n({x0}, {y0})", language="text")


def tensor_rows(indices: torch.Tensor, x: torch.Tensor, y: torch.Tensor, ds: TabularDataset) -> pd.DataFrame:
    """Rows of features and targets labelled by sample index (first MAX_TABLE_FEATURES columns of each).

    One-hot class targets also get the class each row stands for: y.argmax(1), by name.
    """
    names = ds.feature_names[:MAX_TABLE_FEATURES]
    table = pd.DataFrame(x[:, :MAX_TABLE_FEATURES].numpy(), columns=[f"x: {n}" for n in names])
    if ds.n_features > MAX_TABLE_FEATURES:
        table[f"x: … +{ds.n_features - MAX_TABLE_FEATURES} more"] = "…"
    for j, n in enumerate(ds.target_names[:MAX_TABLE_FEATURES]):
        table[f"y: {n}"] = y[:, j].numpy()
    if ds.n_targets > MAX_TABLE_FEATURES:
        table[f"y: … +{ds.n_targets - MAX_TABLE_FEATURES} more"] = "…"
    classes = dataset_classes(ds)
    if classes:
        # Up front, next to the index: at the end it falls off the right edge of a wide table.
        table.insert(0, "class = y.argmax(1)", [classes[i] for i in y.argmax(1).tolist()])
    table.insert(0, "sample index", indices.numpy())
    return table
