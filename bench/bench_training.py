"""Training page speed: the page's training path against the plain PyTorch loop, in the same process.

    .venv/bin/python bench/bench_training.py [--epochs 20000] [--rounds 7] [--rows 100000]

(1) The classic run (nn.Linear(1, 1), 4 points, MSELoss, SGD lr 0.01), EPOCHS epochs:
    - plain: the textbook loop, logging ``Epoch [k/N], Loss: ...`` every 10 epochs (``loss.item()``);
    - page: ``torchstart.training.train`` with the page's live callback minus Streamlit itself:
      under the same throttle it builds both live figures, the progress line and the JSON
      that ``st.plotly_chart`` would send, and logs every 10 epochs as the page does.
    The two run alternately for ROUNDS rounds. Times are CPU time of this process
    (``time.process_time``), which other programs on a shared machine disturb far less
    than wall time; wall-clock figures are printed too. The ratio of the best times is
    the figure (the median per-round ratio is printed too). Target: page / plain <= 1.10.
(2) Epochs per second on a ROWS-row synthetic line at batch size 256 (shuffled), linear model:
    the page's path and a plain ``DataLoader(TensorDataset)`` loop for reference.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import plotly.io  # noqa: E402
import torch  # noqa: E402
from torch import nn, optim  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from torchstart.training import Progress, TrainingRun, log_lines, progress_text, start_run, train  # noqa: E402
from torchstart.training_figures import live_figures  # noqa: E402
from torchstart.training_setup import TrainingConfig  # noqa: E402

TARGET_RATIO = 1.10


class Clock:
    """CPU and wall time of a stretch of code."""

    def __enter__(self) -> "Clock":
        self.cpu, self.wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu, self.wall = time.process_time() - self.cpu, time.perf_counter() - self.wall


def plain_classic(epochs: int, seed: int = 42) -> tuple[Clock, float, list[str]]:
    """The classic script's loop; returns (times, final weight, log)."""
    x = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    y = torch.tensor([[2.0], [4.0], [6.0], [8.0]])
    torch.manual_seed(seed)
    model = nn.Linear(1, 1)
    criterion = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    log = []
    with Clock() as clock:
        for epoch in range(epochs):
            outputs = model(x)
            loss = criterion(outputs, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if (epoch + 1) % 10 == 0:
                log.append(f"Epoch [{epoch + 1}/{epochs}], Loss: {loss.item():.4f}")
    return clock, model.weight.item(), log


def headless_live(run: TrainingRun, progress: Progress) -> bool:
    """The page's ``LiveView.update`` without Streamlit: figures, progress line, and the chart JSON."""
    loss_fig, fit_fig = live_figures(run, log_y=True)
    progress_text(progress)
    for fig in (loss_fig, fit_fig):
        plotly.io.to_json(fig.to_dict(), validate=False)  # what st.plotly_chart serialises
    headless_live.calls += 1  # type: ignore[attr-defined]
    return False


headless_live.calls = 0  # type: ignore[attr-defined]


def page_classic(epochs: int) -> tuple[Clock, float, list[str]]:
    """The page's path: start_run + train with the live callback; returns (times, final weight, log)."""
    run = start_run(TrainingConfig(epochs=epochs))
    with Clock() as clock:
        train(run, epochs, callback=headless_live)
    return clock, run.model.weight.item(), log_lines(run)


def classic_ratio(epochs: int, rounds: int) -> None:
    """Alternate plain and page runs; print best times, ratio, and check both trained the same."""
    times: dict[str, dict[str, list[float]]] = {k: {"cpu": [], "wall": []} for k in ("plain", "page")}
    for i in range(rounds):
        order = (plain_classic, page_classic) if i % 2 == 0 else (page_classic, plain_classic)
        results = {fn: fn(epochs) for fn in order}
        (c_plain, w_plain, log_plain), (c_page, w_page, log_page) = results[plain_classic], results[page_classic]
        assert abs(w_plain - w_page) < 1e-6 and log_plain == log_page, "page and plain runs differ"
        for name, clock in (("plain", c_plain), ("page", c_page)):
            times[name]["cpu"].append(clock.cpu)
            times[name]["wall"].append(clock.wall)
    print(f"(1) classic, {epochs:,} epochs, {rounds} rounds (same final weight and log in every round)")
    for name, label in (("plain", "plain loop"), ("page", "page path ")):
        cpu, wall = min(times[name]["cpu"]), min(times[name]["wall"])
        print(f"    {label}: best CPU {cpu:.3f} s ({epochs / cpu:,.0f} epochs/s), best wall {wall:.3f} s")
    print(f"    live redraws per page run: {headless_live.calls / rounds:.1f}")
    ratio = {kind: min(times["page"][kind]) / min(times["plain"][kind]) for kind in ("cpu", "wall")}
    median = statistics.median(p / q for p, q in zip(times["page"]["cpu"], times["plain"]["cpu"]))
    best = ratio["cpu"]
    print(f"    ratio page/plain: CPU best-of {best:.3f} (median per round {median:.3f}), wall best-of "
          f"{ratio['wall']:.3f}; target <= {TARGET_RATIO:.2f}: {'PASS' if best <= TARGET_RATIO else 'FAIL'}")
    if best > TARGET_RATIO:
        raise SystemExit(1)


def big_minibatch(rows: int, epochs: int) -> None:
    """Epochs/s at batch size 256 on a big synthetic line: page path and a plain DataLoader loop."""
    cfg = TrainingConfig(data="line", rows=rows, val_share=0.0, full_batch=False, batch_size=256, epochs=epochs)
    run = start_run(cfg)
    with Clock() as page:
        train(run, epochs, callback=headless_live)

    x, y = run.x_train, run.y_train
    torch.manual_seed(cfg.seed)
    model = nn.Linear(1, 1)
    criterion, optimizer = nn.MSELoss(), optim.SGD(model.parameters(), lr=cfg.lr)
    loader = DataLoader(TensorDataset(x, y), batch_size=256, shuffle=True,
                        generator=torch.Generator().manual_seed(cfg.seed))
    with Clock() as plain:
        for _ in range(epochs):
            for xb, yb in loader:
                loss = criterion(model(xb), yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    print(f"(2) synthetic line, {rows:,} rows, batch size 256 ({-(-rows // 256):,} steps per epoch), "
          f"linear model, {epochs} epochs")
    for label, clock in (("page path (make_loader)", page), ("plain DataLoader(TensorDataset)", plain)):
        print(f"    {label}: {epochs / clock.cpu:.2f} epochs/s by CPU time "
              f"({epochs * rows / clock.cpu:,.0f} rows/s), {epochs / clock.wall:.2f} by wall time")


def main() -> None:
    """Parse arguments and run both measurements."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--big-epochs", type=int, default=3)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    big_minibatch(args.rows, args.big_epochs)
    classic_ratio(args.epochs, args.rounds)


if __name__ == "__main__":
    main()
