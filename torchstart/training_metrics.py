"""Regression metrics (MSE, RMSE, MAE, R²) and the learned line in original units."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

from torchstart.session import Standardizer

if TYPE_CHECKING:  # the loop module imports nothing from here; this keeps it that way at run time
    from torchstart.training import TrainingRun

METRIC_HELP = {
    "MSE": "mean of (prediction − target)²",
    "RMSE": "√MSE, in the target's units",
    "MAE": "mean of |prediction − target|",
    "R²": "1 − SS_res / SS_tot: 1 is perfect, 0 is no better than predicting the mean",
}


def regression_metrics(predicted: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """MSE, RMSE, MAE and R² (averaged over target columns); NaN where undefined (no rows, constant target)."""
    if len(target) == 0:
        return {name: math.nan for name in METRIC_HELP}
    predicted, target = predicted.double(), target.double()
    err = predicted - target
    mse = err.pow(2).mean().item()
    ss_res = err.pow(2).sum(0)
    ss_tot = (target - target.mean(0)).pow(2).sum(0)
    r2 = (1 - ss_res / ss_tot).mean().item() if bool((ss_tot > 0).all()) else math.nan
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


def evaluate(run: TrainingRun) -> dict[str, dict[str, float]]:
    """Metrics of the run's model on its training and validation rows, in the target's original units."""
    from torchstart.training import predict

    data = run.data
    result = {"training": regression_metrics(predict(run, data.raw_x_train), data.raw_y_train)}
    if data.has_val:
        result["validation"] = regression_metrics(predict(run, data.raw_x_val), data.raw_y_val)
    return result


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
