"""Streamlit pieces of the Device page: report tables, the move demo, benchmark controls and live run."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from torchstart.fair_share import background_work

from pages._ui import KEEP, header_stop_means, param_input, plural, show_code, take_header_stop
from torchstart import device_code, matmul_bench as mb
from torchstart.device_figures import gflops_figure, speedup_figure
from torchstart.device_moves import OLDER_MISMATCH_MESSAGE, MoveReport, Mismatch
from torchstart.device_report import (EXAMPLE_CUDA_ROWS, EXAMPLE_GPU, GPU_COLUMNS, GPU_MEMORY_NOTE, GPU_SOURCES,
                                      DeviceReport, gpu_rows, no_cuda_notice, summary_rows)
from torchstart.devices import available_devices

# Page-local session keys.
RESULT = "device_bench_result"  # the last BenchResult, filled in place while it runs
RATES = "device_bench_rates"  # probed GFLOP/s per device, for time estimates
STOPPED_BY_USER = "device_bench_stopped_by_user"
SHOWN_COLUMNS = {"median_ms": "median (ms)", "min_ms": "fastest (ms)", "max_ms": "slowest (ms)",
                 "gflops": "GFLOP/s", "speedup": "× CPU"}
# Fact tables: wide enough that values such as "none (CPU-only build)" are not cut off.
FACT_COLUMNS = {"value": st.column_config.TextColumn(width="medium"),
                "example value": st.column_config.TextColumn(width="medium"),
                "from": st.column_config.TextColumn(width="large")}


def report_tables(report: DeviceReport) -> None:
    """The install's summary rows, then its GPUs, or a plain 'no CUDA GPU' and a labelled example."""
    st.dataframe(pd.DataFrame(summary_rows(report), columns=["", "value", "from"]),
                 hide_index=True, width="content", height="content", column_config=FACT_COLUMNS)
    if report.gpus:
        st.dataframe(pd.DataFrame(gpu_rows(report.gpus), columns=GPU_COLUMNS), hide_index=True)
        st.caption(f"{GPU_MEMORY_NOTE} Columns come from "
                   + ", ".join(f"`{c}`" for c in GPU_SOURCES.values()) + ".")
        return
    notice = no_cuda_notice(report)
    if notice:  # None only if torch.cuda were available yet listed no device
        st.info(notice, icon=":material/memory:")
    with st.expander("Example only: what this section shows on a machine with an NVIDIA GPU"):
        st.warning("Illustrative values, **not** measured here: a CUDA build of PyTorch on a server "
                   "with one A100.", icon=":material/science:")
        st.dataframe(pd.DataFrame(EXAMPLE_CUDA_ROWS, columns=["", "example value", "from"]),
                     hide_index=True, width="content", column_config=FACT_COLUMNS)
        st.dataframe(pd.DataFrame(gpu_rows((EXAMPLE_GPU,)), columns=GPU_COLUMNS), hide_index=True)


def move_table(moves: MoveReport) -> None:
    """What `.to(device)` did, one fact per row."""
    rows = [
        ("x.device, x.is_cuda", f"{moves.before_device}, {moves.before_is_cuda}"),
        ("x_dev = x.to(device): x_dev.device, x_dev.is_cuda", f"{moves.after_device}, {moves.after_is_cuda}"),
        ("x_dev is x (no copy made?)", str(moves.same_object)),
        ("same values after the move", str(moves.values_equal)),
        ("model.to(device) is model", str(moves.model_returned_self)),
        *[(f"model.{name}.device", dev) for name, dev in moves.param_devices],
        ("model(x_dev).device", moves.output_device),
    ]
    st.dataframe(pd.DataFrame(rows, columns=["expression", "value"]), hide_index=True, width="content",
                 height="content")


def mismatch_panel(mismatch: Mismatch) -> None:
    """The device-mismatch error: real when raised here, clearly labelled when it is the example."""
    if mismatch.live:
        st.markdown("Raised **live** just now: a model on the GPU, called with a CPU tensor.")
    else:
        st.markdown("There is no CUDA GPU here, so this cannot be raised live. **This is the text you would "
                    "see** from recent PyTorch 2.x releases (CUDA builds), calling a model on `cuda:0` with "
                    "a CPU tensor:")
    st.code(f"RuntimeError: {mismatch.message}", language="text", wrap_lines=True)
    if not mismatch.live:
        st.caption(f"Older 2.x releases word it: `RuntimeError: {OLDER_MISMATCH_MESSAGE}`")
    st.markdown(mismatch.explanation)


@dataclass(frozen=True)
class BenchSettings:
    """What the learner chose for a benchmark run."""

    sizes: list[int]
    devices: list[str]
    dtypes: list[str]
    warmup: int
    repeats: int


def bench_controls() -> BenchSettings:
    """Sizes, devices, dtypes and run counts for the benchmark."""
    devices = available_devices()
    has_gpu = len(devices) > 1
    dtypes = list(mb.DTYPES) if has_gpu else ["float32"]
    left, right = st.columns(2)
    low, high = left.select_slider("Matrix sizes n (n×n @ n×n)", options=mb.SIZE_OPTIONS, value=(64, 1024),
                                   key="device_sizes", persist_state=KEEP,
                                   help=f"Powers of two from 64 up to the cap of {mb.MAX_SIZE}.")
    chosen_devices = right.multiselect("Devices", devices, default=devices, key="device_devices", persist_state=KEEP)
    chosen_dtypes = right.multiselect("dtypes", dtypes, default=dtypes, key="device_dtypes", persist_state=KEEP,
                                      help="bfloat16 and float16 are timed on GPUs only.")
    warm_col, rep_col = left.columns(2)
    warmup = param_input(mb.WARMUP, "device_warmup", warm_col)
    repeats = param_input(mb.REPEATS, "device_repeats", rep_col)
    sizes = [n for n in mb.SIZE_OPTIONS if low <= n <= high]
    return BenchSettings(sizes, chosen_devices, chosen_dtypes, int(warmup), int(repeats))


def estimated_seconds(cases: list[mb.BenchCase], settings: BenchSettings) -> float:
    """Run-time estimate from a quick probe per device, probed once per session."""
    rates = st.session_state.setdefault(RATES, {})
    for device in {c.device for c in cases} - set(rates):
        rates[device] = mb.probe_gflops(device)
    return mb.estimate_seconds(cases, settings.warmup, settings.repeats, rates)


def show_estimate(slot: DeltaGenerator, cases: list[mb.BenchCase], settings: BenchSettings) -> None:
    """Into ``slot``: how many cases and roughly how long, as a warning when the run is long."""
    seconds = estimated_seconds(cases, settings)
    # Two digits below a second: a small run read "roughly 0.0 s".
    # (Each run costs at least RUN_OVERHEAD_S, so .2g never turns to an exponent here.)
    roughly = f"roughly {seconds:.2g} s" if seconds < 1 else f"roughly {seconds:.1f} s"
    note = (f"{plural(len(cases), 'case')}, {roughly} (estimated from a quick probe or the last "
            f"run on each device; runs stop by themselves after {mb.MAX_RUN_SECONDS:.0f} s).")
    if seconds > mb.MAX_RUN_SECONDS:
        slot.warning(f"This may not finish: {note} The sizes timed by then are kept; you can also stop "
                     "it at any time.", icon=":material/hourglass:")
    elif seconds > mb.SLOW_RUN_SECONDS:
        slot.warning(f"This will take a while: {note} You can stop it at any time.", icon=":material/hourglass:")
    else:
        slot.caption(note)


def _request_stop() -> None:
    """Stop button callback: remember that the learner, not a page change, ended the run."""
    st.session_state[STOPPED_BY_USER] = True


def _progress_text(step: mb.BenchStep, result: mb.BenchResult) -> str:
    """One line: what is being timed now and the last finished measurement."""
    if step.case is None:
        return "Done."
    case = step.case
    text = (f"Run {step.done_runs + 1} of {step.total_runs}: n={case.size} on {case.device} "
            f"({case.dtype}), {step.phase}")
    if result.measurements:
        last = result.measurements[-1]
        text += f" · last: n={last.size} on {last.device} {last.dtype} → {last.gflops:,.1f} GFLOP/s"
    return text


def run_live(cases: list[mb.BenchCase], settings: BenchSettings) -> None:
    """Run the benchmark with a progress bar and a Stop button; results land in session state as they come."""
    st.session_state[STOPPED_BY_USER] = False
    result = mb.BenchResult(cases=cases, warmup=settings.warmup, repeats=settings.repeats)
    st.session_state[RESULT] = result  # stored first: a Stop click interrupts the run mid-way
    stop_slot = st.empty()
    stop_slot.button("Stop", key="device_stop", on_click=_request_stop, icon=":material/stop_circle:")
    bar = st.progress(0.0, text="Starting…")
    deadline = time.monotonic() + mb.MAX_RUN_SECONDS
    last_draw = 0.0

    def on_step(step: mb.BenchStep) -> bool:
        nonlocal last_draw
        now = time.monotonic()
        if now - last_draw >= 0.1 or step.case is None:  # at most ~10 redraws a second
            last_draw = now
            # This Streamlit call is where a Stop click interrupts the script.
            bar.progress(step.fraction, text=_progress_text(step, result))
        return now > deadline  # the hard cap on total work

    # background_work: other sessions' page runs go first while this measures.
    with header_stop_means("device_bench"), background_work():
        mb.run_benchmark(cases, settings.warmup, settings.repeats, on_step=on_step, into=result)
    # Later estimates use what was really measured rather than the quick probe.
    st.session_state.setdefault(RATES, {}).update(mb.measured_rates(result.measurements))
    stop_slot.empty()
    bar.empty()


def bench_results(result: mb.BenchResult) -> None:
    """Status line, GFLOP/s chart, speed-up chart (with a GPU) and the table of the last run."""
    done, planned = len(result.measurements), len(result.cases)
    if take_header_stop("device_bench"):
        _request_stop()  # Streamlit's own Stop ended the run: the learner stopped it, as with the page's Stop
    if result.finished:
        st.success(f"Timed {done} case{'s' * (done != 1)} in {result.elapsed_s:.1f} s.", icon=":material/timer:")
    elif result.stopped:
        st.warning(f"Stopped at the {mb.MAX_RUN_SECONDS:.0f} s limit after {done} of {planned} cases.")
    elif st.session_state.get(STOPPED_BY_USER):
        st.warning(f"You stopped the run after {done} of {planned} cases; these are the finished ones.")
    else:
        st.warning(f"The run was interrupted (a setting or the page changed) after {done} of {planned} cases.")
    if not result.measurements:
        return
    slow = mb.disturbed(result.measurements, st.session_state.get(RATES))
    if slow:
        st.warning(mb.disturbed_note(slow, result.warmup), icon=":material/hourglass_top:")
    table = mb.results_frame(result.measurements)
    ringed = {(m.device, m.dtype, m.size) for m, _ in slow}
    st.plotly_chart(gflops_figure(table, ringed), key="device_gflops_chart", width="stretch")
    speedups = mb.speedup_frame(result.measurements)
    if not speedups.empty:
        st.plotly_chart(speedup_figure(speedups), key="device_speedup_chart", width="stretch")
        st.caption(mb.SMALL_SIZE_NOTE)
        table = table.merge(speedups, on=["device", "dtype", "size"], how="left")
    ms = st.column_config.NumberColumn(format="%.3f")
    st.dataframe(table.rename(columns=SHOWN_COLUMNS), hide_index=True,
                 column_config={"median (ms)": ms, "fastest (ms)": ms, "slowest (ms)": ms,
                                "GFLOP/s": st.column_config.NumberColumn(format="%.2f"),
                                "× CPU": st.column_config.NumberColumn(format="%.1f")})
    st.caption("Fastest and slowest timed runs show the spread: other work on a shared machine "
               "slows some runs, which is why the median is what counts.")
    show_code(device_code.benchmark_code(sorted({c.size for c in result.cases}),
                                         list(dict.fromkeys(c.device for c in result.cases)),
                                         list(dict.fromkeys(c.dtype for c in result.cases)),
                                         result.warmup, result.repeats),
              label="Show code: this benchmark")


__all__ = ["report_tables", "move_table", "mismatch_panel", "bench_controls", "estimated_seconds", "show_estimate",
           "run_live", "bench_results", "BenchSettings", "RESULT"]
