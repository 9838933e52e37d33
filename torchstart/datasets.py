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


# A text target becomes one-hot class columns named "<column>=<class>" (e.g. "species=setosa"):
# rows of class probabilities, which nn.CrossEntropyLoss takes as its target.
CLASS_SEP = "="


def one_hot_target_names(column: str, classes: list[str]) -> list[str]:
    """The target column names of a one-hot encoded class column, in class order."""
    return [f"{column}{CLASS_SEP}{c}" for c in classes]


def target_column(target_names: list[str]) -> str:
    """The column the one-hot class targets came from ("species=setosa", ... -> "species")."""
    return target_names[0].split(CLASS_SEP, 1)[0] if target_names else "class"


def class_names(target_names: list[str]) -> list[str]:
    """The class of each one-hot target column ("species=setosa" -> "setosa"); the name itself without '='."""
    return [name.split(CLASS_SEP, 1)[1] if CLASS_SEP in name else name for name in target_names]
