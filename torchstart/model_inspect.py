"""Look inside a built model: torchinfo's summary, its parameters, and a seeded forward pass."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pandas as pd
import torch
import torchinfo
from torch import nn

from torchstart.layers import Shape, format_shape

SUMMARY_BATCH = 1  # torchinfo's table is per sample; the Show code uses the same input_size
MAX_SHOWN_VALUES = 12  # values per sample shown in the forward-pass tables


@dataclass(frozen=True)
class ModelSummary:
    """torchinfo's per-layer rows and totals, as a table and plain numbers."""

    table: pd.DataFrame
    total_params: int
    trainable_params: int
    mult_adds: int
    input_mb: float
    forward_backward_mb: float
    params_mb: float

    @property
    def total_mb(self) -> float:
        """torchinfo's "Estimated Total Size (MB)"."""
        return self.input_mb + self.forward_backward_mb + self.params_mb


def summarize(model: nn.Module, input_shape: Shape) -> ModelSummary:
    """Run ``torchinfo.summary(model, input_size=(1, *input_shape), verbose=0)`` and tabulate it."""
    stats = torchinfo.summary(model, input_size=(SUMMARY_BATCH, *input_shape), verbose=0,
                              device=torch.device("cpu"), col_names=("output_size", "num_params",
                                                                     "mult_adds", "trainable"))
    # torchinfo keeps every summary in a module-level dict keyed by class name, holding the
    # model alive; drop ours so a session's model is freed with the session.
    torchinfo.torchinfo._cached_forward_pass.pop(model.__class__.__name__, None)
    rows = [
        {
            "Layer": info.var_name,
            "Type": info.class_name,
            "Output shape": str(list(info.output_size)),
            "Params": info.num_params,
            "Trainable": info.trainable,
            "Mult-adds": info.macs,
        }
        for info in stats.summary_list if info.depth > 0
    ]
    return ModelSummary(
        table=pd.DataFrame(rows, columns=["Layer", "Type", "Output shape", "Params", "Trainable", "Mult-adds"]),
        total_params=stats.total_params,
        trainable_params=stats.trainable_params,
        mult_adds=stats.total_mult_adds,
        input_mb=stats.to_megabytes(stats.total_input),
        forward_backward_mb=stats.to_megabytes(stats.total_output_bytes),
        params_mb=stats.to_megabytes(stats.total_param_bytes),
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


def format_megabytes(megabytes: float) -> str:
    """torchinfo's MB (10⁶ bytes) in a readable unit: ``3.21 MB`` or ``1.4 kB``."""
    return f"{megabytes:,.2f} MB" if megabytes >= 1 else f"{megabytes * 1000:,.1f} kB"


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
