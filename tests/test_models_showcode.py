"""Models page: Show code rebuilds the same model (print, summary, parameters, forward pass) for every layer kind."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import torch

from tests.generated import run_code
from torchstart.model_code import model_code
from torchstart.model_inspect import ModelSummary, forward_pass, parameter_table, summarize
from torchstart.model_spec import PRESETS, ModelSpec, build_model, check_spec
from torchstart.model_spec import LayerSpec as L

STACKS = {
    "features": ((4,), (L.of("Linear", in_features=4, out_features=8, bias=False), L.of("BatchNorm1d", num_features=8),
                        L.of("Dropout", p=0.5), L.of("LeakyReLU", negative_slope=0.2),
                        L.of("Linear", in_features=8, out_features=3), L.of("Sigmoid"), L.of("Tanh"), L.of("GELU"))),
    "sequence": ((3, 5), (L.of("BatchNorm1d", num_features=3), L.of("Linear", in_features=5, out_features=2),
                          L.of("Flatten"), L.of("Linear", in_features=6, out_features=1))),
    "image": ((2, 9, 9), (L.of("Conv2d", in_channels=2, out_channels=4, kernel_size=3, stride=2, padding=2,
                                bias=False), L.of("BatchNorm2d", num_features=4),
                          L.of("AvgPool2d", kernel_size=2, stride=1), L.of("MaxPool2d", kernel_size=3, stride=2),
                          L.of("Flatten"), L.of("Dropout", p=1.0), L.of("Linear", in_features=16, out_features=2))),
    "unflattened rows": ((24,), (L.of("Unflatten", channels=2, height=3, width=4),
                                 L.of("Conv2d", in_channels=2, out_channels=3, kernel_size=2),
                                 L.of("Flatten"), L.of("Linear", in_features=18, out_features=2))),
    "no parameters": ((1, 4, 4), (L.of("Flatten"), L.of("ReLU"))),
    "repeated kinds": ((6,), (L.of("Linear", in_features=6, out_features=6), L.of("Linear", in_features=6, out_features=6),
                              L.of("ReLU"), L.of("ReLU"))),
}
SPECS = {**PRESETS, **{name: ModelSpec("Net_2", shape, layers) for name, (shape, layers) in STACKS.items()}}

COST_LINE = re.compile(r"^(\w+): ([\d,]+) mult-adds, output ([\d,]+) bytes$", re.MULTILINE)
MEMORY_LINE = re.compile(r"^Memory for one sample: input ([\d,]+) \+ layer outputs ([\d,]+) \+ parameters and "
                         r"buffers ([\d,]+) = ([\d,]+) bytes$", re.MULTILINE)


def number(text: str) -> int:
    """``1,234`` -> 1234."""
    return int(text.replace(",", ""))


def printed_torchinfo_rows(printed: str) -> list[list[str]]:
    """torchinfo's printed layer rows (below the model's own line), split into their columns."""
    return [re.split(r"\s{2,}", line.strip()) for line in printed.splitlines() if line.startswith(("├─", "└─"))]


def printed_params(params: int, trainable: str) -> str:
    """A parameter count as torchinfo prints it: ``--`` for none, ``(3)`` when all are frozen."""
    if not params:
        return "--"
    return f"({params:,})" if trainable == "False" else f"{params:,}"


def page_torchinfo_rows(table: pd.DataFrame) -> list[list[str]]:
    """The page table's torchinfo columns, written as torchinfo prints them."""
    return [[f"├─{row.Type}: 1-{i}", row[2], printed_params(row.Params, row.Trainable), row.Trainable]
            for i, row in enumerate(table.itertuples(index=False), start=1)]


def assert_printed_costs_match(printed: str, summary: ModelSummary) -> None:
    """Show code's per-layer cost lines and totals are the page's table rows and metrics."""
    rows = [(name, number(macs), number(size)) for name, macs, size in COST_LINE.findall(printed)]
    table = summary.table
    assert rows == list(zip(table["Layer"], table["Mult-adds"], table["Output bytes"]))
    assert f"Multiply-adds per sample: {summary.mult_adds:,}\n" in printed
    memory = [number(v) for v in MEMORY_LINE.search(printed).groups()]
    assert memory == [summary.input_bytes, summary.output_bytes, summary.param_bytes, summary.total_bytes]


@pytest.mark.parametrize("name", list(SPECS))
@pytest.mark.parametrize("seed, batch, input_seed, freeze", [(0, 2, 0, False), (7, 1, 3, True)])
def test_model_code_reproduces_the_page(name: str, seed: int, batch: int, input_seed: int, freeze: bool) -> None:
    spec = SPECS[name]
    if freeze:
        spec = ModelSpec(spec.class_name, spec.input_shape, spec.layers, tuple(check_spec(spec).trainable_layers[:1]))
    model = build_model(spec, seed)
    summary = summarize(model, spec.input_shape)
    result = forward_pass(model, spec.input_shape, batch, input_seed)
    namespace, printed = run_code(model_code(spec, seed, batch, input_seed, result.device))
    assert repr(model) in printed
    assert f"Total params: {summary.total_params:,}" in printed
    assert f"Trainable params: {summary.trainable_params:,}" in printed
    assert printed_torchinfo_rows(printed) == page_torchinfo_rows(summary.table)
    assert re.search(r"^Total mult-adds: [\d,]+$", printed, re.MULTILINE)  # a whole number, not "(Units.M...): 0.00"
    assert_printed_costs_match(printed, summary)
    for row in parameter_table(model).itertuples():
        assert f"{row.Name} {row.Shape} {row.Numel} {row.Dtype} {row.requires_grad}\n" in printed
    ours, theirs = model.state_dict(), namespace["model"].state_dict()
    assert list(ours) == list(theirs) and all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert torch.equal(namespace["x"], result.inputs)
    assert torch.equal(namespace["y"], result.outputs)
