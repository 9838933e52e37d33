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
