"""The DataLoader the Data and Training pages share: a real ``DataLoader``, one gather per batch."""

from __future__ import annotations

import math
from typing import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler


class PermutationBatchSampler(Sampler[torch.Tensor]):
    """Yields each batch's indices as one tensor, in exactly ``BatchSampler(RandomSampler)`` order.

    ``BatchSampler`` hands the dataset a Python list of ints per batch, which the
    dataset must turn back into a tensor before it can gather: most of an epoch's
    cost for small rows. Here one permutation is drawn per epoch and sliced, so a
    batch is one ``index_select``. The random draws are ``RandomSampler``'s own
    (torch 2.13): a seed from the global RNG when no generator is given, one
    ``randperm`` per epoch, and a second, unused ``randperm`` once the epoch is
    exhausted. ``tests/test_loaders.py`` checks the batches against the default
    ``DataLoader`` epoch after epoch.
    """

    def __init__(self, n: int, batch_size: int, shuffle: bool, drop_last: bool,
                 generator: torch.Generator | None) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.n, self.batch_size, self.shuffle, self.drop_last = n, batch_size, shuffle, drop_last
        self.generator = generator

    def __len__(self) -> int:
        return self.n // self.batch_size if self.drop_last else math.ceil(self.n / self.batch_size)

    def __iter__(self) -> Iterator[torch.Tensor]:
        generator = self.generator
        if self.shuffle:
            if generator is None:
                seed = int(torch.empty((), dtype=torch.int64).random_().item())
                generator = torch.Generator()
                generator.manual_seed(seed)
            order = torch.randperm(self.n, generator=generator)
        else:
            order = torch.arange(self.n)
        stop = self.n - self.n % self.batch_size if self.drop_last else self.n
        for start in range(0, stop, self.batch_size):
            yield order[start:start + self.batch_size]
        if self.shuffle and self.n:
            # RandomSampler's trailing ``randperm(n)[:0]``: drawn so the generator
            # ends the epoch in the same state as with the default loader.
            torch.randperm(self.n, generator=generator)


def make_loader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool = False,
    drop_last: bool = False,
    generator: torch.Generator | None = None,
) -> DataLoader:
    """A ``DataLoader`` yielding the same batches as ``DataLoader(dataset, batch_size, shuffle, ...)``.

    The default loader fetches ``dataset[i]`` one sample at a time and collates;
    here a batch sampler is passed as the sampler with ``batch_size=None``, so the
    dataset is indexed once per batch with a tensor of indices (one gather) while
    the order of indices stays exactly the default loader's.
    """
    batches = PermutationBatchSampler(len(dataset), batch_size, shuffle, drop_last, generator)
    # The loader's iterator draws a base seed from ``generator`` before the sampler
    # permutes; handing it the same generator keeps the default loader's exact order.
    return DataLoader(dataset, sampler=batches, batch_size=None, generator=generator)
