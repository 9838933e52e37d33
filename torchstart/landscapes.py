"""Loss landscapes over a two-element parameter tensor, written in torch, each with its known minimum.

A landscape is a function ``f(a, b)`` of two parameters. It is written with
elementwise torch operations so the same function evaluates one point (a
two-element tensor ``p`` during optimization: ``f(p[0], p[1])``) or a whole grid
(for the contour plot). ``code`` is the same function as a learner would type it.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace
from typing import Callable

import torch

from torchstart.datasets import TabularDataset
from torchstart.errors import TorchstartError
from torchstart.synthetic import classic_points
from torchstart.wording import comment_safe, plural

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# Largest number of data rows written into generated code as literals.
MAX_CODE_ROWS = 200
# Every optimizer step touches every row: a bigger dataset is raced on a seeded random subset of it.
MAX_LANDSCAPE_ROWS = 10_000
SUBSET_SEED = 0
# Caps shared with the race: start coordinates within ±MAX_COORDINATE, learning rates within LR_RANGE.
MAX_COORDINATE = 1_000.0
LR_RANGE = (1e-6, 10.0)


@dataclass(frozen=True)
class Landscape:
    """A loss function of two parameters, where it is smallest, and how to look at it."""

    key: str
    title: str
    formula: str  # Markdown/LaTeX shown above the chart
    fn: LossFn  # elementwise over broadcastable (a, b)
    param_names: tuple[str, str]
    minimum: tuple[float, float]
    min_value: float
    a_range: tuple[float, float]
    b_range: tuple[float, float]
    start: tuple[float, float]
    code: str  # Python defining ``loss_fn(p)`` (and its data), the same arithmetic as ``fn``
    log_levels: bool = False  # contour levels on a log scale (steep walls, flat valley)
    default_steps: int = 200
    suggested_lr: dict[str, float] = field(default_factory=dict)
    landmarks: tuple[tuple[str, tuple[float, float]], ...] = ()
    note: str = ""
    # A cheaper equal formula for drawing many points at once (the MSE from five data averages).
    surface_fn: LossFn | None = None

    def loss(self, p: torch.Tensor) -> torch.Tensor:
        """The loss at a two-element parameter tensor ``p`` (differentiable)."""
        return self.fn(p[0], p[1])

    def lr_for(self, optimizer: str, fallback: float) -> float:
        """The learning rate this landscape suggests for ``optimizer``."""
        return self.suggested_lr.get(optimizer, fallback)

    @torch.no_grad()
    def surface(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The loss at many points at once (same shape as ``a`` and ``b``), for drawing."""
        if self.surface_fn is not None:
            return self.surface_fn(a, b).to(torch.float32)
        # One row at a time keeps memory at (row length × data rows) floats.
        return torch.stack([self.fn(a_i, b_i) for a_i, b_i in zip(a.reshape(-1, a.shape[-1]),
                                                                  b.reshape(-1, b.shape[-1]))]).reshape(a.shape)

    def grid(self, n: int = 80) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(a_values, b_values, z)`` on an n×n grid over the plot range; ``z[i, j] = f(a[j], b[i])``."""
        a = torch.linspace(*self.a_range, n)
        b = torch.linspace(*self.b_range, n)
        aa, bb = torch.meshgrid(a, b, indexing="xy")
        return a, b, self.surface(aa, bb)


# ------------------------------------------------------------ test functions

def _rosenbrock(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def _beale(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2


def _saddle(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return x ** 2 + y ** 4 / 4 - y ** 2 / 2


def _ill_conditioned(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x ** 2 + 25 * y ** 2) / 2


def _code(expression: str, names: tuple[str, str] = ("x", "y"), setup: str = "") -> str:
    """``loss_fn(p)`` as a learner would write it: unpack the two parameters, return the expression."""
    a, b = names
    return f"{setup}def loss_fn(p):\n    {a}, {b} = p[0], p[1]\n    return {expression}\n"


ROSENBROCK = Landscape(
    key="rosenbrock", title="Rosenbrock (banana valley)",
    formula=r"f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2",
    fn=_rosenbrock, param_names=("x", "y"), minimum=(1.0, 1.0), min_value=0.0,
    a_range=(-2.0, 2.0), b_range=(-1.0, 3.0), start=(-1.5, 2.5),
    code=_code("(1 - x) ** 2 + 100 * (y - x ** 2) ** 2"),
    log_levels=True, default_steps=1000,
    suggested_lr={"SGD": 0.002, "SGD + momentum": 0.0005, "Nesterov": 0.0005, "Adam": 0.05,
                  "AdamW": 0.05, "RMSprop": 0.005, "Adagrad": 0.5},
    note="Finding the valley is easy; following its flat, curved floor to (1, 1) is hard.",
)

BEALE = Landscape(
    key="beale", title="Beale",
    formula=r"\begin{aligned} f(x, y) = {} & (1.5 - x + xy)^2 \\ + {} & (2.25 - x + xy^2)^2 \\ "
            r"+ {} & (2.625 - x + xy^3)^2 \end{aligned}",
    fn=_beale, param_names=("x", "y"), minimum=(3.0, 0.5), min_value=0.0,
    a_range=(-1.5, 4.5), b_range=(-2.0, 2.5), start=(1.0, 1.5),
    code=_code("(1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2"),
    log_levels=True, default_steps=1000,
    suggested_lr={"SGD": 0.001, "SGD + momentum": 0.0005, "Nesterov": 0.0005, "Adam": 0.05,
                  "AdamW": 0.05, "RMSprop": 0.005, "Adagrad": 0.5},
    note="Flat plateaus and steep corners: gradients range over many orders of magnitude.",
)

SADDLE = Landscape(
    key="saddle", title="Saddle point",
    formula=r"f(x, y) = x^2 + \tfrac{1}{4}y^4 - \tfrac{1}{2}y^2",
    fn=_saddle, param_names=("x", "y"), minimum=(0.0, 1.0), min_value=-0.25,
    a_range=(-2.5, 2.5), b_range=(-2.0, 2.0), start=(-2.0, 0.001),
    code=_code("x ** 2 + y ** 4 / 4 - y ** 2 / 2"),
    default_steps=300,
    suggested_lr={"SGD": 0.05, "SGD + momentum": 0.02, "Nesterov": 0.02, "Adam": 0.05,
                  "AdamW": 0.05, "RMSprop": 0.01, "Adagrad": 0.3},
    landmarks=(("minimum (0, −1)", (0.0, -1.0)), ("saddle point (0, 0)", (0.0, 0.0))),
    note="The start sits just off the ridge y = 0: the gradient there is (−4, −0.001), steep along x but "
         "tiny across the ridge, so plain SGD slides along x to the saddle at (0, 0) and lingers there "
         "before it rolls down to one of the minima at (0, ±1).",
)

ILL_CONDITIONED = Landscape(
    key="quadratic", title="Ill-conditioned quadratic",
    formula=r"f(x, y) = \tfrac{1}{2}\,(x^2 + 25\,y^2)",
    fn=_ill_conditioned, param_names=("x", "y"), minimum=(0.0, 0.0), min_value=0.0,
    a_range=(-5.0, 5.0), b_range=(-2.0, 2.0), start=(-4.5, 1.5),
    code=_code("(x ** 2 + 25 * y ** 2) / 2"),
    default_steps=200,
    suggested_lr={"SGD": 0.07, "SGD + momentum": 0.02, "Nesterov": 0.02, "Adam": 0.1,
                  "AdamW": 0.1, "RMSprop": 0.05, "Adagrad": 0.5},
    note="25 times steeper across y than along x: a step size that is safe across the valley is "
         "tiny along it. SGD becomes unstable above lr = 2/25 = 0.08.",
)


# ------------------------------------------------------------ mean squared error of a line

def _round_sig(value: float, digits: int = 1) -> float:
    """``value`` rounded to ``digits`` significant digits (for suggested learning rates)."""
    if value <= 0 or not math.isfinite(value):
        return value
    return round(value, -int(math.floor(math.log10(value))) + digits - 1)


def _suggested_lr(value: float) -> float:
    """A learning rate rounded to one significant digit and kept within the page's caps."""
    return min(max(_round_sig(value), LR_RANGE[0]), LR_RANGE[1])


def _round_sig_signed(value: float, digits: int = 2) -> float:
    """Signed ``_round_sig`` (keeps zero as zero)."""
    if value == 0:
        return 0.0
    return math.copysign(_round_sig(abs(value), digits), value)


def _mse_fn(x: torch.Tensor, y: torch.Tensor) -> LossFn:
    """``f(w, b) = mean((w·x + b − y)²)``, broadcast over any shape of (w, b)."""

    def mse(w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return ((w[..., None] * x + b[..., None] - y) ** 2).mean(-1)

    return mse


def _mse_surface(x: torch.Tensor, y: torch.Tensor) -> LossFn:
    """The same MSE expanded: w²·E[x²] + 2wb·E[x] + b² − 2w·E[xy] − 2b·E[y] + E[y²], in float64."""
    x, y = x.double(), y.double()
    sxx, sx, sxy, sy, syy = (x * x).mean(), x.mean(), (x * y).mean(), y.mean(), (y * y).mean()

    def mse(w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        w, b = w.double(), b.double()
        return w * w * sxx + 2 * w * b * sx + b * b - 2 * w * sxy - 2 * b * sy + syy

    return mse


def _tensor_literal(values: torch.Tensor) -> str:
    """A float32 1-D tensor as ``torch.tensor([...])`` source that rebuilds exactly the same values."""
    return "torch.tensor([" + ", ".join(repr(float(v)) for v in values.tolist()) + "])"


def mse_landscape(x: torch.Tensor, y: torch.Tensor, key: str, title: str, data_note: str,
                  setup: str | None = None) -> Landscape:
    """The MSE of ``y ≈ w·x + b`` over (w, b) for 1-D float32 data, with its least-squares minimum."""
    x = x.reshape(-1).to(torch.float32)
    y = y.reshape(-1).to(torch.float32)
    if len(x) < 2:
        raise TorchstartError("A line needs at least two data points; this dataset has fewer.")
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
        raise TorchstartError("The dataset has NaN or infinite values; clean it on the Data page first.")
    x64, y64 = x.double(), y.double()
    mean_x, mean_y = x64.mean(), y64.mean()
    var_x = ((x64 - mean_x) ** 2).mean()
    if var_x <= 1e-12 * max(1.0, float(mean_x ** 2)):
        raise TorchstartError("All x values are (nearly) equal, so every line through their mean fits "
                              "equally well: there is no single minimum to race to.")
    w_star = float(((x64 - mean_x) * (y64 - mean_y)).mean() / var_x)
    b_star = float(mean_y - w_star * mean_x)
    fn = _mse_fn(x, y)
    min_value = float(fn(torch.tensor(w_star, dtype=torch.float32), torch.tensor(b_star, dtype=torch.float32)))
    # Curvature: the Hessian of the MSE is 2·[[E x², E x], [E x, 1]]; its largest eigenvalue L bounds
    # the stable SGD step (lr < 2/L).
    hessian = 2 * torch.tensor([[float((x64 ** 2).mean()), float(mean_x)], [float(mean_x), 1.0]],
                               dtype=torch.float64)  # E[x²] of large data overflows float32
    eigenvalues = torch.linalg.eigvalsh(hessian)
    curvature, flatness = float(eigenvalues.max()), float(eigenvalues.min())
    half_w = max(1.0, 1.5 * abs(w_star))
    half_b = max(1.0, 1.5 * abs(b_star))
    if max(abs(w_star) + half_w, abs(b_star) + half_b) > MAX_COORDINATE:
        raise TorchstartError(f"Its best line (w = {w_star:.4g}, b = {b_star:.4g}) lies outside this page's "
                              f"±{MAX_COORDINATE:,.0f} range for w and b. Rescale the data (e.g. standardize "
                              "it) on the Data page.")
    # The MSE is convex, so its largest value over the plotted box is at a corner.
    corners = torch.tensor([[w_star + sw * half_w, b_star + sb * half_b] for sw in (-1, 1) for sb in (-1, 1)])
    if not torch.isfinite(fn(corners[:, 0], corners[:, 1])).all():
        raise TorchstartError("Its values are so large that the loss overflows float32 (to inf) around its best "
                              "line, so every optimizer would stop at its first step. Rescale the data (e.g. "
                              "standardize it) on the Data page.")
    span = max(half_w, half_b)
    sgd_lr = _suggested_lr(1.0 / curvature)
    ratio = curvature / max(flatness, 1e-12)
    shape = ("" if ratio < 10 else " That makes a long, narrow valley" +
             ("; centring and scaling x (standardizing) would make it rounder." if ratio >= 100 else "."))
    if setup is None:
        setup = f"x = {_tensor_literal(x)}\ny = {_tensor_literal(y)}\n\n" if len(x) <= MAX_CODE_ROWS else (
            f"# {data_note}: {len(x):,} rows, too many to print here. Load its x and y columns as\n"
            "# 1-D float32 tensors, e.g. x = torch.tensor(df['x'].values, dtype=torch.float32)\n\n")
    return Landscape(
        key=key, title=title,
        formula=r"L(w, b) = \frac{1}{N}\sum_i (w\,x_i + b - y_i)^2",
        fn=fn, surface_fn=_mse_surface(x, y), param_names=("w", "b"), minimum=(w_star, b_star),
        min_value=min_value,
        a_range=(w_star - half_w, w_star + half_w), b_range=(b_star - half_b, b_star + half_b),
        start=(_round_sig_signed(w_star - 0.75 * half_w), _round_sig_signed(b_star + 0.75 * half_b)),
        code=_code("((w * x + b - y) ** 2).mean()", ("w", "b"), setup),
        log_levels=True, default_steps=300,
        suggested_lr={"SGD": sgd_lr, "SGD + momentum": _suggested_lr(sgd_lr / 5),
                      "Nesterov": _suggested_lr(sgd_lr / 5), "Adam": _suggested_lr(span / 30),
                      "AdamW": _suggested_lr(span / 30), "RMSprop": _suggested_lr(span / 300),
                      "Adagrad": _suggested_lr(span / 3)},
        note=f"{data_note}. The minimum is the least-squares line w = {w_star:.4g}, b = {b_star:.4g}. "
             f"The loss curves {ratio:,.0f}× more steeply in its steepest direction than in its flattest."
             + shape,
    )


def classic_landscape() -> Landscape:
    """The MSE of ``y = w·x + b`` on the classic four points (1, 2), (2, 4), (3, 6), (4, 8)."""
    data = classic_points().dataset
    land = mse_landscape(data.features[:, 0], data.targets[:, 0], "classic",
                         "Line fit: 4 classic points (MSE)", "The four points y = 2x, x = 1..4")
    # Hand-picked view and start for the most-seen landscape: the valley runs diagonally.
    return replace(land, a_range=(-1.0, 5.0), b_range=(-3.0, 5.0), start=(-0.5, 3.0),
                    suggested_lr={"SGD": 0.05, "SGD + momentum": 0.01, "Nesterov": 0.01, "Adam": 0.1,
                                  "AdamW": 0.1, "RMSprop": 0.03, "Adagrad": 1.0})


def dataset_problem(dataset: TabularDataset | None) -> str | None:
    """Why the Data page's dataset gives no line-fit landscape here, or None when it does."""
    if dataset is None:
        return "No dataset on the Data page yet: load one with a single feature column to race on its loss."
    if dataset.n_features != 1 or dataset.n_targets != 1:
        return (f"The Data page's dataset “{dataset.name}” has {plural(dataset.n_features, 'feature column')} and "
                f"{plural(dataset.n_targets, 'target column')}. A loss landscape you can draw needs exactly two "
                "parameters (w, b), so only a dataset with one feature and one target is offered here: on the Data "
                "page, pick the built-in \"Synthetic line\" or a CSV with one feature column.")
    try:
        dataset_landscape(dataset)
    except TorchstartError as err:
        return f"The Data page's dataset “{dataset.name}” is not offered. {err}"
    return None


def _without_torch_import(code: str) -> str:
    """The Data page's code without its ``import torch`` line: the snippet imports torch first."""
    return "\n".join(line for line in code.splitlines() if line != "import torch").strip()


def dataset_landscape(dataset: TabularDataset, data_code: str = "") -> Landscape:
    """The MSE landscape of a one-feature, one-target dataset from the Data page.

    ``data_code`` is the Data page's code that builds ``dataset``: past ``MAX_CODE_ROWS`` rows the
    snippet runs it rather than printing every number.
    """
    if dataset.n_features != 1 or dataset.n_targets != 1:
        raise TorchstartError("Only a dataset with one feature and one target gives a (w, b) landscape.")
    title = f"Line fit: Data page's “{dataset.name}” (MSE)"
    # The content's fingerprint, so a changed dataset under the same name is a new landscape.
    digest = hashlib.sha1(dataset.features.numpy().tobytes() + dataset.targets.numpy().tobytes()).hexdigest()
    key = f"data:{digest[:12]}"
    x, y = dataset.features[:, 0], dataset.targets[:, 0]
    note = (f"The Data page's dataset “{dataset.name}” ({dataset.feature_names[0]} → "
            f"{dataset.target_names[0]})")
    setup = None
    if len(x) > MAX_CODE_ROWS and data_code:
        setup = (f"# {comment_safe(note)}: {len(dataset):,} rows, built as the Data page's code does\n"
                 f"{_without_torch_import(data_code)}\n\n"
                 "x, y = dataset.features[:, 0], dataset.targets[:, 0]  # 1-D float32\n")
    if len(x) > MAX_LANDSCAPE_ROWS:
        keep = torch.randperm(len(x), generator=torch.Generator().manual_seed(SUBSET_SEED))[:MAX_LANDSCAPE_ROWS]
        x, y = x[keep], y[keep]
        if setup:
            setup += (f"# Every step uses every row, so the page races on a random {MAX_LANDSCAPE_ROWS:,} of them: "
                      "the same ones here\n"
                      f"keep = torch.randperm(len(x), generator=torch.Generator().manual_seed({SUBSET_SEED}))"
                      f"[:{MAX_LANDSCAPE_ROWS}]\nx, y = x[keep], y[keep]\n")
        note += (f", a random {MAX_LANDSCAPE_ROWS:,} of its {len(dataset):,} rows (every step uses every row "
                 "it has, so bigger sets are subsampled here)")
    return mse_landscape(x, y, key, title, note, setup + "\n" if setup else None)


STANDARD_LANDSCAPES: tuple[Landscape, ...] = (ROSENBROCK, BEALE, SADDLE, ILL_CONDITIONED)


def available_landscapes(dataset: TabularDataset | None = None, data_code: str = "") -> list[Landscape]:
    """Every landscape on offer: the classic line fit, the dataset's when it qualifies, the test functions."""
    lands = [classic_landscape()]
    if dataset_problem(dataset) is None:
        lands.append(dataset_landscape(dataset, data_code))  # type: ignore[arg-type]
    return lands + list(STANDARD_LANDSCAPES)
