"""Names of the per-learner ``st.session_state`` keys, and the objects pages hand to each other.

Every page reads and writes shared state through these names only, so the flow
between pages (Data -> Training <- Models, Training -> Checkpoints) is visible
in one place. Everything stored here belongs to one browser session; nothing a
learner uploads or trains is ever put in a cache shared between sessions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

# Sidebar choice of compute device ("cpu", "cuda:0", ...).
DEVICE = "torchstart.device"
# The Data page's current dataset: a ``torchstart.datasets.TabularDataset``.
DATASET = "torchstart.dataset"
# The Models page's current model: a ``SessionModel``.
MODEL = "torchstart.model"
# Set while the Models page's current stack does not build (its error text); MODEL is then the last that did.
MODEL_ERROR = "torchstart.model_error"
# The Training page's last trained model: a ``TrainedModel``.
TRAINED = "torchstart.trained"


@dataclass
class SessionModel:
    """A model built on the Models page, as other pages may reuse it.

    ``build`` makes a fresh, newly initialised copy (call ``torch.manual_seed``
    first for a reproducible init); ``module`` is the instance the page shows.
    Shapes exclude the batch dimension.
    """

    name: str
    module: nn.Module
    build: Callable[[], nn.Module]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    code: str = ""
    seed: int | None = None  # the Models page's init seed: torch.manual_seed(seed), then build(), gives module
    # Whether the Models page's "Fit the model to this dataset" could make it take rows of n_in and give n_out.
    fits: Callable[[int, int], bool] | None = None

    @property
    def in_features(self) -> int | None:
        """Input width for tabular data, or None when the model wants images."""
        return self.input_shape[0] if len(self.input_shape) == 1 else None

    @property
    def out_features(self) -> int | None:
        """Output width for tabular targets, or None for non-flat outputs."""
        return self.output_shape[0] if len(self.output_shape) == 1 else None


@dataclass
class Standardizer:
    """Per-column mean and std fitted on the training split; maps to and from model units."""

    mean: torch.Tensor
    std: torch.Tensor

    def transform(self, values: torch.Tensor) -> torch.Tensor:
        """Original units -> standardized units."""
        return (values - self.mean) / self.std

    def inverse(self, values: torch.Tensor) -> torch.Tensor:
        """Standardized units -> original units."""
        return values * self.std + self.mean


@dataclass
class TrainedModel:
    """The Training page's result, as the Checkpoints page and predictions need it.

    ``model`` lives on the CPU. When standardization was on, inputs are mapped
    with ``x_scaler`` before the model and outputs with ``y_scaler.inverse`` after.
    """

    model: nn.Module
    feature_names: list[str]
    target_names: list[str]
    description: str
    x_scaler: Standardizer | None = None
    y_scaler: Standardizer | None = None
    extra: dict = field(default_factory=dict)
    class_column: str | None = None  # a class target's column: its classes are target_names without "<column>="

    @torch.no_grad()
    def predict(self, inputs: torch.Tensor) -> torch.Tensor:
        """Predict in original units for a (N, features) float tensor."""
        self.model.eval()
        x = self.x_scaler.transform(inputs) if self.x_scaler else inputs
        y = self.model(x)
        return self.y_scaler.inverse(y) if self.y_scaler else y
