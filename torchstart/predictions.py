"""A model's predictions as a table: the inputs, the outputs, and for a classifier its probabilities and class.

Shared by the Training page (its live model) and the Checkpoints page (a model loaded from a file).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from torchstart.datasets import TabularDataset, class_names, one_row


def prediction_frame(inputs: torch.Tensor, outputs: torch.Tensor, feature_names: list[str],
                     target_names: list[str], task: str = "regression", class_column: str | None = None) -> pd.DataFrame:
    """Inputs, then outputs, for ``task`` ``regression``, ``binary`` (BCEWithLogitsLoss) or ``classes``; a
    classifier's probabilities and classes come before its logits.

    Regression outputs are named ``predicted <target>`` on every page. A classifier's outputs are logits:
    ``binary`` adds sigmoid's P(target = 1) and the class (logit >= 0); ``classes`` adds softmax's
    probability of every class and the class with the largest logit, by name.
    """
    names = target_names if len(target_names) == outputs.shape[1] else [f"y{i}" for i in range(outputs.shape[1])]
    if task == "classes":
        names = class_names(names, class_column)
    shown = [f"predicted {n}" for n in names] if task == "regression" else [f"logit {n}" for n in names]
    table = pd.DataFrame(outputs.tolist(), columns=shown)
    if task == "binary":
        for i, name in enumerate(names):
            table[f"P({name} = 1)"] = torch.sigmoid(outputs[:, i]).tolist()
            table[f"predicted {name}"] = (outputs[:, i] >= 0).long().tolist()
    elif task == "classes":
        probabilities = torch.softmax(outputs, dim=1)
        for i, name in enumerate(names):
            table[f"P({name})"] = probabilities[:, i].tolist()
        table[f"predicted {class_column or 'class'}"] = [names[i] for i in outputs.argmax(1).tolist()]
    if task != "regression":
        # A class's probability reads before its raw logit: in a wide table the logits are the ones off to the right.
        logits = [c for c in table.columns if str(c).startswith("logit ")]
        table = table[[c for c in table.columns if c not in logits] + logits]
    inputs_named = input_names(feature_names, set(table.columns))
    table = pd.concat([pd.DataFrame(inputs.tolist(), columns=inputs_named), table], axis=1)
    table.attrs["inputs"] = inputs_named  # which columns are inputs, whatever they are called ('predicted demand')
    return table


def input_names(feature_names: list[str], outputs: set[str]) -> list[str]:
    """Feature names as input columns, one named like an output (a file's own 'predicted price') marked as input."""
    names = []
    for name in feature_names:
        while name in outputs:  # two columns of one name: st.dataframe refuses the table, a dict lookup loses one
            name = f"{name} (input)"
        names.append(name)
    return names


# Beyond this many features a row is not typed in: the pages offer rows of a dataset instead (784 pixels, say).
MAX_TYPED_FEATURES = 20


def labelled_columns(row: TabularDataset) -> dict[str, list]:
    """What a one-row dataset is labelled: its class by name (``true digit``), else each target's value."""
    if row.classes:
        return {f"true {row.class_column}": [row.classes[int(row.targets[0].argmax())]]}
    return {f"true {name}": [row.targets[0, j].item()] for j, name in enumerate(row.target_names)}


MAX_LABELLED_ROWS = 20  # typed rows looked up in the dataset: each lookup compares against every row


def with_known_labels(table: pd.DataFrame, inputs: torch.Tensor, dataset: TabularDataset | None) -> pd.DataFrame:
    """``table`` with the dataset's label beside each typed row that is exactly one of its rows (as the prefilled
    row 0 is), so a prediction can be checked against the truth; rows not in the dataset get no label."""
    if dataset is None or not len(dataset) or dataset.n_features != inputs.shape[1] or len(inputs) == 0:
        return table
    found: list[int | None] = []
    for row in inputs[:MAX_LABELLED_ROWS].to(dataset.features.dtype):
        hits = (dataset.features == row).all(dim=1).nonzero()
        found.append(int(hits[0]) if len(hits) else None)
    if all(index is None for index in found):
        return table
    found += [None] * (len(inputs) - len(found))
    # As text, "—" for a row not in the dataset: a NaN would read as a broken number (and the page's note on nan).
    labelled = {name: ["—"] * len(inputs) for name in labelled_columns(one_row(dataset, 0))}
    for i, index in enumerate(found):
        if index is not None:
            for name, values in labelled_columns(one_row(dataset, index)).items():
                value = values[0]
                labelled[name][i] = value_text(value) if isinstance(value, float) else str(value)
    table = table.copy()
    position = len(table.attrs.get("inputs", []))
    for k, (name, values) in enumerate(labelled.items()):
        while name in table.columns:  # a feature called 'true price': st.dataframe refuses two columns of one name
            name = f"{name} (label)"
        table.insert(position + k, name, values)
    return table


def with_labels_first(table: pd.DataFrame, row: TabularDataset, inputs: list[str]) -> pd.DataFrame:
    """A prediction table for ``row`` without its ``inputs`` columns (too many to read), its label columns first."""
    table = table.iloc[:, len(inputs):]  # by position: an input may be shown as '<name> (input)'
    for k, (name, values) in enumerate(labelled_columns(row).items()):
        table.insert(k, name, values)
    return table  # prediction_frame put the probabilities before the logits already


def value_text(value: float) -> str:
    """The shortest text that reads back to the same float32, whole numbers without ``.0`` (``1234567``)."""
    # Not f"{v:g}": its six digits turn a price of 1234567 into 1.23457e+06, another house.
    if value == 0 or 1e-4 <= abs(value) < 1e16:
        return np.format_float_positional(np.float32(value), trim="-")  # 1234567, 0.1234567, not 1.234567e+06
    return str(np.float32(value))  # 1e-30, -2.5e+38, nan, inf


def row_text(row: torch.Tensor) -> str:
    """One row of inputs as the prediction boxes read it: ``[[138, 3, 53]]``, each value exactly the row's."""
    return "[[" + ", ".join(value_text(v) for v in row.tolist()) + "]]"
