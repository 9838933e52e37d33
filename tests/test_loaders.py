"""The shared batched loader yields exactly the default DataLoader's batches."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader

from torchstart.datasets import TabularDataset
from torchstart.loaders import make_loader


def _dataset(n: int = 23) -> TabularDataset:
    x = torch.arange(n * 3, dtype=torch.float32).reshape(n, 3)
    return TabularDataset(x, x.sum(1, keepdim=True), ["a", "b", "c"], ["y"])


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("batch_size", [1, 4, 23, 50])
def test_same_batches_as_default_loader(shuffle: bool, drop_last: bool, batch_size: int) -> None:
    ds = _dataset()
    ours = make_loader(ds, batch_size, shuffle, drop_last, torch.Generator().manual_seed(7))
    plain = DataLoader(ds, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                       generator=torch.Generator().manual_seed(7))
    for epoch in range(2):  # the generator advances per epoch the same way in both
        got, want = list(ours), list(plain)
        assert len(got) == len(want) == len(ours)
        for (gx, gy), (wx, wy) in zip(got, want):
            assert torch.equal(gx, wx) and torch.equal(gy, wy)
