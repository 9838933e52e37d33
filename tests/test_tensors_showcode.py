"""Tensors page: Show code reproduces the page across factories, dtypes, steps and the inspector's demos."""

from __future__ import annotations

import pytest
import torch
from streamlit.testing.v1 import AppTest

from tests.generated import run_code
from torchstart.errors import TorchstartError
from torchstart.tensor_code import chain_code
from torchstart.tensor_ops import apply_chain, keepdim_problem, make_step
from torchstart.tensors import TensorSpec, build_tensor
from tests.test_tensors_page import PAGE, add_step, assert_clean, metric, program

DTYPES = ["auto", "float32", "float64", "float16", "bfloat16", "int8", "uint8", "bool"]
FACTORIES = [
    TensorSpec(data=[[1.5, -2.0], [3.0, float("nan")]]), TensorSpec(data=5), TensorSpec(data=[]),
    TensorSpec("zeros", shape=(0, 3)), TensorSpec("ones", shape=()), TensorSpec("full", shape=(2, 2), fill_value=2.5),
    TensorSpec("arange", start=0.5, end=2, step=0.25), TensorSpec("linspace", start=-1.0, end=1.0, steps=7),
    TensorSpec("eye", n=2, m=3), TensorSpec("rand", shape=(2, 3), seed=3), TensorSpec("randn", shape=(4,), seed=5),
    TensorSpec("randint", low=-3, high=3, shape=(2, 3), seed=7),
]
STEPS = [("reshape", "3, 2"), ("view", "-1"), ("transpose", "0, 1"), ("permute", "1, 0"), ("squeeze", ""),
         ("unsqueeze", "0"), ("index", ":, 1:"), ("index", "..., -1"), ("index", ":, None"), ("index", "[1, 0]"),
         ("index", "::2"), ("add", "[1.5, 2.5, 3.5]"), ("sub", "[[1], [2]]"), ("mul", "True"), ("div", "3"),
         ("matmul", "[[1.0], [2.0], [3.0]]"), ("matmul", "[1, 2, 3]"), ("sum", ""), ("mean", "1"), ("max", "1"),
         ("mean", ""), ("max", ""),
         ("contiguous", ""), ("numpy", "")]


def assert_same_tensor(page: torch.Tensor, code: torch.Tensor) -> None:
    assert (code.dtype, code.shape, code.stride(), code.storage_offset(), code.requires_grad) == \
        (page.dtype, page.shape, page.stride(), page.storage_offset(), page.requires_grad)
    assert torch.equal(torch.nan_to_num(code.detach().double()), torch.nan_to_num(page.detach().double()))
    assert type(code.grad_fn) is type(page.grad_fn)


def assert_code_reproduces(spec: TensorSpec, steps: list) -> None:
    """The page's last good tensor equals the program's last tensor, and its print() is printed."""
    try:
        x = build_tensor(spec)
    except TorchstartError:
        return  # the page refuses it too: nothing to reproduce
    good = [r for r in apply_chain(x, steps) if r.error is None]
    page = good[-1].tensor if good else x
    namespace, printed = run_code(chain_code(spec, [r.step for r in good]))
    assert_same_tensor(page, namespace[f"x{len(good) or ''}"])
    assert repr(page) in printed


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_factory_in_every_dtype(dtype: str) -> None:
    for spec in FACTORIES:
        for requires_grad in (False, True):
            assert_code_reproduces(TensorSpec(**{**spec.__dict__, "dtype": dtype, "requires_grad": requires_grad}), [])


@pytest.mark.parametrize("base", [dict(), dict(dtype="float32", requires_grad=True), dict(dtype="float16"),
                                  dict(dtype="bfloat16"), dict(dtype="uint8"), dict(dtype="bool")],
                         ids=["int64", "float-grad", "float16", "bfloat16", "uint8", "bool"])
def test_every_step_alone_and_after_a_transpose(base: dict) -> None:
    spec = TensorSpec(**base)
    for kind, text in STEPS:
        # keepdim=True with dim blank too (x.sum(dim=None, keepdim=True)), except where torch has none: x.max()
        for keepdim in ((False, True) if kind in ("sum", "mean", "max") and not keepdim_problem(kind, text)
                        else (False,)):
            step = make_step(kind, text, keepdim)
            assert_code_reproduces(spec, [step])
            assert_code_reproduces(spec, [make_step("transpose", "0, 1"), step])
    for dtype in ("float32", "int8", "bool", "float16"):
        assert_code_reproduces(spec, [make_step("to", dtype=dtype), make_step("numpy")])


# ---------------------------------------------------------------- the inspector's demos, on a chain result

def _inspected_page(open_page) -> AppTest:
    """Default tensor x (2×3), then x1 = x.reshape(3, 2) and x2 = x1[1:]: the inspector shows x2."""
    at = open_page(PAGE)
    add_step(at, "reshape", "3, 2", (2, 3), torch.int64)
    add_step(at, "index", "1:", (3, 2), torch.int64)
    assert_clean(at)
    inspect = next(box for box in at.selectbox if box.label == "Inspect")
    assert inspect.value == 2  # the inspector picks the newest tensor, x2
    return at


def _demo_code(at: AppTest, first_line: str) -> str:
    return next(c.value for c in at.code if c.value.startswith("import torch\n\n") and first_line in c.value)


def test_numpy_demo_code_writes_into_the_inspected_tensor(open_page) -> None:
    at = _inspected_page(open_page)
    namespace, printed = run_code(program(at) + "\n" + _demo_code(at, ".numpy()"))
    label = next(m.label for m in at.metric if m.label.endswith("before → after"))
    assert label == "t[0, 0]: before → after"
    before, after = metric(at, label).split(" → ")
    assert namespace["t"][0, 0].item() == int(after) == 99
    assert (namespace["x2"][0, 0].item(), namespace["t"].shape) == (int(before), namespace["x2"].shape)


def test_view_demo_code_transposes_the_inspected_tensor(open_page) -> None:
    at = _inspected_page(open_page)
    namespace, _ = run_code(program(at) + "\n" + _demo_code(at, "transpose(0, 1)"))
    rows = next(d.value for d in at.dataframe if "x's storage" in d.value.columns)
    for row, name in zip(rows.itertuples(), ("x", "t", "r", "ok")):
        tensor = namespace[name]
        assert (row.shape, row.stride) == (str(tuple(tensor.shape)), str(tensor.stride())), name


def test_keepdim_with_dim_blank_code_keeps_every_dim() -> None:
    spec = TensorSpec("randn", shape=(2, 3, 4), seed=1, requires_grad=True)
    for kind in ("sum", "mean"):
        steps = [make_step("transpose", "0, 2"), make_step(kind, "", keepdim=True)]
        code = chain_code(spec, steps)
        assert f"x2 = x1.{kind}(dim=None, keepdim=True)" in code
        namespace, printed = run_code(code)
        page = apply_chain(build_tensor(spec), steps)[-1].tensor
        assert page.shape == namespace["x2"].shape == (1, 1, 1)
        assert_same_tensor(page, namespace["x2"])
        assert repr(page) in printed
