"""Streamlit glue for the Data page: choosing the data and showing the dataset.

The CSV upload's table and column choices are in _data_upload_ui, the batches in _data_loader_ui.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd
import streamlit as st
import torch

from pages._ui import KEEP, param_input, plural, show_error
from torchstart import data_code, session
from torchstart.builtin_datasets import BUILTINS, make_builtin
from torchstart.data_prep import PrepResult, dataset_classes, look_alike_classes
from torchstart.datasets import TabularDataset
from torchstart.errors import TorchstartError
from torchstart.wording import md_safe, name_list

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
        target = current.class_column or name_list(current.target_names, 3, quoted=False)
        st.caption(md_safe(f"Nothing was replaced: the dataset in use is still **{current.name}** "
                           f"({len(current):,} rows, predicting {target})."))


def prep_summary(prep: PrepResult) -> None:
    """What the column choices kept: rows, tensor columns, encodings and fills."""
    ds = prep.dataset
    c1, c2, c3 = st.columns(3)
    c1.metric("Rows kept", f"{prep.rows_kept:,} of {prep.rows_in:,}",
              help="Rows left out by Rows to use, or dropped for a missing target or (with 'drop rows') a "
                   "missing feature.")
    c2.metric("Feature tensor columns", f"{ds.n_features:,}")
    # The class count in the label: in the value, "label (4 classes)" was cut to "label (4 cl…" at 1024 px.
    c3.metric(f"Target ({len(prep.classes)} classes)" if prep.classes else "Target",
              md_safe(prep.target if prep.classes else ds.target_names[0]))
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
    notes += [f"{plural(prep.filled_gaps[c], 'gap')} in '{c}' filled with {m:.4g}, the mean of its values"
              for c, m in prep.filled.items()]
    if prep.filled:  # the fill comes before the Training page's split: its validation rows shaped the means too
        notes.append(f"the means are over all {plural(prep.rows_kept, 'row')} kept, the Training page's "
                     "validation rows among them")
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
        st.caption(md_safe("; ".join(notes) + "."))
    alike = look_alike_classes(prep.classes)
    if alike:
        shown = "; ".join(", ".join(repr(name) for name in group) for group in alike[:5])
        st.warning(md_safe(f"Some classes of '{prep.target}' differ only in upper/lower case or spaces ({shown}), so "
                           "each is a class of its own. If they mean the same, make them one spelling in the file "
                           "and upload again."), icon=":material/spellcheck:")
    if prep.classes_not_sampled:
        missing = prep.classes_not_sampled
        shown = ", ".join(missing[:10]) + (f", … +{len(missing) - 10} more" if len(missing) > 10 else "")
        classes = "classes" if len(missing) > 1 else "class"
        st.warning(md_safe(f"The random sample of {prep.rows_sampled:,} rows holds no row of {classes} {shown}, so the "
                           f"target has only {len(prep.classes)} columns and a model trained on it cannot predict the "
                           "others. Use more rows (Rows to use)."), icon=":material/category:")


MAX_PRINTED_VALUES, PRINTED_HEAD = 60, 10


def show_dataset(ds: TabularDataset) -> None:
    """The session dataset as tensors: shapes, names and the first rows."""
    st.markdown(md_safe(f"**{ds.name}**: `len(dataset)` = {len(ds):,}; `dataset[i]` returns "
                        f"`(features[i], targets[i])` with shapes `{ds.features.shape[1:]}` and "
                        f"`{ds.targets.shape[1:]}`, float32."))  # torch.Size([2]): as .shape prints
    head = tensor_rows(torch.arange(min(len(ds), 10)), ds.features[:10], ds.targets[:10], ds)
    st.dataframe(head, width="stretch", hide_index=True, key="data.head")
    x0, y0 = ds[0]
    if x0.numel() + y0.numel() <= MAX_PRINTED_VALUES:
        st.code(f">>> dataset[0]\n({x0}, {y0})", language="text", wrap_lines=True)  # on a phone y was cut off
    else:  # print() would fill the page with hundreds of numbers: show the shapes and the start
        st.code(f">>> x, y = dataset[0]\n>>> x.shape, y.shape\n({x0.shape}, {y0.shape})\n"
                f">>> x[:{PRINTED_HEAD}]\n{x0[:PRINTED_HEAD]}\n>>> y[:{PRINTED_HEAD}]\n{y0[:PRINTED_HEAD]}",
                language="text", wrap_lines=True)


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
