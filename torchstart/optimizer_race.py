"""Race real ``torch.optim`` optimizers across a landscape from the same start, recording every step.

Each run is the loop a learner writes: ``zero_grad()``, loss, ``backward()``,
``step()``, on one two-element parameter tensor. Per step we keep the point,
the loss and gradient there, and a copy of ``optimizer.state`` (momentum
buffers, Adam's moments, ...). A run that overflows stops with a note instead
of raising. A race can be stopped part-way (``on_progress`` returns True); the
result then holds the finished paths and the interrupted one up to where it stopped.
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
    "weight_decay": FloatParam("Weight decay", 0.01, 0.0, 1.0, step=0.001, format="%g",
                               help="AdamW's decoupled weight decay: each step first pulls p toward 0 by "
                                    "lr × weight_decay × p, apart from the Adam step. torch's default is 0.01; "
                                    "0 makes AdamW exactly Adam."),
}
# What a racer's box says under its settings, where the name alone would mislead.
RACER_NOTES: dict[str, str] = {
    "AdamW": "Adam plus decoupled weight decay: it settles where the pull toward 0 and the Adam step cancel, "
             "so near a minimum away from the origin, not on it. With weight decay 0 (and Adam's lr and betas) "
             "it follows Adam's path exactly.",
}
# State entries that only count steps: the table already has a step column.
SKIPPED_STATE = {"step"}

# Called every 100 steps with (steps done, steps planned); returning True stops the race there.
ProgressFn = Callable[[int, int], "bool | None"]


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
    stopped_at: int | None = None  # the step where the race was stopped before this path was done

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
    """All optimizers' paths on one landscape from one start.

    ``paths`` holds the optimizers that ran, in race order. A stopped race
    (``stopped``) may end with a cut-short path (``stopped_at``) and leave later
    ``specs`` out (``not_run``). ``finished`` is set once every spec ran in full.
    """

    landscape: Landscape
    start: tuple[float, float]
    steps: int
    paths: list[OptimizerPath]
    specs: list[RunSpec] = field(default_factory=list)
    stopped: bool = False
    finished: bool = False

    @property
    def not_run(self) -> list[RunSpec]:
        """The specs the race never got to (it was stopped first)."""
        ran = {path.spec.optimizer for path in self.paths}
        return [spec for spec in self.specs if spec.optimizer not in ran]

    def path(self, optimizer: str) -> OptimizerPath:
        """The path of one optimizer by its registry name (KeyError if it did not run)."""
        for path in self.paths:
            if path.spec.optimizer == optimizer:
                return path
        raise KeyError(f"{optimizer} has no path: it is not in this race, or the race was stopped before it ran")


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
        # Only the size is checked, not a trend: the race stops here, far outside every landscape's plot.
        return f"a parameter passed {RUNAWAY:.0e} in size, far off the landscape, so the race stopped it there"
    return ""


@dataclass
class _Recording:
    """The lists one run fills step by step; a path can be cut from them at any moment."""

    points: list[list[float]]
    losses: list[float] = field(default_factory=list)
    grads: list[list[float]] = field(default_factory=list)
    states: list[dict[str, float]] = field(default_factory=lambda: [{}])
    diverged_at: int | None = None
    note: str = ""
    stopped_at: int | None = None

    def path(self, spec: RunSpec, steps: int) -> OptimizerPath:
        """The path so far: cut to the last point whose loss and gradient are known."""
        n = min(len(self.points), len(self.losses), len(self.grads), len(self.states))
        stopped_at = self.stopped_at
        if stopped_at is None and self.diverged_at is None and n - 1 < steps:
            stopped_at = max(n - 1, 0)  # interrupted mid-step (the caller raised from on_step)
        return OptimizerPath(spec, torch.tensor(self.points[:n], dtype=torch.float32).reshape(-1, 2),
                             torch.tensor(self.losses[:n], dtype=torch.float64),
                             torch.tensor(self.grads[:n], dtype=torch.float32).reshape(-1, 2),
                             self.states[:n], self.diverged_at, self.note, stopped_at)


def _record_run(landscape: Landscape, p: torch.Tensor, spec: RunSpec, steps: int,
                on_step: Callable[[int], "bool | None"] | None, rec: _Recording) -> bool:
    """The loop behind ``run_optimizer``, filling ``rec``; returns True if ``on_step`` asked to stop."""
    optimizer = make_optimizer(spec.optimizer, [p], spec.lr, **spec.settings)
    stop = False
    for k in range(steps + 1):
        give_way()  # another learner's page run goes first (see torchstart.fair_share)
        optimizer.zero_grad()
        loss = landscape.loss(p)
        loss.backward()
        rec.losses.append(loss.item())
        rec.grads.append(p.grad.tolist())
        why = _loss_problem(rec.losses[-1], rec.grads[-1])
        if why:
            rec.diverged_at, rec.note = k, why
            break
        if k == steps:  # the last point only needs its loss and gradient for the table
            break
        if stop:  # asked after the previous step: this point's loss and gradient complete the path
            rec.stopped_at = k
            break
        optimizer.step()
        rec.points.append(p.tolist())
        rec.states.append(state_columns(optimizer.state[p], landscape.param_names))
        why = _point_problem(rec.points[-1])
        if why:  # the table's last row: the loss and gradient where the path stopped, as torch computes them
            rec.diverged_at, rec.note = k + 1, why
            optimizer.zero_grad()
            loss = landscape.loss(p)
            loss.backward()
            rec.losses.append(loss.item())
            rec.grads.append(p.grad.tolist())
            break
        if on_step is not None and on_step(k + 1):
            stop = True
    return stop


def run_optimizer(landscape: Landscape, start: tuple[float, float], spec: RunSpec, steps: int,
                  on_step: Callable[[int], "bool | None"] | None = None) -> OptimizerPath:
    """Run ``spec`` for up to ``steps`` steps from ``start`` with the real torch optimizer; stop on divergence.

    ``on_step(k)`` is called after step k; returning True ends the path at step k.
    """
    p = torch.tensor(start, dtype=torch.float32, requires_grad=True)
    # Plain floats per step: a float32 value survives the round trip through a Python float exactly.
    rec = _Recording([p.tolist()])
    _record_run(landscape, p, spec, steps, on_step, rec)
    return rec.path(spec, steps)


def check_start(start: tuple[float, float], names: tuple[str, str]) -> tuple[float, float]:
    """The start point, each coordinate checked against the cap."""
    return tuple(replace(START, label=f"Start {name}").check(value)  # type: ignore[return-value]
                 for name, value in zip(names, start))


def check_race(landscape: Landscape, start: tuple[float, float], specs: list[RunSpec],
               steps: int) -> tuple[float, float]:
    """Refuse a race that breaks a cap (steps, start, settings) or repeats an optimizer; return the start."""
    STEPS.check(steps)
    start = check_start(start, landscape.param_names)
    if not specs:
        raise TorchstartError("Pick at least one optimizer to race.")
    names = [s.optimizer for s in specs]
    if len(set(names)) != len(names):
        raise TorchstartError("Each optimizer can race once; remove the duplicate.")
    for spec in specs:
        spec.check()
    return start


def race(landscape: Landscape, start: tuple[float, float], specs: list[RunSpec], steps: int,
         on_progress: ProgressFn | None = None, into: RaceResult | None = None) -> RaceResult:
    """Run every spec from the same start on ``landscape``; ``on_progress(done, total)`` every 100 steps.

    ``on_progress`` returning True stops the race at that step (``result.stopped``):
    the running optimizer's path ends there and later specs are ``not_run``. ``into``
    is filled in place as the race goes, so a caller holding it keeps every finished
    path even when it interrupts the race by raising from ``on_progress`` (then the
    running path is cut at its last whole step, ``stopped`` is set, and the exception
    goes on).
    """
    start = check_race(landscape, start, specs, steps)
    result = into if into is not None else RaceResult(landscape, start, steps, [])
    result.landscape, result.start, result.steps, result.specs = landscape, start, steps, list(specs)
    result.paths, result.stopped, result.finished = [], False, False
    total = steps * len(specs)
    for i, spec in enumerate(specs):
        done_before = i * steps

        def report(k: int, done_before: int = done_before) -> bool:
            return on_progress is not None and k % 100 == 0 and bool(on_progress(done_before + k, total))

        p = torch.tensor(start, dtype=torch.float32, requires_grad=True)
        rec = _Recording([p.tolist()])
        try:
            stop = _record_run(landscape, p, spec, steps, report, rec)
        except BaseException:
            result.paths.append(rec.path(spec, steps))
            result.stopped = True  # set last: a reader waiting on ``stopped`` sees every path
            raise
        result.paths.append(rec.path(spec, steps))
        if stop and (result.paths[-1].stopped_at is not None or i + 1 < len(specs)):
            result.stopped = True
            return result
    result.finished = True
    if on_progress is not None:
        on_progress(total, total)
    return result


def divergence_advice(path: OptimizerPath, landscape: Landscape) -> str:
    """What to change after ``path`` diverged: a smaller lr, or (already at the smallest) the start or the data."""
    if path.spec.lr > LEARNING_RATE.min_value:
        return "Try a smaller learning rate."
    data = ", or rescale the data (e.g. standardize it) on the Data page" if landscape.key.startswith("data:") else ""
    return (f"Its learning rate is already the smallest this page allows ({LEARNING_RATE.min_value:g}): start "
            f"closer to the minimum{data}.")


# A path has arrived once it is this share of its starting distance from a minimum away, and stays so: a share,
# not a fixed distance, so it means the same on Rosenbrock and on an MSE over (w, b) in the data's units.
ARRIVED = 0.01
ARRIVED_COLUMN = "99% of the way (and stays) at step"


def _minima(landscape: Landscape) -> torch.Tensor:
    """The landscape's minimum and any other minima it marks (the saddle has two), one per row."""
    marked = [point for label, point in landscape.landmarks if label.startswith("minimum")]
    return torch.tensor([landscape.minimum, *marked], dtype=torch.float64)


def arrival_step(path: OptimizerPath, minima: torch.Tensor) -> int | None:
    """The first step from which the path stays within ARRIVED of its starting distance from the nearest
    minimum; None if it never settles there (or diverged)."""
    if path.diverged_at is not None:
        return None
    distance = torch.cdist(path.points.double(), minima).min(dim=1).values
    far = (distance > ARRIVED * distance[0]).nonzero()
    arrived = 0 if not len(far) else int(far[-1]) + 1
    return arrived if arrived < len(distance) else None


def race_summary(result: RaceResult) -> pd.DataFrame:
    """Who got where: per optimizer, its steps, last loss, distance from the nearest minimum, and the step from
    which it stayed 99% of the way there (None when it never settled, or diverged)."""
    minima = _minima(result.landscape)
    return pd.DataFrame([{
        "optimizer": path.spec.label,
        "steps": path.steps_taken,
        "last loss": float(path.losses[-1]),
        "distance from the nearest minimum": float(torch.cdist(path.points[-1:].double(), minima).min()),
        ARRIVED_COLUMN: arrival_step(path, minima),
        "diverged at step": path.diverged_at,
    } for path in result.paths])


def arrival_text(row: pd.Series) -> str:
    """A summary row's arrival as the page writes it: the step, or why there is none."""
    if row["diverged at step"] is not None and row["diverged at step"] == row["diverged at step"]:
        return f"— (diverged at step {int(row['diverged at step']):,})"
    arrived = row[ARRIVED_COLUMN]
    return "—" if arrived is None or arrived != arrived else f"{int(arrived):,}"


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
