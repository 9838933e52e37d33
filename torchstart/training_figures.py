"""Plotly figures for the Training page: the loss curve and the fit (line over points, predicted vs actual,
or for 0/1 classes over two features the model's probability map with its 0.5 decision boundary).

Figures are built from results (histories, ``FitData``) and never from a model.
Long histories are downsampled to a bounded number of points, keeping each
bucket's lowest and highest value so spikes stay visible.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import plotly.graph_objects as go
import torch

from torchstart.figure_style import LEGEND_BELOW, log_axis_ticks
from torchstart.training import FitData, TrainingRun, fit_data

MAX_CURVE_POINTS = 1000
TRAIN_COLOR, VAL_COLOR, MODEL_COLOR, TRUE_COLOR = "#1f77b4", "#ff7f0e", "#d62728", "#7f7f7f"
# The see-through class shading lies on white whatever the theme (and without grid lines across it): on a dark
# theme's plot it turned murky and hid the hollow validation markers.
SHADING_GROUND = "white"
CLASS_COLORS = ("#2166ac", "#b2182b")  # class 0 blue, class 1 red: the ends of the probability map's scale
# Several classes: one colour each (Plotly's default cycle), repeated past ten classes.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}


def downsample(values: Sequence[float], max_points: int = MAX_CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(1-based epochs, values) with at most ``max_points`` points: each bucket's min and max, plus the ends."""
    y = np.asarray(values, dtype=float)
    n = len(y)
    epochs = np.arange(1, n + 1)
    if n <= max_points:
        return epochs, y
    buckets = max(1, (max_points - 2) // 2)
    size = -(-n // buckets)  # ceil: every row of the reshape holds at least one real value
    rows = -(-n // size)
    padded = np.full(rows * size, np.nan)
    padded[:n] = y
    grid = padded.reshape(rows, size)
    starts = np.arange(rows) * size
    lows = starts + np.argmin(np.where(np.isnan(grid), np.inf, grid), axis=1)
    highs = starts + np.argmax(np.where(np.isnan(grid), -np.inf, grid), axis=1)
    keep = np.unique(np.concatenate([[0, n - 1], np.minimum(lows, n - 1), np.minimum(highs, n - 1)]))
    return epochs[keep], y[keep]


def loss_figure(train: Sequence[float], val: Sequence[float] = (), log_y: bool = True,
                max_points: int = MAX_CURVE_POINTS, loss_name: str = "loss") -> go.Figure:
    """Training (and validation) loss per epoch, downsampled to at most ``max_points`` per curve."""
    traces = []
    for name, values, color in (("training", train, TRAIN_COLOR), ("validation", val, VAL_COLOR)):
        if len(values):
            x, y = downsample(values, max_points)
            # Markers too while there are few epochs: a line through one point draws nothing.
            traces.append({"type": "scatter", "mode": "lines+markers" if len(values) <= 20 else "lines",
                           "name": name, "x": x, "y": y,
                           "line": {"color": color, "width": 2}})
    # "log scale" on the axis it describes: at the end of the title, half-width at 1024 px, it lost its ")".
    y_axis: dict = {"title": {"text": f"{loss_name}, log scale" if log_y else loss_name},
                    "type": "log" if log_y else "linear"}
    notes = [] if traces else [{"text": "The loss of every epoch<br>appears here while it trains.", "showarrow": False,
                                "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}]
    if not traces:
        y_axis["showticklabels"] = False
    if log_y and traces:
        # Plotly labels log axes with bare digits (5, 2, 1, 5...); explicit 1-2-5 ticks read as numbers.
        values = np.concatenate([t["y"] for t in traces])
        positive = values[np.isfinite(values) & (values > 0)]
        if len(positive):
            y_axis |= log_axis_ticks(float(positive.min()), float(positive.max()))
    return go.Figure({
        "data": traces,
        "layout": {
            "title": {"text": f"{loss_name} per epoch"},
            "xaxis": {"title": {"text": "epoch"}, "rangemode": "tozero"},
            "yaxis": y_axis,
            "height": 360, "margin": _MARGIN, "legend": LEGEND_BELOW, "annotations": notes,
        },
    })


def _points(name: str, x, y, color: str) -> dict:
    """A scatter trace of data points."""
    return {"type": "scatter", "mode": "markers", "name": name, "x": np.asarray(x).ravel(),
            "y": np.asarray(y).ravel(), "marker": {"color": color, "size": 7, "opacity": 0.7}}


def _class_points(fit: FitData) -> list[dict]:
    """Training and validation rows on the two features' plane, coloured by their 0/1 label."""
    return _labelled_points(fit, lambda y: (y.ravel() >= 0.5).long(),
                            [f"{fit.target_name} = {cls}" for cls in (0, 1)], CLASS_COLORS.__getitem__, True)


def _plane_figure(fit: FitData) -> go.Figure:
    """The model's P(class 1) over two features, its 0.5 contour (the decision boundary), and the rows."""
    xs, ys, prob = (t.numpy() for t in fit.plane)
    name = f"P({fit.target_name} = 1)"
    shades = {"type": "contour", "x": xs, "y": ys, "z": prob, "zmin": 0, "zmax": 1, "name": name,
              "colorscale": [[0, CLASS_COLORS[0]], [0.5, "#f7f7f7"], [1, CLASS_COLORS[1]]], "opacity": 0.55,
              "contours": {"start": 0, "end": 1, "size": 0.1}, "line": {"width": 0},
              "colorbar": {"title": {"text": name}, "thickness": 12}, "hovertemplate": f"{name} = %{{z:.3f}}"}
    boundary = {"type": "contour", "x": xs, "y": ys, "z": prob, "showscale": False, "name": "boundary (0.5)",
                "contours": {"start": 0.5, "end": 0.5, "size": 1, "coloring": "lines"},
                "line": {"color": "black", "width": 2}, "hoverinfo": "skip",
                # With coloring "lines" the contour takes its colour from the colorscale, not line.color: a
                # default scale drew the 0.5 line pale, nearly invisible on a dark page.
                "colorscale": [[0, "black"], [1, "black"]]}
    return go.Figure({
        "data": [shades, boundary, *_class_points(fit)],
        "layout": {"title": {"text": f"Decision boundary: where {name} = 0.5"},
                   "height": 360, "margin": _MARGIN, "legend": _classes_legend(fit)} | _plane_ground(fit),
    })


def _plane_ground(fit: FitData) -> dict:
    """Layout of a chart shading the two features' plane: a white ground, no grid or zero lines across it."""
    axis = {"showgrid": False, "zeroline": False}
    return {"plot_bgcolor": SHADING_GROUND, "xaxis": {"title": {"text": fit.feature_names[0]}} | axis,
            "yaxis": {"title": {"text": fit.feature_names[1]}} | axis}


def _layout(title: str, x_title: str, y_title: str, **extra) -> dict:
    """The fit chart's common layout."""
    return {"title": {"text": title}, "xaxis": {"title": {"text": x_title}}, "yaxis": {"title": {"text": y_title}},
            "height": 360, "margin": _MARGIN, "legend": LEGEND_BELOW} | extra


def _color(k: int) -> str:
    """Class ``k``'s colour."""
    return PALETTE[k % len(PALETTE)]


def _classes_points(fit: FitData, on_plane: bool) -> list[dict]:
    """Rows coloured by their labelled class: on the two features' plane, or at height = class on one feature."""
    return _labelled_points(fit, lambda y: y.ravel().long(), list(fit.classes), _color, on_plane)


def _labelled_points(fit: FitData, labels_of: Callable[[torch.Tensor], torch.Tensor], names: list[str],
                     color: Callable[[int], str], on_plane: bool) -> list[dict]:
    """Training (●) and validation (◇) rows, coloured by class: on the plane, or at height 1 on one feature.

    One legend entry per class (its training and validation rows toggle together), not one per class and
    split: at six entries the legend outgrew the chart. ``_classes_legend``'s title says which marker is which.
    """
    traces, listed = [], set()
    for split, x, y, symbol in (("training", fit.x_train, fit.y_train, "circle"),
                                ("validation", fit.x_val, fit.y_val, "diamond-open")):
        label = labels_of(y)
        for k, name in enumerate(names):
            rows = x[label == k]
            if len(rows):
                ys = rows[:, 1].numpy() if on_plane else np.ones(len(rows))
                # On the curves chart the class's P(class) line already holds its legend entry.
                show = on_plane and name not in listed
                listed.add(name)
                where = "(%{x:.4g}, %{y:.4g})" if on_plane else "%{x:.4g}"
                traces.append({"type": "scatter", "mode": "markers", "name": name, "legendgroup": name,
                               "showlegend": show, "x": rows[:, 0].numpy(), "y": ys,
                               "hovertemplate": f"{split} row, {name}: {where}<extra></extra>",
                               "marker": {"color": color(k), "size": 7, "symbol": symbol,
                                          "line": {"color": "white", "width": 0.5}}})
    return traces


def _classes_legend(fit: FitData) -> dict:
    """The legend of a chart with class-coloured rows: its title says ● is training and ◇ validation."""
    markers = "● training rows" + (", ◇ validation rows" if len(fit.x_val) else "")
    # "normal" order lays the entries out in a row; "grouped" (the default with legend groups) can stack them.
    return LEGEND_BELOW | {"title": {"text": f"{fit.target_name} ({markers}):", "side": "top"}, "traceorder": "normal"}


def _regions_figure(fit: FitData) -> go.Figure:
    """Each point of the two features' plane coloured by the model's most likely class, and the rows."""
    xs, ys, prob = fit.plane
    best = prob.argmax(-1)
    k = len(fit.classes)
    # A stepped colour scale: class index i maps to its own colour band.
    scale = [[edge, _color(i)] for i in range(k) for edge in (i / k, (i + 1) / k)]
    regions = {"type": "heatmap", "x": xs.numpy(), "y": ys.numpy(), "z": best.numpy(), "zmin": -0.5,
               "zmax": k - 0.5, "colorscale": scale, "opacity": 0.35, "showscale": False, "name": "regions",
               "customdata": prob.max(-1).values.numpy(),
               "text": np.array(fit.classes, dtype=object)[best.numpy()].tolist(),
               "hovertemplate": "predicted %{text}, P = %{customdata:.3f}<extra></extra>"}
    return go.Figure({"data": [regions, *_classes_points(fit, on_plane=True)],
                      "layout": _layout(f"Decision regions: the most likely {fit.target_name}",
                                        fit.feature_names[0], fit.feature_names[1], legend=_classes_legend(fit),
                                        **_plane_ground(fit))})


def _class_curves_figure(fit: FitData) -> go.Figure:
    """One feature: softmax's probability of each class along it, with the rows at height 1 in their colour."""
    traces = [{"type": "scatter", "mode": "lines", "name": f"P({name})", "x": fit.grid_x.ravel().numpy(),
               "y": fit.grid_y[:, k].numpy(), "line": {"color": _color(k), "width": 3}, "legendgroup": name}
              for k, name in enumerate(fit.classes)]
    return go.Figure({"data": traces + _classes_points(fit, on_plane=False),
                      "layout": _layout("The model's class probabilities over the data", fit.feature_name,
                                        "probability (softmax)", legend=_classes_legend(fit))})


def _confusion_figure(fit: FitData) -> go.Figure:
    """Counts of (labelled class, predicted class): the diagonal is right, everything else a mix-up."""
    counts = fit.confusion.numpy()
    names = list(fit.classes)
    return go.Figure({
        "data": [{"type": "heatmap", "x": names, "y": names, "z": counts, "colorscale": "Blues",
                  "text": counts, "texttemplate": "%{text}" if len(names) <= 12 else None, "showscale": False,
                  "hovertemplate": "true %{y}, predicted %{x}: %{z}<extra></extra>"}],
        # Category axes: class names such as "0" … "9" would otherwise be read as numbers and labelled 0, 2, 4 …
        "layout": _layout(f"Confusion matrix ({fit.confusion_split} rows)", f"predicted {fit.target_name}",
                          f"true {fit.target_name}",
                          xaxis={"title": {"text": f"predicted {fit.target_name}"}, "type": "category"},
                          yaxis={"title": {"text": f"true {fit.target_name}"}, "autorange": "reversed",
                                 "type": "category"}),
    })


def fit_figure(fit: FitData) -> go.Figure:
    """One feature: points and the model's curve (and the true line); several: predicted vs actual.

    For 0/1 classes the model's value is P(class 1); with two features, a probability map.
    For several classes: probability curves (one feature), decision regions (two), else a confusion matrix.
    """
    if fit.classes:
        if fit.confusion is not None:
            return _confusion_figure(fit)
        return _regions_figure(fit) if fit.plane is not None else _class_curves_figure(fit)
    if fit.plane is not None:
        return _plane_figure(fit)
    traces = []
    model_name = f"P({fit.target_name} = 1)" if fit.probability else "model"
    if fit.grid_x is not None:
        if fit.true_y is not None:
            traces.append({"type": "scatter", "mode": "lines", "name": "true line", "x": fit.grid_x.ravel().numpy(),
                           "y": fit.true_y.ravel().numpy(), "line": {"color": TRUE_COLOR, "dash": "dash"}})
        traces.append({"type": "scatter", "mode": "lines", "name": model_name, "x": fit.grid_x.ravel().numpy(),
                       "y": fit.grid_y.ravel().numpy(), "line": {"color": MODEL_COLOR, "width": 3}})
        # Points last, so they sit on top of the lines.
        traces.append(_points("training points", fit.x_train[:, 0], fit.y_train, TRAIN_COLOR))
        if len(fit.x_val):
            traces.append(_points("validation points", fit.x_val[:, 0], fit.y_val, VAL_COLOR))
        title, x_title, y_title = "The model's line over the data", fit.feature_name, fit.target_name
        if fit.probability:
            title, y_title = "The model's probability of class 1 over the data", f"{fit.target_name}, {model_name}"
    else:
        traces.append(_points("training rows", fit.y_train, fit.pred_train, TRAIN_COLOR))
        if len(fit.x_val):
            traces.append(_points("validation rows", fit.y_val, fit.pred_val, VAL_COLOR))
        values = np.concatenate([np.asarray(t["x"]) for t in traces] + [np.asarray(t["y"]) for t in traces])
        finite = values[np.isfinite(values)]
        low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        traces.append({"type": "scatter", "mode": "lines", "name": "perfect (predicted = actual)",
                       "x": [low, high], "y": [low, high], "line": {"color": TRUE_COLOR, "dash": "dash"}})
        title, x_title, y_title = "Predicted vs actual", f"actual {fit.target_name}", f"predicted {fit.target_name}"
        if fit.probability:
            title, y_title = "Predicted probability vs actual label", model_name
    blank = [t for t in traces if len(t["x"]) and not _drawable(t)]
    for trace in blank:
        trace["showlegend"] = False  # a legend entry with nothing drawn reads as a line that failed to load
    # Short lines on a backing, centred: one long line ran past both edges of a half-width chart and over a tick.
    notes = [{"text": "The run diverged: its predictions<br>(NaN, inf or far off the scale)<br>are not drawn.",
              "showarrow": False, "bgcolor": "rgba(128, 128, 128, 0.18)", "borderpad": 6,
              "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}] if blank else []
    return go.Figure({
        "data": traces,
        "layout": {"title": {"text": title}, "xaxis": {"title": {"text": x_title}},
                   "yaxis": {"title": {"text": y_title}}, "height": 360, "margin": _MARGIN,
                   "legend": LEGEND_BELOW, "annotations": notes},
    })


def _drawable(trace: dict) -> bool:
    """Whether a trace has at least one point with finite x and y (a diverged model's line has none)."""
    x, y = np.asarray(trace["x"], dtype=float), np.asarray(trace["y"], dtype=float)
    return bool((np.isfinite(x) & np.isfinite(y)).any())


def live_figures(run: TrainingRun, log_y: bool = True) -> tuple[go.Figure, go.Figure]:
    """The two charts the page redraws while training: loss curve and fit."""
    loss_name = {"binary": "BCEWithLogitsLoss", "classes": "CrossEntropyLoss"}.get(run.config.task,
                                                                                  f"{run.config.loss} loss")
    if run.config.standardize_y:
        loss_name += " (standardized y)"  # the loss is in the units the model trains on
    return loss_figure(run.train_losses, run.val_losses, log_y, loss_name=loss_name), fit_figure(fit_data(run))
