"""Tables and Plotly figures for the Tensors page (drawing only; the computing is elsewhere)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch

from torchstart.tensor_ops import Broadcast
from torchstart.tensors import MetaRow, format_shape

MAX_TABLE_ROWS = 100
MAX_TABLE_COLS = 30
MAX_HEATMAP = 200
MAX_ANNOTATED = 16
MAX_STORAGE_MAP = 16
SIGNIFICANT = {torch.float16: 4, torch.bfloat16: 3, torch.float32: 6, torch.float64: 10}


def plain_values(t: torch.Tensor) -> np.ndarray:
    """The tensor's values as a NumPy array for display: CPU, no autograd, 16-bit floats widened."""
    t = t.detach().cpu()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return t.numpy()


def rounded(values: np.ndarray, dtype: torch.dtype) -> np.ndarray:
    """Round floats to the digits their dtype really holds (0.1 in float32 shows as 0.1, not 0.100000001)."""
    digits = SIGNIFICANT.get(dtype)
    if digits is None or values.size == 0:
        return values
    as_text = np.char.mod(f"%.{digits}g", values.astype(np.float64))
    return as_text.astype(np.float64)


def values_frame(t: torch.Tensor) -> tuple[pd.DataFrame, str]:
    """A table of a 0-, 1- or 2-dim tensor (1-dim as one row), cut to a corner if big; plus a note."""
    if t.dim() > 2:
        raise ValueError("pick a 2-dim slice first")
    grid = t.reshape(1, -1) if t.dim() < 2 else t
    rows, cols = grid.shape
    corner = grid[:MAX_TABLE_ROWS, :MAX_TABLE_COLS]
    values = rounded(plain_values(corner), t.dtype)
    frame = pd.DataFrame(values, columns=[str(j) for j in range(corner.shape[1])])
    if t.dim() < 2:
        frame.index = ["value" if t.dim() == 0 else "x[i]"]
    note = ""
    if corner.shape != grid.shape:
        note = (f"Showing the first {corner.shape[0]:,} × {corner.shape[1]:,} of {rows:,} × {cols:,}; "
                "the printed view below summarises the rest.")
    return frame, note


def heatmap_figure(t: torch.Tensor, title: str) -> go.Figure:
    """A heatmap of a 2-dim tensor, row 0 at the top like the table (top-left corner if big)."""
    corner = t[:MAX_HEATMAP, :MAX_HEATMAP]
    values = rounded(plain_values(corner).astype(np.float64), t.dtype)
    annotate = max(corner.shape) <= MAX_ANNOTATED
    fig = go.Figure(go.Heatmap(
        z=values, colorscale="Viridis", texttemplate="%{z:.4~g}" if annotate else None,
        hovertemplate="row %{y}, col %{x}: %{z}<extra></extra>"))
    if corner.shape != t.shape:
        title += f" (top-left {corner.shape[0]} × {corner.shape[1]} corner)"
    fig.update_layout(title=title, height=min(520, 160 + 28 * corner.shape[0]), margin=dict(l=10, r=10, t=50, b=10),
                      xaxis_title="dim 1 (column)", yaxis_title="dim 0 (row)")
    _integer_ticks(fig, corner.shape)
    return fig


def _integer_ticks(fig: go.Figure, shape: tuple[int, ...]) -> None:
    """Row 0 at the top; one tick per row/column when there are few."""
    fig.update_yaxes(autorange="reversed", dtick=1 if shape[0] <= 30 else None)
    fig.update_xaxes(dtick=1 if shape[1] <= 30 else None)


def storage_positions(t: torch.Tensor) -> torch.Tensor:
    """For a 0-, 1- or 2-dim tensor, as a grid: each element's position in storage.

    Position = storage_offset + i·stride[0] + j·stride[1]; a 1-dim tensor is one row.
    """
    if t.dim() > 2:
        raise ValueError("pick a 2-dim slice first")
    strides = (0, 0) if t.dim() == 0 else (0, t.stride(0)) if t.dim() == 1 else t.stride()
    rows, cols = (1, 1) if t.dim() == 0 else (1, t.shape[0]) if t.dim() == 1 else tuple(t.shape)
    return (t.storage_offset() + torch.arange(rows).unsqueeze(1) * strides[0]
            + torch.arange(cols).unsqueeze(0) * strides[1])


def storage_figure(t: torch.Tensor) -> go.Figure:
    """Each element of a small 0-/1-/2-dim tensor, coloured by its position in the underlying storage."""
    grid = t.reshape(1, -1) if t.dim() < 2 else t
    positions = storage_positions(t)[:MAX_STORAGE_MAP, :MAX_STORAGE_MAP]
    values = plain_values(grid[:MAX_STORAGE_MAP, :MAX_STORAGE_MAP])
    text = [[f"{values[i][j]:.3g}<br>@{int(positions[i][j])}" for j in range(positions.shape[1])]
            for i in range(positions.shape[0])]
    fig = go.Figure(go.Heatmap(z=positions.numpy(), text=text, texttemplate="%{text}", colorscale="Blues",
                               colorbar=dict(title="storage<br>position"),
                               hovertemplate="row %{y}, col %{x}: storage position %{z}<extra></extra>"))
    fig.update_layout(title="value @ storage position: how the grid maps onto memory",
                      height=min(480, 160 + 40 * positions.shape[0]), margin=dict(l=10, r=10, t=50, b=10),
                      xaxis_title="column", yaxis_title="row")
    _integer_ticks(fig, tuple(positions.shape))
    return fig


def metadata_frame(rows: list[MetaRow]) -> pd.DataFrame:
    """Property / value / what it means."""
    return pd.DataFrame([(r.name, r.value, r.meaning) for r in rows], columns=["property", "value", "what it means"])


def broadcast_frame(b: Broadcast, left_name: str = "x", right_name: str = "other") -> pd.DataFrame:
    """The two shapes right-aligned, one column per dim counted from the right, with the rule applied."""
    def cell(size: int | None) -> str:
        return "" if size is None else str(size)

    columns = [f"dim {row.position}" for row in b.rows]
    data = {
        f"{left_name} {format_shape(b.left)}": [cell(r.left) for r in b.rows],
        f"{right_name} {format_shape(b.right)}": [cell(r.right) for r in b.rows],
        "result": [cell(r.result) if r.result is not None else "✗" for r in b.rows],
        "rule": [r.rule for r in b.rows],
    }
    return pd.DataFrame.from_dict(data, orient="index", columns=columns)
