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
    # Settings a learner may tune beyond lr, with their defaults (weight_decay only where it defines the variant).
    tunable: dict[str, float] = field(default_factory=dict)


def default_weight_decay(cls: type[torch.optim.Optimizer]) -> float:
    """The ``weight_decay`` an optimizer class uses when none is passed."""
    return inspect.signature(cls.__init__).parameters["weight_decay"].default


OPTIMIZERS: dict[str, OptimizerChoice] = {
    "SGD": OptimizerChoice(torch.optim.SGD, default_lr=0.01),
    "SGD + momentum": OptimizerChoice(torch.optim.SGD, default_lr=0.01, tunable={"momentum": 0.9}),
    "Nesterov": OptimizerChoice(torch.optim.SGD, {"nesterov": True}, 0.01, {"momentum": 0.9}),
    "Adam": OptimizerChoice(torch.optim.Adam, default_lr=0.01, tunable={"beta1": 0.9, "beta2": 0.999}),
    # Decoupled weight decay is what makes AdamW differ from Adam: a tunable, at torch's own default (0.01).
    "AdamW": OptimizerChoice(torch.optim.AdamW, default_lr=0.01,
                             tunable={"beta1": 0.9, "beta2": 0.999,
                                      "weight_decay": default_weight_decay(torch.optim.AdamW)}),
    "RMSprop": OptimizerChoice(torch.optim.RMSprop, default_lr=0.01, tunable={"alpha": 0.99}),
    "Adagrad": OptimizerChoice(torch.optim.Adagrad, default_lr=0.1),
}


def optimizer_kwargs(name: str, lr: float, weight_decay: float | None = None, **tuned: float) -> dict[str, Any]:
    """The exact keyword arguments passed to the torch class for this choice (also used in generated code).

    ``weight_decay=None`` keeps the class's own default, except where weight decay is a tunable
    setting (AdamW): there its tunable default is used, and the value is always written.
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
    decay = weight_decay if weight_decay is not None else settings.get("weight_decay")
    # Passed whenever it differs from the class's own default, so a learner's 0 reaches AdamW (whose
    # default is 0.01) while the classic SGD line stays free of it; where it is a tunable setting (AdamW)
    # always, so generated code never hides a weight decay that changes the path.
    if decay is not None and ("weight_decay" in choice.tunable or decay != default_weight_decay(choice.cls)):
        kwargs["weight_decay"] = decay
    return kwargs


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


_warmed_up = False


def warm_up() -> None:
    """Build one throwaway optimizer, once per process, so torch.optim's one-time set-up happens now.

    An optimizer's first construction imports ``torch._dynamo`` (about 2 s here). The app
    calls this after a page is drawn, while the learner reads, so that their first visit
    to the Training or Optimizers page does not pay it.
    """
    global _warmed_up
    if not _warmed_up:
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        _warmed_up = True
