"""What a real DataLoader yields, epoch by epoch: batch indices and tensors, recorded for display.

The batches come from ``torchstart.loaders.make_loader`` (the loader the Training
page uses) over a thin wrapper that also returns the indices it was asked for,
iterated epoch after epoch with one generator seeded once: epoch k here is the
epoch k a training loop would see.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from torchstart.errors import TorchstartError
from torchstart.loaders import make_loader
from torchstart.params import BoolParam, IntParam

BATCH_SIZE = IntParam("batch_size", 2, 1, 100_000, help="Samples per batch.")
SHUFFLE = BoolParam("shuffle", True, help="Draw a new random order of the samples every epoch.")
DROP_LAST = BoolParam("drop_last", False, help="Skip the last batch when it would be shorter than batch_size.")
SEED = IntParam("seed", 0, 0, 2**31 - 1, help="torch.Generator().manual_seed(seed), seeded once before epoch 0.")
EPOCH = IntParam("epoch to view", 0, 0, 19, help="Epochs 0..19; each epoch is one full pass over the loader.")

MAX_BATCHES_SHOWN = 200  # batches listed for the viewed epoch
# The viewer runs whole epochs through the loader to reach the chosen one; these bound a page run to seconds.
MAX_LOADER_STEPS = 40_000  # batches in all
MAX_SAMPLE_VISITS = 2_000_000  # samples in all (epochs x dataset size)
GRID_EPOCHS = 5
GRID_SAMPLES = 100


class IndexedDataset(Dataset):
    """Wraps a dataset so each fetch returns ``(indices, features, targets)``: which rows a batch holds."""

    def __init__(self, base: Dataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index):
        # One conversion of the sampler's index list; the base dataset then gathers with a tensor.
        indices = torch.as_tensor(index, dtype=torch.long)
        features, targets = self.base[indices]
        return indices, features, targets


@dataclass(frozen=True)
class LoaderSettings:
    """The DataLoader arguments the learner picked, plus the epoch to look at."""

    batch_size: int = BATCH_SIZE.default
    shuffle: bool = SHUFFLE.default
    drop_last: bool = DROP_LAST.default
    seed: int = SEED.default
    epoch: int = EPOCH.default


# Rows of each batch's tensors the view keeps and shows. Whole batches were a second copy of the dataset in every
# session (182 MB for 60,000 x 784 pixel rows); the one batch printed whole is gathered again (``batch_tensors``).
HEAD_ROWS = 8


@dataclass
class Batch:
    """One batch as the loader yielded it: every sample index, the first ``HEAD_ROWS`` rows of its tensors."""

    number: int
    indices: torch.Tensor
    features: torch.Tensor
    targets: torch.Tensor


def batch_tensors(dataset: Dataset, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """The whole of ``batch``'s x_batch and y_batch, gathered from ``dataset`` as the loader did."""
    return dataset[batch.indices]


@dataclass
class EpochView:
    """Everything the viewer shows for one epoch, plus the sample x epoch grid of batch numbers."""

    settings: LoaderSettings
    n_samples: int
    n_batches: int
    batches: list[Batch]  # the first MAX_BATCHES_SHOWN of them
    dropped: torch.Tensor  # sample indices drop_last left out this epoch (sorted)
    grid: np.ndarray  # (grid epochs, grid samples): batch number holding each sample, -1 if dropped

    @property
    def truncated(self) -> bool:
        """True when the epoch has more batches than are listed."""
        return self.n_batches > len(self.batches)

    @property
    def last_batch_size(self) -> int:
        """Size of the epoch's last batch (short unless batch_size divides the sample count)."""
        return batch_sizes(self.n_samples, self.settings.batch_size, self.settings.drop_last)[-1]


def batch_count(n_samples: int, batch_size: int, drop_last: bool) -> int:
    """Batches per epoch: ``floor(N / B)`` with drop_last, else ``ceil(N / B)``."""
    return n_samples // batch_size if drop_last else math.ceil(n_samples / batch_size)


def batch_formula(n_samples: int, batch_size: int, drop_last: bool) -> str:
    """The formula behind the count, with the numbers filled in."""
    rule = "floor" if drop_last else "ceil"
    return f"{rule}({n_samples:,} / {batch_size:,}) = {batch_count(n_samples, batch_size, drop_last):,}"


def batch_sizes(n_samples: int, batch_size: int, drop_last: bool) -> list[int]:
    """Sizes of the batches of one epoch, in order (at least one entry, 0 when nothing fits)."""
    full, rest = divmod(n_samples, batch_size)
    sizes = [batch_size] * full + ([rest] if rest and not drop_last else [])
    return sizes or [0]


def smallest_batch_size(n: int, max_batches: int, drop_last: bool) -> int:
    """The smallest batch_size giving at most ``max_batches`` batches of ``n`` samples (floor with drop_last)."""
    # ceil(n / B) <= k  <=>  B >= n / k;  floor(n / B) <= k  <=>  B > n / (k + 1)
    return n // (max_batches + 1) + 1 if drop_last else math.ceil(n / max_batches)


def check_budget(n: int, batch_size: int, n_batches: int, epoch: int, drop_last: bool = False) -> None:
    """Refuse settings whose epochs 0..epoch would take the viewer too long, saying what would fit."""
    epochs = epoch + 1
    if epochs * n > MAX_SAMPLE_VISITS:
        last = MAX_SAMPLE_VISITS // n - 1
        raise TorchstartError(
            f"Reaching epoch {epoch} means running {epochs} epochs over {n:,} samples; the viewer runs at most "
            f"{MAX_SAMPLE_VISITS:,} samples in all, so with this dataset it shows epochs up to {max(last, 0)}. "
            "Pick an earlier epoch."
        )
    if epochs * n_batches > MAX_LOADER_STEPS:
        smallest = smallest_batch_size(n, MAX_LOADER_STEPS // epochs, drop_last)
        raise TorchstartError(
            f"With batch_size {batch_size:,}, reaching epoch {epoch} takes {epochs * n_batches:,} batches; the "
            f"viewer runs at most {MAX_LOADER_STEPS:,}. Pick a batch_size of at least {smallest:,}"
            + (" (or an earlier epoch)." if epoch else ".")
        )


def view_batches(dataset: Dataset, settings: LoaderSettings, max_batches: int = MAX_BATCHES_SHOWN,
                 grid_epochs: int = GRID_EPOCHS, grid_samples: int = GRID_SAMPLES) -> EpochView:
    """Run the real loader epochs 0..max(epoch, grid_epochs - 1) and record the chosen epoch's batches."""
    n = len(dataset)  # type: ignore[arg-type]
    b = BATCH_SIZE.check(settings.batch_size)
    epoch = EPOCH.check(settings.epoch)
    n_batches = batch_count(n, b, settings.drop_last)
    if n_batches == 0:
        raise TorchstartError(f"With drop_last on, a batch_size of {b:,} is larger than the {n:,} samples, so the "
                              "loader yields no batch at all. Pick a batch_size up to the number of samples.")
    check_budget(n, b, n_batches, epoch, settings.drop_last)
    # Fewer grid rows for big datasets, so the budget is spent on reaching the chosen epoch.
    grid_epochs = max(1, min(grid_epochs, MAX_SAMPLE_VISITS // n, MAX_LOADER_STEPS // n_batches))
    epochs = max(epoch + 1, grid_epochs)
    generator = torch.Generator().manual_seed(SEED.check(settings.seed))
    loader = make_loader(IndexedDataset(dataset), b, settings.shuffle, settings.drop_last, generator)
    shown = min(grid_samples, n)
    grid = np.full((grid_epochs, shown), -1, dtype=np.int64)
    batches: list[Batch] = []
    seen = torch.zeros(n, dtype=torch.bool)
    for e in range(epochs):
        for number, (indices, features, targets) in enumerate(loader):
            if e < grid_epochs:
                head = indices[indices < shown]
                grid[e, head.numpy()] = number
            if e == epoch:
                seen[indices] = True
                if number < max_batches:
                    # clone(): a slice would keep the whole batch's storage alive
                    batches.append(Batch(number, indices, features[:HEAD_ROWS].clone(), targets[:HEAD_ROWS].clone()))
    dropped = torch.nonzero(~seen).flatten()
    return EpochView(settings, n, n_batches, batches, dropped, grid)
