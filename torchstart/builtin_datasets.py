"""The Data page's built-in datasets: one declarative table of what each is and which settings it takes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from torchstart import synthetic
from torchstart.datasets import TabularDataset
from torchstart.params import FloatParam, IntParam, Param

# The hand-written CustomDataset learners meet first: two inputs per row, target = their sum,
# so it fits the Models page's SimpleModel (nn.Linear(2, 1)).
FIRST_INPUTS = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
FIRST_TARGETS = [[3.0], [7.0], [11.0]]

SEED = IntParam("Seed", 0, 0, 2**31 - 1, help="torch.Generator().manual_seed(seed): the same seed, the same data.")
SAMPLES = IntParam("Samples", 100, 2, 100_000, step=10, help="Number of rows (capped at 100,000 here).")


@dataclass(frozen=True)
class Builtin:
    """A built-in dataset: a title, a sentence on what it is, and its settings (name -> parameter)."""

    key: str
    title: str
    description: str
    params: dict[str, Param] = field(default_factory=dict)


BUILTINS: dict[str, Builtin] = {
    b.key: b
    for b in (
        Builtin("first", "The 3-row inputs/targets example",
                "The hand-written CustomDataset from the first PyTorch tutorials: three rows, two inputs each, "
                "target = input 1 + input 2. It fits the Models page's SimpleModel, nn.Linear(2, 1)."),
        Builtin("line", "Synthetic line: y = a·x + b + noise",
                "One feature x uniform in [-5, 5]; y lies on a line plus Gaussian noise. The classic first "
                "regression.",
                {"n": SAMPLES,
                 "slope": FloatParam("Slope a", 2.0, -10.0, 10.0, step=0.5),
                 "intercept": FloatParam("Intercept b", 1.0, -10.0, 10.0, step=0.5),
                 "noise": FloatParam("Noise (std)", 0.5, 0.0, 10.0, step=0.1),
                 "seed": SEED}),
        Builtin("multi", "Multi-feature regression",
                "Several standard-normal features; y = x @ w + b + noise with small whole-number true weights.",
                {"n": SAMPLES,
                 "n_features": IntParam("Features", 3, 1, 20, help="Columns of x (up to 20)."),
                 "noise": FloatParam("Noise (std)", 0.1, 0.0, 10.0, step=0.1),
                 "seed": SEED}),
        Builtin("two_class", "Two classes",
                "Two Gaussian blobs in 2-D; the target is the class label 0.0 or 1.0. Train it with the "
                "Training page's BCEWithLogits loss to see the decision boundary.",
                {"n": SAMPLES,
                 "separation": FloatParam("Separation", 3.0, 0.0, 10.0, step=0.5,
                                          help="Distance between the blob centres along each axis."),
                 "seed": SEED}),
        Builtin("three_class", "Three classes",
                "Three Gaussian blobs in 2-D, classes a, b and c; the target is one-hot, shape (N, 3): rows of "
                "class probabilities, and y.argmax(1) is the class. Train it with the Training page's "
                "CrossEntropy loss to see the decision regions.",
                {"n": SAMPLES,
                 "separation": FloatParam("Separation", 3.0, 0.0, 10.0, step=0.5,
                                          help="Distance between the two lower blob centres (the top one sits "
                                               "a little further from each)."),
                 "seed": SEED}),
        Builtin("digits", "Digits (28×28 images)",
                "Pictures of the digits 0–9 in a dot font, placed at random with random brightness and "
                "noise: each row holds one image's 784 pixels (pixel0 … pixel783, row by row, as an MNIST CSV "
                "does) and the target is the digit, one-hot (N, 10). Train the Models page's \"Small CNN on "
                "pixel rows\" on it with the CrossEntropy loss.",
                {"n": IntParam("Samples", 1_000, 10, 10_000, step=100,
                               help="Number of images (capped at 10,000 here: each row holds 784 numbers)."),
                 "noise": FloatParam("Noise (std)", 0.3, 0.0, 1.0, step=0.05,
                                     help="Gaussian noise added to every pixel before clamping to [0, 1]."),
                 "seed": SEED}),
    )
}


def default_values(key: str) -> dict[str, Any]:
    """The default settings of built-in ``key``."""
    return {name: param.default for name, param in BUILTINS[key].params.items()}


def checked_values(key: str, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` checked against the built-in's parameters (caps raise a message naming the limit)."""
    params = BUILTINS[key].params
    return {name: params[name].check(values.get(name, params[name].default)) for name in params}


def make_builtin(key: str, values: dict[str, Any] | None = None) -> TabularDataset:
    """Build built-in dataset ``key`` with ``values`` (defaults where missing)."""
    if key not in BUILTINS:
        raise KeyError(f"unknown built-in dataset {key!r}")
    v = checked_values(key, values or {})
    if key == "first":
        return TabularDataset(torch.tensor(FIRST_INPUTS), torch.tensor(FIRST_TARGETS), ["x1", "x2"], ["y"],
                              "3-row inputs/targets example")
    if key == "line":
        return synthetic.synthetic_line(v["n"], v["slope"], v["intercept"], v["noise"], v["seed"]).dataset
    if key == "multi":
        return synthetic.synthetic_multi(v["n"], v["n_features"], v["noise"], v["seed"]).dataset
    if key == "three_class":
        return synthetic.three_class(v["n"], v["separation"], v["seed"]).dataset
    if key == "digits":
        return synthetic.digits(v["n"], v["noise"], v["seed"]).dataset
    return synthetic.two_class(v["n"], v["separation"], v["seed"]).dataset
