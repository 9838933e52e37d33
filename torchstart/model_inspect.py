"""Look inside a built model: a per-layer summary, its costs, its parameters, and a seeded forward pass.

torchinfo gives each layer's output shape, parameter count and trainable flag.
Multiply-adds and memory are counted here, with forward hooks, from the shape
each layer really sees: torchinfo's own totals multiply parameters by the batch
size (a Conv2d's by batch × output positions; a Linear on a 3×4 sample counts once,
not 3 times) and size the input with ``sys.getsizeof``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import pandas as pd
import torch
import torchinfo
from torch import nn

from torchstart.layers import Shape, format_shape

SUMMARY_BATCH = 1  # the summary is per sample; the Show code uses the same input_size
MAX_SHOWN_VALUES = 12  # values per sample shown in the forward-pass tables
TORCHINFO_COLUMNS = ("output_size", "num_params", "trainable")
TABLE_COLUMNS = ["Layer", "Type", "Output shape", "Params", "Trainable", "Mult-adds", "Output bytes"]


def layer_mult_adds(layer: nn.Module, output: torch.Tensor) -> int:
    """Multiply-adds ``layer`` did to make ``output``: its weight products, not bias adds or element-wise functions."""
    if isinstance(layer, nn.Linear):  # each output value sums in_features products
        return output.numel() * layer.in_features
    if isinstance(layer, nn.Conv2d):  # each output value sums a kernel over in_channels / groups
        kernel_h, kernel_w = layer.kernel_size
        return output.numel() * layer.in_channels // layer.groups * kernel_h * kernel_w
    if isinstance(layer, nn.modules.batchnorm._BatchNorm):  # eval mode: x · scale + shift, once per value
        return output.numel()
    return 0  # activations, pooling, Dropout, Flatten: no weight products


@dataclass(frozen=True)
class LayerCost:
    """One layer's multiply-adds and output size for one sample, from a real forward pass."""

    name: str
    mult_adds: int
    output_bytes: int


@torch.no_grad()
def layer_costs(model: nn.Module, input_shape: Shape) -> list[LayerCost]:
    """Run one zero sample through ``model`` in eval mode; hooks record each layer's cost; the mode is restored."""
    seen: dict[nn.Module, tuple[int, int]] = {}

    def hook(layer: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        seen[layer] = (layer_mult_adds(layer, output), output.numel() * output.element_size())

    hooks = [layer.register_forward_hook(hook) for layer in model.children()]
    was_training = model.training
    model.eval()  # BatchNorm1d refuses a batch of one in train mode; Dropout off, as in Show code
    try:
        model(torch.zeros(SUMMARY_BATCH, *input_shape))
    finally:
        model.train(was_training)
        for handle in hooks:
            handle.remove()
    return [LayerCost(name, *seen[layer]) for name, layer in model.named_children()]


def tensor_bytes(tensors: list[torch.Tensor]) -> int:
    """Bytes the tensors' values take: numel × element size, summed."""
    return sum(t.numel() * t.element_size() for t in tensors)


@dataclass(frozen=True)
class ModelSummary:
    """Per-layer rows and totals for one sample: torchinfo's shapes and counts, our costs."""

    table: pd.DataFrame
    total_params: int
    trainable_params: int
    mult_adds: int
    input_values: int
    input_bytes: int
    output_bytes: int  # every layer's output, each counted as its own tensor
    param_bytes: int   # parameters and buffers (BatchNorm's running statistics)

    @property
    def total_bytes(self) -> int:
        """Input + layer outputs + parameters and buffers."""
        return self.input_bytes + self.output_bytes + self.param_bytes


def summarize(model: nn.Module, input_shape: Shape) -> ModelSummary:
    """torchinfo's summary for a batch of one ``input_shape`` input, joined with hook-counted costs per layer."""
    # input_data, not input_size: torchinfo would fill an input_size with torch.rand, drawing from the generator
    # every session shares (see torchstart.rng). Only shapes are read, so zeros do.
    stats = torchinfo.summary(model, input_data=torch.zeros(SUMMARY_BATCH, *input_shape), verbose=0,
                              device=torch.device("cpu"), col_names=TORCHINFO_COLUMNS)
    # torchinfo keeps every summary in a module-level dict keyed by class name, holding the
    # model alive; drop ours so a session's model is freed with the session.
    torchinfo.torchinfo._cached_forward_pass.pop(model.__class__.__name__, None)
    costs = {cost.name: cost for cost in layer_costs(model, input_shape)}
    rows = [
        {
            "Layer": info.var_name,
            "Type": info.class_name,
            "Output shape": str(list(info.output_size)),
            "Params": info.num_params,
            "Trainable": info.trainable,
            "Mult-adds": costs[info.var_name].mult_adds,
            "Output bytes": costs[info.var_name].output_bytes,
        }
        for info in stats.summary_list if info.depth == 1
    ]
    sample = torch.zeros(SUMMARY_BATCH, *input_shape)
    return ModelSummary(
        table=pd.DataFrame(rows, columns=TABLE_COLUMNS),
        total_params=stats.total_params,
        trainable_params=stats.trainable_params,
        mult_adds=sum(cost.mult_adds for cost in costs.values()),
        input_values=math.prod(input_shape),
        input_bytes=tensor_bytes([sample]),
        output_bytes=sum(cost.output_bytes for cost in costs.values()),
        param_bytes=tensor_bytes([*model.parameters(), *model.buffers()]),
    )


def parameter_stats(values: torch.Tensor) -> dict[str, float]:
    """Mean, std, min and max of a tensor; std of a single value is undefined (NaN), as in torch."""
    values = values.detach()
    if values.numel() > 1:
        std, mean = torch.std_mean(values)
    else:
        std, mean = torch.tensor(float("nan")), values.mean()
    low, high = torch.aminmax(values)
    return {"mean": mean.item(), "std": std.item(), "min": low.item(), "max": high.item()}


def parameter_table(model: nn.Module) -> pd.DataFrame:
    """One row per ``named_parameters()`` entry: name, shape, numel, dtype, requires_grad, init stats."""
    rows = [
        {
            "Name": name,
            "Shape": str(tuple(param.shape)),
            "Numel": param.numel(),
            "Dtype": str(param.dtype),
            "requires_grad": param.requires_grad,
            **parameter_stats(param),
        }
        for name, param in model.named_parameters()
    ]
    return pd.DataFrame(rows, columns=["Name", "Shape", "Numel", "Dtype", "requires_grad",
                                       "mean", "std", "min", "max"])


def format_bytes(count: int) -> str:
    """``24 bytes``, ``6.1 KB``, ``3.2 MB``: binary units, as the Checkpoints page writes sizes."""
    if count < 1024:
        return f"{count:,} byte{'' if count == 1 else 's'}"
    for unit in ("KB", "MB", "GB"):
        count /= 1024
        if count < 1024 or unit == "GB":
            break
    return f"{count:,.1f} {unit}"


@dataclass(frozen=True)
class ForwardResult:
    """A forward pass of a seeded random batch, in eval mode, with values on the CPU."""

    inputs: torch.Tensor
    outputs: torch.Tensor
    device: str


def random_input(input_shape: Shape, batch: int, seed: int) -> torch.Tensor:
    """``torch.manual_seed(seed); torch.randn(batch, *input_shape)``, without touching the global generator."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, *input_shape, generator=generator)


@torch.no_grad()
def forward_pass(model: nn.Module, input_shape: Shape, batch: int, seed: int,
                 device: torch.device | str = "cpu") -> ForwardResult:
    """Run ``model.eval()(x)`` for a seeded ``x`` on ``device``; the model itself is left as it was."""
    device = torch.device(device)
    inputs = random_input(input_shape, batch, seed)
    runner = model if device.type == "cpu" else copy.deepcopy(model).to(device)
    was_training = runner.training
    runner.eval()  # Dropout off, BatchNorm on running statistics: the same output every time
    try:
        outputs = runner(inputs.to(device)).cpu()
    finally:
        runner.train(was_training)
    return ForwardResult(inputs, outputs, str(device))


def _unravel(index: int, shape: Shape) -> list[int]:
    """The position of flat ``index`` in a tensor of ``shape`` (row-major)."""
    position = []
    for size in reversed(shape):
        index, rest = divmod(index, size)
        position.append(rest)
    return position[::-1]


def values_table(values: torch.Tensor, limit: int = MAX_SHOWN_VALUES) -> pd.DataFrame:
    """One row per sample with its first ``limit`` values; columns name their index, e.g. ``[0, 3, 5]``."""
    shape = tuple(values.shape[1:])
    flat = values.detach().reshape(values.shape[0], -1)[:, :limit]
    columns = [str(_unravel(i, shape)) for i in range(flat.shape[1])]
    frame = pd.DataFrame(flat.double().numpy(), columns=columns)
    frame.index.name = "sample"
    return frame


def shape_text(values: torch.Tensor) -> str:
    """``torch.Size([2, 1, 28, 28])`` written as ``2×1×28×28``."""
    return format_shape(tuple(values.shape))
