"""Device page core: the report against the torch calls it names, the benchmark, the moves, the shown code."""

from __future__ import annotations

import contextlib
import io
import os
import statistics
from dataclasses import replace

import pytest
import torch

from torchstart import device_code
from torchstart import matmul_bench as mb
from torchstart.device_figures import gflops_figure, speedup_figure
from torchstart.device_moves import (EXAMPLE_MISMATCH_MESSAGE, OLDER_MISMATCH_MESSAGE, demonstrate_moves,
                                     explain_mismatch, mismatch_device, provoke_mismatch)
from torchstart.device_report import (EXAMPLE_GPU, GIB, GPU_COLUMNS, GPU_MEMORY_NOTE, collect_report, cuda_build_text,
                                      gpu_rows, no_cuda_notice, summary_rows)
from torchstart.errors import TorchstartError


def run_quietly(code: str) -> dict:
    """Execute our own generated code (never user text) and return its namespace."""
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "<generated>", "exec"), namespace)  # noqa: S102 - our generated code
    return namespace


# ------------------------------------------------------------------ report

def test_report_fields_match_torch_calls() -> None:
    report = collect_report()
    assert report.torch_version == torch.__version__
    assert report.cuda_build == torch.version.cuda
    assert report.cudnn_version == torch.backends.cudnn.version()
    assert report.cuda_available == torch.cuda.is_available()
    assert report.device_count == (torch.cuda.device_count() if torch.cuda.is_available() else 0)
    assert len(report.gpus) == report.device_count
    assert report.mps_built == torch.backends.mps.is_built()
    assert report.mps_available == torch.backends.mps.is_available()
    assert report.cpu_threads == torch.get_num_threads()
    assert report.mkl_available == torch.backends.mkl.is_available()
    assert report.openmp_available == torch.backends.openmp.is_available()
    assert report.config == torch.__config__.show()


def _shown(value: object) -> str:
    """How the report table writes a raw value."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def test_every_row_shows_what_its_named_call_returns() -> None:
    for what, shown, call in summary_rows(collect_report()):
        actual = eval(call, {"torch": torch})  # noqa: S307 - our own fixed call names, not user text
        if actual is None:
            assert shown.startswith("none"), what
        else:
            assert shown == _shown(actual), (what, call)


def test_report_reads_the_hip_version() -> None:
    assert collect_report().hip_build == torch.version.hip


def _cuda_row(report) -> str:
    """The value the table shows for torch.version.cuda."""
    return next(shown for _, shown, call in summary_rows(report) if call == "torch.version.cuda")


# What other installs report, built from this one: the wording is a pure function of these values.
CPU_ONLY = dict(cuda_build=None, hip_build=None, cudnn_version=None, cuda_available=False, device_count=0,
                gpus=(), mps_built=False, mps_available=False)
APPLE_MPS = {**CPU_ONLY, "mps_built": True, "mps_available": True}
ROCM = {**CPU_ONLY, "hip_build": "6.2.41133-dd7f95766", "cuda_available": True, "device_count": 1,
        "gpus": (EXAMPLE_GPU,)}


def test_cpu_only_build_says_no_cuda_gpu() -> None:
    report = replace(collect_report(), **CPU_ONLY)
    assert _cuda_row(report) == "none (CPU-only build)"
    notice = no_cuda_notice(report)
    assert notice.startswith("**No CUDA GPU here.**") and "MPS" not in notice


def test_apple_mps_is_named_not_called_no_gpu() -> None:
    report = replace(collect_report(), **APPLE_MPS)
    notice = no_cuda_notice(report)
    assert notice.startswith("**No CUDA GPU here.**") and "No GPU here" not in notice
    assert "`torch.backends.mps.is_available()` is `True`" in notice and "CPU or CUDA only" in notice
    assert _cuda_row(report) == "none (no CUDA in this build; it has Apple MPS)"


def test_rocm_build_is_not_called_cpu_only() -> None:
    report = replace(collect_report(), **ROCM)
    assert no_cuda_notice(report) is None  # torch.cuda drives ROCm GPUs: the GPU table is shown instead
    assert _cuda_row(report) == "none (ROCm build: HIP 6.2.41133-dd7f95766, from torch.version.hip)"
    assert "CPU-only" not in " ".join(shown for _, shown, _ in summary_rows(report))


def test_home_names_a_rocm_build_as_the_device_page_does(monkeypatch: pytest.MonkeyPatch) -> None:
    from torchstart.versions import environment_rows

    monkeypatch.setattr(torch.version, "cuda", None)
    monkeypatch.setattr(torch.version, "hip", ROCM["hip_build"])  # what a ROCm wheel sets
    rows = dict(environment_rows())
    assert rows["CUDA build"] == "none (ROCm build: HIP 6.2.41133-dd7f95766, from torch.version.hip)"
    assert rows["CUDA build"] == cuda_build_text(collect_report())


def test_this_install_gets_the_notice_exactly_without_cuda() -> None:
    report = collect_report()
    assert (no_cuda_notice(report) is None) == torch.cuda.is_available()
    if torch.version.cuda is None and torch.version.hip is None and not torch.backends.mps.is_built():
        assert _cuda_row(report) == "none (CPU-only build)"


def test_memory_note_defines_allocated_and_reserved_apart() -> None:
    note = GPU_MEMORY_NOTE
    assert "**Allocated**: bytes held by live tensors" in note
    assert "**Reserved**: allocated plus the free blocks" in note and "caching allocator" in note
    assert "CUDA context" in note and "nvidia-smi" in note and "whole server process" in note


def test_gpu_rows_convert_units() -> None:
    (row,) = gpu_rows((EXAMPLE_GPU,))
    assert len(row) == len(GPU_COLUMNS)
    assert row[0] == "cuda:0" and row[2] == "8.0"
    assert row[3] == pytest.approx(EXAMPLE_GPU.total_memory / GIB, abs=0.05)
    assert row[4] == EXAMPLE_GPU.multi_processor_count


def test_report_code_reproduces_the_report() -> None:
    ns = run_quietly(device_code.report_code())
    report = collect_report()
    for name in ("torch_version", "cuda_build", "hip_build", "cudnn_version", "cuda_available", "device_count",
                 "mps_built", "mps_available", "cpu_threads", "mkl_available", "openmp_available",
                 "float32_matmul_precision"):
        assert ns[name] == getattr(report, name), name
    assert [g["name"] for g in ns["gpus"]] == [g.name for g in report.gpus]


def test_report_shows_the_float32_matmul_precision() -> None:
    rows = {call: shown for _, shown, call in summary_rows(collect_report())}
    assert rows["torch.get_float32_matmul_precision()"] == torch.get_float32_matmul_precision()
    if os.environ.get("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE") != "1":  # NVIDIA's containers set it: "high" there
        assert rows["torch.get_float32_matmul_precision()"] == "highest"


def test_precision_note_says_what_the_float32_rows_measure() -> None:
    default = mb.float32_precision_note("highest")
    assert default.startswith("The float32 rows are true float32 arithmetic") and "TF32" in default
    assert "set_float32_matmul_precision(\"high\")" in default and "10 stored mantissa bits instead of 23" in default
    changed = mb.float32_precision_note("high")
    assert "true float32" not in changed and '`"high"` in this process' in changed
    # Convolutions use cuDNN's own switch, which PyTorch turns on by default.
    assert torch.backends.cudnn.allow_tf32 and "`torch.backends.cudnn.allow_tf32` is True" in default


# ------------------------------------------------------------------ benchmark

def test_benchmark_times_are_positive_and_gflops_sensible_on_cpu() -> None:
    cases = mb.plan_cases([64, 256], ["cpu"], ["float32"])
    result = mb.run_benchmark(cases, warmup=1, repeats=3)
    assert result.finished and not result.stopped
    assert [(m.device, m.dtype, m.size) for m in result.measurements] == [
        ("cpu", "float32", 64), ("cpu", "float32", 256)]
    for m in result.measurements:
        assert len(m.times_s) == 3 and all(t > 0 for t in m.times_s)
        assert m.median_s == statistics.median(m.times_s)
        assert m.gflops == pytest.approx(2 * m.size ** 3 / m.median_s / 1e9)
    # n=256 is 33.5 MFLOP: under 0.1 GFLOP/s would mean a third of a second per matmul.
    assert 0.1 < result.measurements[1].gflops < 1e5


def test_matmul_that_is_timed_is_the_real_product() -> None:
    a, b = mb.make_operands(mb.BenchCase("cpu", "float32", 64))
    gen = torch.Generator().manual_seed(0)
    expected_a = torch.randn((64, 64), generator=gen)
    assert torch.equal(a, expected_a)
    assert a.shape == b.shape == (64, 64) and not torch.equal(a, b)


def test_progress_callback_sees_every_run_in_order() -> None:
    steps: list[mb.BenchStep] = []
    cases = mb.plan_cases([64, 128], ["cpu"], ["float32"])
    mb.run_benchmark(cases, warmup=1, repeats=2, on_step=steps.append)
    assert [s.done_runs for s in steps] == [0, 1, 2, 3, 4, 5, 6]
    assert all(s.total_runs == 6 for s in steps)
    assert [s.phase for s in steps] == ["warm-up", "timed", "timed"] * 2 + ["done"]
    assert steps[-1].case is None and steps[-1].fraction == 1.0


def test_stop_callback_stops_the_run() -> None:
    cases = mb.plan_cases([64, 128, 256], ["cpu"], ["float32"])
    calls: list[mb.BenchStep] = []

    def stop_at_second_case(step: mb.BenchStep) -> bool:
        calls.append(step)
        return step.case is not None and step.case.size == 128

    result = mb.run_benchmark(cases, warmup=1, repeats=2, on_step=stop_at_second_case)
    assert result.stopped and not result.finished
    assert [m.size for m in result.measurements] == [64]
    # 3 runs of n=64, the refused first run of n=128, then the final report.
    assert len(calls) == 5 and calls[-1].phase == "done"


def test_interrupted_run_keeps_finished_measurements_in_place() -> None:
    """Streamlit interrupts by raising inside the callback: ``into`` must still hold the finished cases."""
    cases = mb.plan_cases([64, 128], ["cpu"], ["float32"])
    holder = mb.BenchResult(cases=cases, warmup=0, repeats=2)

    def interrupt(step: mb.BenchStep) -> None:
        if step.case is not None and step.case.size == 128:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        mb.run_benchmark(cases, warmup=0, repeats=2, on_step=interrupt, into=holder)
    assert [m.size for m in holder.measurements] == [64] and not holder.finished


@pytest.mark.parametrize("sizes, devices, dtypes, fragment", [
    ([], ["cpu"], ["float32"], "at least one"),
    ([8192], ["cpu"], ["float32"], "capped at 4096"),
    ([100], ["cpu"], ["float32"], "must be one of"),
    ([64], ["cuda:7"], ["float32"], "not available"),
    ([64], ["cpu"], ["int8"], "dtype must be"),
    ([64], ["cpu"], ["bfloat16"], "GPUs only"),
    ([64], [], ["float32"], "Nothing to time"),
])
def test_bad_benchmark_settings_are_refused(sizes, devices, dtypes, fragment) -> None:
    with pytest.raises(TorchstartError, match=fragment):
        mb.plan_cases(sizes, devices, dtypes)


@pytest.mark.parametrize("warmup, repeats", [(-1, 3), (6, 3), (1, 0), (1, 16)])
def test_run_counts_are_capped(warmup: int, repeats: int) -> None:
    with pytest.raises(TorchstartError):
        mb.run_benchmark(mb.plan_cases([64], ["cpu"], ["float32"]), warmup, repeats)


def test_half_precision_is_left_off_the_cpu() -> None:
    cases = mb.plan_cases([128, 64], ["cpu"], ["float32", "float16", "bfloat16"])
    assert cases == [mb.BenchCase("cpu", "float32", 64), mb.BenchCase("cpu", "float32", 128)]


def test_estimate_is_flops_over_rate_plus_each_products_fixed_cost() -> None:
    cases = [mb.BenchCase("cpu", "float32", 1024), mb.BenchCase("cpu", "float32", 2048)]
    seconds = mb.estimate_seconds(cases, warmup=1, repeats=4, rates={"cpu": 50.0})
    assert seconds == pytest.approx(5 * (2 * 1024 ** 3 + 2 * 2048 ** 3) / 50e9 + 10 * mb.RUN_OVERHEAD_S)
    # Small sizes are mostly fixed cost: 24 products of n <= 512 do not read "roughly 0.0 s".
    small = mb.plan_cases([64, 128, 256, 512], ["cpu"], ["float32"])
    assert mb.estimate_seconds(small, warmup=1, repeats=5, rates={"cpu": 1e6}) >= 0.01
    assert mb.probe_gflops("cpu") > 0


def test_speedup_is_gpu_rate_over_cpu_float32_rate() -> None:
    ms = [mb.Measurement("cpu", "float32", 64, (0.004,)), mb.Measurement("cuda:0", "float32", 64, (0.001,)),
          mb.Measurement("cuda:0", "float16", 64, (0.0005,)), mb.Measurement("cuda:0", "float32", 128, (0.1,))]
    frame = mb.speedup_frame(ms)
    assert frame.values.tolist() == [["cuda:0", "float32", 64, pytest.approx(4.0)],
                                     ["cuda:0", "float16", 64, pytest.approx(8.0)]]
    fig = speedup_figure(frame)
    assert [t.name for t in fig.data] == ["cuda:0 · float32", "cuda:0 · float16"]


def test_a_case_far_below_its_device_pace_is_called_disturbed() -> None:
    # What a 2-thread CPU run looked like with a browser busy on the same machine: n=64 paid a time slice.
    ms = [mb.Measurement("cpu", "float32", 64, (6.7e-3, 4.7e-3, 8.0e-3)),
          mb.Measurement("cpu", "float32", 512, (0.8e-3, 0.79e-3)),
          mb.Measurement("cpu", "float32", 1024, (6.4e-3, 6.5e-3)),
          mb.Measurement("cuda:0", "float16", 64, (2e-3,))]  # alone in its series: nothing to compare with
    best = max(2 * 512 ** 3 / 0.795e-3, 2 * 1024 ** 3 / 6.45e-3)  # the series' best FLOP/s (medians)
    ((slow, pace),) = mb.disturbed(ms)
    assert slow is ms[0] and pace == pytest.approx(2 * 64 ** 3 / best)
    note = mb.disturbed_note([(slow, pace)], warmup=2)
    assert "cpu float32 n=64: median 6.700 ms" in note and f"gives {pace * 1e3:.3f} ms" in note
    assert "Run the benchmark again" in note and "Warm-up runs is 0" not in note
    # With no warm-up the cold first run is timed too: that is named first.
    cold = mb.disturbed_note([(slow, pace)], warmup=0)
    assert "Warm-up runs is 0, so the timed runs include each size's first, cold one" in cold
    assert "Or: something else held the processor" in cold
    # A known float32 rate (an earlier run's) judges a lone small case; it says nothing about float16.
    lone = [mb.Measurement("cpu", "float32", 64, (5e-3,)), mb.Measurement("cuda:0", "float16", 64, (2e-3,))]
    assert [m for m, _ in mb.disturbed(lone, {"cpu": 300.0, "cuda:0": 5e4})] == [lone[0]]
    assert mb.disturbed(lone[:1], {"cpu": 0.1}) == []  # slower rates known: 5 ms is the usual pace then


def test_gflops_figure_plots_the_measured_rates() -> None:
    result = mb.run_benchmark(mb.plan_cases([64, 128], ["cpu"], ["float32"]), warmup=0, repeats=2)
    table = mb.results_frame(result.measurements)
    fig = gflops_figure(table)
    (trace,) = fig.data
    assert list(trace.x) == [64, 128]
    assert list(trace.y) == pytest.approx([m.gflops for m in result.measurements])


def test_gflops_figure_rings_only_the_disturbed_cases() -> None:
    measured = [mb.Measurement("cpu", "float32", 64, (1e-4,)), mb.Measurement("cpu", "float32", 128, (9e-3,)),
                mb.Measurement("cpu", "bfloat16", 128, (2e-3,))]
    table = mb.results_frame(measured)
    line_f32, line_bf16, ring = gflops_figure(table, {("cpu", "float32", 128)}).data
    assert ring.name.startswith("slowed by other work")
    assert list(ring.x) == [128] and list(ring.y) == pytest.approx([measured[1].gflops])
    assert len(gflops_figure(table, set()).data) == 2  # nothing ringed: no legend entry either


def test_benchmark_code_runs_and_reports_the_same_fields() -> None:
    code = device_code.benchmark_code([64, 128], ["cpu"], ["float32", "float16"], warmup=1, repeats=3)
    out, ns = io.StringIO(), {}
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<generated>", "exec"), ns)  # noqa: S102 - our generated code, not user text
    results = ns["results"]
    printed = [line for line in out.getvalue().splitlines() if " n=" in line]
    assert len(printed) == 2 and all("median" in p and "fastest" in p and "slowest" in p for p in printed)
    assert [(r["device"], r["dtype"], r["size"]) for r in results] == [
        ("cpu", "float32", 64), ("cpu", "float32", 128)]
    for row in results:
        assert list(row) == mb.RESULT_COLUMNS
        assert 0 < row["min_ms"] <= row["median_ms"] <= row["max_ms"]
        assert row["gflops"] == pytest.approx(2 * row["size"] ** 3 / (row["median_ms"] / 1e3) / 1e9)


# ------------------------------------------------------------------ moves

def test_moves_on_cpu_match_plain_torch() -> None:
    moves = demonstrate_moves(torch.device("cpu"))
    x = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    assert (moves.before_device, moves.after_device) == ("cpu", "cpu")
    assert moves.same_object == (x.to("cpu") is x) is True
    assert moves.values_equal and moves.model_returned_self
    assert moves.param_devices == (("weight", "cpu"), ("bias", "cpu"))
    assert moves.output_device == "cpu"


def test_moves_code_runs_on_cpu() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(device_code.moves_code("cpu"), "<generated>", "exec"), ns := {})  # noqa: S102 - ours
    assert "| same object: True | same values: True" in out.getvalue()  # the page's two rows
    assert ns["x_dev"] is ns["x"]
    assert ns["moved"] is ns["model"]
    assert {str(p.device) for p in ns["model"].parameters()} == {"cpu"}
    assert ns["out"].shape == (2, 2)


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU the error is raised live")
def test_mismatch_without_gpu_is_the_labelled_example() -> None:
    assert mismatch_device(torch.device("cpu")) is None
    mismatch = provoke_mismatch(torch.device("cpu"))
    assert not mismatch.live
    assert mismatch.message == EXAMPLE_MISMATCH_MESSAGE
    assert "**cpu**" in mismatch.explanation and "**cuda:0**" in mismatch.explanation


@pytest.mark.parametrize("message, arg, on, common", [
    (EXAMPLE_MISMATCH_MESSAGE, "mat1", "cpu", "cuda:0"),
    (OLDER_MISMATCH_MESSAGE, "mat1", "cpu", "cuda:0"),
    ("Expected all tensors to be on the same device, but got mat2 is on cuda:1, different from other "
     "tensors on cuda:0 (when checking argument in method wrapper_CUDA_mm)", "mat2", "cuda:1", "cuda:0"),
])
def test_explanation_names_argument_and_devices(message: str, arg: str, on: str, common: str) -> None:
    text = explain_mismatch(message)
    assert f"`{arg}`" in text and f"**{on}**" in text and f"**{common}**" in text
    # Only addmm is what nn.Linear runs; mm (a plain x @ w) is not said to be.
    assert ("what `nn.Linear` runs" in text) == ("addmm" in message)


def test_explanation_names_the_cpu_scalar_exception() -> None:
    text = explain_mismatch(EXAMPLE_MISMATCH_MESSAGE)
    assert "behind your back" not in text
    assert "0-dim CPU tensor" in text and "elementwise CUDA ops" in text


def test_explanation_of_unknown_text_still_says_what_to_do() -> None:
    assert "x.to(device)" in explain_mismatch("something else entirely")


# ------------------------------------------------------------------ GPU (skipped without CUDA)

@pytest.mark.gpu
def test_gpu_report_matches_cuda_calls() -> None:
    report = collect_report()
    assert report.device_count == torch.cuda.device_count() >= 1
    for gpu in report.gpus:
        props = torch.cuda.get_device_properties(gpu.index)
        assert gpu.name == torch.cuda.get_device_name(gpu.index)
        assert gpu.capability == torch.cuda.get_device_capability(gpu.index)
        assert gpu.total_memory == props.total_memory
        assert gpu.multi_processor_count == props.multi_processor_count
        assert 0 <= gpu.allocated <= gpu.reserved


@pytest.mark.gpu
def test_cuda_benchmark_times_all_dtypes_and_compares_with_cpu() -> None:
    cases = mb.plan_cases([256, 1024], ["cpu", "cuda:0"], list(mb.DTYPES))
    assert {(c.device, c.dtype) for c in cases} == {("cpu", "float32"), ("cuda:0", "float32"),
                                                   ("cuda:0", "bfloat16"), ("cuda:0", "float16")}
    result = mb.run_benchmark(cases, warmup=2, repeats=5)
    assert result.finished
    for m in result.measurements:
        assert all(t > 0 for t in m.times_s) and 0.1 < m.gflops < 1e7
    speedups = mb.speedup_frame(result.measurements)
    assert len(speedups) == 6 and (speedups["speedup"] > 0).all()
    cuda_1024 = [m for m in result.measurements if m.device == "cuda:0" and m.size == 1024]
    assert all(m.gflops > 100 for m in cuda_1024)  # any real GPU does a 1024 matmul faster than this


def _cuda_gflops(dtype: str, size: int = 4096) -> float:
    """Median GFLOP/s of the page's benchmark for one size and dtype on cuda:0."""
    (m,) = mb.run_benchmark([mb.BenchCase("cuda:0", dtype, size)], warmup=2, repeats=5).measurements
    return m.gflops


@pytest.mark.gpu
def test_tensor_cores_beat_true_float32_as_the_precision_note_says() -> None:
    if torch.cuda.get_device_capability(0) < (8, 0):
        pytest.skip("TF32 and fast bfloat16 tensor cores start with Ampere (compute capability 8.0)")
    if os.environ.get("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE") == "1":
        pytest.skip("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1 keeps cuBLAS on TF32 even at \"highest\"")
    before = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("highest")
        float32 = _cuda_gflops("float32")
        assert _cuda_gflops("bfloat16") > 2 * float32
        torch.set_float32_matmul_precision("high")
        tf32 = _cuda_gflops("float32")
    finally:
        torch.set_float32_matmul_precision(before)
    assert tf32 > 1.5 * float32, (tf32, float32)


@pytest.mark.gpu
def test_cuda_benchmark_code_runs() -> None:
    code = device_code.benchmark_code([256], ["cpu", "cuda:0"], ["float32", "bfloat16"], warmup=1, repeats=3)
    results = run_quietly(code)["results"]
    assert [(r["device"], r["dtype"]) for r in results] == [
        ("cpu", "float32"), ("cuda:0", "float32"), ("cuda:0", "bfloat16")]
    assert all(r["median_ms"] > 0 for r in results)


@pytest.mark.gpu
def test_moves_to_cuda_copy_the_tensor_and_move_the_model() -> None:
    moves = demonstrate_moves(torch.device("cuda:0"))
    assert (moves.before_device, moves.after_device) == ("cpu", "cuda:0")
    assert not moves.before_is_cuda and moves.after_is_cuda
    assert not moves.same_object and moves.values_equal and moves.model_returned_self
    assert moves.param_devices == (("weight", "cuda:0"), ("bias", "cuda:0"))
    assert moves.output_device == "cuda:0"


@pytest.mark.gpu
def test_mismatch_is_provoked_live_on_a_gpu() -> None:
    for picked in (torch.device("cpu"), torch.device("cuda:0")):
        mismatch = provoke_mismatch(picked)
        assert mismatch.live
        assert "Expected all tensors to be on the same device" in mismatch.message
        assert "cuda:0" in mismatch.message and "cpu" in mismatch.message
        assert "**cuda:0**" in mismatch.explanation


@pytest.mark.gpu
def test_a_cpu_scalar_is_the_one_tensor_a_cuda_op_accepts() -> None:
    x_gpu = torch.ones(3, device="cuda:0")
    assert torch.equal((x_gpu * torch.tensor(2.0)).cpu(), torch.full((3,), 2.0))  # 0-dim CPU tensor: accepted
    with pytest.raises(RuntimeError, match="same device"):
        x_gpu * torch.ones(3)  # a 1-dim CPU tensor is not


@pytest.mark.gpu
def test_moves_code_runs_on_cuda_and_prints_the_real_error() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ns: dict = {}
        exec(compile(device_code.moves_code("cuda:0"), "<generated>", "exec"), ns)  # noqa: S102
    assert ns["x_dev"].is_cuda and ns["out"].is_cuda
    assert "RuntimeError: Expected all tensors to be on the same device" in out.getvalue()


def test_measured_rates_use_the_largest_float32_size() -> None:
    ms = [mb.Measurement("cpu", "float32", 256, (0.001,)), mb.Measurement("cpu", "float32", 1024, (0.02,)),
          mb.Measurement("cpu", "float32", 512, (0.002,)), mb.Measurement("cuda:0", "float16", 4096, (0.001,))]
    assert mb.measured_rates(ms) == {"cpu": pytest.approx(2 * 1024 ** 3 / 0.02 / 1e9)}
