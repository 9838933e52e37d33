"""The DataLoader the Data and Training pages share: real ``DataLoader``, batched indexing."""

from __future__ import annotations

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler


def make_loader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool = False,
    drop_last: bool = False,
    generator: torch.Generator | None = None,
) -> DataLoader:
    """A ``DataLoader`` yielding the same batches as ``DataLoader(dataset, batch_size, shuffle, ...)``.

    The default loader fetches ``dataset[i]`` one sample at a time and collates;
    here a ``BatchSampler`` is passed as the sampler with ``batch_size=None``, so
    the dataset is indexed once per batch with a list of indices (one tensor
    gather) while the order of indices stays exactly the default loader's.
    """
    base = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    batches = BatchSampler(base, batch_size=batch_size, drop_last=drop_last)
    # The loader's iterator draws a base seed from ``generator`` before the sampler
    # permutes; handing it the same generator keeps the default loader's exact order.
    return DataLoader(dataset, sampler=batches, batch_size=None, generator=generator)
