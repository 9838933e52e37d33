"""The Python a learner would write for the page's model: an ``nn.Module`` subclass and its use."""

from __future__ import annotations

from torchstart.layers import layer_kind
from torchstart.model_spec import ModelSpec, attribute_names, check_spec

HEADER = "import torch\nfrom torch import nn\n"


def _batch_shape(shape: tuple[int, ...]) -> str:
    """``(16,)`` -> ``(N, 16)`` for shape comments."""
    return "(N, " + ", ".join(str(n) for n in shape) + ")"


def class_code(spec: ModelSpec) -> str:
    """A complete ``nn.Module`` subclass (``__init__`` and ``forward``) that builds exactly this model."""
    check = check_spec(spec)
    names = attribute_names(spec.layers)
    lines = [
        f"class {spec.class_name}(nn.Module):",
        "    def __init__(self):",
        "        super().__init__()",
    ]
    for name, layer in zip(names, spec.layers):
        kind = layer_kind(layer.kind)
        lines.append(f"        self.{name} = {kind.code(kind.check_args(layer.kwargs))}")
    lines += ["", "    def forward(self, x):"]
    if len(names) > 1:
        lines.append(f"        # x: {_batch_shape(spec.input_shape)}, N samples in a batch")
    for name, row in zip(names[:-1], check.layers[:-1]):
        lines.append(f"        x = self.{name}(x)  # {_batch_shape(row.out_shape)}")
    last = f"        return self.{names[-1]}(x)"
    if len(names) > 1:
        last += f"  # {_batch_shape(check.output_shape)}"
    lines.append(last)
    return "\n".join(lines) + "\n"


def _build_lines(spec: ModelSpec, seed: int | None) -> list[str]:
    """Instantiate the class (seeded when asked) and freeze the chosen layers."""
    lines = []
    if seed is not None:
        lines.append(f"torch.manual_seed({seed})  # the same initial weights every time")
    lines.append(f"model = {spec.class_name}()")
    for attr in spec.frozen:
        lines.append(f"model.{attr}.requires_grad_(False)  # frozen: an optimizer will not change it")
    return lines


def handoff_code(spec: ModelSpec) -> str:
    """Imports, the class, and ``model = ...``: what other pages paste into their scripts."""
    return "\n".join([HEADER, "", class_code(spec), "", *_build_lines(spec, None)]) + "\n"


COST_CODE = '''
def mult_adds(layer, output):
    """Multiply-adds a layer did to make output: its weight products, not bias adds or element-wise functions."""
    if isinstance(layer, nn.Linear):  # each output value sums in_features products
        return output.numel() * layer.in_features
    if isinstance(layer, nn.Conv2d):  # each output value sums a kernel over in_channels / groups
        kernel_h, kernel_w = layer.kernel_size
        return output.numel() * layer.in_channels // layer.groups * kernel_h * kernel_w
    if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):  # eval mode: x * scale + shift, once per value
        return output.numel()
    return 0  # activations, pooling, Dropout, Flatten: no weight products


costs = {}  # layer -> (multiply-adds, output bytes), for one sample


def hook(layer, inputs, output):
    costs[layer] = (mult_adds(layer, output), output.numel() * output.element_size())


hooks = [layer.register_forward_hook(hook) for layer in model.children()]
'''


def _summary_lines(input_size: str) -> list[str]:
    """torchinfo's table of output shapes, parameter counts and trainable flags, printed as whole numbers."""
    return [
        "# Output shape, parameter count and trainable flag per layer, for one sample (the 1 is the batch dimension)",
        "# device=\"cpu\": without it torchinfo moves the model to a GPU when there is one, and leaves it there",
        f"stats = summary(model, input_size=({input_size}), device=\"cpu\", col_names=(\"output_size\", "
        "\"num_params\", \"trainable\"), verbose=0)",
        "stats.formatting.macs_units = Units.NONE  # whole numbers, not \"0.00\" millions",
        "print(stats)",
    ]


def _cost_lines(input_size: str) -> list[str]:
    """Count multiply-adds and memory with forward hooks, and print them as the page shows them."""
    return [
        "# torchinfo's footer takes shortcuts: its Total mult-adds is each layer's parameters × the batch size",
        "# (bias included; × output positions for a Conv2d; a Linear on a 3×4 sample counted once, not 3 times),",
        "# and its sizes use sys.getsizeof",
        "# and skip layers without parameters. The page counts both from the shapes each layer really sees.",
        *COST_CODE.strip("\n").split("\n"),
        f"one = torch.zeros({input_size})  # one sample: only its shape matters",
        "model.eval()  # Dropout off, BatchNorm uses its running statistics",
        "with torch.no_grad():",
        "    model(one)",
        "for handle in hooks:",
        "    handle.remove()",
        "for name, layer in model.named_children():",
        "    print(f\"{name}: {costs[layer][0]:,} mult-adds, output {costs[layer][1]:,} bytes\")",
        "print(f\"Multiply-adds per sample: {sum(macs for macs, _ in costs.values()):,}\")",
        "input_bytes = one.numel() * one.element_size()",
        "output_bytes = sum(size for _, size in costs.values())",
        "param_bytes = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])",
        "print(f\"Memory for one sample: input {input_bytes:,} + layer outputs {output_bytes:,} + parameters and \"",
        "      f\"buffers {param_bytes:,} = {input_bytes + output_bytes + param_bytes:,} bytes\")",
    ]


def _forward_lines(device: str) -> list[str]:
    """Run the model on ``x``, moving both to ``device`` when it is not the CPU."""
    if device == "cpu":
        return ["with torch.no_grad():", "    y = model(x)"]
    return [
        f'device = torch.device("{device}")',
        "model = model.to(device)  # parameters to the GPU; the model and its input must share a device",
        "with torch.no_grad():",
        "    y = model(x.to(device)).cpu()",
    ]


def model_code(spec: ModelSpec, seed: int, batch: int, input_seed: int, device: str = "cpu") -> str:
    """The whole page as a script: the class, print(model), summary and costs, parameters and a forward pass."""
    input_size = ", ".join(str(n) for n in (1, *spec.input_shape))
    x_size = ", ".join(str(n) for n in (batch, *spec.input_shape))
    return "\n".join([
        HEADER + "from torchinfo import Units, summary  # pip install torchinfo (not part of PyTorch)",
        "",
        "",
        class_code(spec),
        "",
        *_build_lines(spec, seed),
        "print(model)",
        "",
        *_summary_lines(input_size),
        "",
        "",
        *_cost_lines(input_size),
        "",
        "for name, param in model.named_parameters():",
        "    print(name, tuple(param.shape), param.numel(), param.dtype, param.requires_grad)",
        "",
        f"torch.manual_seed({input_seed})  # the same random input every time",
        f"x = torch.randn({x_size})",
        *_forward_lines(device),
        'print(x.shape, "->", y.shape)',
        "print(y)",
    ]) + "\n"
