"""The tabular Dataset every page shares: float32 features and targets as real tensors."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset


class TabularDataset(Dataset):
    """A ``torch.utils.data.Dataset`` over rows of numeric features and targets.

    Like the ``CustomDataset`` learners write by hand: the tensors are built once,
    ``__getitem__`` returns ``(features[i], targets[i])``.
    """

    def __init__(
        self,
        features: torch.Tensor,
        targets: torch.Tensor,
        feature_names: list[str],
        target_names: list[str],
        name: str = "dataset",
        class_column: str | None = None,
        origin: tuple[str, ...] = (),
    ) -> None:
        if features.ndim != 2 or targets.ndim != 2:
            raise ValueError("features and targets must be 2-D (rows, columns)")
        if len(features) != len(targets):
            raise ValueError("features and targets must have the same number of rows")
        self.features = features.to(torch.float32)
        self.targets = targets.to(torch.float32)
        self.feature_names = list(feature_names)
        self.target_names = list(target_names)
        self.name = name
        # The column a one-hot class target came from; carried, because a column or a class may itself hold "=".
        self.class_column = class_column if class_column is not None else guess_class_column(self.target_names)
        # How the Data page made these rows from the file (rows dropped, gaps filled), for generated scripts to say.
        self.origin = tuple(origin)

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index):
        return self.features[index], self.targets[index]

    @property
    def n_features(self) -> int:
        """Number of feature columns."""
        return self.features.shape[1]

    @property
    def n_targets(self) -> int:
        """Number of target columns."""
        return self.targets.shape[1]

    @property
    def classes(self) -> list[str]:
        """The classes of a one-hot class target, in target-column order; empty for other targets."""
        return class_names(self.target_names, self.class_column) if self.class_column is not None else []


def one_row(dataset: TabularDataset, index: int) -> TabularDataset:
    """Row ``index`` of ``dataset`` as a one-row dataset with the same columns and class column."""
    return TabularDataset(dataset.features[index:index + 1], dataset.targets[index:index + 1], dataset.feature_names,
                          dataset.target_names, dataset.name, class_column=dataset.class_column)


def same_dataset(a: TabularDataset | None, b: TabularDataset | None) -> bool:
    """The same rows, columns and values: a dataset the Data page rebuilt unchanged counts as the same one."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    return (a.feature_names == b.feature_names and a.target_names == b.target_names
            and a.class_column == b.class_column and a.features.shape == b.features.shape
            and a.targets.shape == b.targets.shape
            and torch.equal(a.features, b.features) and torch.equal(a.targets, b.targets))


# A text target becomes one-hot class columns named "<column>=<class>" (e.g. "species=setosa"):
# rows of class probabilities, which nn.CrossEntropyLoss takes as its target.
CLASS_SEP = "="


def one_hot_target_names(column: str, classes: list[str]) -> list[str]:
    """The target column names of a one-hot encoded class column, in class order."""
    return [f"{column}{CLASS_SEP}{c}" for c in classes]


def guess_class_column(target_names: list[str]) -> str | None:
    """For a dataset built without saying: the class column when the names look one-hot ("species=setosa", ...).

    The guess splits at the first "="; the Data page and the built-in sets pass the column instead.
    """
    if len(target_names) < 2 or not all(CLASS_SEP in n for n in target_names):
        return None
    column = target_names[0].split(CLASS_SEP, 1)[0]
    return column if all(n.startswith(column + CLASS_SEP) for n in target_names) else None


def class_names(target_names: list[str], column: str | None) -> list[str]:
    """The class of each one-hot target column ("species=setosa" of column "species" -> "setosa")."""
    prefix = f"{column}{CLASS_SEP}"
    return [n[len(prefix):] if column is not None and n.startswith(prefix) else n for n in target_names]
