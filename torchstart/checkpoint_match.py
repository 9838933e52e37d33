"""Match a state_dict to a model before loading it, load it strictly, and predict in eval mode."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import nn

from torchstart.checkpoint_inspect import reads_as_numbers
from torchstart.errors import TorchstartError
from torchstart.literals import Accepts, float32_rows, parse_literal
from torchstart.wording import name_list, plural
from torchstart.session import SessionModel, Standardizer, TrainedModel

MAX_PREDICT_ROWS = 1_000
# The prediction table: outputs per row, and cells in all (inputs and outputs); more would take seconds to draw.
MAX_SHOWN_OUTPUTS = 1_000
MAX_TABLE_CELLS = 200_000
# Inputs per row that still fit the inputs box (parse_literal reads at most 20,000 characters).
MAX_TYPED_WIDTH = 2_000
TARGET_LABELS = {"trained": "Training page's model", "models": "Models page's model",
                 "linear": "nn.Linear inferred from the file"}
# Layers whose forward differs between model.train() and model.eval().
MODE_SENSITIVE = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm,
                  nn.modules.instancenorm._InstanceNorm)


@dataclass
class KeyReport:
    """How a state_dict's keys and shapes line up with a model's, before anything is loaded."""

    matched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    filled: list[str] = field(default_factory=list)  # absent, yet load_state_dict sets them (BatchNorm's counter)
    model_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    file_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when ``load_state_dict(strict=True)`` will accept the state_dict."""
        return not (self.missing or self.unexpected or self.mismatched)

    def table(self) -> pd.DataFrame:
        """One row per key: its shape in the model, in the file, and whether they agree."""
        status = {k: "missing from file" for k in self.missing}
        status.update({k: "unexpected (not in model)" for k in self.unexpected})
        status.update({k: "shape mismatch" for k, _, _ in self.mismatched})
        status.update({k: "matches" for k in self.matched})
        status.update({k: "absent; BatchNorm sets it when loading a file with no layer versions" for k in self.filled})
        rows = [{"key": key, "in model": _shape(self.model_shapes.get(key)),
                 "in file": _shape(self.file_shapes.get(key)), "status": why}
                for key, why in status.items()]
        return pd.DataFrame(rows, columns=["key", "in model", "in file", "status"])

    def summary(self) -> str:
        """One sentence listing what would make strict loading fail."""
        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} missing ({name_list(self.missing, 5, quoted=False)})")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} unexpected ({name_list(self.unexpected, 5, quoted=False)})")
        if self.mismatched:
            shown = ", ".join(f"{k}: model {list(a)} vs file {list(b)}" for k, a, b in self.mismatched[:3])
            parts.append(f"{len(self.mismatched)} with other shapes ({shown})")
        return "; ".join(parts) if parts else f"all {len(self.matched)} keys match"


def _shape(shape: tuple[int, ...] | None) -> str:
    """A shape as ``[2, 3]``, or a dash when the key is absent on that side."""
    return "—" if shape is None else str(list(shape))


@dataclass
class Target:
    """A model the file's weights can be loaded into, with what predicting needs."""

    model: nn.Module
    width: int | None
    feature_names: list[str] = field(default_factory=list)
    target_names: list[str] = field(default_factory=list)
    x_scaler: Standardizer | None = None
    y_scaler: Standardizer | None = None
    fallback_code: str = ""
    class_column: str | None = None  # a class target's column (see TrainedModel.class_column)
    # One sample's shape where the page knows it (a Models-page model); None: read the width off the model.
    input_shape: tuple[int, ...] | None = None
    # The Training page's task: "binary" (BCEWithLogitsLoss: sigmoid of the logit is P(class 1)),
    # "classes" (CrossEntropyLoss: softmax of the logits gives each class's probability) or "regression".
    task: str = "regression"


def load_targets(state_dict: Mapping[str, torch.Tensor], trained: TrainedModel | None,
                 built: SessionModel | None) -> dict[str, Target]:
    """Models the weights may go into, keyed as in ``TARGET_LABELS``: Training's, Models', an inferred Linear."""
    found: dict[str, Target] = {}
    if trained is not None:
        found["trained"] = Target(trained.model, len(trained.feature_names) or input_width(trained.model),
                                  list(trained.feature_names), list(trained.target_names),
                                  trained.x_scaler, trained.y_scaler,
                                  # a Models-page model is a class of its own: its code rebuilds it
                                  fallback_code=trained.extra.get("model_code", ""),
                                  task=getattr(trained.extra.get("config"), "task", "regression"),
                                  class_column=trained.class_column)
    if built is not None:
        found["models"] = Target(built.module, built.in_features, fallback_code=built.code,
                                 input_shape=tuple(built.input_shape))
    linear = infer_linear(state_dict)
    if linear is not None:
        found["linear"] = Target(linear, linear.in_features)
    return found


def compare_keys(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> KeyReport:
    """Missing, unexpected and shape-mismatched keys of ``state_dict`` against ``model``."""
    expected = model.state_dict()
    report = KeyReport(model_shapes={k: tuple(v.shape) for k, v in expected.items()},
                       file_shapes={k: tuple(v.shape) for k, v in state_dict.items()})
    for key, tensor in expected.items():
        if key not in state_dict and _batchnorm_fills(model, state_dict, key):
            report.filled.append(key)
        elif key not in state_dict:
            report.missing.append(key)
        elif tuple(state_dict[key].shape) != tuple(tensor.shape):
            report.mismatched.append((key, tuple(tensor.shape), tuple(state_dict[key].shape)))
        else:
            report.matched.append(key)
    report.unexpected = [key for key in state_dict if key not in expected]
    return report


def _batchnorm_fills(model: nn.Module, state_dict: Mapping[str, torch.Tensor], key: str) -> bool:
    """BatchNorm's own loading rule: a missing ``num_batches_tracked`` is set for it when the file's metadata
    has no layer version 2 (a file saved before BatchNorm had the counter, or a dict rebuilt without ``_metadata``)."""
    prefix, _, name = key.rpartition(".")
    if name != "num_batches_tracked":
        return False
    module = model.get_submodule(prefix) if prefix else model
    if not isinstance(module, nn.modules.batchnorm._BatchNorm):
        return False
    entry = layer_metadata(state_dict).get(prefix)
    version = entry.get("version") if isinstance(entry, Mapping) else None
    return not isinstance(version, int) or version < 2


def layer_metadata(state_dict: Mapping[str, torch.Tensor]) -> Mapping:
    """The layer versions ``state_dict()`` keeps in ``_metadata``; empty when absent or not a dict."""
    meta = getattr(state_dict, "_metadata", None)
    return meta if isinstance(meta, Mapping) else {}


def metadata_problem(state_dict: Mapping[str, torch.Tensor]) -> str | None:
    """Why the file's ``_metadata`` (layer name -> {"version": int}) would make load_state_dict fail, if it would."""
    meta = getattr(state_dict, "_metadata", None)
    if meta is None:
        return None
    if not isinstance(meta, Mapping) or not all(
            isinstance(entry, Mapping) and isinstance(entry.get("version", 0), int) for entry in meta.values()):
        return ("its state_dict carries a _metadata attribute (the layer versions model.state_dict() records) that "
                "is not the dict of {'version': int} torch writes, and load_state_dict reads it")
    return None


def infer_linear(state_dict: Mapping[str, torch.Tensor]) -> nn.Linear | None:
    """An ``nn.Linear(in, out)`` shaped for a lone ``weight`` (out, in) [+ ``bias`` (out,)] pair."""
    if set(state_dict) not in ({"weight", "bias"}, {"weight"}) or linear_problem(state_dict):
        return None
    out_features, in_features = state_dict["weight"].shape
    # float32 whatever the file's dtype, as the printed nn.Linear(...) is: load_state_dict casts the weights.
    # skip_init: no initialisation to draw from the shared generator (see torchstart.rng), as the file's
    # weights replace every value anyway.
    return nn.utils.skip_init(nn.Linear, in_features, out_features, bias="bias" in state_dict)


def linear_problem(state_dict: Mapping[str, torch.Tensor]) -> str | None:
    """Why a ``weight`` [+ ``bias``] pair cannot be an nn.Linear's (None when it can, or holds other keys)."""
    if set(state_dict) not in ({"weight", "bias"}, {"weight"}):
        return None
    weight, bias = state_dict["weight"], state_dict.get("bias")
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2:
        shape = list(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__
        return f"an nn.Linear's weight is 2-D (out_features, in_features), but this weight is {shape}"
    # Checked before building one: nn.Linear(in, out) allocates in × out numbers whatever the file stores.
    for name, part in (("weight", weight), ("bias", bias)):
        if isinstance(part, torch.Tensor) and (kind := unusual_kind(part)):
            return f"an nn.Linear holds dense float tensors, but this file's {name} is {kind}"
    if not weight.is_floating_point():
        return f"an nn.Linear's weight holds floats, but this weight is {str(weight.dtype).removeprefix('torch.')}"
    if weight.shape[1] == 0:
        return "this weight has 0 columns, so the nn.Linear would take no inputs at all"
    if bias is not None and (not isinstance(bias, torch.Tensor) or list(bias.shape) != [weight.shape[0]]):
        shape = list(bias.shape) if isinstance(bias, torch.Tensor) else type(bias).__name__
        return f"an nn.Linear's bias has one number per output ({[weight.shape[0]]}), but this bias is {shape}"
    return None


def load_strict(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> nn.Module:
    """Load into a copy of ``model`` with ``strict=True`` after checking keys; the original is untouched."""
    report = compare_keys(model, state_dict)
    if not report.ok:
        raise TorchstartError(
            f"These weights do not fit the model: {report.summary()}. load_state_dict(strict=True) "
            "would refuse them; pick the matching model or the right part of the checkpoint.")
    if problem := metadata_problem(state_dict):
        raise TorchstartError(f"These weights cannot be loaded: {problem}. Re-save them from a model with "
                              'torch.save(model.state_dict(), "model.pth").')
    odd = [(key, kind) for key, tensor in state_dict.items() if (kind := unusual_kind(tensor))]
    if odd:
        shown = ", ".join(f"{key} is {kind}" for key, kind in odd[:3])
        shown += f" and {len(odd) - 3} more" if len(odd) > 3 else ""
        raise TorchstartError(
            f"These weights cannot be copied into the model's float parameters: {shown}. Pick another part of "
            'the file, or re-save the weights of an ordinary model with torch.save(model.state_dict(), "model.pth").')
    target = copy.deepcopy(model)
    try:
        target.load_state_dict(state_dict, strict=True)
    except Exception as exc:  # noqa: BLE001 - e.g. a dtype copy_ cannot convert: a message, never a traceback
        detail = (str(exc).split("an exception occurred : ", 1)[-1].strip() or type(exc).__name__).splitlines()[0]
        raise TorchstartError(f"load_state_dict(strict=True) could not copy these weights into the model: "
                              f"{detail[:300]}") from None
    return target


def unusual_kind(tensor: torch.Tensor) -> str:
    """Why ``load_state_dict`` cannot copy this tensor into a float parameter ("a sparse tensor"), or ""."""
    if tensor.is_meta:
        return "a meta tensor (a shape without values)"
    if tensor.layout != torch.strided:
        return f"a sparse tensor ({str(tensor.layout).removeprefix('torch.')})"
    if tensor.is_quantized:
        return f"a quantized tensor ({str(tensor.dtype).removeprefix('torch.')})"
    if tensor.is_complex():
        return f"a complex tensor ({str(tensor.dtype).removeprefix('torch.')})"
    if not reads_as_numbers(tensor.dtype):
        return f"a tensor of packed bits ({str(tensor.dtype).removeprefix('torch.')}), not one number per element"
    return ""


def mode_sensitive_layers(model: nn.Module) -> list[str]:
    """Names of layers (Dropout, BatchNorm, ...) that behave differently in training mode."""
    return [f"{name} ({type(m).__name__})" for name, m in model.named_modules()
            if isinstance(m, MODE_SENSITIVE)]


def input_width(model: nn.Module) -> int | None:
    """Features the model takes, read from its first nn.Linear; None when there is none."""
    for module in model.modules():
        if isinstance(module, nn.Conv1d | nn.Conv2d | nn.Conv3d | nn.Embedding):
            return None  # wants images or token ids, not a row of numbers
        if isinstance(module, nn.Linear):
            return module.in_features
    return None


ROWS = Accepts(holds="numbers and square brackets", write="rows of numbers, e.g. [[0.5, 1.0], [2.0, -1.0]]",
               empty="rows of numbers, e.g. [[0.5, 1.0], [2.0, -1.0]]")


def parse_inputs(text: str, width: int) -> torch.Tensor:
    """Typed rows such as ``[[1.0, 2.0]]`` (or one row ``[1.0, 2.0]``) as an (N, width) float tensor."""
    value = parse_literal(text, what="input box", accepts=ROWS)
    if not isinstance(value, list):
        value = [value]
    if value and not isinstance(value[0], list):
        value = [value]
    if not value or any(not isinstance(row, list) for row in value):
        raise TorchstartError("Type the inputs as rows of numbers, e.g. [[0.5, 1.0], [2.0, -1.0]].")
    if len(value) > MAX_PREDICT_ROWS:
        raise TorchstartError(f"Predict on at most {MAX_PREDICT_ROWS:,} rows at a time; got {len(value):,}.")
    for i, row in enumerate(value):
        if len(row) != width or any(isinstance(v, list) for v in row):
            raise TorchstartError(
                f"Row {i + 1} has {plural(len(row), 'value')} but the model takes {plural(width, 'input feature')}; "
                f"write each row with exactly {plural(width, 'number')}.")
    return float32_rows(value, "input box")


@torch.no_grad()
def predict(model: nn.Module, inputs: torch.Tensor, x_scaler: Standardizer | None = None,
            y_scaler: Standardizer | None = None) -> torch.Tensor:
    """``model.eval()`` then the forward pass, mapping through the scalers when given."""
    model.eval()  # dropout off, batchnorm uses its running statistics
    first = next(model.parameters(), None)
    dtype, device = (first.dtype, first.device) if first is not None else (torch.float32, torch.device("cpu"))
    if x_scaler is not None and x_scaler.mean.numel() != inputs.shape[-1]:
        raise TorchstartError(f"The standardization's x_mean holds {plural(x_scaler.mean.numel(), 'number')} but "
                              f"each input row has {inputs.shape[-1]:,}: untick the standardization.")
    x = x_scaler.transform(inputs) if x_scaler else inputs
    try:
        y = model(x.to(device=device, dtype=dtype)).cpu()
    except Exception as exc:  # noqa: BLE001 - layers raise ValueError/IndexError too (BatchNorm2d on rows)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TorchstartError(f"The model could not run on these inputs: {first}") from None
    if y_scaler is None:
        return y
    if y.dim() < 2 or y_scaler.mean.numel() != y.shape[-1]:
        raise TorchstartError(f"The standardization's y_mean holds {plural(y_scaler.mean.numel(), 'number')} but "
                              f"the model gives {plural(y.shape[-1] if y.dim() else 1, 'output')} per row, so its "
                              "outputs cannot be mapped back: untick the standardization.")
    return y_scaler.inverse(y)


def table_problem(rows: int, width: int, outputs: int) -> str | None:
    """Why the prediction table of ``rows`` × (``width`` inputs + ``outputs``) is too big to draw, or None."""
    if outputs > MAX_SHOWN_OUTPUTS:
        return (f"This model gives {outputs:,} outputs per row, more than the {MAX_SHOWN_OUTPUTS:,} a table here "
                "shows. Load the file in your own Python with the safe-load code above and look at the tensor.")
    cells = rows * (width + outputs)
    if cells > MAX_TABLE_CELLS:
        fits = max(1, MAX_TABLE_CELLS // (width + outputs))
        return (f"{plural(rows, 'row')} of {width:,} inputs and {outputs:,} outputs make {cells:,} cells; the table "
                f"shows at most {MAX_TABLE_CELLS:,}. Predict on at most {fits:,} rows at a time.")
    return None


CLASSIFIER_NOTES = {
    "binary": "This model was trained with BCEWithLogitsLoss, so its outputs are logits: `torch.sigmoid(y)` is "
              "the probability of class 1, and the class is 1 where the logit is ≥ 0.",
    "classes": "This model was trained with CrossEntropyLoss, so its outputs are one logit per class: "
               "`torch.softmax(y, dim=1)` gives the class probabilities, and the predicted class is `y.argmax(1)`.",
}
