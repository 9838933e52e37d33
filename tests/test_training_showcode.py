"""The Training page's exported script against the page: log lines, final losses, accuracy and predictions.

Each case trains on the page's own code path, runs the script the page shows, and compares
what it prints with what the page shows for the same run.
"""

from __future__ import annotations

import ast
import io
import re
from dataclasses import replace
from functools import partial

import pytest
import torch

from torchstart.builtin_datasets import make_builtin
from torchstart.datasets import TabularDataset
from torchstart.model_code import handoff_code
from torchstart.model_spec import LayerSpec, ModelSpec, build_model, check_spec
from torchstart.session import SessionModel
from torchstart.trained_file import scaler_names, trained_file_bytes
from torchstart.training import log_lines, start_run, train
from torchstart.training_export import training_script
from torchstart.training_metrics import evaluate, prediction_table
from torchstart.training_setup import BCE, CROSS_ENTROPY, TrainingConfig


def models_page_model(n_in: int, n_out: int, middle: str, hidden: int = 8, name: str = "Net") -> SessionModel:
    """A SessionModel exactly as the Models page hands it over (its class code included)."""
    extra = {"dropout": LayerSpec.of("Dropout", p=0.3), "batchnorm": LayerSpec.of("BatchNorm1d", num_features=hidden),
             "relu": LayerSpec.of("ReLU")}[middle]
    spec = ModelSpec(name, (n_in,), (LayerSpec.of("Linear", in_features=n_in, out_features=hidden),
                                     extra, LayerSpec.of("ReLU"),
                                     LayerSpec.of("Linear", in_features=hidden, out_features=n_out)))
    return SessionModel(name, build_model(spec), partial(build_model, spec), (n_in,), check_spec(spec).output_shape,
                        handoff_code(spec))


def run_shown_script(script: str, tmp_path, monkeypatch, capsys) -> str:
    """Run our own generated script in this process; return what it printed."""
    monkeypatch.chdir(tmp_path)
    exec(compile(script, "train.py", "exec"), {"__name__": "__main__"})  # our generated code, not user text
    return capsys.readouterr().out


def assert_script_matches_page(run, script: str, tmp_path, monkeypatch, capsys) -> None:
    """Log lines equal; final losses, accuracies and the input-5 prediction within float noise."""
    out = run_shown_script(script, tmp_path, monkeypatch, capsys)
    assert [line for line in out.splitlines() if line.startswith("Epoch [")] == log_lines(run)
    finals = {k: float(v) for k, v in re.findall(r"Final (\w+) loss: (\S+)", out)}
    assert finals["training"] == pytest.approx(run.final_loss, rel=1e-6, abs=1e-9)
    if run.val_losses:
        assert finals["validation"] == pytest.approx(run.val_losses[-1], rel=1e-6, abs=1e-9)
    shown = evaluate(run)
    printed = {split.lower(): ast.literal_eval(value) for split, value in re.findall(r"(\w+) metrics: (.*)", out)}
    assert set(printed) == set(shown)  # the page's table: MSE, RMSE, MAE, R² in original units, or how it classifies
    if run.config.classifies:
        for split, metrics in printed.items():
            assert set(metrics) == set(shown[split])
            for name, value in metrics.items():
                page = shown[split][name]
                assert (value is None) == (page is None), (split, name)
                assert page is None or value == pytest.approx(page, rel=1e-5, abs=1e-6), (split, name)
    else:
        spread = float(run.data.raw_y_train.double().var()) if len(run.data.raw_y_train) > 1 else 1.0
        for split, metrics in printed.items():
            for name, value in metrics.items():  # the script rebuilds y from its standardized copy: float noise
                page = shown[split][name]
                assert (value is None) == (page is None), (split, name)
                if page is not None:
                    scale = spread if name == "MSE" else spread ** 0.5 if name in ("RMSE", "MAE") else 1.0
                    assert value == pytest.approx(page, rel=1e-4, abs=1e-6 * scale), (split, name)
    if run.data.n_features == 1:
        table = prediction_table(run, torch.tensor([[5.0]]))
        prefix = "P(" if run.config.classifies else "predicted "
        page = [float(table[c].iloc[0]) for c in table.columns if str(c).startswith(prefix)]
        printed = re.search(r"for input 5\.0: (.*)", out).group(1)
        values = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", printed)]
        assert values == pytest.approx(page, rel=1e-5, abs=1e-6)
    assert_saved_file_is_the_pages(run, tmp_path)


def assert_saved_file_is_the_pages(run, tmp_path) -> None:
    """The script's model.pth holds what the page's download holds: the weights, and any standardization."""
    saved = torch.load(tmp_path / "model.pth", weights_only=True)
    download = torch.load(io.BytesIO(trained_file_bytes(run.model, run.data.x_scaler, run.data.y_scaler)),
                          weights_only=True)
    assert list(saved) == list(download)
    stats = scaler_names(run.data.x_scaler, run.data.y_scaler)
    for name in stats:  # computed the same way from the same rows
        torch.testing.assert_close(saved[name], download[name], rtol=1e-6, atol=1e-7)
    weights, page = (saved["model"], download["model"]) if stats else (saved, download)
    assert list(weights) == list(page)
    for key, value in page.items():
        torch.testing.assert_close(weights[key].cpu(), value, rtol=1e-4, atol=1e-5)


TWO = make_builtin("two_class", {"n": 60, "seed": 3})
THREE = make_builtin("three_class", {"n": 60, "seed": 3})
LINE = make_builtin("line", {"n": 40, "seed": 2})

CASES = {
    "bce-dropout-minibatch-split": (TrainingConfig(data="session", loss=BCE, model="session", optimizer="Adam",
                                                   full_batch=False, batch_size=16, val_share=0.2,
                                                   standardize_x=True, log_every=3), TWO, "dropout"),
    "ce-batchnorm-noshuffle": (TrainingConfig(data="session", loss=CROSS_ENTROPY, model="session",
                                              optimizer="RMSprop", full_batch=False, batch_size=16, shuffle=False,
                                              val_share=0.25, log_every=2), THREE, "batchnorm"),
    "huber-line-scaled-dropout": (TrainingConfig(data="session", loss="Smooth L1 (Huber)", model="session",
                                                 optimizer="Nesterov", momentum=0.5, standardize_x=True,
                                                 standardize_y=True, val_share=0.33, log_every=4), LINE, "dropout"),
    "l1-mlp-adamw-continue": (TrainingConfig(data="line", rows=47, loss="L1", model="mlp", optimizer="AdamW",
                                             weight_decay=0.01, full_batch=False, batch_size=8, val_share=0.0,
                                             standardize_y=True, log_every=3), None, ""),
}


def test_standardizing_values_whose_float32_sum_overflows_trains_on_the_page_and_in_the_script(
        tmp_path, monkeypatch, capsys) -> None:
    # Thirty values near 1e37 are each a float32, but their float32 sum is inf: mean and std come from float64.
    rows = torch.arange(1, 31, dtype=torch.float64)
    huge = TabularDataset((rows * 1e37).float()[:, None], (rows % 3).float()[:, None], ["x"], ["y"], "huge")
    assert torch.isinf(huge.features.sum(0)).all()
    run = train(start_run(TrainingConfig(data="session", standardize_x=True, standardize_y=True, val_share=0.2,
                                         log_every=2), huge), 6)
    assert run.status == "done" and torch.isfinite(run.data.x_scaler.mean).all()
    kept = rows[torch.randperm(30, generator=torch.Generator().manual_seed(run.config.seed))[6:]] * 1e37
    assert float(run.data.x_scaler.mean) == pytest.approx(float(kept.float().double().mean()), rel=1e-6)
    assert_script_matches_page(run, training_script(run), tmp_path, monkeypatch, capsys)


@pytest.mark.parametrize("name", list(CASES))
def test_script_prints_what_the_page_shows(name: str, tmp_path, monkeypatch, capsys) -> None:
    config, dataset, middle = CASES[name]
    n_in, n_out = (dataset.n_features, dataset.n_targets) if dataset is not None else (1, 1)
    model = models_page_model(n_in, n_out, middle) if middle else None
    run = train(start_run(config, dataset, model), 6)
    run.config = replace(run.config, log_every=2)  # Continue with another log interval
    train(run, 5)
    assert_script_matches_page(run, training_script(run, session_model=model), tmp_path, monkeypatch, capsys)


def test_script_builds_the_trained_model_after_the_models_page_changed(tmp_path, monkeypatch, capsys) -> None:
    trained_on = models_page_model(1, 1, "dropout", hidden=8)
    run = train(start_run(TrainingConfig(data="session", model="session", val_share=0.2), LINE, trained_on), 8)
    # The learner then edits the Models page (same input and output sizes, so Training does not object).
    edited = models_page_model(1, 1, "relu", hidden=4, name="Edited")
    assert_script_matches_page(run, training_script(run, session_model=edited), tmp_path, monkeypatch, capsys)


@pytest.mark.gpu
@pytest.mark.parametrize("name", list(CASES))
def test_script_of_a_gpu_run_runs_on_the_gpu(name: str, tmp_path, monkeypatch, capsys) -> None:
    """Trained on cuda:0, the script moves data and model there, and its prediction lines run there too."""
    config, dataset, middle = CASES[name]
    n_in, n_out = (dataset.n_features, dataset.n_targets) if dataset is not None else (1, 1)
    model = models_page_model(n_in, n_out, middle) if middle else None
    run = train(start_run(replace(config, device="cuda:0"), dataset, model), 6)
    assert run.status == "done" and run.device.type == "cuda"
    script = training_script(run, session_model=model)
    assert "model = model.to(device)" in script
    if run.data.y_scaler and run.data.n_features == 1:
        assert ".cpu() * y_std + y_mean" in script  # y_std lives on the CPU
    out = run_shown_script(script, tmp_path, monkeypatch, capsys)
    final = float(re.search(r"Final training loss: (\S+)", out).group(1))
    assert final == pytest.approx(run.final_loss, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize(("rows", "share", "comment"), [
    (3, 0.5, "# Hold out 2 of 3 rows for validation: 3 × 0.5 = 1.5 → 2 (to the nearest row, halves rounded up)\n"),
    (5, 0.5, "# Hold out 3 of 5 rows for validation: 5 × 0.5 = 2.5 → 3 (to the nearest row, halves rounded up)\n"),
    (40, 0.25, "# Hold out 10 of 40 rows for validation: 40 × 0.25 = 10\n"),
])
def test_script_splits_as_the_page_rounds(rows, share, comment, tmp_path, monkeypatch, capsys) -> None:
    run = train(start_run(TrainingConfig(data="line", rows=rows, val_share=share, log_every=2)), 6)
    script = training_script(run)
    assert comment in script
    assert_script_matches_page(run, script, tmp_path, monkeypatch, capsys)


def test_script_says_which_values_the_data_page_made_up(tmp_path, monkeypatch, capsys) -> None:
    from torchstart.csv_loading import load_csv
    from torchstart.data_prep import MEAN_FILL, PrepChoices, prepare

    frame = load_csv(b"size,age,price\n1,2,3\n2,,5\n3,4,8\n4,1,7\n5,3,11\n6,,12\n", "houses.csv").frame
    data = prepare(frame, PrepChoices(("size", "age"), "price", missing=MEAN_FILL), "houses.csv").dataset
    run = start_run(TrainingConfig(data="session", epochs=20, log_every=5), data)
    train(run, 20)
    script = training_script(run)
    assert ("# made from the file on the Data page:\n"
            "#   2 empty cells of 'age' filled with 2.5, the mean of its values in the rows kept\n") in script
    assert "[2.0, 2.5]" in script  # the filled value itself, in the data the script trains on
    assert_script_matches_page(run, script, tmp_path, monkeypatch, capsys)


def bound_names(script: str) -> set[str]:
    """Every name a script binds: assignments, loop targets, imports, functions, classes and their arguments."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(script)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def test_the_models_page_refuses_every_class_name_the_scripts_that_carry_its_class_bind() -> None:
    """A class called optim, x_train or data passed the Models page and broke the downloaded script."""
    from torchstart.checkpoint_code import predict_code, safe_load_code, save_code
    from torchstart.model_spec import RESERVED_NAMES, check_class_name
    from torchstart.session import Standardizer
    from torchstart.errors import TorchstartError

    scripts = []
    for config, dataset, middle in CASES.values():
        n_in, n_out = (dataset.n_features, dataset.n_targets) if dataset is not None else (1, 1)
        model = models_page_model(n_in, n_out, middle) if middle else None
        scripts.append(training_script(train(start_run(config, dataset, model), 2), session_model=model))
    for data in ("classic", "line", "multi"):
        for full_batch in (True, False):
            config = TrainingConfig(data=data, full_batch=full_batch, standardize_x=True, standardize_y=True,
                                    model="mlp")
            scripts.append(training_script(train(start_run(config, None, None), 2)))
    net = models_page_model(2, 1, "relu")
    x, scaler = torch.zeros(1, 2), Standardizer(torch.zeros(2), torch.ones(2))
    scripts += [net.code, save_code(net.module, seed=1, fallback=net.code), safe_load_code(1_000),
                predict_code(net.module, x, ("model",), net.code, scaler, Standardizer(torch.zeros(1), torch.ones(1)),
                             "a.pth")]
    scripts += [predict_code(net.module, x, (), net.code, filename="b.pth", task=task) for task in ("binary", "classes")]
    bound = set().union(*map(bound_names, scripts)) - {"Net", "self", "__init__", "forward"}
    assert {"optim", "x_train", "DataLoader", "data", "probabilities"} <= bound  # the collection sees them
    assert bound - RESERVED_NAMES == set()
    for name in ("optim", "x_train", "data"):
        with pytest.raises(TorchstartError, match="a name the generated code uses"):
            check_class_name(name)
