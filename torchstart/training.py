"""The training loop the Training page runs: resumable, stoppable, with a throttled live-update callback.

The loop is the classic one (forward, loss, ``zero_grad``, ``backward``, ``step``)
and keeps its per-epoch overhead tiny: on the CPU each loss is read with
``.item()`` (about a microsecond); on a GPU, where ``.item()`` would wait for the
device every epoch, losses stay tensors until the next live update, where they
are copied over in one go. NaN/inf is checked at each live update.

The callback runs at most every ``Throttle.min_interval`` seconds, and never so
often that drawing takes more than ``Throttle.max_share`` of the time. It may
return True to stop. It may also raise (Streamlit interrupts a script at its next
``st.*`` call): it is only called between epochs, after the history is brought up
to date, so the run stays consistent. The app turns Streamlit's fastReruns off, so
the next script run starts once the interrupted one has unwound; with it on (its
default), the next run starts on a new thread while the interrupted one is still
looping, and ``TrainingRun.settle`` and the run's lock hand the run over.
"""

from __future__ import annotations

import math
import re
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import Callable

import torch
from torch import nn

from torchstart.datasets import TabularDataset, class_names, same_dataset
from torchstart.errors import TorchstartError
from torchstart.loaders import make_loader
from torchstart.fair_share import give_way
from torchstart.optimizers import make_optimizer
from torchstart.rng import RNG_LOCK, RngStream, draws_random_numbers
from torchstart.session import SessionModel, TrainedModel
from torchstart.wording import duration, plotly_safe, plural
from torchstart.training_setup import (
    MODEL_LABELS,
    PreparedData,
    TrainingConfig,
    build_loss,
    build_model,
    check_batch_norm_batches,
    check_epoch_work,
    check_run_work,
    check_trainable,
    epoch_steps,
    eval_rows,
    prepare_data,
    row_profile,
)


@dataclass
class Progress:
    """Where a run stands, as the live view shows it."""

    epoch: int
    target: int
    train_loss: float | None
    val_loss: float | None
    epochs_per_s: float
    seconds_left: float | None
    seconds: float = 0.0
    ended: str = ""  # "stopped" or "diverged" when the run ended before the epochs asked for
    charts: bool = True  # False for a light call between redraws (Throttle.poll_interval): progress line only


@dataclass
class Throttle:
    """Decides when the live callback may run: at most every ``min_interval`` s and at most ``max_share`` of the time."""

    min_interval: float = 0.1
    max_share: float = 0.03
    next_at: float = 0.0
    # Between redraws, a light call (``Progress.charts`` False) at most this often, if set. Streamlit hands a click
    # to a running script only at its next st.* call: a redraw of big charts may be seconds away, a Stop should not.
    poll_interval: float | None = None
    poll_at: float = 0.0

    def schedule(self, started: float, finished: float) -> None:
        """Set the next allowed time from how long the last update took."""
        self.next_at = finished + max(self.min_interval, (finished - started) / self.max_share)


Callback = Callable[["TrainingRun", Progress], bool | None]


@dataclass
class TrainingRun:
    """One model being trained: data on the device, model, loss, optimizer and the history so far.

    ``epoch`` counts finished epochs; ``target`` is how far the learner asked to train,
    so ``target > epoch`` means training is still wanted (also after a page rerun).
    """

    config: TrainingConfig
    data: PreparedData
    model: nn.Module
    loss_fn: nn.Module
    optimizer: torch.optim.Optimizer
    device: torch.device
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    loader: torch.utils.data.DataLoader | None = None
    batch_weights: torch.Tensor | None = None
    # The run's own random stream when its model draws while training (Dropout); see torchstart.rng.
    rng: RngStream | None = None
    # The Models page's code for the model this run trains, taken at the start: that page may change later.
    model_code: str = ""
    train_losses: list[float] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    epoch: int = 0
    target: int = 0
    # The epochs the last Train or Continue asked for: a Stop or a divergence cuts ``target`` to ``epoch`` (the
    # log and the script count to it), while the progress bar still shows how far short the run ended.
    asked: int = 0
    status: str = "ready"
    message: str = ""
    seconds: float = 0.0
    last_epochs_per_s: float = 0.0
    # Rows per forward pass when evaluating (validation loss, metrics, predictions): a pass over 12,000 pixel
    # rows at once would hold gigabytes of layer outputs, so big splits go through in chunks of this many.
    eval_rows: int = 1 << 62
    # Multiply-adds of one epoch's forward passes (training and validation rows): Train and Continue are capped.
    epoch_macs: int = 0
    epoch_steps: int = 1  # optimizer steps per epoch: capped per Train or Continue too
    # Bumped whenever training touches the weights; predictions for a whole split are kept per version.
    weights_version: int = 0
    outputs: dict = field(default_factory=dict, repr=False, compare=False)
    # Run control across threads (see ``settle``): leave the loop at the next epoch; a Stop was asked for.
    halt: bool = False
    stop_requested: bool = False
    # The last other dataset compared with ``data.source`` and the answer (see ``trained_on``).
    checked_dataset: tuple[TabularDataset | None, bool] | None = field(default=None, repr=False, compare=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def training_wanted(self) -> bool:
        """True while the learner's requested epochs are not all done (and nothing went wrong)."""
        return self.target > self.epoch and self.status not in ("diverged", "failed")

    def trained_on(self, dataset: TabularDataset | None) -> bool:
        """Whether this run's rows are ``dataset``'s. An equal copy the Data page rebuilt is adopted, and the answer
        for another object is kept, so a page rerun scans the values at most once (80 ms for 60,000 × 784)."""
        if self.data.source is dataset:
            return True
        if self.checked_dataset is None or self.checked_dataset[0] is not dataset:
            self.checked_dataset = (dataset, same_dataset(self.data.source, dataset))
        if self.checked_dataset[1]:
            self.data.source, self.checked_dataset = dataset, None
            return True
        return False

    def ask_for(self, epochs: int) -> None:
        """Want ``epochs`` more epochs (Train, Continue): the loop trains until ``target``; a TorchstartError if
        together they would be too much work (``check_run_work``)."""
        check_run_work(epochs, self.epoch_macs, self.epoch_steps)
        self.target = self.asked = self.epoch + epochs

    @property
    def can_continue(self) -> bool:
        """Continue makes sense unless the weights are NaN or the model failed."""
        return self.status not in ("diverged", "failed")

    @property
    def final_loss(self) -> float | None:
        """The last epoch's training loss."""
        return self.train_losses[-1] if self.train_losses else None

    def request_stop(self) -> None:
        """Ask for the run to end after the current epoch; what was trained so far stays.

        Safe to call from another thread while ``resume`` runs (it only sets flags the loop reads).
        """
        self.stop_requested = True
        self.halt = True

    def settle(self, wait_s: float = 60.0) -> "TrainingRun":
        """Take the run over from a loop that may still be running on another thread, then apply a Stop.

        With Streamlit's fastReruns on (the app turns it off), a rerun starts on a new
        thread while the interrupted run's thread goes on until its next ``st.*`` call;
        ``halt`` makes that loop leave at the next epoch and the lock makes this call
        wait for it. With it off, the loop has already left and this returns at once.
        """
        self.halt = True
        if not self.lock.acquire(timeout=wait_s):
            raise TorchstartError("The previous training step is still busy; wait a moment and try again.")
        try:
            self.halt = False
            self._apply_stop()
        finally:
            self.lock.release()
        return self

    def _apply_stop(self) -> None:
        """Drop the remaining epochs if a Stop was asked for (the lock is held)."""
        if self.stop_requested:
            self.stop_requested = self.halt = False
            if self.target > self.epoch:
                self.target = self.epoch
                self.status = "stopped"


def start_run(config: TrainingConfig, dataset: TabularDataset | None = None,
              session_model: SessionModel | None = None) -> TrainingRun:
    """Prepare data, model, loss and optimizer for ``config`` (nothing trained yet)."""
    config = config.checked()
    data = prepare_data(config, dataset)
    device = torch.device(config.device)
    with RNG_LOCK:  # the run's random stream starts where the seeded build left it, as in the script
        model = build_model(config, data.n_features, data.n_targets, session_model).to(device)
        rng = RngStream.capture(device) if draws_random_numbers(model) else None
    if session_model is not None and config.model == "session":
        check_trainable(model, session_model.name)
    check_batch_norm_batches(model, len(data.raw_x_train), config, data.n_features)  # raw: no standardizing
    epoch_macs = check_epoch_work(config, data, session_model)
    optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr, config.weight_decay,
                               **config.optimizer_tuning)
    x_train, y_train = data.x_train.to(device), data.y_train.to(device)
    from_models_page = session_model is not None and config.model == "session"
    run = TrainingRun(config, data, model, build_loss(config), optimizer, device, x_train, y_train,
                      data.x_val.to(device), data.y_val.to(device), rng=rng,
                      model_code=session_model.code if from_models_page else "",
                      eval_rows=eval_rows(row_profile(config, data.n_features, data.n_targets, session_model)),
                      epoch_macs=epoch_macs, epoch_steps=epoch_steps(len(data.raw_x_train), config))
    if not config.full_batch:
        # The generator lives with the run, so Continue shuffles exactly as one longer run would.
        generator = torch.Generator().manual_seed(config.seed)
        run.loader = make_loader(TabularDataset(x_train, y_train, data.feature_names, data.target_names),
                                 config.batch_size, shuffle=config.shuffle, generator=generator)
        n = len(x_train)
        sizes = [min(config.batch_size, n - start) for start in range(0, n, config.batch_size)]
        run.batch_weights = torch.tensor(sizes, dtype=torch.float64, device=device) / n
    return run


def train(run: TrainingRun, epochs: int, callback: Callback | None = None,
          throttle: Throttle | None = None) -> TrainingRun:
    """Train ``epochs`` more epochs (see ``resume``)."""
    run.ask_for(epochs)
    return resume(run, callback, throttle)


def resume(run: TrainingRun, callback: Callback | None = None, throttle: Throttle | None = None,
           wait_s: float = 60.0) -> TrainingRun:
    """Train until ``run.target``, calling ``callback`` between epochs when the throttle allows.

    Returns the run with status ``done``, ``stopped`` (the callback returned True or
    ``request_stop`` was called), ``diverged`` (a NaN/inf loss, named in ``run.message``)
    or ``failed``; or still ``running`` when another thread took the run over (``settle``).
    """
    if not run.lock.acquire(timeout=wait_s):
        raise TorchstartError("The previous training step is still busy; wait a moment and try again.")
    try:
        run._apply_stop()
        if run.training_wanted:
            _train_locked(run, callback, throttle or Throttle())
            run._apply_stop()
            if run.status == "running" and run.epoch >= run.target:
                run.status = "done"
    finally:
        run.lock.release()
    return run


GPU_CHECK_EPOCHS = 32


def reads_loss_at_once(device: torch.device) -> bool:
    """Whether reading a loss with .item() costs nothing: on the CPU yes; on a GPU it waits for the queued work."""
    return device.type == "cpu"


def _train_locked(run: TrainingRun, callback: Callback | None, throttle: Throttle) -> None:
    """The loop itself; the caller holds ``run.lock``."""
    run.status = "running"
    run.weights_version += 1
    pending: list = []  # floats on the CPU, loss tensors on a GPU (see the module docstring)
    pending_val: list = []
    on_cpu = reads_loss_at_once(run.device)
    start_epoch, started = run.epoch, time.perf_counter()
    throttle.next_at = started  # the first epoch is drawn at once
    model, loss_fn, optimizer = run.model, run.loss_fn, run.optimizer
    x, y, xv, yv = run.x_train, run.y_train, run.x_val, run.y_val
    validate = len(xv) > 0
    model.train()
    try:
        for _ in range(run.target - run.epoch):
            if run.halt:
                break
            give_way()  # let another learner's page run go first (see torchstart.fair_share)
            if run.loader is None:
                with run.rng.active() if run.rng else nullcontext():
                    loss = loss_fn(model(x), y)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                pending.append(loss.item() if on_cpu else loss.detach())
            else:
                epoch_loss = _minibatch_epoch(run)
                pending.append(epoch_loss.item() if on_cpu else epoch_loss)
            if validate:
                model.eval()
                with torch.no_grad():
                    val_loss = loss_fn(forward_chunks(model, xv, run.eval_rows), yv)
                pending_val.append(val_loss.item() if on_cpu else val_loss)
                model.train()
            now = time.perf_counter()
            # On the CPU the loss is already a float: stop at the first NaN/inf at once, not at the next redraw,
            # so the model is left as it was at the epoch the run reports. (On a GPU that check would sync.)
            blew_up = on_cpu and not (math.isfinite(pending[-1]) and (not validate or math.isfinite(pending_val[-1])))
            if not on_cpu and len(pending) >= GPU_CHECK_EPOCHS and now < throttle.next_at:
                # One wait for the GPU every GPU_CHECK_EPOCHS epochs: a NaN stops the run within that many, not at
                # the next redraw (which a 0.3 s chart pushes 10 s away), without redrawing more often.
                if not _flush(run, pending, pending_val):
                    break
                continue
            redraw = now >= throttle.next_at or blew_up
            poll = throttle.poll_interval is not None and now >= throttle.poll_at and callback is not None
            if redraw or poll:  # a poll is a light call: the progress line only
                if not _flush(run, pending, pending_val):
                    break
                progress = replace(_progress(run, start_epoch, started, now), charts=redraw)
                if callback is not None and callback(run, progress):
                    run.request_stop()
                    break
                if redraw:
                    throttle.schedule(now, time.perf_counter())
                throttle.poll_at = time.perf_counter() + (throttle.poll_interval or 0.0)
    except (RuntimeError, ValueError) as exc:
        # Shapes or dtypes torch refuses (e.g. a model that does not fit the data): say so, keep what was trained.
        if validate:
            del pending[len(pending_val):]  # the epoch whose validation failed did not finish: not logged
        _flush(run, pending, pending_val)
        run.status = "failed"
        run.message = f"Training stopped at epoch {run.epoch + 1}: PyTorch says: {str(exc).splitlines()[0]}"
    else:
        _flush(run, pending, pending_val)
    finally:
        # Kept outputs from the live view belong to weights of some epoch; a failure part-way through the next
        # one changed the weights without counting an epoch, so drop them all.
        run.weights_version += 1
        elapsed = time.perf_counter() - started
        run.seconds += elapsed
        run.last_epochs_per_s = (run.epoch - start_epoch) / elapsed if elapsed > 0 else 0.0


def _minibatch_epoch(run: TrainingRun) -> torch.Tensor:
    """One pass over the shuffled mini-batches; the epoch loss is the row-weighted mean of batch losses."""
    model, loss_fn, optimizer = run.model, run.loss_fn, run.optimizer
    batch_losses = []
    for xb, yb in run.loader:
        with run.rng.active() if run.rng else nullcontext():
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        batch_losses.append(loss.detach())
    # In float64, like the exported script's running sum of loss.item() * len(batch).
    return torch.stack(batch_losses).double() @ run.batch_weights


def _as_float64(values: list) -> torch.Tensor:
    """Pending losses (floats, or tensors on a GPU: one copy for all) as a CPU float64 tensor."""
    if isinstance(values[0], float):
        return torch.tensor(values, dtype=torch.float64)
    return torch.stack(values).double().cpu()


def _flush(run: TrainingRun, pending: list, pending_val: list) -> bool:
    """Move pending losses into the history and stop on NaN/inf; False if diverged."""
    if not pending:
        return True
    losses = _as_float64(pending)
    vals = _as_float64(pending_val) if pending_val else None
    pending.clear()
    pending_val.clear()
    bad = ~torch.isfinite(losses)
    if vals is not None:
        bad |= ~torch.isfinite(vals)
    diverged = bool(bad.any())
    # Keep epochs up to and including the first non-finite one: the chart shows where it blew up.
    n_ok = int(bad.to(torch.int8).argmax()) + 1 if diverged else len(losses)
    run.train_losses.extend(losses[:n_ok].tolist())
    if vals is not None:
        run.val_losses.extend(vals[:n_ok].tolist())
    run.epoch += n_ok
    if diverged:
        _report_divergence(run)
        return False
    return True


def log_length(run: TrainingRun) -> int:
    """How many lines the epoch log has: one per ``log_every`` epochs trained."""
    return len(run.train_losses) // run.config.log_every


def log_lines(run: TrainingRun, last: int | None = None) -> list[str]:
    """The classic ``Epoch [k/N], Loss: ...`` lines (the ``last`` few, or all) for the epochs trained so far.

    Built from the loss history rather than collected as the run goes, so after a Stop, a Continue or a
    new log interval they are exactly what the exported script prints: N is the run's target (its end
    while it trains, the epochs trained once it stopped) and the interval is the current one.
    """
    every, count = run.config.log_every, log_length(run)
    first = 0 if last is None else max(count - last, 0)
    lines = []
    for epoch in range((first + 1) * every, count * every + 1, every):
        line = f"Epoch [{epoch}/{run.target}], Loss: {run.train_losses[epoch - 1]:.4g}"
        if run.val_losses:
            line += f", Val loss: {run.val_losses[epoch - 1]:.4g}"
        lines.append(line)
    return lines


def _report_divergence(run: TrainingRun) -> None:
    """Name the non-finite loss, where it appeared, and what to change."""
    value = run.train_losses[-1]
    which = "training"
    if run.val_losses and math.isfinite(value):
        value, which = run.val_losses[-1], "validation"
    kind = "NaN (not a number)" if math.isnan(value) else "infinite"
    cfg = run.config
    run.status = "diverged"
    run.target = run.epoch
    if run.epoch == 1 and which == "training" and cfg.full_batch:
        # This loss was computed before the first step: no learning rate can help.
        switches = [name for name, on in (('"Standardize features"', cfg.standardize_x),
                                          ('"Standardize target"', cfg.standardize_y or cfg.classifies)) if not on]
        turn_on = f"Turn on {' and '.join(switches)}, or rescale" if switches else "Rescale"
        run.message = (
            f"The training loss is already {kind} for the freshly initialised model, before any optimizer step: "
            f"the data's values are too large for float32 (their squares overflow). {turn_on} "
            "the data on the Data page, then press Train."
        )
        return
    what = (f"The {which} loss became {kind} at epoch {run.epoch}: the run diverged. With learning rate "
            f"{cfg.lr:g} the {cfg.optimizer} steps overshoot and grow until the numbers overflow.")
    lower = f"lower the learning rate (try {cfg.lr / 10:g})"
    x_peak, y_peak = _unscaled_peaks(run)
    if x_peak > BIG_VALUE:
        # Large raw inputs make a steep loss surface: a smaller rate only delays the blow-up, or learns nothing
        # for thousands of epochs. Standardized inputs are the fix; the target's scale is a side note below.
        run.message = (f"{what} The training inputs reach {_reading(x_peak)}, and the steps grow with them. "
                       'Turn on "Standardize features" first (each column then has mean 0 and std 1, where '
                       f"learning rates around 0.01 work); only if it still diverges, {lower}. Then press Train "
                       "to start again.")
    else:
        run.message = f"{what} {lower[0].upper()}{lower[1:]}, then press Train to start again."
    if y_peak > BIG_VALUE:  # not the cause (how steep the loss is depends on the inputs), but it scales every loss
        run.message += (f" Targets reaching {_reading(y_peak)} make every loss and gradient large too: "
                        '"Standardize target" keeps them near 1.')


# Raw values beyond this are worth standardizing before the learning rate is blamed.
BIG_VALUE = 10.0


def _reading(value: float) -> str:
    """A large value as the messages write it: 436,200 or 3.4e+12."""
    return f"{value:,.0f}" if value < 1e9 else f"{value:.3g}"


def _unscaled_peaks(run: TrainingRun) -> tuple[float, float]:
    """The largest |value| of the training inputs and of the (regression) targets that are not standardized;
    0 for a side that is (or, for a classifier's labels, cannot be)."""
    data, cfg = run.data, run.config

    def peak(values: torch.Tensor, on: bool) -> float:
        return 0.0 if on or not values.numel() else float(values.abs().max())

    return peak(data.raw_x_train, cfg.standardize_x), peak(data.raw_y_train, cfg.standardize_y or cfg.classifies)


# A finite training loss this many times its first value has been growing, not learning.
GROWTH_WARNING = 10.0


def growth_warning(run: TrainingRun) -> str | None:
    """What to change when the training loss grew many times over without overflowing; None while it learns."""
    losses = run.train_losses
    if len(losses) < 2 or not all(math.isfinite(v) for v in (losses[0], losses[-1])):
        return None
    if losses[-1] <= GROWTH_WARNING * losses[0]:
        return None
    cfg = run.config
    scale = "" if cfg.standardize_x else ", or turn on Standardize features (large inputs make large gradients)"
    return (f"The training loss grew from {losses[0]:.3g} to {losses[-1]:.3g} over {run.epoch:,} epochs instead "
            f"of falling: each {cfg.optimizer} step with learning rate {cfg.lr:g} overshoots the minimum and lands "
            f"further away. Lower the learning rate (try {cfg.lr / 10:g}){scale}, then press Train.")


# Below this much training since a (re)start, a rate from the first epoch or two mostly measures start-up
# (the first redraw, another session's turn): the previous stretch's rate is shown instead, or none.
RATE_SETTLE_S = 0.5


def _progress(run: TrainingRun, start_epoch: int, started: float, now: float) -> Progress:
    """Epoch, latest losses, speed and time left for the live view."""
    elapsed = now - started
    rate = (run.epoch - start_epoch) / elapsed if elapsed > 0 else 0.0
    if elapsed < RATE_SETTLE_S:  # a click resumed the run a moment ago: "20 epochs/s, 1 h 20 min left" misled
        rate = run.last_epochs_per_s
    left = (run.target - run.epoch) / rate if rate > 0 else None
    return Progress(run.epoch, run.target, run.final_loss, run.val_losses[-1] if run.val_losses else None,
                    rate, left)


def progress_text(p: Progress) -> str:
    """Epoch, current loss, speed and time left in one line."""
    parts = [f"Epoch {p.epoch:,} / {p.target:,}" + (f" ({p.ended})" if p.ended else "")]
    if p.train_loss is not None:
        parts.append(f"loss {p.train_loss:.4g}" + (f" (validation {p.val_loss:.4g})" if p.val_loss is not None else ""))
    if p.epochs_per_s >= 1:
        parts.append(f"{p.epochs_per_s:,.0f} epoch{'s' * (round(p.epochs_per_s) != 1)}/s")
    elif p.epochs_per_s:  # a big epoch: "0 epochs/s" would say nothing
        parts.append(f"{1 / p.epochs_per_s:,.1f} s per epoch")
    if p.seconds_left is not None:
        parts.append(f"about {duration(p.seconds_left)} left")
    elif p.seconds:
        parts.append(f"{p.seconds:,.2f} s of training")
    return " · ".join(parts)


def progress_of(run: TrainingRun) -> Progress:
    """A Progress for a run that is not training right now."""
    asked = max(run.asked, run.target, run.epoch)
    ended = run.status if run.status in ("stopped", "diverged") and asked > run.epoch else ""
    return Progress(run.epoch, asked, run.final_loss, run.val_losses[-1] if run.val_losses else None,
                    run.last_epochs_per_s, None, run.seconds, ended)


def forward_chunks(model: nn.Module, x: torch.Tensor, rows: int) -> torch.Tensor:
    """``model(x)``, in chunks of ``rows`` rows when x has more (the outputs are joined; only they are kept)."""
    if len(x) <= rows:
        return model(x)
    return torch.cat([model(chunk) for chunk in x.split(rows)])


@torch.no_grad()
def predict(run: TrainingRun, raw_x: torch.Tensor) -> torch.Tensor:
    """The model's output in original units for features in original units (CPU tensors in and out).

    Forward passes go in chunks of ``run.eval_rows``; a whole split's outputs are kept until the weights change,
    so a page rerun does not push 48,000 rows through a CNN again.
    """
    key = id(raw_x)
    kept = run.outputs.get(key)
    if kept is not None and kept[0] is raw_x and kept[1] == (run.weights_version, run.epoch):
        return kept[2]
    data = run.data
    x = data.x_scaler.transform(raw_x) if data.x_scaler else raw_x
    was_training = run.model.training
    run.model.eval()
    try:
        y = forward_chunks(run.model, x.to(run.device), run.eval_rows).cpu()
    finally:
        run.model.train(was_training)
    y = data.y_scaler.inverse(y) if data.y_scaler else y
    if raw_x is data.raw_x_train or raw_x is data.raw_x_val:
        run.outputs[key] = (raw_x, (run.weights_version, run.epoch), y)
    return y


def describe(run: TrainingRun) -> str:
    """One line saying what was trained, on what, how long."""
    cfg = run.config
    model = MODEL_LABELS[cfg.model].split(":")[0].split(" (")[0]
    if cfg.model == "session":  # name the class it was: the Models page may hold another one by now
        found = re.search(r"^class (\w+)\(", run.model_code, flags=re.MULTILINE)
        model = f"{found.group(1) if found else 'The model'} from the Models page"
    params = sum(p.numel() for p in run.model.parameters())
    return (f"{model} ({plural(params, 'parameter')}) on {run.data.name}: {cfg.loss} loss, {cfg.optimizer} "
            f"(lr {cfg.lr:g}), {run.epoch:,} epochs, seed {cfg.seed}")


def trained_model(run: TrainingRun) -> TrainedModel:
    """The hand-off to the Checkpoints page: a CPU copy of the model plus names and scalers."""
    import copy

    model = copy.deepcopy(run.model).cpu().eval()
    return TrainedModel(model, list(run.data.feature_names), list(run.data.target_names), describe(run),
                        run.data.x_scaler, run.data.y_scaler, class_column=run.data.class_column,
                        extra={"epochs": run.epoch, "final_loss": run.final_loss, "config": run.config,
                               "model_code": run.model_code})


def require_trained(run: TrainingRun | None) -> TrainingRun:
    """The run if it has trained at least one epoch, else a message saying to press Train."""
    if run is None or run.epoch == 0:
        raise TorchstartError("Nothing is trained yet: press Train first.")
    return run


@dataclass
class FitData:
    """What the fit chart needs: points in original units and the model's predictions for them.

    One feature: ``grid_x``/``grid_y`` trace the model's curve over the data's range.
    Several: ``pred_train``/``pred_val`` are predictions for the shown points (first target).
    For 0/1 classes (``probability``) the model's values are sigmoid(logit), the probability
    of class 1, and two features get ``plane``: (xs, ys, probability[len(ys), len(xs)]).
    For several classes (``classes``) the labels are class indices, the values softmax
    probabilities (one column per class, ``plane`` gets a last class dimension), and more than
    two features get ``confusion``: counts[labelled class, predicted class] of ``confusion_split``.
    """

    feature_name: str
    target_name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    grid_x: torch.Tensor | None = None
    grid_y: torch.Tensor | None = None
    pred_train: torch.Tensor | None = None
    pred_val: torch.Tensor | None = None
    true_y: torch.Tensor | None = None
    probability: bool = False
    feature_names: tuple[str, ...] = ()
    plane: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
    classes: tuple[str, ...] = ()
    confusion: torch.Tensor | None = None
    confusion_split: str = ""

    def __post_init__(self) -> None:
        """The data's own names go into Plotly text, which obeys some HTML (a link): kept as typed instead."""
        self.feature_name, self.target_name = plotly_safe(self.feature_name), plotly_safe(self.target_name)
        self.feature_names = tuple(map(plotly_safe, self.feature_names))
        self.classes = tuple(map(plotly_safe, self.classes))


def _spread(n: int, limit: int) -> torch.Tensor:
    """At most ``limit`` row indices spread evenly over ``n`` rows (all rows when few)."""
    return torch.arange(n) if n <= limit else torch.linspace(0, n - 1, limit).long()


def _padded_range(values: torch.Tensor, grid_points: int) -> torch.Tensor:
    """``grid_points`` evenly spaced values over ``values``' range plus a 10% margin on each side."""
    low, high = values.min().item(), values.max().item()
    margin = 0.1 * (high - low) or 1.0
    # In float64, kept within float32's range: data near float32's largest value must not overflow the grid.
    top = float(torch.finfo(torch.float32).max)
    return torch.linspace(max(low - margin, -top), min(high + margin, top), grid_points, dtype=torch.float64).float()


def fit_data(run: TrainingRun, max_points: int = 1000, grid_points: int = 100,
             plane_points: int = 60) -> FitData:
    """Points (at most ``max_points`` per split) and the model's current predictions, for the fit chart."""
    if run.config.task == "classes":
        return _classes_fit(run, max_points, grid_points, plane_points)
    data = run.data
    classifies = run.config.classifies

    def model_values(x: torch.Tensor) -> torch.Tensor:
        """The first output for rows ``x``: the prediction, or for 0/1 classes the probability of class 1."""
        out = predict(run, x)[:, :1]
        if classifies:
            return torch.sigmoid(out)
        # A diverged model's outputs are NaN, inf or astronomically far off (1e22): drawn, they would flatten
        # the data into one line at zero, so they are left out (the chart says why).
        return torch.full_like(out, math.nan) if run.status == "diverged" else out

    tr, va = _spread(len(data.raw_x_train), max_points), _spread(len(data.raw_x_val), max_points)
    fit = FitData(data.feature_names[0] if data.n_features == 1 else "actual", data.target_names[0],
                  data.raw_x_train[tr], data.raw_y_train[tr, :1], data.raw_x_val[va], data.raw_y_val[va, :1],
                  probability=classifies, feature_names=tuple(data.feature_names))
    both = torch.cat([data.raw_x_train, data.raw_x_val])
    if data.n_features == 1:
        fit.grid_x = _padded_range(both, grid_points)[:, None]
        fit.grid_y = model_values(fit.grid_x)
        if data.true_weight is not None and data.true_weight.shape == (1, 1):
            fit.true_y = fit.grid_x * data.true_weight[0, 0] + data.true_bias[0]
    elif classifies and data.n_features == 2:
        xs, ys = _padded_range(both[:, 0], plane_points), _padded_range(both[:, 1], plane_points)
        grid = torch.cartesian_prod(ys, xs).flip(1)  # rows (x, y), y-major: reshapes to [len(ys), len(xs)]
        fit.plane = (xs, ys, model_values(grid).reshape(len(ys), len(xs)))
    else:
        fit.pred_train = model_values(fit.x_train)
        fit.pred_val = model_values(fit.x_val)
    return fit


def _classes_fit(run: TrainingRun, max_points: int, grid_points: int, plane_points: int) -> FitData:
    """``fit_data`` for several classes: probability curves (1 feature), regions (2) or a confusion matrix."""
    data = run.data

    def probabilities(x: torch.Tensor) -> torch.Tensor:
        """softmax of the model's logits for rows ``x``: one column per class."""
        return torch.softmax(predict(run, x), dim=1)

    tr, va = _spread(len(data.raw_x_train), max_points), _spread(len(data.raw_x_val), max_points)
    labels = [y.argmax(1, keepdim=True).float() for y in (data.raw_y_train[tr], data.raw_y_val[va])]
    classes = tuple(class_names(data.target_names, data.class_column))
    fit = FitData(data.feature_names[0] if data.n_features == 1 else "actual", data.class_column or "class",
                  data.raw_x_train[tr], labels[0], data.raw_x_val[va], labels[1], probability=True,
                  feature_names=tuple(data.feature_names), classes=classes)
    both = torch.cat([data.raw_x_train, data.raw_x_val])
    if data.n_features == 1:
        fit.grid_x = _padded_range(both, grid_points)[:, None]
        fit.grid_y = probabilities(fit.grid_x)
    elif data.n_features == 2:
        xs, ys = _padded_range(both[:, 0], plane_points), _padded_range(both[:, 1], plane_points)
        grid = torch.cartesian_prod(ys, xs).flip(1)  # rows (x, y), y-major: reshapes to [len(ys), len(xs)]
        fit.plane = (xs, ys, probabilities(grid).reshape(len(ys), len(xs), -1))
    else:
        split = "validation" if data.has_val else "training"
        x, y = (data.raw_x_val, data.raw_y_val) if data.has_val else (data.raw_x_train, data.raw_y_train)
        k = len(fit.classes)
        pairs = y.argmax(1) * k + predict(run, x).argmax(1)
        fit.confusion, fit.confusion_split = torch.bincount(pairs, minlength=k * k).reshape(k, k), split
    return fit
