"""Training page under bad and unusual input: each case once failed with a traceback or a wrong message."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import pytest
import torch
from torch import nn

from tests.test_training_page import errors, set_epochs
from torchstart import session
from torchstart.datasets import TabularDataset
from torchstart.errors import TorchstartError
from torchstart.session import SessionModel
from torchstart.training import (Throttle, fit_data, log_lines, predict, progress_of, progress_text, start_run,
                                 train)
from torchstart.training_figures import live_figures
from torchstart.training_setup import (CROSS_ENTROPY, MAX_EPOCH_MACS, MAX_RUN_MACS, MAX_RUN_STEPS, TrainingConfig,
                                       macs_per_row, preflight)

PAGE = "pages/training.py"


def column_dataset(x: list[float], y: list[float], name: str = "odd") -> TabularDataset:
    """A one-feature, one-target Data-page dataset."""
    return TabularDataset(torch.tensor(x)[:, None], torch.tensor(y)[:, None], ["x"], ["y"], name)


# ---------------------------------------------------------------- Nesterov with momentum 0

def test_nesterov_without_momentum_is_refused_with_a_message() -> None:
    # torch.optim.SGD raises ValueError("Nesterov momentum requires a momentum and zero dampening").
    with pytest.raises(TorchstartError, match=re.escape("Nesterov needs a momentum above 0")):
        start_run(TrainingConfig(optimizer="Nesterov", momentum=0.0))
    assert train(start_run(TrainingConfig(optimizer="Nesterov", momentum=0.5)), 3).status == "done"


def test_nesterov_without_momentum_on_the_page_keeps_the_trained_run(open_page) -> None:
    at = set_epochs(open_page(PAGE), 10)
    at.button(key="training_train").click().run()
    at.selectbox(key="training_optimizer").set_value("Nesterov").run()
    at.number_input(key="training_momentum").set_value(0.0).run()
    assert not at.exception and any("Nesterov needs a momentum above 0" in e for e in errors(at))
    at.button(key="training_train").click().run()
    assert not at.exception and any("Raise Momentum, or pick SGD" in e for e in errors(at))
    run = at.session_state["training_run"]
    assert run.epoch == 10 and run.config.optimizer == "SGD"  # the trained run stays


# ---------------------------------------------------------------- a Models-page model with nothing to train

def fixed_model(kind: str) -> SessionModel:
    """A 1 → 1 Models-page hand-off with no parameters, or with every parameter frozen."""
    def build() -> nn.Module:
        if kind == "empty":
            return nn.Sequential(nn.ReLU())
        return nn.Sequential(nn.Linear(1, 1)).requires_grad_(False)

    return SessionModel(f"{kind} net", build(), build, (1,), (1,), code="")


@pytest.mark.parametrize("kind,why", [("empty", "has no parameters"),
                                      ("frozen", "has every parameter frozen (requires_grad=False)")])
def test_model_with_nothing_to_train_is_refused(kind, why) -> None:
    # Before: "optimizer got an empty parameter list" (a traceback) or, frozen, PyTorch's
    # "element 0 of tensors does not require grad" at epoch 1.
    config = TrainingConfig(model="session")
    for attempt in (lambda: start_run(config, session_model=fixed_model(kind)),
                    lambda: preflight(config, session_model=fixed_model(kind))):
        with pytest.raises(TorchstartError) as err:
            attempt()
        assert f"'{kind} net' {why}" in str(err.value) and "unfreeze one on the Models page" in str(err.value)


def test_model_with_nothing_to_train_shows_an_error_on_the_page(open_page) -> None:
    at = open_page(PAGE)
    at.session_state[session.MODEL] = fixed_model("empty")
    at.selectbox(key="training_model").set_value("session").run()
    assert not at.exception and any("nothing for the optimizer to train" in e for e in errors(at))
    at.button(key="training_train").click().run()
    assert not at.exception and "training_run" not in at.session_state


# ---------------------------------------------------------------- values too large for float32

HUGE = column_dataset([1e30 * i for i in range(1, 11)], [2e30 * i for i in range(1, 11)], "huge")


def test_loss_that_overflows_before_any_step_says_to_standardize_not_to_lower_the_lr() -> None:
    run = train(start_run(TrainingConfig(data="session", lr=1e-6), HUGE), 5)
    assert run.status == "diverged" and run.epoch == 1 and math.isinf(run.final_loss)
    assert "before any optimizer step" in run.message
    assert 'Turn on "Standardize features" and "Standardize target"' in run.message
    assert "Lower the learning rate" not in run.message  # no learning rate can help: lr 1e-6 is the smallest
    # The advice works: standardized, the same data trains.
    fixed = train(start_run(TrainingConfig(data="session", standardize_x=True, standardize_y=True), HUGE), 5)
    assert fixed.status == "done" and math.isfinite(fixed.final_loss)


def test_an_overflow_before_any_step_names_only_the_switches_that_are_off() -> None:
    # Standardized inputs cannot overflow, so a target left raw is the one switch to name.
    run = train(start_run(TrainingConfig(data="session", lr=1e-6, standardize_x=True), HUGE), 5)
    assert run.status == "diverged" and run.epoch == 1
    assert 'Turn on "Standardize target", or rescale the data' in run.message
    assert '"Standardize features"' not in run.message


def test_on_a_gpu_a_divergence_stops_the_run_within_a_few_dozen_epochs_not_at_the_next_redraw(monkeypatch) -> None:
    # On a GPU the losses stay tensors until a flush; with only the redraws flushing, a 0.3 s chart let a NaN run
    # on for 10 s. Here the CPU is made to keep its losses as a GPU does, and redraws never come.
    from torchstart import training
    monkeypatch.setattr(training, "reads_loss_at_once", lambda device: False)
    run = start_run(TrainingConfig(lr=10.0))
    steps = []
    run.model.register_forward_hook(lambda *args: steps.append(1))
    train(run, 5_000, throttle=Throttle(min_interval=1e9))
    assert run.status == "diverged" and run.epoch < 100
    assert len(steps) <= run.epoch + training.GPU_CHECK_EPOCHS  # at most one check's worth of epochs past it


def test_a_later_divergence_still_blames_the_learning_rate() -> None:
    run = train(start_run(TrainingConfig(lr=10.0)), 50)
    assert run.status == "diverged" and run.epoch > 1
    assert "Lower the learning rate (try 1)" in run.message and "before any optimizer step" not in run.message


def test_a_divergence_on_raw_house_prices_says_to_standardize_first_and_that_works() -> None:
    # sqm 40–200, price 80,000–400,000: every learning rate small enough not to blow up learns nothing for ages.
    sqm = [40.0 + 16 * i for i in range(11)]
    houses = column_dataset(sqm, [2000 * x + 1000 * (i % 3) for i, x in enumerate(sqm)], "houses")
    run = train(start_run(TrainingConfig(data="session", lr=0.01), houses), 20)
    assert run.status == "diverged"
    assert f"The training inputs reach {float(run.data.raw_x_train.max()):,.0f}, and the steps grow" in run.message
    assert 'Turn on "Standardize features" first (each column then has mean 0 and std 1' in run.message
    assert run.message.endswith(f"Targets reaching {float(run.data.raw_y_train.max()):,.0f} make every loss and "
                                'gradient large too: "Standardize target" keeps them near 1.')
    assert "only if it still diverges, lower the learning rate (try 0.001)" in run.message
    assert progress_text(progress_of(run)).startswith(f"Epoch {run.epoch} / 20 (diverged)")
    fixed = train(start_run(TrainingConfig(data="session", lr=0.01, standardize_x=True, standardize_y=True),
                            houses), 200)
    assert fixed.status == "done" and fixed.final_loss < fixed.train_losses[0] / 10
    # Standardized and still diverging: the learning rate is all that is left to blame.
    wild = train(start_run(TrainingConfig(data="session", lr=10.0, standardize_x=True, standardize_y=True),
                           houses), 20)
    assert wild.status == "diverged" and "Standardize" not in wild.message
    # Inputs standardized, raw prices: lr 1 trains (how steep the loss is depends on the inputs, not on y), lr 2
    # diverges, and the learning rate is what to change; the target's box is a side note.
    assert train(start_run(TrainingConfig(data="session", lr=1.0, standardize_x=True), houses), 50).status == "done"
    half = train(start_run(TrainingConfig(data="session", lr=2.0, standardize_x=True), houses), 50)
    assert half.status == "diverged" and "Lower the learning rate (try 0.2), then press Train" in half.message
    assert half.message.endswith(f"Targets reaching {float(half.data.raw_y_train.max()):,.0f} make every loss and "
                                 'gradient large too: "Standardize target" keeps them near 1.')
    assert wild.message.endswith("Lower the learning rate (try 1), then press Train to start again.")


def test_fit_chart_of_values_near_float32_max_is_finite() -> None:
    # Before: torch.linspace(low - 10%, high + 10%) overflowed: RuntimeError from the live chart.
    data = column_dataset([3e38, -3e38, 1e38, 0.0], [1.0, 2.0, 3.0, 4.0])
    run = train(start_run(TrainingConfig(data="session", val_share=0.0, standardize_x=True), data), 3)
    fit = fit_data(run)
    assert torch.isfinite(fit.grid_x).all()
    assert fit.grid_x[0, 0].item() == -torch.finfo(torch.float32).max
    assert fit.grid_x[-1, 0].item() == torch.finfo(torch.float32).max
    live_figures(run, True)  # draws without raising


# ---------------------------------------------------------------- sizes: rows of a Data-page set, steps per epoch

def test_a_big_dataset_trains_when_the_epoch_is_small_enough() -> None:
    # 2,000,000 rows (the Data page's cap) through nn.Linear(1, 1): 2e6 multiply-adds an epoch.
    big = TabularDataset(torch.linspace(-1, 1, 2_000_000)[:, None], torch.zeros(2_000_000, 1), ["x"], ["y"], "big.csv")
    run = train(start_run(TrainingConfig(data="session", val_share=0.0), big), 2)
    assert run.status == "done" and run.epoch == 2


def test_an_epoch_with_too_many_multiply_adds_is_refused() -> None:
    # The biggest Small MLP on 200,000 rows: about 2.6e10 multiply-adds forward each epoch (~4 s with backward).
    per_row = 1 * 256 + 2 * 256 * 256 + 256 * 1
    assert macs_per_row(TrainingConfig(model="mlp", hidden=256, layers=3), 1, 1) == per_row
    rows = 200_000
    big = TabularDataset(torch.zeros(rows, 1), torch.zeros(rows, 1), ["x"], ["y"], "big.csv")
    config = TrainingConfig(data="session", model="mlp", hidden=256, layers=3)
    for check in (lambda: preflight(config, big), lambda: start_run(config, big)):
        with pytest.raises(TorchstartError) as err:
            check()
        assert f"One epoch would push 200,000 rows through {per_row:,} multiply-adds each" in str(err.value)
        assert f"at most {MAX_EPOCH_MACS // per_row:,} rows: on the Data page, Rows to use" in str(err.value)
    preflight(TrainingConfig(data="session", model="mlp", hidden=16, layers=1), big)  # a small MLP fits


def test_a_run_of_too_many_big_epochs_is_refused_and_so_is_such_a_continue() -> None:
    per_row = 1 * 256 + 2 * 256 * 256 + 256 * 1  # the biggest Small MLP, on 100,000 rows: 1.3e10 an epoch
    big = TabularDataset(torch.zeros(100_000, 1), torch.zeros(100_000, 1), ["x"], ["y"], "big.csv")
    config = TrainingConfig(data="session", model="mlp", hidden=256, layers=3, epochs=100_000)
    fits = MAX_RUN_MACS // (per_row * 100_000)
    for check in (lambda: preflight(config, big), lambda: start_run(config, big)):
        with pytest.raises(TorchstartError) as err:
            check()
        assert "100,000 epochs would push 1.3e+15 multiply-adds through the model (1.3e+10 per epoch" in str(err.value)
        assert f"Set Epochs to at most {fits:,} (tab Epochs, batches, seed)" in str(err.value)
    run = start_run(replace(config, epochs=fits), big)  # at the cap: allowed
    with pytest.raises(TorchstartError, match=f"at most {fits:,}"):
        run.ask_for(fits + 1)
    assert run.target == run.asked == 0  # a refused Train or Continue asks for nothing


def test_a_run_of_too_many_small_steps_is_refused_though_its_multiply_adds_fit() -> None:
    # 100,000 rows in batches of 20 through nn.Linear(1, 1): 1e5 multiply-adds an epoch, 1e10 for 100,000 epochs,
    # far under MAX_RUN_MACS; but 5e8 optimizer steps at about 0.3 ms each is two days of the shared server.
    config = TrainingConfig(data="line", rows=100_000, val_share=0.0, full_batch=False, batch_size=20, epochs=100_000)
    fits = MAX_RUN_STEPS // 5_000
    for check in (lambda: preflight(config), lambda: start_run(config)):
        with pytest.raises(TorchstartError) as err:
            check()
        assert "100,000 epochs of 5,000 optimizer steps each would take 500,000,000 steps" in str(err.value)
        assert f"Set Epochs to at most {fits:,} or use bigger batches" in str(err.value)
    run = start_run(replace(config, epochs=fits))  # at the cap: allowed
    with pytest.raises(TorchstartError, match=f"at most {fits:,} or use bigger batches"):
        run.ask_for(fits + 1)
    assert run.target == 0
    start_run(replace(config, full_batch=True))  # one step an epoch: 100,000 steps fit


def test_the_page_says_at_once_when_epochs_alone_make_a_run_too_big(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="training_data").set_value("line").run()
    at.number_input(key="training_rows").set_value(2_000).run()
    at.selectbox(key="training_model").set_value("mlp").run()
    at.number_input(key="training_hidden").set_value(256).run()
    at.number_input(key="training_layers").set_value(3).run()
    set_epochs(at, 1).button(key="training_train").click().run()
    run = at.session_state["training_run"]
    assert not errors(at) and run.epoch == 1
    fits = MAX_RUN_MACS // (2_000 * 131_584)  # 2,000 rows through the biggest Small MLP: 75,997 epochs
    set_epochs(at, 100_000)
    assert any(f"Set Epochs to at most {fits:,}" in e for e in errors(at)) and not at.exception
    at.button(key="training_continue").click().run()
    assert at.session_state["training_run"] is run and run.epoch == 1 and not run.training_wanted  # kept as it was
    assert any(f"Set Epochs to at most {fits:,}" in e for e in errors(at))


def test_a_models_page_model_counts_its_linear_layers() -> None:
    def build() -> nn.Module:
        return nn.Sequential(nn.Linear(2, 4000), nn.ReLU(), nn.Linear(4000, 4000), nn.Linear(4000, 1))

    wide = SessionModel("wide", build(), build, (2,), (1,), code="")
    assert macs_per_row(TrainingConfig(model="session"), 2, 1, wide) == 2 * 4000 + 4000 * 4000 + 4000
    rows = MAX_EPOCH_MACS // (2 * 4000 + 4000 * 4000 + 4000) + 1
    data = TabularDataset(torch.zeros(rows, 2), torch.zeros(rows, 1), ["a", "b"], ["y"], "wide.csv")
    with pytest.raises(TorchstartError, match="Use a smaller model"):
        preflight(TrainingConfig(data="session", model="session", val_share=0.0), data, wide)


def test_more_than_five_thousand_batches_per_epoch_is_refused() -> None:
    # Batch size 1 over 80,000 rows: one epoch ran for minutes with Stop and the charts waiting for its end.
    config = TrainingConfig(data="line", rows=100_000, full_batch=False, batch_size=15)
    with pytest.raises(TorchstartError) as err:
        preflight(config)
    assert "Batch size 15 over 80,000 training rows makes 5,334 optimizer steps per epoch" in str(err.value)
    assert "Pick batch size 16 or more, or full batch." in str(err.value)
    preflight(TrainingConfig(data="line", rows=100_000, full_batch=False, batch_size=16))
    preflight(TrainingConfig(data="line", rows=100_000, batch_size=1))  # full batch: the batch size is not used


def test_too_many_batches_on_the_page_is_an_error_not_a_long_wait(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="training_data").set_value("line").run()
    at.number_input(key="training_rows").set_value(100_000).run()
    at.checkbox(key="training_full_batch").uncheck().run()
    at.number_input(key="training_batch_size").set_value(1).run()
    assert not at.exception and any("80,000 optimizer steps per epoch" in e for e in errors(at))
    at.button(key="training_train").click().run()
    assert not at.exception and "training_run" not in at.session_state


def _fail_on_call(model: nn.Module, training: bool, call: int) -> None:
    """Make ``model``'s forward raise on its ``call``-th run in that mode, as an out-of-memory error would."""
    count = [0]

    def hook(module: nn.Module, inputs) -> None:
        if module.training == training:
            count[0] += 1
            if count[0] == call:
                raise RuntimeError("out of memory (simulated)")

    model.register_forward_pre_hook(hook)


def _three_classes(rows: int = 300) -> TabularDataset:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(rows, 4, generator=gen)
    labels = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    return TabularDataset(x, torch.eye(3)[labels], [f"f{i}" for i in range(4)], ["c=0", "c=1", "c=2"], "three",
                          class_column="c")


@pytest.mark.parametrize("draw_every_epoch", [True, False])
def test_a_validation_pass_that_fails_logs_only_the_epochs_that_finished(draw_every_epoch: bool) -> None:
    run = start_run(TrainingConfig(data="session", model="mlp", val_share=0.3, log_every=1), _three_classes())
    _fail_on_call(run.model, training=False, call=3)  # the third epoch's validation pass
    throttle = Throttle(min_interval=0.0, max_share=1.0) if draw_every_epoch else Throttle(min_interval=1e9)
    train(run, 6, callback=lambda r, p: None, throttle=throttle)
    assert run.status == "failed" and "out of memory (simulated)" in run.message
    assert run.epoch == len(run.train_losses) == len(run.val_losses) == 2
    assert len(log_lines(run)) == 2 and log_lines(run)[-1].startswith("Epoch [2/6]")


def test_kept_outputs_are_dropped_when_a_run_fails_part_way_through_an_epoch() -> None:
    config = TrainingConfig(data="session", model="mlp", loss=CROSS_ENTROPY, optimizer="Adam", lr=0.05,
                            full_batch=False, batch_size=16, val_share=0.3)
    run = start_run(config, _three_classes())
    _fail_on_call(run.model, training=True, call=14 + 5)  # 14 batches per epoch: the 5th batch of epoch 2
    def draw(r, progress) -> None:  # the page's live view: its confusion matrix keeps the validation outputs
        live_figures(r, True)

    train(run, 5, callback=draw, throttle=Throttle(min_interval=0.0, max_share=1.0))
    assert run.status == "failed" and run.epoch == 1  # four optimizer steps of epoch 2 changed the weights
    shown = predict(run, run.data.raw_x_val)
    run.model.eval()
    with torch.no_grad():
        torch.testing.assert_close(shown, run.model(run.data.raw_x_val), rtol=0, atol=0)
