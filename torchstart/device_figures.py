"""Plotly figures for the Device page, built from the benchmark's DataFrames (no computing here)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from torchstart.figure_style import LEGEND_BELOW, log_axis_ticks


def _log_axis(title: str, values: pd.Series) -> dict:
    """A log y axis with 1-2-5 ticks labelled in plain numbers, its title saying it is one."""
    # Said in the title: read as a linear axis, a point at 22 between ticks 20 and 50 looks like almost nothing.
    return dict(title=f"{title}, log scale", type="log", **log_axis_ticks(float(values.min()), float(values.max())))


def series_label(device: str, dtype: str) -> str:
    """Legend name of one benchmark line, e.g. ``cuda:0 · bfloat16``."""
    return f"{device} · {dtype}"


def _size_axis(sizes: list[int]) -> dict:
    """A log2 x axis whose ticks are exactly the sizes timed."""
    return dict(title="matrix size n (n×n @ n×n)", type="log", tickvals=sizes,
                ticktext=[str(s) for s in sizes])


def gflops_figure(results: pd.DataFrame, disturbed: set[tuple[str, str, int]] | None = None) -> go.Figure:
    """GFLOP/s against matrix size, one line per device and dtype; ``disturbed`` (device, dtype, size) are ringed."""
    fig = go.Figure()
    for (device, dtype), part in results.groupby(["device", "dtype"], sort=False):
        part = part.sort_values("size")
        fig.add_trace(go.Scatter(
            x=part["size"], y=part["gflops"], mode="lines+markers", name=series_label(device, dtype),
            customdata=part["median_ms"],
            hovertemplate="n=%{x}<br>%{y:,.1f} GFLOP/s<br>median %{customdata:.3f} ms<extra></extra>",
        ))
    _ring_disturbed(fig, results, disturbed or set())
    sizes = sorted(results["size"].unique().tolist())
    # GPUs can be 100× a CPU: a log axis keeps both readable.
    fig.update_layout(title="Matmul throughput (higher is faster)", xaxis=_size_axis(sizes),
                      yaxis=_log_axis("GFLOP/s (2·n³ / median time)", results["gflops"]),
                      legend=LEGEND_BELOW, margin=dict(t=50, b=10), height=420)
    return fig


def _ring_disturbed(fig: go.Figure, results: pd.DataFrame, disturbed: set[tuple[str, str, int]]) -> None:
    """Circle the points the page's warning names, so a dip in a line reads as noise, not as the hardware."""
    keys = list(zip(results["device"], results["dtype"], results["size"].astype(int)))
    ringed = results[[key in disturbed for key in keys]]
    if ringed.empty:
        return
    fig.add_trace(go.Scatter(
        x=ringed["size"], y=ringed["gflops"], mode="markers", name="slowed by other work (run again)",
        marker=dict(symbol="circle-open", size=18, line=dict(width=2), color="#d62728"),
        hovertemplate="n=%{x}: slowed by other work while timed<extra></extra>",
    ))


def speedup_figure(speedups: pd.DataFrame) -> go.Figure:
    """GPU speed-up over the CPU's float32 at each size, bars per device and dtype."""
    fig = go.Figure()
    for (device, dtype), part in speedups.groupby(["device", "dtype"], sort=False):
        part = part.sort_values("size")
        fig.add_trace(go.Bar(x=part["size"].astype(str), y=part["speedup"], name=series_label(device, dtype),
                             hovertemplate="n=%{x}<br>%{y:,.1f}× the CPU<extra></extra>"))
    fig.add_hline(y=1, line_dash="dot", annotation_text="as fast as the CPU")
    fig.update_layout(title="Speed-up over the CPU (float32) at the same size", barmode="group",
                      xaxis=dict(title="matrix size n", type="category"),
                      yaxis=_log_axis("× CPU float32 GFLOP/s", pd.concat([speedups["speedup"], pd.Series([1.0])])),
                      legend=LEGEND_BELOW, margin=dict(t=50, b=10), height=380)
    return fig
