"""Inspecting, matching, predicting and the generated code, each checked against plain torch."""

from __future__ import annotations

import io
import math
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from torch import nn

from torchstart.checkpoint_code import module_code, predict_code, save_code
from torchstart.checkpoint_figures import histogram_figure, value_histogram
from torchstart.checkpoint_inspect import (entry_table, get_part, is_state_dict, path_code, state_dict_parts,
                                           summarize_tree, tensor_entries, tensor_stats, totals)
from torchstart.checkpoint_match import (compare_keys, infer_linear, input_width, load_strict,
                                         mode_sensitive_layers, parse_inputs, predict)
from torchstart.errors import TorchstartError
from torchstart.session import Standardizer


def nested_checkpoint() -> tuple[dict, nn.Module]:
    """A training checkpoint: model and SGD-with-momentum state after one real step, plus the epoch."""
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(5, 3)).pow(2).mean().backward()
    opt.step()
    return {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 7}, model


# ---------------------------------------------------------------- inspect

def test_entry_table_matches_plain_torch() -> None:
    checkpoint, model = nested_checkpoint()
    entries = tensor_entries(checkpoint)
    table = entry_table(entries)
    assert table["key"].tolist()[:4] == ["model/0.weight", "model/0.bias", "model/2.weight", "model/2.bias"]
    assert "optimizer/state/0/momentum_buffer" in table["key"].tolist()
    row = table.set_index("key").loc["model/2.weight"]
    weight = model.state_dict()["2.weight"].double()
    assert row["shape"] == "[2, 4]" and row["dtype"] == "float32"
    assert row["numel"] == 8 and row["bytes"] == 32
    assert row["mean"] == pytest.approx(weight.mean().item())
    assert row["std"] == pytest.approx(weight.std().item())
    assert row["min"] == weight.min().item() and row["max"] == weight.max().item()
    total = totals(entries)
    params = sum(p.numel() for p in model.parameters())
    assert total.tensors == 4 + 4  # four weights/biases, four momentum buffers
    assert total.numel == 2 * params
    assert total.bytes == 2 * params * 4


def test_stats_for_odd_tensors() -> None:
    assert math.isnan(tensor_stats(torch.tensor([2.0]))["std"])
    assert all(math.isnan(v) for v in tensor_stats(torch.zeros(0)).values())
    assert tensor_stats(torch.tensor([1, 2, 3]))["mean"] == 2.0
    assert tensor_stats(torch.tensor([True, False]))["max"] == 1.0
    assert all(math.isnan(v) for v in tensor_stats(torch.ones(2, dtype=torch.complex64)).values())


def test_tree_outlines_nested_structure() -> None:
    checkpoint, _ = nested_checkpoint()
    tree = summarize_tree(checkpoint)
    assert tree["epoch"] == 7
    assert tree["model"]["0.weight"] == "tensor float32 [4, 3]"
    assert tree["optimizer"]["param_groups"][0]["lr"] == 0.1
    assert tree["optimizer"]["state"]["0"]["momentum_buffer"] == "tensor float32 [4, 3]"


def test_tree_and_walk_survive_a_cycle() -> None:
    looped: dict = {"w": torch.ones(1)}
    looped["self"] = looped
    assert len(tensor_entries(looped)) == 1
    assert summarize_tree(looped)["self"] == "dict (not expanded)"


def test_model_part_ranked_first_and_picked() -> None:
    checkpoint, model = nested_checkpoint()
    parts = state_dict_parts(checkpoint)
    assert parts[0] == ("model",)
    assert ("optimizer", "state", 0) in parts  # a dict of tensors too, ranked after the model
    assert get_part(checkpoint, parts[0]) is checkpoint["model"]
    assert path_code(("optimizer", "state", 0)) == "checkpoint['optimizer']['state'][0]"
    assert state_dict_parts(model.state_dict()) == [()]
    assert not is_state_dict({"epoch": 1}) and not is_state_dict({})


# ---------------------------------------------------------------- match

def test_compare_keys_reports_missing_unexpected_and_shapes() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    state = dict(model.state_dict())
    state.pop("2.bias")
    state["0.weight"] = torch.zeros(5, 3)
    state["extra"] = torch.zeros(1)
    report = compare_keys(model, state)
    assert report.missing == ["2.bias"]
    assert report.unexpected == ["extra"]
    assert report.mismatched == [("0.weight", (4, 3), (5, 3))]
    assert not report.ok
    # exactly what load_state_dict(strict=True) itself complains about
    with pytest.raises(RuntimeError) as caught:
        model.load_state_dict(state, strict=True)
    for word in ("2.bias", "extra", "0.weight"):
        assert word in str(caught.value)
    table = report.table().set_index("key")
    assert table.loc["0.weight", "status"] == "shape mismatch"
    assert table.loc["0.weight", "in file"] == "[5, 3]"
    with pytest.raises(TorchstartError, match="missing"):
        load_strict(model, state)


def test_load_strict_copies_and_matches() -> None:
    _, trained = nested_checkpoint()
    torch.manual_seed(99)
    fresh = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    before = fresh.state_dict()["0.weight"].clone()
    loaded = load_strict(fresh, trained.state_dict())
    assert torch.equal(fresh.state_dict()["0.weight"], before)  # the original is untouched
    x = torch.randn(6, 3)
    assert torch.equal(predict(loaded, x), trained.eval()(x).detach())


@pytest.mark.parametrize(("state", "expected"), [
    ({"weight": torch.ones(2, 5), "bias": torch.ones(2)}, (5, 2, True)),
    ({"weight": torch.ones(1, 1)}, (1, 1, False)),
    ({"weight": torch.ones(2, 5), "bias": torch.ones(3)}, None),
    ({"weight": torch.ones(5), "bias": torch.ones(5)}, None),
    ({"0.weight": torch.ones(2, 5), "0.bias": torch.ones(2)}, None),
])
def test_infer_linear(state, expected) -> None:
    layer = infer_linear(state)
    if expected is None:
        assert layer is None
        return
    assert (layer.in_features, layer.out_features, layer.bias is not None) == expected
    assert compare_keys(layer, state).ok


def test_predict_uses_eval_mode_and_scalers() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 1))
    model.train()
    model(torch.randn(16, 2))  # move the running statistics away from their defaults
    x_scaler = Standardizer(torch.tensor([1.0, -2.0]), torch.tensor([2.0, 0.5]))
    y_scaler = Standardizer(torch.tensor([10.0]), torch.tensor([3.0]))
    x = torch.tensor([[0.5, 1.0], [2.0, -1.0]])
    got = predict(model, x, x_scaler, y_scaler)
    assert not model.training
    with torch.no_grad():
        expected = model.eval()((x - x_scaler.mean) / x_scaler.std) * y_scaler.std + y_scaler.mean
    assert torch.equal(got, expected)
    assert [n.split(" ")[0] for n in mode_sensitive_layers(model)] == ["1", "2"]


def test_parse_inputs_checks_width() -> None:
    assert parse_inputs("[[1, 2], [3, 4]]", 2).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert parse_inputs("[1, 2]", 2).shape == (1, 2)
    assert parse_inputs("5", 1).tolist() == [[5.0]]
    with pytest.raises(TorchstartError, match="takes 3 input features"):
        parse_inputs("[[1, 2]]", 3)
    with pytest.raises(TorchstartError, match="not allowed"):
        parse_inputs("__import__('os')", 1)


def test_input_width() -> None:
    assert input_width(nn.Sequential(nn.Linear(7, 2), nn.ReLU())) == 7
    assert input_width(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 1))) is None


# ---------------------------------------------------------------- figures

def test_histogram_counts_match_torch_histogram() -> None:
    torch.manual_seed(0)
    values = torch.randn(500)
    counts, edges = value_histogram(values, bins=20)
    expected, expected_edges = torch.histogram(values.double(), bins=20)
    assert torch.equal(counts, expected) and torch.allclose(edges, expected_edges)
    fig = histogram_figure(values, "w", bins=20)
    assert list(fig.data[0].y) == expected.tolist()
    assert sum(fig.data[0].y) == 500
    assert histogram_figure(torch.full((3,), 2.0), "c", 5).data[0].y[2] == 3  # constant tensor: one bar


def test_a_range_wider_than_float64_is_refused_with_a_message_and_a_huge_constant_gets_a_bar() -> None:
    with pytest.raises(TorchstartError, match="wider than float64 holds"):
        value_histogram(torch.tensor([-1.7e308, 1.7e308], dtype=torch.float64))
    counts, edges = value_histogram(torch.full((4,), 1e20, dtype=torch.float64), bins=5)
    assert counts.tolist() == [0, 0, 4, 0, 0] and edges[0] < 1e20 < edges[-1]


def test_many_references_to_one_big_dict_are_judged_and_listed_once() -> None:
    # 100,000 references to a 1,000-tensor dict re-checked all its entries per reference: minutes of server time.
    shared = torch.zeros(1)
    big = {f"k{i}": shared for i in range(1_000)}
    parts = state_dict_parts({"model": big, "copies": [big] * 100_000})
    assert parts == [("model",)]


def test_the_outline_never_prints_what_it_cannot_name() -> None:
    hidden = torch.zeros(1, dtype=torch.float8_e4m3fn).expand(2**36)  # printing it would convert 2**36 numbers
    tree = summarize_tree({("a", 1): torch.zeros(2), "s": {hidden}, "d": torch.float16, "n": None})
    assert tree == {"(tuple)": "tensor float32 [2]", "s": "set of 1", "d": "dtype: torch.float16", "n": None}


# ---------------------------------------------------------------- generated code

@pytest.mark.parametrize("model", [
    nn.Linear(3, 2),
    nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.LeakyReLU(0.1), nn.Dropout(0.2), nn.Linear(8, 2)),
    nn.Sequential(OrderedDict([("hidden", nn.Linear(3, 4)), ("act", nn.GELU()), ("out", nn.Linear(4, 2))])),
], ids=["linear", "sequential", "named"])
def test_module_code_rebuilds_the_same_architecture(model) -> None:
    namespace: dict = {"nn": nn, "OrderedDict": OrderedDict}
    exec(f"model = {module_code(model)}", namespace)
    assert repr(namespace["model"]) == repr(model)
    assert compare_keys(namespace["model"], model.state_dict()).ok


def test_module_code_gives_up_on_custom_classes() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 1)

    assert module_code(Net()) is None
    assert module_code(nn.Sequential(Net())) is None


def test_save_code_writes_the_same_state_dict(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(5)
    model = nn.Linear(4, 3)
    exec(save_code(model, seed=5, filename="linear.pth"), {})
    saved = torch.load(Path("linear.pth"), weights_only=True)
    assert all(torch.equal(saved[k], v) for k, v in model.state_dict().items())


def test_predict_code_reproduces_predictions(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    checkpoint, model = nested_checkpoint()
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    Path("ckpt.pth").write_bytes(buffer.getvalue())
    x_scaler = Standardizer(torch.tensor([0.3, -1.0, 2.0]), torch.tensor([1.5, 0.25, 3.0]))
    y_scaler = Standardizer(torch.tensor([1.0, 2.0]), torch.tensor([0.1, 4.0]))
    x = torch.tensor([[0.1, 0.2, 0.3], [-1.0, 5.0, 2.5]])
    expected = predict(load_strict(model, checkpoint["model"]), x, x_scaler, y_scaler)
    namespace: dict = {}
    exec(predict_code(model, x, ("model",), "", x_scaler, y_scaler, "ckpt.pth"), namespace)
    assert torch.equal(namespace["y"], expected)


def test_a_bce_trained_model_predicts_probabilities_and_its_code_too(tmp_path, monkeypatch) -> None:
    from torchstart.builtin_datasets import make_builtin
    from torchstart.checkpoint_match import load_targets
    from torchstart.training import start_run, train, trained_model
    from torchstart.training_setup import BCE, TrainingConfig

    run = train(start_run(TrainingConfig(data="session", loss=BCE, optimizer="Adam", lr=0.05),
                          make_builtin("two_class")), 30)
    state = run.model.state_dict()
    target = load_targets(state, trained_model(run), None)["trained"]
    regression = trained_model(train(start_run(TrainingConfig()), 1))
    assert target.task == "binary"
    assert load_targets(regression.model.state_dict(), regression, None)["trained"].task == "regression"
    monkeypatch.chdir(tmp_path)
    torch.save(state, "two.pth")
    x = torch.tensor([[2.0, 2.0], [-2.0, -2.0]])
    namespace: dict = {}
    exec(predict_code(target.model, x, (), "", filename="two.pth", task="binary"), namespace)
    logits = predict(target.model, x)
    assert torch.equal(namespace["y"], logits)
    assert torch.equal(namespace["probability"], torch.sigmoid(logits))
    assert namespace["predicted_class"].flatten().tolist() == [1, 0]


def test_a_cross_entropy_model_predicts_class_probabilities_and_its_code_too(tmp_path, monkeypatch) -> None:
    from tests.test_training_core import CE_CONFIG, three_classes
    from torchstart.checkpoint_match import load_targets
    from torchstart.predictions import prediction_frame
    from torchstart.training import start_run, train, trained_model

    run = train(start_run(CE_CONFIG, three_classes()), 40)
    target = load_targets(run.model.state_dict(), trained_model(run), None)["trained"]
    assert target.task == "classes"
    x = torch.tensor([[-3.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    logits = predict(target.model, x)
    table = prediction_frame(x, logits, ["f0", "f1"], target.target_names, target.task,
                             class_column=target.class_column)
    assert list(table.columns[:5]) == ["f0", "f1", "P(setosa)", "P(versicolor)", "P(virginica)"]
    assert list(table.columns[-3:]) == ["logit setosa", "logit versicolor", "logit virginica"]
    assert torch.allclose(torch.tensor(table[["P(setosa)", "P(versicolor)", "P(virginica)"]].values),
                          torch.softmax(logits, 1).double(), atol=1e-6)
    assert table["predicted species"].tolist() == ["setosa", "versicolor", "virginica"]
    monkeypatch.chdir(tmp_path)
    torch.save(run.model.state_dict(), "three.pth")
    namespace: dict = {}
    exec(predict_code(target.model, x, (), "", filename="three.pth", task="classes"), namespace)
    assert torch.equal(namespace["probabilities"], torch.softmax(logits, 1))
    assert namespace["predicted_class"].tolist() == [0, 1, 2]


@pytest.mark.gpu
def test_cuda_model_saves_cpu_tensors_and_predicts() -> None:
    from torchstart.checkpoint_safety import safe_load, state_dict_bytes

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    x = torch.randn(5, 3)
    expected = predict(model, x)
    on_gpu = model.to("cuda")
    loaded = safe_load(state_dict_bytes(on_gpu)).obj
    assert all(t.device.type == "cpu" for t in loaded.values())
    got = predict(on_gpu, x)
    assert got.device.type == "cpu"
    assert torch.allclose(got, expected, atol=1e-5)


def test_saved_scalers_are_read_from_beside_the_model_part_and_only_when_usable() -> None:
    from torchstart.trained_file import saved_scalers, scaler_names, trained_checkpoint

    model = nn.Linear(2, 1)
    xs = Standardizer(torch.tensor([1.0, 2.0]), torch.tensor([0.5, 4.0]))
    checkpoint = trained_checkpoint(model, xs, None)
    assert scaler_names(xs, None) == ["x_mean", "x_std"] and list(checkpoint) == ["model", "x_mean", "x_std"]
    x, y = saved_scalers(checkpoint, ("model",))
    assert torch.equal(x.mean, xs.mean) and torch.equal(x.std, xs.std) and y is None
    assert saved_scalers(checkpoint, ()) == (None, None)  # a whole-file state_dict has nothing beside it
    assert trained_checkpoint(model) is not None and set(trained_checkpoint(model)) == {"weight", "bias"}
    for bad in ({"x_mean": torch.zeros(2), "x_std": torch.zeros(2)},            # std 0 would divide by zero
                {"x_mean": torch.zeros(2), "x_std": torch.ones(3)},             # shapes differ
                {"x_mean": torch.zeros(2, 1), "x_std": torch.ones(2, 1)},       # not one number per column
                {"x_mean": torch.tensor([0, 1]), "x_std": torch.tensor([1, 1])},  # integers: not statistics
                {"x_mean": torch.tensor([float("nan"), 0.0]), "x_std": torch.ones(2)},
                {"x_mean": [0.0, 1.0], "x_std": torch.ones(2)}):
        assert saved_scalers({"model": model.state_dict(), **bad}, ("model",)) == (None, None), bad


def test_typed_inputs_float32_cannot_hold_are_refused_with_the_reason() -> None:
    from torchstart.checkpoint_match import parse_inputs
    from torchstart.training_setup import parse_prediction_inputs

    for parse in (parse_inputs, parse_prediction_inputs):
        with pytest.raises(TorchstartError, match=r"holds 1e\+39, which float32 .* cannot hold: it stops at ±3.4e\+38"):
            parse("[[1e39]]", 1)
        with pytest.raises(TorchstartError, match=r"must hold finite numbers, but it reads -inf"):
            parse("[[-1e400]]", 1)
    with pytest.raises(TorchstartError, match="characters that cannot be read"):
        parse_inputs("[[\ud800]]", 1)


@pytest.mark.parametrize("tensor", [torch.randn(40, 37), torch.randn(30, 40)[:, ::3], torch.randn(1).expand(5000),
                                    torch.randn(6, 50, 7).transpose(0, 2), torch.tensor([1.0, float("nan"), 2.0]),
                                    torch.tensor([float("inf"), 1.0]), torch.arange(11)],
                         ids=["dense", "stepped", "expanded", "transposed", "nan", "inf", "int"])
def test_statistics_and_histogram_read_in_pieces_equal_torchs_in_one_go(tensor, monkeypatch) -> None:
    from torchstart import checkpoint_inspect
    from torchstart.checkpoint_figures import value_histogram

    monkeypatch.setattr(checkpoint_inspect, "PIECE", 64)  # many pieces, cut along each kind of layout
    values = tensor.double().reshape(-1)
    expected = {"mean": values.mean().item(), "std": values.std().item(), "min": values.min().item(),
                "max": values.max().item()}
    shown = tensor_stats(tensor)
    for name, value in expected.items():
        assert shown[name] == pytest.approx(value, rel=1e-9, abs=1e-12, nan_ok=True), name
    finite = values[torch.isfinite(values)]
    low, high = finite.min().item(), finite.max().item()
    low, high = (low - 0.5, high + 0.5) if low == high else (low, high)
    assert torch.equal(value_histogram(tensor)[0], torch.histogram(finite, bins=40, range=(low, high))[0])
