"""Training core: the loop against plain PyTorch, stop/continue, divergence, metrics, figures, export."""

from __future__ import annotations

import ast
import io
import math
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import replace

import pytest
import torch
from torch import nn, optim
from torch.utils.data import TensorDataset

from torchstart import training
from torchstart.builtin_datasets import make_builtin
from torchstart.checkpoint_safety import state_dict_bytes
from torchstart.datasets import TabularDataset
from torchstart.errors import TorchstartError
from torchstart.loaders import make_loader
from torchstart.session import SessionModel
from torchstart.training import (Progress, Throttle, fit_data, growth_warning, log_length, log_lines, predict,
                                 progress_of,
                                 progress_text, resume, start_run, train, trained_model)
from torchstart.training_export import data_csv, module_code, training_script
from torchstart.training_figures import downsample, fit_figure, loss_figure
from torchstart.training_metrics import (evaluate, linear_in_original_units, metrics_note, parameter_rows,
                                         example_input_text, prediction_table, regression_metrics)
from torchstart.optimizers import make_optimizer
from torchstart.training_setup import (BCE, CROSS_ENTROPY, PARAMS, TrainingConfig, parse_prediction_inputs,
                                       preflight, prepare_data, smallest_batch, split_sizes, suggest_loss)

EVERY_EPOCH = Throttle(min_interval=0.0, max_share=math.inf)  # call the callback after every epoch


def plain_classic(epochs: int = 100, seed: int = 42,
                  log_every: int = 10) -> tuple[nn.Linear, list[float], list[str]]:
    """The classic script, verbatim, with a seed and a log interval: returns model, every epoch's loss, its log."""
    torch.manual_seed(seed)
    x = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    y = torch.tensor([[2.0], [4.0], [6.0], [8.0]])
    model = nn.Linear(1, 1)
    criterion = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    losses, log = [], []
    num_epochs = epochs
    for epoch in range(num_epochs):
        outputs = model(x)
        loss = criterion(outputs, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if (epoch + 1) % log_every == 0:
            log.append(f'Epoch [{epoch+1}/{num_epochs}], Loss: {loss.item():.4g}')
    return model, losses, log


def params_of(model: nn.Module) -> torch.Tensor:
    """All parameters in one flat CPU tensor."""
    return torch.cat([p.detach().cpu().flatten() for p in model.parameters()])


def test_default_run_is_the_classic_script_exactly() -> None:
    run = train(start_run(TrainingConfig()), 100)
    model, losses, log = plain_classic()
    assert run.status == "done" and run.epoch == 100
    assert isinstance(run.model, nn.Linear) and run.model.in_features == 1 and run.model.out_features == 1
    assert isinstance(run.loss_fn, nn.MSELoss) and type(run.optimizer) is optim.SGD
    assert run.optimizer.defaults["lr"] == 0.01 and not run.data.has_val and run.loader is None
    assert run.train_losses == pytest.approx(losses, abs=1e-6)
    assert torch.allclose(params_of(run.model), params_of(model), atol=1e-6)
    assert log_lines(run) == log and log[0].startswith("Epoch [10/100], Loss: ") and len(log) == 10
    five = torch.tensor([[5.0]])
    assert predict(run, five).item() == pytest.approx(model(five).item(), abs=1e-6)


def test_stop_keeps_everything_trained_so_far() -> None:
    run = start_run(TrainingConfig())
    train(run, 100, callback=lambda r, p: p.epoch >= 30, throttle=EVERY_EPOCH)
    model, losses, _ = plain_classic(30)
    assert run.status == "stopped" and run.epoch == 30 and run.target == 30 and not run.training_wanted
    assert run.train_losses == pytest.approx(losses, abs=1e-6)
    assert torch.allclose(params_of(run.model), params_of(model), atol=1e-6)
    # The log is what the exported script (num_epochs = 30) prints for the epochs trained.
    assert [line.split(",")[0] for line in log_lines(run)] == ["Epoch [10/30]", "Epoch [20/30]", "Epoch [30/30]"]
    # The progress line still says how far short of the 100 asked for it ended (it read "Epoch 30 / 30").
    assert progress_text(progress_of(run)).startswith("Epoch 30 / 100 (stopped) · loss ")
    train(run, 5)
    assert run.status == "done" and progress_text(progress_of(run)).startswith("Epoch 35 / 35 · loss ")


CONTINUE_CONFIGS = [
    TrainingConfig(),
    TrainingConfig(optimizer="Adam", lr=0.05),
    TrainingConfig(data="line", rows=120, val_share=0.25, optimizer="Nesterov", standardize_x=True),
    TrainingConfig(data="multi", rows=100, model="mlp", full_batch=False, batch_size=16, optimizer="RMSprop",
                   lr=0.003),
]


@pytest.mark.parametrize("config", CONTINUE_CONFIGS, ids=["classic", "adam", "line-nesterov", "mlp-minibatch"])
def test_continue_equals_one_longer_run(config: TrainingConfig) -> None:
    split = start_run(config)
    train(split, 12)
    train(split, 8)
    whole = train(start_run(config), 20)
    assert split.epoch == whole.epoch == 20
    assert split.train_losses == whole.train_losses and split.val_losses == whole.val_losses
    assert torch.equal(params_of(split.model), params_of(whole.model))


class FakeRerun(BaseException):
    """Stands in for Streamlit's RerunException, raised from inside a redraw."""


def test_interrupt_inside_callback_keeps_state_and_resumes() -> None:
    def interrupt_at_25(run, progress):
        if progress.epoch == 25:
            raise FakeRerun()

    run = start_run(TrainingConfig())
    run.target = 100
    with pytest.raises(FakeRerun):
        resume(run, interrupt_at_25, EVERY_EPOCH)
    assert run.epoch == 25 and len(run.train_losses) == 25 and run.training_wanted
    resume(run)  # what the page's rerun does
    _, losses, _ = plain_classic()
    assert run.status == "done" and run.train_losses == pytest.approx(losses, abs=1e-6)


def long_run_in_a_thread() -> tuple:
    """A 1,000,000-epoch classic run training on another thread, as an interrupted script run's would."""
    run = start_run(TrainingConfig())
    run.target = 1_000_000
    thread = threading.Thread(target=resume, args=(run,), daemon=True)
    thread.start()
    while run.epoch == 0:
        time.sleep(0.01)
    return run, thread


def test_stop_from_another_thread_ends_at_the_next_epoch() -> None:
    run, thread = long_run_in_a_thread()
    run.request_stop()  # what the Stop button's on_click does on the new script run's thread
    run.settle()  # what the new script run does first: waits for the loop to leave
    thread.join(5)
    assert not thread.is_alive()
    assert run.status == "stopped" and 0 < run.epoch == run.target < 1_000_000
    assert len(run.train_losses) == run.epoch and not run.halt and not run.stop_requested
    model, losses, _ = plain_classic(run.epoch)
    assert torch.allclose(params_of(run.model), params_of(model), atol=1e-6)


def test_a_newer_script_run_takes_the_run_over_and_resumes_it() -> None:
    run, thread = long_run_in_a_thread()
    run.settle()  # a rerun from another widget: the old loop yields, the run still wants training
    thread.join(5)
    assert not thread.is_alive() and run.status == "running" and run.training_wanted
    done_so_far = run.epoch
    run.target = done_so_far + 50
    resume(run)
    model, losses, _ = plain_classic(done_so_far + 50)
    assert run.status == "done" and run.train_losses == pytest.approx(losses, abs=1e-6)


def test_progress_reports_speed_and_time_left(monkeypatch) -> None:
    monkeypatch.setattr(training, "RATE_SETTLE_S", 0.0)  # 50 epochs take less than the settling time
    seen = []
    train(start_run(TrainingConfig()), 50, callback=lambda r, p: seen.append(p), throttle=EVERY_EPOCH)
    assert [p.epoch for p in seen] == list(range(1, 51))
    assert seen[-1].train_loss == pytest.approx(plain_classic(50)[1][-1], abs=1e-6)
    assert all(p.epochs_per_s > 0 for p in seen[1:]) and seen[10].seconds_left > 0 and seen[-1].seconds_left == 0


@pytest.mark.parametrize("seconds, shown", [(4.24, "4.2 s"), (59.96, "1 min 00 s"), (200, "3 min 20 s"),
                                            (7500, "2 h 05 min"), (360_000, "100 h 00 min")])
def test_time_left_reads_as_a_person_says_it(seconds: float, shown: str) -> None:
    progress = Progress(10, 100, 0.5, None, 2.0, seconds)
    assert progress_text(progress) == f"Epoch 10 / 100 · loss 0.5 · 2 epochs/s · about {shown} left"


def test_throttle_bounds_redraws_by_time_and_cost() -> None:
    throttle = Throttle(min_interval=0.1, max_share=0.03)
    throttle.schedule(10.0, 10.001)  # a cheap redraw: wait the minimum interval
    assert throttle.next_at == pytest.approx(10.101)
    throttle.schedule(20.0, 20.03)  # a 30 ms redraw: wait until drawing is 3% of the time
    assert throttle.next_at == pytest.approx(21.03)
    calls = []
    run = start_run(TrainingConfig())
    train(run, 3000, callback=lambda r, p: calls.append(p.epoch))
    assert 1 <= len(calls) <= run.seconds / 0.1 + 1 and calls[0] == 1


def test_nan_divergence_is_detected_and_named() -> None:
    run = train(start_run(TrainingConfig(lr=1.0)), 100)
    assert run.status == "diverged" and not run.training_wanted and not run.can_continue
    assert not math.isfinite(run.train_losses[-1]) and all(map(math.isfinite, run.train_losses[:-1]))
    assert f"epoch {run.epoch}" in run.message and "learning rate 1" in run.message
    assert "NaN" in run.message or "infinite" in run.message


@pytest.mark.parametrize("config,dataset,model,words", [
    (TrainingConfig(data="line", rows=2, val_share=0.9), None, None, "training split is empty"),
    (TrainingConfig(data="session"), None, None, "no dataset from the Data page"),
    (TrainingConfig(model="session"), None, None, "no model from the Models page"),
    (TrainingConfig(epochs=100_001), None, None, "capped at 100,000"),
    (TrainingConfig(lr=0.0), None, None, "Learning rate must be between"),
    (TrainingConfig(data="session"), TabularDataset(torch.tensor([[float("nan")]]), torch.ones(1, 1), ["a"], ["b"]),
     None, "NaN or infinite"),
])
def test_bad_settings_raise_clear_messages(config, dataset, model, words) -> None:
    with pytest.raises(TorchstartError, match=re.escape(words)):
        start_run(config.checked(), dataset, model)


def session_model(n_in: int, n_out: int, hidden: int = 8) -> SessionModel:
    """A Models-page-like hand-off object for tests."""
    def build() -> nn.Module:
        return nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh(), nn.Linear(hidden, n_out))

    module = build()
    return SessionModel("tanh net", module, build, (n_in,), (n_out,), code="")


def test_models_page_model_must_fit_the_data() -> None:
    with pytest.raises(TorchstartError, match="takes 3 inputs where this data has 1 feature and gives 2 outputs "
                                              "where this data has 1 target column. On the Models page, set its "
                                              "input shape to 1 .* and make its last layer give 1"):
        start_run(TrainingConfig(model="session"), session_model=session_model(3, 2))
    images = SessionModel("cnn", nn.Flatten(), nn.Flatten, (1, 28, 28), (784,))
    with pytest.raises(TorchstartError, match=r"flat input"):
        start_run(TrainingConfig(model="session"), session_model=images)
    broken = SessionModel("broken", nn.Linear(2, 1), lambda: nn.Sequential(nn.Linear(1, 4), nn.Linear(5, 1)),
                          (1,), (1,))
    with pytest.raises(TorchstartError, match="fails on a batch of 2 rows"):
        start_run(TrainingConfig(model="session"), session_model=broken)


def test_models_page_model_trains_from_the_seed() -> None:
    sm = session_model(1, 1)
    run = train(start_run(TrainingConfig(model="session", lr=0.05), session_model=sm), 40)
    torch.manual_seed(42)
    fresh = sm.build()
    opt = optim.SGD(fresh.parameters(), lr=0.05)
    x, y = torch.tensor([[1.0], [2.0], [3.0], [4.0]]), torch.tensor([[2.0], [4.0], [6.0], [8.0]])
    for _ in range(40):
        loss = nn.MSELoss()(fresh(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert run.final_loss == pytest.approx(loss.item(), abs=1e-6)
    assert torch.allclose(params_of(run.model), params_of(fresh), atol=1e-6)


def test_split_and_standardization_use_training_rows_only() -> None:
    config = TrainingConfig(data="line", rows=50, val_share=0.2, standardize_x=True, standardize_y=True)
    data = prepare_data(config)
    assert len(data.raw_x_train) == 40 and len(data.raw_x_val) == 10
    assert torch.allclose(data.x_scaler.mean, data.raw_x_train.mean(0))
    assert torch.allclose(data.x_scaler.std, data.raw_x_train.std(0, correction=0))
    assert torch.allclose(data.x_train.mean(0), torch.zeros(1), atol=1e-5)
    assert not torch.allclose(data.x_val.mean(0), torch.zeros(1), atol=1e-3)  # val is not refitted
    every_row = torch.cat([data.raw_x_train, data.raw_x_val]).sort(0).values
    assert torch.equal(every_row, data.source.features.sort(0).values)


def test_metrics_match_plain_formulas() -> None:
    pred, target = torch.tensor([[1.0], [2.5], [2.0]]), torch.tensor([[1.5], [2.0], [3.0]])
    m = regression_metrics(pred, target)
    err = pred - target
    assert m["MSE"] == pytest.approx(err.pow(2).mean().item())
    assert m["RMSE"] == pytest.approx(math.sqrt(m["MSE"]))
    assert m["MAE"] == pytest.approx(err.abs().mean().item())
    ss_tot = (target - target.mean()).pow(2).sum().item()
    assert m["R²"] == pytest.approx(1 - err.pow(2).sum().item() / ss_tot)
    assert regression_metrics(pred, torch.ones(3, 1))["R²"] is None  # undefined: a constant target has SS_tot 0


def test_learned_line_in_original_units_predicts_like_the_model() -> None:
    config = TrainingConfig(data="line", rows=200, slope=3.0, intercept=-1.0, noise=0.1, standardize_x=True,
                            standardize_y=True, optimizer="Adam", lr=0.05)
    run = train(start_run(config), 300)
    weight, bias = linear_in_original_units(run.model, run.data.x_scaler, run.data.y_scaler)
    x = torch.tensor([[-2.0], [0.5], [4.0]])
    assert torch.allclose((x.double() @ weight.T + bias).float(), predict(run, x), atol=1e-4)
    rows = {r["parameter"]: r for r in parameter_rows(run)}
    assert rows["weight x → y"]["learned"] == pytest.approx(3.0, abs=0.05) and rows["weight x → y"]["true"] == 3.0
    assert rows["bias → y"]["learned"] == pytest.approx(-1.0, abs=0.05)
    metrics = evaluate(run)
    assert metrics["training"]["R²"] > 0.99 and metrics["validation"]["RMSE"] == pytest.approx(0.1, abs=0.05)


def test_pth_loads_weights_only_and_predicts_the_same() -> None:
    config = TrainingConfig(data="multi", rows=60, model="mlp", hidden=5, layers=2)
    run = train(start_run(config), 20)
    state = torch.load(io.BytesIO(state_dict_bytes(run.model)), weights_only=True)
    fresh = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 5), nn.ReLU(), nn.Linear(5, 1))
    fresh.load_state_dict(state)
    x = torch.randn(7, 3)
    assert torch.equal(fresh(x), run.model(x))
    handed = trained_model(run)
    assert next(handed.model.parameters()).device.type == "cpu" and handed.feature_names == ["x1", "x2", "x3"]
    assert torch.equal(handed.predict(x), predict(run, x))


def run_script(script: str, tmp_path, files: dict[str, bytes] | None = None,
               env: dict[str, str] | None = None) -> dict[str, float]:
    """Run a generated script in a fresh Python process (with ``env`` added to this one's); return its final losses."""
    (tmp_path / "train.py").write_text(script, encoding="utf-8")
    for name, content in (files or {}).items():
        (tmp_path / name).write_bytes(content)
    done = subprocess.run([sys.executable, "train.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "model.pth").exists()
    return {k: float(v) for k, v in re.findall(r"Final (\w+) loss: (\S+)", done.stdout)}


def exec_script(script: str, tmp_path, monkeypatch, capsys) -> dict[str, float]:
    """Run our own generated script in this process (faster than a subprocess); return its final losses."""
    monkeypatch.chdir(tmp_path)
    exec(compile(script, "train.py", "exec"), {"__name__": "__main__"})  # our generated code, not user text
    return {k: float(v) for k, v in re.findall(r"Final (\w+) loss: (\S+)", capsys.readouterr().out)}


def test_exported_classic_script_runs_and_reproduces_the_loss(tmp_path) -> None:
    run = train(start_run(TrainingConfig()), 100)
    script = training_script(run)
    assert "import torchstart" not in script and "optim.SGD(model.parameters(), lr=0.01)" in script
    assert run_script(script, tmp_path)["training"] == pytest.approx(run.final_loss, abs=1e-6)


def csv_dataset(rows: int) -> TabularDataset:
    """A Data-page-like dataset with awkward names."""
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(rows, 2, generator=gen)
    y = x @ torch.tensor([[1.5], [-0.5]]) + 0.3 + 0.1 * torch.randn(rows, 1, generator=gen)
    return TabularDataset(x, y, ['size "m²"', "age\nyears"], ["price"], 'houses.csv """')


@pytest.mark.parametrize("config,dataset,model", [
    (TrainingConfig(data="line", rows=80, val_share=0.25, standardize_x=True, standardize_y=True,
                    optimizer="AdamW", weight_decay=0.01, loss="Smooth L1 (Huber)", log_every=7), None, None),
    (TrainingConfig(data="multi", rows=90, model="mlp", full_batch=False, batch_size=32, optimizer="SGD + momentum",
                    loss="L1"), None, None),
    (TrainingConfig(data="session", val_share=0.2, full_batch=False, batch_size=10, shuffle=False,
                    optimizer="Adagrad", lr=0.1), csv_dataset(50), None),
    (TrainingConfig(model="session", lr=0.05), None, session_model(1, 1)),
], ids=["line-split-scaled", "mlp-minibatch", "data-page-embedded", "models-page"])
def test_exported_script_reproduces_the_run(config, dataset, model, tmp_path, monkeypatch, capsys) -> None:
    run = train(start_run(config, dataset, model), 15)
    finals = exec_script(training_script(run, session_model=model), tmp_path, monkeypatch, capsys)
    assert finals["training"] == pytest.approx(run.final_loss, abs=1e-6)
    if run.val_losses:
        assert finals["validation"] == pytest.approx(run.val_losses[-1], abs=1e-6)


def test_big_data_page_dataset_ships_as_csv(tmp_path, monkeypatch, capsys) -> None:
    run = train(start_run(TrainingConfig(data="session", val_share=0.1), csv_dataset(1200)), 5)
    script, table = training_script(run), data_csv(run)
    assert "training_data.csv" in script and table is not None and len(script) < 5000
    (tmp_path / "training_data.csv").write_bytes(table)
    finals = exec_script(script, tmp_path, monkeypatch, capsys)
    assert finals["training"] == pytest.approx(run.final_loss, abs=1e-6)
    # Where the locale's encoding is not UTF-8 (cp1252 on Windows), open() without one could not read 'size "m²"'.
    # The console keeps UTF-8, as Windows' does since Python 3.6 (PEP 528): only the file's reading is in question.
    ascii_locale = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0",
                    "PYTHONIOENCODING": "utf-8"}
    finals = run_script(script, tmp_path, env=ascii_locale)
    assert finals["training"] == pytest.approx(run.final_loss, abs=1e-6)


def dropout_model(n_in: int, n_out: int) -> SessionModel:
    """A Models-page-like model whose training draws random numbers (Dropout)."""
    def build() -> nn.Module:
        return nn.Sequential(nn.Linear(n_in, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, n_out))

    return SessionModel("dropout net", build(), build, (n_in,), (n_out,), code="")


@pytest.mark.parametrize("full_batch", [True, False], ids=["full-batch", "mini-batch"])
def test_dropout_masks_follow_the_seed_whatever_else_draws(full_batch, tmp_path, monkeypatch, capsys) -> None:
    model = dropout_model(1, 1)
    config = TrainingConfig(data="line", rows=40, model="session", full_batch=full_batch, batch_size=16)
    run = start_run(config, None, model)
    assert run.rng is not None
    for _ in range(6):
        torch.rand(1000)  # another learner's session drawing from the shared generator between epochs
        train(run, 1)
    finals = exec_script(training_script(run, session_model=model), tmp_path, monkeypatch, capsys)
    assert finals["training"] == pytest.approx(run.final_loss, abs=1e-6)
    assert start_run(TrainingConfig()).rng is None  # nothing to keep for a model that draws nothing


def test_module_code_rebuilds_standard_stacks() -> None:
    net = nn.Sequential(nn.Linear(2, 4), nn.LeakyReLU(0.2), nn.Dropout(0.1), nn.Linear(4, 1))
    rebuilt = eval(module_code(net), {"nn": nn})  # our generated code, not user text
    assert repr(rebuilt) == repr(net)

    class Custom(nn.Module):
        def forward(self, x):
            return x

    assert module_code(nn.Sequential(nn.Linear(1, 1), Custom())) is None


def test_downsample_is_bounded_and_keeps_spikes_and_ends() -> None:
    values = [1.0 / (i + 1) for i in range(100_000)]
    values[54_321] = 50.0
    epochs, kept = downsample(values, 1000)
    assert len(kept) <= 1000 and 50.0 in kept and epochs[0] == 1 and epochs[-1] == 100_000
    assert kept[-1] == values[-1]
    small_epochs, small = downsample([3.0, 2.0, 1.0], 1000)
    assert list(small) == [3.0, 2.0, 1.0] and list(small_epochs) == [1, 2, 3]


def test_figures_are_bounded_and_follow_the_toggle() -> None:
    fig = loss_figure([1.0 / (i + 1) for i in range(100_000)], [2.0 / (i + 1) for i in range(100_000)], log_y=True)
    assert fig.layout.yaxis.type == "log" and all(len(t.x) <= 1000 for t in fig.data) and len(fig.data) == 2
    assert loss_figure([1.0, 0.5], log_y=False).layout.yaxis.type == "linear"
    # The scale is named on its axis, not at the end of the title, where half-width charts cut it.
    assert (fig.layout.title.text, fig.layout.yaxis.title.text) == ("loss per epoch", "loss, log scale")
    assert loss_figure([1.0, 0.5], log_y=False).layout.yaxis.title.text == "loss"
    # Before any epoch: a note in two short lines (one line ran past a half-width chart's edges at 1024 px).
    assert [a.text for a in loss_figure([]).layout.annotations] == [
        "The loss of every epoch<br>appears here while it trains."]
    run = train(start_run(TrainingConfig(data="line", rows=5000, val_share=0.2)), 3)
    line = fit_figure(fit_data(run))
    assert {t.name for t in line.data} == {"training points", "validation points", "true line", "model"}
    assert all(len(t.x) <= 1000 for t in line.data)
    model_trace = next(t for t in line.data if t.name == "model")
    grid = torch.tensor(model_trace.x, dtype=torch.float32)[:, None]
    assert torch.allclose(torch.tensor(model_trace.y, dtype=torch.float32), predict(run, grid)[:, 0], atol=1e-5)
    multi = fit_figure(fit_data(train(start_run(TrainingConfig(data="multi", rows=30)), 2)))
    assert multi.layout.title.text == "Predicted vs actual"


@pytest.mark.parametrize("text,features,expected", [
    ("5", 1, [[5.0]]), ("[5, 6]", 1, [[5.0], [6.0]]), ("[1, 2, 3]", 3, [[1.0, 2.0, 3.0]]),
    ("[[1, 2], [3, -4]]", 2, [[1.0, 2.0], [3.0, -4.0]]),
])
def test_prediction_inputs_parse(text, features, expected) -> None:
    assert parse_prediction_inputs(text, features).tolist() == expected


def test_the_prediction_box_starts_on_row_0_exactly_not_rounded_to_six_digits() -> None:
    # f"{v:g}" wrote 1234567 as 1.23457e+06: the box predicted for another house than row 0.
    row = torch.tensor([1234567.0, 0.1234567, 1_700_000_123.0, -0.0, 3.0, 1e-30, -2.5e38])
    houses = TabularDataset(row[None].repeat(3, 1), torch.ones(3, 1), [f"f{i}" for i in range(7)], ["y"], "houses")
    text = example_input_text(start_run(TrainingConfig(data="session"), houses))
    assert text == "[[1234567, 0.1234567, 1700000100, -0, 3, 1e-30, -2.5e+38]]"
    assert torch.equal(parse_prediction_inputs(text, 7), row[None])
    biggest = torch.tensor([[torch.finfo(torch.float32).max, -torch.finfo(torch.float32).max]])
    text = example_input_text(start_run(TrainingConfig(data="session"), TabularDataset(
        biggest.repeat(3, 1), torch.ones(3, 1), ["a", "b"], ["y"], "edge")))
    assert text == "[[3.4028235e+38, -3.4028235e+38]]" and torch.equal(parse_prediction_inputs(text, 2), biggest)


@pytest.mark.parametrize("text,features", [("", 1), ("[1, 2]", 3), ("__import__('os')", 1), ("[[1], [2, 3]]", 2),
                                           ("[" + ", ".join(["1"] * 1001) + "]", 1)])
def test_prediction_inputs_refused(text, features) -> None:
    with pytest.raises(TorchstartError):
        parse_prediction_inputs(text, features)


@pytest.mark.gpu
def test_cuda_run_matches_cpu_run() -> None:
    config = TrainingConfig(data="line", rows=200, val_share=0.2, full_batch=False, batch_size=32)
    cpu = train(start_run(config), 10)
    gpu = train(start_run(TrainingConfig(**{**config.__dict__, "device": "cuda:0"})), 10)
    assert gpu.status == "done" and gpu.train_losses == pytest.approx(cpu.train_losses, rel=1e-4)
    assert torch.load(io.BytesIO(state_dict_bytes(gpu.model)), weights_only=True)["weight"].device.type == "cpu"


# ---------------------------------------------------------------- 0/1 classes: BCEWithLogitsLoss

def two_classes(n: int = 120) -> TabularDataset:
    """The Data page's built-in "Two classes": two Gaussian blobs, labels 0.0 and 1.0."""
    return make_builtin("two_class", {"n": n, "separation": 3.0, "seed": 0})


def assert_script_prints_loss_and_accuracy(script: str, run, metrics: dict, tmp_path, monkeypatch, capsys) -> None:
    """Run the exported script: its final loss and its accuracies are the page's."""
    monkeypatch.chdir(tmp_path)
    exec(compile(script, "train.py", "exec"), {"__name__": "__main__"})  # our generated code, not user text
    out = capsys.readouterr().out
    assert float(re.search(r"Final training loss: (\S+)", out).group(1)) == pytest.approx(run.final_loss, abs=1e-6)
    for split in ("training", "validation"):
        printed = ast.literal_eval(re.search(rf"{split.capitalize()} metrics: (.*)", out).group(1))
        assert set(printed) == set(metrics[split])
        for name, value in printed.items():  # the page's whole table: accuracy, the loss, precision and recall
            page = metrics[split][name]
            assert (value is None) == (page is None) and (page is None or value == pytest.approx(page, abs=1e-6))


def test_classification_metrics_match_torch_and_counting() -> None:
    from torchstart.training_metrics import classification_metrics

    logits = torch.tensor([[2.0], [-1.0], [0.5], [-3.0], [0.0], [1.0]])
    labels = torch.tensor([[1.0], [0.0], [0.0], [1.0], [1.0], [0.0]])
    got = classification_metrics(logits, labels)
    # predicted 1 where logit >= 0: rows 0, 2, 4, 5; labelled 1: rows 0, 3, 4. Precision and recall differ,
    # so swapping their formulas shows.
    assert got["accuracy"] == pytest.approx(3 / 6) and got["precision"] == pytest.approx(2 / 4)
    assert got["recall"] == pytest.approx(2 / 3)
    assert got["BCE"] == pytest.approx(nn.BCEWithLogitsLoss()(logits, labels).item(), rel=1e-6)


@pytest.mark.parametrize("config, words", [
    (TrainingConfig(loss=BCE), "needs class labels 0 and 1 (or probabilities between them), but the target "
                               "'y' runs from 2 to 8"),
    (TrainingConfig(data="session", loss=BCE, standardize_y=True), 'Turn off "Standardize target"'),
])
def test_bce_refuses_targets_that_are_not_labels(config, words) -> None:
    with pytest.raises(TorchstartError, match=re.escape(words)):
        start_run(config, two_classes())


def test_two_classes_train_with_bce_and_the_script_reproduces_loss_and_accuracy(
        tmp_path, monkeypatch, capsys) -> None:
    config = TrainingConfig(data="session", loss=BCE, optimizer="Adam", lr=0.05, val_share=0.25)
    run = train(start_run(config, two_classes()), 150)
    assert isinstance(run.loss_fn, nn.BCEWithLogitsLoss)
    metrics = evaluate(run)
    assert metrics["training"]["accuracy"] > 0.9 and metrics["validation"]["accuracy"] > 0.9
    assert metrics["training"]["BCE"] == pytest.approx(
        nn.BCEWithLogitsLoss()(run.model(run.x_train), run.y_train).item(), rel=1e-5)
    script = training_script(run)
    assert "criterion = nn.BCEWithLogitsLoss()" in script
    assert_script_prints_loss_and_accuracy(script, run, metrics, tmp_path, monkeypatch, capsys)


def test_two_feature_classes_get_a_probability_map_with_its_boundary() -> None:
    run = train(start_run(TrainingConfig(data="session", loss=BCE, optimizer="Adam", lr=0.05), two_classes()), 50)
    fit = fit_data(run, plane_points=30)
    xs, ys, prob = fit.plane
    assert prob.shape == (30, 30) and 0 <= prob.min() and prob.max() <= 1
    point = torch.tensor([[xs[7].item(), ys[20].item()]])
    assert prob[20, 7].item() == pytest.approx(torch.sigmoid(predict(run, point)).item(), abs=1e-6)
    figure = fit_figure(fit)
    assert figure.layout.title.text == "Decision boundary: where P(label = 1) = 0.5"
    boundary = next(t for t in figure.data if t.name == "boundary (0.5)")
    assert boundary.contours.start == boundary.contours.end == 0.5
    # Drawn as lines, a contour is coloured by its colorscale (line.color is ignored): black, on either theme.
    assert boundary.contours.coloring == "lines" and {c for _, c in boundary.colorscale} == {"black"}
    points = [t for t in figure.data if t.type == "scatter"]
    n_train, n_val = split_sizes(120, run.config)
    assert sum(len(t.x) for t in points) == n_train + n_val
    # One legend entry per label; the legend's title says which marker is training and which validation.
    assert [t.name for t in points if t.showlegend] == ["label = 0", "label = 1"]
    assert figure.layout.legend.title.text == "label (● training rows, ◇ validation rows):"
    # The see-through shading lies on white in a dark theme too, with no grid lines across it.
    assert figure.layout.plot_bgcolor == "white" and figure.layout.xaxis.showgrid is False


def test_prediction_table_gives_logit_probability_and_class() -> None:
    run = train(start_run(TrainingConfig(data="session", loss=BCE, optimizer="Adam", lr=0.05), two_classes()), 50)
    inputs = torch.tensor([[2.0, 2.0], [-2.0, -2.0]])
    table = prediction_table(run, inputs)
    logits = predict(run, inputs)[:, 0]
    assert table["logit label"].tolist() == pytest.approx(logits.tolist(), abs=1e-6)
    assert table["P(label = 1)"].tolist() == pytest.approx(torch.sigmoid(logits).tolist(), abs=1e-6)
    assert table["predicted label"].tolist() == [int(v >= 0) for v in logits.tolist()]


def test_metrics_note_says_why_the_metrics_and_logged_loss_differ() -> None:
    plain = train(start_run(TrainingConfig()), 5)
    assert "one step later" in metrics_note(plain)
    assert 'the script below prints this table as "Training metrics"' in metrics_note(plain)  # the Show-code tests
    scaled = train(start_run(TrainingConfig(data="line", rows=40, loss="L1", standardize_y=True,
                                            full_batch=False)), 2)
    note = metrics_note(scaled)
    assert "is L1, not MSE" in note and "standardized target" in note and "the mean over the epoch's samples" in note
    assert "one step later" not in note


# ---------------------------------------------------------------- several classes: CrossEntropyLoss

def three_classes(n: int = 150, n_features: int = 2) -> TabularDataset:
    """Three seeded Gaussian blobs with one-hot targets, as the Data page encodes a text label column."""
    from torchstart.datasets import one_hot_target_names

    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 3
    centres = torch.tensor([[-3.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    x = centres[labels] + torch.randn(n, 2, generator=gen)
    if n_features > 2:
        x = torch.cat([x, torch.randn(n, n_features - 2, generator=gen)], 1)
    names = [f"f{i}" for i in range(n_features)]
    return TabularDataset(x, nn.functional.one_hot(labels, 3).float(), names,
                          one_hot_target_names("species", ["setosa", "versicolor", "virginica"]), "blobs")


CE_CONFIG = TrainingConfig(data="session", loss=CROSS_ENTROPY, optimizer="Adam", lr=0.05, val_share=0.2)


def test_classes_metrics_match_torch() -> None:
    from torchstart.training_metrics import classes_metrics

    logits = torch.tensor([[2.0, 0.1, -1.0], [0.0, 0.5, 0.2], [1.0, 3.0, 0.0], [0.3, 0.2, 0.1]])
    targets = nn.functional.one_hot(torch.tensor([0, 2, 1, 1]), 3).float()
    got = classes_metrics(logits, targets)
    assert got["accuracy"] == pytest.approx(2 / 4)  # rows 0 and 2 are right
    expected = nn.CrossEntropyLoss()(logits, torch.tensor([0, 2, 1, 1])).item()  # class indices: same loss
    assert got["cross-entropy"] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(("targets", "why"), [
    ([[0.5], [2.0], [-1.0], [3.0]], "is one column of numbers (-1 to 3). Choose a class column"),
    ([[0.0], [1.0], [1.0], [0.0]], "one 0/1 label per row, which BCEWithLogits (0/1 classes) fits as it is"),
    ([[0.0], [1.0], [2.0], [0.0], [1.0], [2.0]], 'tick "Treat the target\'s whole numbers as class labels"'),
    ([[2.0, -1.0], [0.0, 1.0]], "2 columns with values from -1 to 2, not probabilities between 0 and 1"),
    ([[0.5, 0.0], [0.0, 1.0]], "2 columns whose rows do not each sum to 1"),
])
def test_cross_entropy_refusal_says_what_torch_takes_and_what_this_page_feeds_it(targets, why) -> None:
    y = torch.tensor(targets)
    data = TabularDataset(torch.arange(len(y), dtype=torch.float32)[:, None], y, ["x"],
                          [f"t{i}" for i in range(y.shape[1])], "odd")
    with pytest.raises(TorchstartError) as err:
        start_run(replace(CE_CONFIG, val_share=0.0), data)
    message = str(err.value)
    assert message.startswith("nn.CrossEntropyLoss takes either class indices (whole numbers of shape (N,), the "
                              "common form) or class probabilities of shape (N, C)")
    assert "This page feeds it the second: the one-hot rows the Data page builds from a class column" in message
    assert why in message


def test_cross_entropy_takes_both_target_forms_as_the_refusal_says() -> None:
    logits = torch.tensor([[2.0, 0.1, -1.0], [0.0, 0.5, 0.2], [1.0, 3.0, 0.0]])
    indices = torch.tensor([0, 2, 1])  # shape (N,), integers
    one_hot = nn.functional.one_hot(indices, 3).float()  # shape (N, C), rows summing to 1: what this page feeds
    assert nn.CrossEntropyLoss()(logits, indices).item() == pytest.approx(nn.CrossEntropyLoss()(logits, one_hot).item())


def test_cross_entropy_refuses_targets_that_are_not_class_rows() -> None:
    with pytest.raises(TorchstartError, match="This page feeds it the second: the one-hot rows"):
        start_run(replace(CE_CONFIG, data="line"))
    with pytest.raises(TorchstartError, match='Turn off "Standardize target"'):
        start_run(replace(CE_CONFIG, standardize_y=True), three_classes())


def test_three_classes_train_with_cross_entropy_and_the_script_reproduces_loss_and_accuracy(
        tmp_path, monkeypatch, capsys) -> None:
    run = train(start_run(CE_CONFIG, three_classes()), 100)
    assert isinstance(run.loss_fn, nn.CrossEntropyLoss) and run.model.out_features == 3
    metrics = evaluate(run)
    assert metrics["training"]["accuracy"] > 0.9 and metrics["validation"]["accuracy"] > 0.9
    indices = run.y_train.argmax(1)
    assert metrics["training"]["cross-entropy"] == pytest.approx(
        nn.CrossEntropyLoss()(run.model(run.x_train), indices).item(), rel=1e-5)
    script = training_script(run)
    assert "criterion = nn.CrossEntropyLoss()" in script
    assert_script_prints_loss_and_accuracy(script, run, metrics, tmp_path, monkeypatch, capsys)


def test_the_confusion_matrix_has_labelled_rows_and_predicted_columns() -> None:
    barely = train(start_run(CE_CONFIG, three_classes(n_features=4)), 1)  # one epoch: plenty of mix-ups
    fit = fit_data(barely)
    predicted = predict(barely, barely.data.raw_x_val).argmax(1)
    labelled = barely.data.raw_y_val.argmax(1)
    expected = torch.tensor([[((labelled == i) & (predicted == j)).sum().item() for j in range(3)] for i in range(3)])
    assert not torch.equal(expected, expected.T), "a symmetric matrix would hide a transpose"
    assert torch.equal(fit.confusion, expected)


def test_classes_get_regions_curves_or_a_confusion_matrix() -> None:
    run = train(start_run(CE_CONFIG, three_classes()), 60)
    fit = fit_data(run, plane_points=20)
    xs, ys, prob = fit.plane
    assert prob.shape == (20, 20, 3) and torch.allclose(prob.sum(-1), torch.ones(20, 20), atol=1e-5)
    point = torch.tensor([[xs[3].item(), ys[11].item()]])
    assert torch.allclose(prob[11, 3], torch.softmax(predict(run, point), 1)[0], atol=1e-6)
    figure = fit_figure(fit)
    assert figure.layout.title.text == "Decision regions: the most likely species"
    points = [t for t in figure.data if t.type == "scatter"]
    assert [t.name for t in points if t.showlegend] == ["setosa", "versicolor", "virginica"]
    assert {t.marker.symbol for t in points if t.name == "virginica"} == {"circle", "diamond-open"}
    assert sum(len(t.x) for t in points) == 150  # every row, training and validation
    assert "validation row, virginica" in next(t.hovertemplate for t in points if t.marker.symbol == "diamond-open"
                                                and t.name == "virginica")

    wide = train(start_run(CE_CONFIG, three_classes(n_features=4)), 60)
    fit = fit_data(wide)
    n_val = split_sizes(150, CE_CONFIG)[1]
    assert fit.confusion.sum().item() == n_val and fit.confusion_split == "validation"
    predicted = predict(wide, wide.data.raw_x_val).argmax(1)
    assert fit.confusion.diagonal().sum().item() == (predicted == wide.data.raw_y_val.argmax(1)).sum().item()
    assert fit_figure(fit).layout.title.text == "Confusion matrix (validation rows)"

    one = TabularDataset(three_classes().features[:, :1], three_classes().targets, ["f0"],
                         three_classes().target_names, "one feature")
    curves = fit_figure(fit_data(train(start_run(CE_CONFIG, one), 20)))
    assert [t.name for t in curves.data[:3]] == ["P(setosa)", "P(versicolor)", "P(virginica)"]
    # The rows share their class's legend entry with its P(class) line: the legend lists each class once.
    assert [t.name for t in curves.data if t.showlegend is not False] == ["P(setosa)", "P(versicolor)", "P(virginica)"]


def test_prediction_table_gives_class_probabilities_and_the_class() -> None:
    run = train(start_run(CE_CONFIG, three_classes()), 60)
    inputs = torch.tensor([[-3.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    table = prediction_table(run, inputs)
    probabilities = torch.softmax(predict(run, inputs), 1)
    shown = torch.tensor(table[["P(setosa)", "P(versicolor)", "P(virginica)"]].values, dtype=torch.float32)
    assert torch.allclose(shown, probabilities, atol=1e-6)
    assert table["predicted species"].tolist() == ["setosa", "versicolor", "virginica"]


@pytest.mark.parametrize("rows, batch_size, full_batch, smallest", [
    (33, 32, False, 1), (64, 32, False, 32), (10, 32, False, 10), (5, 32, True, 5), (7, 1, False, 1)])
def test_smallest_batch(rows: int, batch_size: int, full_batch: bool, smallest: int) -> None:
    config = TrainingConfig(full_batch=full_batch, batch_size=batch_size)
    assert smallest_batch(rows, config) == smallest
    loader = make_loader(TensorDataset(torch.zeros(rows, 1), torch.zeros(rows, 1)), rows if full_batch else batch_size)
    assert min(len(xb) for xb, _ in loader) == smallest  # what the DataLoader really hands out


def test_batch_norm_never_gets_a_one_row_batch() -> None:
    def build() -> nn.Module:
        return nn.Sequential(nn.Linear(1, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))

    bn = SessionModel("bn", build(), build, (1,), (1,), code="")
    one_row_last = TrainingConfig(data="line", rows=33, val_share=0.0, model="session", full_batch=False,
                                  batch_size=32)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):  # what torch itself says
        build().train()(torch.zeros(1, 1))
    with pytest.raises(TorchstartError, match=r"33 training rows in batches of 32 leave a last batch of 1 row\. "
                                              r"Pick batch size 31"):
        start_run(one_row_last, session_model=bn)
    with pytest.raises(TorchstartError, match="batch size 1 makes every batch one row"):
        start_run(replace(one_row_last, batch_size=1), session_model=bn)
    run = train(start_run(replace(one_row_last, batch_size=31), session_model=bn), 3)
    assert run.status == "done" and run.epoch == 3
    # Models without BatchNorm train on one-row batches as before.
    assert train(start_run(replace(one_row_last, model="mlp")), 2).status == "done"


def test_log_after_continue_with_a_new_interval_is_what_the_script_prints(tmp_path, monkeypatch, capsys) -> None:
    run = train(start_run(TrainingConfig(log_every=10)), 30)
    run.config = replace(run.config, log_every=7)  # what Continue does with a changed "Log every"
    train(run, 20)
    assert log_length(run) == 7 and log_lines(run, last=2) == log_lines(run)[-2:]
    monkeypatch.chdir(tmp_path)
    exec(compile(training_script(run), "shown.py", "exec"), {"__name__": "__main__"})  # our generated code
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Epoch [")]
    assert log_lines(run) == printed and printed[0].startswith("Epoch [7/50], Loss: ")


def test_a_loss_that_grows_without_overflowing_gets_advice() -> None:
    """lr 0.15 on the classic points: each step multiplies the error by |1 - 0.15 · 15| = 1.25, so no inf yet."""
    grown = train(start_run(TrainingConfig(lr=0.15)), 30)
    assert grown.status == "done" and math.isfinite(grown.final_loss)
    assert grown.final_loss > 1e6 * grown.train_losses[0]
    advice = growth_warning(grown)
    assert f"grew from {grown.train_losses[0]:.3g} to {grown.final_loss:.3g} over 30 epochs" in advice
    assert "try 0.015" in advice and "Standardize features" in advice
    assert growth_warning(train(start_run(TrainingConfig()), 30)) is None  # lr 0.01 learns
    scaled = growth_warning(train(start_run(TrainingConfig(lr=1.5, standardize_x=True)), 10))
    assert "try 0.15" in scaled and "Standardize" not in scaled  # already on: only the learning rate to change


# ---------------------------------------------------------------- review fixes

def semi_dataset() -> TabularDataset:
    """The reviewer's semi.csv as the Data page prepares it: target 'label' yes/no, two one-hot columns."""
    from tests.test_data_prep import SEMI
    from torchstart.csv_loading import load_csv
    from torchstart.data_prep import default_choices, prepare

    frame = load_csv(SEMI, "semi.csv").frame
    return prepare(frame, default_choices(frame), "semi.csv").dataset


def test_bce_refuses_a_class_column_with_several_one_hot_columns() -> None:
    data = semi_dataset()
    assert data.target_names == ["label=no", "label=yes"]
    config = TrainingConfig(data="session", loss=BCE)
    for attempt in (lambda: start_run(config, data), lambda: preflight(config, data)):
        with pytest.raises(TorchstartError) as err:
            attempt()
        message = str(err.value)
        assert message.startswith("BCEWithLogitsLoss on this page fits one 0/1 label per row: one target column")
        assert ("This target has 2 columns ('label=no', 'label=yes'): the one-hot columns the Data page made from "
                "the class column 'label'") in message
        assert "pick CrossEntropy (classes)" in message and "a single column of 0s and 1s" in message
    # The advice works: CrossEntropy trains on the same rows and counts rows, not cells.
    run = train(start_run(replace(config, loss=CROSS_ENTROPY, optimizer="Adam", lr=0.05), data), 30)
    assert run.status == "done" and run.model.out_features == 2
    rows = evaluate(run)["training"]["accuracy"] * len(run.data.raw_x_train)
    assert rows == pytest.approx(round(rows))  # a share of rows (BCE counted 11 of 12 cells on 6 rows)
    # A single 0/1 column still trains with BCE.
    assert train(start_run(config, two_classes()), 3).status == "done"


def test_bce_refuses_several_columns_that_are_not_one_class_column() -> None:
    from torchstart.training_setup import bce_columns_message

    data = TabularDataset(torch.zeros(6, 1), torch.tensor([[0.0, 1.0, 1.0]] * 6), ["x"],
                          ["a", "b", "c"], "multi-label")
    with pytest.raises(TorchstartError) as err:
        start_run(TrainingConfig(data="session", loss=BCE), data)
    assert str(err.value) == bce_columns_message(["a", "b", "c"])
    assert "This target has 3 columns ('a', 'b', 'c'). BCE would treat" in str(err.value)
    many = [f"k=c{i}" for i in range(12)]
    assert "12 columns ('k=c0', 'k=c1', 'k=c2', 'k=c3', … (12 in all))" in bce_columns_message(many)


@pytest.mark.parametrize(("rows", "share", "n_val", "shown"), [
    (3, 0.5, 2, "3 × 0.5 = 1.5 → 2 (to the nearest row, halves rounded up)"),
    (5, 0.5, 3, "5 × 0.5 = 2.5 → 3 (to the nearest row, halves rounded up)"),  # round(2.5) would give 2
    (10, 0.25, 3, "10 × 0.25 = 2.5 → 3 (to the nearest row, halves rounded up)"),
    (10, 0.35, 4, "10 × 0.35 = 3.5 → 4 (to the nearest row, halves rounded up)"),
    (90, 0.35, 32, "90 × 0.35 = 31.5 → 32 (to the nearest row, halves rounded up)"),  # 31.499999999999996 in float
    (10, 0.45, 5, "10 × 0.45 = 4.5 → 5 (to the nearest row, halves rounded up)"),  # round(4.5) would give 4
    (200, 0.2, 40, "200 × 0.2 = 40"),
    (7, 0.05, 0, "7 × 0.05 = 0.35 → 0 (to the nearest row, halves rounded up)"),
])
def test_validation_rows_round_half_up_as_the_help_says(rows, share, n_val, shown) -> None:
    from torchstart.training_setup import PARAMS, split_arithmetic

    config = TrainingConfig(data="line", rows=rows, val_share=share)
    assert split_sizes(rows, config) == (rows - n_val, n_val)
    assert split_arithmetic(rows, share) == shown
    assert "halves rounded up (3 rows × 0.5 = 1.5 → 2 held out, 1 trains)" in PARAMS["val_share"].help
    data = prepare_data(config)
    assert (len(data.raw_x_train), len(data.raw_x_val)) == (rows - n_val, n_val)
    if "→" in shown:  # a fraction of a row was rounded: the page says how
        assert any(shown in note for note in data.notes)


def test_a_single_training_row_has_no_r2_and_the_help_says_why() -> None:
    from torchstart.training_metrics import metric_help

    run = train(start_run(TrainingConfig(data="line", rows=3, val_share=0.5)), 5)
    assert len(run.data.raw_x_train) == 1 and len(run.data.raw_x_val) == 2
    metrics = evaluate(run)
    assert metrics["training"]["R²"] is None and metrics["validation"]["R²"] is not None
    assert metrics["training"]["MSE"] >= 0  # the other metrics are defined
    help_text = metric_help(run)["R²"]
    assert "— when SS_tot is 0" in help_text and "as it always is when the split has a single row" in help_text


@pytest.mark.parametrize("config", [
    TrainingConfig(data="line", rows=60, val_share=0.25),
    TrainingConfig(data="line", rows=60, val_share=0.25, full_batch=False, batch_size=16),
    TrainingConfig(data="line", rows=60, val_share=0.25, loss="L1"),
])
def test_metrics_note_is_true_for_both_columns(config) -> None:
    run = train(start_run(config), 20)
    shown, note = evaluate(run), metrics_note(run)
    if config.loss == "MSE":
        # Validation is logged after the epoch's step in eval mode, as the metrics are taken: the same number.
        assert shown["validation"]["MSE"] == pytest.approx(run.val_losses[-1], rel=1e-5)
        assert "Validation: MSE here is the last logged validation loss" in note
    else:
        assert "Validation: MSE here differs from the logged validation loss because the logged loss is L1" in note
    if config.full_batch and config.loss == "MSE":
        # The training loss is logged before the last step: the metric is one step further, here lower.
        assert shown["training"]["MSE"] < run.final_loss
        assert "Training: MSE here is the logged training loss one step later" in note
    else:
        assert "Training: MSE here differs from the logged training loss because" in note
    if not config.full_batch:
        assert "each logged training loss is the mean over the epoch's samples" in note
        assert "averages" not in note.split("Validation:")[1]  # the batches concern the training column only
    assert "one step later" not in note.split("Validation:")[1]


def test_metrics_note_without_validation_has_no_validation_part() -> None:
    note = metrics_note(train(start_run(TrainingConfig()), 5))
    assert "Training: MSE here is the logged training loss one step later" in note and "Validation" not in note


def test_adamw_with_weight_decay_zero_steps_like_adam() -> None:
    # The Training page's caption says so when AdamW is picked with weight decay 0.
    from torchstart.optimizers import default_weight_decay

    assert default_weight_decay(optim.AdamW) == 0.01
    runs = [train(start_run(TrainingConfig(data="line", rows=50, optimizer=name, weight_decay=0.0)), 20)
            for name in ("Adam", "AdamW")]
    assert torch.equal(params_of(runs[0].model), params_of(runs[1].model))
    decayed = train(start_run(TrainingConfig(data="line", rows=50, optimizer="AdamW", weight_decay=0.01)), 20)
    assert not torch.equal(params_of(decayed.model), params_of(runs[0].model))


@pytest.mark.parametrize("config", [TrainingConfig(lr=10.0), TrainingConfig(data="multi", lr=10.0)])
def test_a_diverged_model_gets_no_legend_entry_for_what_it_cannot_draw(config) -> None:
    run = train(start_run(config), 50)
    assert run.status == "diverged"
    figure = fit_figure(fit_data(run))
    listed = [t.name for t in figure.data if t.showlegend is not False]
    assert listed == (["true line", "training points"] if config.data == "classic"
                      else ["perfect (predicted = actual)"])
    assert [a.text for a in figure.layout.annotations] == ["The run diverged: its predictions<br>(NaN, inf or far "
                                                           "off the scale)<br>are not drawn."]
    healthy = fit_figure(fit_data(train(start_run(TrainingConfig()), 5)))
    assert [t.name for t in healthy.data if t.showlegend is not False] == ["true line", "model", "training points"]
    assert not healthy.layout.annotations


def test_equals_signs_in_a_class_column_or_its_classes_keep_every_name_whole() -> None:
    from torchstart.checkpoint_match import load_targets
    from torchstart.csv_loading import load_csv
    from torchstart.data_prep import PrepChoices, dataset_classes, prepare
    from torchstart.predictions import prediction_frame

    # The column is "label=kind" and every class holds "=": split at the first "=" read the column as
    # "label" and the classes as "kind=k=1", ...; a shared "k=" prefix fools a common-prefix guess too.
    rows = "\n".join(f"{i % 3 + 0.1 * i},k={i % 3 + 1}" for i in range(30))
    frame = load_csv(f"x,label=kind\n{rows}\n".encode(), "eq.csv").frame
    data = prepare(frame, PrepChoices(features=("x",), target="label=kind"), "eq.csv").dataset
    classes = ["k=1", "k=2", "k=3"]
    assert data.target_names == ["label=kind=k=1", "label=kind=k=2", "label=kind=k=3"]
    assert data.class_column == "label=kind" and dataset_classes(data) == classes

    run = train(start_run(TrainingConfig(data="session", loss=CROSS_ENTROPY, epochs=5), data), 5)
    fit = fit_data(run)
    assert fit.classes == tuple(classes) and fit.target_name == "label=kind"
    table = prediction_table(run, torch.tensor([[0.0], [2.0]]))
    assert list(table.columns) == ["x", "P(k=1)", "P(k=2)", "P(k=3)", "predicted label=kind", "logit k=1",
                                   "logit k=2", "logit k=3"]  # probabilities first: in view in a wide table
    logits = predict(run, torch.tensor([[0.0], [2.0]]))
    assert table["predicted label=kind"].tolist() == [classes[i] for i in logits.argmax(1).tolist()]

    # The hand-off to the Checkpoints page carries the column, so its prediction table names classes the same.
    trained = trained_model(run)
    target = load_targets(trained.model.state_dict(), trained, None)["trained"]
    assert target.class_column == "label=kind"
    again = prediction_frame(torch.tensor([[0.0], [2.0]]), logits, target.feature_names, target.target_names,
                             target.task, class_column=target.class_column)
    assert "predicted label=kind" in again.columns and "P(k=2)" in again.columns


def test_log_keeps_small_losses_readable() -> None:
    # Four decimals would print a converged classic run as "Loss: 0.0000" while the header reads 4.6e-07.
    run = train(start_run(replace(TrainingConfig(), epochs=2000)), 2000)  # the classic run, longer
    last = log_lines(run)[-1]
    shown = float(re.search(r"Loss: (\S+)$", last).group(1))
    assert 0 < run.train_losses[-1] < 1e-4, run.train_losses[-1]
    assert shown == pytest.approx(run.train_losses[-1], rel=1e-3)


def test_a_diverged_cpu_run_stops_stepping_at_the_epoch_it_reports() -> None:
    # One forward pass per epoch (full batch, no validation): none may follow the epoch whose loss was NaN/inf.
    run = start_run(replace(TrainingConfig(), lr=10.0, epochs=100_000))
    forwards = []
    run.model.register_forward_hook(lambda *_: forwards.append(1))
    train(run, 100_000)
    assert run.status == "diverged" and run.epoch < 100
    assert len(forwards) == run.epoch


def test_the_true_line_is_the_generating_line() -> None:
    config = TrainingConfig(data="line", rows=40, slope=-1.5, intercept=2.0)
    fit = fit_data(train(start_run(config), 2))
    assert torch.allclose(fit.true_y, fit.grid_x * config.slope + config.intercept, atol=1e-6)


def test_regression_metrics_per_target_column_match_plain_torch() -> None:
    # Two targets with very different means: one mean over all columns would change R², and a sum over
    # every value divided by the rows would double MAE.
    target = torch.tensor([[1.0, 100.0], [2.0, 110.0], [3.0, 90.0], [4.0, 120.0]])
    predicted = target + torch.tensor([[0.5, -5.0], [-0.5, 5.0], [0.0, 10.0], [1.0, 0.0]])
    got = regression_metrics(predicted, target)
    err = predicted - target
    r2 = 1 - (err ** 2).sum(0) / ((target - target.mean(0)) ** 2).sum(0)
    assert got["MSE"] == pytest.approx((err ** 2).mean().item(), rel=1e-6)
    assert got["MAE"] == pytest.approx(err.abs().mean().item(), rel=1e-6)
    assert got["R²"] == pytest.approx(r2.mean().item(), rel=1e-6)


def test_a_run_compares_a_data_page_dataset_at_most_once_and_adopts_an_equal_copy(monkeypatch) -> None:
    import torchstart.training as training_module

    run = start_run(TrainingConfig(data="session"), csv_dataset(30))
    scans = []
    real = training_module.same_dataset
    monkeypatch.setattr(training_module, "same_dataset", lambda a, b: scans.append(b) or real(a, b))
    other = csv_dataset(20)
    assert not run.trained_on(other) and not run.trained_on(other) and len(scans) == 1  # kept for that object
    copy = csv_dataset(30)
    assert run.trained_on(copy) and run.data.source is copy and len(scans) == 2  # equal: adopted
    assert run.trained_on(copy) and len(scans) == 2  # now an identity check


def test_changes_from_names_each_changed_setting_as_the_page_shows_it() -> None:
    old = TrainingConfig()
    new = replace(old, lr=0.05, standardize_x=True, model="mlp", epochs=500, log_every=50)
    assert new.changes_from(old) == ["Standardize features off → on", "Model Linear: nn.Linear(in, out) → Small MLP "
                                     "(Linear → ReLU → Linear)", "Learning rate 0.01 → 0.05"]
    assert replace(old, epochs=7).changes_from(old) == []  # Continue may change epochs and logging


@pytest.mark.parametrize(("key", "loss", "wanted"), [
    ("three_class", "MSE", CROSS_ENTROPY),  # one-hot class rows under a regression loss
    ("three_class", BCE, CROSS_ENTROPY),  # BCE would score each one-hot column as its own yes/no question
    ("three_class", CROSS_ENTROPY, None),  # already the right pick
    ("two_class", "MSE", BCE),  # one column of 0s and 1s
    ("two_class", "L1", BCE),
    ("two_class", BCE, None),
    ("line", "MSE", None),  # numbers to fit: no classification loss to suggest
    ("multi", "Smooth L1 (Huber)", None),
])
def test_suggest_loss_names_the_classification_loss_a_class_target_wants(key, loss, wanted) -> None:
    suggestion = suggest_loss(make_builtin(key, {}), loss)
    assert (suggestion.loss if suggestion else None) == wanted
    if suggestion is not None:  # the message names what was picked, so the learner sees what changes
        assert f"{loss} would fit" in suggestion.why and suggestion.loss in suggestion.why


def test_suggest_loss_sees_a_two_class_text_column_and_ignores_whole_numbers_beyond_0_and_1() -> None:
    two_text_classes = TabularDataset(torch.randn(6, 2), torch.eye(2).repeat(3, 1), ["a", "b"],
                                      ["answer=no", "answer=yes"], class_column="answer")
    assert suggest_loss(two_text_classes, "MSE").loss == CROSS_ENTROPY
    counts = TabularDataset(torch.randn(6, 1), torch.tensor([[0.0], [1.0], [2.0], [0.0], [1.0], [2.0]]),
                            ["x"], ["count"])
    assert suggest_loss(counts, "MSE") is None  # 0, 1, 2 may be codes, but no loss here takes them as they are


def test_the_scripts_data_comment_names_columns_and_classes_whole_and_lists_long_ones_short() -> None:
    iris = TabularDataset(torch.randn(6, 4), torch.eye(3).repeat(2, 1),
                          ["sepal_length", "sepal_width", "petal_length", "petal_width"],
                          ["species=setosa", "species=versicolor", "species=virginica"], "iris.csv",
                          class_column="species")
    script = training_script(start_run(TrainingConfig(data="session", loss=CROSS_ENTROPY), iris))
    assert ("# iris.csv from the Data page (features sepal_length, sepal_width, petal_length, petal_width; "
            "target species (one-hot: setosa, versicolor, virginica))\n") in script  # no "…" cut
    digits = make_builtin("digits", {"n": 30})
    script = training_script(start_run(TrainingConfig(data="session", loss=CROSS_ENTROPY), digits))
    assert ("features pixel0, pixel1, pixel2, pixel3, pixel4, pixel5, … (784 in all); "
            "target digit (one-hot: 0, 1, 2, 3, 4, 5, … (10 in all))") in script


def test_weight_decay_help_matches_what_each_optimizer_does() -> None:
    """The help text's claim: L2 weight decay is divided by an adaptive scale; AdamW's is not."""
    help_text = PARAMS["weight_decay"].help
    assert "SGD, Adam, RMSprop and Adagrad add weight_decay·p" in help_text and "AdamW" in help_text
    moved = {}
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad"):
        p = torch.nn.Parameter(torch.tensor([2.0]))
        opt = make_optimizer(name, [p], lr=0.01, weight_decay=0.1, momentum=0.0)
        p.grad = torch.zeros_like(p)  # no loss gradient: any move is weight decay alone
        opt.step()
        moved[name] = 2.0 - p.item()
    decoupled = pytest.approx(0.01 * 0.1 * 2.0, rel=1e-4)  # lr·weight_decay·p, in float32
    assert moved["SGD"] == decoupled and moved["AdamW"] == decoupled
    # Divided by the adaptive scale: the L2 term moves each by far more than lr·weight_decay·p.
    assert all(moved[name] > 4 * moved["AdamW"] for name in ("Adam", "RMSprop", "Adagrad"))


def test_a_resumed_run_shows_its_earlier_pace_until_it_has_a_fair_one() -> None:
    seen: list[Progress] = []
    run = train(start_run(TrainingConfig()), 300, callback=lambda r, p: seen.append(p) or False)
    assert seen[0].epoch == 1 and seen[0].epochs_per_s == 0.0 and seen[0].seconds_left is None  # no pace yet
    earlier = run.last_epochs_per_s
    assert earlier > 0
    seen.clear()
    run.ask_for(100)  # as a click's rerun does: the same run carries on
    resume(run, lambda r, p: seen.append(p) or False)
    first = seen[0]  # drawn after the first epoch of this stretch: its own rate would measure start-up
    assert first.epoch == 301 and first.epochs_per_s == earlier
    assert first.seconds_left == pytest.approx(99 / earlier)


def test_light_calls_between_redraws_let_a_click_in_and_can_stop_the_run() -> None:
    seen: list[Progress] = []

    def stop_at_five(run, progress: Progress) -> bool:
        seen.append(progress)
        return progress.epoch == 5

    # Charts at most every 10 s, the progress line at every epoch: what a Stop click needs to get in.
    run = train(start_run(TrainingConfig()), 50, stop_at_five, Throttle(min_interval=10.0, poll_interval=0.0))
    assert [p.epoch for p in seen] == [1, 2, 3, 4, 5] and [p.charts for p in seen] == [True] + [False] * 4
    assert run.epoch == 5 and run.status == "stopped"
    quiet: list[Progress] = []
    train(start_run(TrainingConfig()), 50, lambda r, p: quiet.append(p), Throttle(min_interval=10.0))
    assert [p.epoch for p in quiet] == [1]  # no poll_interval: the redraws alone, as before
    assert progress_text(Progress(9, 10, 0.5, None, 1.2, None)).endswith("1 epoch/s")


def test_known_rows_get_their_true_class_and_other_rows_a_dash() -> None:
    from torchstart.predictions import prediction_frame, with_known_labels

    data = three_classes()
    x = torch.cat([data.features[4:5], torch.full((1, data.n_features), 1e6), data.features[0:1]])
    table = prediction_frame(x, torch.zeros(3, 3), data.feature_names, data.target_names, "classes",
                             class_column=data.class_column)
    labelled = with_known_labels(table, x, data)
    column = f"true {data.class_column}"
    want = [data.classes[int(data.targets[4].argmax())], "—", data.classes[int(data.targets[0].argmax())]]
    assert labelled[column].tolist() == want
    assert list(labelled.columns).index(column) == data.n_features  # right after the inputs
    assert with_known_labels(table, x[1:2], data) is table  # no row of the data: the table as it was
