"""The PyTorch code that reproduces one optimizer's path on the Optimizers page."""

from __future__ import annotations

from torchstart.landscapes import Landscape
from torchstart.optimizer_race import RUNAWAY, RunSpec
from torchstart.optimizers import optimizer_code

# What each optimizer keeps in optimizer.state[p], for the closing comment.
STATE_HINTS = {
    "SGD": "plain SGD keeps no state",
    "SGD + momentum": "momentum_buffer",
    "Nesterov": "momentum_buffer",
    "Adam": "exp_avg (1st moment), exp_avg_sq (2nd moment), step",
    "AdamW": "exp_avg (1st moment), exp_avg_sq (2nd moment), step",
    "RMSprop": "square_avg, step",
    "Adagrad": "sum (of squared gradients), step",
}


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
print(optimizer.state[p])   # {STATE_HINTS.get(spec.optimizer, "the optimizer's state")}
"""
