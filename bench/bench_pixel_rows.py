"""Training page on pixel rows: what one evaluation pass over a big split costs, page against plain PyTorch.

    .venv/bin/python bench/bench_pixel_rows.py [--rows 48000] [--rounds 3]

The model is the Models page preset "Small CNN on pixel rows" (nn.Unflatten, then the Small CNN); the rows
are the Data page's Digits. Each variant runs in a fresh Python process, so its peak memory is its own:
    - baseline: ``model.eval(); with torch.no_grad(): model(x)`` on all rows at once, as a script would;
    - page: ``torchstart.training.predict`` on the same split, as every Training page rerun calls it
      (chunks of ``run.eval_rows`` rows, outputs kept until the weights change), timed twice: the first call
      and a rerun.
It prints the peak resident memory each process added above its loaded data, the time of each pass, and
the ratios page / baseline. Target: page memory at most 0.25× the baseline's, page time at most 1.2×.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
import torch
from functools import partial
from torchstart.builtin_datasets import make_builtin
from torchstart.model_code import handoff_code
from torchstart.model_spec import PRESETS, build_model, check_spec
from torchstart.session import SessionModel
from torchstart.training import predict, start_run
from torchstart.training_setup import CROSS_ENTROPY, TrainingConfig

rows = {rows}
spec = PRESETS["Small CNN on pixel rows"]
model = SessionModel(spec.class_name, build_model(spec, seed=0), partial(build_model, spec), spec.input_shape,
                     check_spec(spec).output_shape, handoff_code(spec))
data = make_builtin("digits", {{"n": 10_000, "seed": 0}})
x = data.features.repeat(-(-rows // 10_000), 1)[:rows]  # the Digits cap is 10,000 rows: repeat them
y = data.targets.repeat(-(-rows // 10_000), 1)[:rows]
from torchstart.datasets import TabularDataset
big = TabularDataset(x, y, data.feature_names, data.target_names, "digits", class_column="digit")
config = TrainingConfig(data="session", model="session", loss=CROSS_ENTROPY, val_share=0.0, full_batch=False,
                        batch_size=256)
run = start_run(config, big, model)
split = run.data.raw_x_train
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
times = []
if {page}:
    for _ in range(2):
        t = time.perf_counter(); predict(run, split); times.append(time.perf_counter() - t)
else:
    run.model.eval()
    with torch.no_grad():
        t = time.perf_counter(); run.model(split); times.append(time.perf_counter() - t)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"added_mb": (peak - base) / 1024, "times": times, "eval_rows": run.eval_rows}}))
"""


def measure(rows: int, page: bool) -> dict:
    """One fresh process: load the rows, run one variant, report its added peak memory and times."""
    out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT), rows=rows, page=page)],
                         capture_output=True, text=True, check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Parse arguments, run both variants ROUNDS times, print the best of each and the ratios."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=48_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    page = [measure(args.rows, True) for _ in range(args.rounds)]
    base = [measure(args.rows, False) for _ in range(args.rounds)]
    page_mb, base_mb = min(p["added_mb"] for p in page), min(b["added_mb"] for b in base)
    first, rerun = min(p["times"][0] for p in page), min(p["times"][1] for p in page)
    plain = min(b["times"][0] for b in base)
    print(f"{args.rows:,} pixel rows through the Small CNN on pixel rows, best of {args.rounds}:")
    print(f"  baseline model(x), all rows at once: +{base_mb:,.0f} MB peak, {plain:.2f} s")
    print(f"  page predict, chunks of {page[0]['eval_rows']:,} rows: +{page_mb:,.0f} MB peak, {first:.2f} s "
          f"first call, {rerun * 1000:.2f} ms on a rerun")
    print(f"  ratios page / baseline: memory {page_mb / base_mb:.2f}x (target <= 0.25x), "
          f"time {first / plain:.2f}x (target <= 1.2x)")


if __name__ == "__main__":
    main()
