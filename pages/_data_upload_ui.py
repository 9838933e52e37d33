"""Streamlit pieces of the Data page's CSV upload: the uploader, the table and its profile, the column choices."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd
import streamlit as st
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from pages._data_ui import (K_CLASS_CODES, K_FEATURES, K_MISSING, K_NON_NUMERIC, K_ROWS, K_TABLE, K_TARGET,
                            K_UPLOAD, K_UPLOAD_ERROR, PREVIEW_ROWS, Candidate, refuse)

K_UPLOAD_SEEN = "data.upload_seen"  # the uploader's last file id: freed from Streamlit's store once replaced
from pages._ui import KEEP, number_columns, table_height
from pages._upload_store import release_upload
from torchstart import data_code
from torchstart.csv_loading import MAX_UPLOAD_MB, LoadedTable, compact_integers, human_size, load_csv
from torchstart.data_prep import (MISSING_CHOICES, NON_NUMERIC_CHOICES, SAMPLE_SEED, PrepChoices, PrepResult,
                                  StrayText, column_kind, default_choices, prepare, profile_columns,
                                  left_out_notes, stray_text_columns)
from torchstart.datasets import TabularDataset
from torchstart.errors import TorchstartError
from torchstart.tensor_figures import float_text
from torchstart.wording import md_safe, upload_size_note


@dataclass
class StoredTable:
    """An uploaded file that parsed: the table, its column profile and the uploader's file id."""

    table: LoadedTable
    profile: pd.DataFrame
    file_id: str
    stray: list[StrayText] = field(default_factory=list)  # number columns read as text because of a few cells


def upload_candidate() -> Candidate | None:
    """The uploader, the table preview and profile, and the column choices; None until a file parsed."""
    uploaded = st.file_uploader(f"CSV, TSV or TXT file (up to {MAX_UPLOAD_MB} MB)", type=["csv", "tsv", "txt"],
                                key=K_UPLOAD, max_upload_size=MAX_UPLOAD_MB)
    stored: StoredTable | None = st.session_state.get(K_TABLE)
    if uploaded is not None and uploaded.file_id != st.session_state.get(K_UPLOAD_SEEN):
        release_upload(st.session_state.get(K_UPLOAD_SEEN))  # replaced: the table parsed from it is kept
        st.session_state[K_UPLOAD_SEEN] = uploaded.file_id
    if uploaded is not None and (stored is None or stored.file_id != uploaded.file_id):
        stored = read_upload(uploaded) or stored
    if stored is None:
        if uploaded is None:  # after a refused file its error says what happened: no "upload a file" beside it
            st.info("Upload a file to see it become a Dataset. Its first row must name the columns.",
                    icon=":material/upload_file:")
        return None
    if uploaded is None or uploaded.file_id != stored.file_id:
        st.caption(md_safe(f"Below: **{stored.table.name}**, the last file that loaded in this session. Upload another "
                           "file to replace it."))
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
    with st.spinner(f"Reading {md_safe(uploaded.name)} ({human_size(uploaded.size)}) with pandas…"):
        try:
            table = load_csv(uploaded.getvalue(), uploaded.name)
        except TorchstartError as err:
            st.session_state[K_UPLOAD_ERROR] = (uploaded.file_id, err)
            refuse(err)
            return None
        profile = profile_columns(table.frame)  # the dtypes as pandas read them
        # Kept for the session in the narrowest integer dtypes: a 60,000-row MNIST CSV holds 45 MB, not 360 MB.
        table = replace(table, frame=compact_integers(table.frame))
        stored = StoredTable(table, profile, uploaded.file_id, stray_text_columns(table.frame, table.format.decimal))
    st.session_state[K_TABLE] = stored
    defaults = default_choices(table.frame, table.format.decimal)
    st.session_state[K_TARGET] = defaults.target
    st.session_state[K_FEATURES] = list(defaults.features)
    st.session_state[K_ROWS] = len(table.frame)
    st.session_state[K_CLASS_CODES] = defaults.class_codes
    return stored


def show_table(stored: StoredTable) -> None:
    """Counts, a preview of the first rows, and one line per column: dtype, missing values, statistics."""
    table, frame = stored.table, stored.table.frame
    c1, c2, c3 = st.columns(3)
    c1.metric("Rows", f"{len(frame):,}")
    c2.metric("Columns", f"{frame.shape[1]:,}")
    c3.metric("File", human_size(table.n_bytes), help=upload_size_note(table.n_bytes))
    st.caption(f"Read as **{table.format.describe()}**. First {min(PREVIEW_ROWS, len(frame))} rows:")
    preview, config = preview_cells(frame.head(PREVIEW_ROWS))
    st.dataframe(preview, width="stretch", key="data.preview", column_config=config,
                 height=table_height(min(PREVIEW_ROWS, len(frame)), limit=800))
    st.caption("Each column: its pandas dtype, how many values are missing, and statistics of the numbers (std as "
               "pandas gives it, dividing by n − 1; Standardize on the Training page divides by n).")
    # Statistics do not apply to text columns ("—"); nan is pandas' own (one value: no std).
    profile, stats = number_columns(stored.profile, {c: "%.4g" for c in ("mean", "std", "min", "max")},
                                    blank_rows=stored.profile["kind"] == "text")
    # Fixed widths: sized from the first rows, a statistics column cut 1.173e+05 to "73e+05" at 1024 px.
    for column in ("mean", "std", "min", "max"):
        stats[column] = {**stats[column], "width": 88}
    stats |= {c: st.column_config.Column(width="small") for c in ("dtype", "kind", "missing", "distinct")}
    st.dataframe(profile, width="stretch", hide_index=True, key="data.profile", column_config=stats)
    for stray in stored.stray:
        st.warning(md_safe(stray.message()), icon=":material/text_fields:")
    for note in left_out_notes(frame):
        st.info(md_safe(note), icon=":material/format_list_numbered:")


def preview_cells(head: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The first rows as pandas prints them: a missing cell reads NaN (st.dataframe alone would print None)."""
    numbers = [c for c in head.columns if is_numeric_dtype(head[c].dtype) and not is_bool_dtype(head[c].dtype)]
    shown, config = number_columns(head, {c: None for c in numbers}, missing="NaN", text=float_text)
    for c in head.columns:
        if c not in numbers and head[c].isna().any():
            shown[c] = head[c].astype(object).where(head[c].notna(), "NaN")
    return shown, config


def column_choices(frame: pd.DataFrame) -> PrepChoices:
    """Target, features, and how to treat text columns and missing values."""
    columns = [str(c) for c in frame.columns]
    c1, c2 = st.columns([1, 2])
    target = c1.selectbox("Target column (what to predict)", columns, key=K_TARGET, persist_state=KEEP)
    # The target is not offered as a feature: picked there it was dropped without a word.
    offered = [c for c in columns if c != target]
    if K_FEATURES in st.session_state:
        st.session_state[K_FEATURES] = [c for c in st.session_state[K_FEATURES] if c in offered]
    features = c2.multiselect("Feature columns (the model's inputs)", offered, key=K_FEATURES, persist_state=KEEP,
                              help=f"Every column but the target ('{md_safe(target)}'): a model shown its own answer "
                                   "learns nothing it could use on new rows.")
    class_codes = False
    if target in frame.columns and column_kind(frame[target]) == "number":
        # Full width below the row: in the target's narrow column the label was cut off.
        class_codes = st.checkbox(
            "Treat the target's whole numbers as class labels", key=K_CLASS_CODES, persist_state=KEEP,
            help="For classes stored as numbers (species 0, 1, 2): one-hot encode them like a column of text "
                 "labels, one target column per class (class probabilities, a target form nn.CrossEntropyLoss "
                 "takes), so the Training page's CrossEntropy loss can fit them. In your own code, int64 class "
                 "indices (y.argmax(1)) are the usual target and give the same loss. Unticked, the numbers are a "
                 "quantity to fit (regression).")
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
