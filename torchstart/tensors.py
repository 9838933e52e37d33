"""Tensor factories from a declarative spec, and the metadata a learner reads off a tensor.

``TensorSpec`` describes a tensor (factory, arguments, dtype, device, ...);
``factory_call`` turns it into the exact ``torch.<factory>(...)`` call that both
``build_tensor`` runs and ``torchstart.tensor_code`` prints, so the code shown
on the page is the code that ran.
"""

from __future__ import annotations

import math
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from torchstart.errors import TorchstartError
from torchstart.literals import Accepts, Nested, literal_depth, parse_literal
from torchstart.params import BoolParam, ChoiceParam, FloatParam, IntParam

MAX_ELEMENTS = 1_000_000
MAX_DIMS = 6
Number = int | float | bool

DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
    "bfloat16": torch.bfloat16, "int64": torch.int64, "int32": torch.int32, "int16": torch.int16,
    "int8": torch.int8, "uint8": torch.uint8, "bool": torch.bool,
}
AUTO = "auto"


@dataclass(frozen=True)
class FactoryInfo:
    """A tensor factory: how it is called and what it is for."""

    label: str
    summary: str
    inputs: tuple[str, ...]
    random: bool = False


FACTORIES: dict[str, FactoryInfo] = {
    "tensor": FactoryInfo("torch.tensor", "Copies the numbers you type; the dtype is inferred from them "
                          "(ints → int64, any float → float32, True/False → bool).", ("data",)),
    "zeros": FactoryInfo("torch.zeros", "A tensor of the given shape filled with 0.", ("shape",)),
    "ones": FactoryInfo("torch.ones", "A tensor of the given shape filled with 1.", ("shape",)),
    "full": FactoryInfo("torch.full", "A tensor of the given shape filled with one value; "
                        "the dtype follows the value (7 → int64, 7.0 → float32).", ("shape", "fill_value")),
    "arange": FactoryInfo("torch.arange", "start, start+step, ... up to but excluding end (like range()).",
                          ("start", "end", "step")),
    "linspace": FactoryInfo("torch.linspace", "`steps` evenly spaced values from start to end, both included.",
                            ("start", "end", "steps")),
    "eye": FactoryInfo("torch.eye", "An n × m identity matrix: 1 on the diagonal, 0 elsewhere.", ("n", "m")),
    "rand": FactoryInfo("torch.rand", "Uniform random numbers in [0, 1); the seed makes them repeatable.",
                        ("shape", "seed"), random=True),
    "randn": FactoryInfo("torch.randn", "Standard normal random numbers (mean 0, std 1); seeded.",
                         ("shape", "seed"), random=True),
    "randint": FactoryInfo("torch.randint", "Random whole numbers from low (included) to high (excluded); "
                           "seeded.", ("low", "high", "shape", "seed"), random=True),
}

# One declarative table for the creation widgets; caps live here.
PARAMS = {
    "factory": ChoiceParam("Factory", tuple(FACTORIES), "tensor",
                           labels={k: v.label for k, v in FACTORIES.items()},
                           help="The torch function that creates the tensor."),
    "dtype": ChoiceParam("dtype", (AUTO, *DTYPES), AUTO,
                         labels={AUTO: "auto"},
                         help="The element type. 'auto' lets PyTorch pick, as when you pass no dtype."),
    "requires_grad": BoolParam("requires_grad", False,
                               help="Track operations on this tensor for autograd. "
                                    "Only floating-point (or complex) tensors can require gradients."),
    "lin_start": FloatParam("start", 0.0, -1e9, 1e9, step=0.5),
    "lin_end": FloatParam("end", 1.0, -1e9, 1e9, step=0.5),
    "steps": IntParam("steps", 5, 0, MAX_ELEMENTS, help="How many values, ends included."),
    "n": IntParam("n (rows)", 3, 0, MAX_ELEMENTS),
    "m": IntParam("m (columns)", 3, 0, MAX_ELEMENTS),
    "low": IntParam("low (included)", 0, -10**9, 10**9),
    "high": IntParam("high (excluded)", 10, -10**9, 10**9),
    "seed": IntParam("seed", 0, 0, 2**31 - 1, help="Same seed, same numbers."),
}


@dataclass(frozen=True)
class TensorSpec:
    """Everything needed to create one tensor; fields a factory does not use are ignored."""

    factory: str = "tensor"
    data: Nested | None = field(default_factory=lambda: [[1, 2, 3], [4, 5, 6]])
    shape: tuple[int, ...] = (2, 3)
    fill_value: Number = 7
    start: Number = 0
    end: Number = 6
    step: Number = 1
    steps: int = 5
    n: int = 3
    m: int = 3
    low: int = 0
    high: int = 10
    seed: int = 0
    dtype: str = AUTO
    requires_grad: bool = False
    device: str = "cpu"


@dataclass(frozen=True)
class FactoryCall:
    """``torch.<func>(*args, **kwargs)``; ``seed`` set means pass a seeded generator ``g``."""

    func: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    seed: int | None = None


# ---------------------------------------------------------------- parsing learner text

SHAPE_EXAMPLE = "2, 3 (or () for a 0-dim tensor)"


def number_accepts(example: str) -> Accepts:
    """How a one-number box describes what it takes, with ``example`` (e.g. "7 or 2.5")."""
    words = f"one number, such as {example}"
    return Accepts(holds=words, write=words, empty=words)


def int_tuple_accepts(example: str) -> Accepts:
    """How a box of comma-separated whole numbers (a shape, dims) describes what it takes."""
    words = f"whole numbers separated by commas, e.g. {example}"
    return Accepts(holds=words, write=words, empty=words)


def parse_number(text: str, what: str, example: str = "7 or 2.5") -> Number:
    """A single number (or True/False) typed by the learner; messages quote ``example``."""
    value = parse_literal(text, what, number_accepts(example))
    if isinstance(value, list):
        raise TorchstartError(f"The {what} must be one number, such as {example}, not a list; "
                              f"got {text.strip()!r}.")
    return value


def parse_int_tuple(text: str, what: str, example: str = "2, 3") -> tuple[int, ...]:
    """Whole numbers such as ``2, 3`` or ``(2, 3)`` or ``[2, 3]`` or ``4``; messages quote ``example``."""
    value = parse_literal(text, what, int_tuple_accepts(example))
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, list) or isinstance(item, bool) or not isinstance(item, int):
            raise TorchstartError(f"The {what} must be whole numbers separated by commas, e.g. {example}; "
                                  f"{item!r} is not a whole number.")
    return tuple(items)


def parse_shape(text: str) -> tuple[int, ...]:
    """A shape like ``2, 3``: non-negative sizes, at most ``MAX_DIMS`` of them."""
    shape = parse_int_tuple(text, "shape", SHAPE_EXAMPLE)
    if len(shape) > MAX_DIMS:
        raise TorchstartError(f"The shape has {len(shape)} dims; this playground allows up to {MAX_DIMS}.")
    if any(size < 0 for size in shape):
        raise TorchstartError(f"Sizes in a shape cannot be negative; got {format_shape(shape)}.")
    return shape


def format_shape(shape: tuple[int, ...] | torch.Size) -> str:
    """``(2, 3)``, ``(5,)`` or ``()``, as Python writes a tuple."""
    return repr(tuple(shape))


# ---------------------------------------------------------------- checks before allocating

def resolved_dtype(spec: TensorSpec) -> torch.dtype:
    """The dtype the factory will produce (what PyTorch picks when dtype is 'auto')."""
    if spec.dtype != AUTO:
        return DTYPES[spec.dtype]
    if spec.factory == "tensor":
        return torch.tensor(spec.data).dtype  # tiny: the literal parser caps it at 10,000 numbers
    if spec.factory == "full":
        return torch.full((), spec.fill_value).dtype
    if spec.factory == "arange":
        return torch.int64 if all(_is_int(v) for v in (spec.start, spec.end, spec.step)) \
            else torch.get_default_dtype()
    if spec.factory == "randint":
        return torch.int64
    return torch.get_default_dtype()


def numel_of(spec: TensorSpec) -> int:
    """How many elements the spec would allocate, computed without allocating."""
    if spec.factory == "tensor":
        check_literal_dims(spec.data, "tensor literal")
        return _literal_numel(spec.data)
    if spec.factory == "arange":
        for name in ("start", "end", "step"):
            value = getattr(spec, name)
            if not math.isfinite(value):
                raise TorchstartError(f"arange's {name} is {value}: it must be a finite number (a float "
                                      "above about 1.8e308, such as 1e400, becomes inf).")
        dtype = resolved_dtype(spec)
        typed = {name: getattr(spec, name) for name in ("start", "end", "step")}
        fractions = [f"{name} {value:g}" for name, value in typed.items() if not float(value).is_integer()]
        if fractions and not (dtype.is_floating_point or dtype.is_complex):
            # PyTorch truncates them, and not consistently: int64 counts with the truncated step (1.999 acts as
            # 1, twice the elements), uint8 with the typed one (0 to 10 by 2.5 gave 0, 2, 4, 6).
            raise TorchstartError(
                f"arange with dtype {str(dtype).removeprefix('torch.')} truncates start, end and step to whole "
                f"numbers ({', '.join(fractions)} here): a step of 1.999 acts as 1 and 0.5 as 0. Type whole "
                "numbers, or pick a floating-point dtype such as float32.")
        if spec.step == 0:
            raise TorchstartError("arange's step cannot be 0: it would never reach end.")
        if (spec.end - spec.start) * spec.step < 0:
            raise TorchstartError(
                f"arange from {spec.start} to {spec.end} with step {spec.step} goes the wrong way: "
                "use a negative step to count down, or swap start and end.")
        count = (spec.end - spec.start) / spec.step
        if not math.isfinite(count):  # e.g. a step of 1e-320: more elements than a float can count
            raise TorchstartError(
                f"arange from {spec.start} to {spec.end} with step {spec.step} would have more than "
                f"{MAX_ELEMENTS:,} elements; this playground caps tensors at {MAX_ELEMENTS:,}. Use a bigger step.")
        return max(0, math.ceil(count))
    if spec.factory == "linspace":
        return spec.steps
    if spec.factory == "eye":
        return spec.n * spec.m
    return math.prod(spec.shape)


def check_spec(spec: TensorSpec) -> torch.dtype:
    """Refuse specs that are too big or that PyTorch would reject; return the dtype to expect."""
    if spec.factory not in FACTORIES:
        raise TorchstartError(f"Unknown factory {spec.factory!r}; pick one of {', '.join(FACTORIES)}.")
    count = numel_of(spec)
    if count > MAX_ELEMENTS:
        raise TorchstartError(
            f"That tensor would have {count:,} elements; this playground caps tensors at "
            f"{MAX_ELEMENTS:,}. Make the shape smaller.")
    dtype = _dtype_for_factory(spec)
    if spec.requires_grad and not (dtype.is_floating_point or dtype.is_complex):
        raise TorchstartError(
            f"requires_grad needs a floating-point (or complex) dtype, but this tensor is {_name(dtype)}. Gradients "
            "measure how a tiny nudge changes a result, and whole numbers or True/False cannot be "
            "nudged a tiny bit. Pick float32 (or float64), or untick requires_grad.")
    if spec.factory == "randint":
        _check_randint(spec, dtype)
    if spec.factory == "arange" and count:
        _check_arange_fits(spec, dtype, count)
    return dtype


def _check_arange_fits(spec: TensorSpec, dtype: torch.dtype, count: int) -> None:
    """Refuse an arange whose first or last value its dtype cannot hold: PyTorch neither raises nor warns, but wraps
    int8's 0 … 299 round to 41, 42, 43 at the end and turns float16's values past 65504 into inf."""
    last = spec.start + (count - 1) * spec.step
    bad = next((value for value in (spec.start, last) if not fits(value, dtype)), None)
    if bad is None:
        return
    holders = [_name(d) for d in _by_kind(dtype) if fits(spec.start, d) and fits(last, d)]
    what = "arange start" if bad == spec.start else "arange's last value"
    result = "inf" if dtype.is_floating_point else "wrapped-around numbers"
    raise TorchstartError(
        f"The {what} {bad:g} does not fit in {_name(dtype)}, which holds {_range(dtype)}: PyTorch would silently "
        f"give {result} there (arange from {spec.start:g} to {spec.end:g} with step {spec.step:g}). "
        + (f"Pick a dtype that holds every value: {', '.join(holders)}." if holders else "Use a smaller range."))


def _dtype_for_factory(spec: TensorSpec) -> torch.dtype:
    """``resolved_dtype`` plus the factory/dtype pairs PyTorch refuses, explained."""
    try:
        dtype = resolved_dtype(spec)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise creation_error(exc, spec) from None
    if spec.factory in ("rand", "randn") and not dtype.is_floating_point:
        raise TorchstartError(
            f"{FACTORIES[spec.factory].label} draws real numbers, so it needs a floating dtype; "
            f"{_name(dtype)} cannot hold them. Pick float32, or use torch.randint for whole numbers.")
    if spec.factory in ("arange", "linspace") and dtype == torch.bool:
        raise TorchstartError(f"{FACTORIES[spec.factory].label} counts along a range, which bool "
                              "(True/False) cannot do. Pick a number dtype.")
    return dtype


def _check_randint(spec: TensorSpec, dtype: torch.dtype) -> None:
    """randint's range must be non-empty and fit the dtype."""
    if spec.high <= spec.low:
        raise TorchstartError(f"randint draws from low (included) to high (excluded), so high must be "
                              f"bigger than low; got low={spec.low}, high={spec.high}.")
    if dtype.is_floating_point:
        low, high = math.ceil(torch.finfo(dtype).min), math.floor(torch.finfo(dtype).max)
    else:
        low, high = (0, 1) if dtype == torch.bool else (torch.iinfo(dtype).min, torch.iinfo(dtype).max)
    if spec.low < low or spec.high - 1 > high:
        raise TorchstartError(f"{_name(dtype)} holds {low} … {high}, so randint cannot draw "
                              f"from [{spec.low}, {spec.high}). Narrow the range or pick a wider dtype.")


# ---------------------------------------------------------------- building

def factory_call(spec: TensorSpec) -> FactoryCall:
    """The exact torch call for ``spec`` (arguments as plain values; dtype as torch.dtype)."""
    kwargs: dict[str, Any] = {}
    if spec.dtype != AUTO:
        kwargs["dtype"] = DTYPES[spec.dtype]
    if spec.device != "cpu":
        kwargs["device"] = spec.device
    if spec.requires_grad:
        kwargs["requires_grad"] = True
    f = spec.factory
    seed = spec.seed if FACTORIES[f].random else None
    if f == "tensor":
        return FactoryCall(f, (spec.data,), kwargs)
    if f in ("zeros", "ones"):
        return FactoryCall(f, (spec.shape,), kwargs)
    if f == "full":
        return FactoryCall(f, (spec.shape, spec.fill_value), kwargs)
    if f == "arange":
        return FactoryCall(f, (spec.start, spec.end, spec.step), kwargs)
    if f == "linspace":
        return FactoryCall(f, (spec.start, spec.end), {"steps": spec.steps, **kwargs})
    if f == "eye":
        return FactoryCall(f, (spec.n, spec.m), kwargs)
    if f in ("rand", "randn"):
        return FactoryCall(f, (spec.shape,), kwargs, seed)
    return FactoryCall(f, (spec.low, spec.high, spec.shape), kwargs, seed)  # randint


def build_tensor(spec: TensorSpec) -> torch.Tensor:
    """Create the tensor ``spec`` describes, after checking size and dtype rules.

    Random factories use a private ``torch.Generator`` seeded with ``spec.seed``
    (not the global seed), so concurrent sessions cannot disturb each other's numbers.
    """
    return build_tensor_with_warnings(spec)[0]


def build_tensor_with_warnings(spec: TensorSpec) -> tuple[torch.Tensor, list[str]]:
    """``build_tensor``, plus what PyTorch warned while building it, explained for the learner.

    PyTorch's warnings otherwise reach only the server log; the page shows these.
    """
    check_spec(spec)
    call = factory_call(spec)
    kwargs = dict(call.kwargs)
    if call.seed is not None:
        kwargs["generator"] = torch.Generator(device=spec.device).manual_seed(call.seed)
    try:
        with torch_warnings() as messages:
            tensor = getattr(torch, call.func)(*call.args, **kwargs)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise creation_error(exc, spec) from None
    return tensor, creation_notes(messages, spec, tensor.dtype) + storage_notes(spec, tensor) + \
        range_rounding_notes(spec, tensor)


# Streamlit runs each session in its own thread, and the warnings hooks are process-wide: two
# captures overlapping in time would restore each other's hooks (and could leave one installed
# for good). The lock keeps ours one at a time; re-entrant so that a capture may nest.
_WARNINGS_LOCK = threading.RLock()
_TRIGGERED = re.compile(r"\s*\(Triggered internally at [^)]*\)\.?\s*$")
_PRECISION = re.compile(r"out of bounds \[-\(2\^(\d+)\), 2\^\d+\]\. Due to precision limitations")


@contextmanager
def torch_warnings() -> Iterator[list[str]]:
    """Collect the distinct warnings this thread raises inside the block (PyTorch's text, its C++ location cut off)."""
    messages: list[str] = []
    owner = threading.get_ident()
    with _WARNINGS_LOCK, warnings.catch_warnings():  # catch_warnings puts filters and showwarning back
        warnings.simplefilter("always")  # the default filter shows a warning once per process, not once per run
        passed_on = warnings.showwarning

        def keep(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: Any = None, line: str | None = None) -> None:
            """Python's hook for a warning to show: ours are kept, other sessions' go to the log as before."""
            if threading.get_ident() != owner:
                passed_on(message, category, filename, lineno, file, line)
                return
            text = _TRIGGERED.sub("", str(message)).strip()
            if text not in messages:
                messages.append(text)

        warnings.showwarning = keep
        yield messages


def creation_notes(messages: list[str], spec: TensorSpec, dtype: torch.dtype) -> list[str]:
    """PyTorch's warnings while creating ``spec``, in words a learner can act on (one note per cause).

    randint in a float dtype warns when low or high - 1 lies beyond the whole numbers the dtype
    holds exactly (bfloat16: ±2^8). The draws then land only on numbers the dtype holds, so many
    whole numbers in the range can never come up. PyTorch says this "will become an error in version
    1.7", yet 2.13 still returns the numbers; we show them with the warning rather than refuse, so the
    page does what the shown code does, and the learner sees PyTorch's own words.
    """
    precision = [m for m in messages if _PRECISION.search(m)] if spec.factory == "randint" else []
    notes = [f"PyTorch warned: {m}" for m in messages if m not in precision]
    if precision:  # one warning for low, one for high - 1: a single cause, so a single note
        notes.insert(0, _randint_precision_note(precision, spec, dtype))
    return notes


def range_rounding_notes(spec: TensorSpec, tensor: torch.Tensor) -> list[str]:
    """What a half-precision arange did to its steps: values past the dtype's exact whole numbers round, and repeat."""
    if spec.factory != "arange" or tensor.dtype not in (torch.float16, torch.bfloat16) or tensor.numel() < 2:
        return []
    values = tensor.detach().cpu().float()
    repeated = values[1:][values[1:] == values[:-1]]  # each value equal to the one before it
    repeats = len(repeated)
    if not repeats:
        return []
    first = repeated[0].item()
    bits = 1 - int(math.log2(torch.finfo(tensor.dtype).eps))  # float16: 11, bfloat16: 8
    exact = 2**bits
    repeat = "value repeats" if repeats == 1 else "values repeat"
    return [f"{_name(tensor.dtype)} keeps {bits} significant bits, so it holds whole numbers exactly only up to "
            f"{exact:,}: past that, arange's values round, and {repeats:,} {repeat} the one before ({first:g} "
            "twice, for one). Pick float32 to keep them apart."]


MAX_STORAGE_EXAMPLES = 3  # per kind of change: enough to see the pattern, short enough to read


def storage_notes(spec: TensorSpec, tensor: torch.Tensor) -> list[str]:
    """What a float dtype did to the numbers typed in a literal: overflowed to ±inf, underflowed to 0, or rounded
    enough to show in 4 significant digits (float16 stores 2049 as 2048). PyTorch does these silently."""
    if spec.factory != "tensor" or not tensor.dtype.is_floating_point:
        return []
    typed = _leaves(spec.data)
    stored = tensor.detach().flatten().tolist()
    if len(typed) != len(stored):
        return []
    info, name = torch.finfo(tensor.dtype), _name(tensor.dtype)
    overflow, tiny, rounded = [], [], []
    for value, kept in zip(typed, stored):
        value = float(value)
        if not math.isfinite(value) or value == kept:
            continue
        if math.isinf(kept):
            overflow.append(f"{value:g} became {kept:g}")
        elif abs(kept) < info.smallest_normal:  # 0 (-0 keeps the sign) or a subnormal, with fewer bits
            tiny.append(f"{value:g} became {'-0' if kept == 0 and math.copysign(1, kept) < 0 else f'{kept:.6g}'}")
        elif abs(kept - value) > 1e-4 * abs(value):
            rounded.append(f"{value:g} became {kept:.6g}")
    notes = []
    if overflow:
        # Round to nearest: a number becomes inf only past the largest value plus half a step (65,504 + 16).
        edge = info.max + info.max * info.eps / (2 * (2 - info.eps))
        notes.append(f"In {name}, {_examples(overflow)}: its largest finite value is {info.max:,.6g} "
                     f"(torch.finfo(torch.{name}).max), and from {edge:,.6g} on (half a step beyond it) a number "
                     "rounds to infinity.")
    if tiny:
        notes.append(f"In {name}, {_examples(tiny)}: below {info.smallest_normal:.3g} "
                     f"(torch.finfo(torch.{name}).smallest_normal) it keeps fewer bits (subnormal numbers, down to "
                     f"{info.smallest_normal * info.eps:.3g}), and a number at or under half of that smallest "
                     "subnormal becomes 0, keeping its sign.")
    if rounded:
        bits = round(1 - math.log2(info.eps))
        notes.append(f"In {name}, {_examples(rounded)}: it keeps {bits} significant bits (about "
                     f"{-math.log10(info.resolution):.0f} decimal digits; torch.finfo(torch.{name}).eps = "
                     f"{info.eps:.3g}), so it stores the nearest number it can hold. The table writes each stored "
                     f"value as the shortest text that reads back as that {name}, as NumPy does, so it may look "
                     "unchanged; the print() view shows PyTorch's own digits.")
    return notes


def _examples(changes: list[str]) -> str:
    """The first few changes, and how many more."""
    more = len(changes) - MAX_STORAGE_EXAMPLES
    return ", ".join(changes[:MAX_STORAGE_EXAMPLES]) + (f" (and {more:,} more)" if more > 0 else "")


def _randint_precision_note(messages: list[str], spec: TensorSpec, dtype: torch.dtype) -> str:
    """Why randint in a narrow float dtype warns, what it does to the draws, and which dtypes avoid it."""
    bits = _PRECISION.search(messages[0]).group(1)
    limit = 2 ** int(bits)
    exact = [_name(d) for d in _by_kind(dtype) if _holds_whole_range(d, spec.low, spec.high - 1)]
    advice = (f"pick a dtype that holds every whole number from {spec.low} to {spec.high - 1}: {', '.join(exact)}"
              if exact else "no dtype here holds all of them")
    # The warnings differ only in their first sentence (which bound): quote the rest once.
    quoted = " ".join([f"“{messages[0]}”", *(f"“{m.split('. ')[0]}.”" for m in messages[1:])])
    return (f"{_name(dtype)} holds every whole number only from -{limit:,} to {limit:,} (2^{bits}), but "
            f"randint's range [{spec.low}, {spec.high}) goes beyond that: draws land only on numbers "
            f"{_name(dtype)} can hold, so many whole numbers in the range never come up. Keep low and high - 1 within "
            f"-{limit:,} … {limit:,}, or {advice}. PyTorch's warning{'s' if len(messages) > 1 else ''}: {quoted}")


def _holds_whole_range(dtype: torch.dtype, low: int, high: int) -> bool:
    """Whether ``dtype`` holds every whole number from ``low`` to ``high`` (floats: up to ±2^significant bits)."""
    if dtype == torch.bool:
        return 0 <= low and high <= 1
    if dtype.is_floating_point:
        limit = 2 ** (1 - int(math.log2(torch.finfo(dtype).eps)))  # eps = 2^-(bits - 1): float32 → 2^24
        return -limit <= low and high <= limit
    info = torch.iinfo(dtype)
    return info.min <= low and high <= info.max


def _by_kind(dtype: torch.dtype) -> list[torch.dtype]:
    """The other non-bool dtypes: those of ``dtype``'s kind (float or int) first, each kind narrowest first."""
    others = [d for d in DTYPES.values() if d not in (dtype, torch.bool)]
    return sorted(others, key=lambda d: (d.is_floating_point != dtype.is_floating_point, d.itemsize,
                                         d == torch.bfloat16))


def spec_from_inputs(inputs: dict[str, Any], device: str = "cpu") -> TensorSpec:
    """Turn the page's raw widget values into a checked ``TensorSpec``.

    Text fields (literal, shape, fill value, arange bounds) are parsed safely;
    number fields are checked against ``PARAMS``; only the fields the chosen
    factory uses are read.
    """
    factory = PARAMS["factory"].check(inputs.get("factory", "tensor"))
    uses = FACTORIES[factory].inputs
    changes: dict[str, Any] = {
        "factory": factory,
        "dtype": PARAMS["dtype"].check(inputs.get("dtype", AUTO)),
        "requires_grad": bool(inputs.get("requires_grad", False)),
        "device": str(device),
    }
    if "data" in uses:
        changes["data"] = parse_literal(inputs.get("literal", ""), "tensor literal")
    if "shape" in uses:
        changes["shape"] = parse_shape(inputs.get("shape", ""))
    if "fill_value" in uses:
        changes["fill_value"] = parse_number(inputs.get("fill", ""), "fill value",
                                             "7 (gives int64), 7.0 (float32) or True (bool)")
    if factory == "arange":
        for name, example in (("start", "0 or -2.5"), ("end", "6 or 2.5"), ("step", "1 or 0.5")):
            value = parse_number(inputs.get(name, ""), f"arange {name}", example)
            if isinstance(value, bool):
                raise TorchstartError(f"arange's {name} must be a number, not {value}.")
            changes[name] = value
    if factory == "linspace":
        changes["start"] = PARAMS["lin_start"].check(inputs.get("lin_start", 0.0))
        changes["end"] = PARAMS["lin_end"].check(inputs.get("lin_end", 1.0))
    for name in ("steps", "n", "m", "low", "high", "seed"):
        if name in uses:
            changes[name] = PARAMS[name].check(int(inputs.get(name, PARAMS[name].default)))
    return replace(TensorSpec(), **changes)


def literal_error(exc: Exception, what: str) -> TorchstartError:
    """Turn PyTorch's complaint about a literal/factory call into a sentence a learner can act on."""
    text = _first_line(exc)
    if "expected sequence of length" in text:
        return TorchstartError(
            f"The rows of the {what} have different lengths ({text}). A tensor is a rectangular grid: "
            "every row needs the same number of entries, e.g. [[1, 2], [3, 4]].")
    if "without overflow" in text:
        return TorchstartError(f"A number in the {what} does not fit in its dtype ({text}). Type smaller "
                               "numbers, or pick a dtype whose range holds them.")
    return TorchstartError(f"PyTorch refused the {what}: {text}")


def creation_error(exc: Exception, spec: TensorSpec) -> TorchstartError:
    """PyTorch's complaint while creating ``spec``, naming the box the learner typed the culprit in."""
    if "without overflow" in _first_line(exc):
        return overflow_error(spec, attempted_dtype(spec), _first_line(exc))
    return literal_error(exc, "tensor literal" if spec.factory == "tensor" else f"{FACTORIES[spec.factory].label} call")


def typed_values(spec: TensorSpec) -> list[tuple[str, Number]]:
    """The numbers the learner typed that become values of the tensor, each with the name of its box."""
    if spec.factory == "tensor":
        return [("tensor literal", value) for value in _leaves(spec.data)]
    if spec.factory == "full":
        return [("fill value", spec.fill_value)]
    if spec.factory in ("arange", "linspace"):
        names = ("start", "end", "step") if spec.factory == "arange" else ("start", "end")
        return [(f"{spec.factory} {name}", getattr(spec, name)) for name in names]
    if spec.factory == "randint":
        return [("randint low", spec.low), ("randint high - 1", spec.high - 1)]
    return []


def attempted_dtype(spec: TensorSpec) -> torch.dtype:
    """The dtype PyTorch tries for ``spec`` (chosen, or inferred from the typed numbers as torch infers it)."""
    if spec.dtype != AUTO:
        return DTYPES[spec.dtype]
    values = [value for _, value in typed_values(spec)]
    if spec.factory not in ("tensor", "full", "arange") or not values:
        return torch.int64 if spec.factory == "randint" else torch.get_default_dtype()
    if all(isinstance(value, bool) for value in values):
        return torch.bool
    if all(isinstance(value, int) for value in values):
        return torch.int64
    return torch.get_default_dtype()


def fits(value: Number, dtype: torch.dtype) -> bool:
    """Whether ``dtype`` holds ``value`` without overflow (ints: only whole values; floats: nan and ±inf too)."""
    if dtype == torch.bool:
        return value in (0, 1)
    if dtype.is_floating_point:
        return not math.isfinite(value) or abs(value) <= torch.finfo(dtype).max
    info = torch.iinfo(dtype)
    return math.isfinite(value) and float(value).is_integer() and info.min <= value <= info.max


def overflow_error(spec: TensorSpec, dtype: torch.dtype, text: str) -> TorchstartError:
    """Which typed number does not fit ``dtype``, and which dtypes (if any) hold every number typed."""
    typed = typed_values(spec)
    bad = next(((name, value) for name, value in typed if not fits(value, dtype)), None)
    if bad is None:  # torch overflowed on a value it computed, not on one that was typed
        return TorchstartError(f"A value of the {FACTORIES[spec.factory].label} call does not fit in "
                               f"{_name(dtype)} ({text}). Use smaller numbers or another dtype.")
    name, value = bad
    culprit = (f"The number {value!r} in the tensor literal" if spec.factory == "tensor"
               else f"The {name} {value!r}")
    holders = [_name(d) for d in _by_kind(dtype) if all(fits(v, d) for _, v in typed)]
    every = "every number you typed" if len(typed) > 1 else "it"
    advice = (f"Pick a dtype that holds {every}: {', '.join(holders)}." if holders
              else f"No dtype here holds {every}: type a smaller number.")
    return TorchstartError(f"{culprit} does not fit in {_name(dtype)}, which holds {_range(dtype)}. {advice}")


def _range(dtype: torch.dtype) -> str:
    """``-128 … 127`` or ``-3.4028e+38 … 3.4028e+38``: the values a dtype holds."""
    if dtype.is_floating_point:
        return f"{-torch.finfo(dtype).max:.5g} … {torch.finfo(dtype).max:.5g}"
    if dtype == torch.bool:
        return "False and True"
    return f"{torch.iinfo(dtype).min} … {torch.iinfo(dtype).max}"


def _leaves(data: Nested | None) -> list[Number]:
    """The numbers of a nested literal, in order."""
    if isinstance(data, list):
        return [leaf for item in data for leaf in _leaves(item)]
    return [] if data is None else [data]


def _first_line(exc: Exception) -> str:
    """The first line of an exception's message (its type's name when it has none)."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


# ---------------------------------------------------------------- metadata

@dataclass(frozen=True)
class MetaRow:
    """One property of a tensor: its name, its value as text, and what it means here."""

    name: str
    value: str
    meaning: str


def describe(t: torch.Tensor) -> list[MetaRow]:
    """Shape, dtype, device, sizes, strides, storage and autograd facts, each explained for ``t``."""
    stride = t.stride()
    return [
        MetaRow("shape", format_shape(t.shape), f"{t.dim()} dim(s); size along each dim."),
        MetaRow("dtype", str(t.dtype), "The type of every element; one tensor has one dtype."),
        MetaRow("device", str(t.device), "Where the numbers live; ops need their tensors on one device."),
        MetaRow("numel()", f"{t.numel():,}", "Number of elements: the product of the shape."),
        MetaRow("element_size()", f"{t.element_size()} bytes", f"Bytes per {_name(t.dtype)} element."),
        MetaRow("nbytes", f"{t.nbytes:,} bytes",
                "numel × element size: the bytes its elements take stored densely (a stepped or expanded view "
                "spans more or less storage: see untyped_storage().nbytes())."),
        MetaRow("stride()", repr(stride), stride_meaning(stride)),
        MetaRow("storage_offset()", str(t.storage_offset()),
                "Where this tensor's first element sits in the underlying storage (0 unless it is a "
                "slice that starts later)."),
        MetaRow("is_contiguous()", str(t.is_contiguous()), contiguous_meaning(t.is_contiguous())),
        MetaRow("requires_grad", str(t.requires_grad),
                "Autograd records ops on it." if t.requires_grad else "Autograd ignores it."),
        MetaRow("grad_fn", type(t.grad_fn).__name__ if t.grad_fn is not None else "None",
                "The op that made it, as autograd recorded it." if t.grad_fn is not None
                else "A leaf: made by a factory (or not tracked), not by a recorded op."),
        MetaRow("data_ptr()", hex(t.data_ptr()), "Address of the first element."),
        MetaRow("untyped_storage().data_ptr()", hex(t.untyped_storage().data_ptr()),
                "Address of the whole storage; equal addresses mean shared memory."),
        MetaRow("storage size", f"{t.untyped_storage().nbytes():,} bytes",
                "Bytes in the storage; a view of a bigger tensor sees only part of it."),
    ]


def stride_meaning(stride: tuple[int, ...]) -> str:
    """A sentence explaining this stride tuple."""
    if not stride:
        return "A 0-dim tensor has no dims to step along."
    steps = "; ".join(f"+1 along dim {d} jumps {s} element{'s' if s != 1 else ''}" for d, s in enumerate(stride))
    return f"How far to jump in storage to move one step along each dim: {steps}."


def contiguous_meaning(contiguous: bool) -> str:
    """Why contiguity matters, for either answer."""
    if contiguous:
        return "Rows lie one after another in storage (row-major), so view() can reshape without copying."
    return ("Storage order differs from row order (e.g. after transpose). view() works only when the new shape "
            "fits the existing strides (a transposed 2×3 tensor can become 3×2×1), so flattening a transposed "
            "tensor with view(-1) fails; reshape() copies when it must, .contiguous() makes the row-major copy.")


def shares_memory(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether two tensors use overlapping storage memory (a view and its base do, empty ones included)."""
    if a.device != b.device:
        return False
    sa, sb = a.untyped_storage(), b.untyped_storage()
    if not (sa.nbytes() and sb.nbytes()):
        # An empty storage has no address range to compare; a view still points at its base's storage object.
        return a is b or sa is sb or _base(a) is _base(b)
    a0, b0 = sa.data_ptr(), sb.data_ptr()
    return a0 < b0 + sb.nbytes() and b0 < a0 + sa.nbytes()


def _base(t: torch.Tensor) -> torch.Tensor:
    """The tensor that owns ``t``'s memory: its view base, or ``t`` itself."""
    return t if t._base is None else t._base


def check_literal_dims(data: Nested | None, what: str) -> None:
    """Refuse a literal nested deeper than ``MAX_DIMS`` brackets (each level is one dim)."""
    depth = literal_depth(data)
    if depth > MAX_DIMS:
        raise TorchstartError(f"The {what} is nested {depth} brackets deep, so it would have {depth} dims; "
                              f"this playground allows up to {MAX_DIMS}. Remove some brackets.")


def _literal_numel(data: Nested | None) -> int:
    """Leaf count of a nested literal (an upper bound for ragged ones, which torch refuses anyway)."""
    if isinstance(data, list):
        return sum(_literal_numel(item) for item in data)
    return 1


def _is_int(value: Number) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def _name(dtype: torch.dtype) -> str:
    """``float32`` for ``torch.float32``."""
    return str(dtype).removeprefix("torch.")
