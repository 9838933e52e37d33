"""What a training run is made of: the learner's choices, the prepared data split, the model and the loss.

One declarative table (``PARAMS``) holds every setting with its default and cap;
``TrainingConfig`` is the checked set of choices; ``prepare_data`` turns a data
choice into a train/validation split (standardized on the training rows only);
``build_model`` makes the seeded model. No streamlit here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import torch
from torch import nn

from torchstart.data_prep import MAX_CLASSES
from torchstart.datasets import TabularDataset
from torchstart.errors import TorchstartError
from torchstart.model_inspect import format_bytes, layer_mult_adds
from torchstart.optimizers import OPTIMIZERS
from torchstart.params import BoolParam, ChoiceParam, FloatParam, IntParam
from torchstart.rng import RNG_LOCK
from torchstart.session import SessionModel, Standardizer
from torchstart.synthetic import classic_points, synthetic_line, synthetic_multi
from torchstart.wording import name_list, plural

MAX_EPOCHS = 100_000
MAX_ROWS = 100_000
# Stop and the live charts act between epochs, so one epoch's work is capped: its optimizer steps, and
# its forward multiply-adds (about 3 s of forward and backward on 2 CPU cores at the cap).
MAX_BATCHES_PER_EPOCH = 5_000
MAX_EPOCH_MACS = 20_000_000_000
# One Train or Continue: a thousand epochs at the epoch cap (nearly an hour here), so that a forgotten run of
# 100,000 big epochs cannot hold the shared server for days; Continue then goes on from where it stopped.
MAX_RUN_MACS = 1000 * MAX_EPOCH_MACS
# And its optimizer steps: each costs about 0.3 ms of Python and PyTorch overhead here however small the model, so
# 100,000 epochs of 5,000 steps on nn.Linear(1, 1) passed the multiply-add cap and would have run for two days.
MAX_RUN_STEPS = 400 * MAX_BATCHES_PER_EPOCH
# Layer outputs one optimizer step may keep for backward(): a full batch of 48,000 pixel rows through a CNN is 4 GB.
MAX_STEP_BYTES = 1024**3
# Layer outputs one evaluation pass (no_grad) may hold: bigger splits go through in chunks.
EVAL_BYTES = 256 * 1024**2

DATA_LABELS = {
    "classic": "Classic: 4 points, y = 2x",
    "line": "Synthetic line (slope, intercept, noise)",
    "multi": "Synthetic multi-feature linear",
    "session": "Dataset from the Data page",
}
MODEL_LABELS = {
    "linear": "Linear: nn.Linear(in, out)",
    "mlp": "Small MLP (Linear → ReLU → Linear)",
    "session": "Model from the Models page",
}
BCE = "BCEWithLogits (0/1 classes)"
CROSS_ENTROPY = "CrossEntropy (classes)"
LOSSES: dict[str, type[nn.Module]] = {
    "MSE": nn.MSELoss,
    "L1": nn.L1Loss,
    "Smooth L1 (Huber)": nn.SmoothL1Loss,
    # Binary classification: the model outputs a logit; sigmoid(logit) is the probability of class 1.
    BCE: nn.BCEWithLogitsLoss,
    # Several classes: one logit per class; softmax(logits) are the class probabilities.
    CROSS_ENTROPY: nn.CrossEntropyLoss,
}
TASKS = {BCE: "binary", CROSS_ENTROPY: "classes"}  # every other loss is regression

PARAMS: dict[str, Any] = {
    "data": ChoiceParam("Data", tuple(DATA_LABELS), "classic", labels=DATA_LABELS),
    "rows": IntParam("Rows", 200, 2, MAX_ROWS, help=f"How many points to generate (at most {MAX_ROWS:,})."),
    "slope": FloatParam("True slope", 3.0, -1000.0, 1000.0),
    "intercept": FloatParam("True intercept", -1.0, -1000.0, 1000.0),
    "noise": FloatParam("Noise (std of ε)", 1.0, 0.0, 1000.0),
    "features": IntParam("Features", 3, 2, 20),
    "data_seed": IntParam("Data seed", 0, 0, 2**31 - 1, help="Seed of the generator that draws the data."),
    "val_share": FloatParam("Validation share", 0.2, 0.0, 0.9, step=0.05, format="%.2f",
                            help="Share of rows held out (a seeded random choice) to measure generalisation: "
                                 "rows × share, to the nearest row with halves rounded up (3 rows × 0.5 = 1.5 → "
                                 "2 held out, 1 trains)."),
    "standardize_x": BoolParam("Standardize features", False,
                               help="(x − mean) / std with mean and std of the training rows only."),
    "standardize_y": BoolParam("Standardize target", False,
                               help="Train on a standardized target; predictions are mapped back to original units."),
    "model": ChoiceParam("Model", tuple(MODEL_LABELS), "linear", labels=MODEL_LABELS),
    "hidden": IntParam("Hidden units", 16, 1, 256),
    "layers": IntParam("Hidden layers", 1, 1, 3),
    "loss": ChoiceParam("Loss", tuple(LOSSES), "MSE",
                        help="MSE, L1 and Huber fit a number (regression). BCEWithLogitsLoss fits 0/1 class "
                             "labels: the model outputs a logit, and sigmoid(logit) is the probability of class 1. "
                             "CrossEntropyLoss fits one of several classes (a Data-page class column): the model "
                             "outputs one logit per class, and softmax turns them into class probabilities."),
    "optimizer": ChoiceParam("Optimizer", tuple(OPTIMIZERS), "SGD"),
    "lr": FloatParam("Learning rate", 0.01, 1e-6, 10.0, step=0.001, format="%g"),
    "weight_decay": FloatParam("Weight decay", 0.0, 0.0, 1.0, step=0.0001, format="%g",
                               help="Not the same thing for every optimizer. SGD, Adam, RMSprop and Adagrad add "
                                    "weight_decay·p to the gradient (an L2 penalty); Adam, RMSprop and Adagrad then "
                                    "divide it by their adaptive scale, so large-gradient weights barely decay. AdamW "
                                    "shrinks each weight by lr·weight_decay·p apart from the gradient step "
                                    "(decoupled weight decay)."),
    "momentum": FloatParam("Momentum", 0.9, 0.0, 0.999, step=0.05, format="%g"),
    "epochs": IntParam("Epochs", 100, 1, MAX_EPOCHS, step=100,
                       help=f"Passes over the training rows (at most {MAX_EPOCHS:,} per press)."),
    "full_batch": BoolParam("Full batch", True, help="One step per epoch on all training rows, like the classic."),
    "batch_size": IntParam("Batch size", 32, 1, MAX_ROWS),
    "shuffle": BoolParam("Shuffle each epoch", True),
    "seed": IntParam("Seed", 42, 0, 2**31 - 1,
                     help="torch.manual_seed before the model is built; also seeds the split and the shuffling."),
    "log_every": IntParam("Log every (epochs)", 10, 1, MAX_EPOCHS),
}


@dataclass(frozen=True)
class TrainingConfig:
    """Every choice that defines a run; the defaults are the classic example."""

    data: str = "classic"
    rows: int = 200
    slope: float = 3.0
    intercept: float = -1.0
    noise: float = 1.0
    features: int = 3
    data_seed: int = 0
    val_share: float = 0.2
    standardize_x: bool = False
    standardize_y: bool = False
    model: str = "linear"
    hidden: int = 16
    layers: int = 1
    loss: str = "MSE"
    optimizer: str = "SGD"
    lr: float = 0.01
    weight_decay: float = 0.0
    momentum: float = 0.9
    epochs: int = 100
    full_batch: bool = True
    batch_size: int = 32
    shuffle: bool = True
    seed: int = 42
    log_every: int = 10
    device: str = "cpu"

    def checked(self) -> "TrainingConfig":
        """Return self after checking every value against ``PARAMS`` (a ``TorchstartError`` names the bad one)."""
        for f in fields(self):
            if f.name in PARAMS:
                PARAMS[f.name].check(getattr(self, f.name))
        if OPTIMIZERS[self.optimizer].fixed.get("nesterov") and self.momentum <= 0:
            raise TorchstartError("Nesterov needs a momentum above 0 (Nesterov momentum with no momentum is plain "
                                  "SGD; torch refuses it). Raise Momentum, or pick SGD.")
        return self

    def recipe(self) -> "TrainingConfig":
        """The choices that define what is trained (epochs and logging left out: Continue may change them)."""
        return replace(self, epochs=0, log_every=0)

    def changes_from(self, old: "TrainingConfig") -> list[str]:
        """The recipe's settings that differ from ``old``'s, in words: ``Learning rate 0.01 → 0.05``."""
        said = []
        old_recipe, new_recipe = old.recipe(), self.recipe()
        for f in fields(self):
            before, after = getattr(old_recipe, f.name), getattr(new_recipe, f.name)
            if before != after:
                param = PARAMS.get(f.name)
                label = param.label if param is not None else f.name.replace("_", " ").capitalize()
                shown = param.label_for if isinstance(param, ChoiceParam) else _setting_text
                said.append(f"{label} {shown(before)} → {shown(after)}")
        return said

    @property
    def uses_momentum(self) -> bool:
        """Whether the chosen optimizer takes a momentum setting."""
        return "momentum" in OPTIMIZERS[self.optimizer].tunable

    @property
    def task(self) -> str:
        """``regression``, ``binary`` (BCEWithLogitsLoss on 0/1 labels) or ``classes`` (CrossEntropyLoss)."""
        return TASKS.get(self.loss, "regression")

    @property
    def classifies(self) -> bool:
        """Whether the model outputs logits of classes rather than numbers to fit."""
        return self.task != "regression"

    @property
    def optimizer_tuning(self) -> dict[str, float]:
        """The tunable optimizer settings passed to ``make_optimizer`` / ``optimizer_code``."""
        return {"momentum": self.momentum} if self.uses_momentum else {}


@dataclass
class PreparedData:
    """The train/validation split in original units and in the units the model trains on."""

    name: str
    feature_names: list[str]
    target_names: list[str]
    raw_x_train: torch.Tensor
    raw_y_train: torch.Tensor
    raw_x_val: torch.Tensor
    raw_y_val: torch.Tensor
    x_scaler: Standardizer | None = None
    y_scaler: Standardizer | None = None
    true_weight: torch.Tensor | None = None
    true_bias: torch.Tensor | None = None
    notes: list[str] = field(default_factory=list)
    # All rows in their original order, as loaded (the exported script redoes the split from these).
    source: TabularDataset | None = None
    # Where each validation row sits in ``source`` (its row number on the Data page); empty without a split.
    val_index: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))

    @property
    def class_column(self) -> str | None:
        """The column a one-hot class target came from (see ``TabularDataset.class_column``)."""
        return self.source.class_column if self.source is not None else None

    @property
    def x_train(self) -> torch.Tensor:
        """Training features as the model sees them."""
        return self.x_scaler.transform(self.raw_x_train) if self.x_scaler else self.raw_x_train

    @property
    def y_train(self) -> torch.Tensor:
        """Training targets as the model sees them."""
        return self.y_scaler.transform(self.raw_y_train) if self.y_scaler else self.raw_y_train

    @property
    def x_val(self) -> torch.Tensor:
        """Validation features as the model sees them."""
        return self.x_scaler.transform(self.raw_x_val) if self.x_scaler else self.raw_x_val

    @property
    def y_val(self) -> torch.Tensor:
        """Validation targets as the model sees them."""
        return self.y_scaler.transform(self.raw_y_val) if self.y_scaler else self.raw_y_val

    @property
    def n_features(self) -> int:
        """Number of input columns."""
        return self.raw_x_train.shape[1]

    @property
    def n_targets(self) -> int:
        """Number of target columns."""
        return self.raw_y_train.shape[1]

    @property
    def has_val(self) -> bool:
        """Whether any rows were held out for validation."""
        return len(self.raw_x_val) > 0


def fit_standardizer(values: torch.Tensor) -> Standardizer:
    """Per-column mean and (population) std; a constant column keeps std 1 so it maps to 0, not to NaN."""
    # Summed in float64: thirty float32 values of 1e37 overflow a float32 sum to inf, and every input to NaN.
    wide = values.double()
    mean, std = wide.mean(0).to(values.dtype), wide.std(0, correction=0).to(values.dtype)
    std[std == 0] = 1.0  # after the cast, so a std too small for float32 counts as constant too
    return Standardizer(mean, std)


def load_source(config: TrainingConfig, dataset: TabularDataset | None):
    """The chosen dataset and, for synthetic lines, the true weight and bias."""
    if config.data == "classic":
        made = classic_points()
    elif config.data == "line":
        made = synthetic_line(config.rows, config.slope, config.intercept, config.noise, config.data_seed)
    elif config.data == "multi":
        made = synthetic_multi(config.rows, config.features, config.noise, config.data_seed)
    elif dataset is None:
        raise TorchstartError(
            "There is no dataset from the Data page yet. Open the Data page: its first built-in dataset is "
            "ready as soon as the page shows it, or pick another there or upload a CSV. Then come back; or "
            "choose a built-in dataset here."
        )
    else:
        return dataset, None, None
    return made.dataset, made.true_weight, made.true_bias


def _refuse_standardized_labels(standardize_y: bool, loss: str) -> None:
    """Class labels must reach the loss as they are."""
    if standardize_y:
        raise TorchstartError(
            f"{loss} compares the model's logits with class labels; standardizing the target would turn the "
            "labels into other numbers. Turn off \"Standardize target\"."
        )


def whole_number_codes(y: torch.Tensor) -> bool:
    """One column of a few whole numbers (0, 1, 2 …), each shared by several rows: class codes, most likely."""
    if y.shape[1] != 1 or not len(y):
        return False
    codes = torch.unique(y)
    return bool(torch.all(codes == codes.round())) and 2 <= len(codes) <= MAX_CLASSES and 2 * len(codes) <= len(y)


def check_class_rows(y: torch.Tensor, names: list[str], standardize_y: bool) -> None:
    """CrossEntropyLoss here takes the Data page's one-hot class rows: refuse anything else, saying what to pick."""
    _refuse_standardized_labels(standardize_y, "CrossEntropyLoss")
    rows_sum_to_one = bool(torch.allclose(y.sum(1), torch.ones(len(y)), atol=1e-4)) if len(y) else True
    low, high = (y.min().item(), y.max().item()) if y.numel() else (0.0, 0.0)
    if y.shape[1] >= 2 and low >= 0 and high <= 1 and rows_sum_to_one:
        return
    if y.shape[1] < 2:
        why = f"one column of numbers ({low:g} to {high:g})"
        if whole_number_codes(y) and low == 0 and high == 1:
            why += ": one 0/1 label per row, which BCEWithLogits (0/1 classes) fits as it is"
        elif whole_number_codes(y):
            why += (", whole numbers: if they code classes (species 0, 1, 2) in an uploaded CSV, tick \"Treat the "
                    "target's whole numbers as class labels\" on the Data page and it becomes one-hot rows")
    elif low < 0 or high > 1:
        why = f"{y.shape[1]} columns with values from {low:g} to {high:g}, not probabilities between 0 and 1"
    else:
        why = f"{y.shape[1]} columns whose rows do not each sum to 1"
    raise TorchstartError(
        "nn.CrossEntropyLoss takes either class indices (whole numbers of shape (N,), the common form) or "
        "class probabilities of shape (N, C): one column per class, each row summing to 1. This page feeds it "
        "the second: the one-hot rows the Data page builds from a class column (one 1.0 per row, in the "
        f"column of its class). The target {name_list(names)} is {why}. Choose a class column as the target "
        "on the Data page (a column of text labels, or the built-in \"Three classes\"), or a regression loss "
        "such as MSE."
    )


def check_class_labels(y: torch.Tensor, names: list[str], standardize_y: bool,
                       class_column: str | None = None) -> None:
    """BCEWithLogitsLoss here fits one 0/1 label per row: refuse several target columns, other values, standardizing."""
    _refuse_standardized_labels(standardize_y, "BCEWithLogitsLoss")
    if y.shape[1] > 1:
        raise TorchstartError(bce_columns_message(names, class_column))
    low, high = y.min().item(), y.max().item()
    if low < 0 or high > 1:
        raise TorchstartError(
            f"BCEWithLogitsLoss needs class labels 0 and 1 (or probabilities between them), but the target "
            f"{', '.join(map(repr, names))} runs from {low:g} to {high:g}. Choose a 0/1 target (e.g. the Data "
            "page's built-in \"Two classes\"), or a regression loss such as MSE."
        )


def bce_columns_message(names: list[str], class_column: str | None = None) -> str:
    """Why BCE on several target columns is refused: what they are, and which loss or target to pick instead."""
    what = f"{len(names)} columns ({name_list(names)})"
    if class_column is not None:
        what += (f": the one-hot columns the Data page made from the class column '{class_column}', "
                 "one class per row")
    return ("BCEWithLogitsLoss on this page fits one 0/1 label per row: one target column, one logit, "
            f"sigmoid(logit) = P(label = 1). This target has {what}. BCE would treat each column as a separate "
            "yes/no question and count its accuracy cell by cell, not row by row (PyTorch's BCEWithLogitsLoss "
            "does take several 0/1 columns, for multi-label data where a row can have several labels at once). "
            "For a class column, pick CrossEntropy (classes): it takes these one-hot rows and predicts one class "
            "per row. For BCE, use a target that is a single column of 0s and 1s (such as the built-in \"Two "
            "classes\").")


@dataclass(frozen=True)
class LossSuggestion:
    """A classification loss that fits a dataset's target better than the one picked, and why."""

    loss: str
    why: str


def suggest_loss(dataset: TabularDataset, loss: str) -> LossSuggestion | None:
    """The classification loss a class target wants when ``loss`` is not it; None when the pick already fits."""
    if len(dataset.classes) >= 2:
        wanted = CROSS_ENTROPY
        why = (f"This dataset holds classes ({dataset.class_column}: {name_list(dataset.classes, 10, quoted=False)}) "
               f"as one-hot rows. {CROSS_ENTROPY} takes one logit per class and scores "
               f"−log softmax at the true class (the prediction is then the largest logit); {loss} would "
               "fit the 0s and 1s as plain numbers.")
    elif dataset.n_targets == 1 and whole_number_codes(dataset.targets) and set(
            torch.unique(dataset.targets).tolist()) == {0.0, 1.0}:
        wanted = BCE
        why = (f"The target '{dataset.target_names[0]}' holds only 0s and 1s: two classes. {BCE} scores one "
               f"logit per row, and sigmoid(logit) is the probability of a 1; {loss} would fit them as plain "
               "numbers.")
    else:
        return None
    return None if loss == wanted else LossSuggestion(wanted, why)


def split_sizes(n_rows: int, config: TrainingConfig) -> tuple[int, int]:
    """(training rows, validation rows); the classic 4 points always train on all four.

    Validation gets rows × share rounded to the nearest row, halves up (3 × 0.5 = 1.5 → 2), as the share's
    help says: Python's round() rounds halves to even (round(2.5) == 2), which no learner expects.
    """
    if config.data == "classic":
        return n_rows, 0
    n_val = validation_rows(n_rows, config.val_share)[1]
    return n_rows - n_val, n_val


FEW_VALIDATION_ROWS = 5  # fewer held-out rows than this: the validation loss is a handful of rows' error


def few_validation_rows_note(n_rows: int, config: TrainingConfig) -> str | None:
    """A note when the split holds out only a row or few: their loss says little, and R² of one row is undefined."""
    n_train, n_val = split_sizes(n_rows, config)
    if not 0 < n_val < FEW_VALIDATION_ROWS or n_train == 0:
        return None
    if n_val == 1:
        held, whose = "1 row", "that one row's error, and R² is undefined for one row (it shows —)"
    else:
        held, whose = f"{n_val} rows", f"the error of those {n_val} rows alone"
    return (f"This dataset has {n_rows:,} rows, so a validation share of {config.val_share:g} holds out {held} "
            f"({split_arithmetic(n_rows, config.val_share)}): the validation loss is {whose}. "
            f"Set Validation share to 0 to train on all {n_rows:,} rows, as the classic 4 points do, or use a "
            "bigger dataset to measure how the model does on rows it never saw.")


def validation_rows(n_rows: int, share: float) -> tuple[Decimal, int]:
    """(rows × share, validation rows): the product in decimal, from the share as shown (0.35, not 0.3499…)."""
    exact = Decimal(repr(round(share, 9))) * n_rows
    return exact, int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def split_arithmetic(n_rows: int, share: float) -> str:
    """``3 × 0.5 = 1.5 → 2 (…)``: how the validation rows were counted, as the page says it."""
    exact, rounded = validation_rows(n_rows, share)
    text = f"{n_rows:,} × {share:g} = {exact.normalize():f}"
    return text if exact == rounded else f"{text} → {rounded:,} (to the nearest row, halves rounded up)"


def prepare_data(config: TrainingConfig, dataset: TabularDataset | None = None) -> PreparedData:
    """Load the chosen data, split it with a seeded permutation and fit standardization on the training rows."""
    source, true_weight, true_bias = load_source(config, dataset)
    x, y = source.features, source.targets
    if len(x) == 0:
        raise TorchstartError(f"The dataset {source.name!r} has no rows: load one with data in it.")
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
        raise TorchstartError(
            f"The dataset {source.name!r} holds NaN or infinite values; training on them gives a NaN loss. "
            "Drop or fill those rows on the Data page first."
        )
    if config.task == "binary":
        check_class_labels(y, source.target_names, config.standardize_y, source.class_column)
    elif config.task == "classes":
        check_class_rows(y, source.target_names, config.standardize_y)
    n_train, n_val = split_sizes(len(x), config)
    notes = []
    if n_train == 0:
        raise TorchstartError(
            f"The training split is empty: a validation share of {config.val_share:g} holds out all {len(x)} rows "
            f"({split_arithmetic(len(x), config.val_share)}), leaving none to train on. Lower the validation "
            "share or use more rows."
        )
    if n_val:
        # A seeded permutation: the exported script draws the same one.
        perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(config.seed))
        val_idx, train_idx = perm[:n_val], perm[n_val:]
        x_train, y_train, x_val, y_val = x[train_idx], y[train_idx], x[val_idx], y[val_idx]
        if validation_rows(len(x), config.val_share)[0] != n_val:  # say how a fraction of a row was rounded
            notes.append(f"Validation rows: {split_arithmetic(len(x), config.val_share)}; "
                         f"{n_train:,} {'row trains' if n_train == 1 else 'rows train'}.")
    else:
        # No split: rows stay in their order, so the classic run is the classic script's, bit for bit.
        x_train, y_train, x_val, y_val = x, y, x[:0], y[:0]
        val_idx = torch.zeros(0, dtype=torch.long)
        if config.val_share > 0 and config.data != "classic":
            notes.append(f"Validation rows: {split_arithmetic(len(x), config.val_share)}, so every row trains "
                         "and there is no validation loss.")
    batches = -(-n_train // config.batch_size)
    if not config.full_batch and batches > MAX_BATCHES_PER_EPOCH:
        raise TorchstartError(
            f"Batch size {config.batch_size:,} over {n_train:,} training rows makes {batches:,} optimizer steps per "
            f"epoch; this page allows at most {MAX_BATCHES_PER_EPOCH:,}, so that Stop and the live charts (which act "
            f"between epochs) stay quick. Pick batch size {-(-n_train // MAX_BATCHES_PER_EPOCH):,} or more, or full "
            "batch."
        )
    x_scaler = fit_standardizer(x_train) if config.standardize_x else None
    y_scaler = fit_standardizer(y_train) if config.standardize_y else None
    return PreparedData(source.name, source.feature_names, source.target_names, x_train, y_train, x_val, y_val,
                        x_scaler, y_scaler, true_weight, true_bias, notes, source, val_idx)


def mlp(n_in: int, n_out: int, hidden: int, layers: int) -> nn.Sequential:
    """Linear → ReLU blocks, then a Linear output layer."""
    blocks: list[nn.Module] = []
    width = n_in
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    return nn.Sequential(*blocks, nn.Linear(width, n_out))


# Said where the data is the Data page's (what the Models page's button fits a model to) and the button can fit it.
FIT_BUTTON_HINT = (" With the Data page's dataset, the Models page's button \"Fit the model to this dataset\" does "
                   "this in one click.")


def _setting_text(value: Any) -> str:
    """A setting as the page's widgets show it: on/off for switches, numbers as typed."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def check_session_model(session_model: SessionModel | None, n_in: int, n_out: int,
                        data_page: bool = False) -> SessionModel:
    """The Models page model if its input and output sizes fit the data, else a message saying why not
    (``data_page``: the data is the Data page's dataset)."""
    def hint() -> str:  # asked only on the way to an error: it fits the whole stack again
        fits = data_page and session_model.fits is not None and session_model.fits(n_in, n_out)
        return FIT_BUTTON_HINT if fits else ""

    if session_model is None:
        raise TorchstartError(
            "There is no model from the Models page yet. Build one there (first layer taking "
            f"{n_in} input{'s' * (n_in != 1)}, last layer giving {n_out}), or pick Linear or Small MLP here."
        )
    if session_model.in_features is None or session_model.out_features is None:
        raise TorchstartError(
            f"The Models page model {session_model.name!r} takes input of shape {session_model.input_shape} "
            f"and gives {session_model.output_shape}; this page trains on table rows, so it needs a flat "
            f"input of {n_in} feature(s) and a flat output of {n_out}. For pictures, start it with an Unflatten "
            "layer on an input shape of the row's length (the preset \"Small CNN on pixel rows\" does that for "
            "784 = 28 × 28 pixels), or pick Linear or Small MLP here." + hint()
        )
    if (session_model.in_features, session_model.out_features) != (n_in, n_out):
        raise TorchstartError(_size_mismatch(session_model, n_in, n_out) + hint())
    return session_model


def _size_mismatch(model: SessionModel, n_in: int, n_out: int) -> str:
    """Which end of the Models page model misses the data, and what to set on that page."""
    wrong, fixes = [], []
    if model.in_features != n_in:
        wrong.append(f"takes {plural(model.in_features, 'input')} where this data has {plural(n_in, 'feature')}")
        fixes.append(f"set its input shape to {n_in:,} (Auto-fit on makes the layers follow)")
    if model.out_features != n_out:
        wrong.append(f"gives {plural(model.out_features, 'output')} where this data has "
                     f"{plural(n_out, 'target column')}")
        fixes.append(f"make its last layer give {n_out:,} (a Linear's out_features)")
    return (f"The Models page model {model.name!r} {' and '.join(wrong)}. On the Models page, "
            f"{' and '.join(fixes)}; or pick Linear or Small MLP here.")


def build_model(config: TrainingConfig, n_in: int, n_out: int,
                session_model: SessionModel | None = None) -> nn.Module:
    """The chosen model, initialised right after ``torch.manual_seed(config.seed)``."""
    if config.model == "session":
        check_session_model(session_model, n_in, n_out, config.data == "session")
    with RNG_LOCK:  # another session seeding in between would change the weights
        return _build_seeded(config, n_in, n_out, session_model)


def _build_seeded(config: TrainingConfig, n_in: int, n_out: int, session_model: SessionModel | None) -> nn.Module:
    """``build_model`` with the lock held."""
    torch.manual_seed(config.seed)
    if config.model == "linear":
        return nn.Linear(n_in, n_out)
    if config.model == "mlp":
        return mlp(n_in, n_out, config.hidden, config.layers)
    model = session_model.build()
    try:
        with torch.no_grad():
            out = model.eval()(torch.zeros(2, n_in))
    except RuntimeError as exc:
        raise TorchstartError(
            f"The Models page model {session_model.name!r} fails on a batch of 2 rows with {n_in} "
            f"feature(s): {str(exc).splitlines()[0]}. Fix its layers on the Models page."
        ) from None
    if tuple(out.shape) != (2, n_out):
        raise TorchstartError(
            f"The Models page model {session_model.name!r} turns 2 rows into shape {tuple(out.shape)}; "
            f"training needs (2, {n_out}). Fix its last layer on the Models page."
        )
    model.train()
    # Seed again so the initial weights match the exported script, which builds the model right after the seed.
    torch.manual_seed(config.seed)
    return session_model.build()


def preflight(config: TrainingConfig, dataset: TabularDataset | None = None,
              session_model: SessionModel | None = None) -> None:
    """Raise the ``TorchstartError`` that starting a run with these settings would raise (data and model fit)."""
    data = prepare_data(config.checked(), dataset)
    if config.model == "session":
        check_session_model(session_model, data.n_features, data.n_targets, config.data == "session")
        check_trainable(session_model.module, session_model.name)
        check_batch_norm_batches(session_model.module, len(data.raw_x_train), config, data.n_features)
    check_epoch_work(config, data, session_model)


@dataclass(frozen=True)
class RowProfile:
    """What one row costs in the chosen model's forward pass, as counted by hooks on every leaf layer."""

    macs: int                 # multiply-adds (weight products)
    values: int               # values the layers output: what backward() keeps, and what eval holds for a while
    # BatchNorm layers that see one value per channel per row (BatchNorm1d on features, or a 1×1 picture):
    # in training they need 2 or more rows per batch; a BatchNorm2d on 28×28 pixels does not.
    one_value_norms: tuple[str, ...] = ()

    @property
    def bytes(self) -> int:
        """float32 bytes of those values."""
        return 4 * self.values


def row_profile(config: TrainingConfig, n_in: int, n_out: int,
                session_model: SessionModel | None = None) -> RowProfile:
    """One row's forward cost in the chosen model; Linear and the MLP counted from their sizes."""
    if config.model == "linear":
        return RowProfile(n_in * n_out, n_out)
    if config.model == "mlp":
        h = config.hidden
        return RowProfile(n_in * h + (config.layers - 1) * h * h + h * n_out, 2 * h * config.layers + n_out)
    if session_model is None:
        return RowProfile(0, 0)
    return forward_profile(session_model.module, n_in)


def macs_per_row(config: TrainingConfig, n_in: int, n_out: int, session_model: SessionModel | None = None) -> int:
    """Multiply-adds of one row's forward pass through the chosen model (weight products; the rest is small)."""
    return row_profile(config, n_in, n_out, session_model).macs


@torch.no_grad()
def forward_profile(module: nn.Module, n_in: int) -> RowProfile:
    """One zero row through ``module`` in eval mode, with hooks on every leaf layer; the mode is restored.

    Counted from a real pass, so a Conv2d behind an Unflatten costs what it does per position.
    """
    macs = values = 0
    one_value: list[str] = []
    names = {leaf: name for name, leaf in module.named_modules() if not list(leaf.children())}

    def hook(layer: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal macs, values
        macs += layer_mult_adds(layer, output)
        values += output.numel()
        if isinstance(layer, BATCH_NORMS) and math.prod(inputs[0].shape[2:]) == 1:
            one_value.append(f"{names[layer]} ({type(layer).__name__})")

    handles = [leaf.register_forward_hook(hook) for leaf in names]
    was_training = module.training
    try:
        module.eval()  # BatchNorm refuses one row in train mode; Dropout draws nothing in eval
        module(torch.zeros(1, n_in, device=next(module.parameters(), torch.zeros(0)).device))
    except RuntimeError:
        return RowProfile(0, 0)  # a model that does not fit the data: check_session_model says why
    finally:
        module.train(was_training)
        for handle in handles:
            handle.remove()
    return RowProfile(macs, values, tuple(one_value))


def eval_rows(profile: RowProfile) -> int:
    """Rows per evaluation forward pass: as many as keep the layer outputs within ``EVAL_BYTES``."""
    return max(1, EVAL_BYTES // max(profile.bytes, 1))


def rows_per_step(n_train: int, config: TrainingConfig) -> int:
    """Rows one optimizer step pushes through the model: all of them in full batch, else a batch."""
    return n_train if config.full_batch else min(config.batch_size, n_train)


def check_run_work(epochs: int, epoch_macs: int, epoch_steps: int = 1) -> None:
    """Refuse a Train or Continue whose epochs together would push more than ``MAX_RUN_MACS`` through the model, or
    take more than ``MAX_RUN_STEPS`` optimizer steps."""
    budgets = (
        (epoch_macs, MAX_RUN_MACS, "",
         f"{epochs:,} epochs would push {epochs * epoch_macs:.2g} multiply-adds through the model ({epoch_macs:.2g} "
         f"per epoch, about three times that with the backward pass); this page allows {MAX_RUN_MACS:.0e} per "
         "Train or Continue"),
        (epoch_steps, MAX_RUN_STEPS, " or use bigger batches",
         f"{epochs:,} epochs of {plural(epoch_steps, 'optimizer step')} each would take {epochs * epoch_steps:,} "
         f"steps; this page allows {MAX_RUN_STEPS:,} per Train or Continue, since every step costs time however "
         "small the model"),
    )
    for per_epoch, cap, otherwise, said in budgets:
        if epochs * per_epoch > cap:
            fits = max(cap // max(per_epoch, 1), 1)
            raise TorchstartError(f"{said}, so that one run cannot hold the shared server for hours. Set Epochs to "
                                  f"at most {fits:,}{otherwise} (tab Epochs, batches, seed), and press Continue for "
                                  "more once they are done.")


def epoch_steps(n_train: int, config: TrainingConfig) -> int:
    """Optimizer steps in one epoch: one in full batch, else one per batch."""
    return 1 if config.full_batch else -(-n_train // config.batch_size)


def check_epoch_work(config: TrainingConfig, data: PreparedData, session_model: SessionModel | None) -> int:
    """Refuse an epoch so big that Stop and the live charts would wait long, or a step that would fill memory, or
    a run of such epochs that would hold the server for hours; return the multiply-adds of one epoch's forward
    passes."""
    profile = row_profile(config, data.n_features, data.n_targets, session_model)
    per_row = profile.macs
    rows = len(data.raw_x_train) + len(data.raw_x_val)  # validation rows go forward every epoch too
    if per_row * rows > MAX_EPOCH_MACS:
        fits = max(MAX_EPOCH_MACS // per_row, 1)
        raise TorchstartError(
            f"One epoch would push {rows:,} rows through {per_row:,} multiply-adds each ({per_row * rows:.2g} in "
            f"all, about three times that with the backward pass); this page allows {MAX_EPOCH_MACS:.0e} per "
            f"epoch so that Stop and the live charts (which act between epochs) stay quick. Use a smaller model, or "
            f"at most {fits:,} rows: on the Data page, Rows to use takes a random sample of an uploaded CSV.")
    step = rows_per_step(len(data.raw_x_train), config)
    if step * profile.bytes > MAX_STEP_BYTES:
        fits = max(MAX_STEP_BYTES // max(profile.bytes, 1), 1)
        how = "full batch" if config.full_batch else f"batches of {config.batch_size:,}"
        raise TorchstartError(
            f"With {how}, one optimizer step pushes {step:,} rows through the model, and backward() needs every "
            f"layer's output kept: {profile.values:,} values per row, {format_bytes(step * profile.bytes)} in all. "
            f"This page allows {format_bytes(MAX_STEP_BYTES)} per step, shared as it is with other learners. "
            + (f"Untick Full batch and use batches of at most {fits:,} rows" if config.full_batch else
               f"Use batches of at most {fits:,} rows") + " (tab Epochs, batches, seed).")
    check_run_work(config.epochs, per_row * rows, epoch_steps(len(data.raw_x_train), config))
    return per_row * rows


def check_trainable(model: nn.Module, name: str) -> None:
    """Refuse a model with nothing for the optimizer to change (no parameters, or every one frozen)."""
    params = list(model.parameters())
    if not any(p.requires_grad for p in params):
        why = ("has no parameters (no Linear or other layer with weights)" if not params else
               "has every parameter frozen (requires_grad=False)")
        raise TorchstartError(f"The Models page model {name!r} {why}, so there is nothing for the optimizer to "
                              "train. Add a layer with weights or unfreeze one on the Models page, or pick Linear "
                              "or Small MLP here.")


BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def smallest_batch(n_rows: int, config: TrainingConfig) -> int:
    """Rows in the smallest training batch: all rows in full batch, else the short last batch if there is one."""
    if config.full_batch:
        return n_rows
    return n_rows % config.batch_size or min(config.batch_size, n_rows)


def _batch_size_without_single_rows(n_rows: int, batch_size: int) -> int | None:
    """The batch size nearest ``batch_size`` that leaves no batch of one row (None below 2 rows)."""
    for distance in range(1, n_rows + 1):
        for size in (batch_size - distance, batch_size + distance):
            if 2 <= size <= n_rows and n_rows % size != 1:
                return size
    return None


def check_batch_norm_batches(model: nn.Module, n_rows: int, config: TrainingConfig, n_in: int) -> None:
    """Refuse a run that would hand a BatchNorm layer one value per channel: in training it normalises by the batch."""
    norms = forward_profile(model, n_in).one_value_norms
    if not norms or smallest_batch(n_rows, config) > 1:
        return
    what = (f"{norms[0]} normalises each channel by the batch's own mean and variance, and it sees one value per "
            "channel per row, so it needs at least 2 rows per batch (PyTorch raises \"Expected more than 1 value "
            "per channel when training\")")
    if n_rows < 2:
        raise TorchstartError(f"{what}, but there is only {n_rows} training row. Use more rows or a smaller "
                              "validation share.")
    why = ("batch size 1 makes every batch one row" if config.batch_size == 1 else
           f"{n_rows} training rows in batches of {config.batch_size} leave a last batch of 1 row")
    fix = _batch_size_without_single_rows(n_rows, config.batch_size)
    raise TorchstartError(f"{what}, but {why}. Pick batch size {fix} (or full batch) instead. In your own code, "
                          "DataLoader(..., drop_last=True) skips a short last batch.")


def build_loss(config: TrainingConfig) -> nn.Module:
    """The chosen loss module, e.g. ``nn.MSELoss()``."""
    return LOSSES[config.loss]()


MAX_PREDICT_ROWS = 1_000


def parse_prediction_inputs(text: str, n_features: int) -> torch.Tensor:
    """Rows to predict for, from text such as ``5``, ``[5, 6]`` (one feature) or ``[[1, 2, 3]]``.

    Parsed with the safe literal parser (never ``eval``); the shape must fit the model's inputs.
    """
    from torchstart.literals import float32_rows, parse_literal

    value = parse_literal(text, "prediction input")
    if not isinstance(value, list):
        value = [value]
    if value and not isinstance(value[0], list):
        # A flat list: one value per row for one feature, or one row of all features.
        value = [[v] for v in value] if n_features == 1 else [value]
    try:
        rows = float32_rows(value, "prediction input")
    except TorchstartError:
        raise
    except (TypeError, ValueError):
        raise TorchstartError("The prediction input must be rows of equal length, e.g. [[1, 2], [3, 4]].") from None
    if rows.ndim != 2 or rows.shape[1] != n_features or len(rows) == 0:
        example = "5 or [5, 6, 7]" if n_features == 1 else "[[" + ", ".join(["0"] * n_features) + "]]"
        raise TorchstartError(
            f"The model takes {n_features} input value(s) per row, but the input has shape {tuple(rows.shape)}. "
            f"Type for example {example}."
        )
    if len(rows) > MAX_PREDICT_ROWS:
        raise TorchstartError(f"At most {MAX_PREDICT_ROWS:,} rows at a time; got {len(rows):,}.")
    return rows
