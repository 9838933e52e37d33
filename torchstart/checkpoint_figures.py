"""Plotly figures for the Checkpoints page, built from tensors the inspect module found."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import torch

from torchstart.checkpoint_inspect import has_stats, value_pieces
from torchstart.errors import TorchstartError
from torchstart.figure_style import count_axis
from torchstart.wording import plotly_safe


def value_histogram(tensor: torch.Tensor, bins: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    """(counts, bin edges) of a tensor's finite values, computed by ``torch.histogram`` in float64."""
    if tensor.layout != torch.strided or tensor.is_complex():
        raise TorchstartError("Only dense real-valued tensors get a histogram here.")
    if tensor.is_meta:
        raise TorchstartError("This is a meta tensor: it has a shape and a dtype but no values to draw.")
    if not has_stats(tensor):
        raise TorchstartError(f"This {str(tensor.dtype).removeprefix('torch.')} tensor holds no one number per "
                              "element that PyTorch converts to float64 (packed 4-bit pairs or raw bits), so there "
                              "are no values to draw.")
    # Two passes over float64 pieces (the range, then the counts): no float64 copy of the whole tensor.
    low, high = math.inf, -math.inf
    for piece in value_pieces(tensor):
        finite = piece[torch.isfinite(piece)]
        if finite.numel():
            low, high = min(low, finite.min().item()), max(high, finite.max().item())
    if low > high:
        raise TorchstartError("This tensor holds no finite values to draw.")
    if not math.isfinite(high - low):
        raise TorchstartError(f"The values run from {low:.4g} to {high:.4g}: the range between is wider than "
                              "float64 holds, so there are no equal-width bins to draw. The table's statistics "
                              "still describe them.")
    if low == high:  # one repeated value: give the single bar some width (0.5 is nothing next to 1e20)
        half = max(0.5, abs(low) * 1e-9)
        low, high = low - half, high + half
    counts = torch.zeros(bins, dtype=torch.float64)
    for piece in value_pieces(tensor):
        part, edges = torch.histogram(piece[torch.isfinite(piece)], bins=bins, range=(low, high))
        counts += part
    return counts, edges


def histogram_figure(tensor: torch.Tensor, key: str, bins: int = 40) -> go.Figure:
    """Bars of how many values of ``tensor`` fall in each of ``bins`` equal-width bins."""
    counts, edges = value_histogram(tensor, bins)
    centers = ((edges[:-1] + edges[1:]) / 2).tolist()
    width = (edges[1] - edges[0]).item()
    fig = go.Figure(go.Bar(x=centers, y=counts.tolist(), width=[width] * len(centers),
                           marker_color="#ee4c2c", name=plotly_safe(key),
                           hovertemplate="value ≈ %{x:.4g}<br>count %{y:,}<extra></extra>"))
    count = tensor.numel()
    numbers = f"{count:,} number{'s' if count != 1 else ''}"
    fig.update_layout(title=f"Values of {plotly_safe(key)} ({numbers})", bargap=0.02,
                      xaxis_title="value", yaxis=count_axis(float(counts.max())), height=340,
                      margin=dict(l=10, r=10, t=50, b=10), showlegend=False)
    return fig
