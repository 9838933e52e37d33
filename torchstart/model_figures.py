"""Plotly figures for the Models page, built from tensors (computing stays in torch)."""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
import torch

from torchstart.figure_style import count_axis
from torchstart.wording import plural

DEFAULT_BINS = 40


@dataclass(frozen=True)
class Histogram:
    """Bin edges and counts of a tensor's values, computed with ``torch.histc``."""

    edges: torch.Tensor
    counts: torch.Tensor


def histogram(values: torch.Tensor, bins: int = DEFAULT_BINS) -> Histogram:
    """Bin all values of ``values`` into ``bins`` equal bins from its min to its max.

    Counting happens in torch, so the figure carries ``bins`` bars however large the
    parameter is. A constant tensor (BatchNorm's initial weight) gets one unit-wide range.
    """
    flat = values.detach().reshape(-1).float().cpu()
    low, high = (v.item() for v in torch.aminmax(flat))
    if low == high:
        low, high = low - 0.5, high + 0.5
    counts = torch.histc(flat, bins=bins, min=low, max=high)
    return Histogram(torch.linspace(low, high, bins + 1, dtype=torch.float64), counts)


def parameter_histogram(values: torch.Tensor, name: str, bins: int = DEFAULT_BINS) -> go.Figure:
    """A bar chart of a parameter's initial values, with its mean marked."""
    hist = histogram(values, bins)
    centers = ((hist.edges[:-1] + hist.edges[1:]) / 2).tolist()
    width = (hist.edges[1] - hist.edges[0]).item()
    fig = go.Figure(go.Bar(x=centers, y=hist.counts.tolist(), width=width, marker_color="#ee4c2c",
                           hovertemplate="value ≈ %{x:.4g}<br>count %{y}<extra></extra>"))
    mean = values.detach().float().mean().item()
    # Mid-grey: seen on a light and a dark theme alike.
    fig.add_vline(x=mean, line_dash="dash", line_color="#888888", annotation_text=f"mean {mean:.3g}")
    fig.update_layout(
        title=f"{name}: {plural(values.numel(), 'value')}", xaxis_title="value",
        yaxis=count_axis(float(hist.counts.max())),
        bargap=0.02, height=320, margin=dict(l=10, r=10, t=50, b=10),
    )
    return fig
