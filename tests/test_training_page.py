"""Training page in AppTest: trains, shows metrics and the log, stops, continues, resets, reports bad settings."""

from __future__ import annotations

import json
import re
from functools import partial

import numpy as np
import pytest
import torch
from torch import nn

from tests.test_training_core import (csv_dataset, params_of, plain_classic, session_model, three_classes,
                                      two_classes)
from torchstart import session
from torchstart.datasets import TabularDataset
from torchstart.session import SessionModel
from torchstart.training_metrics import prediction_table
from torchstart.training_setup import parse_prediction_inputs
from tests.plotly_json import plotly_array

PAGE = "pages/training.py"


def texts(at) -> str:
    """Markdown, captions, info/error boxes and code blocks of the page, as one string."""
    parts = [e.value for kind in ("markdown", "caption", "info", "error", "warning", "code") for e in at.get(kind)]
    return "\n".join(str(p) for p in parts)


def errors(at) -> list[str]:
    """The st.error messages on the page."""
    return [e.value for e in at.error]


def set_epochs(at, epochs: int):
    """Type a number of epochs into the Epochs box."""
    return at.number_input(key="training_epochs").set_value(epochs).run()


def test_page_opens_ready_with_the_untrained_classic(open_page) -> None:
    at = open_page(PAGE)
    assert not at.exception and not errors(at)
    assert at.selectbox(key="training_data").value == "classic"
    assert at.number_input(key="training_lr").value == 0.01 and at.number_input(key="training_epochs").value == 100
    assert at.button(key="training_stop").disabled and not at.button(key="training_train").disabled
    charts = at.get("plotly_chart")
    assert len(charts) == 2 and "Not trained yet" in texts(at)
    assert session.TRAINED not in at.session_state
    code = at.code[-1].value
    assert "model = nn.Linear(1, 1)" in code and "num_epochs = 100" in code


def test_train_shows_metrics_log_prediction_and_downloads(open_page) -> None:
    at = set_epochs(open_page(PAGE), 30)
    at.button(key="training_train").click().run()
    assert not at.exception and not errors(at)
    model, losses, log = plain_classic(30)
    run = at.session_state["training_run"]
    assert run.status == "done" and run.epoch == 30 and run.train_losses == pytest.approx(losses, abs=1e-6)
    page_log = next(c.value for c in at.code if c.value.startswith("Epoch ["))
    assert page_log.splitlines() == log == ["Epoch [10/30], Loss: " + log[0].split(": ")[-1], *log[1:]]
    metrics = at.dataframe[0].value
    x, y = torch.tensor([[1.0], [2.0], [3.0], [4.0]]), torch.tensor([[2.0], [4.0], [6.0], [8.0]])
    mse = nn.MSELoss()(model(x), y).item()
    assert float(metrics.loc["MSE", "training"]) == pytest.approx(mse, rel=1e-4)
    prediction = at.dataframe[2].value
    assert prediction.iloc[0, 1] == pytest.approx(model(torch.tensor([[5.0]])).item(), abs=1e-5)
    # The answer is pinned first (after eight inputs it sat past the edge at 1024 px); inputs get room for digits.
    columns = json.loads(at.dataframe[2].proto.columns)
    assert columns["predicted y"]["pinned"] is True and columns["x"]["width"] == 96
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download model (.pth)", "Download script (.py)"]
    trained = at.session_state[session.TRAINED]
    assert torch.allclose(params_of(trained.model), params_of(model), atol=1e-6)
    loss_chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert loss_chart["layout"]["yaxis"]["type"] == "log" and plotly_array(loss_chart["data"][0]["y"]).tolist() == pytest.approx(losses, abs=1e-6)
    assert not at.button(key="training_continue").disabled and at.button(key="training_stop").disabled


def test_untrained_show_code_follows_epochs_and_log_every(open_page) -> None:
    at = set_epochs(open_page(PAGE), 50)
    at.number_input(key="training_log_every").set_value(25).run()
    code = at.code[-1].value
    assert "num_epochs = 50" in code and "if (epoch + 1) % 25 == 0:" in code, code


def test_the_empty_logs_advice_to_lower_log_every_works_at_once(open_page, tmp_path, monkeypatch, capsys) -> None:
    at = set_epochs(open_page(PAGE), 5)  # Log every is 10: a 5-epoch run prints no line
    at.button(key="training_train").click().run()
    log = next(c.value for c in at.code if c.value.startswith("(no line"))
    assert "set Log every to 5 or less" in log
    at.number_input(key="training_log_every").set_value(2).run()  # as the log says; no Train or Continue
    _, _, lines = plain_classic(5, log_every=2)
    page_log = next(c.value for c in at.code if c.value.startswith("Epoch ["))
    assert page_log.splitlines() == lines and len(lines) == 2
    script = at.code[-1].value
    assert "if (epoch + 1) % 2 == 0:" in script
    monkeypatch.chdir(tmp_path)
    exec(compile(script, "shown.py", "exec"), {"__name__": "__main__"})  # our generated code, not user text
    assert capsys.readouterr().out.splitlines()[:2] == lines  # the script prints the page's log


def test_show_code_reproduces_the_page(open_page, tmp_path, monkeypatch, capsys) -> None:
    at = set_epochs(open_page(PAGE), 40)
    at.selectbox(key="training_optimizer").set_value("Adam").run()
    at.button(key="training_train").click().run()
    script = at.code[-1].value
    monkeypatch.chdir(tmp_path)
    exec(compile(script, "shown.py", "exec"), {"__name__": "__main__"})  # our generated code, not user text
    final = float(re.search(r"Final training loss: (\S+)", capsys.readouterr().out).group(1))
    assert final == pytest.approx(at.session_state["training_run"].final_loss, abs=1e-6)


def test_stop_keeps_state_and_continue_trains_further(open_page) -> None:
    at = set_epochs(open_page(PAGE), 20)
    at.button(key="training_train").click().run()
    run = at.session_state["training_run"]
    weights = params_of(run.model)
    # A long run interrupted by a Stop click: AppTest only sees idle pages, where Stop is disabled, so
    # do what its on_click does before the rerun (the browser test clicks the real button mid-run).
    run.ask_for(5000)
    run.status = "running"
    run.request_stop()
    at.run()
    run = at.session_state["training_run"]
    assert run.status == "stopped" and run.epoch == 20 and torch.equal(params_of(run.model), weights)
    assert "Stopped after epoch 20" in texts(at) and not at.exception
    assert at.get("progress")[0].proto.text.startswith("Epoch 20 / 5,020 (stopped) · loss ")
    assert any("Each line counts to 20, the epochs this run trained" in c.value for c in at.caption)
    at.button(key="training_continue").click().run()
    run = at.session_state["training_run"]
    _, losses, _ = plain_classic(40)
    assert run.epoch == 40 and run.status == "done" and run.train_losses == pytest.approx(losses, abs=1e-6)
    assert "Epoch [40/40]" in texts(at)


def test_interrupted_run_resumes_on_the_next_rerun(open_page) -> None:
    at = set_epochs(open_page(PAGE), 10)
    at.button(key="training_train").click().run()
    run = at.session_state["training_run"]
    run.target, run.status = 35, "running"  # a rerun from another widget interrupted it at epoch 10
    at.toggle(key="training_log_y").set_value(False).run()
    run = at.session_state["training_run"]
    assert run.epoch == 35 and run.status == "done"
    assert json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["yaxis"]["type"] == "linear"


def test_reset_reinitialises_from_the_seed(open_page) -> None:
    at = set_epochs(open_page(PAGE), 10)
    at.button(key="training_train").click().run()
    at.button(key="training_reset").click().run()
    run = at.session_state["training_run"]
    torch.manual_seed(42)
    assert run.epoch == 0 and torch.equal(params_of(run.model), params_of(nn.Linear(1, 1)))
    assert "Not trained yet" in texts(at)
    # The model trained before Reset is gone from the Checkpoints page's choices too.
    assert session.TRAINED not in at.session_state


def test_the_data_pages_dataset_is_named_where_it_is_not_used_and_after_it_changed(open_page) -> None:
    at = open_page(PAGE)
    at.session_state[session.DATASET] = csv_dataset(60)
    at.run()
    name = csv_dataset(1).name
    # Classic data picked: Train would not use the Data page's dataset, so the page says where it is.
    assert any(f"The Data page holds **{name}** (60 rows)" in c.value for c in at.caption)
    at.selectbox(key="training_data").set_value("session").run()
    set_epochs(at, 5).button(key="training_train").click().run()
    assert "(3 parameters) on " + name in at.session_state[session.TRAINED].description
    at.session_state[session.DATASET] = csv_dataset(60)  # rebuilt by the Data page, but the same rows and values
    at.run()
    assert not any("Since then" in i.value for i in at.info)
    # Adopted: later reruns compare by identity instead of scanning every value again.
    assert at.session_state["training_run"].data.source is at.session_state[session.DATASET]
    at.session_state[session.DATASET] = csv_dataset(40)  # the Data page changed it
    at.run()
    note = next(i.value for i in at.info if "Since then" in i.value)
    assert note.startswith(f"The run shown below trained on **{name}**. Since then: the Data page's dataset has "
                           "changed. **Train**")


def test_the_prediction_boxes_start_on_row_0_of_the_data_on_training_and_checkpoints(open_page) -> None:
    at = open_page(PAGE)
    dataset = csv_dataset(60)
    at.session_state[session.DATASET] = dataset
    at.selectbox(key="training_data").set_value("session").run()
    set_epochs(at, 5).button(key="training_train").click().run()
    first = "[[" + ", ".join(str(np.float32(v)) for v in dataset.features[0].tolist()) + "]]"  # shortest exact
    box = at.text_input(key="training_predict_2")
    assert box.value == first and box.value != "[[0, 0]]"
    shown = at.dataframe[-1].value  # the box's text (6 significant digits) is what gets predicted
    typed = prediction_table(at.session_state["training_run"], parse_prediction_inputs(first, 2))
    assert shown.filter(like="predicted").iloc[0, 0] == pytest.approx(typed.filter(like="predicted").iloc[0, 0])
    at.switch_page("pages/checkpoints.py").run()
    at.button(key="checkpoints.use_saved").click().run()
    assert at.text_input(key="checkpoints.inputs").value == first  # the same input on both pages


def test_diverging_learning_rate_is_reported_not_raised(open_page) -> None:
    at = open_page(PAGE)
    at.number_input(key="training_lr").set_value(1.0).run()
    at.button(key="training_train").click().run()
    assert not at.exception
    message = " ".join(errors(at))
    assert "diverged" in message and ("NaN" in message or "infinite" in message) and "learning rate 1" in message
    assert at.button(key="training_continue").disabled


def test_an_undefined_metric_shows_a_dash_and_says_why(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="training_data").set_value("session").run()
    flat = csv_dataset(40)
    flat.targets = torch.full_like(flat.targets, 3.0)  # a constant target: SS_tot is 0, so R² is undefined
    at.session_state[session.DATASET] = flat
    at.run()
    at.button(key="training_train").click().run()
    assert not at.exception and not errors(at)
    metrics = at.dataframe[0].value
    assert metrics.loc["R²"].tolist() == ["—", "—"]
    assert float(metrics.loc["MSE", "training"]) >= 0  # the defined metrics stay numbers
    assert any("— when SS_tot is 0: the target is the same in every row of the split" in c.value for c in at.caption)


def test_data_page_dataset_with_split_and_standardization(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="training_data").set_value("session").run()
    assert any("no dataset from the Data page" in e for e in errors(at)) and not at.exception
    assert not at.get("plotly_chart")  # no charts of other data than the settings name
    at.session_state[session.DATASET] = csv_dataset(60)
    at.run()
    at.checkbox(key="training_standardize_x").check().run()
    at.selectbox(key="training_optimizer").set_value("Adam").run()
    at.button(key="training_train").click().run()
    assert not at.exception and not errors(at)
    assert list(at.dataframe[0].value.columns) == ["training", "validation"]
    fit = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert fit["layout"]["title"]["text"] == "Predicted vs actual"
    trained = at.session_state[session.TRAINED]
    assert trained.x_scaler is not None and trained.feature_names == csv_dataset(1).feature_names


def test_a_feature_named_like_the_prediction_column_is_shown_as_an_input(open_page) -> None:
    # A file that keeps an older model's estimate ('predicted price' beside 'price'): st.dataframe refused the
    # prediction table's two 'predicted price' columns with a traceback.
    base = csv_dataset(40)
    at = open_page(PAGE)
    at.selectbox(key="training_data").set_value("session").run()
    at.session_state[session.DATASET] = TabularDataset(base.features, base.targets, ["size", "predicted price"],
                                                       ["price"], "houses.csv")
    at.run()
    at.button(key="training_train").click().run()
    assert not at.exception and not errors(at)
    table = at.dataframe[2].value
    # The box starts on row 0 of the data, so its true price stands beside the prediction.
    assert list(table.columns) == ["size", "predicted price (input)", "true price", "predicted price"]
    assert np.float32(table["true price"].iloc[0]) == base.targets[0, 0].item()  # the float32, written shortest
    columns = json.loads(at.dataframe[2].proto.columns)  # the answer is pinned first, not the input named like it
    assert columns["predicted price"]["pinned"] is True and "pinned" not in columns["predicted price (input)"]
    model = at.session_state[session.TRAINED].model
    with torch.no_grad():
        assert table["predicted price"].iloc[0] == pytest.approx(model(torch.tensor([table.iloc[0, :2].tolist()],
                                                                               dtype=torch.float32)).item(), abs=1e-5)


def test_two_classes_train_as_a_classifier(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="training_data").set_value("session").run()
    at.session_state[session.DATASET] = two_classes()
    at.checkbox(key="training_standardize_y").check().run()
    at.selectbox(key="training_loss").set_value("BCEWithLogits (0/1 classes)").run()
    assert not errors(at) and not at.exception
    box = at.checkbox(key="training_standardize_y")
    assert box.disabled and not box.value  # class labels reach the loss as they are
    assert "Standardize target is off for a classification loss" in texts(at)
    at.selectbox(key="training_optimizer").set_value("Adam").run()
    at.number_input(key="training_lr").set_value(0.05).run()
    at.button(key="training_train").click().run()
    assert not at.exception and not errors(at)
    metrics = at.dataframe[0].value
    assert list(metrics.index) == ["accuracy", "BCE", "precision", "recall"]
    assert float(metrics.loc["accuracy", "validation"]) > 0.9
    loss, fit = (json.loads(c.proto.spec) for c in at.get("plotly_chart"))
    assert loss["layout"]["title"]["text"].startswith("BCEWithLogitsLoss per epoch")
    assert fit["layout"]["title"]["text"] == "Decision boundary: where P(label = 1) = 0.5"
    at.text_input(key="training_predict_2").set_value("[[2, 2], [-2, -2]]").run()
    table = at.dataframe[-1].value
    assert table["predicted label"].tolist() == [1, 0] and table["P(label = 1)"].iloc[0] > 0.5
    assert "Training metrics" in at.code[-1].value


def test_three_classes_train_with_cross_entropy(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="training_data").set_value("session").run()
    at.session_state[session.DATASET] = three_classes()
    at.selectbox(key="training_loss").set_value("CrossEntropy (classes)").run()
    at.selectbox(key="training_optimizer").set_value("Adam").run()
    at.number_input(key="training_lr").set_value(0.05).run()
    at.button(key="training_train").click().run()
    assert not at.exception and not errors(at)
    metrics = at.dataframe[0].value
    assert list(metrics.index) == ["accuracy", "cross-entropy"] and float(metrics.loc["accuracy", "validation"]) > 0.9
    loss, fit = (json.loads(c.proto.spec) for c in at.get("plotly_chart"))
    assert loss["layout"]["title"]["text"].startswith("CrossEntropyLoss per epoch")
    assert fit["layout"]["title"]["text"] == "Decision regions: the most likely species"
    at.text_input(key="training_predict_2").set_value("[[-3, 0], [0, 4]]").run()
    assert at.dataframe[-1].value["predicted species"].tolist() == ["setosa", "virginica"]
    # the answer is pinned left: last of 8 columns, it would sit past the half-width column's edge
    assert json.loads(at.dataframe[-1].proto.columns)["predicted species"]["pinned"] is True
    assert "nn.CrossEntropyLoss()" in at.code[-1].value and "Training metrics" in at.code[-1].value


def test_models_page_model_used_when_it_fits(open_page) -> None:
    at = open_page(PAGE)
    at.session_state[session.MODEL] = session_model(3, 1)
    at.selectbox(key="training_model").set_value("session").run()
    assert errors(at) == ["The Models page model 'tanh net' takes 3 inputs where this data has 1 feature. On the "
                          "Models page, set its input shape to 1 (Auto-fit on makes the layers follow); or pick "
                          "Linear or Small MLP here."] and not at.exception
    at.session_state[session.MODEL] = session_model(1, 4)
    at.run()
    assert errors(at) == ["The Models page model 'tanh net' gives 4 outputs where this data has 1 target column. "
                          "On the Models page, make its last layer give 1 (a Linear's out_features); or pick Linear "
                          "or Small MLP here."]
    at.session_state[session.MODEL] = session_model(1, 1)
    at.run()
    set_epochs(at, 15)
    at.button(key="training_train").click().run()
    assert not errors(at) and at.session_state["training_run"].epoch == 15
    assert "nn.Tanh()" in at.code[-1].value


def models_page_model(spec) -> SessionModel:
    """What the Models page hands on for ``spec``, fit check included."""
    from torchstart.model_spec import build_model, can_fit, check_spec, fit_inputs

    spec = fit_inputs(spec)
    return SessionModel(spec.class_name, build_model(spec), partial(build_model, spec), tuple(spec.input_shape),
                        check_spec(spec).output_shape, fits=partial(can_fit, spec))


def test_a_data_page_dataset_points_to_the_models_page_fit_button_where_it_can_fit(open_page) -> None:
    from dataclasses import replace

    from torchstart.model_spec import PRESETS

    at = open_page(PAGE)
    at.session_state[session.DATASET] = csv_dataset(20)  # two features, one target
    at.session_state[session.MODEL] = models_page_model(replace(PRESETS["MLP"], input_shape=(3,)))
    at.selectbox(key="training_data").set_value("session")
    at.selectbox(key="training_model").set_value("session").run()
    assert errors(at) == ["The Models page model 'MLP' takes 3 inputs where this data has 2 features. On the "
                          "Models page, set its input shape to 2 (Auto-fit on makes the layers follow); or pick "
                          "Linear or Small MLP here. With the Data page's dataset, the Models page's button \"Fit "
                          "the model to this dataset\" does this in one click."] and not at.exception
    # Two plain numbers are no picture for a CNN: the button would not be there, so it is not promised.
    at.session_state[session.MODEL] = models_page_model(PRESETS["Small CNN"])
    at.run()
    assert errors(at) and "Fit the model to this dataset" not in errors(at)[0]
    # The built-in data is not the Data page's: the button (which fits to that) is not named either.
    at.session_state[session.MODEL] = models_page_model(replace(PRESETS["MLP"], input_shape=(3,)))
    at.selectbox(key="training_data").set_value("classic").run()
    assert errors(at) and "Fit the model to this dataset" not in errors(at)[0]


def test_prediction_box_handles_lists_and_bad_text(open_page) -> None:
    at = set_epochs(open_page(PAGE), 10)
    at.button(key="training_train").click().run()
    model, _, _ = plain_classic(10)
    at.text_input(key="training_predict_1").set_value("[5, 6.5]").run()
    table = at.dataframe[-1].value
    expected = model(torch.tensor([[5.0], [6.5]])).detach().flatten().tolist()
    assert table.iloc[:, 1].tolist() == pytest.approx(expected, abs=1e-5)
    at.text_input(key="training_predict_1").set_value("open('x')").run()
    assert not at.exception and any("prediction input" in e for e in errors(at))


def test_changed_settings_are_flagged_for_a_trained_run(open_page) -> None:
    at = set_epochs(open_page(PAGE), 10)
    at.button(key="training_train").click().run()
    at.selectbox(key="training_data").set_value("session").run()
    assert any("no dataset from the Data page" in e for e in errors(at))
    assert ("Since then: Data Classic: 4 points, y = 2x → Dataset from the Data page. **Train** starts a new run"
            in texts(at))
    assert at.session_state["training_run"].epoch == 10  # the trained run is kept
    at.selectbox(key="training_data").set_value("classic").run()
    assert not errors(at)
    at.selectbox(key="training_loss").set_value("L1").run()
    assert "Since then: Loss MSE → L1." in texts(at) and at.session_state["training_run"].config.loss == "MSE"
    at.number_input(key="training_lr").set_value(0.05).run()
    assert "Since then: Loss MSE → L1; Learning rate 0.01 → 0.05." in texts(at)
    at.button(key="training_train").click().run()
    assert isinstance(at.session_state["training_run"].loss_fn, nn.L1Loss)


def test_big_data_page_dataset_offers_its_csv_with_the_script(open_page) -> None:
    at = open_page(PAGE)
    at.session_state[session.DATASET] = csv_dataset(1500)
    at.selectbox(key="training_data").set_value("session").run()
    set_epochs(at, 3)
    at.button(key="training_train").click().run()
    assert not at.exception and not errors(at)
    labels = [b.label for b in at.get("download_button")]
    assert labels[-1] == "Download data (training_data.csv)"
    assert "open('training_data.csv'" in at.code[-1].value


def batch_norm_model(n_in: int = 1, n_out: int = 1) -> session.SessionModel:
    """A Models-page hand-off whose stack has a BatchNorm1d layer."""
    def build() -> nn.Module:
        return nn.Sequential(nn.Linear(n_in, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, n_out))

    return session.SessionModel("bn net", build(), build, (n_in,), (n_out,), code="")


def test_batch_norm_with_a_one_row_batch_is_refused_before_training(open_page) -> None:
    at = open_page(PAGE)
    at.session_state[session.MODEL] = batch_norm_model()
    at.selectbox(key="training_model").set_value("session").run()
    at.checkbox(key="training_full_batch").uncheck().run()
    at.number_input(key="training_batch_size").set_value(3).run()  # the classic's 4 rows: batches of 3 and 1
    (message,) = errors(at)
    assert "BatchNorm1d" in message and "4 training rows in batches of 3 leave a last batch of 1 row" in message
    assert "Pick batch size 2" in message and "drop_last=True" in message
    at.button(key="training_train").click().run()
    assert not at.exception and "training_run" not in at.session_state
    at.number_input(key="training_batch_size").set_value(2).run()
    assert not errors(at)
    set_epochs(at, 5).button(key="training_train").click().run()
    assert not at.exception and at.session_state["training_run"].epoch == 5


def test_a_changed_models_page_model_is_flagged_for_a_trained_run(open_page) -> None:
    at = open_page(PAGE)
    first = session_model(1, 1)
    first.code = "model = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1))"
    at.session_state[session.MODEL] = first
    at.selectbox(key="training_model").set_value("session").run()
    set_epochs(at, 5).button(key="training_train").click().run()
    assert not errors(at) and not any("Since then" in i.value for i in at.info)
    other = session_model(1, 1, hidden=4)  # edited on the Models page: same sizes, another network
    other.code = "model = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1))"
    at.session_state[session.MODEL] = other
    at.run()
    assert any(i.value.startswith("The run shown below trained on **classic 4 points**. Since then: the Models "
                                  "page's model has changed.") for i in at.info), [i.value for i in at.info]
    assert at.session_state["training_run"].model_code == first.code  # the run shown is still the first model


def test_settings_survive_a_visit_to_another_page(open_page) -> None:
    """Streamlit forgets widgets a run does not draw: without persist_state, Data went back to classic."""
    at = open_page("pages/data.py")  # the Data page makes the session's dataset (its 3-row example)
    at.switch_page(PAGE).run()
    at.selectbox(key="training_data").set_value("line").run()
    at.number_input(key="training_rows").set_value(60).run()
    at.selectbox(key="training_loss").set_value("L1").run()
    at.selectbox(key="training_data").set_value("session").run()  # hides the line's rows: still remembered
    at = set_epochs(at, 30)
    at.toggle(key="training_log_y").set_value(False).run()
    at.button(key="training_train").click().run()
    assert not at.exception and not errors(at)
    run = at.session_state["training_run"]
    at.switch_page("pages/data.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception and not errors(at)
    assert at.selectbox(key="training_data").value == "session" and at.selectbox(key="training_loss").value == "L1"
    assert at.number_input(key="training_epochs").value == 30 and at.toggle(key="training_log_y").value is False
    assert at.session_state["training_run"] is run and run.epoch == 30
    assert "Since then" not in texts(at)  # nothing changed, so the run still matches
    at.selectbox(key="training_data").set_value("line").run()
    assert at.number_input(key="training_rows").value == 60


def test_a_growing_loss_is_explained_on_the_page(open_page) -> None:
    at = set_epochs(open_page(PAGE), 30)
    at.number_input(key="training_lr").set_value(0.15).run()
    at.button(key="training_train").click().run()
    assert not at.exception and not errors(at)
    run = at.session_state["training_run"]
    assert run.status == "done" and run.final_loss > 1e6 * run.train_losses[0]
    warning = " ".join(w.value for w in at.warning)
    assert "The training loss grew from 7.01 to" in warning and "try 0.015" in warning
    at.number_input(key="training_lr").set_value(0.01).run()
    at.button(key="training_train").click().run()
    assert not any("grew from" in w.value for w in at.warning)  # a learning run: no such warning


# ---------------------------------------------------------------- review fixes

def test_bce_on_a_class_column_from_the_data_page_is_refused_and_cross_entropy_trains(open_page) -> None:
    from tests.test_training_core import semi_dataset

    at = open_page(PAGE)
    at.selectbox(key="training_data").set_value("session").run()
    at.session_state[session.DATASET] = semi_dataset()
    at.run()
    at.selectbox(key="training_loss").set_value("BCEWithLogits (0/1 classes)").run()
    assert not at.exception
    assert any("BCEWithLogitsLoss on this page fits one 0/1 label per row" in e and "pick CrossEntropy" in e
               for e in errors(at))
    at.button(key="training_train").click().run()
    assert not at.exception and "training_run" not in at.session_state  # nothing trained per cell
    assert 'P(label=no = 1)' not in " ".join(c.proto.spec for c in at.get("plotly_chart"))
    at.selectbox(key="training_loss").set_value("CrossEntropy (classes)").run()
    at.button(key="training_train").click().run()
    assert not at.exception and not errors(at)
    run = at.session_state["training_run"]
    assert run.model.out_features == 2 and list(at.dataframe[0].value.index) == ["accuracy", "cross-entropy"]
    table = at.dataframe[-1].value
    assert [c for c in table.columns if str(c).startswith("predicted")] == ["predicted label"]


def test_a_three_row_split_says_how_it_rounded_and_why_r2_is_a_dash(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="training_data").set_value("line").run()
    at.number_input(key="training_rows").set_value(3).run()
    at.number_input(key="training_val_share").set_value(0.5).run()
    at = set_epochs(at, 10)
    at.button(key="training_train").click().run()
    assert not at.exception and not errors(at)
    run = at.session_state["training_run"]
    assert (len(run.data.raw_x_train), len(run.data.raw_x_val)) == (1, 2)
    assert any("Validation rows: 3 × 0.5 = 1.5 → 2 (to the nearest row, halves rounded up); 1 row trains." in c.value
               for c in at.caption)
    metrics = at.dataframe[0].value
    assert metrics.loc["R²", "training"] == "—" and metrics.loc["R²", "validation"] != "—"
    assert any("as it always is when the split has a single row" in c.value for c in at.caption)


def test_metrics_note_matches_the_shown_validation_loss(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="training_data").set_value("line").run()
    at.button(key="training_train").click().run()
    run = at.session_state["training_run"]
    metrics = at.dataframe[0].value
    assert float(metrics.loc["MSE", "validation"]) == pytest.approx(run.val_losses[-1], rel=1e-5)
    assert float(metrics.loc["MSE", "training"]) < run.final_loss  # one step further than the logged loss
    note = next(c.value for c in at.caption if "Measured with the model in eval mode" in c.value)
    assert "Training: MSE here is the logged training loss one step later" in note
    assert "Validation: MSE here is the last logged validation loss" in note


def test_adamw_with_weight_decay_zero_says_it_is_adam(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="training_optimizer").set_value("AdamW").run()
    caption = "AdamW with weight decay 0 takes exactly Adam's steps"
    assert any(caption in c.value and "`AdamW(..., weight_decay=0.01)`" in c.value for c in at.caption)
    at.number_input(key="training_weight_decay").set_value(0.01).run()
    assert not any(caption in c.value for c in at.caption)
    assert "optim.AdamW(model.parameters(), lr=0.01, betas=(0.9, 0.999), weight_decay=0.01)" in at.code[-1].value
    at.number_input(key="training_weight_decay").set_value(0.0).run()
    assert "weight_decay=0.0)" in at.code[-1].value  # the script states the 0 the caption warns about
    at.selectbox(key="training_optimizer").set_value("Adam").run()
    assert not any(caption in c.value for c in at.caption)


def wide_dataset(width: int) -> TabularDataset:
    """20 rows of ``width`` random features named feature_0 …, and a random target y."""
    gen = torch.Generator().manual_seed(0)
    names = [f"feature_{i}" for i in range(width)]
    return TabularDataset(torch.randn(20, width, generator=gen), torch.randn(20, 1, generator=gen), names, ["y"],
                          "wide.csv")


def train_on(open_page, dataset: TabularDataset):
    """The Training page after 5 epochs on ``dataset`` as the Data page's dataset."""
    at = open_page(PAGE)
    at.selectbox(key="training_data").set_value("session").run()
    at.session_state[session.DATASET] = dataset
    at = set_epochs(at, 5)
    at.button(key="training_train").click().run()
    assert not at.exception and not errors(at)
    return at


def test_a_wide_dataset_lists_a_few_feature_names_not_all(open_page) -> None:
    at = train_on(open_page, wide_dataset(20))
    shown = ", ".join(f"feature_{i}" for i in range(6))
    box = at.text_input(key="training_predict_20")
    assert box.label == f"Predict for new inputs ({shown}, … (20 in all))"
    assert any(f"features {shown}, … (20 in all); target y." in c.value for c in at.caption)


def test_beyond_twenty_features_a_validation_row_is_predicted_instead_of_typed(open_page) -> None:
    at = train_on(open_page, wide_dataset(499))
    assert not [t for t in at.text_input if t.key.startswith("training_predict")]
    run = at.session_state["training_run"]
    row = at.number_input(key="training_predict_row_validation")
    assert row.label == "Predict for validation row (0 to 3: rows the model never trained on)" and row.max == 3
    row.set_value(2).run()
    table = at.dataframe[-1].value
    assert list(table.columns) == ["true y", "predicted y"]
    assert table["true y"].iloc[0] == pytest.approx(run.data.raw_y_val[2, 0].item())
    run.model.eval()
    with torch.no_grad():
        assert table["predicted y"].iloc[0] == pytest.approx(run.model(run.data.raw_x_val[2:3]).item(), rel=1e-6)
    assert len(at.get("plotly_chart")) == 2  # the loss and the fit: 499 features make no square picture


def test_the_data_pages_three_row_example_says_what_its_split_holds_out(open_page) -> None:
    at = open_page("pages/data.py")  # the Data page's first built-in set is ready once shown: 3 rows
    at.switch_page(PAGE).run()
    at.selectbox(key="training_data").set_value("session").run()
    assert len(at.session_state[session.DATASET]) == 3 and not errors(at)
    (note,) = [c.value for c in at.caption if "holds out" in c.value]
    assert note.startswith("This dataset has 3 rows, so a validation share of 0.2 holds out 1 row "
                           "(3 × 0.2 = 0.6 → 1")
    assert "R² is undefined for one row (it shows —)" in note and "Set Validation share to 0" in note
    at.number_input(key="training_val_share").set_value(0.0).run()
    assert not any("holds out" in c.value for c in at.caption)
    at.button(key="training_train").click().run()
    assert len(at.session_state["training_run"].data.raw_x_train) == 3 and not errors(at)
