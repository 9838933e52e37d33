"""The layers a learner can stack on the Models page: one declarative registry.

Each ``LayerKind`` names its ``torch.nn`` class, its arguments (defaults and caps
as declarative params), how it changes a shape, and how many parameters and
mult-adds it costs, so a stack can be checked before anything is allocated.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from torch import nn

from torchstart.errors import TorchstartError
from torchstart.params import BoolParam, FloatParam, IntParam
from torchstart.wording import plural

Shape = tuple[int, ...]

MAX_FEATURES = 65_536
MAX_CHANNELS = 1_024
MAX_KERNEL = 15
MAX_STRIDE = 15
MAX_PADDING = 7

_NO_DEFAULT = object()


@dataclass(frozen=True)
class ArgSpec:
    """One constructor argument: its keyword name, widget param, and how generated code writes it.

    ``torch_default`` is PyTorch's own default; an argument equal to it is left out
    of generated code unless ``positional`` (then it is always written, by position).
    """

    name: str
    param: IntParam | FloatParam | BoolParam
    positional: bool = False
    torch_default: Any = _NO_DEFAULT

    @property
    def default(self) -> Any:
        """The value a newly added layer starts with."""
        return self.param.default


@dataclass(frozen=True)
class Where:
    """Where a layer sits, in words, for shape messages."""

    layer: str   # "Layer 4: Linear(64 → 10)"
    source: str  # "ReLU after Linear(16 → 32)" or "the input"
    setter: str = "the input shape"  # the nearest earlier layer that sets the size: "Linear(16 → 32)"


def _or_change(where: Where, wanted: int) -> str:
    """The second way out of a size mismatch: change what feeds the layer."""
    if where.setter == "the input shape":
        return f"or change the input shape to match ({wanted:,})"
    return f"or change {where.setter} to give {wanted:,}"


ShapeRule = Callable[[dict[str, Any], Shape, Where], Shape]
CountRule = Callable[[dict[str, Any], Shape], int]


def _zero(args: dict[str, Any], shape: Shape) -> int:
    return 0


def _same(args: dict[str, Any], shape: Shape, where: Where) -> Shape:
    return shape


@dataclass(frozen=True)
class LayerKind:
    """A kind of layer: the torch class, its arguments and its shape/cost rules."""

    name: str
    cls: type[nn.Module]
    attr: str  # base attribute name in the generated class: linear -> self.linear1
    summary: str
    args: tuple[ArgSpec, ...] = ()
    shape_rule: ShapeRule = _same
    count_params: CountRule = _zero
    count_macs: CountRule = _zero
    # Only for the caps, never shown: numbers a state_dict saves besides the parameters (BatchNorm's running
    # statistics), and work that is not a multiply-add (a pooling window's k × k reads per output value).
    count_buffers: CountRule = _zero
    count_other_work: CountRule = _zero
    input_arg: str | None = None  # the argument that must match the incoming size
    fit: Callable[[Shape], int | None] = field(default=lambda shape: None)
    # Several arguments fitted together (Unflatten's channels, height and width) from the shape and the current
    # arguments; replaces input_arg/fit.
    fit_many: Callable[[Shape, dict[str, Any]], dict[str, int] | None] | None = None
    label_rule: Callable[[dict[str, Any]], str] | None = None
    # Activations, dropout and norms pass the incoming size through: messages look past them.
    keeps_shape: bool = False
    # For a constructor whose arguments are not one keyword per widget (Unflatten's size tuple).
    make_rule: Callable[[dict[str, Any]], nn.Module] | None = None
    code_rule: Callable[[dict[str, Any]], str] | None = None

    def fitted_args(self, shape: Shape, args: dict[str, Any]) -> dict[str, int]:
        """The arguments auto-fit sets from the incoming ``shape``; empty when the shape does not tell."""
        if self.fit_many is not None:
            return self.fit_many(shape, {**self.defaults(), **args}) or {}
        value = self.fit(shape) if self.input_arg else None
        return {} if value is None else {self.input_arg: value}

    def defaults(self) -> dict[str, Any]:
        """Fresh argument values for a newly added layer."""
        return {a.name: a.default for a in self.args}

    def check_args(self, args: dict[str, Any]) -> dict[str, Any]:
        """Fill in defaults, refuse unknown names, and check every value against its cap."""
        unknown = set(args) - {a.name for a in self.args}
        if unknown:
            raise TorchstartError(f"{self.name} has no argument {sorted(unknown)[0]!r}.")
        checked = {}
        for arg in self.args:
            value = args.get(arg.name, arg.default)
            if isinstance(arg.param, IntParam) and isinstance(value, float) and value.is_integer():
                value = int(value)
            try:
                checked[arg.name] = arg.param.check(value)
            except TorchstartError as err:
                raise TorchstartError(f"{self.name}: {err}") from None
        return checked

    def make(self, args: dict[str, Any]) -> nn.Module:
        """Construct the torch layer (arguments must be checked first)."""
        return self.make_rule(args) if self.make_rule else self.cls(**args)

    def label(self, args: dict[str, Any]) -> str:
        """A short readable name such as ``Linear(16 → 32)`` for messages and tables."""
        return self.label_rule(args) if self.label_rule else self.name

    def code(self, args: dict[str, Any]) -> str:
        """The constructor call as a learner writes it, e.g. ``nn.Conv2d(1, 8, kernel_size=3)``."""
        if self.code_rule:
            return self.code_rule(args)
        parts = []
        for arg in self.args:
            value = args[arg.name]
            if arg.positional:
                parts.append(_literal(value))
            elif arg.torch_default is _NO_DEFAULT or value != arg.torch_default:
                if arg.name == "stride" and value == args.get("kernel_size") and self.name.endswith("Pool2d"):
                    continue  # a pool's stride defaults to its kernel size
                parts.append(f"{arg.name}={_literal(value)}")
        return f"nn.{self.cls.__name__}({', '.join(parts)})"


def _literal(value: Any) -> str:
    return repr(float(value)) if isinstance(value, float) else repr(value)


def format_shape(shape: Shape) -> str:
    """``(1, 28, 28)`` -> ``1×28×28``."""
    return "×".join(str(n) for n in shape)


def describe(shape: Shape) -> str:
    """A shape in words: ``32 features`` for flat vectors, else ``an 8×14×14 tensor``."""
    if len(shape) == 1:
        return plural(shape[0], "feature")
    text = format_shape(shape)
    # "an" before a number said with a vowel sound: 8, 11, 18, 80–89, 800…
    article = "an" if re.match(r"(8|11×|18×|11$|18$)", text) else "a"
    return f"{article} {text} tensor"


# ---------------------------------------------------------------- shape rules


def _linear_shape(args: dict[str, Any], shape: Shape, where: Where) -> Shape:
    wanted, got = args["in_features"], shape[-1]
    if got == wanted:
        return (*shape[:-1], args["out_features"])
    if len(shape) > 1:
        raise TorchstartError(
            f"{where.layer} receives {describe(shape)} from {where.source}, and a Linear layer works "
            f"on the last dimension ({got:,}), not {wanted:,}. Put a Flatten before it to get "
            f"{plural(math.prod(shape), 'feature')}, or set its in_features to {got:,}."
        )
    fix = (f"Set its in_features to {got:,}" if got <= MAX_FEATURES else
           f"That is more than the {MAX_FEATURES:,} in_features allowed here: pool or shrink the input first")
    raise TorchstartError(
        f"{where.layer} receives {plural(got, 'feature')} from {where.source}. "
        f"{fix}, {_or_change(where, wanted)}."
    )


def picture_shape(n: int, min_side: int = 1, max_side: int = MAX_FEATURES) -> Shape | None:
    """The picture a flat row of ``n`` values could be: (1, s, s) when n = s² (784 -> grey 28×28), (3, s, s) when
    n = 3s² (3,072 -> colour 32×32), else None. No n is both, since √3 is irrational."""
    for channels in (1, 3):
        side = math.isqrt(n // channels)
        if n % channels == 0 and side * side * channels == n and min_side <= side <= max_side:
            return (channels, side, side)
    return None


def spaced(image: Shape) -> str:
    """Unflatten's three numbers as its widgets read: ``1 × 28 × 28``."""
    return " × ".join(str(n) for n in image)


def picture_words(image: Shape) -> str:
    """'a grey 28×28 picture' for 1×28×28, 'a colour 32×32 picture' for 3×32×32."""
    return f"a {'grey' if image[0] == 1 else 'colour'} {image[1]}×{image[2]} picture"


def _needs_image(kind: str, shape: Shape, where: Where) -> None:
    if len(shape) != 3:
        image = picture_shape(shape[0], min_side=4) if len(shape) == 1 else None  # 4×4 and up
        way = (f"Put an Unflatten ({spaced(image)}) before it to read each row of {shape[0]:,} as "
               f"{picture_words(image)}, or use" if image else "Use")
        raise TorchstartError(
            f"{where.layer} needs an image shaped channels × height × width, but receives "
            f"{describe(shape)} from {where.source}. {way} an input shape such as 1, 28, 28 "
            f"and put {kind} before any Flatten."
        )


def _check_channels(arg: str, wanted: int, got: int, where: Where) -> None:
    if got != wanted:
        raise TorchstartError(
            f"{where.layer} receives {plural(got, 'channel')} from {where.source}. Set its {arg} to {got:,}, "
            f"{_or_change(where, wanted)}."
        )


def _sliding(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _conv_shape(args: dict[str, Any], shape: Shape, where: Where) -> Shape:
    _needs_image("Conv2d", shape, where)
    _check_channels("in_channels", args["in_channels"], shape[0], where)
    k, s, p = args["kernel_size"], args["stride"], args["padding"]
    h, w = shape[1:]
    if h + 2 * p < k or w + 2 * p < k:
        raise TorchstartError(
            f"{where.layer} receives a {h}×{w} image from {where.source}, smaller than its {k}×{k} "
            f"kernel (with padding {p}). Use a smaller kernel, more padding, or less pooling before it."
        )
    return (args["out_channels"], _sliding(h, k, s, p), _sliding(w, k, s, p))


def _pool_shape_rule(kind: str) -> ShapeRule:
    """The shape rule of a 2-d pooling layer named ``kind``."""

    def rule(args: dict[str, Any], shape: Shape, where: Where) -> Shape:
        _needs_image(kind, shape, where)
        k, s = args["kernel_size"], args["stride"]
        c, h, w = shape
        if h < k or w < k:
            raise TorchstartError(
                f"{where.layer} receives a {h}×{w} image from {where.source}, smaller than its {k}×{k} "
                "window. Use a smaller kernel_size or pool less before it."
            )
        return (c, _sliding(h, k, s, 0), _sliding(w, k, s, 0))

    return rule


def _bn1d_shape(args: dict[str, Any], shape: Shape, where: Where) -> Shape:
    if len(shape) > 2:
        raise TorchstartError(
            f"{where.layer} receives {describe(shape)} from {where.source}; BatchNorm1d takes features "
            "(or channels × length). Use BatchNorm2d for images, or Flatten first."
        )
    if shape[0] != args["num_features"]:
        raise TorchstartError(
            f"{where.layer} receives {plural(shape[0], 'feature')} from {where.source}. Set its num_features "
            f"to {shape[0]:,}, {_or_change(where, args['num_features'])}."
        )
    return shape


def _bn2d_shape(args: dict[str, Any], shape: Shape, where: Where) -> Shape:
    _needs_image("BatchNorm2d", shape, where)
    _check_channels("num_features", args["num_features"], shape[0], where)
    return shape


def _flatten_shape(args: dict[str, Any], shape: Shape, where: Where) -> Shape:
    return (math.prod(shape),)


def _image_size(args: dict[str, Any]) -> Shape:
    """Unflatten's target shape: (channels, height, width)."""
    return (args["channels"], args["height"], args["width"])


def _fit_unflatten(shape: Shape, args: dict[str, Any]) -> dict[str, int] | None:
    """A flat row of s² values becomes 1×s×s (grey), of 3s² values 3×s×s (colour); other lengths stay as set.

    A picture shape that already holds the row is the learner's choice (4×14×14 of 784): unlike in_features,
    the row length does not decide it, so auto-fit leaves it alone.
    """
    if len(shape) != 1 or math.prod(_image_size(args)) == shape[0]:
        return None
    image = picture_shape(shape[0])
    return dict(zip(("channels", "height", "width"), image)) if image else None


def _unflatten_shape(args: dict[str, Any], shape: Shape, where: Where) -> Shape:
    image = _image_size(args)
    if len(shape) != 1:
        fix = (f"set the input shape to {math.prod(image):,} (one number: a row's length), or remove the Unflatten"
               if where.source == "the input" else f"put it first, on an input of {math.prod(image):,} features")
        raise TorchstartError(
            f"{where.layer} receives {describe(shape)} from {where.source}; Unflatten here turns flat rows "
            f"of features into images, so {fix}."
        )
    if shape[0] != math.prod(image):
        picture = picture_shape(shape[0])
        hint = f" ({spaced(picture)} for {picture_words(picture)})" if picture else ""
        if where.source == "the input":
            fix = (f"Set channels × height × width to {shape[0]:,}{hint}, or change the input shape to "
                   f"{math.prod(image):,}.")
        else:  # deep in the stack: almost always meant to turn the input rows into pictures
            fix = ("Unflatten belongs first, where it turns each input row into a picture: move it to the top "
                   f"(or set channels × height × width to {shape[0]:,} if you do mean to reshape here).")
        raise TorchstartError(
            f"{where.layer} receives {plural(shape[0], 'feature')} from {where.source}, but a "
            f"{format_shape(image)} image holds {math.prod(image):,} values. {fix}"
        )
    return image


# ---------------------------------------------------------------- costs
# Counted from shapes alone so caps refuse a stack before anything is allocated. Multiply-adds
# follow model_inspect.layer_mult_adds (weight products and BatchNorm's one per value, not bias
# adds); a test checks both against a real forward pass.


def _linear_params(args: dict[str, Any], shape: Shape) -> int:
    return args["in_features"] * args["out_features"] + (args["out_features"] if args["bias"] else 0)


def _linear_macs(args: dict[str, Any], shape: Shape) -> int:
    return args["in_features"] * args["out_features"] * math.prod(shape[:-1])


def _conv_params(args: dict[str, Any], shape: Shape) -> int:
    weights = args["in_channels"] * args["out_channels"] * args["kernel_size"] ** 2
    return weights + (args["out_channels"] if args["bias"] else 0)


def _conv_macs(args: dict[str, Any], shape: Shape) -> int:
    k, s, p = args["kernel_size"], args["stride"], args["padding"]
    positions = _sliding(shape[1], k, s, p) * _sliding(shape[2], k, s, p)
    return args["in_channels"] * args["out_channels"] * k * k * positions


def _bn_params(args: dict[str, Any], shape: Shape) -> int:
    return 2 * args["num_features"]


def _bn_buffers(args: dict[str, Any], shape: Shape) -> int:
    return 2 * args["num_features"] + 2  # running_mean, running_var; num_batches_tracked is 8 bytes: 2 float32s


def _pool_work(args: dict[str, Any], shape: Shape) -> int:
    k, s = args["kernel_size"], args["stride"]
    return shape[0] * _sliding(shape[1], k, s, 0) * _sliding(shape[2], k, s, 0) * k * k


def _bn_macs(args: dict[str, Any], shape: Shape) -> int:
    return math.prod(shape)  # eval mode folds into x · scale + shift: one multiply-add per value


# ---------------------------------------------------------------- the registry

_FEATURES = dict(min_value=1, max_value=MAX_FEATURES)
_CHANNELS = dict(min_value=1, max_value=MAX_CHANNELS)
_BIAS = ArgSpec("bias", BoolParam("bias", True, help="Add a learnable bias."), torch_default=True)


def _pool(cls: type[nn.Module], attr: str, summary: str) -> LayerKind:
    return LayerKind(
        cls.__name__, cls, attr, summary,
        args=(ArgSpec("kernel_size", IntParam("kernel_size", 2, 1, MAX_KERNEL), positional=True),
              ArgSpec("stride", IntParam("stride", 2, 1, MAX_STRIDE))),
        shape_rule=_pool_shape_rule(cls.__name__), count_other_work=_pool_work,
        label_rule=lambda a, n=cls.__name__: (
            f"{n}({a['kernel_size']})" if a["stride"] == a["kernel_size"]
            else f"{n}({a['kernel_size']}, stride {a['stride']})"),
    )


def _activation(cls: type[nn.Module], attr: str, summary: str) -> LayerKind:
    return LayerKind(cls.__name__, cls, attr, summary, keeps_shape=True)


_SIDE = dict(min_value=1, max_value=MAX_FEATURES)

LAYERS: dict[str, LayerKind] = {kind.name: kind for kind in (
    LayerKind(
        "Linear", nn.Linear, "linear", "y = x Wᵀ + b on the last dimension.",
        args=(ArgSpec("in_features", IntParam("in_features", 2, **_FEATURES), positional=True),
              ArgSpec("out_features", IntParam("out_features", 16, **_FEATURES), positional=True),
              _BIAS),
        shape_rule=_linear_shape, count_params=_linear_params, count_macs=_linear_macs,
        # Fitted to flat rows only: on 1×28×28 it would make a per-row Linear (1×28×28 → 1×28×16) that hides
        # the missing Flatten, where the check says to put one.
        input_arg="in_features", fit=lambda shape: shape[0] if len(shape) == 1 else None,
        label_rule=lambda a: f"Linear({a['in_features']} → {a['out_features']})",
    ),
    _activation(nn.ReLU, "relu", "max(0, x), element-wise."),
    _activation(nn.Sigmoid, "sigmoid", "1 / (1 + e⁻ˣ), squashes to (0, 1)."),
    _activation(nn.Tanh, "tanh", "Squashes to (-1, 1)."),
    LayerKind(
        "LeakyReLU", nn.LeakyReLU, "leaky_relu", "Like ReLU, but lets a small slope through below 0.",
        args=(ArgSpec("negative_slope", FloatParam("negative_slope", 0.01, 0.0, 1.0, step=0.01,
                                                   format="%.3f"), positional=True),),
        label_rule=lambda a: f"LeakyReLU({a['negative_slope']:g})", keeps_shape=True,
    ),
    _activation(nn.GELU, "gelu", "Smooth ReLU used in transformers."),
    LayerKind(
        "Dropout", nn.Dropout, "dropout", "In training, zeroes each value with probability p and scales the rest by 1/(1−p); "
        "does nothing in eval mode.",
        args=(ArgSpec("p", FloatParam("p", 0.2, 0.0, 1.0, step=0.05, format="%.2f"), positional=True),),
        label_rule=lambda a: f"Dropout({a['p']:g})", keeps_shape=True,
    ),
    LayerKind(
        "BatchNorm1d", nn.BatchNorm1d, "bn", "Normalises each feature over the batch.",
        args=(ArgSpec("num_features", IntParam("num_features", 16, **_FEATURES), positional=True),),
        shape_rule=_bn1d_shape, count_params=_bn_params, count_macs=_bn_macs, count_buffers=_bn_buffers,
        input_arg="num_features", fit=lambda shape: shape[0] if len(shape) <= 2 else None,
        label_rule=lambda a: f"BatchNorm1d({a['num_features']})", keeps_shape=True,
    ),
    LayerKind(
        "Flatten", nn.Flatten, "flatten", "Joins all dimensions after the batch into one.",
        shape_rule=_flatten_shape,
    ),
    LayerKind(
        "Unflatten", nn.Unflatten, "unflatten",
        "Reshapes each flat row into channels × height × width, so Conv2d can read a CSV of pixels.",
        args=(ArgSpec("channels", IntParam("channels", 1, **_CHANNELS)),
              ArgSpec("height", IntParam("height", 28, **_SIDE)),
              ArgSpec("width", IntParam("width", 28, **_SIDE))),
        shape_rule=_unflatten_shape, fit_many=_fit_unflatten,
        make_rule=lambda a: nn.Unflatten(1, _image_size(a)),
        code_rule=lambda a: f"nn.Unflatten(1, {_image_size(a)!r})",
        label_rule=lambda a: f"Unflatten(→ {format_shape(_image_size(a))})",
    ),
    LayerKind(
        "Conv2d", nn.Conv2d, "conv", "Slides learnable kernels over an image.",
        args=(ArgSpec("in_channels", IntParam("in_channels", 1, **_CHANNELS), positional=True),
              ArgSpec("out_channels", IntParam("out_channels", 8, **_CHANNELS), positional=True),
              ArgSpec("kernel_size", IntParam("kernel_size", 3, 1, MAX_KERNEL), positional=True),
              ArgSpec("stride", IntParam("stride", 1, 1, MAX_STRIDE), torch_default=1),
              ArgSpec("padding", IntParam("padding", 0, 0, MAX_PADDING), torch_default=0),
              _BIAS),
        shape_rule=_conv_shape, count_params=_conv_params, count_macs=_conv_macs,
        input_arg="in_channels", fit=lambda shape: shape[0] if len(shape) == 3 else None,
        label_rule=lambda a: (
            f"Conv2d({a['in_channels']} → {a['out_channels']}, {a['kernel_size']}×{a['kernel_size']}"
            + (f", stride {a['stride']}" if a["stride"] != 1 else "")
            + (f", padding {a['padding']}" if a["padding"] else "") + ")"),
    ),
    _pool(nn.MaxPool2d, "pool", "Keeps the largest value in each window."),
    _pool(nn.AvgPool2d, "avg_pool", "Averages each window."),
    LayerKind(
        "BatchNorm2d", nn.BatchNorm2d, "bn", "Normalises each channel over the batch and pixels.",
        args=(ArgSpec("num_features", IntParam("num_features", 8, **_CHANNELS), positional=True),),
        shape_rule=_bn2d_shape, count_params=_bn_params, count_macs=_bn_macs, count_buffers=_bn_buffers,
        input_arg="num_features", fit=lambda shape: shape[0] if len(shape) == 3 else None,
        label_rule=lambda a: f"BatchNorm2d({a['num_features']})", keeps_shape=True,
    ),
)}


def layer_kind(name: str) -> LayerKind:
    """The registry entry for ``name``, or a message listing the known kinds."""
    try:
        return LAYERS[name]
    except KeyError:
        raise TorchstartError(
            f"Unknown layer {name!r}; choose one of {', '.join(LAYERS)}."
        ) from None
