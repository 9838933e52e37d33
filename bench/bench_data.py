"""Data page speed: CSV -> tensors, and one epoch of the shared loader, each against its plain baseline.

    .venv/bin/python bench/bench_data.py [--rows 1000000] [--repeats 3]

(1) Load a ROWS x 10 numeric CSV into float32 tensors through ``torchstart.csv_loading``
    and ``torchstart.data_prep`` (the page's path) vs ``pandas.read_csv(path,
    engine="pyarrow")`` + ``torch.from_numpy``. Ours is timed twice: from the bytes already
    in memory (as on the page: Streamlit holds the upload before our code runs) and from
    disk (``path.read_bytes()`` included). Best of ``--repeats`` interleaved runs each.
    Peak memory: each path runs once in a fresh subprocess; the figure is the growth of
    the process's peak resident set from just before the load (after imports) to after
    it, read from ``VmHWM`` in /proc/self/status (Linux; unlike ``ru_maxrss`` it is not
    inherited from the parent across fork+exec). It counts everything the process
    touched (pyarrow buffers, the DataFrame, the tensors), not only Python allocations.
(2) One epoch at batch size 256 with ``torchstart.loaders.make_loader`` (shuffled) vs
    plain batched slicing of a shuffled index over the same tensors.
Targets: (1) time ratio <= 1.3, peak memory <= 3x the file size; (2) ratio <= 1.5.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from torchstart.csv_loading import compact_integers, load_csv  # noqa: E402
from torchstart.data_prep import default_choices, prepare  # noqa: E402
from torchstart.datasets import TabularDataset  # noqa: E402
from torchstart.loaders import make_loader  # noqa: E402

COLUMNS = 10
BATCH = 256


def write_csv(path: Path, rows: int) -> None:
    """A numeric CSV: 9 standard-normal features and a target, six decimals each."""
    rng = np.random.default_rng(0)
    values = rng.standard_normal((rows, COLUMNS))
    header = ",".join([f"x{i}" for i in range(COLUMNS - 1)] + ["y"])
    np.savetxt(path, values, fmt="%.6f", delimiter=",", header=header, comments="")


def ours(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The page's path from disk: read bytes -> load_csv -> compact_integers -> prepare -> float32 tensors."""
    return ours_from_bytes(path.read_bytes(), path.name)


def ours_from_bytes(data: bytes, name: str = "bench.csv") -> tuple[torch.Tensor, torch.Tensor]:
    """The page's path from the uploaded bytes: load_csv -> compact_integers -> prepare -> float32 tensors."""
    frame = compact_integers(load_csv(data, name).frame)  # a no-op for this file's floats, kept for fidelity
    ds = prepare(frame, default_choices(frame), name).dataset
    return ds.features, ds.targets


def baseline(path: Path) -> torch.Tensor:
    """pandas' pyarrow engine straight from the path, then torch.from_numpy."""
    with warnings.catch_warnings():  # pandas may hand a read-only view; torch warns, the values are fine
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(pd.read_csv(path, engine="pyarrow").to_numpy())


def best_times(fns: dict, args: tuple, repeats: int) -> dict[str, float]:
    """Fastest of ``repeats`` calls of each function, interleaved so load spikes hit both alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn(*args)
            times[name].append(time.perf_counter() - start)
    return {name: min(t) for name, t in times.items()}


def peak_rss() -> int:
    """This process's peak resident set so far, in bytes (VmHWM, in kB in /proc/self/status)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status (this measurement needs Linux)")


def peak_memory(which: str, path: Path) -> int:
    """Peak RSS growth (bytes) of one load in a fresh interpreter."""
    call = {"baseline": "b.baseline(path)", "ours": "b.ours(path)",
            "ours_from_bytes": "b.ours_from_bytes(data)"}[which]
    script = f"""
import sys, json
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
import bench.bench_data as b
path = Path({str(path)!r})
data = path.read_bytes() if {which == "ours_from_bytes"} else None
before = b.peak_rss()
result = {call}
print(json.dumps(b.peak_rss() - before))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return int(json.loads(out.stdout.strip().splitlines()[-1]))


def epoch_loader(ds: TabularDataset, seed: int) -> int:
    """One shuffled epoch through make_loader; returns rows seen."""
    seen = 0
    for x, _ in make_loader(ds, BATCH, shuffle=True, generator=torch.Generator().manual_seed(seed)):
        seen += len(x)
    return seen


def epoch_slicing(ds: TabularDataset, seed: int) -> int:
    """One shuffled epoch by slicing a permutation and gathering rows: the floor any loader pays."""
    order = torch.randperm(len(ds), generator=torch.Generator().manual_seed(seed))
    seen = 0
    for start in range(0, len(ds), BATCH):
        idx = order[start:start + BATCH]
        x, _ = ds.features[idx], ds.targets[idx]
        seen += len(x)
    return seen


def main() -> None:
    """Generate the CSV, time both comparisons, print figures and ratios."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.csv"
        write_csv(path, args.rows)
        size = path.stat().st_size
        print(f"CSV: {args.rows:,} rows x {COLUMNS} columns, {size / 2**20:.1f} MB")
        x, y = ours(path)
        ref = baseline(path)
        assert torch.equal(torch.cat([x, y], 1), ref.float()), "our tensors differ from the baseline's"
        data = path.read_bytes()
        t = best_times({"base": lambda: baseline(path), "bytes": lambda: ours_from_bytes(data),
                        "disk": lambda: ours(path)}, (), args.repeats)
        del data
        print(f"load  baseline read_csv(pyarrow)+from_numpy from disk: {t['base']:.3f} s")
        for label, key in (("from the uploaded bytes", "bytes"), ("from disk (read_bytes included)", "disk")):
            print(f"load  torchstart load_csv+prepare {label:32s} {t[key]:.3f} s   "
                  f"ratio {t[key] / t['base']:.2f} (target <= 1.3)")
        for label, which in (("baseline read_csv(pyarrow) from disk", "baseline"),
                             ("ours from the uploaded bytes", "ours_from_bytes"),
                             ("ours from disk (bytes included)", "ours")):
            grown = peak_memory(which, path)
            print(f"peak RSS growth  {label:38s} {grown / 2**20:6.0f} MB = {grown / size:.2f}x file (target <= 3)")
        ds = TabularDataset(x, y, [f"x{i}" for i in range(x.shape[1])], ["y"])
        assert epoch_loader(ds, 0) == epoch_slicing(ds, 0) == len(ds)
        t = best_times({"slice": lambda: epoch_slicing(ds, 0), "loader": lambda: epoch_loader(ds, 0)}, (),
                       args.repeats)
        print(f"epoch batch {BATCH}  plain slicing: {t['slice']:.3f} s")
        print(f"epoch batch {BATCH}  make_loader:   {t['loader']:.3f} s   "
              f"ratio {t['loader'] / t['slice']:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
