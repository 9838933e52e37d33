"""Optimizers page under bad and unusual input: each case once gave an unfixable error or wrong advice."""

from __future__ import annotations

import math

import pytest
import torch

from torchstart import session
from torchstart.datasets import TabularDataset
from torchstart.landscapes import (ROSENBROCK, available_landscapes, classic_landscape, dataset_landscape,
                                   dataset_problem)
from torchstart.optimizer_race import RunSpec, divergence_advice, run_optimizer

PAGE = "pages/optimizers.py"


def column_dataset(x: list[float], y: list[float], name: str = "odd") -> TabularDataset:
    """A one-feature, one-target Data-page dataset."""
    return TabularDataset(torch.tensor(x)[:, None], torch.tensor(y)[:, None], ["x"], ["y"], name)


HUGE = column_dataset([1e30, 2e30, 3e30], [1e30, 2e30, 3e30], "huge")
NEAR_MAX = column_dataset([3e38, -3e38, 0.0], [0.0, 1.0, 2.0], "near max")


@pytest.mark.parametrize("dataset", [HUGE, NEAR_MAX], ids=["1e30", "3e38"])
def test_data_whose_loss_overflows_float32_is_not_offered(dataset) -> None:
    # Before: offered, with NaN suggested learning rates (E[x²] overflowed a float32 Hessian), so the
    # page could only say "SGD: Learning rate must be a finite number, got nan."
    problem = dataset_problem(dataset)
    assert problem is not None and "loss overflows float32" in problem and "standardize it" in problem
    assert [land.key for land in available_landscapes(dataset)][1] == "rosenbrock"


@pytest.mark.parametrize("scale", [1e3, 1e10, 1e18])
def test_every_offered_dataset_suggests_finite_learning_rates(scale) -> None:
    data = column_dataset([scale, 2 * scale, 3 * scale, 4 * scale], [1.0, 2.0, 3.0, 5.0])
    assert dataset_problem(data) is None
    land = dataset_landscape(data)
    assert all(math.isfinite(lr) and 1e-6 <= lr <= 10 for lr in land.suggested_lr.values())
    assert math.isfinite(land.loss(torch.tensor(land.start)).item())


def test_data_page_landscape_with_huge_values_is_refused_on_the_page(open_page) -> None:
    at = open_page()
    at.session_state[session.DATASET] = HUGE
    at.switch_page(PAGE)
    at.run()
    assert not at.exception and not at.error
    assert "loss overflows float32" in " ".join(c.value for c in at.caption)
    assert at.selectbox(key="optimizers.landscape").options[0] == classic_landscape().title


def test_divergence_at_the_smallest_learning_rate_does_not_ask_for_a_smaller_one() -> None:
    far = run_optimizer(ROSENBROCK, (1000.0, 1000.0), RunSpec("SGD", 1e-6, {}), 20)
    assert far.diverged_at is not None
    advice = divergence_advice(far, ROSENBROCK)
    assert "already the smallest this page allows (1e-06): start closer to the minimum." == advice.split("rate is ")[1]
    assert "Data page" not in advice
    data = dataset_landscape(column_dataset([1e18, 2e18, 3e18], [1.0, 2.0, 3.0]))
    steep = run_optimizer(data, data.start, RunSpec("SGD", 1e-6, {}), 20)
    assert steep.diverged_at is not None and "rescale the data (e.g. standardize it) on the Data page" in \
        divergence_advice(steep, data)
    usual = run_optimizer(ROSENBROCK, (-1.5, 2.5), RunSpec("SGD", 0.05, {}), 500)
    assert usual.diverged_at is not None and divergence_advice(usual, ROSENBROCK) == "Try a smaller learning rate."


def test_page_warning_at_the_smallest_learning_rate_says_to_move_the_start(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="optimizers.landscape").set_value("rosenbrock").run()
    at.multiselect(key="optimizers.racers").set_value(["SGD"]).run()
    at.number_input(key="optimizers.steps.rosenbrock").set_value(20).run()
    at.number_input(key="optimizers.start.rosenbrock.0").set_value(1000.0).run()
    at.number_input(key="optimizers.start.rosenbrock.1").set_value(1000.0).run()
    at.number_input(key="optimizers.lr.rosenbrock.SGD").set_value(1e-6).run()
    assert not at.exception
    warning = " ".join(w.value for w in at.warning)
    assert "SGD (lr 1e-06) diverged at step" in warning and "start closer to the minimum" in warning
    assert "Try a smaller learning rate" not in warning
