"""Device page benchmark: is what the page reports what the hardware does?

    .venv/bin/python bench/bench_device.py [--sizes 256 1024 4096] [--devices cpu cuda:0] [--rounds 3]

For each device, dtype and size it times ``a @ b`` twice, alternating, ROUNDS rounds:
    - page: ``torchstart.matmul_bench.run_benchmark`` exactly as the Device page calls it
      (2 warm-up runs, 5 timed, the median, with the page's progress callback);
    - baseline: ``torch.utils.benchmark.Timer(...).blocked_autorange()``, PyTorch's own timer
      (it synchronises CUDA itself and runs the product in blocks).
It prints both GFLOP/s (best round of each) and the ratio page / baseline. The page must never
read faster than the baseline by more than TARGET's upper end, at any size: a page that forgot
``torch.cuda.synchronize`` would time only the kernel launch and report GPU figures many times too
high. Where one product takes a millisecond or more, the per-run clock and synchronise calls are
noise, so the ratio must also reach TARGET's lower end. Below that the page times single products
(latency, launch included) while the baseline times back-to-back blocks (throughput), and the
page may read lower.
With a GPU it also prints the GPU's speed-up over the CPU's float32 at each size.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.utils.benchmark as tub  # noqa: E402

from torchstart import matmul_bench as mb  # noqa: E402
from torchstart.devices import available_devices  # noqa: E402

TARGET = (0.8, 1.25)  # page / baseline GFLOP/s; the lower end only where a product takes >= MIN_TIMED_S
MIN_TIMED_S = 1e-3


def page_gflops(case: mb.BenchCase) -> float:
    """GFLOP/s of one case through the page's own benchmark path, progress callback included."""
    result = mb.run_benchmark([case], mb.WARMUP.default, mb.REPEATS.default, on_step=lambda step: False)
    (measurement,) = result.measurements
    return measurement.gflops


def baseline_gflops(case: mb.BenchCase) -> tuple[float, float]:
    """(GFLOP/s, seconds per product) from ``torch.utils.benchmark`` on the same operands."""
    a, b = mb.make_operands(case)
    timer = tub.Timer(stmt="a @ b", globals={"a": a, "b": b}, num_threads=torch.get_num_threads())
    # Timer's clock synchronizes only the current device: make it a's, or cuda:1 times kernel launches only.
    with torch.cuda.device(a.device) if a.is_cuda else contextlib.nullcontext():
        seconds = timer.blocked_autorange(min_run_time=0.3).median
    return mb.matmul_flops(case.size) / seconds / 1e9, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024, 2048])
    parser.add_argument("--devices", nargs="+", default=available_devices())
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cases = mb.plan_cases(args.sizes, args.devices, list(mb.DTYPES))
    gpus = [f"{d} = {torch.cuda.get_device_name(torch.device(d))}" for d in args.devices if d != "cpu"]
    print(f"torch {torch.__version__}, CUDA build {torch.version.cuda}, {torch.get_num_threads()} CPU threads"
          + "".join(f"; {g}" for g in gpus))
    print(f"{'device':>7} {'dtype':>8} {'n':>5} {'page GFLOP/s':>13} {'baseline':>10} {'ratio':>6}  check")
    failed, rates = 0, {}
    for case in cases:
        page, base, seconds = 0.0, 0.0, 0.0
        for _ in range(args.rounds):  # alternate so a busy moment hits both alike
            page = max(page, page_gflops(case))
            gflops, secs = baseline_gflops(case)
            if gflops > base:
                base, seconds = gflops, secs
        ratio = page / base
        rates[case] = page
        low = TARGET[0] if seconds >= MIN_TIMED_S else 0.0  # short products: only "never too fast"
        ok = low <= ratio <= TARGET[1]
        failed += not ok
        check = f"{'PASS' if ok else 'FAIL'} (target {low:g}-{TARGET[1]:g}; {seconds * 1e3:.3f} ms a product)"
        print(f"{case.device:>7} {case.dtype:>8} {case.size:>5} {page:>13,.1f} {base:>10,.1f} {ratio:>6.2f}  {check}")
    cpu = {c.size: g for c, g in rates.items() if c.device == "cpu"}
    for case, gflops in rates.items():
        if case.device != "cpu" and case.size in cpu:
            print(f"speed-up {case.device} {case.dtype} n={case.size}: {gflops / cpu[case.size]:,.1f}× the CPU float32")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
