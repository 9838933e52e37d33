"""Unusual .pth files: each is inspected, loaded or refused with a message, never a traceback or a hang."""

from __future__ import annotations

import contextlib
import io
import re
import runpy
import time
import warnings
from pathlib import Path

import pytest
import torch

from tests.test_checkpoints_page import PAGE, open_with, upload
from torchstart import session
from torchstart.session import SessionModel
from torchstart import checkpoint_safety as safety
from torchstart.checkpoint_code import predict_code
from torchstart.checkpoint_figures import value_histogram
from torchstart.checkpoint_inspect import (MAX_DEPTH, MAX_NODES, cut_note, entry_table, state_dict_parts,
                                           summarize_tree, tensor_entries, tensor_stats, totals)
from torchstart.checkpoint_match import (MAX_TYPED_WIDTH, compare_keys, infer_linear, linear_problem, load_strict,
                                         parse_inputs, predict)
from torchstart.errors import TorchstartError


def saved(obj) -> bytes:
    """torch.save(obj) into bytes."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def quantized() -> torch.Tensor:
    """A qint8 tensor (its creation functions warn that they are deprecated)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.quantize_per_tensor(torch.tensor([[-0.5, 0.0, 1.9]]), 0.1, 0, torch.qint8)


def test_truncated_zip_is_called_truncated() -> None:
    # It starts with the zip magic, so "does not start like a zip (its first bytes are 50 4b 03 04,
    # a zip starts with 50 4b 03 04)" contradicted itself.
    data = saved(torch.nn.Linear(3, 2).state_dict())
    for cut in (data[: len(data) // 2], data[:-10]):
        with pytest.raises(safety.CheckpointRefused) as err:
            safety.safe_load(cut, "cut.pth")
        assert err.value.step == "zip"
        message = str(err.value)
        assert "truncated" in message and "upload the whole file" in message and "first bytes" not in message


@pytest.mark.filterwarnings("ignore:TypedStorage is deprecated")  # torch's own quantized-tensor loader
def test_quantized_tensor_gets_its_statistics_and_histogram() -> None:
    checkpoint = safety.safe_load(saved({"weight": quantized()}), "q.pth")
    row = entry_table(tensor_entries(checkpoint.obj)).iloc[0]
    assert row["dtype"] == "qint8" and row["bytes"] == 3
    assert (row["min"], row["max"]) == pytest.approx((-0.5, 1.9))
    counts, _ = value_histogram(checkpoint.obj["weight"], bins=4)
    assert counts.sum().item() == 3


def test_meta_tensor_has_no_values_to_show_or_load() -> None:
    checkpoint = safety.safe_load(saved({"weight": torch.empty(2, 3, device="meta")}), "meta.pth")
    weight = checkpoint.obj["weight"]
    assert all(v != v for v in tensor_stats(weight).values())  # NaN: undefined
    with pytest.raises(TorchstartError, match="meta tensor"):
        value_histogram(weight)
    # No nn.Linear is built from its shape (a sparse or meta file could name any size), and loading refuses it.
    assert infer_linear(checkpoint.obj) is None
    assert "this file's weight is a meta tensor" in linear_problem(checkpoint.obj)
    with pytest.raises(TorchstartError, match="weight is a meta tensor"):
        load_strict(torch.nn.Linear(3, 2, bias=False), checkpoint.obj)


def test_a_sparse_tensor_counts_the_bytes_it_stores_not_its_dense_size() -> None:
    dense = torch.zeros(1000, 1000)
    dense[0, 0], dense[5, 5], dense[9, 9] = 1, 2, 3
    checkpoint = safety.safe_load(saved({"adjacency": dense.to_sparse(), "bias": torch.ones(4)}), "sparse.pth")
    entries = tensor_entries(checkpoint.obj)
    # 3 float32 values and a 2 x 3 int64 index: 60 bytes, not the 4,000,000 of a dense 1000 x 1000
    assert entry_table(entries)["bytes"].tolist() == [3 * 4 + 2 * 3 * 8, 16]
    assert totals(entries).bytes == 76 and totals(entries).numel == 1_000_004


def packed_fp4() -> torch.Tensor:
    """Eight 4-bit floats packed two to a byte, as NVFP4/MXFP4-quantized checkpoints store weights."""
    return torch.arange(4, dtype=torch.uint8).reshape(2, 2).view(torch.float4_e2m1fn_x2)


@pytest.mark.parametrize("weight", [packed_fp4(), torch.arange(6, dtype=torch.uint8).reshape(2, 3).view(torch.bits8)],
                         ids=["float4_e2m1fn_x2", "bits8"])
def test_packed_bits_have_no_statistics_or_histogram_and_a_message_on_load(weight: torch.Tensor, open_page) -> None:
    # .to(torch.float64) raises NotImplementedError for these: the page showed a traceback after all four checks.
    checkpoint = safety.safe_load(saved({"weight": weight, "scale": torch.ones(2)}), "fp4.pth")
    table = entry_table(tensor_entries(checkpoint.obj))
    assert all(v != v for v in table.iloc[0][["mean", "std", "min", "max"]])  # NaN: undefined
    assert table.iloc[1]["mean"] == 1.0
    with pytest.raises(TorchstartError, match="no one number per element"):
        value_histogram(checkpoint.obj["weight"])
    dtype = str(weight.dtype).removeprefix("torch.")
    with pytest.raises(TorchstartError, match=re.escape(f"weight is a tensor of packed bits ({dtype})")):
        load_strict(torch.nn.Linear(weight.shape[1], 2, bias=False), {"weight": weight})
    at = upload(open_page(PAGE), "fp4.pth", saved({"weight": weight, "scale": torch.ones(2)}))
    assert not at.exception and "passed all four checks" in at.success[0].value


@pytest.mark.parametrize(("weight", "kind"), [
    (torch.eye(2, 3).to_sparse(), "a sparse tensor (sparse_coo)"),
    (quantized(), "a quantized tensor (qint8)"),
])
def test_weights_load_state_dict_cannot_copy_get_a_message(weight: torch.Tensor, kind: str) -> None:
    model = torch.nn.Linear(3, weight.shape[0], bias=False)
    with pytest.raises(TorchstartError, match=re.escape(f"weight is {kind}")):
        load_strict(model, {"weight": weight})


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16, torch.float8_e4m3fn])
def test_inferred_linear_predicts_as_its_show_code_does(dtype: torch.dtype, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # The Linear took the file's dtype (float64 gave other numbers than the printed nn.Linear(...), a
    # float32 layer; float8 crashed building it): it is float32 now, and load_state_dict casts.
    torch.manual_seed(0)
    state = {k: v.to(dtype) for k, v in torch.nn.Linear(3, 2).state_dict().items()}
    data = saved(state)
    checkpoint = safety.safe_load(data, "typed.pth")
    model = load_strict(infer_linear(checkpoint.obj), checkpoint.obj)
    assert model.weight.dtype == torch.float32
    assert torch.equal(model.weight, state["weight"].float())
    x = torch.tensor([[0.5, -1.0, 2.0]])
    y = predict(model, x)
    (tmp_path / "typed.pth").write_bytes(data)
    (tmp_path / "code.py").write_text(predict_code(model, x, (), "", None, None, "typed.pth"))
    monkeypatch.chdir(tmp_path)
    with contextlib.redirect_stdout(io.StringIO()):
        assert torch.equal(runpy.run_path(str(tmp_path / "code.py"))["y"], y)


def test_shared_references_cannot_make_the_walk_explode() -> None:
    # 8 references to a list of 8 references ... eleven times: a 2 KB file with 8**11 paths. Finding
    # the model parts walked every path, and hung.
    nested = [torch.zeros(1)]
    for _ in range(11):
        nested = [nested] * 8
    data = saved(nested)
    assert len(data) < 4096
    checkpoint = safety.safe_load(data, "dag.pth")
    start = time.perf_counter()
    assert state_dict_parts(checkpoint.obj) == []
    outline = summarize_tree(checkpoint.obj)
    assert len(str(outline)) < 500_000 and "list (not expanded)" in str(outline)
    assert len(tensor_entries(checkpoint.obj, limit=10 * MAX_NODES)) < MAX_NODES
    assert time.perf_counter() - start < 20


def test_page_shows_a_message_for_weights_it_cannot_load(open_page) -> None:
    at = upload(open_page(PAGE), "sparse.pth", saved({"weight": torch.eye(2, 3).to_sparse()}))
    assert "passed all four checks" in at.success[0].value
    assert not at.error
    assert "this file's weight is a sparse tensor (sparse_coo)" in at.info[0].value


@pytest.mark.parametrize("first, shape, flat", [(torch.nn.BatchNorm2d(1), (1, 4, 4), 16),
                                                (torch.nn.Identity(), (3, 4), 12)],
                         ids=["batchnorm2d_first", "two_dim_sample"])
def test_a_models_page_model_that_takes_no_flat_row_is_not_offered_typed_rows(open_page, first, shape,
                                                                              flat) -> None:
    # Its first Linear's in_features is not what one sample is: typed rows could never run.
    def build() -> torch.nn.Module:
        return torch.nn.Sequential(first, torch.nn.Flatten(), torch.nn.Linear(flat, 2))

    module = build()
    built = SessionModel("Net", module, build, shape, (2,))
    at = open_with(open_page, **{session.MODEL: built})
    upload(at, "net.pth", saved(module.state_dict()))
    assert at.radio(key="checkpoints.target").value == "models" and not at.error
    shown = ", ".join(map(str, shape))
    assert any(f"takes a ({shown}) tensor per sample" in i.value for i in at.info)
    assert "checkpoints.inputs" not in [t.key for t in at.text_input]


@pytest.mark.parametrize("state, reason", [
    ({"weight": torch.ones(1, 2, dtype=torch.int64), "bias": torch.zeros(1)}, "this weight is int64"),
    ({"weight": torch.ones(1, 2), "bias": torch.zeros(3)}, "one number per output ([1]), but this bias is [3]"),
    ({"weight": torch.ones(2)}, "2-D (out_features, in_features), but this weight is [2]"),
], ids=["integer_weight", "bias_of_another_size", "one_dim_weight"])
def test_no_model_to_load_into_says_why_the_pair_is_no_linear(open_page, state, reason) -> None:
    at = upload(open_page(PAGE), "pair.pth", saved(state))
    (info,) = [i.value for i in at.info if "No model to load into yet" in i.value]
    assert "cannot become an nn.Linear: an nn.Linear's" in info and reason in info
    assert "upload a file holding just" not in info  # the old advice asked for exactly this file


def test_a_new_file_preselects_the_model_it_fits(open_page) -> None:
    mlp = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    built = SessionModel("MLP", mlp, lambda: mlp, (3,), (1,))
    at = open_with(open_page, **{session.MODEL: built})
    upload(at, "mlp.pth", saved(mlp.state_dict()))
    assert at.radio(key="checkpoints.target").value == "models"
    # A lone weight/bias pair fits an inferred nn.Linear, not the MLP: the remembered choice gives way.
    upload(at, "line.pth", saved({"weight": torch.ones(1, 2), "bias": torch.zeros(1)}))
    assert at.radio(key="checkpoints.target").value == "linear" and not at.error
    at.radio(key="checkpoints.target").set_value("models").run()  # the learner's own pick for this file stays
    assert at.radio(key="checkpoints.target").value == "models"
    at.run()
    assert at.radio(key="checkpoints.target").value == "models"


@pytest.mark.parametrize("text, message", [
    ("", "The input box is empty: type rows of numbers, e.g. [[0.5, 1.0], [2.0, -1.0]]."),
    ("[[1, 2]", "Write rows of numbers, e.g. [[0.5, 1.0], [2.0, -1.0]]."),
    ("[[x, 2]]", "The input box may only hold numbers and square brackets"),
])
def test_the_input_box_messages_speak_of_rows(text: str, message: str) -> None:
    with pytest.raises(TorchstartError) as caught:
        parse_inputs(text, 2)
    assert message in str(caught.value)


@pytest.mark.parametrize("obj, says", [(torch.ones(2, 3), "a single tensor (torch.save(tensor) wrote it)"),
                                       ({}, "an empty `dict`: no tensors at all"),
                                       ({"model": {"w": torch.ones(1)}, "epoch": 3},
                                        "a `dict` whose values are not all tensors")],
                         ids=["tensor", "empty_dict", "training_checkpoint"])
def test_a_file_that_is_no_flat_state_dict_says_what_it_is(open_page, obj, says) -> None:
    at = upload(open_page(PAGE), "other.pth", saved(obj))
    assert any(m.value.startswith(f"Not a flat state_dict but {says}") for m in at.markdown)


def test_integer_statistics_say_they_come_from_a_float64_copy(open_page) -> None:
    bn = torch.nn.BatchNorm1d(2)  # its num_batches_tracked is an int64 buffer
    at = upload(open_page(PAGE), "bn.pth", saved(bn.state_dict()))
    (note,) = [c.value for c in at.caption if c.value.startswith("Integer and bool tensors")]
    assert "(num_batches_tracked)" in note and "`t.double().mean()`" in note
    with pytest.raises(RuntimeError, match="Input dtype must be either a floating point"):
        bn.num_batches_tracked.mean()  # what the note says torch itself does
    at = upload(open_page(PAGE), "line.pth", saved(torch.nn.Linear(2, 1).state_dict()))
    assert not [c for c in at.caption if c.value.startswith("Integer and bool tensors")]


def test_a_missing_batchnorm_counter_is_judged_as_torch_judges_it() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    rebuilt = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    loaded = safety.safe_load(saved(rebuilt)).obj  # a plain dict: no layer versions
    report = compare_keys(model, loaded)
    assert report.ok and report.filled == ["1.num_batches_tracked"]
    torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3)).load_state_dict(loaded, strict=True)
    versioned = model.state_dict()  # keeps _metadata: BatchNorm version 2 expects the counter
    del versioned["1.num_batches_tracked"]
    loaded = safety.safe_load(saved(versioned)).obj
    report = compare_keys(model, loaded)
    assert report.missing == ["1.num_batches_tracked"] and not report.ok
    with pytest.raises(RuntimeError, match="Missing key"):
        torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3)).load_state_dict(loaded, strict=True)


def test_a_layer_error_other_than_runtime_error_is_a_message() -> None:
    with pytest.raises(TorchstartError, match=r"could not run on these inputs: expected 4D input \(got 2D input\)"):
        predict(torch.nn.BatchNorm2d(1), torch.zeros(2, 3))  # BatchNorm2d raises ValueError


def test_page_does_not_offer_to_type_a_very_wide_row(open_page) -> None:
    # A 1 x 5,000 weight prefilled a 25,000-character box that the inputs parser refuses, with
    # advice ("use a factory such as zeros") that does not exist on this page.
    width = MAX_TYPED_WIDTH + 1
    at = upload(open_page(PAGE), "wide.pth", saved({"weight": torch.ones(1, width), "bias": torch.zeros(1)}))
    assert not at.error
    assert any(f"takes {width:,} numbers per input row" in i.value for i in at.info)
    assert "checkpoints.inputs" not in [t.key for t in at.text_input]


def test_a_walk_cut_short_says_so() -> None:
    whole: set[str] = set()
    assert len(tensor_entries({"w": torch.ones(2), "b": [torch.zeros(1)]}, cut=whole)) == 2
    assert whole == set() and cut_note(whole) is None
    deep: object = {"w": torch.ones(1)}
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    cut: set[str] = set()
    assert tensor_entries(deep, cut=cut) == [] and cut == {"depth"}
    assert cut_note(cut) == (f"Not every tensor in this file is counted here: containers nested more than "
                             f"{MAX_DEPTH} levels deep were not opened.")
    shared = [torch.zeros(1)]
    for _ in range(11):
        shared = [shared] * 8
    cut = set()
    tensor_entries(shared, limit=10 * MAX_NODES, cut=cut)
    assert cut == {"values"} and f"only the first {MAX_NODES:,} values were looked at" in cut_note(cut)
    cut = set()
    assert len(tensor_entries([torch.zeros(1)] * 5, limit=3, cut=cut)) == 3 and cut == {"tensors"}


def test_page_notes_a_file_nested_too_deep(open_page) -> None:
    deep: object = {"w": torch.ones(1)}
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    at = upload(open_page(PAGE), "deep.pth", saved(deep))
    assert not at.exception
    assert any("containers nested more than" in c.value for c in at.caption)


def test_statistics_cells_say_nan_or_dash_never_none(open_page) -> None:
    """st.dataframe prints NaN as "None"; the page shows torch's nan, or "—" where no statistic applies."""
    at = open_page(PAGE)
    saved_table = at.dataframe[0].value.set_index("key")
    assert saved_table.loc["bias", "std"] == "nan"  # one number: torch.std divides by n - 1 = 0
    assert float(saved_table.loc["weight", "mean"]) == pytest.approx(float(saved_table.loc["weight", "min"]))
    assert any("Bessel's correction" in c.value for c in at.caption)
    file = saved({"weight": torch.ones(2, 2), "empty": torch.zeros(0), "one": torch.tensor([3.0]),
                  "sparse": torch.eye(2).to_sparse()})
    at = upload(at, "mixed.pth", file)
    table = at.dataframe[-1].value.set_index("key")  # AppTest does not expose dataframe keys
    assert table.loc["weight", ["mean", "std", "min", "max"]].tolist() == ["1", "0", "1", "1"]
    assert table.loc["one", ["mean", "std"]].tolist() == ["3", "nan"]
    assert table.loc["empty", ["mean", "std", "min", "max"]].tolist() == ["—"] * 4
    assert table.loc["sparse", ["mean", "std", "min", "max"]].tolist() == ["—"] * 4


def test_a_sparse_tensor_claiming_a_huge_dense_shape_is_refused_before_any_model_is_built() -> None:
    # 2 KB on disk; an nn.Linear inferred from its shape would allocate 10^14 floats.
    huge = torch.sparse_coo_tensor([[0], [0]], [1.0], (10**7, 10**7), check_invariants=True)
    with pytest.raises(safety.CheckpointRefused) as refused:
        safety.safe_load(saved({"weight": huge}), "sparse.pth")
    assert refused.value.step == "load"
    assert "The largest, weight, is a sparse_coo tensor of shape [10000000, 10000000]" in str(refused.value)
    # Within the cap it loads, and still no nn.Linear is made of it.
    sparse = torch.sparse_coo_tensor([[0], [0]], [1.0], (300, 300), check_invariants=True)
    small = safety.safe_load(saved({"weight": sparse}), "s.pth")
    assert infer_linear(small.obj) is None and "weight is a sparse tensor" in linear_problem(small.obj)
    assert "0 columns" in linear_problem({"weight": torch.zeros(10**6, 0), "bias": torch.zeros(10**6)})


def test_millions_of_pickled_objects_are_refused_from_the_zip_directory() -> None:
    data = saved(list(range(2_000_000)))  # no tensor at all: a 2M-item list unpickles into 100+ MB of objects
    with pytest.raises(safety.CheckpointRefused) as refused:
        safety.safe_load(data, "lists.pth")
    assert refused.value.step == "zip" and "data.pkl" in str(refused.value) and "limit is 8.0 MB" in str(refused.value)


def test_a_hostile_metadata_attribute_gets_a_message_not_a_traceback(open_page) -> None:
    from collections import OrderedDict

    state = OrderedDict(weight=torch.ones(1, 2), bias=torch.zeros(1))
    state._metadata = 5  # torch's own load_state_dict calls .get on it
    at = upload(open_page(PAGE), "meta.pth", saved(state))
    assert not at.exception
    assert "_metadata attribute" in at.error[0].value
    batchnorm = OrderedDict(torch.nn.BatchNorm1d(2).state_dict())
    batchnorm._metadata = {"": {"version": "x"}}
    assert compare_keys(torch.nn.BatchNorm1d(2), batchnorm).ok  # read as torch would, without a TypeError
    with pytest.raises(TorchstartError, match="_metadata attribute"):
        load_strict(torch.nn.BatchNorm1d(2), batchnorm)


def test_saved_statistics_that_do_not_fit_the_model_get_a_message(open_page) -> None:
    model = {"weight": torch.eye(2), "bias": torch.zeros(2)}
    file = {"model": model, "x_mean": torch.zeros(2), "x_std": torch.ones(2),
            "y_mean": torch.zeros(3), "y_std": torch.ones(3)}
    at = upload(open_page(PAGE), "odd.pth", saved(file))
    assert not at.exception
    assert "y_mean holds 3 numbers but the model gives 2 outputs per row" in at.error[0].value


def test_a_model_with_thousands_of_outputs_gets_no_table(open_page) -> None:
    at = upload(open_page(PAGE), "wide.pth", saved({"weight": torch.zeros(2_000, 1), "bias": torch.zeros(2_000)}))
    assert not at.exception
    assert any("gives 2,000 outputs per row, more than the 1,000" in i.value for i in at.info)
    assert "checkpoints.predictions" not in [d.key for d in at.dataframe]


def test_keys_that_read_alike_are_told_apart() -> None:
    from torchstart.checkpoint_inspect import path_label, unique_labels

    obj = {"a/b": {"weight": torch.zeros(2, 2)}, "a": {"b": {"weight": torch.zeros(3, 3)}}}
    labels = unique_labels([path_label(p) for p in state_dict_parts(obj)])
    assert sorted(labels) == ["a/b", "a/b (2)"]
    assert unique_labels(["0", "0", "x", "0"]) == ["0", "0 (2)", "x", "0 (3)"]
