"""Metrics of a trained run (MSE, RMSE, MAE, R² for regression; accuracy, BCE, precision, recall for 0/1
classes), the prediction table, and the learned line in original units."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from torchstart.datasets import TabularDataset
from torchstart.predictions import prediction_frame, row_text, with_labels_first
from torchstart.session import Standardizer

if TYPE_CHECKING:  # the loop module imports nothing from here; this keeps it that way at run time
    from torchstart.training import TrainingRun

METRIC_HELP = {
    "MSE": "mean of (prediction − target)²",
    "RMSE": "√MSE, in the target's units",
    "MAE": "mean of |prediction − target|",
    "R²": "1 − SS_res / SS_tot: 1 is perfect, 0 is no better than predicting the mean (— when SS_tot is 0: the "
          "target is the same in every row of the split, as it always is when the split has a single row)",
}


CLASSIFICATION_HELP = {
    "accuracy": "share of rows whose predicted class (logit ≥ 0, i.e. probability ≥ 0.5) is the label",
    "BCE": "mean binary cross-entropy of sigmoid(logit) against the label: the loss itself",
    "precision": "of the rows predicted 1, the share labelled 1 (— when no row is predicted 1)",
    "recall": "of the rows labelled 1, the share predicted 1 (— when no row is labelled 1)",
}


# A metric is None where it is undefined (no rows; a ratio over zero rows), so the page can tell that apart
# from a NaN the model really produced (a diverged run's loss).
Metrics = dict[str, float | None]


def classification_metrics(logits: torch.Tensor, labels: torch.Tensor) -> Metrics:
    """Accuracy, BCE, precision and recall over every output; a label counts as class 1 from 0.5 up."""
    if len(labels) == 0:
        return dict.fromkeys(CLASSIFICATION_HELP)
    logits, labels = logits.double(), labels.double()
    predicted, actual = logits >= 0, labels >= 0.5
    hits = (predicted & actual).sum().item()
    n_predicted, n_actual = predicted.sum().item(), actual.sum().item()
    return {"accuracy": (predicted == actual).double().mean().item(),
            "BCE": F.binary_cross_entropy_with_logits(logits, labels).item(),
            "precision": hits / n_predicted if n_predicted else None,
            "recall": hits / n_actual if n_actual else None}


CLASSES_HELP = {
    "accuracy": "share of rows whose predicted class (the largest logit) is the labelled one",
    "cross-entropy": "mean of −log softmax(logits)[label class]: the loss itself",
}


def classes_metrics(logits: torch.Tensor, targets: torch.Tensor) -> Metrics:
    """Accuracy (argmax of the logits against argmax of the one-hot rows) and the cross-entropy."""
    if len(targets) == 0:
        return dict.fromkeys(CLASSES_HELP)
    logits, targets = logits.double(), targets.double()
    return {"accuracy": (logits.argmax(1) == targets.argmax(1)).double().mean().item(),
            "cross-entropy": F.cross_entropy(logits, targets).item()}


def metric_help(run: TrainingRun) -> dict[str, str]:
    """What each metric of this run's table means."""
    return {"binary": CLASSIFICATION_HELP, "classes": CLASSES_HELP}.get(run.config.task, METRIC_HELP)


def regression_metrics(predicted: torch.Tensor, target: torch.Tensor) -> Metrics:
    """MSE, RMSE, MAE and R² (averaged over target columns); None where undefined (no rows, constant target)."""
    if len(target) == 0:
        return dict.fromkeys(METRIC_HELP)
    predicted, target = predicted.double(), target.double()
    err = predicted - target
    mse = err.pow(2).mean().item()
    ss_res = err.pow(2).sum(0)
    ss_tot = (target - target.mean(0)).pow(2).sum(0)
    r2 = (1 - ss_res / ss_tot).mean().item() if bool((ss_tot > 0).all()) else None
    return {"MSE": mse, "RMSE": math.sqrt(mse), "MAE": err.abs().mean().item(), "R²": r2}


def linear_in_original_units(model: nn.Module, x_scaler: Standardizer | None,
                             y_scaler: Standardizer | None) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(weight, bias) of an ``nn.Linear`` mapped back to original units; None for other models.

    With x' = (x − μx)/σx and y = σy·y' + μy, the model y' = W x' + b is
    y = (σy W / σx) x + σy (b − W μx/σx) + μy.
    """
    if not isinstance(model, nn.Linear):
        return None
    weight = model.weight.detach().cpu().double()
    bias = model.bias.detach().cpu().double() if model.bias is not None else torch.zeros(weight.shape[0])
    if x_scaler is not None:
        weight = weight / x_scaler.std.double()
        bias = bias - weight @ x_scaler.mean.double()
    if y_scaler is not None:
        weight = weight * y_scaler.std.double()[:, None]
        bias = bias * y_scaler.std.double() + y_scaler.mean.double()
    return weight, bias


def evaluate(run: TrainingRun) -> dict[str, Metrics]:
    """Metrics of the run's model on its training and validation rows, in the target's original units."""
    from torchstart.training import predict

    data = run.data
    metrics = {"binary": classification_metrics, "classes": classes_metrics}.get(run.config.task,
                                                                                   regression_metrics)
    result = {"training": metrics(predict(run, data.raw_x_train), data.raw_y_train)}
    if data.has_val:
        result["validation"] = metrics(predict(run, data.raw_x_val), data.raw_y_val)
    return result


def metrics_note(run: TrainingRun) -> str:
    """How the metrics relate to the logged losses, column by column: when they agree, and why they differ.

    The training loss of epoch N is taken before that epoch's last step (and, with mini-batches or Dropout,
    over changing weights or in train mode); the validation loss of epoch N after it, in eval mode, which is
    how the metrics are measured too.
    """
    from torchstart.rng import draws_random_numbers

    cfg = run.config
    measure = {"binary": "BCE", "classes": "cross-entropy"}.get(cfg.task, "MSE")
    both = []  # reasons that hold for the training and the validation column
    if not cfg.classifies and cfg.loss != "MSE":
        both.append(f"the logged loss is {cfg.loss}, not MSE")
    if cfg.standardize_y:
        both.append("the logged loss is on the standardized target, the metrics in original units")
    training_only = []
    if not cfg.full_batch:
        training_only.append("each logged training loss is the mean over the epoch's samples, taken batch by batch "
                             "while the weights were still changing")
    if draws_random_numbers(run.model) or any(isinstance(m, nn.modules.batchnorm._BatchNorm)
                                              for m in run.model.modules()):
        training_only.append("the logged training loss is taken in train mode (Dropout / BatchNorm active), the "
                             "metrics in eval mode")
    # Where to find these numbers again: the downloaded script prints the same table.
    # One paragraph each: the table, its training column, its validation column.
    text = ("Measured with the model in eval mode after the last optimizer step; the script below prints this "
            "table as \"Training metrics\".\n\n")
    if both or training_only:
        text += (f"Training: {measure} here differs from the logged training loss because "
                 + "; ".join(both + training_only) + ".")
    else:
        text += (f"Training: {measure} here is the logged training loss one step later (that loss is taken "
                 "before the epoch's step), so it usually sits a little below the last logged value (above it "
                 "while the loss is rising).")
    if not run.data.has_val:
        return text
    if both:
        return text + (f"\n\nValidation: {measure} here differs from the logged validation loss because "
                       + "; ".join(both) + ".")
    return text + (f"\n\nValidation: {measure} here is the last logged validation loss: that one too is taken after "
                   "the epoch's step, in eval mode.")


def prediction_table(run: TrainingRun, inputs: torch.Tensor) -> pd.DataFrame:
    """The inputs, then per target the prediction; for a classifier the logits, probabilities and class."""
    from torchstart.training import predict

    return prediction_frame(inputs, predict(run, inputs), run.data.feature_names, run.data.target_names,
                            run.config.task, class_column=run.data.class_column)


def held_out_rows(run: TrainingRun) -> tuple[str, torch.Tensor, torch.Tensor]:
    """("validation", x, y) in original units, or the training rows when nothing was held out."""
    data = run.data
    if len(data.raw_x_val):
        return "validation", data.raw_x_val, data.raw_y_val
    return "training", data.raw_x_train, data.raw_y_train


def held_out_row(run: TrainingRun, index: int) -> TabularDataset:
    """Held-out row ``index`` (see ``held_out_rows``) as a one-row dataset, in original units."""
    _, x, y = held_out_rows(run)
    return TabularDataset(x[index:index + 1], y[index:index + 1], run.data.feature_names, run.data.target_names,
                          class_column=run.data.class_column)


def example_input_text(run: TrainingRun) -> str:
    """The prediction box's first text: row 0 of the data's inputs, a real input in the data's own units (all
    zeros read as a house of 0 m², built in year 0); the Checkpoints page starts on the same row."""
    source = run.data.source
    x = source.features if source is not None else held_out_rows(run)[1]
    if not len(x) or x.shape[1] == 1:
        return "5"  # the classic script's new input
    return row_text(x[0])


def row_prediction_table(run: TrainingRun, index: int) -> pd.DataFrame:
    """One held-out row's prediction next to its label; the inputs are left out (too many to read as numbers)."""
    row = held_out_row(run, index)
    return with_labels_first(prediction_table(run, row.features), row, run.data.feature_names)


def parameter_rows(run: TrainingRun) -> list[dict[str, object]]:
    """Learned weights and bias of a linear model (original units) next to the true ones when known."""
    learned = linear_in_original_units(run.model, run.data.x_scaler, run.data.y_scaler)
    if learned is None:
        return []
    weight, bias = learned
    data = run.data
    rows = []
    for t, target in enumerate(data.target_names):
        for f, feature in enumerate(data.feature_names):
            true = data.true_weight[t, f].item() if data.true_weight is not None else None
            rows.append({"parameter": f"weight {feature} → {target}", "learned": weight[t, f].item(), "true": true})
        true_b = data.true_bias[t].item() if data.true_bias is not None else None
        rows.append({"parameter": f"bias → {target}", "learned": bias[t].item(), "true": true_b})
    return rows
