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
@pytest.mark.parametrize("batch_size", [1, 4, 5, 23, 50])
def test_same_batches_as_default_loader(shuffle: bool, drop_last: bool, batch_size: int) -> None:
    ds = _dataset()
    ours = make_loader(ds, batch_size, shuffle, drop_last, torch.Generator().manual_seed(7))
    plain = DataLoader(ds, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                       generator=torch.Generator().manual_seed(7))
    for epoch in range(3):  # the generator advances per epoch the same way in both
        got, want = list(ours), list(plain)
        assert len(got) == len(want) == len(ours)
        for (gx, gy), (wx, wy) in zip(got, want):
            assert torch.equal(gx, wx) and torch.equal(gy, wy)


def test_no_generator_draws_from_the_global_rng_like_the_default_loader() -> None:
    ds = _dataset(17)
    torch.manual_seed(3)
    ours = [x for x, _ in make_loader(ds, 5, shuffle=True)] + [x for x, _ in make_loader(ds, 5, shuffle=True)]
    torch.manual_seed(3)
    plain = [x for x, _ in DataLoader(ds, 5, shuffle=True)] + [x for x, _ in DataLoader(ds, 5, shuffle=True)]
    assert all(torch.equal(a, b) for a, b in zip(ours, plain)) and len(ours) == len(plain) == 8


def test_empty_dataset_yields_nothing() -> None:
    ds = TabularDataset(torch.zeros(0, 1), torch.zeros(0, 1), ["x"], ["y"])
    assert list(make_loader(ds, 4, shuffle=True, generator=torch.Generator().manual_seed(0))) == []
