"""A square-matmul benchmark: median time and GFLOP/s per size, device and dtype.

GPU kernels run asynchronously, so every timed run is bracketed by
``torch.cuda.synchronize`` (a no-op path on the CPU); warm-up runs pay for
kernel selection, caches and clock ramp-up before anything is timed. A caller's
``on_step`` callback is called before every single run and may return True to stop.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import pandas as pd
import torch

from torchstart.devices import available_devices
from torchstart.errors import TorchstartError
from torchstart.fair_share import give_way
from torchstart.params import IntParam

SIZE_OPTIONS: tuple[int, ...] = (64, 128, 256, 512, 1024, 2048, 4096)
MAX_SIZE = SIZE_OPTIONS[-1]
DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "bfloat16": torch.bfloat16,
                                  "float16": torch.float16}
# Half-precision matmuls on a CPU are slow emulations, not what the comparison is about.
GPU_ONLY_DTYPES = frozenset({"bfloat16", "float16"})
WARMUP = IntParam("Warm-up runs", default=2, min_value=0, max_value=5,
                  help="Untimed runs per size first: they pay for kernel choice, caches and clocks.")
REPEATS = IntParam("Timed runs", default=5, min_value=1, max_value=15,
                   help="Timed runs per size; the median is reported, so from 3 runs on one hiccup does not "
                        "count (the median of 2 is their mean, of 1 the run itself).")
# Why a GPU can lose at small sizes: each timed run is one launch between two synchronize() calls.
SMALL_SIZE_NOTE = (
    "Each timed GPU run is one `a @ b` between two `torch.cuda.synchronize()` calls, so it also pays a kernel "
    "launch and the synchronisation round trips: tens of microseconds at any size. At small n (64–256) "
    "that latency, not the GPU's throughput, is what is measured, and the GPU can come out slower than the "
    "CPU; its speed-up shows at the larger sizes."
)


def float32_precision_note(precision: str) -> str:
    """What the float32 rows measure under ``torch.get_float32_matmul_precision()`` and what TF32 would change."""
    if precision == "highest":
        measured = ("The float32 rows are true float32 arithmetic: `torch.get_float32_matmul_precision()` is "
                    "`\"highest\"`, PyTorch's default.")
    else:
        measured = (f"`torch.get_float32_matmul_precision()` is `\"{precision}\"` in this process, so on NVIDIA GPUs "
                    "from Ampere on the float32 rows may already use reduced-precision tensor cores.")
    return (f"{measured} `torch.set_float32_matmul_precision(\"high\")` lets NVIDIA GPUs from Ampere "
            "(compute capability 8.0) on multiply float32 matrices on TF32 tensor cores: 10 stored mantissa "
            "bits instead of 23 (about 3 significant digits), same range, often several times the float32 "
            "GFLOP/s. It is one switch for the whole process, so this shared app leaves it alone; on a GPU, the "
            f"bfloat16 and float16 rows show what tensor cores can do. {_conv_tf32_note()}")


def _conv_tf32_note() -> str:
    """Convolutions have their own switch, on by default: a float32 CNN may use TF32 where matmuls do not."""
    if torch.backends.cudnn.allow_tf32:
        return ("Convolutions are a separate switch, and it is on: `torch.backends.cudnn.allow_tf32` is True "
                "(PyTorch's default), so on those GPUs cuDNN may run float32 convolutions on TF32.")
    return "Convolutions have a separate switch, `torch.backends.cudnn.allow_tf32`; it is False in this process."


# The cap on total work: a page run stops itself after this long (its callback returns True).
MAX_RUN_SECONDS = 180.0
SLOW_RUN_SECONDS = 10.0


def matmul_flops(n: int) -> int:
    """Floating-point operations of an n×n by n×n matmul: n² outputs, each n multiplies and n adds."""
    return 2 * n ** 3


@dataclass(frozen=True)
class BenchCase:
    """One thing to time: a size on a device in a dtype."""

    device: str
    dtype: str
    size: int


@dataclass(frozen=True)
class Measurement:
    """The timed runs of one case, in seconds."""

    device: str
    dtype: str
    size: int
    times_s: tuple[float, ...]

    @property
    def median_s(self) -> float:
        """Median seconds per matmul."""
        return statistics.median(self.times_s)

    @property
    def gflops(self) -> float:
        """Billions of floating-point operations per second at the median time."""
        return matmul_flops(self.size) / self.median_s / 1e9


@dataclass(frozen=True)
class BenchStep:
    """Where a run stands, handed to ``on_step`` before each matmul (and once at the end)."""

    done_runs: int
    total_runs: int
    case: BenchCase | None
    phase: str  # "warm-up", "timed" or "done"

    @property
    def fraction(self) -> float:
        """Share of all runs completed, 0..1."""
        return self.done_runs / self.total_runs if self.total_runs else 1.0


@dataclass
class BenchResult:
    """A benchmark run, filled in place as it goes so an interrupted caller keeps what was measured."""

    cases: list[BenchCase]
    warmup: int
    repeats: int
    measurements: list[Measurement] = field(default_factory=list)
    finished: bool = False
    stopped: bool = False
    elapsed_s: float = 0.0


def check_sizes(sizes: Iterable[int]) -> list[int]:
    """Sorted sizes, each one of ``SIZE_OPTIONS`` (powers of two from 64 to the cap)."""
    sizes = sorted(set(sizes))
    if not sizes:
        raise TorchstartError("Pick at least one matrix size to time.")
    for n in sizes:
        if n > MAX_SIZE:
            raise TorchstartError(f"Matrix size is capped at {MAX_SIZE} in this playground; got {n}. "
                                  "Pick a smaller size.")
        if n not in SIZE_OPTIONS:
            raise TorchstartError(f"Matrix size must be one of {', '.join(map(str, SIZE_OPTIONS))}; got {n}.")
    return sizes


def plan_cases(sizes: Iterable[int], devices: Iterable[str], dtypes: Iterable[str]) -> list[BenchCase]:
    """Every (size, device, dtype) to time, smallest sizes first so a stopped run still compares devices."""
    sizes = check_sizes(sizes)
    devices, dtypes = list(dict.fromkeys(devices)), list(dict.fromkeys(dtypes))
    usable = available_devices()
    for name in devices:
        if name not in usable:
            raise TorchstartError(f"Device {name!r} is not available here; choose from {', '.join(usable)}.")
    for name in dtypes:
        if name not in DTYPES:
            raise TorchstartError(f"dtype must be one of {', '.join(DTYPES)}; got {name!r}.")
    cases = [BenchCase(dev, dt, n) for n in sizes for dev in devices for dt in dtypes
             if not (dt in GPU_ONLY_DTYPES and not dev.startswith("cuda"))]
    if not cases:
        raise TorchstartError("Nothing to time: pick a device, and float32 for the CPU "
                              "(bfloat16 and float16 are timed on GPUs only).")
    return cases


def synchronize(device: torch.device) -> None:
    """Wait until queued GPU work is done; CPU ops are already finished when they return."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_operands(case: BenchCase) -> tuple[torch.Tensor, torch.Tensor]:
    """Two random n×n matrices created directly on the device (no host-to-device copy timed)."""
    device = torch.device(case.device)
    gen = torch.Generator(device=device).manual_seed(0)
    shape = (case.size, case.size)
    return (torch.randn(shape, generator=gen, device=device, dtype=DTYPES[case.dtype]),
            torch.randn(shape, generator=gen, device=device, dtype=DTYPES[case.dtype]))


def time_matmul_once(a: torch.Tensor, b: torch.Tensor) -> float:
    """Seconds for one ``a @ b``, synchronising before and after so GPU time is real."""
    synchronize(a.device)
    start = time.perf_counter()
    a @ b
    synchronize(a.device)
    return time.perf_counter() - start


def run_benchmark(cases: list[BenchCase], warmup: int, repeats: int,
                  on_step: Callable[[BenchStep], bool | None] | None = None,
                  into: BenchResult | None = None) -> BenchResult:
    """Time every case: ``warmup`` untimed then ``repeats`` timed matmuls, keeping the timed ones.

    ``on_step`` is called before each matmul with the progress so far; returning True
    stops the run (``result.stopped``). ``into`` is filled in place when given, so a
    caller interrupted from inside ``on_step`` still holds every finished measurement.
    """
    warmup, repeats = WARMUP.check(warmup), REPEATS.check(repeats)
    result = into if into is not None else BenchResult(cases=list(cases), warmup=warmup, repeats=repeats)
    per_case = warmup + repeats
    total = per_case * len(cases)
    started = time.perf_counter()
    for index, case in enumerate(cases):
        a, b = make_operands(case)
        times: list[float] = []
        for run in range(per_case):
            phase = "warm-up" if run < warmup else "timed"
            if on_step is not None and on_step(BenchStep(index * per_case + run, total, case, phase)):
                result.stopped = True
                break
            give_way()  # never time a matmul while another learner's page run competes for the CPU
            seconds = time_matmul_once(a, b)
            if run >= warmup:
                times.append(seconds)
        result.elapsed_s = time.perf_counter() - started
        if result.stopped:
            break
        result.measurements.append(Measurement(case.device, case.dtype, case.size, tuple(times)))
        del a, b  # free the operands before the next, possibly bigger, size
    result.finished = not result.stopped
    if on_step is not None:
        on_step(BenchStep(len(result.measurements) * per_case, total, None, "done"))
    return result


# A case whose median is this many times its series' best pace, plus a fixed slack for launch, synchronisation
# and timer overhead, was slowed by something other than its size: a matmul's rate does not fall with n here.
DISTURBED_FACTOR = 4.0
DISTURBED_SLACK_S = 0.5e-3


def disturbed(measurements: list[Measurement],
              known_rates: dict[str, float] | None = None) -> list[tuple[Measurement, float]]:
    """(case, seconds at its best pace) for cases far slower than their device and dtype's best measured pace.

    Another program, another session's run or a browser on the same machine can take a core for a few
    milliseconds at a time; PyTorch's CPU threads wait for one another at the end of every matmul, so
    each run then pays that whole time slice. ``known_rates`` (float32 GFLOP/s per device, from an earlier
    run or a probe) lets a run of small sizes alone be judged too.
    """
    best: dict[tuple[str, str], float] = {}
    for m in measurements:
        known = (known_rates or {}).get(m.device, 0.0) if m.dtype == "float32" else 0.0
        best[(m.device, m.dtype)] = max(best.get((m.device, m.dtype), 0.0), m.gflops, known)
    paced = [(m, matmul_flops(m.size) / (best[(m.device, m.dtype)] * 1e9)) for m in measurements]
    return [(m, pace) for m, pace in paced if m.median_s > DISTURBED_FACTOR * pace + DISTURBED_SLACK_S]


def disturbed_note(slow: list[tuple[Measurement, float]], warmup: int) -> str:
    """Which cases ran far below their device's pace, and why that happens (for the page's warning)."""
    threads = torch.get_num_threads()
    cases = "; ".join(f"{m.device} {m.dtype} n={m.size}: median {m.median_s * 1e3:.3f} ms, where the pace it "
                      f"reached elsewhere gives {pace * 1e3:.3f} ms" for m, pace in slow[:4])
    if len(slow) > 4:
        cases += f"; and {len(slow) - 4} more"
    why = ("Something else held the processor while they were timed: another program, another learner's run, "
           "or a browser on the same machine")
    if any(m.device == "cpu" for m, _ in slow) and threads > 1:
        why += (f". PyTorch's {threads} CPU threads wait for one another at the end of every matmul, so when one "
                "of them loses its core, each run pays a whole scheduler time slice: a few milliseconds")
    if warmup == 0:  # a cold first run: n=64 took 0.2-6 ms in a fresh process against 0.01 ms warm
        why = ("Warm-up runs is 0, so the timed runs include each size's first, cold one, which pays one-time "
               "costs (memory, kernel choice, caches; on a GPU, library set-up) often far above the matmul "
               "itself: set Warm-up runs to 1 or more. Or: " + why[0].lower() + why[1:])
    return (f"Some cases ran far below their own device's pace ({cases}). {why}. Run the benchmark again: the "
            "figures of a quiet run are the ones to trust.")


def probe_gflops(device: str) -> float:
    """A quick rate for estimating run time: the median of 3 mid-size float32 matmuls."""
    size = 512 if device == "cpu" else 2048
    a, b = make_operands(BenchCase(device, "float32", size))
    time_matmul_once(a, b)  # warm-up
    seconds = statistics.median(time_matmul_once(a, b) for _ in range(3))
    return matmul_flops(size) / seconds / 1e9


def measured_rates(measurements: list[Measurement], min_size: int = 512) -> dict[str, float]:
    """Per device, the float32 GFLOP/s at its largest measured size (from ``min_size`` up)."""
    rates: dict[str, tuple[int, float]] = {}
    for m in measurements:
        if m.dtype == "float32" and m.size >= min_size and m.size >= rates.get(m.device, (0, 0.0))[0]:
            rates[m.device] = (m.size, m.gflops)
    return {device: gflops for device, (_, gflops) in rates.items()}


RUN_OVERHEAD_S = 5e-4  # per product: Stop check, synchronize, clock (sizes 64-512 ran 24 products in 0.024 s)


def estimate_seconds(cases: list[BenchCase], warmup: int, repeats: int, rates: dict[str, float]) -> float:
    """Rough run time from per-device GFLOP/s ``rates`` (half precision assumed no faster: an upper bound),
    plus each product's fixed cost, which small sizes are made of ("roughly 0.0 s" for a 0.1 s run)."""
    return sum((matmul_flops(c.size) / (rates[c.device] * 1e9) + RUN_OVERHEAD_S) * (warmup + repeats) for c in cases)


RESULT_COLUMNS = ["device", "dtype", "size", "median_ms", "min_ms", "max_ms", "gflops"]


def results_frame(measurements: list[Measurement]) -> pd.DataFrame:
    """One row per measurement: device, dtype, size, median / fastest / slowest ms and GFLOP/s."""
    rows = [(m.device, m.dtype, m.size, m.median_s * 1e3, min(m.times_s) * 1e3, max(m.times_s) * 1e3,
             m.gflops) for m in measurements]
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def speedup_frame(measurements: list[Measurement]) -> pd.DataFrame:
    """GPU GFLOP/s over CPU float32 GFLOP/s at the same size, for every GPU measurement with a CPU twin."""
    cpu = {m.size: m.gflops for m in measurements if m.device == "cpu" and m.dtype == "float32"}
    rows = [(m.device, m.dtype, m.size, m.gflops / cpu[m.size])
            for m in measurements if m.device != "cpu" and m.size in cpu]
    return pd.DataFrame(rows, columns=["device", "dtype", "size", "speedup"])
