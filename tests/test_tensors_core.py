"""Tensors page core: factories, the op chain, error messages and 'Show code', against plain torch."""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import replace

import numpy as np
import pytest
import torch

from torchstart.errors import TorchstartError
from torchstart.tensor_code import chain_code, numpy_demo_code, view_demo_code
from torchstart.tensor_figures import (broadcast_frame, heatmap_figure, storage_figure, storage_formula,
                                       storage_positions, values_frame)
from torchstart.tensor_ops import (OPS, OpStep, apply_chain, apply_step, explain_broadcast, keepdim_problem,
                                   make_step, parse_index, suggest_argument)
from torchstart.tensor_memory import numpy_demo, view_demo
from torchstart.tensors import (FACTORIES, MAX_ELEMENTS, TensorSpec, build_tensor, build_tensor_with_warnings,
                                describe, parse_shape, shares_memory, spec_from_inputs)


def same(a: torch.Tensor, b: torch.Tensor) -> None:
    """Identical values (NaN equal to NaN), dtype and shape."""
    assert a.shape == b.shape and a.dtype == b.dtype and a.device == b.device
    torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)


def run_code(code: str) -> dict:
    """Execute our own generated code (never learner text) and return its variables."""
    namespace: dict = {}
    exec(compile(code, "<generated>", "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace


# ---------------------------------------------------------------- factories vs plain torch

FACTORY_CASES = [
    (TensorSpec(factory="tensor", data=[[1, 2], [3, 4]]), torch.tensor([[1, 2], [3, 4]])),
    (TensorSpec(factory="tensor", data=[1.5, -2], dtype="float64"), torch.tensor([1.5, -2.0], dtype=torch.float64)),
    (TensorSpec(factory="tensor", data=[True, False]), torch.tensor([True, False])),
    (TensorSpec(factory="tensor", data=3), torch.tensor(3)),
    (TensorSpec(factory="zeros", shape=(2, 3)), torch.zeros(2, 3)),
    (TensorSpec(factory="ones", shape=(4,), dtype="int32"), torch.ones(4, dtype=torch.int32)),
    (TensorSpec(factory="full", shape=(2, 2), fill_value=7), torch.full((2, 2), 7)),
    (TensorSpec(factory="full", shape=(3,), fill_value=0.5, dtype="float16"),
     torch.full((3,), 0.5, dtype=torch.float16)),
    (TensorSpec(factory="arange", start=0, end=6, step=2), torch.arange(0, 6, 2)),
    (TensorSpec(factory="arange", start=1, end=0, step=-0.25), torch.arange(1, 0, -0.25)),
    (TensorSpec(factory="linspace", start=0.0, end=1.0, steps=5), torch.linspace(0, 1, 5)),
    (TensorSpec(factory="eye", n=3, m=2, dtype="bool"), torch.eye(3, 2, dtype=torch.bool)),
    (TensorSpec(factory="rand", shape=(2, 3), seed=1),
     torch.rand(2, 3, generator=torch.Generator().manual_seed(1))),
    (TensorSpec(factory="randn", shape=(4,), seed=2, dtype="float64", requires_grad=True),
     torch.randn(4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)),
    (TensorSpec(factory="randint", low=-3, high=3, shape=(5,), seed=3),
     torch.randint(-3, 3, (5,), generator=torch.Generator().manual_seed(3))),
    (TensorSpec(factory="randn", shape=(2, 2), dtype="bfloat16"),
     torch.randn(2, 2, generator=torch.Generator().manual_seed(0), dtype=torch.bfloat16)),
]


@pytest.mark.parametrize("spec,expected", FACTORY_CASES, ids=lambda v: getattr(v, "factory", ""))
def test_factory_matches_plain_torch(spec: TensorSpec, expected: torch.Tensor) -> None:
    built = build_tensor(spec)
    same(built.detach(), expected)
    assert built.requires_grad == spec.requires_grad


@pytest.mark.parametrize("spec,expected", FACTORY_CASES, ids=lambda v: getattr(v, "factory", ""))
def test_factory_code_reproduces_the_tensor(spec: TensorSpec, expected: torch.Tensor) -> None:
    namespace = run_code(chain_code(spec, []))
    same(namespace["x"].detach(), build_tensor(spec).detach())
    assert namespace["x"].requires_grad == spec.requires_grad


def test_every_factory_is_covered() -> None:
    assert {spec.factory for spec, _ in FACTORY_CASES} == set(FACTORIES)


def test_seed_makes_random_factories_repeatable() -> None:
    a, b = build_tensor(TensorSpec(factory="randn", seed=5)), build_tensor(TensorSpec(factory="randn", seed=5))
    c = build_tensor(TensorSpec(factory="randn", seed=6))
    assert torch.equal(a, b) and not torch.equal(a, c)


BAD_SPECS = [
    (TensorSpec(factory="zeros", shape=(1001, 1000)), "1,001,000 elements"),
    (TensorSpec(factory="eye", n=2000, m=1000), "caps tensors"),
    (TensorSpec(factory="arange", start=0, end=2_000_000, step=1), "caps tensors"),
    (TensorSpec(factory="linspace", steps=MAX_ELEMENTS + 1), "caps tensors"),
    (TensorSpec(factory="arange", start=0, end=5, step=0), "step cannot be 0"),
    (TensorSpec(factory="arange", start=0, end=-5, step=1), "wrong way"),
    (TensorSpec(factory="zeros", dtype="int64", requires_grad=True), "floating-point"),
    (TensorSpec(factory="tensor", data=[1, 2], requires_grad=True), "int64"),
    (TensorSpec(factory="rand", dtype="int64"), "floating dtype"),
    (TensorSpec(factory="arange", dtype="bool"), "bool"),
    (TensorSpec(factory="randint", low=5, high=5), "bigger than low"),
    (TensorSpec(factory="randint", low=-5, high=10, dtype="uint8"), "uint8 holds 0"),
    (TensorSpec(factory="randint", low=0, high=10, dtype="bool"), "bool holds 0 … 1"),
    (TensorSpec(factory="tensor", data=[[1, 2], [3]]), "same number of entries"),
    (TensorSpec(factory="tensor", data=[300], dtype="int8"), "does not fit"),
]


@pytest.mark.parametrize("spec,message", BAD_SPECS, ids=[m for _, m in BAD_SPECS])
def test_bad_specs_are_refused_with_a_reason(spec: TensorSpec, message: str) -> None:
    with pytest.raises(TorchstartError, match=message):
        build_tensor(spec)


def test_cap_is_checked_before_allocating(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args, **kwargs):  # would allocate: must never be reached
        raise AssertionError("allocated")

    monkeypatch.setattr(torch, "zeros", explode)
    with pytest.raises(TorchstartError, match="caps tensors"):
        build_tensor(TensorSpec(factory="zeros", shape=(10_000, 10_000)))


@pytest.mark.parametrize("inputs,field,value", [
    ({"factory": "tensor", "literal": "[[1, 2], [3, 4]]"}, "data", [[1, 2], [3, 4]]),
    ({"factory": "zeros", "shape": "(2, 3)"}, "shape", (2, 3)),
    ({"factory": "full", "shape": "2", "fill": "-1.5"}, "fill_value", -1.5),
    ({"factory": "arange", "start": "1", "end": "4", "step": "0.5"}, "step", 0.5),
    ({"factory": "eye", "n": 4, "m": 2}, "m", 2),
])
def test_spec_from_inputs_parses_text(inputs: dict, field: str, value) -> None:
    assert getattr(spec_from_inputs(inputs), field) == value


@pytest.mark.parametrize("inputs", [
    {"factory": "tensor", "literal": "__import__('os').system('x')"},
    {"factory": "tensor", "literal": "[1, 2"},
    {"factory": "zeros", "shape": "2, -3"},
    {"factory": "zeros", "shape": "2.5"},
    {"factory": "zeros", "shape": "1, 1, 1, 1, 1, 1, 1"},
    {"factory": "full", "shape": "2", "fill": "[1]"},
    {"factory": "arange", "start": "True", "end": "4", "step": "1"},
    {"factory": "eye", "n": 10**7, "m": 1},
    {"factory": "nope"},
])
def test_spec_from_inputs_refuses_bad_text(inputs: dict) -> None:
    with pytest.raises(TorchstartError):
        spec_from_inputs(inputs)


def test_parse_shape_accepts_common_spellings() -> None:
    assert parse_shape("2, 3") == parse_shape("(2, 3)") == parse_shape("[2, 3]") == (2, 3)
    assert parse_shape("5") == (5,) and parse_shape("()") == ()


# ---------------------------------------------------------------- metadata

def test_describe_reports_what_torch_reports() -> None:
    base = torch.arange(12.0).reshape(3, 4)
    t = base[1:, ::2]
    rows = {r.name: r.value for r in describe(t)}
    assert rows["shape"] == "(2, 2)" and rows["stride()"] == str(t.stride()) == "(4, 2)"
    assert rows["storage_offset()"] == "4" and rows["is_contiguous()"] == "False"
    assert rows["nbytes"] == f"{t.numel() * 4} bytes" and rows["element_size()"] == "4 bytes"
    assert rows["untyped_storage().data_ptr()"] == hex(base.untyped_storage().data_ptr())
    assert rows["data_ptr()"] == hex(base.data_ptr() + 4 * 4)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int8, torch.bfloat16, torch.bool])
def test_nbytes_is_numel_times_the_element_size(dtype: torch.dtype) -> None:
    t = torch.zeros(3, 5, dtype=dtype)[:, ::2]
    rows = {r.name: r.value for r in describe(t)}
    assert rows["nbytes"] == f"{t.numel() * t.element_size():,} bytes" == f"{t.nbytes:,} bytes"
    assert rows["element_size()"] == f"{t.element_size()} bytes"


def test_storages_that_only_touch_do_not_share_memory() -> None:
    buffer = bytearray(16)
    with warnings.catch_warnings():  # frombuffer warns that a bytearray is writable, which is the point here
        warnings.simplefilter("ignore")
        first = torch.frombuffer(buffer, dtype=torch.uint8, count=8)
        after, overlapping = (torch.frombuffer(buffer, dtype=torch.uint8, count=8, offset=k) for k in (8, 4))
    assert not shares_memory(first, after) and not shares_memory(after, first)  # bytes 0-7 and 8-15
    assert shares_memory(first, overlapping) and shares_memory(overlapping, after)  # 4-11 meets both


def test_shares_memory_for_views_not_copies() -> None:
    x = torch.arange(6).reshape(2, 3)
    assert shares_memory(x, x.t()) and shares_memory(x, x[1, 1:])
    assert not shares_memory(x, x.t().reshape(-1)) and not shares_memory(x, x.clone())


def test_views_of_empty_tensors_share_memory() -> None:
    x = torch.zeros(2, 0)
    assert x.untyped_storage().nbytes() == 0  # no address range to compare: torch still calls these views
    view = x.view(0, 2)
    assert view._base is x and view.untyped_storage() is x.untyped_storage()
    assert shares_memory(view, x) and shares_memory(x.t(), x) and shares_memory(x[:, :0].t(), x.t())
    assert not shares_memory(x.clone(), x) and not shares_memory(torch.zeros(0), torch.zeros(0))


def test_empty_view_steps_are_reported_as_views() -> None:
    steps = [make_step("transpose", "0, 1"), make_step("view", "0, 2"), make_step("reshape", "-1"),
             make_step("numpy"), make_step("add", "[1.0]")]
    results = apply_chain(torch.zeros(2, 0), steps)
    assert [r.shares_memory for r in results] == [True, True, True, True, False]
    assert all("had to copy" not in r.note for r in results)
    assert results[1].note.startswith("A view") and results[2].note.startswith("A view")


def test_contiguity_meaning_says_when_view_works() -> None:
    t = torch.arange(6.0).reshape(2, 3).t()
    meaning = next(r.meaning for r in describe(t) if r.name == "is_contiguous()")
    assert "will fail" not in meaning and "fits the existing strides" in meaning
    assert t.view(3, 2, 1).shape == (3, 2, 1)  # the example the text gives works ...
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        t.view(-1)  # ... and flattening fails, as it says


# ---------------------------------------------------------------- the chain vs plain torch

X = torch.arange(6.0).reshape(2, 3)
OP_CASES = [
    ("reshape", "3, -1", lambda x: x.reshape(3, -1)),
    ("view", "6", lambda x: x.view(6)),
    ("transpose", "0, 1", lambda x: x.transpose(0, 1)),
    ("permute", "1, 0", lambda x: x.permute(1, 0)),
    ("squeeze", "", lambda x: x.unsqueeze(0).squeeze()),  # the chain's input gets an unsqueeze first
    ("unsqueeze", "-1", lambda x: x.unsqueeze(-1)),
    ("index", "..., 1:", lambda x: x[..., 1:]),
    ("add", "[10, 20, 30]", lambda x: x + torch.tensor([10, 20, 30])),
    ("sub", "[[1], [2]]", lambda x: x - torch.tensor([[1], [2]])),
    ("mul", "2.5", lambda x: x * torch.tensor(2.5)),
    ("div", "[0.0, 1.0, 2.0]", lambda x: x / torch.tensor([0.0, 1.0, 2.0])),  # 0/0 = nan, 1/0 = inf
    ("matmul", "[[1.0], [0.0], [2.0]]", lambda x: x @ torch.tensor([[1.0], [0.0], [2.0]])),
    ("sum", "1", lambda x: x.sum(dim=1)),
    ("mean", "", lambda x: x.mean()),
    ("max", "0", lambda x: x.max(dim=0).values),
    ("to", "", lambda x: x.to(torch.int32)),
    ("contiguous", "", lambda x: x.t().contiguous()),  # the chain's input gets a transpose first
    ("numpy", "", lambda x: torch.from_numpy(x.numpy())),
]


def _steps_for(kind: str, text: str) -> list[OpStep]:
    """The step under test, behind a helper step where the case needs one."""
    step = make_step(kind, text, dtype="int32")
    if kind == "squeeze":
        return [make_step("unsqueeze", "0"), step]
    if kind == "contiguous":
        return [make_step("transpose", "0, 1"), step]
    return [step]


@pytest.mark.parametrize("kind,text,expected", OP_CASES, ids=[c[0] for c in OP_CASES])
def test_op_matches_plain_torch(kind: str, text: str, expected) -> None:
    results = apply_chain(X.clone(), _steps_for(kind, text))
    assert all(r.error is None for r in results), [str(r.error) for r in results]
    same(results[-1].tensor, expected(X.clone()))


@pytest.mark.parametrize("kind,text,expected", OP_CASES, ids=[c[0] for c in OP_CASES])
def test_chain_code_reproduces_every_step(kind: str, text: str, expected) -> None:
    spec = TensorSpec(factory="arange", start=0.0, end=6.0, step=1.0)
    steps = [make_step("reshape", "2, 3"), *_steps_for(kind, text)]
    results = apply_chain(build_tensor(spec), steps)
    namespace = run_code(chain_code(spec, steps))
    for res in results:
        same(namespace[f"x{res.index}"], res.tensor)


def test_every_op_kind_is_covered() -> None:
    assert {kind for kind, _, _ in OP_CASES} == set(OPS)


def test_keepdim_and_chain_code_with_requires_grad() -> None:
    spec = TensorSpec(factory="randn", shape=(2, 3, 4), seed=4, requires_grad=True)
    steps = [make_step("sum", "1", keepdim=True), make_step("permute", "2, 0, 1"), make_step("index", "[0, 3], 0"),
             make_step("numpy"), make_step("max", "-1", keepdim=True)]
    results = apply_chain(build_tensor(spec), steps)
    assert [tuple(r.tensor.shape) for r in results] == [(2, 1, 4), (4, 2, 1), (2, 1), (2, 1), (2, 1)]
    assert results[0].tensor.requires_grad and not results[3].tensor.requires_grad
    namespace = run_code(chain_code(spec, steps))
    for res in results:
        same(namespace[f"x{res.index}"].detach(), res.tensor.detach())


def test_views_share_memory_and_copies_do_not() -> None:
    steps = [make_step("transpose", "0, 1"), make_step("reshape", "-1"), make_step("view", "3, 2"),
             make_step("index", "0"), make_step("index", "[0, 1]"), make_step("numpy")]
    results = apply_chain(X.clone(), steps)
    assert [r.shares_memory for r in results] == [True, False, True, True, False, True]
    assert results[0].tensor.is_contiguous() is False
    assert "copy" in results[1].note


def test_chain_stops_at_the_first_failing_step() -> None:
    results = apply_chain(X.clone(), [make_step("transpose", "0, 1"), make_step("view", "6"),
                                      make_step("sum", "")])
    assert len(results) == 2 and results[0].error is None and results[1].tensor is None
    assert "not contiguous" in str(results[1].error) and "(3, 2)" in str(results[1].error)


BAD_STEPS = [
    ("view", "6", [make_step("transpose", "0, 1")], r"shape \(3, 2\).*not contiguous.*reshape"),
    ("reshape", "4, 4", [], r"\(2, 3\) \(6 elements\) into \(4, 4\)"),
    ("add", "[1, 2]", [], r"\(2, 3\) and \(2,\).*dim -1 has sizes 3 and 2"),
    ("mul", "[[1, 2], [3, 4], [5, 6]]", [], r"\(2, 3\) and \(3, 2\)"),
    ("matmul", "[[1.0, 2.0]]", [], r"\(2, 3\) @ \(1, 2\).*last size must equal"),
    ("matmul", "[1.0, 2.0]", [], r"\(2, 3\) @ \(2,\)"),
    ("matmul", "[[1], [2], [3]]", [], "same dtype"),
    ("transpose", "0, 2", [], r"dim 2 does not exist.*\(2, 3\).*-2 … 1"),
    ("sum", "5", [], r"dim 5 does not exist"),
    ("index", "5", [], r"Index 5 is out of range for dim 0 of shape \(2, 3\)"),
    ("index", "[0, 7]", [], r"Index 7 is out of range"),
    ("index", "0, 0, 0", [], r"more positions than shape \(2, 3\) has dims"),
    ("permute", "0, 0", [], r"each of the 2 dims"),
    ("permute", "0, 1, 2", [], r"each of the 2 dims"),
    ("mean", "", [make_step("to", dtype="int64")], "floating-point"),
    ("numpy", "", [make_step("to", dtype="bfloat16")], "bfloat16"),
    ("add", "[[1, 2], [3]]", [], "same number of entries"),
    ("matmul", "[[1.0] * 3]", [], "not allowed"),
]


@pytest.mark.parametrize("kind,text,before,pattern", BAD_STEPS, ids=[f"{b[0]}:{b[1]}" for b in BAD_STEPS])
def test_bad_steps_give_messages_naming_the_shapes(kind: str, text: str, before: list, pattern: str) -> None:
    try:
        step = make_step(kind, text)
    except TorchstartError as exc:  # refused while parsing: fine, as long as it says why
        assert re.search(pattern, str(exc)), str(exc)
        return
    results = apply_chain(X.clone(), [*before, step])
    error = results[-1].error
    assert error is not None and isinstance(error, TorchstartError)
    assert re.search(pattern, str(error)), str(error)
    assert "Traceback" not in str(error)


@pytest.mark.parametrize("kind,text,x", [
    ("add", repr([0] * 1001), torch.zeros(1000, 1)),
    ("matmul", repr([[0.0] * 1001]), torch.zeros(1000, 1)),
    ("index", repr([0] * 1000), torch.zeros(10, 1001)),
    ("unsqueeze", "0", torch.zeros(1000, 1000)),  # at the cap exactly: allowed
], ids=["broadcast", "matmul", "index-list", "at-cap"])
def test_results_too_big_are_refused_before_allocating(kind: str, text: str, x: torch.Tensor,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    result = apply_step(make_step(kind, text), x)
    if kind == "unsqueeze":
        assert result.error is None and result.tensor.numel() == MAX_ELEMENTS
        return
    assert result.error is not None and "caps tensors at 1,000,000" in str(result.error), result.error
    assert "1,001,000 elements" in str(result.error)


@pytest.mark.parametrize("x", [torch.zeros(0, 3), torch.tensor(2.5), torch.ones(4, dtype=torch.bool),
                               torch.arange(24, dtype=torch.int8).reshape(2, 3, 4),
                               torch.randn(3, 2, dtype=torch.bfloat16, requires_grad=True)],
                         ids=["empty", "0-dim", "bool", "int8-3d", "bf16-grad"])
def test_no_op_raises_on_odd_tensors(x: torch.Tensor) -> None:
    for kind in OPS:
        for text in {suggest_argument(kind, tuple(x.shape), x.dtype.is_floating_point), "0", "-1", ""}:
            try:
                step = make_step(kind, text)
            except TorchstartError:
                continue
            result = apply_step(step, x)  # must report problems, never raise them
            assert (result.tensor is None) != (result.error is None)
            if result.error is not None:
                assert isinstance(result.error, TorchstartError) and str(result.error)


BAD_ARGS = [("reshape", "2, -1, -1"), ("reshape", "a"), ("transpose", "0"), ("unsqueeze", ""),
            ("squeeze", "0, 1"), ("index", ""), ("index", "0]; x[0"), ("index", "::-1"), ("index", "x"),
            ("index", "0.5"), ("index", "f(1)"), ("add", "[1, 'a']"), ("to", "")]


@pytest.mark.parametrize("kind,text", BAD_ARGS)
def test_bad_arguments_are_refused_while_parsing(kind: str, text: str) -> None:
    with pytest.raises(TorchstartError):
        make_step(kind, text, dtype="complex-nope" if kind == "to" else "float32")


@pytest.mark.parametrize("text,expected", [
    ("0, 1:3", (0, slice(1, 3))), ("..., -1", (Ellipsis, -1)), (":, None", (slice(None), None)),
    ("::2", (slice(None, None, 2),)), ("[0, 2]", ([0, 2],)), ("1:, [0, -1]", (slice(1, None), [0, -1])),
])
def test_parse_index(text: str, expected: tuple) -> None:
    assert parse_index(text) == expected
    t = torch.arange(24).reshape(4, 6)
    assert torch.equal(t[parse_index(text)], t[expected])


@pytest.mark.parametrize("kind", list(OPS))
@pytest.mark.parametrize("shape", [(2, 3), (4,), (2, 3, 4)])
def test_suggested_arguments_parse(kind: str, shape: tuple[int, ...]) -> None:
    make_step(kind, suggest_argument(kind, shape))  # a suggestion must at least be valid input


def test_explain_broadcast_lines_shapes_up_from_the_right() -> None:
    b = explain_broadcast((4, 1, 3), (2, 1))
    assert b.result == torch.broadcast_shapes((4, 1, 3), (2, 1)) == (4, 2, 3)
    assert [(r.left, r.right) for r in b.rows] == [(4, None), (1, 2), (3, 1)]
    frame = broadcast_frame(b, "x", "b")
    assert list(frame.columns) == ["dim -3", "dim -2", "dim -1"]
    assert frame.loc["b (2, 1)"].tolist() == ["", "2", "1"] and frame.loc["result"].tolist() == ["4", "2", "3"]
    bad = explain_broadcast((2, 3), (4,))
    assert not bad.ok and "✗" in bad.rows[-1].rule


# ---------------------------------------------------------------- live demos and their code

def test_view_demo_is_measured() -> None:
    demo = view_demo(torch.arange(6.0).reshape(2, 3))
    assert demo.same_storage and not demo.transposed.is_contiguous()
    assert demo.view_error and "view size is not compatible" in demo.view_error
    assert demo.reshape_copied and torch.equal(demo.reshaped, demo.fixed)
    assert view_demo(torch.zeros(5)).own_example
    namespace = run_code(view_demo_code(True))
    same(namespace["r"], demo.reshaped)


def test_numpy_demo_writes_through_shared_memory() -> None:
    x = torch.arange(6.0).reshape(2, 3).t()
    demo = numpy_demo(x)
    assert demo.same_address and demo.back_same_address
    assert demo.tensor_before[0, 0] == 0 and demo.tensor_after[0, 0] == 99
    assert x[0, 0] == 0  # the page's own tensor is untouched
    namespace = run_code("import torch\nx = torch.arange(6.0).reshape(2, 3).t()\n"
                         + numpy_demo_code(demo.position, demo.written))
    same(namespace["t"], demo.tensor_after)
    assert numpy_demo(torch.ones(2, dtype=torch.bool)).tensor_after[0].item() is False
    assert numpy_demo(torch.zeros(0)) is None


def test_numpy_demo_explains_detach_for_a_tensor_that_requires_grad() -> None:
    x = torch.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        x.numpy()  # what the note explains: plain .numpy() refuses it
    demo = numpy_demo(x)
    assert demo.same_address and demo.tensor_after[0, 0] == 99
    assert ".numpy() refuses" in demo.note and ".detach()" in demo.note
    both = numpy_demo(torch.ones(2, dtype=torch.bfloat16, requires_grad=True)).note
    assert ".detach()" in both and "bfloat16" in both  # one note does not overwrite the other
    assert numpy_demo(torch.ones(2)).note == ""


# ---------------------------------------------------------------- tables and figures

def test_values_frame_rounds_to_the_dtype_and_cuts_big_tensors() -> None:
    frame, note = values_frame(torch.tensor([[0.1, 0.2], [1 / 3, 4.0]]))
    assert frame.iloc[0, 0] == 0.1 and frame.iloc[1, 0] == float(str(np.float32(1 / 3))) == 0.33333334 and not note
    frame, note = values_frame(torch.zeros(500, 50))
    assert frame.shape == (100, 30) and "500 × 50" in note
    assert values_frame(torch.tensor(5))[0].iloc[0, 0] == 5
    assert values_frame(torch.tensor([True, False]))[0].iloc[0].tolist() == [True, False]


SHOWN = [  # (dtype, value, its text: reads back as that value and is never a number the tensor does not hold)
    (torch.float32, 1234567.0, "1234567"), (torch.float32, 2.0 ** 30, "1073741824"), (torch.float32, 0.1, "0.1"),
    (torch.float32, 1e20, "1e+20"), (torch.float32, float("nan"), "nan"),
    (torch.bfloat16, 1032.0, "1032"), (torch.bfloat16, 0.1, "0.1"), (torch.bfloat16, 100.5, "100.5"),
    (torch.bfloat16, 3.14159, "3.14"), (torch.float16, 65504.0, "65504"), (torch.float16, 1 / 3, "0.3333"),
    (torch.float64, 1 / 3, "0.3333333333333333"), (torch.int64, 1000, "1000"),
]


@pytest.mark.parametrize("dtype,value,text", SHOWN, ids=[f"{d}-{t}" for d, _, t in SHOWN])
def test_values_show_the_numbers_the_tensor_holds(dtype: torch.dtype, value: float, text: str) -> None:
    t = torch.tensor([[value]], dtype=dtype)
    heatmap = heatmap_figure(t, "x").data[0]
    assert heatmap.text[0][0] == text and "%{text}" in heatmap.hovertemplate
    if text != "nan":
        assert values_frame(t)[0].iloc[0, 0] == float(text)
        assert torch.equal(torch.tensor(float(text), dtype=dtype), t[0, 0])  # the text reads back exactly


def test_random_values_read_back_exactly_from_the_table() -> None:
    g = torch.Generator().manual_seed(0)
    for dtype in (torch.float32, torch.bfloat16, torch.float16, torch.float64):
        t = (torch.randn(20, 30, generator=g) * 10.0 ** torch.randint(-6, 7, (20, 30), generator=g)).to(dtype)
        assert torch.equal(torch.tensor(values_frame(t)[0].to_numpy(), dtype=dtype), t), dtype


def test_storage_map_prints_ints_and_bools_as_they_are() -> None:
    text = storage_figure(torch.tensor([[1000, 1001], [1002, 1003]])).data[0].text
    assert [list(row) for row in text] == [["1000<br>@0", "1001<br>@1"], ["1002<br>@2", "1003<br>@3"]]
    assert storage_figure(torch.tensor([True, False])).data[0].text[0][1] == "False<br>@1"
    assert list(storage_figure(torch.tensor([1234567.0, 1032.0])).data[0].text[0]) == ["1234567<br>@0", "1032<br>@1"]


def test_storage_formula_fits_the_dims_and_starts_at_the_offset() -> None:
    base = torch.arange(12).reshape(3, 4)
    assert storage_formula(torch.arange(10)[2:5]) == "position = storage_offset + i·stride[0] = 2 + i·1"
    assert storage_formula(base[1:, ::2]) == ("position = storage_offset + i·stride[0] + j·stride[1] "
                                              "= 4 + i·4 + j·2")
    assert storage_formula(base[2, 3]) == "position = storage_offset = 11"
    assert storage_positions(torch.arange(10)[2:5]).tolist() == [[2, 3, 4]]  # 2 + i·1: from 2, not from 0
    assert storage_positions(base[1:, ::2]).tolist() == [[4, 6], [8, 10]]  # 4 + i·4 + j·2


def test_storage_positions_follow_strides() -> None:
    base = torch.arange(12).reshape(3, 4)
    for t in (base, base.t(), base[1:, ::2], base[2], torch.tensor(7)):
        positions = storage_positions(t)
        flat = base.flatten() if t.dim() else t.reshape(1)
        assert torch.equal(flat[positions.flatten()].reshape(positions.shape),
                           t.reshape(positions.shape)), t.stride()


def test_figures_hold_the_tensor_values() -> None:
    t = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.bfloat16)
    assert np.array_equal(np.array(heatmap_figure(t, "x").data[0].z), [[1, 2], [3, 4]])
    assert np.array_equal(np.array(storage_figure(t.t()).data[0].z), [[0, 2], [1, 3]])


@pytest.mark.gpu
def test_cuda_tensor_chain_and_code_match() -> None:
    spec = TensorSpec(factory="randn", shape=(3, 4), seed=1, device="cuda:0", requires_grad=True)
    steps = [make_step("transpose", "0, 1"), make_step("reshape", "2, -1"),
             make_step("add", "[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]"), make_step("matmul", repr([[1.0]] * 6)),
             make_step("numpy"), make_step("mul", "[2.0]")]
    x = build_tensor(spec)
    results = apply_chain(x, steps)
    assert all(r.error is None for r in results), [str(r.error) for r in results]
    assert x.device.type == "cuda" and results[3].tensor.device.type == "cuda"
    assert results[4].tensor.device.type == "cpu"
    namespace = run_code(chain_code(spec, steps))
    for res in results:
        same(namespace[f"x{res.index}"].detach(), res.tensor.detach())
    assert view_demo(x).view_error and numpy_demo(x).same_address


# ---------------------------------------------------------------- review fixes: keepdim with dim blank, names

@pytest.mark.parametrize("kind", ["sum", "mean"])
def test_keepdim_with_dim_blank_keeps_every_dim_as_torch_does(kind: str) -> None:
    x = torch.arange(24.0).reshape(2, 3, 4)
    expected = getattr(x, kind)(dim=None, keepdim=True)
    assert expected.shape == (1, 1, 1)  # what torch itself does: every dim reduced, each kept with size 1
    result = apply_step(make_step(kind, "", keepdim=True), x)
    same(result.tensor, expected)
    assert "keeps each with size 1: shape (1, 1, 1)" in result.note
    assert apply_step(make_step(kind, "", keepdim=False), x).tensor.shape == ()
    spec = TensorSpec(factory="arange", start=0.0, end=24.0, step=1.0)
    steps = [make_step("reshape", "2, 3, 4"), make_step(kind, "", keepdim=True)]
    code = chain_code(spec, steps)
    assert f"x2 = x1.{kind}(dim=None, keepdim=True)" in code
    same(run_code(code)["x2"], apply_chain(build_tensor(spec), steps)[-1].tensor)


def test_max_over_everything_refuses_keepdim_as_torch_does() -> None:
    x = torch.arange(6.0).reshape(2, 3)
    # torch has no keepdim for max over all elements: 2.13 raises a TypeError, 2.11 a RuntimeError.
    with pytest.raises((TypeError, RuntimeError), match="must be int, not NoneType|look up dimensions by name"):
        x.max(dim=None, keepdim=True)
    assert keepdim_problem("max", "") and "untick keepdim" in keepdim_problem("max", "")
    assert keepdim_problem("max", "0") == keepdim_problem("sum", "") == keepdim_problem("mean", " ") == ""
    with pytest.raises(TorchstartError, match=r"x.max\(\) returns one number, shape \(\)"):
        make_step("max", "", keepdim=True)
    assert apply_step(make_step("max", "1", keepdim=True), x).tensor.tolist() == [[2.0], [5.0]]


def test_empty_max_names_the_tensor_the_step_reads() -> None:
    steps = [make_step("permute", "2, 1, 0"), make_step("max", "")]
    results = apply_chain(torch.zeros(2, 0, 3), steps)
    x1 = torch.zeros(2, 0, 3).permute(2, 1, 0)
    with pytest.raises(RuntimeError, match="Expected reduction dim to be specified"):
        x1.max()
    assert str(results[1].error) == "x1 is empty (shape (3, 0, 2)), so there is no largest value; give a dim."
    assert str(apply_chain(torch.zeros(0), [make_step("max", "")])[0].error).startswith("x is empty (shape (0,))")


def test_an_all_nan_heatmap_keeps_its_cells_in_place() -> None:
    # No cell is drawn, so autoranged axes shrank to the labels and pinned them to the chart's corners.
    fig = heatmap_figure(torch.full((2, 3), float("nan")), "x")
    assert tuple(fig.layout.xaxis.range) == (-0.5, 2.5) and tuple(fig.layout.yaxis.range) == (1.5, -0.5)
    labels = fig.data[-1]
    assert list(labels.text) == ["nan"] * 6 and sorted(zip(labels.y, labels.x)) == [(r, c) for r in (0, 1)
                                                                                      for c in (0, 1, 2)]
    assert fig.layout.xaxis.showgrid is False and fig.layout.yaxis.showgrid is False  # no lines through the labels


def test_a_narrow_float_dtype_says_which_typed_numbers_it_changed() -> None:
    spec = replace(TensorSpec(), factory="tensor", data=[[70000.5, 65519.0, 0.1, 2049, 1e-8, -1e-9, 3.0]],
                   dtype="float16")
    x, notes = build_tensor_with_warnings(spec)
    assert x.tolist() == [[math.inf, 65504.0, torch.tensor(0.1, dtype=torch.float16).item(), 2048.0, 0.0, -0.0, 3.0]]
    overflow, tiny, rounded = notes
    # 65519 is not past 65,504 + half a step (16): it rounds down, a rounding and not an overflow.
    assert overflow.startswith("In float16, 70000.5 became inf: its largest finite value is 65,504 "
                               "(torch.finfo(torch.float16).max), and from 65,520 on")
    assert torch.tensor(65519.0).half().item() == 65504 and torch.tensor(65520.0).half().item() == math.inf
    assert tiny.startswith("In float16, 1e-08 became 0, -1e-09 became -0: below 6.1e-05 "
                           "(torch.finfo(torch.float16).smallest_normal) it keeps fewer bits")
    assert "down to 5.96e-08" in tiny and torch.tensor(2 ** -24).half().item() > 0
    assert rounded.startswith("In float16, 65519 became 65504, 0.1 became 0.0999756, 2049 became 2048: "
                              "it keeps 11 significant bits")
    # float32 rounds 0.1 too, but not where 4 significant digits can see it; its subnormals are named as such.
    assert build_tensor_with_warnings(replace(spec, data=[0.1, 2049.0], dtype="float32"))[1] == []
    (sub,) = build_tensor_with_warnings(replace(spec, data=[1e-45], dtype="float32"))[1]
    assert sub.startswith("In float32, 1e-45 became 1.4013e-45: below 1.18e-38")
    many = build_tensor_with_warnings(replace(spec, data=[2049.0, 2051.0, 2053.0, 2055.0, 2057.0]))[1]
    assert many[0].startswith("In float16, 2049 became 2048, 2051 became 2052, 2053 became 2052 (and 2 more):")
