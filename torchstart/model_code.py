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
    """The whole page as a script: the class, print(model), summary, parameters and a forward pass."""
    input_size = ", ".join(str(n) for n in (1, *spec.input_shape))
    x_size = ", ".join(str(n) for n in (batch, *spec.input_shape))
    return "\n".join([
        HEADER + "from torchinfo import summary",
        "",
        "",
        class_code(spec),
        "",
        *_build_lines(spec, seed),
        "print(model)",
        "",
        "# Per-layer output shapes, parameters and mult-adds for one sample",
        f"print(summary(model, input_size=({input_size}), verbose=0))",
        "",
        "for name, param in model.named_parameters():",
        "    print(name, tuple(param.shape), param.numel(), param.dtype, param.requires_grad)",
        "",
        f"torch.manual_seed({input_seed})  # the same random input every time",
        f"x = torch.randn({x_size})",
        "model.eval()  # Dropout off, BatchNorm uses its running statistics",
        *_forward_lines(device),
        'print(x.shape, "->", y.shape)',
        "print(y)",
    ]) + "\n"
