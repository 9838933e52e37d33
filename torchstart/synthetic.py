"""Generated datasets shared by the Data, Training and Optimizers pages, reproducible from a seed."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from torchstart.datasets import TabularDataset, one_hot_target_names

# The classic first regression: y = 2x, four points.
CLASSIC_X = [[1.0], [2.0], [3.0], [4.0]]
CLASSIC_Y = [[2.0], [4.0], [6.0], [8.0]]


@dataclass
class SyntheticData:
    """A generated dataset plus the true parameters it was drawn from (None where not linear)."""

    dataset: TabularDataset
    true_weight: torch.Tensor | None = None
    true_bias: torch.Tensor | None = None


def classic_points() -> SyntheticData:
    """The four points x = 1..4, y = 2x that the classic linear-regression example trains on."""
    ds = TabularDataset(torch.tensor(CLASSIC_X), torch.tensor(CLASSIC_Y), ["x"], ["y"], "classic 4 points")
    return SyntheticData(ds, torch.tensor([[2.0]]), torch.tensor([0.0]))


def synthetic_line(n: int, slope: float, intercept: float, noise: float, seed: int) -> SyntheticData:
    """``y = slope·x + intercept + noise·ε`` with x uniform in [-5, 5] and ε standard normal."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, generator=gen) * 10 - 5
    y = slope * x + intercept + noise * torch.randn(n, 1, generator=gen)
    sign = "−" if intercept < 0 else "+"  # "y = 3·x − 1", not "+ -1"
    ds = TabularDataset(x, y, ["x"], ["y"], f"line y = {slope:g}·x {sign} {abs(intercept):g} (noise {noise:g})")
    return SyntheticData(ds, torch.tensor([[slope]]), torch.tensor([intercept]))


def synthetic_multi(n: int, n_features: int, noise: float, seed: int) -> SyntheticData:
    """``y = x @ w + b + noise·ε`` with standard-normal x and integer-ish true weights drawn from the seed."""
    gen = torch.Generator().manual_seed(seed)
    weight = torch.randint(-3, 4, (n_features, 1), generator=gen).float()
    bias = torch.randint(-2, 3, (1,), generator=gen).float()
    x = torch.randn(n, n_features, generator=gen)
    y = x @ weight + bias + noise * torch.randn(n, 1, generator=gen)
    names = [f"x{i + 1}" for i in range(n_features)]
    ds = TabularDataset(x, y, names, ["y"], f"{n_features}-feature linear (noise {noise:g})")
    return SyntheticData(ds, weight.T.clone(), bias)


def two_class(n: int, separation: float, seed: int) -> SyntheticData:
    """Two Gaussian blobs in 2-D, centred at ±separation/2 on both axes; target 0.0 or 1.0."""
    gen = torch.Generator().manual_seed(seed)
    labels = (torch.rand(n, 1, generator=gen) < 0.5).float()
    centres = (labels * 2 - 1) * (separation / 2)
    x = centres + torch.randn(n, 2, generator=gen)
    ds = TabularDataset(x, labels, ["x1", "x2"], ["label"], f"two classes (separation {separation:g})")
    return SyntheticData(ds)


# Where the three blobs sit, times separation / 2: the lower two are `separation` apart, the top one a bit further.
THREE_CLASS_CORNERS = [[-1.0, -1.0], [1.0, -1.0], [0.0, 1.0]]
THREE_CLASSES = ["a", "b", "c"]


def three_class(n: int, separation: float, seed: int) -> SyntheticData:
    """Three Gaussian blobs in 2-D, one per class; targets one-hot (n, 3), the rows nn.CrossEntropyLoss takes."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (n,), generator=gen)
    centres = torch.tensor(THREE_CLASS_CORNERS) * (separation / 2)
    x = centres[labels] + torch.randn(n, 2, generator=gen)
    targets = torch.nn.functional.one_hot(labels, 3).float()
    names = one_hot_target_names("class", THREE_CLASSES)
    ds = TabularDataset(x, targets, ["x1", "x2"], names, f"three classes (separation {separation:g})",
                        class_column="class")
    return SyntheticData(ds)


# A 5×7 dot font for the digits 0–9, row by row ("1" = ink). Each dot becomes 3×3 pixels: a 21×15 glyph.
DIGIT_GLYPHS = [
    "01110" "10001" "10011" "10101" "11001" "10001" "01110",
    "00100" "01100" "00100" "00100" "00100" "00100" "01110",
    "01110" "10001" "00001" "00010" "00100" "01000" "11111",
    "11111" "00010" "00100" "00010" "00001" "10001" "01110",
    "00010" "00110" "01010" "10010" "11111" "00010" "00010",
    "11111" "10000" "11110" "00001" "00001" "10001" "01110",
    "00110" "01000" "10000" "11110" "10001" "10001" "01110",
    "11111" "00001" "00010" "00100" "01000" "01000" "01000",
    "01110" "10001" "10001" "01110" "10001" "10001" "01110",
    "01110" "10001" "10001" "01111" "00001" "00010" "01100",
]
DIGIT_SIDE = 28  # MNIST's image size: a row of 28 × 28 = 784 pixels
DIGIT_CLASSES = [str(d) for d in range(10)]


def digit_images(n: int, noise: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` 28×28 grey images of the digits 0–9 at random places and brightness, plus noise; and their labels."""
    gen = torch.Generator().manual_seed(seed)
    glyphs = torch.tensor([[float(dot) for dot in g] for g in DIGIT_GLYPHS]).view(10, 7, 5)
    glyphs = glyphs.repeat_interleave(3, dim=1).repeat_interleave(3, dim=2)  # 21×15
    labels = torch.randint(0, 10, (n,), generator=gen)
    top = torch.randint(0, DIGIT_SIDE - 21 + 1, (n,), generator=gen)
    left = torch.randint(0, DIGIT_SIDE - 15 + 1, (n,), generator=gen)
    brightness = 0.5 + 0.5 * torch.rand(n, generator=gen)
    images = torch.zeros(n, DIGIT_SIDE, DIGIT_SIDE)
    for i in range(n):
        images[i, top[i]:top[i] + 21, left[i]:left[i] + 15] = brightness[i] * glyphs[labels[i]]
    images = (images + noise * torch.randn(n, DIGIT_SIDE, DIGIT_SIDE, generator=gen)).clamp(0, 1)
    return images, labels


def digits(n: int, noise: float, seed: int) -> SyntheticData:
    """Digit images as table rows: 784 pixel columns (``pixel0`` …, as Kaggle's MNIST CSV names them), one-hot digit."""
    images, labels = digit_images(n, noise, seed)
    x = images.view(n, DIGIT_SIDE * DIGIT_SIDE)
    targets = torch.nn.functional.one_hot(labels, 10).float()
    ds = TabularDataset(x, targets, [f"pixel{i}" for i in range(x.shape[1])],
                        one_hot_target_names("digit", DIGIT_CLASSES), f"digits 28×28 (noise {noise:g})",
                        class_column="digit")
    return SyntheticData(ds)
