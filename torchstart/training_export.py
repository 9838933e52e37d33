"""What a learner takes home from the Training page besides the ``.pth``: a standalone script (and its data).

The script is plain PyTorch (no torchstart import) and repeats the page's run
step for step: same data, split, standardization, seed, model, loss, optimizer,
batches and loop, so it prints the same losses.
"""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import torch
from torch import nn

from torchstart.datasets import TabularDataset
from torchstart.optimizers import optimizer_code
from torchstart.session import SessionModel
from torchstart.training import TrainingRun
from torchstart.trained_file import scaler_names
from torchstart.training_setup import LOSSES, split_arithmetic, split_sizes
from torchstart.wording import comment_safe, name_list

# Data from the Data page is written into the script up to this many numbers; beyond, it goes in a CSV.
EMBED_LIMIT = 2_000
CSV_NAME = "training_data.csv"
# Beyond this many numbers the data goes in a torch.save file: a 60,000-row MNIST set took 45 s to write as text
# (223 MB) and 20 s to read back; as float32 tensors it is 190 MB, written and read in well under a second.
PT_NAME, CSV_VALUES_LIMIT = "training_data.pt", 2_000_000
# The model setting as the docstring names it.
MODEL_NAMES = {"linear": "nn.Linear", "mlp": "a small MLP", "session": "the Models page's model"}

# Layers whose repr is valid constructor code (e.g. ``Linear(in_features=3, out_features=8, bias=True)``).
_REPR_LAYERS = {
    "Linear", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU", "SiLU", "ELU", "Softplus", "Identity",
    "Dropout", "BatchNorm1d", "LayerNorm", "Flatten", "Softmax", "Hardtanh", "PReLU", "Mish",
}


def number(value: float) -> str:
    """The shortest text that reads back to the same float32 (``0.3``, not ``0.30000001192092896``)."""
    text = str(np.float32(value))
    return text if any(c in text for c in ".en") else text + ".0"


def tensor_literal(values: torch.Tensor) -> str:
    """``torch.tensor([[...], ...])`` text for a 2-D float tensor, one row per line when long."""
    rows = ["[" + ", ".join(number(v) for v in row) + "]" for row in values.tolist()]
    if len(rows) <= 8:
        return "torch.tensor([" + ", ".join(rows) + "])"
    return "torch.tensor([\n    " + ",\n    ".join(rows) + ",\n])"


def module_code(module: nn.Module) -> str | None:
    """Constructor code for ``nn.Sequential`` stacks of standard layers, or None when that is not possible."""
    name = type(module).__name__
    if isinstance(module, nn.Sequential) and type(module) is nn.Sequential:
        parts = [module_code(child) for child in module]
        if any(p is None for p in parts):
            return None
        inner = "".join(f"    {p.replace(chr(10), chr(10) + '    ')},\n" for p in parts)
        return f"nn.Sequential(\n{inner})"
    if name in _REPR_LAYERS and type(module).__module__.startswith("torch.nn.modules") and not list(module.children()):
        return f"nn.{module!r}"
    return None


# The script's own imports; the Models page's code starts with the first two of them as well.
_SCRIPT_IMPORTS = ("import torch", "from torch import nn", "import torch.nn as nn")


def model_code(run: TrainingRun, session_model: SessionModel | None = None) -> tuple[str, str]:
    """(definitions for the top of the script, the line(s) that build ``model`` after the seed)."""
    cfg, data = run.config, run.data
    if cfg.model == "linear":
        return "", f"model = nn.Linear({data.n_features}, {data.n_targets})"
    built = module_code(run.model)
    if built is not None:
        return "", f"model = {built}"
    # The code of the model this run was built from; the Models page may hold another one by now.
    source = run.model_code or (session_model.code if session_model is not None else "")
    if not source.strip():
        return "", "model = ...  # the Models page model; its code was not available"
    lines = [line for line in source.strip().splitlines() if line not in _SCRIPT_IMPORTS]
    # Its last `model = ...` line builds the model: that runs after the seed; the class goes at the top.
    at = max((i for i, line in enumerate(lines) if line.startswith("model =")), default=len(lines))
    definitions = "\n".join(lines[:at]).strip()
    build = "\n".join(lines[at:]).strip() or "model = ...  # the Models page code did not build `model`"
    return "# The model's class this run trained, as the Models page wrote it then\n" + definitions, build


def needs_csv(run: TrainingRun) -> bool:
    """Whether the script reads its data from a CSV (a Data page dataset too big to write into it)."""
    if run.config.data != "session":
        return False
    x, y = _all_rows(run)
    return x.numel() + y.numel() > EMBED_LIMIT


def data_file_name(run: TrainingRun) -> str | None:
    """The file the script reads its data from: a CSV, a .pt for big data, or None when the data is in the script."""
    if not needs_csv(run):
        return None
    x, y = _all_rows(run)
    return CSV_NAME if x.numel() + y.numel() <= CSV_VALUES_LIMIT else PT_NAME


def data_file(run: TrainingRun) -> bytes | None:
    """The bytes of ``data_file_name``: the CSV, or ``torch.save`` of the tensors and their column names."""
    name = data_file_name(run)
    if name != PT_NAME:
        return data_csv(run)
    x, y = _all_rows(run)
    buffer = io.BytesIO()
    torch.save({"x": x, "y": y, "features": list(run.data.feature_names), "targets": list(run.data.target_names)},
               buffer)
    return buffer.getvalue()


def data_csv(run: TrainingRun) -> bytes | None:
    """The Data page dataset as CSV (features then targets) when the script needs it, else None."""
    if not needs_csv(run):
        return None
    x, y = _all_rows(run)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(run.data.feature_names + run.data.target_names)
    writer.writerows([number(v) for v in row] for row in torch.cat([x, y], 1).tolist())
    return text.getvalue().encode()


def _columns_summary(dataset: TabularDataset) -> str:
    """``features a, b, c; target species (classes setosa, …)``: short enough to read whole in one comment line."""
    features = name_list(dataset.feature_names, 6, quoted=False)
    target = (f"{dataset.class_column} (one-hot: {name_list(dataset.classes, 6, quoted=False)})" if dataset.classes
              else name_list(dataset.target_names, 4, quoted=False))
    # Cut only what a list cannot shorten (a very long column name): 120 characters cut iris's classes.
    return comment_safe(f"features {features}; target {target}", limit=200)


def _all_rows(run: TrainingRun) -> tuple[torch.Tensor, torch.Tensor]:
    """All rows in their original order (the split is redone by the script)."""
    source = run.data.source
    return source.features, source.targets


def _data_lines(run: TrainingRun) -> list[str]:
    """Code that makes ``x`` and ``y``: the same tensors the page loaded."""
    cfg = run.config
    if cfg.data == "classic":
        return ["# The classic data: four points on y = 2x",
                "x = torch.tensor([[1.0], [2.0], [3.0], [4.0]])",
                "y = torch.tensor([[2.0], [4.0], [6.0], [8.0]])"]
    if cfg.data == "line":
        return ["# A synthetic line y = slope * x + intercept + noise, from its own seeded generator",
                f"n, slope, intercept, noise = {cfg.rows}, {cfg.slope!r}, {cfg.intercept!r}, {cfg.noise!r}",
                f"gen = torch.Generator().manual_seed({cfg.data_seed})",
                "x = torch.rand(n, 1, generator=gen) * 10 - 5",
                "y = slope * x + intercept + noise * torch.randn(n, 1, generator=gen)"]
    if cfg.data == "multi":
        return [f"# A synthetic linear set with {cfg.features} features, from its own seeded generator",
                f"n, n_features, noise = {cfg.rows}, {cfg.features}, {cfg.noise!r}",
                f"gen = torch.Generator().manual_seed({cfg.data_seed})",
                "true_w = torch.randint(-3, 4, (n_features, 1), generator=gen).float()",
                "true_b = torch.randint(-2, 3, (1,), generator=gen).float()",
                "x = torch.randn(n, n_features, generator=gen)",
                "y = x @ true_w + true_b + noise * torch.randn(n, 1, generator=gen)"]
    x, y = _all_rows(run)
    names = _columns_summary(run.data.source)
    # The values are the Data page's: say where some came from, or they read as the file's own.
    made = [f"#   {comment_safe(line)}" for line in run.data.source.origin]
    made = ["# made from the file on the Data page:", *made] if made else []
    if x.numel() + y.numel() <= EMBED_LIMIT:
        return [f"# {comment_safe(run.data.name)} from the Data page ({names})", *made,
                f"x = {tensor_literal(x)}", f"y = {tensor_literal(y)}"]
    if data_file_name(run) == PT_NAME:
        return [f"# {comment_safe(run.data.name)} from the Data page ({names}): download {PT_NAME} next to this script",
                *made,
                f"data = torch.load({PT_NAME!r}, weights_only=True)  # tensors and their column names only",
                'x, y = data["x"], data["y"]']
    return [f"# {comment_safe(run.data.name)} from the Data page ({names}): download {CSV_NAME} next to this script",
            *made,
            f"with open({CSV_NAME!r}, newline='', encoding='utf-8') as f:  # as the page wrote it, on any system",
            "    rows = [[float(v) for v in row] for row in list(csv.reader(f))[1:]]",
            "table = torch.tensor(rows)",
            f"x, y = table[:, :{x.shape[1]}], table[:, {x.shape[1]}:]"]


def _split_lines(run: TrainingRun, n_rows: int) -> list[str]:
    """Split and standardization code; leaves ``x_train`` etc. (or keeps ``x``/``y`` when there is neither)."""
    cfg, data = run.config, run.data
    n_train, n_val = split_sizes(n_rows, cfg)
    lines: list[str] = []
    if n_val:
        lines += ["", f"# Hold out {n_val} of {n_rows} rows for validation: {split_arithmetic(n_rows, cfg.val_share)}",
                  "# They are the first of a seeded random permutation",
                  f"perm = torch.randperm(len(x), generator=torch.Generator().manual_seed({cfg.seed}))",
                  f"x_train, y_train = x[perm[{n_val}:]], y[perm[{n_val}:]]",
                  f"x_val, y_val = x[perm[:{n_val}]], y[perm[:{n_val}]]"]
    elif data.x_scaler or data.y_scaler:
        lines += ["", "x_train, y_train = x, y"]
    for var, on in (("x", data.x_scaler), ("y", data.y_scaler)):
        if on:
            lines += ["", f"# Standardize {var} with the mean and std of the training rows only,",
                      "# summed in float64 so that big values cannot overflow float32's sum",
                      f"{var}_mean = {var}_train.double().mean(0).float()",
                      f"{var}_std = {var}_train.double().std(0, correction=0).float()",
                      f"{var}_std[{var}_std == 0] = 1.0  # a constant column maps to 0, not NaN",
                      f"{var}_train = ({var}_train - {var}_mean) / {var}_std"]
            if n_val:
                lines.append(f"{var}_val = ({var}_val - {var}_mean) / {var}_std")
    return lines


def training_script(run: TrainingRun, epochs: int | None = None, session_model: SessionModel | None = None) -> str:
    """A standalone script that repeats this run for ``epochs`` (default: the epochs trained so far)."""
    cfg, data = run.config, run.data
    epochs = epochs if epochs is not None else run.epoch
    x_all, _ = _all_rows(run)
    n_rows = len(x_all)
    split = split_sizes(n_rows, cfg)[1] > 0
    named = split or data.x_scaler is not None or data.y_scaler is not None
    xt, yt = ("x_train", "y_train") if named else ("x", "y")
    minibatch = not cfg.full_batch
    cuda = run.device.type == "cuda"

    out = ['"""Reproduce a torchstart Training page run with plain PyTorch.', "",
           f"{_describe_config(run)}, {epochs:,} epochs.", '"""', ""]
    if data_file_name(run) == CSV_NAME:
        out.append("import csv")
    out += ["import torch", "import torch.nn as nn", "import torch.optim as optim"]
    if minibatch:
        out.append("from torch.utils.data import DataLoader, TensorDataset")
    definitions, build = model_code(run, session_model)
    if definitions:
        out += ["", "", definitions, ""]
    out += [""] + _data_lines(run) + _split_lines(run, n_rows)
    if cuda:
        out += ["", 'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")',
                f"{xt}, {yt} = {xt}.to(device), {yt}.to(device)"]
        if split:
            out.append("x_val, y_val = x_val.to(device), y_val.to(device)")
    out += ["", f"torch.manual_seed({cfg.seed})", build]
    if cuda:
        out.append("model = model.to(device)")
    out.append(f"criterion = nn.{LOSSES[cfg.loss].__name__}()")
    if cfg.task == "classes":
        out[-1] += ("  # targets: one-hot rows (class probabilities); class indices "
                    f"{yt}.argmax(1) give the same loss")
    opt = optimizer_code(cfg.optimizer, cfg.lr, cfg.weight_decay, **cfg.optimizer_tuning)
    out.append("optimizer = " + re.sub(r"^torch\.optim\.", "optim.", opt))
    if minibatch:
        out += [f"loader = DataLoader(TensorDataset({xt}, {yt}), batch_size={cfg.batch_size}, "
                f"shuffle={cfg.shuffle}, generator=torch.Generator().manual_seed({cfg.seed}))"]
    n_train, n_val = split_sizes(n_rows, cfg)
    forward = "model"
    if max(n_train, n_val) > run.eval_rows:  # as the page evaluates: a chunk of rows at a time
        forward = "forward_in_chunks"
        out += ["", "", f"def forward_in_chunks(x, rows={run.eval_rows}):",
                '    """model(x), a chunk of rows at a time: all rows at once would hold their layer outputs '
                'together."""',
                "    return torch.cat([model(chunk) for chunk in x.split(rows)])", ""]
    out += ["", f"num_epochs = {epochs}"] + _loop_lines(run, xt, yt, split, minibatch, forward)
    if cfg.classifies:
        out += _classification_lines(xt, yt, split, cfg.task, forward)
    else:
        out += _regression_lines(xt, yt, split, data.y_scaler is not None, forward, cuda)
    out += _prediction_lines(run)
    out += _save_lines(run)
    return "\n".join(out) + "\n"


def _save_lines(run: TrainingRun) -> list[str]:
    """Save the weights, as the page's download does; with standardization, its statistics beside them."""
    stats = scaler_names(run.data.x_scaler, run.data.y_scaler)
    lines = [""]
    if run.device.type == "cuda":
        lines.append("model = model.cpu()  # CPU tensors, as the page's download: the file loads without a GPU")
    if not stats:
        return lines + ['torch.save(model.state_dict(), "model.pth")']
    return (lines + ["# The model learned on standardized columns: keep their statistics with its weights, or",
                     "# predictions on raw inputs come out wrong. To load them back:",
                     "#   checkpoint = torch.load(\"model.pth\", weights_only=True)",
                     "#   model.load_state_dict(checkpoint[\"model\"])",
                     'checkpoint = {"model": model.state_dict()}']
            + [f'checkpoint["{name}"] = {name}' for name in stats]
            + ['torch.save(checkpoint, "model.pth")'])


def _loop_lines(run: TrainingRun, xt: str, yt: str, split: bool, minibatch: bool,
                forward: str = "model") -> list[str]:
    """The training loop, printing the page's log lines and the final loss (validation through ``forward``)."""
    every = run.config.log_every
    lines = ["for epoch in range(num_epochs):"]
    if split:
        lines.append("    model.train()")
    if minibatch:
        lines += ["    epoch_loss = 0.0",
                  "    for xb, yb in loader:",
                  "        outputs = model(xb)",
                  "        loss = criterion(outputs, yb)",
                  "        optimizer.zero_grad()",
                  "        loss.backward()",
                  "        optimizer.step()",
                  "        epoch_loss += loss.item() * len(xb)",
                  f"    epoch_loss /= len({xt})"]
        value = "epoch_loss"
    else:
        lines += [f"    outputs = model({xt})",
                  f"    loss = criterion(outputs, {yt})",
                  "    optimizer.zero_grad()",
                  "    loss.backward()",
                  "    optimizer.step()"]
        value = "loss.item()"
    message = f"f'Epoch [{{epoch+1}}/{{num_epochs}}], Loss: {{{value}:.4g}}'"
    if split:
        lines += ["    model.eval()", "    with torch.no_grad():",
                  f"        val_loss = criterion({forward}(x_val), y_val).item()"]
        message = message[:-1] + ", Val loss: {val_loss:.4g}'"
    lines += [f"    if (epoch + 1) % {every} == 0:", f"        print({message})"]
    lines.append(f"print(f'Final training loss: {{{value}!r}}')")
    if split:
        lines.append("print(f'Final validation loss: {val_loss!r}')")
    return lines


CLASSIFICATION_METRICS = {"binary": '''

def classification_metrics(logits, labels):
    """Accuracy, BCE, precision and recall, as the page's table computes them (a label counts as 1 from 0.5 up)."""
    logits, labels = logits.double(), labels.double()
    predicted, actual = logits >= 0, labels >= 0.5  # class 1 where the logit is >= 0, i.e. sigmoid(logit) >= 0.5
    hits = (predicted & actual).sum().item()
    n_predicted, n_actual = predicted.sum().item(), actual.sum().item()
    return {"accuracy": (predicted == actual).double().mean().item(),
            "BCE": nn.functional.binary_cross_entropy_with_logits(logits, labels).item(),
            "precision": hits / n_predicted if n_predicted else None,
            "recall": hits / n_actual if n_actual else None}
''', "classes": '''

def classification_metrics(logits, targets):
    """Accuracy and cross-entropy, as the page's table computes them: the predicted class has the largest logit."""
    logits, targets = logits.double(), targets.double()
    return {"accuracy": (logits.argmax(1) == targets.argmax(1)).double().mean().item(),
            "cross-entropy": nn.functional.cross_entropy(logits, targets).item()}
'''}


def _classification_lines(xt: str, yt: str, split: bool, task: str, forward: str = "model") -> list[str]:
    """The page's "How well it classifies" table, computed in eval mode after the last step and printed."""
    lines = ["", "", "# The page's classification table (eval mode, after the last step)",
             *CLASSIFICATION_METRICS[task].strip("\n").splitlines(), "", "", "model.eval()", "with torch.no_grad():"]
    for name, x, y in (("training", xt, yt), ("validation", "x_val", "y_val"))[:1 + split]:
        lines.append(f"    {name}_metrics = classification_metrics({forward}({x}), {y})")
    for name in ("training", "validation")[:1 + split]:
        lines.append(f"print(f'{name.capitalize()} metrics: {{{name}_metrics!r}}')")
    return lines


REGRESSION_METRICS = '''

def regression_metrics(predicted, target):
    """MSE, RMSE, MAE and R² in the target's units, as the page's table computes them (R² averaged over columns)."""
    predicted, target = predicted.double(), target.double()
    err = predicted - target
    mse = err.pow(2).mean().item()
    ss_tot = (target - target.mean(0)).pow(2).sum(0)
    r2 = (1 - err.pow(2).sum(0) / ss_tot).mean().item() if bool((ss_tot > 0).all()) else None
    return {"MSE": mse, "RMSE": mse ** 0.5, "MAE": err.abs().mean().item(), "R²": r2}
'''


def _regression_lines(xt: str, yt: str, split: bool, y_scaled: bool, forward: str, cuda: bool) -> list[str]:
    """The page's metrics table (MSE, RMSE, MAE, R² in the target's original units), computed and printed."""
    lines = ["", "", "# The page's metrics table, in the target's original units",
             *REGRESSION_METRICS.strip("\n").splitlines(), "", "", "model.eval()", "with torch.no_grad():"]
    for name, x, y in (("training", xt, yt), ("validation", "x_val", "y_val"))[:1 + split]:
        predicted, target = f"{forward}({x})", y
        if cuda:  # y_mean and y_std stay on the CPU
            predicted, target = f"{predicted}.cpu()", f"{target}.cpu()"
        if y_scaled:  # back to the target's own units: the standardized ones would give other numbers
            predicted, target = f"{predicted} * y_std + y_mean", f"{target} * y_std + y_mean"
        lines.append(f"    {name}_metrics = regression_metrics({predicted}, {target})")
    for name in ("training", "validation")[:1 + split]:
        lines.append(f"print(f'{name.capitalize()} metrics: {{{name}_metrics!r}}')")
    return lines


def _prediction_lines(run: TrainingRun) -> list[str]:
    """For one feature: the prediction for input 5 in original units, as the classic script shows."""
    data = run.data
    if data.n_features != 1:
        return []
    lines = ["", "# Predict for a new input (original units)", "model.eval()", "with torch.no_grad():",
             "    new_x = torch.tensor([[5.0]])"]
    model_in = "(new_x - x_mean) / x_std" if data.x_scaler else "new_x"
    if run.device.type == "cuda":
        model_in = f"({model_in}).to(device)"
    out = f"model({model_in})"
    if data.y_scaler:
        # y_std and y_mean stay on the CPU; a (1,)-shaped CPU tensor cannot meet a CUDA one in an op.
        out = f"{out}{'.cpu()' if run.device.type == 'cuda' else ''} * y_std + y_mean"
    if run.config.task == "classes":
        return lines + [f"    probabilities = torch.softmax({out}, dim=1)  # the model outputs one logit per class",
                        "print(f'Class probabilities for input 5.0: {probabilities.squeeze().tolist()}')"]
    if run.config.classifies:
        return lines + [f"    probability = torch.sigmoid({out})  # the model outputs a logit",
                        "print(f'Probability of class 1 for input 5.0: {probability.squeeze().tolist()}')"]
    lines += [f"    prediction = {out}", "print(f'Prediction for input 5.0: {prediction.squeeze().tolist()}')"]
    return lines


def _describe_config(run: TrainingRun) -> str:
    """The run's recipe in a sentence for the script's docstring."""
    cfg = run.config
    batch = "full batch" if cfg.full_batch else f"batches of {cfg.batch_size}"
    return (f"Data: {comment_safe(run.data.name)}. Model: {MODEL_NAMES[cfg.model]}. Loss: {cfg.loss}. "
            f"Optimizer: {cfg.optimizer} (lr {cfg.lr:g}, weight decay {cfg.weight_decay:g}). "
            f"{batch.capitalize()}, seed {cfg.seed}")
