"""The ``torch.optim`` optimizers learners pick, as one registry shared by the Training and Optimizers pages."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Iterable

import torch


@dataclass(frozen=True)
class OptimizerChoice:
    """A named optimizer setting: the torch class and the keyword arguments that define the variant."""

    cls: type[torch.optim.Optimizer]
    fixed: dict[str, Any] = field(default_factory=dict)
    default_lr: float = 0.01
    # Settings a learner may tune beyond lr/weight_decay, with their defaults.
    tunable: dict[str, float] = field(default_factory=dict)


OPTIMIZERS: dict[str, OptimizerChoice] = {
    "SGD": OptimizerChoice(torch.optim.SGD, default_lr=0.01),
    "SGD + momentum": OptimizerChoice(torch.optim.SGD, default_lr=0.01, tunable={"momentum": 0.9}),
    "Nesterov": OptimizerChoice(torch.optim.SGD, {"nesterov": True}, 0.01, {"momentum": 0.9}),
    "Adam": OptimizerChoice(torch.optim.Adam, default_lr=0.01, tunable={"beta1": 0.9, "beta2": 0.999}),
    "AdamW": OptimizerChoice(torch.optim.AdamW, default_lr=0.01, tunable={"beta1": 0.9, "beta2": 0.999}),
    "RMSprop": OptimizerChoice(torch.optim.RMSprop, default_lr=0.01, tunable={"alpha": 0.99}),
    "Adagrad": OptimizerChoice(torch.optim.Adagrad, default_lr=0.1),
}


def optimizer_kwargs(name: str, lr: float, weight_decay: float | None = None, **tuned: float) -> dict[str, Any]:
    """The exact keyword arguments passed to the torch class for this choice (also used in generated code).

    ``weight_decay=None`` keeps the class's own default.
    """
    choice = OPTIMIZERS[name]
    kwargs: dict[str, Any] = {"lr": lr}
    settings = {**choice.tunable, **{k: v for k, v in tuned.items() if k in choice.tunable}}
    if "momentum" in settings:
        kwargs["momentum"] = settings["momentum"]
    if "beta1" in settings:
        kwargs["betas"] = (settings["beta1"], settings["beta2"])
    if "alpha" in settings:
        kwargs["alpha"] = settings["alpha"]
    kwargs.update(choice.fixed)
    # Passed whenever it differs from the class's own default (AdamW's is 0.01, not 0),
    # so a learner's 0 reaches AdamW while the classic SGD line stays free of it.
    if weight_decay is not None and weight_decay != default_weight_decay(choice.cls):
        kwargs["weight_decay"] = weight_decay
    return kwargs


def default_weight_decay(cls: type[torch.optim.Optimizer]) -> float:
    """The ``weight_decay`` an optimizer class uses when none is passed."""
    return inspect.signature(cls.__init__).parameters["weight_decay"].default


def make_optimizer(name: str, params: Iterable[torch.Tensor], lr: float, weight_decay: float | None = None,
                   **tuned: float) -> torch.optim.Optimizer:
    """Instantiate the registered optimizer ``name`` over ``params``."""
    return OPTIMIZERS[name].cls(params, **optimizer_kwargs(name, lr, weight_decay, **tuned))


def optimizer_code(name: str, lr: float, weight_decay: float | None = None, params: str = "model.parameters()",
                   **tuned: float) -> str:
    """The Python line that builds this optimizer, e.g. ``torch.optim.SGD(model.parameters(), lr=0.01)``."""
    kwargs = optimizer_kwargs(name, lr, weight_decay, **tuned)
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return f"torch.optim.{OPTIMIZERS[name].cls.__name__}({params}, {args})"
