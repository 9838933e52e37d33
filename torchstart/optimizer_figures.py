"""Plotly figures for an optimizer race: the landscape with every path, and the loss per step.

Only drawing lives here; the numbers come from ``optimizer_race``. Long paths are
downsampled for drawing (the step table keeps every step), so a figure stays
bounded: at most ``MAX_DRAWN_POINTS`` points per path and ``MAX_FRAMES`` frames.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import torch

from torchstart.figure_style import log_axis_ticks
from torchstart.landscape_image import CONTOUR_COLORS, picture_of
from torchstart.landscapes import Landscape
from torchstart.optimizer_race import OptimizerPath, RaceResult
from torchstart.optimizers import OPTIMIZERS

CLICK_GRID = 41
MAX_DRAWN_POINTS = 150
MAX_FRAMES = 30
MAX_LOSS_POINTS = 500
PALETTE = ("#e41a1c", "#ff7f00", "#984ea3", "#1f78b4", "#00a6a6", "#a65628", "#f781bf")
COLORS = dict(zip(OPTIMIZERS, PALETTE))
CLICK_TRACE_NAME = "click to start here"
# Below the map, in pixels: the x axis (ticks and title), then ▶ Play / ❚❚ Pause, then the step slider on a row
# of its own. Side by side, the buttons hid the slider's track in a narrow chart and its "after step N" on a phone.
# Both hang from the plot area's bottom edge (y=0) by a pixel pad: a paper-coordinate y would move them
# with the plot area's height, which a legend of several rows (a narrow chart) shrinks.
BELOW_AXIS, BUTTON_ROW, SLIDER_ROW = 55, 40, 80
MAP_BOTTOM = BELOW_AXIS + BUTTON_ROW + SLIDER_ROW
MAP_HEIGHT = 550 + MAP_BOTTOM  # the plot area and title margin as tall as before the slider got its own row


def drawn_indices(n_points: int, limit: int) -> np.ndarray:
    """At most ``limit`` evenly spread indices into ``n_points`` items, always keeping the first and last."""
    if n_points <= limit:
        return np.arange(n_points)
    return np.unique(np.linspace(0, n_points - 1, limit).round().astype(int))


def path_label(path: OptimizerPath) -> str:
    """Legend text: the optimizer, its lr, and the divergence or the stop if any."""
    if path.diverged_at is not None:
        return f"{path.spec.label}: diverged at step {path.diverged_at}"
    if path.stopped_at is not None:
        return f"{path.spec.label}: stopped at step {path.stopped_at}"
    return path.spec.label


def _clamp_to_box(point: np.ndarray, land: Landscape) -> np.ndarray:
    """``point`` moved onto the plot's edge when it lies outside, so a runaway end stays visible."""
    return np.array([min(max(point[0], land.a_range[0]), land.a_range[1]),
                     min(max(point[1], land.b_range[0]), land.b_range[1])], dtype=np.float32)


def _landscape_layers(land: Landscape) -> tuple[dict, go.Scatter]:
    """The landscape as a layout image (it survives ▶ Play; see landscape_image) and a trace for its colour bar."""
    image = picture_of(land)
    (a0, a1), (b0, b1) = land.a_range, land.b_range
    picture = dict(source=image.source, xref="x", yref="y", x=a0, y=b1, sizex=a1 - a0, sizey=b1 - b0,
                   xanchor="left", yanchor="top", sizing="stretch", layer="below")
    if image.log_scale:  # powers of ten; Plotly's own ticks on a linear scale
        ticks = list(range(math.ceil(image.low), math.floor(image.high) + 1))
        what = "loss" if land.min_value == 0 else "loss − minimum"
        bar = dict(title=dict(text=f"{what} (log scale)", side="right"), tickvals=ticks,
                   ticktext=[f"1e{t}" for t in ticks])
    else:
        bar = dict(title=dict(text="loss", side="right"))
    # One point at NaN draws nothing, yet the trace's colour scale gives the picture its colour bar.
    carrier = go.Scatter(x=[math.nan], y=[math.nan], mode="markers", name="loss", showlegend=False,
                         hoverinfo="skip", marker=dict(color=[image.low], cmin=image.low, cmax=image.high,
                                                       colorscale=CONTOUR_COLORS, showscale=True, colorbar=bar))
    return picture, carrier


def _click_trace(land: Landscape) -> go.Scatter:
    """An invisible grid of points: Plotly can select (click) scatter points, not image pixels."""
    a = torch.linspace(*land.a_range, CLICK_GRID)
    b = torch.linspace(*land.b_range, CLICK_GRID)
    aa, bb = torch.meshgrid(a, b, indexing="xy")
    loss = land.surface(aa, bb)
    na, nb = land.param_names
    return go.Scatter(
        x=aa.reshape(-1).numpy(), y=bb.reshape(-1).numpy(), customdata=loss.reshape(-1).numpy(),
        mode="markers", marker=dict(size=14, opacity=0, color="white"),
        selected=dict(marker=dict(opacity=1, color="white")), unselected=dict(marker=dict(opacity=0)),
        hovertemplate=f"{na} = %{{x:.3g}}, {nb} = %{{y:.3g}}<br>loss = %{{customdata:.4g}}"
                      "<br><i>click to start here</i><extra></extra>",
        name=CLICK_TRACE_NAME, showlegend=False,
    )


def _landmark_traces(result: RaceResult) -> list[go.Scatter]:
    """The start point, the known minimum and any other marked points."""
    land = result.landscape
    start, edge = result.start, tuple(_clamp_to_box(np.asarray(result.start), land).tolist())
    inside = land.a_range[0] <= start[0] <= land.a_range[1] and land.b_range[0] <= start[1] <= land.b_range[1]
    # A start outside the plotted box is pinned to its edge (as runaway path ends are) and says where it is.
    label = "start" if inside else f"start ({start[0]:.4g}, {start[1]:.4g}), off the map"
    # A white dot ringed in black: an open black ring vanished into a dark theme's legend.
    marks = [(label, start if inside else edge, "circle", "white", 14),
             (f"known minimum ({land.minimum[0]:.4g}, {land.minimum[1]:.4g})", land.minimum, "star",
              "gold", 16)]
    marks += [(label, point, "diamond", "gold", 11) for label, point in land.landmarks]
    return [go.Scatter(x=[p[0]], y=[p[1]], mode="markers", name=label,
                       marker=dict(symbol=symbol, size=size, color=color, line=dict(width=1.5, color="black")),
                       unselected=dict(marker=dict(opacity=1)), hovertemplate=f"{label}<extra></extra>")
            for label, p, symbol, color, size in marks]


def _drawn_path(path: OptimizerPath) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, points, losses) of the finite part of a path, downsampled for drawing."""
    finite = path.finite_points.numpy().astype(np.float32)
    idx = drawn_indices(len(finite), MAX_DRAWN_POINTS)
    losses = path.losses.numpy()[: len(finite)].astype(np.float32)
    return idx, finite[idx], losses[idx]


def _head(path: OptimizerPath, land: Landscape, step: int) -> dict:
    """Marker data for where ``path`` is after ``step`` steps: a dot, or ✕ once it has diverged."""
    finite = path.finite_points
    last = len(finite) - 1
    k = min(step, last)
    point = _clamp_to_box(finite[k].numpy(), land) if last >= 0 else np.array([np.nan, np.nan])
    ended_badly = path.diverged_at is not None and step >= last
    text = (f"{path.spec.label}<br>diverged at step {path.diverged_at}: {path.note}" if ended_badly
            else f"{path.spec.label}<br>after {k} steps" + (" (stopped here)" if path.stopped_at == k else ""))
    return dict(x=[float(point[0])], y=[float(point[1])], hovertext=[text],
                marker=dict(symbol="x" if ended_badly else "circle", size=20 if ended_badly else 11,
                            color=COLORS.get(path.spec.optimizer, "black"),
                            line=dict(width=1.5, color="#222222" if ended_badly else "white")))


def _path_traces(path: OptimizerPath, land: Landscape, step: int) -> tuple[dict, dict]:
    """Line-and-marker data of ``path`` up to ``step`` steps, and its head marker.

    Frames carry only x and y: a frame's prefix keeps the same point order, so the
    full path's ``customdata`` (step, loss) still lines up with it when hovering.
    """
    idx, points, _ = _drawn_path(path)
    keep = idx <= step
    return dict(x=points[keep, 0], y=points[keep, 1]), _head(path, land, step)


def landscape_figure(result: RaceResult) -> go.Figure:
    """The landscape picture with each optimizer's path, a step slider and a play button."""
    land = result.landscape
    na, nb = land.param_names
    picture, colour_bar = _landscape_layers(land)
    fig = go.Figure([colour_bar, _click_trace(land), *_landmark_traces(result)])
    first_path_trace = len(fig.data)
    longest = max((p.steps_taken for p in result.paths), default=0)
    for path in result.paths:
        color = COLORS.get(path.spec.optimizer, "black")
        line, head = _path_traces(path, land, longest)
        idx, _, losses = _drawn_path(path)
        fig.add_trace(go.Scatter(
            **line, customdata=np.stack([idx, losses], axis=1).astype(np.float32), mode="lines+markers", name=path_label(path), legendgroup=path.spec.optimizer,
            line=dict(color=color, width=2), marker=dict(size=5, color=color),
            unselected=dict(marker=dict(opacity=1)),
            hovertemplate=f"{path.spec.label}<br>step %{{customdata[0]:.0f}}<br>{na} = %{{x:.4g}}, "
                          f"{nb} = %{{y:.4g}}<br>loss = %{{customdata[1]:.4g}}<extra></extra>"))
        fig.add_trace(go.Scatter(**head, mode="markers", legendgroup=path.spec.optimizer, showlegend=False,
                                 unselected=dict(marker=dict(opacity=1)), hovertemplate="%{hovertext}<extra></extra>"))
    animated = list(range(first_path_trace, len(fig.data)))
    frame_steps = sorted({int(s) for s in np.linspace(0, longest, min(MAX_FRAMES, longest + 1)).round()})
    frames = []
    for step in frame_steps:
        data = []
        for path in result.paths:
            line, head = _path_traces(path, land, step)
            data += [dict(type="scatter", **line), dict(type="scatter", **head)]
        # Plain dicts: plotly validates them once, on assignment; go.Frame(go.Scatter) objects were built
        # and validated twice, half the figure's time on every change of a racer's setting.
        frames.append(dict(data=data, traces=animated, name=str(step)))
    fig.frames = frames
    fig.update_layout(
        height=MAP_HEIGHT, margin=dict(l=10, r=10, t=40, b=MAP_BOTTOM),
        xaxis=dict(title=na, range=list(land.a_range), constrain="domain", showgrid=False, zeroline=False),
        yaxis=dict(title=nb, range=list(land.b_range), showgrid=False, zeroline=False),
        images=[picture],
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0, xanchor="left"),
        hovermode="closest",
        updatemenus=[dict(type="buttons", direction="left", x=0, y=0, xanchor="left", yanchor="top",
                          showactive=False, pad=dict(t=BELOW_AXIS, r=10), buttons=[
                              dict(label="▶ Play", method="animate", args=[None, dict(
                                  frame=dict(duration=120, redraw=False), transition=dict(duration=0),
                                  fromcurrent=False, mode="immediate")]),
                              dict(label="❚❚ Pause", method="animate", args=[[None], dict(
                                  frame=dict(duration=0, redraw=False), mode="immediate")])])],
        sliders=[dict(active=len(frames) - 1, x=0, len=1, y=0, xanchor="left", yanchor="top",
                      pad=dict(t=BELOW_AXIS + BUTTON_ROW),
                      currentvalue=dict(prefix="after step ", xanchor="right", font=dict(size=13)),
                      steps=[dict(label=f["name"], method="animate", args=[[f["name"]], dict(
                          mode="immediate", frame=dict(duration=0, redraw=False),
                          transition=dict(duration=0))]) for f in frames])],
    )
    return fig


def loss_figure(result: RaceResult) -> go.Figure:
    """Loss per step for every optimizer, on a log scale (distance above the known minimum)."""
    land = result.landscape
    offset = land.min_value
    # A float32 loss near a minimum m only resolves steps of about eps·|m| (a converged line fit's loss
    # scatters within ±2.5 of them): closer than that, loss − m is rounding noise, often ≤ 0, which a log
    # axis cannot draw (the curve broke up and vanished). Such points sit on that floor, drawn and labelled.
    floor = 4 * float(np.finfo(np.float32).eps) * abs(offset)
    floored = False
    fig = go.Figure()
    for path in result.paths:
        color = COLORS.get(path.spec.optimizer, "black")
        losses = path.losses.numpy()
        finite = np.isfinite(losses)
        idx = drawn_indices(len(losses), MAX_LOSS_POINTS)
        gap = (losses[idx] - offset).astype(np.float32)
        low = np.isfinite(gap) & (np.abs(gap) < floor)
        floored |= bool(low.any())
        gap = np.where(low, floor, gap)
        # A log axis cannot show 0, negatives or inf: leave those points out rather than fake them.
        shown = np.where(np.isfinite(gap) & (gap > 0), gap, np.nan)
        fig.add_trace(go.Scatter(
            x=idx.astype(np.int32), y=shown, customdata=losses[idx].astype(np.float32), mode="lines", name=path_label(path),
            legendgroup=path.spec.optimizer, line=dict(color=color, width=2),
            hovertemplate=f"{path.spec.label}<br>step %{{x}}<br>loss = %{{customdata:.6g}}<extra></extra>"))
        if path.diverged_at is not None and finite.any():
            last = int(np.nonzero(finite)[0].max())
            value = losses[last] - offset
            fig.add_trace(go.Scatter(
                x=[last], y=[value if value > 0 else None], mode="markers", showlegend=False,
                legendgroup=path.spec.optimizer,
                marker=dict(symbol="x", size=14, color=color, line=dict(width=1, color="white")),
                hovertemplate=f"{path.spec.label}<br>diverged at step {path.diverged_at}: {path.note}"
                              "<extra></extra>"))
    if floored:
        fig.add_hline(y=floor, line=dict(color="#999999", dash="dot", width=1))
        # Just under the floor at the right, where no curve can be. On a log axis an annotation's y is the
        # exponent (add_hline's own label landed near 1).
        fig.add_annotation(x=1, xref="paper", xanchor="right", y=math.log10(floor), yanchor="top",
                           text=f"at the minimum to float32 precision (±{floor:.1e})", showarrow=False,
                           font=dict(size=11, color="#888888"))  # mid-grey: readable on light and dark themes
    title = "loss" if offset == 0 else f"loss − minimum loss ({offset:.4g})"
    drawn = np.concatenate([np.asarray(t.y, dtype=float) for t in fig.data if t.y is not None] or [np.array([])])
    drawn = drawn[np.isfinite(drawn) & (drawn > 0)]
    # Plain-number ticks: Plotly's own put bare "2" and "5" between 10 and 10⁻¹, where "2" meant 20.
    ticks = log_axis_ticks(float(drawn.min()), float(drawn.max())) if len(drawn) else {}
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis=dict(title="step"), yaxis=dict(title=f"{title}, log scale", type="log", **ticks),
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0, xanchor="left"),
                      hovermode="x unified")
    return fig
