"""Tensors page: hostile and unusual input gets a clear TorchstartError (never a traceback), caps hold."""

from __future__ import annotations

import contextlib
import io
import threading
import warnings
from dataclasses import replace

import pytest
import torch

from tests.test_tensors_page import PAGE, add_step, assert_clean, metric
from torchstart.errors import TorchstartError
from torchstart.tensor_code import chain_code, factory_code
from torchstart.tensor_ops import apply_chain, apply_step, make_step
from torchstart.tensors import (DTYPES, build_tensor, build_tensor_with_warnings, spec_from_inputs,
                                torch_warnings)

DEEP_SIGNS = "-" * 5000 + "1"  # Python's parser runs out of recursion long before the length cap


def build(**inputs: object) -> torch.Tensor:
    return build_tensor(spec_from_inputs({"factory": "tensor", **inputs}))


@pytest.mark.parametrize("inputs, message", [
    ({"literal": DEEP_SIGNS}, "nested too deeply to read"),
    ({"literal": "[0x" + "f" * 4000 + "]"}, "The number (about 10^4816) in the"),  # not "cannot be read"
    ({"literal": "[" * 7 + "1" + "]" * 7}, "nested 7 brackets deep, so it would have 7 dims; this playground "
                                           "allows up to 6"),
    ({"literal": "[" * 150 + "1" + "]" * 150}, "nested 150 brackets deep"),
    ({"factory": "arange", "start": "0", "end": "1e400", "step": "1"}, "arange's end is inf: it must be a finite"),
    ({"factory": "arange", "start": "1e400", "end": "1e400", "step": "1"}, "arange's start is inf"),
    ({"factory": "arange", "start": "0", "end": "1", "step": "1e-320"},
     "with step 1e-320 would have more than 1,000,000 elements"),
    ({"factory": "arange", "start": "-1e308", "end": "1e308", "step": "1"}, "more than 1,000,000 elements"),
    ({"factory": "randint", "low": 0, "high": 10**9, "shape": "2", "dtype": "float16"},
     "float16 holds -65504 … 65504, so randint cannot draw from [0, 1000000000)"),
    # int64 counted with the truncated step: 1,990,000 elements past a check that predicted 995,498
    ({"factory": "arange", "start": "0", "end": "1990000", "step": "1.999", "dtype": "int64"},
     "arange with dtype int64 truncates start, end and step to whole numbers (step 1.999 here)"),
    # PyTorch wraps or overflows these silently: int8's 0 … 299 ended 41, 42, 43; float16's past 65504 were inf.
    ({"factory": "arange", "start": "0", "end": "300", "step": "1", "dtype": "int8"},
     "The arange's last value 299 does not fit in int8, which holds -128 … 127: PyTorch would silently give "
     "wrapped-around numbers there (arange from 0 to 300 with step 1)"),
    ({"factory": "arange", "start": "-5", "end": "5", "step": "1", "dtype": "uint8"},
     "The arange start -5 does not fit in uint8"),
    ({"factory": "arange", "start": "0", "end": "70000", "step": "1000", "dtype": "float16"},
     "last value 69000 does not fit in float16, which holds -65504 … 65504: PyTorch would silently give inf there"),
    ({"factory": "arange", "start": "0.5", "end": "10", "step": "2.5", "dtype": "uint8"},
     "arange with dtype uint8 truncates start, end and step to whole numbers (start 0.5, step 2.5 here)"),
])
def test_bad_creation_input_is_explained(inputs: dict, message: str) -> None:
    with pytest.raises(TorchstartError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace(".", r"\.").replace("^", r"\^")):
        build(**inputs)


def test_slice_steps_cannot_grow_a_stride_until_it_overflows() -> None:
    # Each step on a one-element dim multiplies its stride by up to 10**6; the third would reach 10**18.
    x = torch.zeros(1)
    for expected in (10**6, 10**12):
        result = apply_step(make_step("index", "::1000000"), x)
        assert result.error is None and result.tensor.stride() == (expected,)
        x = result.tensor
    error = apply_step(make_step("index", "::1000000"), x).error
    assert "would give strides (1000000000000000000,): past 1,000,000,000,000 elements" in str(error)
    assert torch.equal(apply_step(make_step("index", "::1000000"), torch.arange(5)).tensor, torch.tensor([0]))


def test_a_half_precision_arange_says_which_values_repeat() -> None:
    tensor, notes = build_tensor_with_warnings(spec_from_inputs({"factory": "arange", "start": "2040", "end": "2060",
                                                                 "step": "1", "dtype": "float16"}))
    assert tensor.tolist()[8:12] == [2048.0, 2048.0, 2050.0, 2052.0]  # 2049 stored as 2048
    (note,) = notes
    repeats = len(tensor) - len(set(tensor.tolist()))
    assert f"up to 2,048: past that, arange's values round, and {repeats} values repeat" in note
    assert build_tensor_with_warnings(spec_from_inputs({"factory": "arange", "start": "0", "end": "127", "step": "1",
                                                        "dtype": "int8"}))[1] == []  # 126 fits: no note, no refusal


def test_six_bracket_literal_and_small_float_randint_still_work() -> None:
    assert build(literal="[" * 6 + "1" + "]" * 6).shape == (1,) * 6
    got = build(factory="randint", low=0, high=100, shape="3", dtype="float16", seed=5)
    want = torch.randint(0, 100, (3,), dtype=torch.float16, generator=torch.Generator().manual_seed(5))
    assert torch.equal(got, want)


@pytest.mark.parametrize("kind, text, message", [
    ("index", DEEP_SIGNS, "nested too deeply to read"),
    ("index", "1000000000000000000000000000000", "index 1000000000000000000000000000000 does not fit in 64 bits"),
    ("index", "::1000000000000000000000000000000", "slice bound 1000000000000000000000000000000 does not fit"),
    ("index", "[0, -1000000000000000000000000000000]", "index list entry -1000000000000000000000000000000"),
    # Hex escapes Python's 4,300-digit limit on reading, but not on printing: the message gives the size instead.
    ("index", "0x" + "f" * 4000, r"The index \(about 10\^4816\) does not fit in 64 bits"),
    ("index", "0x" + "f" * 4000 + " + 1", "Each index must be a whole number; a number too long to show is not"),
    ("index", "None, None, None, None, None", r"index / slice on shape \(2, 3\) would give 7 dims; this playground "
                                              "allows up to 6"),
    # PyTorch multiplies the step into the stride unchecked: 2**60 gave a stride NumPy read as negative (the
    # inspector raised), 2**63 - 1 a shape of (-1, 0, 3) or an empty arange(5)[::step].
    ("index", f"::{2**60}", "A slice step above 1,000,000 takes the same one element"),
    ("index", f":, ::{2**63 - 1}", "Use a step up to 1,000,000, or :1 for the first element"),
    ("unsqueeze", "0", None),  # fine on (2, 3); refused below on a 6-dim tensor
    ("add", "[" * 7 + "1" + "]" * 7, "other tensor is nested 7 brackets deep"),
])
def test_bad_step_input_is_explained(kind: str, text: str, message: str | None) -> None:
    x = torch.arange(6.0).reshape(2, 3)
    if message is None:
        assert apply_step(make_step(kind, text), x).error is None
        result = apply_step(make_step(kind, text), torch.zeros(1, 1, 1, 1, 1, 1))
        assert "would give 7 dims" in str(result.error)
        return
    with pytest.raises(TorchstartError, match=message):
        step = make_step(kind, text)
        result = apply_step(step, x)
        if result.error is not None:
            raise result.error


def test_page_keeps_the_last_tensor_after_an_infinite_arange_end(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="tensors.factory").set_value("arange").run()
    assert metric(at, "shape") == "(6,)"
    at.text_input(key="tensors.end").set_value("1e400").run()
    assert_clean(at)
    assert "arange's end is inf" in at.error[0].value
    assert metric(at, "shape") == "(6,)"  # the last tensor that worked stays on screen
    at.text_input(key="tensors.end").set_value("4").run()
    assert not at.error and metric(at, "shape") == "(4,)"


def test_page_explains_a_literal_too_deep_to_parse(open_page) -> None:
    at = open_page(PAGE)
    at.text_area(key="tensors.literal").set_value(DEEP_SIGNS).run()
    assert_clean(at)
    assert "nested too deeply to read" in at.error[0].value
    assert metric(at, "shape") == "(2, 3)"


def test_page_refuses_a_step_that_adds_too_many_dims(open_page) -> None:
    at = open_page(PAGE)
    add_step(at, "index", "None, None, None, None, None", (2, 3), torch.int64)
    assert_clean(at)
    assert "would give 7 dims" in at.error[0].value
    assert "tensors.chain" not in at.session_state  # the step was not added


def test_show_code_writes_infinite_numbers_as_runnable_python() -> None:
    # 1e400 is a valid float literal that becomes inf; `inf` itself is not Python, float('inf') is.
    spec = spec_from_inputs({"factory": "tensor", "literal": "[1e400, -1e400, 0.5]"})
    steps = [make_step("add", "[1e400, 1, 1]")]
    code = chain_code(spec, steps)
    assert "x = torch.tensor([float('inf'), float('-inf'), 0.5])" in code
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "<show code>", "exec"), namespace)  # noqa: S102 - our generated code
    x = build_tensor(spec)
    x1 = apply_chain(x, steps)[-1].tensor
    assert torch.equal(namespace["x"], x)
    assert torch.equal(namespace["x1"].isnan(), x1.isnan()) and namespace["x1"][1:].tolist() == x1[1:].tolist()
    full = spec_from_inputs({"factory": "full", "shape": "2", "fill": "-1e400"})
    assert factory_code(full) == ["x = torch.full((2,), float('-inf'))"]


def test_int64_limits_are_the_literal_limits() -> None:
    """-2**63 is int64's smallest value: typed as a literal it builds; one past either end is refused."""
    low, high = -(2**63), 2**63 - 1
    built = build(literal=f"[{low}, {high}]")
    assert built.dtype == torch.int64 and built.tolist() == [low, high]
    assert torch.equal(built, torch.tensor([torch.iinfo(torch.int64).min, torch.iinfo(torch.int64).max]))
    for text, shown in [(f"[{low - 1}]", str(-low + 1)), (f"[{high + 1}]", str(high + 1)),
                        (f"[--{-low}]", str(-low)), (f"[+{-low}]", str(-low))]:
        with pytest.raises(TorchstartError, match=f"number {shown} in the .* does not fit in 64 bits"):
            build(literal=text)
    # As an index it is read, then refused as out of range (not as "does not fit in 64 bits").
    error = str(apply_step(make_step("index", str(low)), torch.arange(6.0)).error)
    assert f"Index {low} is out of range for dim 0 of shape (6,)" in error
    with pytest.raises(TorchstartError, match=f"index {low - 1} does not fit in 64 bits"):
        make_step("index", str(low - 1))


@pytest.mark.parametrize("text, message", [
    ("[0, 7]", "Index 7 is out of range for dim 0"),
    ("0, [0, 5]", "Index 5 is out of range for dim 1"),
    ("..., [-4]", "Index -4 is out of range for dim 1"),
    ("None, [1, 2]", "Index 2 is out of range for dim 0"),
])
def test_list_indices_are_range_checked_before_they_reach_the_device(text: str, message: str) -> None:
    """On CUDA an out-of-range list entry is a device-side assert that breaks the GPU for the whole server.

    Meta tensors, like CUDA kernels, do not check index values themselves: the step must refuse it first.
    """
    assert torch.empty(2, 3, device="meta")[[0, 7]].shape == (2, 3)  # the device would not have said no
    for x in (torch.empty(2, 3, device="meta"), torch.arange(6.0).reshape(2, 3)):
        assert message in str(apply_step(make_step("index", text), x).error)
    empty = apply_step(make_step("index", ":, [0]"), torch.empty(3, 0, device="meta"))
    assert "Index 0 is out of range: dim 1 of shape (3, 0) has size 0" in str(empty.error)
    fine = apply_step(make_step("index", "[1, -1, 0]"), torch.arange(6.0).reshape(2, 3))
    assert fine.error is None and fine.tensor.tolist() == [[3.0, 4.0, 5.0], [3.0, 4.0, 5.0], [0.0, 1.0, 2.0]]


# ---------------------------------------------------------------- review fixes: overflow, box messages, warnings

def _named_dtypes(message: str) -> list[str]:
    """The dtypes an overflow message suggests (the list after its last colon)."""
    tail = message.rsplit(": ", 1)[1].rstrip(".")
    return [name.strip() for name in tail.split(",")]


@pytest.mark.parametrize("inputs, culprit, failed", [
    ({"factory": "full", "shape": "2", "fill": "1e40"}, "The fill value 1e+40", "float32"),
    ({"factory": "full", "shape": "2", "fill": "1e30", "dtype": "int64"}, "The fill value 1e+30", "int64"),
    ({"factory": "full", "shape": "2", "fill": "70000", "dtype": "int16"}, "The fill value 70000", "int16"),
    ({"factory": "tensor", "literal": "[2, 300]", "dtype": "int8"}, "The number 300 in the tensor literal", "int8"),
    ({"factory": "arange", "start": "0", "end": "1e40", "step": "3e39", "dtype": "float16"},
     "The arange's last value 9e+39",
     "float16"),
], ids=["full-auto", "full-int64", "full-int16", "literal-int8", "arange-float16"])
def test_overflow_names_the_box_and_only_dtypes_that_hold_the_value(inputs: dict, culprit: str, failed: str) -> None:
    spec = spec_from_inputs(inputs)
    with pytest.raises(TorchstartError) as caught:
        build_tensor(spec)
    message = str(caught.value)
    assert message.startswith(f"{culprit} does not fit in {failed}, which holds ")
    assert "tensor literal" not in message or inputs["factory"] == "tensor"
    suggested = _named_dtypes(message)
    assert failed not in suggested and "bool" not in suggested
    for name in DTYPES:  # what the message claims, checked against real torch, dtype by dtype
        if name in (failed, "bool"):
            continue
        try:
            built = build_tensor(replace(spec, dtype=name))
            wide = build_tensor(replace(spec, dtype="float64"))
            held = bool(torch.isfinite(built.double()).all()) and (
                built.dtype.is_floating_point or built.tolist() == wide.tolist())
        except TorchstartError:
            held = False
        assert held == (name in suggested), (name, message)


def test_fill_too_big_for_every_dtype_but_float64_names_only_float64() -> None:
    spec = spec_from_inputs({"factory": "full", "shape": "2", "fill": "1e40"})
    with pytest.raises(RuntimeError, match="without overflow"):
        torch.full((2,), 1e40)  # what PyTorch itself says: float32, the default, cannot take it
    with pytest.raises(TorchstartError, match=r"Pick a dtype that holds it: float64\.$"):
        build_tensor(spec)
    assert torch.full((2,), 1e40, dtype=torch.float64).tolist() == [1e40, 1e40]


@pytest.mark.parametrize("inputs, message", [
    ({"factory": "zeros", "shape": ""}, "The shape is empty: type whole numbers separated by commas, e.g. 2, 3"),
    ({"factory": "zeros", "shape": "2 3"}, "Write whole numbers separated by commas, e.g. 2, 3"),
    ({"factory": "zeros", "shape": "10**3"}, "The shape may only hold whole numbers separated by commas, e.g. 2, 3"),
    ({"factory": "zeros", "shape": "2.5"}, "The shape must be whole numbers separated by commas, e.g. 2, 3"),
    ({"factory": "full", "shape": "2", "fill": ""},
     "The fill value is empty: type one number, such as 7 (gives int64)"),
    ({"factory": "full", "shape": "2", "fill": "seven"}, "The fill value may only hold one number, such as 7"),
    ({"factory": "full", "shape": "2", "fill": "[1]"}, "The fill value must be one number, such as 7"),
    ({"factory": "arange", "start": "0", "end": "", "step": "1"},
     "The arange end is empty: type one number, such as 6"),
    ({"factory": "arange", "start": "0", "end": "6", "step": "1 2"}, "Write one number, such as 1 or 0.5"),
])
def test_each_box_says_what_it_takes(inputs: dict, message: str) -> None:
    with pytest.raises(TorchstartError) as caught:
        spec_from_inputs(inputs)
    text = str(caught.value)
    assert message in text
    assert "[[1, 2], [3, 4]]" not in text and "square brackets" not in text  # the literal box's words


def test_the_examples_the_messages_give_are_accepted() -> None:
    """The boxes really take what their messages show: 2, 3 and (); 7, 7.0 and True with the dtypes named."""
    assert build(factory="zeros", shape="2, 3").shape == torch.zeros(2, 3).shape
    assert build(factory="zeros", shape="()").shape == torch.zeros(()).shape == ()
    for fill, dtype in (("7", torch.int64), ("7.0", torch.float32), ("True", torch.bool)):
        built = build(factory="full", shape="2", fill=fill)
        assert built.dtype == dtype == torch.full((2,), eval(fill)).dtype  # noqa: S307 - our own constants
    assert build(factory="arange", start="0", end="6", step="0.5").tolist() == torch.arange(0, 6, 0.5).tolist()


@pytest.mark.parametrize("field", ["literal", "fill"])
def test_a_number_too_long_to_read_says_so(field: str) -> None:
    digits = "1" * 5001
    inputs = {"literal": digits} if field == "literal" else {"factory": "full", "shape": "2", "fill": digits}
    with pytest.raises(TorchstartError) as caught:
        build(**inputs)
    text = str(caught.value)
    assert "a whole number 5,001 digits long: too long to read" in text and "64 bits" in text
    assert "sys.set_int_max_str_digits" not in text


@pytest.mark.parametrize("dtype, low, high, bits, exact", [
    ("bfloat16", 0, 1000, 8, "float16, float32, float64, int16, int32, int64"),
    ("float32", -10**9, 10**9, 24, "float64, int32, int64"),
])
def test_randint_precision_warning_reaches_the_learner(dtype: str, low: int, high: int, bits: int,
                                                       exact: str) -> None:
    spec = spec_from_inputs({"factory": "randint", "low": low, "high": high, "shape": "4", "dtype": dtype, "seed": 2})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plain = torch.randint(low, high, (4,), dtype=DTYPES[dtype], generator=torch.Generator().manual_seed(2))
    torch_said = [str(w.message).split(" (Triggered")[0] for w in caught]
    assert torch_said and all(f"[-(2^{bits}), 2^{bits}]" in text for text in torch_said)
    tensor, notes = build_tensor_with_warnings(spec)
    assert torch.equal(tensor, plain)  # the page shows the numbers torch gives ...
    assert len(notes) == 1  # ... and one note for the one cause (torch warns once per bound)
    note = notes[0]
    assert note.startswith(f"{dtype} holds every whole number only from -{2**bits:,} to {2**bits:,} (2^{bits})")
    assert f"from {low} to {high - 1}: {exact}." in note
    assert all(text.split(". ")[0] in note for text in torch_said)
    for name in exact.split(", "):  # every dtype the note offers draws without the warning
        with warnings.catch_warnings(record=True) as quiet:
            warnings.simplefilter("always")
            torch.randint(low, high, (4,), dtype=DTYPES[name])
        assert not quiet, name
    assert build_tensor_with_warnings(replace(spec, low=0, high=10))[1] == []


def test_page_shows_the_randint_precision_warning(open_page) -> None:
    at = open_page(PAGE)
    at.selectbox(key="tensors.factory").set_value("randint").run()
    at.number_input(key="tensors.high").set_value(1000).run()
    assert not at.warning
    at.selectbox(key="tensors.dtype").set_value("bfloat16").run()
    assert_clean(at)
    assert not at.error and metric(at, "dtype") == "bfloat16"
    assert len(at.warning) == 1
    assert at.warning[0].value.startswith("bfloat16 holds every whole number only from -256 to 256")
    assert "to - 1 is out of bounds [-(2^8), 2^8]" in at.warning[0].value


def test_warning_capture_keeps_only_this_sessions_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sessions are threads: a warning another one raises meanwhile goes to the log, not onto this page."""
    logged: list[str] = []
    monkeypatch.setattr(warnings, "showwarning", lambda message, *args, **kwargs: logged.append(str(message)))
    with torch_warnings() as mine:
        thread = threading.Thread(target=lambda: warnings.warn("another session's warning", UserWarning))
        thread.start()
        thread.join()
        torch.randint(0, 1000, (2,), dtype=torch.bfloat16)
    assert logged == ["another session's warning"]
    assert len(mine) == 1 and mine[0].startswith("to - 1 is out of bounds [-(2^8), 2^8]")
    assert "Triggered internally" not in mine[0]
    assert warnings.showwarning is not None and warnings.showwarning.__name__ == "<lambda>"  # put back
