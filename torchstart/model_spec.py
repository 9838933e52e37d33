"""A model as data: an input shape and a stack of layers, checked before anything is allocated.

``check_spec`` walks the stack with the shape rules of ``torchstart.layers`` and
refuses, in words, a stack whose sizes do not fit or that is too big;
``build_model`` turns a checked spec into an ``nn.Module`` whose attributes,
``repr`` and ``state_dict`` keys are those of the class ``model_code`` writes.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
import unicodedata
from dataclasses import dataclass, replace
from typing import Any, Iterator

import torch
from torch import nn

from torchstart.errors import TorchstartError
from torchstart.layers import LAYERS, Shape, Where, describe, format_shape, layer_kind, picture_shape, spaced
from torchstart.rng import RNG_LOCK
from torchstart.wording import running_counts

MAX_LAYERS = 50
# Its float32 state_dict, 100,000,000 bytes, fits the Checkpoints page's 100 MB upload cap (104,857,600 bytes): at
# 50 M the Models page offered a .pth that its own Checkpoints page refused.
MAX_PARAMS = 25_000_000
MAX_INPUT_DIMS = 3
MAX_INPUT_SIZE = 65_536          # any one input dimension
MAX_INPUT_VALUES = 1_000_000     # values in one input sample
MAX_ACTIVATIONS = 4_000_000      # values one layer may output per sample
MAX_MACS = 250_000_000           # mult-adds per sample: keeps a forward pass well under a second
MAX_CLASS_NAME = 40
# Names the class must not take: its class statement would be overwritten (or would overwrite one) in the code
# that carries it. A test collects every name those scripts bind and checks it is here.
MODELS_CODE_NAMES = {"nn", "torch", "summary", "Units", "model", "x", "y", "name", "param", "stats", "mult_adds",
                     "costs", "hook", "hooks", "one", "layer"}
TRAINING_SCRIPT_NAMES = {
    "DataLoader", "TensorDataset", "actual", "checkpoint", "classification_metrics", "criterion", "epoch",
    "epoch_loss", "err", "gen", "hits", "intercept", "labels", "loader", "logits", "loss", "mse", "n", "n_actual",
    "n_features", "n_predicted", "new_x", "noise", "num_epochs", "optim", "optimizer", "outputs", "perm",
    "predicted", "prediction", "r2", "regression_metrics", "slope", "ss_tot", "target", "targets",
    "training_metrics", "true_b", "true_w", "val_loss", "validation_metrics", "x_mean", "x_std", "x_train", "x_val",
    "xb", "y_mean", "y_std", "y_train", "y_val", "yb"}
CHECKPOINT_CODE_NAMES = {
    "MAX_BYTES", "MAX_CONTAINERS", "MAX_DEPTH", "MAX_OPS", "MAX_PICKLE", "MAX_TENSOR_BYTES", "MAX_UNPACKED", "_",
    "archive", "arg", "atom", "cell", "containers", "count", "data", "depth", "f", "fetched", "folders", "i", "info",
    "infos", "io", "items", "kinds", "marks", "max_containers", "max_depth", "max_ops", "memo", "mutators", "obj",
    "op", "os", "path", "pickle_problem", "pickled", "pickles", "pickletools", "pops", "predicted_class",
    "probabilities", "probability", "problem", "pushes", "role", "safe_load", "seen", "size", "stack", "start",
    "state_dict", "t", "takes_mark", "tensors_in", "unsafe", "value", "zipfile"}
RESERVED_NAMES = MODELS_CODE_NAMES | TRAINING_SCRIPT_NAMES | CHECKPOINT_CODE_NAMES



@dataclass(frozen=True)
class LayerSpec:
    """One layer of the stack: a kind from ``LAYERS`` and its arguments."""

    kind: str
    args: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, kind: str, **args: Any) -> LayerSpec:
        """``LayerSpec.of("Linear", in_features=2, out_features=1)`` with the kind's defaults filled in."""
        return cls(kind, tuple({**layer_kind(kind).defaults(), **args}.items()))

    @property
    def kwargs(self) -> dict[str, Any]:
        """The arguments as a dict."""
        return dict(self.args)

    def label(self) -> str:
        """``Linear(16 → 32)`` and the like."""
        return layer_kind(self.kind).label(self.kwargs)


@dataclass(frozen=True)
class ModelSpec:
    """A whole model: class name, input shape (no batch dimension), layers, and frozen layers."""

    class_name: str
    input_shape: Shape
    layers: tuple[LayerSpec, ...]
    frozen: tuple[str, ...] = ()  # attribute names whose parameters get requires_grad=False


@dataclass(frozen=True)
class LayerCheck:
    """What one layer does to the shape and what it costs, per sample."""

    attr: str
    kind: str
    label: str
    in_shape: Shape
    out_shape: Shape
    params: int
    macs: int


@dataclass(frozen=True)
class SpecCheck:
    """The result of checking a spec: per-layer rows and totals, all computed analytically."""

    layers: tuple[LayerCheck, ...]

    @property
    def output_shape(self) -> Shape:
        """The model's output shape, without the batch dimension."""
        return self.layers[-1].out_shape

    @property
    def total_params(self) -> int:
        """Parameter count, summed over layers."""
        return sum(layer.params for layer in self.layers)

    @property
    def trainable_layers(self) -> list[str]:
        """Attribute names of the layers that have parameters (the ones that can be frozen)."""
        return [layer.attr for layer in self.layers if layer.params > 0]

    @property
    def total_macs(self) -> int:
        """Multiply-adds for one sample, as ``model_inspect.layer_mult_adds`` counts them from a real forward."""
        return sum(layer.macs for layer in self.layers)


def parse_shape(text: str) -> Shape:
    """Read ``"2"``, ``"1, 28, 28"``, ``"1x28x28"`` or ``"(3, 32, 32)"`` as a shape, with caps."""
    cleaned = text.strip().strip("()[]").strip()
    # Whole numbers separated by commas, spaces or x/×; a trailing comma as in (2,) is fine.
    if not re.fullmatch(r"\d+(?:\s*[,x×*]\s*\d+|\s+\d+)*\s*,?", cleaned):
        raise TorchstartError(
            f"The input shape {text[:40]!r} is not a list of whole numbers. Write it without the batch "
            "dimension: 2 for two features, or 1, 28, 28 for a 28×28 grey image."
        )
    parts = re.findall(r"\d+", cleaned)
    longest = max(len(part.lstrip("0")) for part in parts)
    if longest > len(str(MAX_INPUT_SIZE)):  # checked before int(), which refuses 4,300+ digits
        raise TorchstartError(
            f"Each input dimension must be between 1 and {MAX_INPUT_SIZE:,}; the input shape has a "
            f"{longest:,}-digit number. Use a smaller size."
        )
    return check_input_shape(tuple(int(p.lstrip("0") or "0") for p in parts))  # int() counts leading zeros too


def check_input_shape(shape: Shape) -> Shape:
    """Refuse empty, zero-sized or too large input shapes with a message."""
    if not 1 <= len(shape) <= MAX_INPUT_DIMS:
        raise TorchstartError(
            f"The input shape has {len(shape)} dimensions; use 1 (features) to {MAX_INPUT_DIMS} "
            "(channels, height, width), without the batch dimension."
        )
    if min(shape) < 1 or max(shape) > MAX_INPUT_SIZE:
        raise TorchstartError(
            f"Each input dimension must be between 1 and {MAX_INPUT_SIZE:,}; got {format_shape(shape)}."
        )
    if math.prod(shape) > MAX_INPUT_VALUES:
        raise TorchstartError(
            f"One input sample of shape {format_shape(shape)} has {math.prod(shape):,} values; the cap "
            f"here is {MAX_INPUT_VALUES:,}. Use a smaller image."
        )
    return shape


def check_class_name(name: str) -> str:
    """A class name must be a Python identifier that does not hide a name the generated code uses."""
    name = name.strip()
    if not name.isidentifier() or keyword.iskeyword(name) or len(name) > MAX_CLASS_NAME:
        raise TorchstartError(
            f"The class name {name[:MAX_CLASS_NAME + 5]!r} is not a valid Python class name: use letters, "
            f"digits and _ (not starting with a digit), at most {MAX_CLASS_NAME} characters, e.g. MyModel."
        )
    # class super(...) would break super().__init__(); a module-level __builtins__ or __name__ breaks the script.
    if name in RESERVED_NAMES or hasattr(builtins, name) or (name.startswith("__") and name.endswith("__")):
        raise TorchstartError(f"{name!r} is a name the generated code uses (this page's Show code, the Training "
                              "page's script or the Checkpoints page's code), a Python built-in or a __dunder__ "
                              "name Python keeps for itself; pick another class name, e.g. MyModel.")
    if unicodedata.normalize("NFKC", name) != name:
        # Python reads the class name in Show code as its NFKC form, so print(model) would differ.
        raise TorchstartError(f"The class name {name!r} has letters Python rewrites (it reads it as "
                              f"{unicodedata.normalize('NFKC', name)!r}); type plain letters, e.g. MyModel.")
    return name


def attribute_names(layers: tuple[LayerSpec, ...] | list[LayerSpec]) -> list[str]:
    """Attribute names in the generated class: ``linear`` when alone, ``linear1``, ``linear2``... otherwise."""
    bases = [layer_kind(layer.kind).attr for layer in layers]
    return [base if bases.count(base) == 1 else f"{base}{k}" for base, k in zip(bases, running_counts(bases))]


def _where(layers: list[LayerSpec], index: int) -> Where:
    """Layer ``index`` and what feeds it, in words: ``ReLU after Linear(16 → 32)`` or ``the input``."""
    here = f"Layer {index + 1}: {layers[index].label()}"
    setter = next((earlier for earlier in reversed(layers[:index])
                   if not layer_kind(earlier.kind).keeps_shape), None)
    if setter is None:
        setter_text = "the input shape"
    elif layer_kind(setter.kind).input_arg:  # Linear, Conv2d: their out size is one number to change
        setter_text = setter.label()
    else:  # Flatten, pooling: the size comes from further back
        setter_text = "the layers before it"
    if index == 0:
        return Where(here, "the input", setter_text)
    prev = layers[index - 1]
    if prev is setter:
        return Where(here, prev.label(), setter_text)
    return Where(here, f"{prev.label()} after {setter.label() if setter else 'the input'}", setter_text)


def _checked_layers(layers: tuple[LayerSpec, ...] | list[LayerSpec]) -> list[LayerSpec]:
    """Every layer's arguments filled in and checked against their caps."""
    return [LayerSpec(layer.kind, tuple(layer_kind(layer.kind).check_args(layer.kwargs).items()))
            for layer in layers]


def _walk(shape: Shape, layers: list[LayerSpec]) -> Iterator[LayerCheck]:
    """Yield each layer's shapes and costs in order; raise at the first misfit or exceeded cap."""
    total_params = total_macs = total_saved = total_work = 0
    for index, (layer, attr) in enumerate(zip(layers, attribute_names(layers))):
        kind, args = layer_kind(layer.kind), layer.kwargs
        where = _where(layers, index)
        out_shape = kind.shape_rule(args, shape, where)
        if math.prod(out_shape) > MAX_ACTIVATIONS:
            raise TorchstartError(
                f"{where.layer} outputs {describe(out_shape)} ({math.prod(out_shape):,} values per sample); "
                f"the cap here is {MAX_ACTIVATIONS:,}. Use fewer channels or features, or pool earlier."
            )
        params, macs = kind.count_params(args, shape), kind.count_macs(args, shape)
        total_params, total_macs = total_params + params, total_macs + macs
        # The caps count what the file saves (BatchNorm's running statistics too) and all the forward work
        # (pooling too: 49 stride-1 15×15 max pools on 1000×1000 took 15 s a sample at 0 mult-adds).
        total_saved += params + kind.count_buffers(args, shape)
        total_work += macs + kind.count_other_work(args, shape)
        if total_saved > MAX_PARAMS:
            buffers = f" and {total_saved - total_params:,} BatchNorm running statistics" * (total_saved > total_params)
            raise TorchstartError(
                f"With {where.layer} the model has {total_params:,} parameters{buffers}; the cap here is "
                f"{MAX_PARAMS:,} (25 M: as float32 that fills the Checkpoints page's 100 MB file cap). Use smaller "
                "layers."
            )
        if total_work > MAX_MACS:
            pooled = " (counting each pooling window's reads)" * (total_work > total_macs)
            raise TorchstartError(
                f"With {where.layer} one sample costs {total_work:,} mult-adds{pooled}; the cap here is "
                f"{MAX_MACS:,}. Use fewer channels, a smaller kernel or a smaller image."
            )
        yield LayerCheck(attr, layer.kind, layer.label(), shape, out_shape, params, macs)
        shape = out_shape


def check_spec(spec: ModelSpec) -> SpecCheck:
    """Check names, caps and every layer's shape; return per-layer shapes and costs.

    Everything is computed from the shape rules, so a stack that is too large is
    refused before any tensor is allocated.
    """
    check_class_name(spec.class_name)
    shape = check_input_shape(tuple(spec.input_shape))
    if not spec.layers:
        raise TorchstartError("The stack is empty: add a layer, such as Linear, to make a model.")
    if len(spec.layers) > MAX_LAYERS:
        raise TorchstartError(
            f"The stack has {len(spec.layers)} layers; the cap here is {MAX_LAYERS}. Remove some layers."
        )
    rows = tuple(_walk(shape, _checked_layers(spec.layers)))
    names = [row.attr for row in rows]
    unknown = [name for name in spec.frozen if name not in names]
    if unknown:
        raise TorchstartError(f"There is no layer named {unknown[0]!r} to freeze; layers are {', '.join(names)}.")
    return SpecCheck(rows)


def trace_shapes(input_shape: Shape, layers: tuple[LayerSpec, ...] | list[LayerSpec]) -> list[Shape]:
    """Output shapes of the layers that fit, up to the first problem (for showing shapes while editing)."""
    shapes: list[Shape] = []
    try:
        for row in _walk(check_input_shape(tuple(input_shape)), _checked_layers(layers)):
            shapes.append(row.out_shape)
    except TorchstartError:
        pass
    return shapes


def fit_inputs(spec: ModelSpec) -> ModelSpec:
    """Set each layer's input size (in_features, in_channels, num_features, Unflatten's picture) from what it
    receives."""
    return auto_fit(spec)[0]


def auto_fit(spec: ModelSpec) -> tuple[ModelSpec, list[frozenset[str]]]:
    """``fit_inputs`` and, per layer, the names of the arguments it set (the page greys out those widgets).

    Layers whose incoming shape cannot be worked out are left as they are, so
    ``check_spec`` still names the first real problem.
    """
    shape = tuple(spec.input_shape)
    fitted: list[LayerSpec] = []
    names: list[frozenset[str]] = []
    for index, layer in enumerate(spec.layers):
        kind = layer_kind(layer.kind)
        args = layer.kwargs
        values = kind.fitted_args(shape, args)
        if values:
            try:
                args = kind.check_args({**args, **values})
            except TorchstartError:
                values = {}  # beyond the cap: keep the learner's value and let check_spec explain
        fitted.append(LayerSpec(layer.kind, tuple(args.items())))
        names.append(frozenset(values))
        try:
            where = Where(f"Layer {index + 1}", "")
            shape = kind.shape_rule(kind.check_args(args), shape, where)
        except TorchstartError:
            fitted.extend(spec.layers[index + 1:])
            names.extend(frozenset() for _ in spec.layers[index + 1:])
            break
    return replace(spec, layers=tuple(fitted)), names


def same_stack(a: ModelSpec, b: ModelSpec) -> bool:
    """The same input shape and layers, each layer's unset arguments read as their defaults."""
    def filled(spec: ModelSpec) -> list[tuple[str, dict[str, Any]]]:
        return [(layer.kind, {**layer_kind(layer.kind).defaults(), **layer.kwargs}) for layer in spec.layers]

    return tuple(a.input_shape) == tuple(b.input_shape) and filled(a) == filled(b)


def data_fit_note(input_shape: Shape, output_shape: Shape, n_features: int, n_targets: int,
                  classes: int = 0, picture: Shape | None = None) -> str:
    """Whether a model's two ends fit a dataset of rows (``classes`` > 0: a class target, one output per class),
    and what to set on the Models page when they do not (``picture``: the one its first layers need, if any)."""
    outputs = (f"{classes:,} classes (one output each)" if classes else
               f"{n_targets:,} target column{'s' * (n_targets != 1)}")
    sizes = f"{n_features:,} feature{'s' * (n_features != 1)} and {outputs}"
    fixes = []
    # A model of pictures: the rows must hold its picture, or be one of their own.
    image = None if picture is None else row_picture(picture, n_features)
    if picture is not None and image is None:
        return (f"The Data page's dataset has {sizes}: plain numbers, not pictures, and this model's first "
                "layers need channels × height × width. Start from the MLP preset for it.")
    if image is not None and len(input_shape) == 3:  # no Unflatten in front yet
        sizes_text = ", ".join(map(str, image))
        fixes.append(f"put an Unflatten ({spaced(image)}) first, `nn.Unflatten(1, ({sizes_text}))`, "
                     f"and set the input shape to {n_features:,} (the preset \"Small CNN on pixel rows\" does "
                     "this for 1 × 28 × 28)")
    elif tuple(input_shape) != (n_features,):
        fixes.append(f"set the input shape to {n_features:,} (with the Auto-fit switch on, the layers in between "
                     "follow)")
    if len(output_shape) > 1:  # a Linear works on the last dimension: without a Flatten the others stay
        fixes.append(f"flatten its {spaced(output_shape)} output: put a Flatten before the last Linear, which then "
                     f"gives {n_targets:,} (its out_features)")
    elif tuple(output_shape) != (n_targets,):
        fixes.append(f"make the last layer give {n_targets:,} (a Linear's out_features)")
    if not fixes:
        return f"This model fits the Data page's dataset: {sizes}."
    return f"The Data page's dataset has {sizes}: to train this model on it, {' and '.join(fixes)}."


def model_picture(spec: ModelSpec) -> Shape | None:
    """The channels × height × width picture the model's first layers need; None for a model of plain rows."""
    first = spec.layers[0] if spec.layers else None
    if first is not None and first.kind == "Unflatten":
        return tuple(int(first.kwargs[name]) for name in ("channels", "height", "width"))
    # Past layers that work on any shape (a ReLU or Dropout before the Flatten reads rows just as well); not past a
    # BatchNorm2d, which needs its picture.
    leading = next((layer for layer in spec.layers
                    if not (layer_kind(layer.kind).keeps_shape and layer_kind(layer.kind).input_arg is None)), None)
    if len(spec.input_shape) == 3 and not (leading is not None and leading.kind == "Flatten"):
        return tuple(spec.input_shape)
    return None


def row_picture(image: Shape, n_features: int) -> Shape | None:
    """The picture a row of ``n_features`` gives a model of ``image`` pictures: that picture if the row holds it,
    else the picture the row is (3,072 values: 3 × 32 × 32), 4 × 4 and up; None for rows of plain numbers."""
    return tuple(image) if math.prod(image) == n_features else picture_shape(n_features, min_side=4)


def fit_to_data(spec: ModelSpec, n_features: int, n_targets: int) -> ModelSpec:
    """``spec`` with both ends set for rows of ``n_features`` values and ``n_targets`` outputs.

    A model that takes pictures gets an Unflatten in front when the rows hold pictures; the input shape becomes
    the row; every layer's input size follows (``fit_inputs``); the last Linear's out_features becomes
    ``n_targets``.
    Raises TorchstartError, saying why, when the stack cannot be made to fit that way.
    """
    layers = list(spec.layers)
    shape = tuple(spec.input_shape)
    picture = model_picture(spec)
    if picture is not None and row_picture(picture, n_features) is None:
        raise TorchstartError(f"Rows of {n_features:,} plain numbers are no pictures for this model's first layers.")
    if len(shape) == 3 and picture is not None and not (layers and layers[0].kind == "Unflatten"):
        image = row_picture(shape, n_features)
        if image is not None:
            channels, height, width = image
            layers.insert(0, LayerSpec.of("Unflatten", channels=channels, height=height, width=width))
    last = max((i for i, layer in enumerate(layers) if layer.kind == "Linear"), default=None)
    if last is None:
        raise TorchstartError(f"The stack has no Linear layer whose out_features could give {n_targets:,} "
                              "outputs: add a Linear at the end.")
    layers[last] = LayerSpec("Linear", tuple({**layers[last].kwargs, "out_features": n_targets}.items()))
    fitted = fit_inputs(replace(spec, input_shape=(n_features,), layers=tuple(layers), frozen=()))
    output = check_spec(fitted).output_shape  # raises with the first layer that cannot take its input
    if tuple(output) != (n_targets,):
        raise TorchstartError(f"After the last Linear the layers turn {n_targets:,} outputs into "
                              f"{format_shape(output)}: end the stack with that Linear.")
    return fitted


def fit_changes(before: ModelSpec, after: ModelSpec) -> list[str]:
    """What ``fit_to_data`` changed, in words: the input shape, an Unflatten put first, layers' sizes."""
    said = []
    if tuple(before.input_shape) != tuple(after.input_shape):
        said.append(f"input shape {', '.join(map(str, before.input_shape))} → "
                    f"{', '.join(map(str, after.input_shape))}")
    added = len(after.layers) > len(before.layers)
    if added:
        said.append(f"an Unflatten ({spaced(model_picture(after))}) put first")
    for index, (old, new) in enumerate(zip(before.layers, after.layers[1:] if added else after.layers)):
        changed = [name for name, value in new.args if old.kwargs.get(name) != value]
        if changed:
            olds = ", ".join(f"{name} {old.kwargs.get(name)} → {new.kwargs[name]}" for name in changed)
            said.append(f"layer {index + 1 + added} ({new.kind}): {olds}")
    return said


def can_fit(spec: ModelSpec, n_features: int, n_targets: int) -> bool:
    """Whether ``fit_to_data`` can set the stack's two ends for these rows."""
    try:
        fit_to_data(spec, n_features, n_targets)
    except TorchstartError:
        return False
    return True


class StackedModel(nn.Module):
    """The page's model: the spec's layers as named attributes, run in order.

    It prints as the spec's class name, so ``repr(model)`` equals that of the class
    ``model_code`` generates, and its parameter names are the same.
    """

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec
        for attr, layer in zip(attribute_names(spec.layers), spec.layers):
            kind = layer_kind(layer.kind)
            self.add_module(attr, kind.make(kind.check_args(layer.kwargs)))

    def _get_name(self) -> str:
        return self.spec.class_name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.children():
            x = layer(x)
        return x


def build_model(spec: ModelSpec, seed: int | None = None) -> nn.Module:
    """Check ``spec`` (caps first, nothing allocated if it fails), then build it.

    With ``seed``, the initial weights equal ``torch.manual_seed(seed)`` followed by
    the generated class's constructor. Frozen layers get ``requires_grad=False``.
    """
    check_spec(spec)
    with RNG_LOCK:  # an unseeded build draws too: outside the lock it would move a seeded run's stream
        if seed is not None:
            torch.manual_seed(seed)
        model = StackedModel(spec)
    for attr in spec.frozen:
        getattr(model, attr).requires_grad_(False)
    return model


# Two conv + pool blocks and a Linear classifier for one 28×28 grey picture.
_CNN_LAYERS = (
    LayerSpec.of("Conv2d", in_channels=1, out_channels=8, kernel_size=3, padding=1),
    LayerSpec.of("ReLU"),
    LayerSpec.of("MaxPool2d", kernel_size=2, stride=2),
    LayerSpec.of("Conv2d", in_channels=8, out_channels=16, kernel_size=3, padding=1),
    LayerSpec.of("ReLU"),
    LayerSpec.of("MaxPool2d", kernel_size=2, stride=2),
    LayerSpec.of("Flatten"),
    LayerSpec.of("Linear", in_features=16 * 7 * 7, out_features=10),
)

PRESETS: dict[str, ModelSpec] = {
    "SimpleModel": ModelSpec("SimpleModel", (2,), (LayerSpec.of("Linear", in_features=2, out_features=1),)),
    "Linear regression": ModelSpec(
        "LinearRegression", (1,), (LayerSpec.of("Linear", in_features=1, out_features=1),)),
    "MLP": ModelSpec("MLP", (2,), (
        LayerSpec.of("Linear", in_features=2, out_features=16),
        LayerSpec.of("ReLU"),
        LayerSpec.of("Linear", in_features=16, out_features=16),
        LayerSpec.of("ReLU"),
        LayerSpec.of("Linear", in_features=16, out_features=1),
    )),
    "Small CNN": ModelSpec("SmallCNN", (1, 28, 28), _CNN_LAYERS),
    # The same network behind an Unflatten: it takes a table row of 784 pixels, so the Training page can train it.
    "Small CNN on pixel rows": ModelSpec(
        "PixelCNN", (784,), (LayerSpec.of("Unflatten", channels=1, height=28, width=28), *_CNN_LAYERS)),
}

PRESET_NOTES: dict[str, str] = {
    "SimpleModel": "The first model most tutorials write: one nn.Linear(2, 1) inside an nn.Module subclass.",
    "Linear regression": "nn.Linear(1, 1): y = w·x + b, the model the Training page fits by default.",
    "MLP": "A multilayer perceptron: Linear layers with ReLU between them.",
    "Small CNN": "Two conv + pool blocks and a Linear classifier for 1×28×28 images (MNIST-sized).",
    "Small CNN on pixel rows": "The Small CNN behind nn.Unflatten(1, (1, 28, 28)): it takes rows of 784 pixels, "
                               "as an MNIST CSV or the Data page's Digits hold them, so the Training page can "
                               "train it on 10 classes.",
}

__all__ = ["LAYERS", "LayerSpec", "ModelSpec", "SpecCheck", "check_spec", "build_model", "fit_inputs", "auto_fit",
           "data_fit_note", "fit_to_data", "fit_changes", "can_fit", "model_picture", "same_stack", "parse_shape",
           "attribute_names", "trace_shapes", "PRESETS", "PRESET_NOTES", "StackedModel"]
