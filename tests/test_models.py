"""Models core: presets, shape rules and caps, generated code, inspection; checked against plain torch."""

from __future__ import annotations

import math
import pickle
import re
import tracemalloc
from dataclasses import replace
from functools import partial

import numpy as np
import pytest
import torch
import torchinfo
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from torchstart import checkpoint_safety as safety
from torchstart.checkpoint_safety import state_dict_bytes
from torchstart.errors import TorchstartError
from torchstart.layers import LAYERS, picture_shape
from torchstart.model_code import class_code, handoff_code, model_code
from torchstart.model_figures import histogram, parameter_histogram
from torchstart.model_inspect import (format_bytes, forward_pass, parameter_table, random_input, summarize,
                                      values_table)
from torchstart.model_spec import (MAX_LAYERS, MAX_PARAMS, PRESETS, LayerSpec, ModelSpec, attribute_names,
                                   auto_fit, build_model, can_fit, check_spec, data_fit_note, fit_changes,
                                   fit_inputs, fit_to_data, model_picture, parse_shape, trace_shapes)

L = LayerSpec.of


def plain_preset(name: str) -> nn.Module:
    """The presets written directly in torch, as a learner would."""
    return {
        "SimpleModel": lambda: nn.Linear(2, 1),
        "Linear regression": lambda: nn.Linear(1, 1),
        "MLP": lambda: nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1)),
        "Small CNN": lambda: nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(16 * 7 * 7, 10)),
        "Small CNN on pixel rows": lambda: nn.Sequential(
            nn.Unflatten(1, (1, 28, 28)),
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(16 * 7 * 7, 10)),
    }[name]()


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def run_code(code: str) -> dict:
    """Execute our own generated code (never learner text) and return its namespace."""
    namespace: dict = {}
    exec(compile(code, "<generated>", "exec"), namespace)  # noqa: S102 - our generated code
    return namespace


# ---------------------------------------------------------------- presets


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_parameter_count_matches_plain_torch(name: str) -> None:
    spec = PRESETS[name]
    plain = plain_preset(name)
    expected = count(plain)
    assert check_spec(spec).total_params == expected
    model = build_model(spec, seed=0)
    assert count(model) == expected
    assert summarize(model, spec.input_shape).total_params == expected
    # Same seed, same construction order: the same initial values as the plain torch model.
    torch.manual_seed(0)
    plain = plain_preset(name)
    for ours, theirs in zip(model.parameters(), plain.parameters(), strict=True):
        assert torch.equal(ours, theirs)
    x = random_input(spec.input_shape, 3, seed=1)
    assert torch.allclose(model(x), plain(x))
    assert tuple(model(x).shape[1:]) == check_spec(spec).output_shape


def test_simple_model_class_reads_like_the_tutorial() -> None:
    code = class_code(PRESETS["SimpleModel"])
    assert "class SimpleModel(nn.Module):" in code
    assert "        self.linear = nn.Linear(2, 1)\n" in code
    assert "    def forward(self, x):\n        return self.linear(x)\n" in code
    model = build_model(PRESETS["SimpleModel"], seed=0)
    assert repr(model) == ("SimpleModel(\n  (linear): Linear(in_features=2, out_features=1, bias=True)\n)")


# ---------------------------------------------------------------- shapes and counts vs real torch

VALID_STACKS = [
    ModelSpec("A", (5,), (L("Linear", in_features=5, out_features=7, bias=False), L("Tanh"),
                          L("BatchNorm1d", num_features=7), L("Dropout", p=0.5), L("Linear", in_features=7, out_features=3),
                          L("Sigmoid"))),
    ModelSpec("B", (3, 20, 17), (L("Conv2d", in_channels=3, out_channels=6, kernel_size=5, stride=2, padding=2),
                                 L("BatchNorm2d", num_features=6), L("LeakyReLU", negative_slope=0.2),
                                 L("AvgPool2d", kernel_size=3, stride=1), L("Conv2d", in_channels=6, out_channels=4,
                                                                           kernel_size=2, bias=False),
                                 L("MaxPool2d", kernel_size=2, stride=2), L("Flatten"),
                                 L("Linear", in_features=4 * 3 * 3, out_features=2), L("GELU"))),
    # A Linear on a 3-d input works on the last dimension, as in torch.
    ModelSpec("C", (2, 3, 4), (L("Linear", in_features=4, out_features=6), L("ReLU"), L("Flatten"))),
]


@pytest.mark.parametrize("spec", VALID_STACKS, ids=lambda s: s.class_name)
def test_analytic_shapes_and_counts_equal_a_real_forward(spec: ModelSpec) -> None:
    check = check_spec(spec)
    model = build_model(spec, seed=0).eval()
    seen = []
    hooks = [m.register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape[1:]))) for m in model.children()]
    model(random_input(spec.input_shape, 2, seed=0))
    for hook in hooks:
        hook.remove()
    assert [row.out_shape for row in check.layers] == seen
    assert [row.params for row in check.layers] == [count(m) for m in model.children()]
    assert trace_shapes(spec.input_shape, spec.layers) == seen


def flop_counter_mult_adds(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """torch's own FlopCounterMode on one sample: it counts 2 flops (multiply, add) per weight product."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.eval()(torch.zeros(1, *input_shape))
    return counter.get_total_flops() // 2


def output_values(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, int]:
    """Each child's output numel for one sample, from plain forward hooks."""
    seen = {}
    hooks = [child.register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, o.numel()))
             for name, child in model.named_children()]
    with torch.no_grad():
        model.eval()(torch.zeros(1, *input_shape))
    for hook in hooks:
        hook.remove()
    return seen


def test_a_linear_on_a_3x4_sample_counts_every_row() -> None:
    # The review's case: torchinfo says 10 (parameters × batch); the matrix product does 3 · 4 · 2.
    spec = ModelSpec("M", (3, 4), (L("Linear", in_features=4, out_features=2),))
    model = build_model(spec, seed=0)
    summary = summarize(model, spec.input_shape)
    assert summary.mult_adds == flop_counter_mult_adds(model, (3, 4)) == 3 * 4 * 2
    assert check_spec(spec).total_macs == 24
    assert list(summary.table["Mult-adds"]) == [24]


# (stack, input shape, the layer and sizes the message must name)
BAD_STACKS = [
    ((L("Linear", in_features=4, out_features=16), L("Linear", in_features=16, out_features=32), L("ReLU"),
      L("Linear", in_features=64, out_features=10)), (4,),
     ["Layer 4: Linear(64 → 10) receives 32 features from ReLU after Linear(16 → 32)", "in_features to 32"]),
    ((L("Linear", in_features=4, out_features=8),), (3,),
     ["Layer 1: Linear(4 → 8) receives 3 features from the input", "in_features to 3"]),
    ((L("ReLU"), L("Linear", in_features=4, out_features=8)), (3,),
     ["Layer 2: Linear(4 → 8) receives 3 features from ReLU after the input"]),
    ((L("Conv2d", in_channels=1, out_channels=8, kernel_size=3),), (784,),
     ["Layer 1: Conv2d(1 → 8, 3×3) needs an image", "784 features from the input"]),
    ((L("Conv2d", in_channels=1, out_channels=8, kernel_size=3),), (3, 28, 28),
     ["Layer 1: Conv2d(1 → 8, 3×3) receives 3 channels from the input", "in_channels to 3"]),
    ((L("Conv2d", in_channels=1, out_channels=4, kernel_size=3), L("MaxPool2d", kernel_size=2, stride=2),
      L("Conv2d", in_channels=4, out_channels=4, kernel_size=5)), (1, 8, 8),
     ["Layer 3: Conv2d(4 → 4, 5×5) receives a 3×3 image from MaxPool2d(2)", "smaller than its 5×5 kernel"]),
    ((L("Conv2d", in_channels=1, out_channels=4, kernel_size=3), L("Linear", in_features=64, out_features=2)),
     (1, 10, 10), ["Layer 2: Linear(64 → 2) receives a 4×8×8 tensor from Conv2d(1 → 4, 3×3)", "Flatten"]),
    ((L("Linear", in_features=2, out_features=8), L("BatchNorm1d", num_features=16)), (2,),
     ["Layer 2: BatchNorm1d(16) receives 8 features from Linear(2 → 8)", "num_features to 8"]),
    ((L("MaxPool2d", kernel_size=4, stride=4),), (1, 3, 3),
     ["Layer 1: MaxPool2d(4) receives a 3×3 image from the input", "window"]),
    ((L("Unflatten", channels=1, height=28, width=28),), (783,),
     ["Layer 1: Unflatten(→ 1×28×28) receives 783 features from the input", "holds 784 values",
      "Set channels × height × width to 783, or change the input shape to 784"]),
    ((L("Unflatten", channels=1, height=28, width=28),), (64,),
     ["Set channels × height × width to 64 (1 × 8 × 8 for a grey 8×8 picture)"]),
    ((L("Unflatten", channels=1, height=2, width=2),), (1, 2, 2),
     ["Layer 1: Unflatten(→ 1×2×2) receives a 1×2×2 tensor from the input", "set the input shape to 4 (one "
      "number: a row's length), or remove the Unflatten"]),
    ((L("Linear", in_features=784, out_features=10), L("Unflatten", channels=1, height=28, width=28)), (784,),
     ["Layer 2: Unflatten(→ 1×28×28) receives 10 features from Linear(784 → 10)", "Unflatten belongs first, where "
      "it turns each input row into a picture: move it to the top"]),
    ((L("Conv2d", in_channels=1, out_channels=8, kernel_size=3, padding=1), L("Linear", in_features=4,
                                                                               out_features=2)), (1, 28, 28),
     ["receives an 8×28×28 tensor from Conv2d(1 → 8, 3×3, padding 1)"]),
    ((L("ReLU"), L("Conv2d", in_channels=1, out_channels=4, kernel_size=3), L("Unflatten", channels=1, height=2,
                                                                            width=2)), (64,),
     ["Layer 2: Conv2d(1 → 4, 3×3) needs an image", "Put an Unflatten (1 × 8 × 8) before it to read each row of "
      "64 as a grey 8×8 picture"]),
    ((L("Conv2d", in_channels=3, out_channels=4, kernel_size=3),), (3072,),
     ["Put an Unflatten (3 × 32 × 32) before it to read each row of 3,072 as a colour 32×32 picture"]),
    ((L("Unflatten", channels=1, height=28, width=28),), (3072,),
     ["Set channels × height × width to 3,072 (3 × 32 × 32 for a colour 32×32 picture)"]),
]


def _plain(layers: tuple[LayerSpec, ...]) -> nn.Sequential:
    return nn.Sequential(*(LAYERS[layer.kind].make(layer.kwargs) for layer in layers))


@pytest.mark.parametrize("layers, shape, fragments", BAD_STACKS, ids=lambda v: None)
def test_shape_mismatch_names_the_layer_and_both_sizes(layers, shape, fragments) -> None:
    with pytest.raises(TorchstartError) as err:
        check_spec(ModelSpec("Bad", shape, layers))
    for fragment in fragments:
        assert fragment in str(err.value)
    with pytest.raises(TorchstartError):
        build_model(ModelSpec("Bad", shape, layers))
    # ...and torch itself refuses the same stack (our rules do not invent problems).
    with pytest.raises(RuntimeError):
        _plain(layers).eval()(torch.zeros(2, *shape))


def test_unflatten_turns_rows_into_images_as_torch_does() -> None:
    spec = ModelSpec("Rows", (12,), (L("Unflatten", channels=3, height=2, width=2), L("Flatten")))
    assert [row.out_shape for row in check_spec(spec).layers] == [(3, 2, 2), (12,)]
    layer = LAYERS["Unflatten"].make(L("Unflatten", channels=3, height=2, width=2).kwargs)
    rows = torch.arange(24.0).view(2, 12)
    assert torch.equal(layer(rows), rows.view(2, 3, 2, 2))
    assert LAYERS["Unflatten"].code({"channels": 3, "height": 2, "width": 2}) == "nn.Unflatten(1, (3, 2, 2))"
    assert "self.unflatten = nn.Unflatten(1, (3, 2, 2))" in class_code(spec)


def test_trace_stops_at_the_first_misfit() -> None:
    layers, shape, _ = BAD_STACKS[0]
    assert trace_shapes(shape, layers) == [(16,), (32,), (32,)]


def test_fit_inputs_repairs_sizes_and_keeps_other_arguments() -> None:
    layers, shape, _ = BAD_STACKS[0]
    fitted = fit_inputs(ModelSpec("Fit", shape, layers))
    assert fitted.layers[3].kwargs == {"in_features": 32, "out_features": 10, "bias": True}
    assert check_spec(fitted).output_shape == (10,)
    cnn = ModelSpec("Cnn", (3, 8, 8), (L("Conv2d", in_channels=1, out_channels=4, kernel_size=3), L("Flatten"),
                                       L("BatchNorm1d", num_features=1), L("Linear", in_features=1, out_features=2)))
    assert check_spec(fit_inputs(cnn)).total_params == count(nn.Conv2d(3, 4, 3)) + 2 * 144 + count(nn.Linear(144, 2))


def test_auto_fit_reads_a_row_of_s_squared_as_grey_and_of_3_s_squared_as_colour() -> None:
    def fitted(n: int) -> tuple[dict, frozenset[str]]:
        spec, names = auto_fit(ModelSpec("Fit", (n,), (L("Unflatten", channels=2, height=5, width=5),
                                                       L("Conv2d", in_channels=7, out_channels=4, kernel_size=3))))
        return spec.layers[0].kwargs, names[0] | names[1]

    assert fitted(784) == ({"channels": 1, "height": 28, "width": 28}, {"channels", "height", "width", "in_channels"})
    assert fitted(3072) == ({"channels": 3, "height": 32, "width": 32}, {"channels", "height", "width", "in_channels"})
    # 1,568 = 2×28×28 is neither: the learner's own numbers stay (here they hold 50, so check_spec explains).
    assert fitted(1568) == ({"channels": 2, "height": 5, "width": 5}, frozenset())
    # A picture shape that holds the row is the learner's choice, not a size to repair: 4×14×14 of 784 stays.
    spec, names = auto_fit(ModelSpec("Fit", (784,), (L("Unflatten", channels=4, height=14, width=14),)))
    assert spec.layers[0].kwargs == {"channels": 4, "height": 14, "width": 14} and names == [frozenset()]
    spec = fit_inputs(ModelSpec("Fit", (3072,), PRESETS["Small CNN on pixel rows"].layers))
    assert check_spec(spec).output_shape == (10,)
    assert isinstance(build_model(spec)(torch.rand(2, 3072)), torch.Tensor)
    assert [picture_shape(n) for n in (784, 3072, 12, 1568, 1, 28)] == [(1, 28, 28), (3, 32, 32), (3, 2, 2), None,
                                                                        (1, 1, 1), None]


# ---------------------------------------------------------------- caps and bad input


def test_layer_cap() -> None:
    spec = ModelSpec("Deep", (4,), tuple(L("ReLU") for _ in range(MAX_LAYERS + 1)))
    with pytest.raises(TorchstartError, match="51 layers; the cap here is 50"):
        check_spec(spec)
    check_spec(ModelSpec("Deep", (4,), tuple(L("ReLU") for _ in range(MAX_LAYERS))))


def test_parameter_cap_is_checked_before_allocating() -> None:
    spec = ModelSpec("Huge", (40_000,), (L("Linear", in_features=40_000, out_features=40_000),))
    tracemalloc.start()
    with pytest.raises(TorchstartError, match=r"1,600,040,000 parameters; the cap here is 25,000,000"):
        build_model(spec)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 5_000_000  # a 1.6 G-parameter Linear would be 6.4 GB


def test_the_biggest_model_allowed_saves_a_pth_the_checkpoints_page_takes() -> None:
    # At 50 M parameters the Models page offered a 137 MB .pth that the Checkpoints page's 100 MB cap refused.
    width = MAX_PARAMS // 5_001  # Linear(4_999, width) with bias: 5,000 parameters per output, 24,995,000
    spec = ModelSpec("Biggest", (4_999,), (L("Linear", in_features=4_999, out_features=width),))
    model = build_model(spec)
    assert MAX_PARAMS - 5_001 < sum(p.numel() for p in model.parameters()) <= MAX_PARAMS
    data = state_dict_bytes(model)
    loaded = safety.safe_load(data, "biggest.pth")
    assert len(data) <= safety.MAX_CHECKPOINT_BYTES and loaded.obj.keys() == model.state_dict().keys()
    with pytest.raises(TorchstartError, match=r"the cap here is 25,000,000 \(25 M: as float32"):
        check_spec(ModelSpec("Over", (4_999,), (L("Linear", in_features=4_999, out_features=width + 2),)))


def test_the_file_cap_counts_batchnorm_running_statistics_too() -> None:
    # 48 BatchNorm1d(65536) and a Linear: 24,903,964 parameters passed, but the .pth held 124,852,955 bytes.
    layers = (*(L("BatchNorm1d", num_features=65_536) for _ in range(48)),
              L("Linear", in_features=65_536, out_features=284))
    with pytest.raises(TorchstartError, match=r"24,903,964 parameters and 6,291,552 BatchNorm running statistics; "
                                              r"the cap here is 25,000,000"):
        check_spec(ModelSpec("Norms", (65_536,), layers))
    # Under the cap with its statistics, its file loads.
    fits = check_spec(ModelSpec("Norms", (65_536,), (*layers[:24], L("Linear", in_features=65_536, out_features=284))))
    model = build_model(ModelSpec("Norms", (65_536,), (*layers[:24], layers[-1])))
    numbers = sum(t.numel() for t in model.state_dict().values())
    assert fits.total_params < numbers <= MAX_PARAMS
    assert safety.safe_load(state_dict_bytes(model), "norms.pth").obj.keys() == model.state_dict().keys()


def test_the_work_cap_counts_pooling_windows() -> None:
    # 49 stride-1 15×15 max pools on 1000×1000: 4,000,000 mult-adds passed, and one sample took 15 s.
    pools = tuple(L("MaxPool2d", kernel_size=15, stride=1) for _ in range(49))
    spec = ModelSpec("Pools", (1, 1000, 1000), (L("Conv2d", in_channels=1, out_channels=4, kernel_size=1), *pools))
    with pytest.raises(TorchstartError, match=r"mult-adds \(counting each pooling window's reads\); the cap here"):
        check_spec(spec)
    small = check_spec(ModelSpec("Pool", (1, 28, 28), (L("MaxPool2d"),)))  # the shown count stays mult-adds only
    assert small.total_macs == 0


@pytest.mark.parametrize("layer, message", [
    (L("Linear", in_features=65_537, out_features=1), "in_features is capped at 65,536"),
    (L("Conv2d", out_channels=2048), "out_channels is capped at 1,024"),
    (L("Conv2d", kernel_size=16), "kernel_size is capped at 15"),
    (L("Dropout", p=1.5), "p must be between 0 and 1"),
    (L("Linear", in_features=0), "in_features must be at least 1"),
])
def test_argument_caps(layer: LayerSpec, message: str) -> None:
    with pytest.raises(TorchstartError, match=message):
        check_spec(ModelSpec("M", (2,), (layer,)))


@pytest.mark.parametrize("shape, message", [
    (("Conv2d", dict(in_channels=64, out_channels=1024, kernel_size=1)), "4,000,000"),
    (("Conv2d", dict(in_channels=64, out_channels=256, kernel_size=15, padding=7)), "mult-adds"),
])
def test_activation_and_compute_caps(shape, message: str) -> None:
    kind, args = shape
    with pytest.raises(TorchstartError, match=message):
        check_spec(ModelSpec("M", (64, 64, 64), (L(kind, **args),)))


@pytest.mark.parametrize("text, expected", [("2", (2,)), ("1, 28, 28", (1, 28, 28)), ("(3,32,32)", (3, 32, 32)),
                                            ("1x28x28", (1, 28, 28)), (" 4 ", (4,)),
                                            ("(2,)", (2,)), ("1 28 28", (1, 28, 28))])
def test_parse_shape(text: str, expected: tuple) -> None:
    assert parse_shape(text) == expected


@pytest.mark.parametrize("text, message", [("", "not a list of whole numbers"), ("two", "whole numbers"),
                                           ("1, -2", "whole numbers"), ("0", "between 1 and"),
                                           ("1, 28, x", "whole numbers"), ("2.5", "whole numbers"), (",", "whole"),
                                           ("1,2,3,4", "4 dimensions"), ("3, 1000, 1000", "cap here is 1,000,000"),
                                           ("__import__('os')", "whole numbers")])
def test_parse_shape_refuses(text: str, message: str) -> None:
    with pytest.raises(TorchstartError, match=message):
        parse_shape(text)


@pytest.mark.parametrize("name", ["", "1Model", "my model", "class", "nn", "A" * 41, "x;import os"])
def test_bad_class_names(name: str) -> None:
    with pytest.raises(TorchstartError):
        check_spec(ModelSpec(name, (2,), (L("Linear", in_features=2, out_features=1),)))


def test_unknown_kind_and_argument() -> None:
    with pytest.raises(TorchstartError, match="Unknown layer 'Softmaxx'"):
        L("Softmaxx")
    with pytest.raises(TorchstartError, match="no argument 'bogus'"):
        check_spec(ModelSpec("M", (2,), (LayerSpec("Linear", (("bogus", 1),)),)))


# ---------------------------------------------------------------- generated code


CUSTOM = ModelSpec("Custom", (1, 12, 12), (
    L("Conv2d", in_channels=1, out_channels=3, kernel_size=3, stride=2, padding=1, bias=False),
    L("BatchNorm2d", num_features=3), L("ReLU"), L("MaxPool2d", kernel_size=2, stride=1), L("Flatten"),
    L("Dropout", p=0.25), L("Linear", in_features=75, out_features=8), L("LeakyReLU", negative_slope=0.1),
    L("Linear", in_features=8, out_features=2),
), frozen=("conv", "linear2"))


@pytest.mark.parametrize("spec", [*PRESETS.values(), CUSTOM, *VALID_STACKS], ids=lambda s: s.class_name)
def test_generated_script_reproduces_the_model(spec: ModelSpec) -> None:
    seed, batch, input_seed = 7, 3, 11
    page_model = build_model(spec, seed=seed)
    ns = run_code(model_code(spec, seed, batch, input_seed))
    model = ns["model"]
    assert repr(model) == repr(page_model)
    assert [(n, tuple(p.shape), p.requires_grad) for n, p in model.named_parameters()] == \
        [(n, tuple(p.shape), p.requires_grad) for n, p in page_model.named_parameters()]
    assert count(model) == count(page_model)
    for (_, ours), (_, theirs) in zip(page_model.state_dict().items(), model.state_dict().items(), strict=True):
        assert torch.equal(ours, theirs)
    result = forward_pass(page_model, spec.input_shape, batch, input_seed)
    assert torch.equal(ns["x"], result.inputs)
    assert torch.allclose(ns["y"], result.outputs)


def test_handoff_build_matches_the_shown_class() -> None:
    shown = run_code(handoff_code(CUSTOM))["model"]
    build = pickle.loads(pickle.dumps(partial(build_model, CUSTOM)))  # the hand-off's build() pickles
    fresh = build()
    assert list(fresh.state_dict()) == list(shown.state_dict())
    assert [p.requires_grad for p in fresh.parameters()] == [p.requires_grad for p in shown.parameters()]
    # a state_dict saved from one loads strictly into the other
    shown.load_state_dict(fresh.state_dict(), strict=True)
    assert repr(pickle.loads(pickle.dumps(fresh))) == repr(shown)
    torch.manual_seed(3)
    a = build_model(CUSTOM)
    torch.manual_seed(3)
    b = run_code(handoff_code(CUSTOM))["model"]
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_attribute_names_number_repeated_kinds_only() -> None:
    assert attribute_names(PRESETS["MLP"].layers) == ["linear1", "relu1", "linear2", "relu2", "linear3"]
    assert attribute_names(CUSTOM.layers) == ["conv", "bn", "relu", "pool", "flatten", "dropout", "linear1",
                                              "leaky_relu", "linear2"]


# ---------------------------------------------------------------- inspection


def test_summary_matches_torchinfo_and_freezing_updates_trainable() -> None:
    model = build_model(CUSTOM, seed=0)
    ours = summarize(model, CUSTOM.input_shape)
    stats = torchinfo.summary(build_model(CUSTOM, seed=0), input_size=(1, 1, 12, 12), verbose=0)
    assert (ours.total_params, ours.trainable_params) == (stats.total_params, stats.trainable_params)
    frozen = count(model.conv) + count(model.linear2)
    assert ours.trainable_params == count(model) - frozen
    assert list(ours.table["Layer"]) == attribute_names(CUSTOM.layers)
    assert dict(zip(ours.table["Layer"], ours.table["Trainable"]))["conv"] == "False"
    assert ours.table["Output shape"].iloc[0] == "[1, 3, 6, 6]"
    cached = [info.module for infos in torchinfo.torchinfo._cached_forward_pass.values() for info in infos]
    assert all(module is not model for module in cached)  # torchinfo's global cache does not keep ours alive


BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


@pytest.mark.parametrize("spec", [*PRESETS.values(), CUSTOM, *VALID_STACKS], ids=lambda s: s.class_name)
def test_mult_adds_equal_torch_flop_counter_and_the_analytic_count(spec: ModelSpec) -> None:
    model = build_model(spec, seed=0)
    summary = summarize(model, spec.input_shape)
    assert model.training  # the counting pass ran in eval mode and put the mode back
    # FlopCounterMode counts matrix products and convolutions; BatchNorm we count as one x·scale + shift per value.
    values = output_values(model, spec.input_shape)
    batchnorm = sum(values[name] for name, child in model.named_children() if isinstance(child, BATCHNORMS))
    expected = flop_counter_mult_adds(model, spec.input_shape) + batchnorm
    assert summary.mult_adds == expected == check_spec(spec).total_macs
    assert summary.table["Mult-adds"].sum() == expected


@pytest.mark.parametrize("spec", [*PRESETS.values(), CUSTOM, *VALID_STACKS], ids=lambda s: s.class_name)
def test_memory_counts_input_every_layer_output_and_the_state_dict(spec: ModelSpec) -> None:
    model = build_model(spec, seed=0)
    summary = summarize(model, spec.input_shape)
    x = torch.zeros(1, *spec.input_shape)
    values = output_values(model, spec.input_shape)
    assert summary.input_bytes == x.numel() * x.element_size() == 4 * math.prod(spec.input_shape)
    assert summary.output_bytes == 4 * sum(values.values())
    assert list(summary.table["Output bytes"]) == [4 * values[name] for name, _ in model.named_children()]
    # state_dict holds every parameter and buffer (BatchNorm's running statistics, its int64 step count).
    assert summary.param_bytes == sum(t.numel() * t.element_size() for t in model.state_dict().values())
    assert summary.total_bytes == summary.input_bytes + summary.output_bytes + summary.param_bytes


def test_memory_of_the_review_cases() -> None:
    simple = summarize(build_model(PRESETS["SimpleModel"], seed=0), (2,))
    # 2 input floats are 8 bytes (torchinfo's sys.getsizeof says 72); 1 output float; 3 parameters.
    assert (simple.input_bytes, simple.output_bytes, simple.param_bytes, simple.total_bytes) == (8, 4, 12, 24)
    relu = summarize(build_model(ModelSpec("JustReLU", (1, 28, 28), (L("ReLU"),)), seed=0), (1, 28, 28))
    # A layer without parameters still outputs a tensor (torchinfo counts 0 for it).
    assert (relu.input_bytes, relu.output_bytes, relu.param_bytes) == (3136, 3136, 0)


@pytest.mark.parametrize("count, text", [(0, "0 bytes"), (1, "1 byte"), (24, "24 bytes"), (1023, "1,023 bytes"),
                                         (1024, "1.0 KB"), (6272, "6.1 KB"), (3 * 2**20, "3.0 MB"),
                                         (5 * 2**30, "5.0 GB")])
def test_format_bytes(count: int, text: str) -> None:
    assert format_bytes(count) == text


def test_parameter_table_matches_named_parameters() -> None:
    model = build_model(PRESETS["Small CNN"], seed=0)
    table = parameter_table(model)
    for (name, param), row in zip(model.named_parameters(), table.itertuples(index=False), strict=True):
        assert row.Name == name and row.Numel == param.numel() and row.Shape == str(tuple(param.shape))
        assert row.requires_grad is True and row.Dtype == "torch.float32"
        assert row.mean == pytest.approx(param.double().mean().item(), abs=1e-7)
        assert row.std == pytest.approx(param.double().std().item(), rel=1e-5)
        assert (row.min, row.max) == (param.min().item(), param.max().item())
    single = parameter_table(nn.Linear(1, 1))
    assert math.isnan(single["std"].iloc[0])  # std of one value is undefined, not 0


def test_histogram_counts_equal_numpy() -> None:
    values = build_model(PRESETS["Small CNN"], seed=0).linear.weight
    hist = histogram(values, bins=20)
    expected, edges = np.histogram(values.detach().double().numpy(), bins=20)
    assert hist.counts.sum().item() == values.numel()
    assert np.allclose(hist.edges.numpy(), edges)
    assert np.abs(hist.counts.numpy() - expected).sum() <= 2  # a value exactly on an edge may switch bins
    constant = histogram(torch.ones(5))
    assert constant.counts.sum().item() == 5
    fig = parameter_histogram(values, "linear.weight")
    assert sum(fig.data[0].y) == values.numel()
    # A bias of 2 values counts 0, 1 or 2 per bin: whole-number ticks, not 0.5s.
    assert parameter_histogram(torch.tensor([0.1, 0.3]), "linear.bias").layout.yaxis.dtick == 1
    assert fig.layout.yaxis.dtick is None and fig.layout.yaxis.title.text == "count"


def test_forward_pass_is_seeded_in_eval_mode_and_leaves_the_model_alone() -> None:
    model = build_model(CUSTOM, seed=0)
    model.train()
    first = forward_pass(model, CUSTOM.input_shape, 4, seed=5)
    again = forward_pass(model, CUSTOM.input_shape, 4, seed=5)
    assert model.training
    torch.manual_seed(5)
    assert torch.equal(first.inputs, torch.randn(4, 1, 12, 12))
    assert torch.equal(first.outputs, again.outputs)
    with torch.no_grad():
        assert torch.allclose(first.outputs, model.eval()(first.inputs))
    table = values_table(first.inputs, limit=3)
    assert list(table.columns) == ["[0, 0, 0]", "[0, 0, 1]", "[0, 0, 2]"]
    assert table.iloc[1, 2] == pytest.approx(first.inputs[1, 0, 0, 2].item())
    assert list(values_table(first.outputs).columns) == ["[0]", "[1]"]


@pytest.mark.gpu
def test_forward_pass_on_cuda_matches_cpu() -> None:
    model = build_model(PRESETS["Small CNN"], seed=0)
    cpu = forward_pass(model, (1, 28, 28), 2, seed=0)
    gpu = forward_pass(model, (1, 28, 28), 2, seed=0, device="cuda")
    assert gpu.device.startswith("cuda")
    assert next(model.parameters()).device.type == "cpu"
    # cuDNN runs float32 convolutions in TF32 by default (torch.backends.cudnn.allow_tf32): about 3
    # significant digits per product, so the two devices agree to ~1e-3 here, not to float32's 1e-6.
    assert torch.allclose(cpu.outputs, gpu.outputs, atol=2e-3, rtol=1e-3)
    ns = run_code(model_code(PRESETS["Small CNN"], 0, 2, 0, device=gpu.device))
    assert next(ns["model"].parameters()).device.type == "cuda"
    assert torch.allclose(ns["y"], gpu.outputs, atol=1e-5)


def test_the_data_fit_note_says_what_to_set_and_puts_an_unflatten_before_a_cnn() -> None:
    assert data_fit_note((2,), (1,), 2, 1) == "This model fits the Data page's dataset: 2 features and 1 target column."
    assert data_fit_note((2,), (1,), 7, 3).endswith(
        "to train this model on it, set the input shape to 7 (with the Auto-fit switch on, the layers in between follow) and "
        "make the last layer give 3 (a Linear's out_features).")
    cnn = PRESETS["Small CNN"]
    note = data_fit_note(cnn.input_shape, check_spec(cnn).output_shape, 784, 10, picture=model_picture(cnn))
    assert note.endswith("put an Unflatten (1 × 28 × 28) first, `nn.Unflatten(1, (1, 28, 28))`, and set the input "
                         "shape to 784 (the preset \"Small CNN on pixel rows\" does this for 1 × 28 × 28).")
    fixed = ModelSpec("Fixed", (784,), (L("Unflatten", channels=1, height=28, width=28), *cnn.layers))
    assert data_fit_note(fixed.input_shape, check_spec(fixed).output_shape, 784, 10,
                         picture=model_picture(fixed)).startswith("This model fits")


def test_auto_fit_leaves_a_linear_on_a_picture_for_the_check_to_ask_for_a_flatten() -> None:
    # Fitted to the last dimension, the MLP preset on 1 x 28 x 28 became a per-row Linear (1×28×28 → 1×28×1)
    # with no word of the missing Flatten.
    mlp = replace(PRESETS["MLP"], input_shape=(1, 28, 28))
    fitted, names = auto_fit(mlp)
    assert fitted.layers[0] == mlp.layers[0] and names[0] == frozenset()
    with pytest.raises(TorchstartError, match="receives a 1×28×28 tensor .* Put a Flatten"):
        check_spec(fitted)
    flat = replace(mlp, layers=(L("Flatten"), *mlp.layers))
    fitted, names = auto_fit(flat)
    assert fitted.layers[1].kwargs["in_features"] == 784 and names[1] == frozenset({"in_features"})
    assert check_spec(fitted).output_shape == (1,)


def test_the_fit_note_asks_for_a_flatten_when_the_model_gives_a_tensor_per_sample() -> None:
    note = data_fit_note((1, 28, 28), (16, 7, 10), 784, 10, picture=(1, 28, 28))
    assert "flatten its 16 × 7 × 10 output: put a Flatten before the last Linear, which then gives 10" in note
    assert "make the last layer give" not in note


def test_fit_to_data_sets_both_ends_and_leaves_the_middle() -> None:
    mlp = fit_to_data(PRESETS["MLP"], 4, 3)  # iris: four measurements, three species
    plain = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))
    assert mlp.input_shape == (4,) and count(build_model(mlp)) == count(plain)
    assert build_model(mlp)(torch.randn(5, 4)).shape == (5, 3)
    # A CNN on picture rows gets the Unflatten the row needs: its own picture, or the one a 3,072 row is.
    for rows, image in ((784, (1, 28, 28)), (3072, (3, 32, 32))):
        cnn = fit_to_data(PRESETS["Small CNN"], rows, 10)
        assert cnn.input_shape == (rows,) and cnn.layers[0] == L("Unflatten", channels=image[0], height=image[1],
                                                                 width=image[2])
        assert build_model(cnn)(torch.randn(2, rows)).shape == (2, 10)
    # An Unflatten already in front is refitted, not doubled.
    pixel = fit_to_data(PRESETS["Small CNN on pixel rows"], 3072, 2)
    assert [layer.kind for layer in pixel.layers].count("Unflatten") == 1
    assert check_spec(pixel).output_shape == (2,)
    assert fit_to_data(PRESETS["SimpleModel"], 2, 1) == PRESETS["SimpleModel"]  # already fits: unchanged
    # An image MLP that flattens first needs no Unflatten: the row is what Flatten would give it.
    flat = ModelSpec("FlatMLP", (1, 28, 28), (L("Flatten"), L("Linear", in_features=784, out_features=10)))
    assert [layer.kind for layer in fit_to_data(flat, 784, 10).layers] == ["Flatten", "Linear"]


def test_fit_changes_lists_what_the_fit_changed() -> None:
    assert fit_changes(PRESETS["MLP"], fit_to_data(PRESETS["MLP"], 4, 3)) == [
        "input shape 2 → 4", "layer 1 (Linear): in_features 2 → 4", "layer 5 (Linear): out_features 1 → 3"]
    assert fit_changes(PRESETS["Small CNN"], fit_to_data(PRESETS["Small CNN"], 784, 10)) == [
        "input shape 1, 28, 28 → 784", "an Unflatten (1 × 28 × 28) put first"]


def test_a_relu_before_the_flatten_still_reads_plain_rows() -> None:
    for first in ([L("ReLU")], [L("Dropout"), L("Tanh")], []):
        spec = ModelSpec("Rows", (1, 28, 28), (*first, L("Flatten"), L("Linear", in_features=784, out_features=10)))
        assert model_picture(spec) is None and can_fit(spec, 4, 3), first
    conv = ModelSpec("Cnn", (1, 28, 28), (L("ReLU"), L("Conv2d"), L("Flatten")))
    assert model_picture(conv) == (1, 28, 28)
    # A BatchNorm2d needs its picture: the fit puts an Unflatten in front, as before.
    normed = ModelSpec("Normed", (1, 28, 28), (L("BatchNorm2d", num_features=1), L("Flatten"),
                                               L("Linear", in_features=784, out_features=10)))
    assert model_picture(normed) == (1, 28, 28) and fit_to_data(normed, 784, 10).layers[0].kind == "Unflatten"


def test_the_fit_note_calls_a_table_of_plain_numbers_no_picture_for_a_cnn() -> None:
    for spec in (PRESETS["Small CNN"], PRESETS["Small CNN on pixel rows"]):
        for features in (1, 4, 6, 12):  # 1 × 2 × 2 and 3 × 2 × 2 are squares too small to pool
            note = data_fit_note(spec.input_shape, check_spec(spec).output_shape, features, 3, 3, model_picture(spec))
            assert note.endswith("plain numbers, not pictures, and this model's first layers need channels × "
                                 "height × width. Start from the MLP preset for it."), (spec.class_name, features)
    pixel = PRESETS["Small CNN on pixel rows"]
    note = data_fit_note(pixel.input_shape, check_spec(pixel).output_shape, 3072, 10, 10, model_picture(pixel))
    assert "set the input shape to 3,072" in note  # Auto-fit then makes its Unflatten 3 × 32 × 32


@pytest.mark.parametrize("spec, features, message", [
    (PRESETS["Small CNN"], 5, "Rows of 5 plain numbers are no pictures"),
    (PRESETS["Small CNN"], 4, "Rows of 4 plain numbers are no pictures"),  # 1 × 2 × 2 is too small to pool
    (ModelSpec("NoLinear", (4,), (L("ReLU"),)), 4, "no Linear layer whose out_features could give 3 outputs"),
    (ModelSpec("Tail", (4,), (L("Linear", in_features=4, out_features=8), L("Unflatten", channels=2, height=2,
                                                                            width=2))), 4, "end the stack with that Linear"),
])
def test_fit_to_data_says_why_a_stack_cannot_fit(spec: ModelSpec, features: int, message: str) -> None:
    with pytest.raises(TorchstartError, match=re.escape(message)):
        fit_to_data(spec, features, 3)
