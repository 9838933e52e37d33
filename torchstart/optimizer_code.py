"""The PyTorch code that reproduces one optimizer's path on the Optimizers page."""

from __future__ import annotations

import torch

from torchstart.landscapes import Landscape
from torchstart.optimizer_race import RUNAWAY, RunSpec
from torchstart.optimizers import make_optimizer, optimizer_code

# What the names in optimizer.state[p] hold, for the closing comment.
STATE_NAMES = {"exp_avg": "exp_avg (1st moment)", "exp_avg_sq": "exp_avg_sq (2nd moment)",
               "sum": "sum (of squared gradients)", "grad_avg": "grad_avg (mean gradient, centered)"}


def state_hint(spec: RunSpec) -> str:
    """What this optimizer, with these settings, keeps in ``optimizer.state[p]``: read off torch after one step."""
    p = torch.zeros(2, requires_grad=True)
    optimizer = make_optimizer(spec.optimizer, [p], spec.lr, **spec.settings)
    p.grad = torch.ones(2)
    optimizer.step()
    names = [STATE_NAMES.get(name, name) for name in optimizer.state[p]]
    # SGD at momentum 0 (plain SGD or "SGD + momentum" set to 0) keeps nothing: it prints {}.
    return ", ".join(names) if names else "no state: this SGD has no momentum to remember"


def race_code(landscape: Landscape, start: tuple[float, float], spec: RunSpec, steps: int,
              planned: int | None = None) -> str:
    """A standalone script: the loss function, the optimizer, and the loop that records ``path``.

    ``planned`` (the race's step count) is given when the race was stopped after ``steps`` steps.
    """
    stopped = (f"  # the page's race was stopped after {steps:,} of {planned:,} steps" if planned is not None else "")
    build = optimizer_code(spec.optimizer, spec.lr, params="[p]", **spec.settings)
    a, b = landscape.param_names
    return f"""import torch

# {landscape.title}: known minimum at ({landscape.minimum[0]:.6g}, {landscape.minimum[1]:.6g})
{landscape.code}
# The two parameters ({a}, {b}) in one tensor, at the start point.
p = torch.tensor([{float(start[0])!r}, {float(start[1])!r}], requires_grad=True)
optimizer = {build}

path = [p.detach().clone()]
for step in range({steps}):{stopped}
    optimizer.zero_grad()   # clear the gradient left by the previous step
    loss = loss_fn(p)       # forward: the loss at the current point
    loss.backward()         # p.grad = d loss / d p
    if not (torch.isfinite(loss) and torch.isfinite(p.grad).all()):
        break               # diverged: the loss or gradient overflowed
    optimizer.step()        # move p, using the gradient and the optimizer's state
    path.append(p.detach().clone())
    if not torch.isfinite(p).all() or p.abs().max() > {RUNAWAY:g}:
        break               # diverged: the parameters ran away

path = torch.stack(path)    # (steps + 1, 2): the path drawn on the page
print(f"{{len(path) - 1}} steps, ended at {{path[-1].tolist()}}, loss {{loss_fn(p).item():.6g}}")
print(optimizer.state[p])   # {state_hint(spec)}
"""
