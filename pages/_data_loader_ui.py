"""Streamlit glue for the Data page's DataLoader section: settings, batch counts, every batch's tensors."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from pages._data_ui import LOADER_KEYS, tensor_rows
from pages._ui import KEEP, param_input, plural, table_height
from torchstart.batch_viewer import (BATCH_SIZE, DROP_LAST, EPOCH, HEAD_ROWS, SEED, SHUFFLE, EpochView,
                                     LoaderSettings, batch_formula, batch_tensors)
from torchstart.datasets import TabularDataset

# A see-through orange: a light peach on a light page, a dark amber under white text on a dark one
# (an opaque peach left a dark theme's white text unreadable).
SHORT_BATCH_STYLE = "background-color: rgba(245, 133, 24, 0.28)"


def loader_controls() -> LoaderSettings:
    """batch_size, shuffle, drop_last, seed and the epoch to view."""
    # The two checkboxes share a column, one above the other: each in a fifth of a narrow main area (sidebar
    # open at 1024 px) was cut to "s." and "d.".
    c = st.columns([1, 1.2, 1, 1], vertical_alignment="center")
    values = {
        "batch_size": param_input(BATCH_SIZE, LOADER_KEYS["batch_size"], c[0]),
        "shuffle": param_input(SHUFFLE, LOADER_KEYS["shuffle"], c[1]),
        "drop_last": param_input(DROP_LAST, LOADER_KEYS["drop_last"], c[1]),
        "seed": param_input(SEED, LOADER_KEYS["seed"], c[2]),
        "epoch": param_input(EPOCH, LOADER_KEYS["epoch"], c[3]),
    }
    return LoaderSettings(**values)


def batch_overview(view: EpochView) -> None:
    """The count and its formula, the short last batch, and what drop_last removes."""
    s, n = view.settings, view.n_samples
    c1, c2, c3 = st.columns(3)
    c1.metric("Samples", f"{n:,}")
    c2.metric("Batches per epoch", f"{view.n_batches:,}", help="len(loader)")
    rest = n % s.batch_size
    last = view.last_batch_size
    c3.metric("Last batch", f"{last:,} sample{'s' if last != 1 else ''}",
              delta="short" if rest and not s.drop_last else None, delta_color="off", delta_arrow="off")
    if not rest:
        rule = f"no remainder: {n:,} / {s.batch_size:,} is a whole number, so every batch is full"
    elif s.drop_last:
        rule = f"rounded down: drop_last=True skips the remainder of {plural(rest, 'sample')}, a shorter last batch"
    else:
        rule = f"rounded up: the remainder of {plural(rest, 'sample')} makes a last, shorter batch"
    st.markdown(f"`len(loader)` = **{batch_formula(n, s.batch_size, s.drop_last)}** ({rule}).")
    if rest and s.drop_last:
        st.warning(f"drop_last removes {plural(rest, 'sample')} this epoch (the end of the epoch's order): "
                   f"indices {short_list(view.dropped)}. With shuffle they differ every epoch; without it, the "
                   "same samples are never seen.", icon=":material/content_cut:")
    elif rest and n < s.batch_size:
        st.info(f"All {plural(n, 'sample')} fit in one batch, shorter than batch_size {s.batch_size:,}. "
                "drop_last=True would skip it and leave the epoch with no batches at all.",
                icon=":material/straighten:")
    elif rest:
        st.info(f"The last batch holds {plural(rest, 'sample')} instead of {s.batch_size:,} (highlighted below). "
                f"drop_last=True would skip it, leaving {'it' if rest == 1 else 'those'} out of this epoch.",
                icon=":material/straighten:")


def short_list(values: torch.Tensor, limit: int = 12) -> str:
    """``[3, 7, 1, … +253 more]``."""
    items = values.tolist()
    shown = ", ".join(map(str, items[:limit]))
    return f"[{shown}{f', … +{len(items) - limit:,} more' if len(items) > limit else ''}]"


def batch_tables(view: EpochView, ds: TabularDataset) -> None:
    """One summary row per batch (indices), then the batches' tensors, the short batch highlighted."""
    s = view.settings
    summary = pd.DataFrame({
        "batch": [b.number for b in view.batches],
        "size": [len(b.indices) for b in view.batches],
        "sample indices": [short_list(b.indices) for b in view.batches],
    })
    short = summary["size"] < s.batch_size
    styled = summary.style.apply(lambda row: [SHORT_BATCH_STYLE if short[row.name] else ""] * len(row),
                                 axis=1)
    if view.truncated:
        st.caption(f"Showing the first {len(view.batches):,} of {view.n_batches:,} batches.")
    st.dataframe(styled, width="stretch", hide_index=True, key="data.batches", height=table_height(len(summary)))
    parts = []
    for b in view.batches:
        rows = tensor_rows(b.indices[:HEAD_ROWS], b.features, b.targets, ds)
        rows.insert(0, "batch", b.number)
        rows.insert(1, "row", range(len(rows)))
        parts.append(rows)
    tensors = pd.concat(parts, ignore_index=True)
    longest = max(len(b.indices) for b in view.batches)
    note = f" (first {HEAD_ROWS} rows of each; the table above lists all indices)" if longest > HEAD_ROWS \
        else ""
    st.caption(f"The tensors each batch holds: x_batch and y_batch row by row{note}.")
    short_batches = {b.number for b in view.batches if len(b.indices) < s.batch_size}
    styled_tensors = tensors.style.apply(
        lambda row: [SHORT_BATCH_STYLE if row["batch"] in short_batches else ""] * len(row), axis=1)
    styled_tensors = styled_tensors.format(precision=4, subset=[c for c in tensors.columns if c.startswith(("x:", "y:"))
                                                                and tensors[c].dtype.kind == "f"])
    st.dataframe(styled_tensors, width="stretch", hide_index=True, key="data.batch_tensors",
                 height=table_height(len(tensors)))


def print_batch(view: EpochView, ds: TabularDataset) -> None:
    """What ``print(x_batch, y_batch)`` shows for one batch of the epoch."""
    numbers = [b.number for b in view.batches]
    pick = st.selectbox("print one batch", numbers, key="data.print_batch", persist_state=KEEP,
                        format_func=lambda i: f"batch {i} of epoch {view.settings.epoch}")
    batch = view.batches[numbers.index(pick)] if pick in numbers else view.batches[0]
    # The shapes as print() shows them: torch.Size([16, 2]), not a bare tuple.
    x_batch, y_batch = batch_tensors(ds, batch)
    st.code(f">>> print(x_batch.shape, y_batch.shape)\n{x_batch.shape} "
            f"{y_batch.shape}\n>>> print(x_batch)\n{x_batch}\n>>> print(y_batch)\n"
            f"{y_batch}", language="text")
