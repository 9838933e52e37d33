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
NUMPY_FLOATS = {torch.float16: np.float16, torch.float32: np.float32}  # NumPy prints these round-trip
MAX_BFLOAT16_DIGITS = 4  # 8 significant bits: 4 decimal digits always read back as the same bfloat16
MAX_EXACT_WHOLE = 1e16  # whole numbers below this keep every digit (float64 holds them exactly)


def plain_values(t: torch.Tensor) -> np.ndarray:
    """The tensor's values as a NumPy array for display: CPU, no autograd, 16-bit floats widened."""
    t = t.detach().cpu()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return t.numpy()


def rounded(values: np.ndarray, dtype: torch.dtype) -> np.ndarray:
    """Each float as the shortest decimal that reads back as the same ``dtype`` value; whole numbers exact.

    float32 0.1 shows as 0.1 (not 0.100000001), float32 1234567. as 1234567 and bfloat16 1032. as 1032.
    """
    if not dtype.is_floating_point or dtype == torch.float64 or values.size == 0:
        return values  # ints and bools are exact; a float64's own repr is already its shortest text
    wide = values.astype(np.float64)
    if dtype in NUMPY_FLOATS:
        narrow = values.astype(NUMPY_FLOATS[dtype]).ravel()  # str() of a NumPy float16/32 is its shortest text
        short = np.array([float(str(v)) for v in narrow]).reshape(wide.shape)
    else:
        short = _shortest_bfloat16(wide)
    # The shortest text of 1032 in bfloat16 is 1030 (it reads back as 1032), but 1030 is not a value the
    # tensor holds: whole numbers keep every digit instead.
    whole = np.isfinite(wide) & (wide == np.round(wide)) & (np.abs(wide) < MAX_EXACT_WHOLE)
    return np.where(whole, wide, short)


def _shortest_bfloat16(wide: np.ndarray) -> np.ndarray:
    """bfloat16 values (as float64) rounded to the fewest significant digits that torch reads back unchanged."""
    target = torch.from_numpy(wide).to(torch.bfloat16)
    short = wide.copy()
    todo = np.isfinite(wide)
    for digits in range(1, MAX_BFLOAT16_DIGITS + 1):
        if not todo.any():
            break
        candidate = np.char.mod(f"%.{digits}g", wide[todo]).astype(np.float64)
        same = (torch.from_numpy(candidate).to(torch.bfloat16) == target[torch.from_numpy(todo)]).numpy()
        found = np.flatnonzero(todo)[same]
        short.flat[found] = candidate[same]
        todo.flat[found] = False
    return short


def value_texts(values: np.ndarray, dtype: torch.dtype) -> np.ndarray:
    """Each value as text: ints and bools as they are, floats as :func:`rounded` has them (0.1, 1032, 1e+20)."""
    return _texts(rounded(values, dtype), dtype.is_floating_point)


def _texts(shown: np.ndarray, floating: bool) -> np.ndarray:
    """Text of already-rounded values, same shape."""
    texts = [float_text(v) if floating else str(v) for v in shown.ravel()]
    return np.array(texts, dtype=str).reshape(shown.shape)  # a str array: Plotly checks it far faster than objects


def float_text(value: float) -> str:
    """Python's shortest text for a float, without a trailing .0 (1032.0 → 1032)."""
    return repr(float(value)).removesuffix(".0")


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
    shown = rounded(plain_values(corner), t.dtype)
    annotate = max(corner.shape) <= MAX_ANNOTATED
    # Cells carry a 4-digit label to stay legible; the hover (like the table) gives every digit.
    fig = go.Figure(go.Heatmap(
        z=shown.astype(np.float64), text=_texts(shown, t.dtype.is_floating_point), colorscale="Viridis",
        texttemplate="%{z:.4~g}" if annotate else None, hovertemplate="row %{y}, col %{x}: %{text}<extra></extra>"))
    if corner.shape != t.shape:
        title += f" (top-left {corner.shape[0]} × {corner.shape[1]} corner)"
    fig.update_layout(title=title, height=min(520, 160 + 28 * corner.shape[0]), margin=dict(l=10, r=10, t=50, b=10),
                      xaxis_title="dim 1 (column)", yaxis_title="dim 0 (row)")
    _mark_non_finite(fig, shown)
    _integer_ticks(fig, corner.shape)
    return fig


def _mark_non_finite(fig: go.Figure, shown: np.ndarray) -> None:
    """nan and ±inf have no colour on the scale: grey cells (the plot's background) labelled with the value."""
    if not np.issubdtype(shown.dtype, np.floating):
        return
    rows, cols = np.nonzero(~np.isfinite(shown.astype(np.float64)))
    if len(rows) == 0:
        return
    fig.update_layout(plot_bgcolor="#d9d9d9",
                      title=fig.layout.title.text + " (grey: nan or ±inf, off the colour scale)")
    fig.add_trace(go.Scatter(x=cols, y=rows, mode="text", text=[float_text(shown[r, c]) for r, c in zip(rows, cols)],
                             textfont={"color": "#333333"}, hoverinfo="skip", showlegend=False))


def _integer_ticks(fig: go.Figure, shape: tuple[int, ...]) -> None:
    """Row 0 at the top; one tick per row/column when there are few; the axes span every cell, drawn or not.

    Fixed ranges, not autorange: an all-nan tensor draws no cells, and its value labels landed on the
    corners. No grid lines: they ran through the labels of nan cells.
    """
    rows, cols = shape
    fig.update_yaxes(range=[rows - 0.5, -0.5], dtick=1 if rows <= 30 else None, showgrid=False, zeroline=False)
    fig.update_xaxes(range=[-0.5, cols - 0.5], dtick=1 if cols <= 30 else None, showgrid=False, zeroline=False)


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


def storage_formula(t: torch.Tensor) -> str:
    """Where each element of a 0-/1-/2-dim ``t`` sits, with its own offset and strides: ``… = 2 + i·1``."""
    if t.dim() > 2:
        raise ValueError("pick a 2-dim slice first")
    names = "ij"[: t.dim()]
    symbols = " + ".join(["storage_offset", *(f"{n}·stride[{d}]" for d, n in enumerate(names))])
    numbers = " + ".join([str(t.storage_offset()), *(f"{n}·{s}" for n, s in zip(names, t.stride()))])
    return f"position = {symbols} = {numbers}"


def storage_figure(t: torch.Tensor) -> go.Figure:
    """Each element of a small 0-/1-/2-dim tensor, coloured by its position in the underlying storage."""
    grid = t.reshape(1, -1) if t.dim() < 2 else t
    positions = storage_positions(t)[:MAX_STORAGE_MAP, :MAX_STORAGE_MAP]
    values = value_texts(plain_values(grid[:MAX_STORAGE_MAP, :MAX_STORAGE_MAP]), t.dtype)
    text = [[f"{values[i][j]}<br>@{int(positions[i][j])}" for j in range(positions.shape[1])]
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
