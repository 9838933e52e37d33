"""Race real ``torch.optim`` optimizers across a landscape from the same start, recording every step.

Each run is the loop a learner writes: ``zero_grad()``, loss, ``backward()``,
``step()``, on one two-element parameter tensor. Per step we keep the point,
the loss and gradient there, and a copy of ``optimizer.state`` (momentum
buffers, Adam's moments, ...). A run that overflows stops with a note instead
of raising.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import pandas as pd
import torch

from torchstart.errors import TorchstartError
from torchstart.fair_share import give_way
from torchstart.landscapes import LR_RANGE, MAX_COORDINATE, Landscape
from torchstart.optimizers import OPTIMIZERS, make_optimizer
from torchstart.params import FloatParam, IntParam

MAX_STEPS = 5_000
# A parameter this far from the origin has left every landscape on offer: call it diverged.
RUNAWAY = 1e6

STEPS = IntParam("Steps", 200, 1, MAX_STEPS, step=50,
                 help=f"How many optimizer.step() calls each optimizer makes (at most {MAX_STEPS:,}).")
LEARNING_RATE = FloatParam("Learning rate", 0.01, *LR_RANGE, step=0.001, format="%g",
                           help=f"lr: how far each step goes ({LR_RANGE[0]:g} to {LR_RANGE[1]:g} here).")
START = FloatParam("Start coordinate", 0.0, -MAX_COORDINATE, MAX_COORDINATE, step=0.1, format="%g",
                   help=f"Every optimizer starts here. Each coordinate must be within ±{MAX_COORDINATE:,.0f}.")
SETTINGS: dict[str, FloatParam] = {
    "momentum": FloatParam("Momentum", 0.9, 0.0, 0.999, step=0.05, format="%g",
                           help="Fraction of the previous step's velocity kept (momentum_buffer)."),
    "beta1": FloatParam("β₁ (beta1)", 0.9, 0.0, 0.999, step=0.01, format="%g",
                        help="Decay of the running mean of gradients (exp_avg)."),
    "beta2": FloatParam("β₂ (beta2)", 0.999, 0.0, 0.9999, step=0.001, format="%g",
                        help="Decay of the running mean of squared gradients (exp_avg_sq)."),
    "alpha": FloatParam("α (alpha)", 0.99, 0.0, 0.9999, step=0.01, format="%g",
                        help="Decay of the running mean of squared gradients (square_avg)."),
}
# State entries that only count steps: the table already has a step column.
SKIPPED_STATE = {"step"}

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class RunSpec:
    """One racer: a registered optimizer, its learning rate and its tuned settings."""

    optimizer: str
    lr: float
    settings: dict[str, float] = field(default_factory=dict)

    def check(self) -> "RunSpec":
        """Return self if every setting is within its cap, else raise a message naming it."""
        if self.optimizer not in OPTIMIZERS:
            raise TorchstartError(f"Unknown optimizer {self.optimizer!r}; pick one of {', '.join(OPTIMIZERS)}.")
        try:
            LEARNING_RATE.check(self.lr)
            for name, value in self.settings.items():
                SETTINGS[name].check(value)
        except TorchstartError as err:
            raise TorchstartError(f"{self.optimizer}: {err}") from None
        if OPTIMIZERS[self.optimizer].fixed.get("nesterov") and self.settings.get("momentum", 0.9) <= 0:
            raise TorchstartError("Nesterov: momentum must be above 0 (Nesterov momentum with no momentum "
                                  "is plain SGD; torch refuses it).")
        return self

    @property
    def label(self) -> str:
        """Legend text, e.g. ``Adam (lr 0.01)``."""
        return f"{self.optimizer} (lr {self.lr:g})"


@dataclass
class OptimizerPath:
    """Everything one optimizer did: ``points[k]`` is the parameter after k steps.

    ``losses[k]`` and ``grads[k]`` are the loss and gradient at ``points[k]`` (the
    gradient that step k+1 used); ``states[k]`` is ``optimizer.state`` after step k
    (empty for k = 0). Values after a divergence are NaN/inf as torch produced them.
    """

    spec: RunSpec
    points: torch.Tensor  # (k+1, 2)
    losses: torch.Tensor  # (k+1,)
    grads: torch.Tensor  # (k+1, 2)
    states: list[dict[str, float]]
    diverged_at: int | None = None
    note: str = ""

    @property
    def steps_taken(self) -> int:
        """Number of ``optimizer.step()`` calls made."""
        return len(self.points) - 1

    @property
    def finite_points(self) -> torch.Tensor:
        """The points up to the last one with finite coordinates."""
        finite = torch.isfinite(self.points).all(dim=1)
        last = int(finite.nonzero().max()) if finite.any() else -1
        return self.points[: last + 1]


@dataclass
class RaceResult:
    """All optimizers' paths on one landscape from one start."""

    landscape: Landscape
    start: tuple[float, float]
    steps: int
    paths: list[OptimizerPath]

    def path(self, optimizer: str) -> OptimizerPath:
        """The path of one optimizer by its registry name."""
        for path in self.paths:
            if path.spec.optimizer == optimizer:
                return path
        raise KeyError(optimizer)


def state_columns(state: dict[str, object], names: tuple[str, str]) -> dict[str, float]:
    """Flatten one parameter's ``optimizer.state`` into named numbers, e.g. ``exp_avg[x]``."""
    flat: dict[str, float] = {}
    for key, value in state.items():
        if key in SKIPPED_STATE or not isinstance(value, torch.Tensor):
            continue
        values = value.detach().reshape(-1).tolist()
        if len(values) == 2:
            flat[f"{key}[{names[0]}]"], flat[f"{key}[{names[1]}]"] = values
        else:
            for i, v in enumerate(values):
                flat[key if len(values) == 1 else f"{key}[{i}]"] = v
    return flat


def _loss_problem(loss: float, grad: list[float]) -> str:
    """Why the loss or gradient at a point counts as diverged, or ``""``."""
    if not math.isfinite(loss):
        return f"the loss became {loss}"
    if not all(map(math.isfinite, grad)):
        return "the gradient overflowed to inf/NaN"
    return ""


def _point_problem(point: list[float]) -> str:
    """Why a point counts as diverged (not finite, or ran far off every landscape), or ``""``."""
    if not all(map(math.isfinite, point)):
        return "the parameters became inf/NaN"
    if max(map(abs, point)) > RUNAWAY:
        return f"a parameter passed {RUNAWAY:.0e} in size and kept growing"
    return ""


def run_optimizer(landscape: Landscape, start: tuple[float, float], spec: RunSpec, steps: int,
                  on_step: Callable[[int], None] | None = None) -> OptimizerPath:
    """Run ``spec`` for up to ``steps`` steps from ``start`` with the real torch optimizer; stop on divergence."""
    p = torch.tensor(start, dtype=torch.float32, requires_grad=True)
    optimizer = make_optimizer(spec.optimizer, [p], spec.lr, **spec.settings)
    # Plain floats per step: a float32 value survives the round trip through a Python float exactly.
    points, losses, grads = [p.tolist()], [], []
    states: list[dict[str, float]] = [{}]
    diverged_at, note = None, ""
    for k in range(steps + 1):
        give_way()  # another learner's page run goes first (see torchstart.fair_share)
        optimizer.zero_grad()
        loss = landscape.loss(p)
        loss.backward()
        losses.append(loss.item())
        grads.append(p.grad.tolist())
        why = _loss_problem(losses[-1], grads[-1])
        if why:
            diverged_at, note = k, why
            break
        if k == steps:  # the last point only needs its loss and gradient for the table
            break
        optimizer.step()
        points.append(p.tolist())
        states.append(state_columns(optimizer.state[p], landscape.param_names))
        why = _point_problem(points[-1])
        if why:
            diverged_at, note = k + 1, why
            losses.append(landscape.loss(p.detach()).item())
            grads.append([math.nan, math.nan])
            break
        if on_step is not None:
            on_step(k + 1)
    return OptimizerPath(spec, torch.tensor(points, dtype=torch.float32), torch.tensor(losses, dtype=torch.float64),
                         torch.tensor(grads, dtype=torch.float32), states, diverged_at, note)


def check_start(start: tuple[float, float], names: tuple[str, str]) -> tuple[float, float]:
    """The start point, each coordinate checked against the cap."""
    return tuple(replace(START, label=f"Start {name}").check(value)  # type: ignore[return-value]
                 for name, value in zip(names, start))


def race(landscape: Landscape, start: tuple[float, float], specs: list[RunSpec], steps: int,
         on_progress: ProgressFn | None = None) -> RaceResult:
    """Run every spec from the same start on ``landscape``; ``on_progress(done, total)`` every 100 steps."""
    STEPS.check(steps)
    start = check_start(start, landscape.param_names)
    if not specs:
        raise TorchstartError("Pick at least one optimizer to race.")
    names = [s.optimizer for s in specs]
    if len(set(names)) != len(names):
        raise TorchstartError("Each optimizer can race once; remove the duplicate.")
    for spec in specs:
        spec.check()
    total = steps * len(specs)
    paths = []
    for i, spec in enumerate(specs):
        done_before = i * steps

        def report(k: int, done_before: int = done_before) -> None:
            if on_progress is not None and k % 100 == 0:
                on_progress(done_before + k, total)

        paths.append(run_optimizer(landscape, start, spec, steps, report))
    if on_progress is not None:
        on_progress(total, total)
    return RaceResult(landscape, start, steps, paths)


def step_table(path: OptimizerPath, names: tuple[str, str]) -> pd.DataFrame:
    """One row per step: the point, the loss and gradient there, and ``optimizer.state`` after that step."""
    a, b = names
    points, grads = path.points.numpy(), path.grads.numpy()
    table = pd.DataFrame({
        "step": np.arange(len(points)),
        a: points[:, 0], b: points[:, 1],
        "loss": path.losses.numpy()[: len(points)],
        f"grad {a}": grads[: len(points), 0], f"grad {b}": grads[: len(points), 1],
    })
    state = pd.DataFrame(path.states)
    return pd.concat([table, state], axis=1) if len(state.columns) else table
