"""The Training page's .pth: the model's state_dict, or with standardization a checkpoint that keeps its statistics.

A model trained on standardized columns gives wrong answers on raw inputs unless the
mean and std of its training rows go with it. So, as a PyTorch user would, the file is then
``{"model": state_dict, "x_mean": ..., "x_std": ..., "y_mean": ..., "y_std": ...}``; the
Checkpoints page reads the statistics back from beside the model part.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from torchstart.checkpoint_inspect import Path, get_part
from torchstart.checkpoint_match import unusual_kind
from torchstart.checkpoint_safety import cpu_state_dict, saved_bytes
from torchstart.session import Standardizer

MODEL_KEY = "model"


def scaler_names(x_scaler: Standardizer | None, y_scaler: Standardizer | None) -> list[str]:
    """The statistics a checkpoint holds beside the weights: x_mean, x_std, then y_mean, y_std (those in use)."""
    return [f"{var}_{stat}" for var, scaler in (("x", x_scaler), ("y", y_scaler)) if scaler is not None
            for stat in ("mean", "std")]


def trained_checkpoint(model: nn.Module, x_scaler: Standardizer | None = None,
                       y_scaler: Standardizer | None = None) -> Any:
    """``model.state_dict()`` on the CPU, in a dict with the standardization statistics when there are any."""
    state = cpu_state_dict(model)
    if x_scaler is None and y_scaler is None:
        return state
    checkpoint: dict[str, Any] = {MODEL_KEY: state}
    for var, scaler in (("x", x_scaler), ("y", y_scaler)):
        if scaler is not None:
            checkpoint[f"{var}_mean"] = scaler.mean.detach().cpu().clone()
            checkpoint[f"{var}_std"] = scaler.std.detach().cpu().clone()
    return checkpoint


def trained_file_bytes(model: nn.Module, x_scaler: Standardizer | None = None,
                       y_scaler: Standardizer | None = None) -> bytes:
    """The bytes ``torch.save(trained_checkpoint(...), f)`` writes: the Training page's download."""
    return saved_bytes(trained_checkpoint(model, x_scaler, y_scaler))


def _standardizer(holder: Mapping, var: str) -> Standardizer | None:
    """``holder``'s ``{var}_mean``/``{var}_std`` as a Standardizer, when both are usable 1-D float tensors."""
    mean, std = holder.get(f"{var}_mean"), holder.get(f"{var}_std")
    if not (isinstance(mean, torch.Tensor) and isinstance(std, torch.Tensor)):
        return None
    if unusual_kind(mean) or unusual_kind(std):  # sparse, meta, quantized or complex: no statistics
        return None
    if mean.dim() != 1 or mean.shape != std.shape or not (mean.is_floating_point() and std.is_floating_point()):
        return None
    mean, std = mean.float(), std.float()
    if not (torch.isfinite(mean).all() and torch.isfinite(std).all() and (std > 0).all()):
        return None
    return Standardizer(mean, std)


def saved_scalers(checkpoint: Any, part: Path) -> tuple[Standardizer | None, Standardizer | None]:
    """The x and y standardization saved beside the model part ``part`` (None where the file has none)."""
    if not part:
        return None, None
    holder = get_part(checkpoint, part[:-1])
    if not isinstance(holder, Mapping):
        return None, None
    return _standardizer(holder, "x"), _standardizer(holder, "y")
