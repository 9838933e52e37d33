"""The Checkpoints page's save and predict code against the page, for each model it can load into.

Targets: the Training page's model (a Linear, an MLP, or a Models-page model, with and without
standardization, regression and classifiers), the Models page's model, and an inferred nn.Linear.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch

from torchstart import session
from torchstart.builtin_datasets import make_builtin
from torchstart.checkpoint_code import predict_code, save_code
from torchstart.checkpoint_match import load_strict, load_targets, predict
from torchstart.checkpoint_safety import state_dict_bytes
from torchstart.training import start_run, train, trained_model
from torchstart.training_setup import BCE, CROSS_ENTROPY, TrainingConfig
from tests.test_training_showcode import models_page_model

LINE = make_builtin("line", {"n": 40, "seed": 2})
TWO = make_builtin("two_class", {"n": 40, "seed": 3})
THREE = make_builtin("three_class", {"n": 40, "seed": 3})

TRAINED = {
    "linear-scaled": (TrainingConfig(data="session", standardize_x=True, standardize_y=True), LINE, ""),
    "mlp-bce": (TrainingConfig(data="session", model="mlp", loss=BCE, standardize_x=True), TWO, ""),
    "models-page-dropout-scaled": (TrainingConfig(data="session", model="session", standardize_x=True,
                                                  standardize_y=True), LINE, "dropout"),
    "models-page-batchnorm-ce": (TrainingConfig(data="session", model="session", loss=CROSS_ENTROPY,
                                                full_batch=False, batch_size=16), THREE, "batchnorm"),
}


def predicted_by_code(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> torch.Tensor:
    """Run the page's generated prediction code; return its ``y``."""
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(code, namespace)  # our own generated code, as a learner would run it
    return namespace["y"]


@pytest.mark.parametrize("name", list(TRAINED))
def test_predict_code_for_the_trained_model_gives_the_page_values(name, tmp_path, monkeypatch) -> None:
    config, dataset, middle = TRAINED[name]
    model = models_page_model(dataset.n_features, dataset.n_targets, middle) if middle else None
    trained = trained_model(train(start_run(config, dataset, model), 5))
    (tmp_path / "trained.pth").write_bytes(state_dict_bytes(trained.model))
    state = torch.load(io.BytesIO(state_dict_bytes(trained.model)), weights_only=True)
    target = load_targets(state, trained, None)["trained"]
    loaded = load_strict(target.model, state)
    x = torch.tensor([[0.5] * dataset.n_features, [-1.25] * dataset.n_features])
    shown = predict(loaded, x, target.x_scaler, target.y_scaler)
    code = predict_code(loaded, x, (), target.fallback_code, target.x_scaler, target.y_scaler, "trained.pth",
                        target.task)
    assert torch.equal(predicted_by_code(code, tmp_path, monkeypatch), shown)


@pytest.mark.parametrize("name", ["models-page-dropout-scaled", "models-page-batchnorm-ce"])
def test_save_code_for_the_trained_models_page_model_builds_it(name, tmp_path, monkeypatch) -> None:
    config, dataset, middle = TRAINED[name]
    model = models_page_model(dataset.n_features, dataset.n_targets, middle)
    trained = trained_model(train(start_run(config, dataset, model), 3))
    monkeypatch.chdir(tmp_path)
    exec(save_code(trained.model, fallback=trained.extra.get("model_code", ""), filename="trained.pth"), {})
    saved = torch.load(tmp_path / "trained.pth", weights_only=True)
    assert {k: v.shape for k, v in saved.items()} == {k: v.shape for k, v in trained.model.state_dict().items()}


@pytest.mark.parametrize("bias", [True, False])
def test_predict_code_for_models_page_and_inferred_linear_targets(bias, tmp_path, monkeypatch) -> None:
    built = models_page_model(3, 2, "batchnorm")
    torch.manual_seed(1)
    state = torch.nn.Linear(3, 2, bias=bias).double().state_dict()  # a float64 file: loaded into float32
    torch.save(state, tmp_path / "linear.pth")
    x = torch.tensor([[0.5, 1.0, -2.0], [3.0, 0.25, 1e-3]])
    target = load_targets(state, None, built)["linear"]
    loaded = load_strict(target.model, state)
    code = predict_code(loaded, x, (), target.fallback_code, filename="linear.pth")
    assert torch.equal(predicted_by_code(code, tmp_path, monkeypatch), predict(loaded, x))
    # The Models page's model: its state_dict saved, then loaded into it by the page and by the code.
    models_state = built.module.state_dict()
    torch.save(models_state, tmp_path / "model.pth")
    target = load_targets(models_state, None, built)["models"]
    loaded = load_strict(target.model, models_state)
    code = predict_code(loaded, x, (), target.fallback_code, filename="model.pth")
    assert torch.equal(predicted_by_code(code, tmp_path, monkeypatch), predict(loaded, x))


def test_save_code_for_the_models_page_model_saves_the_page_weights(open_page, tmp_path, monkeypatch) -> None:
    at = open_page("pages/models.py")  # builds the default preset with its init seed and hands it over
    built = at.session_state[session.MODEL]
    assert built.seed is not None
    at.switch_page("pages/checkpoints.py")
    at.run()
    at.radio(key="checkpoints.save_source").set_value("models").run()
    code = next(c.value for c in at.code if "torch.save(model.state_dict()" in c.value and "manual_seed" in c.value)
    assert f"torch.manual_seed({built.seed})" in code and "train it here" not in code
    lines = code.splitlines()
    assert lines.count("import torch") == 1 and lines.count("from torch import nn") == 1  # not twice over
    monkeypatch.chdir(tmp_path)
    exec(code, {})  # our own generated code, as a learner would run it
    saved = torch.load(tmp_path / "model.pth", weights_only=True)
    page = built.module.state_dict()
    assert list(saved) == list(page) and all(torch.equal(saved[k], page[k]) for k in page)
