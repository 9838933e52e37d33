"""The batch viewer shows exactly what a plain DataLoader yields, epoch by epoch, and its Show code runs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from torchstart.batch_viewer import (HEAD_ROWS, MAX_LOADER_STEPS, MAX_SAMPLE_VISITS, LoaderSettings,
                                     batch_count, batch_formula, batch_sizes, batch_tensors, check_budget,
                                     smallest_batch_size, view_batches)
from torchstart.builtin_datasets import make_builtin
from torchstart.data_code import loader_code
from torchstart.data_figures import BATCH_COLOURS, BATCH_SCALE, DROPPED_COLOUR, batch_grid_figure
from torchstart.datasets import TabularDataset
from torchstart.errors import TorchstartError


def _dataset(n: int = 10) -> TabularDataset:
    x = torch.arange(n * 2, dtype=torch.float32).reshape(n, 2) / 10
    return TabularDataset(x, x.sum(1, keepdim=True), ["x1", "x2"], ["y"], "toy")


def _plain_epoch(ds: TabularDataset, s: LoaderSettings) -> list:
    """Epoch ``s.epoch`` of a plain DataLoader whose generator is seeded once before epoch 0."""
    loader = DataLoader(ds, batch_size=s.batch_size, shuffle=s.shuffle, drop_last=s.drop_last,
                        generator=torch.Generator().manual_seed(s.seed))
    for _ in range(s.epoch):
        for _batch in loader:
            pass
    return list(loader)


SETTINGS = [
    LoaderSettings(4, True, False, 0, 0),
    LoaderSettings(4, True, False, 0, 3),
    LoaderSettings(4, True, True, 5, 2),
    LoaderSettings(3, False, False, 0, 1),
    LoaderSettings(3, False, True, 0, 0),
    LoaderSettings(10, True, False, 1, 7),
    LoaderSettings(1, True, True, 9, 1),
    LoaderSettings(25, True, False, 2, 0),
]


@pytest.mark.parametrize("settings", SETTINGS, ids=str)
def test_shown_batches_are_a_plain_dataloaders(settings: LoaderSettings) -> None:
    ds = _dataset()
    view = view_batches(ds, settings)
    plain = _plain_epoch(ds, settings)
    assert view.n_batches == len(plain) == len(view.batches)
    for shown, (x, y) in zip(view.batches, plain):
        assert torch.equal(shown.features, x[:HEAD_ROWS]) and torch.equal(shown.targets, y[:HEAD_ROWS])
        # the indices really are the rows the batch holds
        assert torch.equal(ds.features[shown.indices], x)
        assert all(torch.equal(a, b) for a, b in zip(batch_tensors(ds, shown), (x, y)))


def test_shuffle_changes_order_between_epochs_and_seed_matters() -> None:
    ds = _dataset(12)
    e0 = view_batches(ds, LoaderSettings(4, True, False, 0, 0))
    e1 = view_batches(ds, LoaderSettings(4, True, False, 0, 1))
    order0 = torch.cat([b.indices for b in e0.batches])
    order1 = torch.cat([b.indices for b in e1.batches])
    assert sorted(order0.tolist()) == sorted(order1.tolist()) == list(range(12))
    assert not torch.equal(order0, order1)
    other_seed = view_batches(ds, LoaderSettings(4, True, False, 1, 0))
    assert not torch.equal(order0, torch.cat([b.indices for b in other_seed.batches]))
    fixed = view_batches(ds, LoaderSettings(4, False, False, 0, 3))
    assert torch.cat([b.indices for b in fixed.batches]).tolist() == list(range(12))


@pytest.mark.parametrize(("n", "b", "drop_last"), [(10, 4, False), (10, 4, True), (12, 4, False), (12, 4, True),
                                                   (3, 5, False), (1000, 256, False), (1000, 256, True)])
def test_count_formula_and_sizes(n: int, b: int, drop_last: bool) -> None:
    expected = n // b if drop_last else math.ceil(n / b)
    assert batch_count(n, b, drop_last) == expected == len(DataLoader(range(n), batch_size=b, drop_last=drop_last))
    assert batch_formula(n, b, drop_last).endswith(f"= {expected:,}")
    assert batch_formula(n, b, drop_last).startswith("floor(" if drop_last else "ceil(")
    assert sum(batch_sizes(n, b, drop_last)) == (expected * b if drop_last else n)


def test_drop_last_reports_the_dropped_samples() -> None:
    ds = _dataset(10)
    view = view_batches(ds, LoaderSettings(4, True, True, 3, 1))
    seen = torch.cat([b.indices for b in view.batches])
    assert len(view.dropped) == 2 and len(seen) == 8
    assert sorted(seen.tolist() + view.dropped.tolist()) == list(range(10))
    assert view.last_batch_size == 4
    keep = view_batches(ds, LoaderSettings(4, True, False, 3, 1))
    assert len(keep.dropped) == 0 and keep.last_batch_size == 2


def test_grid_records_the_batch_of_each_sample() -> None:
    ds = _dataset(10)
    for epoch in range(3):
        view = view_batches(ds, LoaderSettings(3, True, True, 0, epoch))
        for b in view.batches:
            assert (view.grid[epoch, b.indices.numpy()] == b.number).all()
        assert (view.grid[epoch, view.dropped.numpy()] == -1).all()
    fig = batch_grid_figure(view.grid, 10)
    heat = fig.data[0]
    assert len(heat.y) == view.grid.shape[0] and len(heat.x) == 10
    # A dropped sample gets a colour of its own (not the chart's background), marked × and "dropped" on hover.
    dropped = view.grid < 0
    assert dropped.any() and (np.asarray(heat.z)[dropped] == len(BATCH_COLOURS)).all()
    assert heat.colorscale[-1][1] == DROPPED_COLOUR and (np.asarray(heat.text)[dropped] == "×").all()
    assert (np.asarray(heat.customdata)[dropped] == "dropped").all()
    assert np.asarray(heat.customdata)[~dropped].tolist() == [f"batch {b}" for b in view.grid[~dropped]]
    assert heat.textfont.color is None  # Plotly's per-cell contrast: black on yellow, white on blue


def test_fifty_batches_read_their_number_off_a_colour_bar_not_cycled_colours() -> None:
    ds = _dataset(101)
    view = view_batches(ds, LoaderSettings(2, True, True, 0, 0))  # 50 batches of 2, sample 100 dropped
    fig = batch_grid_figure(view.grid, 101)
    heat, grey = fig.data
    assert heat.showscale and heat.colorbar.title.text == "batch" and (heat.zmin, heat.zmax) == (0, 49)
    z = np.asarray(heat.z, dtype=float)
    kept = view.grid >= 0
    assert (z[kept] == view.grid[kept]).all() and np.isnan(z[~kept]).all()
    assert (~kept).sum() == len(view.grid)  # one sample dropped in every epoch shown
    assert (np.asarray(grey.z, dtype=float)[~kept] == 1).all() and np.isnan(np.asarray(grey.z, dtype=float)[kept]).all()
    assert grey.colorscale[0][1] == DROPPED_COLOUR
    assert "colour = batch 0–49 (see the bar); dark grey = dropped" in fig.layout.title.text
    for _, colour in BATCH_SCALE:  # no grey on the scale either
        rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
        assert max(rgb) - min(rgb) > 50, colour


def test_no_batch_colour_is_a_grey_that_reads_as_dropped() -> None:
    for colour in BATCH_COLOURS:
        rgb = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
        assert max(rgb) - min(rgb) > 50, colour


def test_the_view_keeps_each_batchs_head_and_gathers_a_whole_batch_as_the_loader_yielded_it() -> None:
    # Whole batches kept a second copy of the dataset per session: 182 MB for 60,000 x 784 pixel rows.
    gen = torch.Generator().manual_seed(0)
    ds = TabularDataset(torch.randn(3_000, 784, generator=gen), torch.randn(3_000, 2, generator=gen),
                        [f"p{i}" for i in range(784)], ["a", "b"])
    settings = LoaderSettings(500, True, False, 7, 1)
    view = view_batches(ds, settings)
    assert [len(b.indices) for b in view.batches] == [500] * 6
    kept = sum(b.features.untyped_storage().nbytes() + b.targets.untyped_storage().nbytes() for b in view.batches)
    assert kept == 6 * HEAD_ROWS * (784 + 2) * 4  # the heads' own storage, not views of whole batches
    loader = DataLoader(ds, batch_size=500, shuffle=True, generator=torch.Generator().manual_seed(7))
    epochs = [list(loader) for _ in range(2)]  # the view shows epoch 1
    for shown, (x, y) in zip(view.batches, epochs[1]):
        assert torch.equal(shown.features, x[:HEAD_ROWS]) and torch.equal(shown.targets, y[:HEAD_ROWS])
        whole_x, whole_y = batch_tensors(ds, shown)
        assert torch.equal(whole_x, x) and torch.equal(whole_y, y)


def test_batch_list_is_capped_with_the_full_count() -> None:
    ds = _dataset(50)
    view = view_batches(ds, LoaderSettings(1, False, False, 0, 0), max_batches=7)
    assert view.n_batches == 50 and len(view.batches) == 7 and view.truncated


@pytest.mark.parametrize("drop_last", [False, True])
def test_the_batch_size_a_refusal_suggests_is_the_smallest_that_fits(drop_last: bool) -> None:
    # 40,000 samples to epoch 2 suggested 3, which takes 40,002 batches and was refused again.
    for n in (40_000, 40_001, 59_999, 123_457, 1_000_000):
        for epoch in (0, 2, 19):
            k = MAX_LOADER_STEPS // (epoch + 1)
            b = smallest_batch_size(n, k, drop_last)
            assert batch_count(n, b, drop_last) <= k and (b == 1 or batch_count(n, b - 1, drop_last) > k)
    smallest = 3 if drop_last else 4  # floor(40,000 / 3) = 13,333 batches, three epochs 39,999; ceil gives 13,334
    with pytest.raises(TorchstartError, match=f"Pick a batch_size of at least {smallest} "):
        check_budget(40_000, 2, batch_count(40_000, 2, drop_last), 2, drop_last)
    check_budget(40_000, smallest, batch_count(40_000, smallest, drop_last), 2, drop_last)


def test_caps_and_impossible_settings_raise() -> None:
    big = TabularDataset(torch.zeros(MAX_LOADER_STEPS + 1, 1), torch.zeros(MAX_LOADER_STEPS + 1, 1), ["x"], ["y"])
    with pytest.raises(TorchstartError, match=f"at most {MAX_LOADER_STEPS:,}. Pick a batch_size of at least 2"):
        view_batches(big, LoaderSettings(1, False, False, 0, 0))
    view = view_batches(big, LoaderSettings(2, False, False, 0, 0))  # fits: fewer grid epochs are run
    assert view.grid.shape[0] == 1 and view.n_batches == math.ceil((MAX_LOADER_STEPS + 1) / 2)
    huge = TabularDataset(torch.zeros(MAX_SAMPLE_VISITS // 2, 1), torch.zeros(MAX_SAMPLE_VISITS // 2, 1),
                          ["x"], ["y"])
    with pytest.raises(TorchstartError, match="shows epochs up to 1"):
        view_batches(huge, LoaderSettings(10_000, False, False, 0, 2))
    with pytest.raises(TorchstartError, match="yields no batch at all"):
        view_batches(_dataset(5), LoaderSettings(8, False, True, 0, 0))
    with pytest.raises(TorchstartError, match="capped at 19"):
        view_batches(_dataset(5), LoaderSettings(2, False, False, 0, 20))


@pytest.mark.parametrize("settings", SETTINGS[:4], ids=str)
def test_loader_show_code_yields_the_shown_batches(settings: LoaderSettings) -> None:
    ds = _dataset()
    view = view_batches(ds, settings)
    namespace: dict = {"dataset": ds}
    exec("import torch\n" + loader_code(settings, len(ds)), namespace)
    viewed = namespace["viewed"]
    assert len(viewed) == len(view.batches)
    for (x, y), shown in zip(viewed, view.batches):
        assert torch.equal(x, shown.features) and torch.equal(y, shown.targets)


def test_one_hot_class_targets_batch_like_a_plain_dataloader() -> None:
    ds = make_builtin("three_class", {"n": 10, "seed": 2})
    settings = LoaderSettings(4, True, False, 0, 1)
    view = view_batches(ds, settings)
    plain = _plain_epoch(ds, settings)
    assert [tuple(b.targets.shape) for b in view.batches] == [(4, 3), (4, 3), (2, 3)]
    for shown, (x, y) in zip(view.batches, plain):
        assert torch.equal(shown.features, x) and torch.equal(shown.targets, y)
        assert torch.equal(ds.targets[shown.indices], y)
